/*
 * fuzz_event — the event contract on arbitrary bytes (ingest layer).
 *
 * Beyond "no crash, no over-read, no leak", it checks what rg_event
 * promises downstream code when a parse succeeds: every string is valid
 * UTF-8, NUL-terminated with no NUL inside, within its byte limit; numbers
 * within their ranges; and that every reject has a kind and a message and
 * gives a valid JSON record. The input is copied to an exact-size buffer so
 * ASan sees any read past `len`.
 *
 * It also reads every input with the fast paths off (the line pass,
 * event_line.c, the compact scan and the checks they do as values go by,
 * event_usual.h), and with the line pass alone off: all three must give
 * the same event or the same reject, word for word.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/timeutil.h"
#include "ingest/event_fields.h"
#include "ingest/event_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

static void check_str(const char *s, size_t len, size_t min, size_t max)
{
    if (!s)
        return;
    CHECK(strlen(s) == len);
    CHECK(len >= min && len <= max);
    CHECK(rg_utf8_valid(s, len));
}

static void check_event(const rg_event *e)
{
    CHECK((unsigned)e->type < RG_EV_TYPE_COUNT);
    CHECK(e->ts_ms >= RG_TS_MIN_MS && e->ts_ms <= RG_TS_MAX_MS);
    CHECK(e->event_id && e->account);
    check_str(e->event_id, e->event_id_len, 1, 128);
    check_str(e->account, e->account_len, 1, 64);
    check_str(e->device_id, e->device_id ? strlen(e->device_id) : 0, 1, 128);
    check_str(e->ip, e->ip ? strlen(e->ip) : 0, 2, 45);
    CHECK((e->ip != NULL) == (e->ip_family != 0));
    if (e->has_location)
        CHECK(e->lat >= -90 && e->lat <= 90 && e->lon >= -180 && e->lon <= 180);
    if (e->has_client_ts)
        CHECK(e->client_ts_ms >= RG_TS_MIN_MS && e->client_ts_ms <= RG_TS_MAX_MS);
    CHECK(e->client_automation >= -1 && e->client_automation <= 1);
    CHECK(e->client_hooked >= -1 && e->client_hooked <= 1);
    CHECK(e->has_client_packages || e->n_client_packages == 0);
    for (size_t i = 0; i < e->n_client_packages; i++)
        check_str(e->client_packages[i], strlen(e->client_packages[i]), 1, 256);
    if (e->region)
        CHECK(strlen(e->region) == 2);
    switch (e->type) {
    case RG_EV_TRANSFER:
        CHECK(e->counterparty && e->currency && strlen(e->currency) == 3);
        check_str(e->counterparty, e->counterparty_len, 1, 64);
        /* fall through */
    case RG_EV_RED_PACKET_CLAIM:
    case RG_EV_RED_PACKET_SEND:
        CHECK(e->amount >= 1 && e->amount <= INT64_C(1000000000000));
        break;
    default:
        CHECK(e->amount == 0);
    }
    if (e->type == RG_EV_RED_PACKET_SEND || e->type == RG_EV_RED_PACKET_CLAIM)
        check_str(e->packet_id, e->packet_id_len, 1, 128);
    if (e->type == RG_EV_RED_PACKET_SEND) {
        CHECK(e->shares >= 1 && e->shares <= 10000);
        check_str(e->target, e->target ? strlen(e->target) : 0, 1, 128);
    }
    if (e->type == RG_EV_RECALL_REQUEST || e->type == RG_EV_COMPLAINT)
        check_str(e->ref, e->ref_len, 1, 128);
    CHECK(rg_packet_kind_name(e->kind) && rg_transfer_mode_name(e->mode) &&
          rg_complaint_reason_name(e->reason));
}

