/*
 * fuzz_event — the event contract on arbitrary bytes (ingest layer).
 *
 * Beyond "no crash, no over-read, no leak", it checks what rg_event
 * promises downstream code when a parse succeeds: every string is valid
 * UTF-8, NUL-terminated with no NUL inside, within its byte limit; numbers
 * within their ranges; and that every reject has a kind and a message and
 * gives a valid JSON record. The input is copied to an exact-size buffer so
 * ASan sees any read past `len`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "common/timeutil.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rg_event_parser *parser;
    if (!parser && !(parser = rg_event_parser_new()))
        return 0;
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
    rg_event_line info;
    if (rg_event_parse_line(parser, copy, size, &ev, &rej, &info) == 0)
        check_event(&ev);
    else
        check_reject(&rej, info.event_raw, info.event_raw_len);
    free(copy);
    return 0;
}
