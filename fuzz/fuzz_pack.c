/*
 * fuzz_pack — events through arbitrary rule files (issue 12.9): the whole
 * engine (dedupe, every detector family, rules, decisions, cooldowns,
 * checkpoints) under a rule file the fuzzer writes. fuzz_rules only loads
 * rule files and fuzz_state drives the default pack, so an absurd
 * `cooldown:` or window that loads fine and then overflows at run time
 * was reached by neither.
 *
 * Input: a rule file, a line "@@@", then events as JSON Lines (at most
 * MAX_EVENTS are used). Without the separator the whole input is the rule
 * file and a fixed set of events is played (every type, times at both
 * ends of what events.md allows, a duplicate, out of order). No GeoIP
 * database: geo names are unknown (so it runs anywhere, the same way).
 *
 * Beyond "no crash, no over-read, no leak, no undefined behaviour": every
 * decision is one JSON object with the event's id in its decision_id; the
 * engine's state saves, loads into a fresh engine, and saves again to the
 * same bytes; and a reload to the default pack between events keeps the
 * engine working. The input is copied to exact-size buffers so ASan sees
 * any read past either part.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "decisions/engine.h"
#include "ingest/event_parse.h"
#include "rules/ruleset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

#define MAX_EVENTS 64
#define SEPARATOR "\n@@@\n"

static rg_ruleset *default_pack;
static rg_event_parser *parser;

/* Played when the input has no events of its own. */
static const char *const fixed_events[] = {
    "{\"event_id\":\"f-1\",\"type\":\"account_open\",\"ts\":0,\"account\":\"b\",\"device_id\":\"d0\"}",
    "{\"event_id\":\"f-2\",\"type\":\"login\",\"ts\":\"2026-11-22T10:00:00Z\",\"account\":\"a\",\"device_id\":\"d1\","
    "\"ip\":\"1.0.0.1\",\"location\":{\"lat\":31.2,\"lon\":121.4}}",
    "{\"event_id\":\"f-3\",\"type\":\"transfer\",\"ts\":\"2026-11-22T10:00:01Z\",\"account\":\"a\",\"counterparty\":\"b\","
    "\"amount\":600000,\"counterparty_created_at\":253402300799999}",
    "{\"event_id\":\"f-4\",\"type\":\"red_packet_send\",\"ts\":\"2026-11-22T10:00:02Z\",\"account\":\"a\",\"packet_id\":"
    "\"p1\",\"amount\":1000,\"shares\":3,\"kind\":\"timed\"}",
    "{\"event_id\":\"f-5\",\"type\":\"red_packet_claim\",\"ts\":\"2026-11-22T10:00:02.5Z\",\"account\":\"c\","
    "\"packet_id\":\"p1\",\"amount\":900,\"client_ts\":0,\"client\":{\"automation\":true,\"packages\":[\"x\"]}}",
    "{\"event_id\":\"f-6\",\"type\":\"complaint\",\"ts\":\"2026-11-22T10:00:03Z\",\"account\":\"b\",\"ref\":\"f-3\"}",
    "{\"event_id\":\"f-7\",\"type\":\"recall_request\",\"ts\":253402300799999,\"account\":\"a\",\"ref\":\"p1\"}",
    "{\"event_id\":\"f-8\",\"type\":\"transfer\",\"ts\":1,\"account\":\"c\",\"counterparty\":\"b\",\"amount\":1}",
    "{\"event_id\":\"f-3\",\"type\":\"transfer\",\"ts\":\"2026-11-22T10:00:01Z\",\"account\":\"a\",\"counterparty\":\"b\","
    "\"amount\":600000}",
    "{\"event_id\":\"f-9\",\"type\":\"login\",\"ts\":253402300799999,\"account\":\"a\",\"device_id\":\"d2\"}",
};

static void init(void)
{
    char *errors = NULL;
    default_pack = rg_ruleset_load_file(RG_SOURCE_DIR "/rules/default.yaml", &errors);
    CHECK(default_pack);
    parser = rg_event_parser_new();
    CHECK(parser);
}