static void check_reject(const rg_reject *rej, const void *raw, size_t len)
{
    CHECK(rg_reject_kind_name(rej->kind) != NULL);
    CHECK(rej->error[0] != '\0');
    rg_strbuf b = RG_STRBUF_INIT;
    rg_reject_write_json(rej, "fuzz:1", raw, len, &b);
    CHECK(rg_strbuf_ok(&b) && rg_utf8_valid(b.data, b.len));
    rg_strbuf_free(&b);
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The fast paths and the general path agree on what a line is. */
static void check_same(int rc, const rg_event *a, const rg_reject *ra, int rc_g, const rg_event *b,
                       const rg_reject *rb)
{
    CHECK(rc == rc_g);
    if (rc != 0) {
        CHECK(ra->kind == rb->kind && same_str(ra->field, rb->field) && strcmp(ra->error, rb->error) == 0);
        return;
    }
    CHECK(a->type == b->type && a->ts_ms == b->ts_ms && same_str(a->event_id, b->event_id) &&
          a->event_id_len == b->event_id_len && same_str(a->account, b->account) &&
          a->account_len == b->account_len && same_str(a->ip, b->ip) && a->ip_family == b->ip_family &&
          memcmp(a->ip_bin, b->ip_bin, sizeof a->ip_bin) == 0 && same_str(a->device_id, b->device_id) &&
          a->has_location == b->has_location && memcmp(&a->lat, &b->lat, sizeof a->lat) == 0 &&
          memcmp(&a->lon, &b->lon, sizeof a->lon) == 0 && a->has_client_ts == b->has_client_ts &&
          a->client_ts_ms == b->client_ts_ms && a->client_automation == b->client_automation &&
          a->client_hooked == b->client_hooked && a->has_client_packages == b->has_client_packages &&
          a->n_client_packages == b->n_client_packages && same_str(a->region, b->region) &&
          a->amount == b->amount && same_str(a->counterparty, b->counterparty) &&
          a->counterparty_len == b->counterparty_len && same_str(a->currency, b->currency) &&
          a->currency_given == b->currency_given && a->mode == b->mode && a->mode_given == b->mode_given &&
          a->has_counterparty_created_at == b->has_counterparty_created_at &&
          a->counterparty_created_at_ms == b->counterparty_created_at_ms && same_str(a->packet_id, b->packet_id) &&
          a->packet_id_len == b->packet_id_len && a->shares == b->shares && a->shares_given == b->shares_given &&
          a->kind == b->kind && a->kind_given == b->kind_given && same_str(a->target, b->target) &&
          same_str(a->ref, b->ref) && a->ref_len == b->ref_len && a->reason == b->reason &&
          a->reason_given == b->reason_given);
    for (size_t i = 0; i < a->n_client_packages; i++)
        CHECK(strcmp(a->client_packages[i], b->client_packages[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rg_event_parser *parser, *compact, *general;
    if (!parser && !(parser = rg_event_parser_new()))
        return 0;
    if (!compact) {
        if (!(compact = rg_event_parser_new()))
            return 0;
        compact->no_line_pass = true; /* the compact scan without the line pass before it */
    }
    if (!general) {
        if (!(general = rg_event_parser_new()))
            return 0;
        general->general_only = true;
    }
    char *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    rg_event ev;
    rg_reject rej;
    if (rg_event_parse(parser, copy, size, &ev, &rej) == 0)
        check_event(&ev);
    else
        check_reject(&rej, copy, size);
    rg_event_line info, info_g;
    int rc = rg_event_parse_line(parser, copy, size, &ev, &rej, &info);
    if (rc == 0)
        check_event(&ev);
    else
        check_reject(&rej, info.event_raw, info.event_raw_len);
    rg_event ev_g;
    rg_reject rej_g;
    int rc_g = rg_event_parse_line(general, copy, size, &ev_g, &rej_g, &info_g);
    check_same(rc, &ev, &rej, rc_g, &ev_g, &rej_g);
    CHECK(info.is_envelope == info_g.is_envelope && info.event_raw_len == info_g.event_raw_len);
    rc = rg_event_parse_line(compact, copy, size, &ev, &rej, &info);
    check_same(rc, &ev, &rej, rc_g, &ev_g, &rej_g);
    CHECK(info.is_envelope == info_g.is_envelope && info.event_raw_len == info_g.event_raw_len);
    free(copy);
    return 0;
}
