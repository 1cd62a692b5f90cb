/*
 * capture — reading captured traffic for replay: JSON Lines, gzip (by magic
 * bytes), kcat -C -J envelopes, standard input ("-"); several files read
 * in the order given as one stream.
 *
 * Each call to rg_capture_next yields one non-blank line as either an
 * event or a reject, with its source ("file:line"). Lines of any length
 * are read: one longer than RG_CAPTURE_MAX_LINE is rejected as
 * line_too_long with its first RG_REJECT_RAW_MAX bytes as raw, and the
 * reader resynchronises on the next newline. A trailing "\r" is dropped.
 * Blank lines (only JSON whitespace) are counted, not rejected.
 *
 * kcat envelopes are recognised per line: a top-level object with
 * "topic", "partition" and "offset" keys and neither "event_id" nor "type"
 * (kcat -J's shape; see rg_event_parse_line); the event is the payload
 * string. An absent, null or non-string payload is rejected (bad_envelope,
 * raw = the whole line); a payload that breaks the contract is rejected
 * with raw = the decoded payload.
 *
 * gzip is recognised by its magic bytes, whatever the file name, and
 * concatenated gzip members are one stream. A file that cannot be opened,
 * a directory, a read error, or a corrupt or truncated gzip stream ends
 * the stream with RG_CAPTURE_ERROR (the lines before it were delivered).
 *
 * Ownership: items point into the reader's buffers and are valid until the
 * next call, or, for lines of rg_capture_next_line the caller holds
 * (rg_capture_hold), until it releases them. Not thread-safe.
 */
#ifndef RG_CAPTURE_H
#define RG_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "reject.h"

#define RG_CAPTURE_MAX_LINE (1024 * 1024)

typedef struct rg_capture rg_capture;

typedef enum rg_capture_status {
    RG_CAPTURE_EVENT = 0,   /* item->event is valid */
    RG_CAPTURE_REJECT,      /* item->reject, item->raw are valid */
    RG_CAPTURE_END,         /* every file read */
    RG_CAPTURE_ERROR        /* an I/O or decompression error; message in errstr */
} rg_capture_status;

typedef struct rg_capture_item {
    rg_event event;
    rg_reject reject;
    const char *source;     /* "path:line" ("-:line" for stdin) */
    /* The same in parts, for a caller that keeps many sources (replay
     * --workers' batches): source's first source_path_len bytes are
     * "path:", the same for every line of file number `file` (counted from
     * 0 in the order given), then line_no in decimal. */
    uint32_t source_path_len;
    uint32_t file;
    uint64_t line_no;
    const char *raw;        /* the event bytes (payload, for envelopes) */
    size_t raw_len;         /* full length (raw may be truncated to RG_REJECT_RAW_MAX for over-long lines) */
} rg_capture_item;

typedef struct rg_capture_stats {
    uint64_t lines;         /* physical lines read, blank included */
    uint64_t blank_lines;
    uint64_t envelopes;     /* lines that were kcat envelopes */
    uint64_t bytes;         /* decompressed bytes read */
} rg_capture_stats;

/* Open the files (none opened yet: each is opened when reached, so a
 * missing second file is reported when the first is done). NULL on OOM. */
rg_capture *rg_capture_new(const char *const *paths, size_t n_paths);
void rg_capture_free(rg_capture *c);

/* Next item; on RG_CAPTURE_ERROR errstr names the file and the cause,
 * and the stream cannot continue. */
rg_capture_status rg_capture_next(rg_capture *c, rg_capture_item *item, char *errstr, size_t errstr_size);

/* The same stream of lines, not parsed, for callers that parse on other
 * threads (replay --workers): RG_CAPTURE_EVENT means "a line": item->raw
 * and raw_len are its bytes (a trailing "\r" dropped) and item->source
 * its source, valid until the next call; item->event is not set. An
 * over-long line is RG_CAPTURE_REJECT as from rg_capture_next; blank lines
 * are counted and skipped. The caller parses each line with
 * rg_capture_parse, which yields what rg_capture_next would have (the
 * envelopes count of rg_capture_get_stats is then the caller's to keep).
 * Do not mix with rg_capture_next on one reader. */
rg_capture_status rg_capture_next_line(rg_capture *c, rg_capture_item *item, char *errstr, size_t errstr_size);

/* Parse one line from rg_capture_next_line with the caller's parser (one
 * per thread): fills item->event (accepted) or item->reject, and item->raw
 * / raw_len as rg_capture_next does (the payload of an envelope, in p's
 * storage; the whole line for a bad envelope). item->source is left as it
 * is. Valid until p's next call. */
struct rg_event_parser;
void rg_capture_parse(struct rg_event_parser *p, const char *line, size_t len, rg_capture_item *item,
                      bool *is_envelope, bool *accepted);

/* Keep the line rg_capture_next_line just gave as RG_CAPTURE_EVENT (its
 * raw bytes and its source) valid past the next calls, until released, so
 * a caller that reads ahead need not copy it. Holds are released oldest
 * first by rg_capture_release; at most RG_CAPTURE_MAX_HELD at a time
 * (false beyond that). The event parsed from a held line points into the
 * caller's parser, not the reader: holding concerns only raw and source. */
#define RG_CAPTURE_MAX_HELD 8
bool rg_capture_hold(rg_capture *c);
void rg_capture_release(rg_capture *c);

const rg_capture_stats *rg_capture_get_stats(const rg_capture *c);

/* Compressed bytes consumed / total size of all files, for progress; total
 * is 0 when unknown (stdin, pipes). */
void rg_capture_progress(const rg_capture *c, uint64_t *done, uint64_t *total);

#endif