static int check_decision(void *opaque, const rg_decision *d, void *ticket)
{
    const rg_event *ev = opaque;
    CHECK(d->json_len >= 2 && d->json[0] == '{' && d->json[d->json_len - 1] == '}');
    CHECK(d->n_hits > 0 && d->decision_id && d->subject);
    CHECK(strncmp(d->event_id, ev->event_id, ev->event_id_len) == 0);
    return 0;
}

static const rg_sink_ops check_decision_ops = {.name = "fuzz check", .decision = check_decision};

/* One event line through the engine (lines the contract refuses are
 * skipped, as replay counts them). */
static void play(rg_engine *e, const char *line, size_t len)
{
    char *copy = malloc(len ? len : 1);
    CHECK(copy);
    memcpy(copy, line, len);
    rg_event ev;
    rg_reject rej;
    if (rg_event_parse(parser, copy, len, &ev, &rej) == 0) {
        rg_sink sink = {.ops = &check_decision_ops, .self = &ev};
        CHECK(rg_engine_process(e, &ev, copy, len, &sink) != RG_ENGINE_SINK_ERROR);
    }
    free(copy);
}

/* save -> load into a fresh engine -> save: the same bytes. */
static void check_checkpoint(const rg_engine *e, const rg_ruleset *rs)
{
    char err[512];
    rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT;
    CHECK(rg_engine_save(e, &a, err, sizeof err) == 0);
    rg_engine *fresh = rg_engine_new(rs, NULL, err, sizeof err);
    CHECK(fresh);
    if (rg_engine_load(fresh, a.data, a.len, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_pack: a saved state does not load: %s\n", err);
        abort();
    }
    CHECK(rg_engine_save(fresh, &b, err, sizeof err) == 0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    rg_engine_free(fresh);
    rg_strbuf_free(&a);
    rg_strbuf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!default_pack)
        init();
    const char *text = (const char *)data;
    const char *sep = size >= strlen(SEPARATOR) ? memmem(text, size, SEPARATOR, strlen(SEPARATOR)) : NULL;
    size_t rules_len = sep ? (size_t)(sep - text) + 1 : size;   /* the rule file keeps its last newline */
    char *rules_text = malloc(rules_len ? rules_len : 1);
    CHECK(rules_text);
    memcpy(rules_text, text, rules_len);
    char *errors = NULL;
    rg_ruleset *rs = rg_ruleset_load_buffer("f.yaml", rules_text, rules_len, &errors);
    free(rules_text);
    if (!rs) {
        CHECK(errors && *errors);
        free(errors);
        return 0;
    }
    char err[512] = "";
    rg_engine *e = rg_engine_new(rs, NULL, err, sizeof err);
    if (!e) {
        CHECK(*err);   /* a detector refused the file: it says why */
        rg_ruleset_free(rs);
        return 0;
    }
    size_t played = 0;
    if (sep) {
        const char *p = sep + strlen(SEPARATOR), *end = text + size;
        while (p < end && played < MAX_EVENTS) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (len) {
                play(e, p, len);
                played++;
            }
            p += len + 1;
        }
    } else {
        for (size_t i = 0; i < sizeof fixed_events / sizeof fixed_events[0]; i++)
            play(e, fixed_events[i], strlen(fixed_events[i]));
    }
    check_checkpoint(e, rs);
    /* A reload to the default pack and back keeps the engine working. */
    CHECK(rg_engine_swap_rules(e, default_pack, err, sizeof err) == 0);
    play(e, fixed_events[2], strlen(fixed_events[2]));
    CHECK(rg_engine_swap_rules(e, rs, err, sizeof err) == 0);
    play(e, fixed_events[1], strlen(fixed_events[1]));
    check_checkpoint(e, rs);
    rg_engine_free(e);
    rg_ruleset_free(rs);
    return 0;
}
