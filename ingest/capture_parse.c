/*
 * capture_parse — a captured line to an item (rg_capture_parse,
 * capture.h). Owned by the ingest layer.
 *
 * The parse half of reading a capture, apart from capture.c's cutting of
 * lines from files: it needs only the caller's parser, so replay's workers
 * run it on their own threads. A line is the event itself or a kcat
 * envelope carrying it (event_parse.h); the item's raw bytes are what a
 * decision or reject reports as the event.
 */
#include "capture.h"

#include "event_fields.h"
#include "event_parse.h"

/* rg_capture_parse for a line the line pass did not take (r), out of
 * line so the usual line does not pay this frame. */
static __attribute__((noinline)) void parse_rest(rg_event_parser *p, const char *line, size_t len,
                                                 rg_capture_item *item, bool *is_envelope, bool *accepted, int r)
{
    rg_event_line info;
    int rc = rg_event_parse_line_after(p, line, len, &item->event, &item->reject, &info, r);
    *is_envelope = info.is_envelope;
    /* A bad envelope is reported with the whole line; a bad payload
     * with the payload, which is the event that was sent. */
    bool whole_line = rc != 0 && item->reject.kind == RG_REJ_BAD_ENVELOPE;
    item->raw = whole_line ? line : info.event_raw;
    item->raw_len = whole_line ? len : info.event_raw_len;
    *accepted = rc == 0;
}

void rg_capture_parse(rg_event_parser *p, const char *line, size_t len, rg_capture_item *item, bool *is_envelope,
                      bool *accepted)
{
    /* The line pass first, as rg_event_parse_line does: a usual line is
     * what rg_event_parse_line would have reported for it (no envelope,
     * the whole line as raw, accepted). */
    int r = rg_event_line_first(p, line, len, &item->event);
    if (r == LINE_USUAL) {
        *is_envelope = false;
        item->raw = line;
        item->raw_len = len;
        *accepted = true;
        return;
    }
    parse_rest(p, line, len, item, is_envelope, accepted, r);
}
