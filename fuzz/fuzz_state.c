/*
 * fuzz_state — the engine checkpoint loader (rg_engine_load) on arbitrary
 * bytes, as if the state file on disk were corrupted.
 *
 * The engine is built from rules/default.yaml without GeoIP. Beyond "no
 * crash, no over-read, no leak, no undefined behaviour": a refused blob
 * must come with a message naming the engine state and leave the engine
 * empty (it saves to the same bytes as a fresh engine); an accepted one
 * must survive events touching every family (the arithmetic on loaded
 * times is where a bad value would overflow) and save again. The input
 * is copied to an exact-size buffer so ASan sees any read past `len`.
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

static rg_ruleset *rules;
static rg_event_parser *parser;
static rg_strbuf empty_blob = RG_STRBUF_INIT;

/* Events for the accounts, packet and transfer the seed blobs hold. */
static const char *const events[] = {
    "{\"event_id\":\"fz-1\",\"type\":\"login\",\"ts\":\"2026-11-22T10:00:00Z\",\"account\":\"a\",\"device_id\":\"d2\",\"ip\":\"1.0.0.1\"}",
    "{\"event_id\":\"fz-2\",\"type\":\"transfer\",\"ts\":\"2026-11-22T10:00:01Z\",\"account\":\"a\",\"counterparty\":\"b\",\"amount\":600000}",
    "{\"event_id\":\"fz-3\",\"type\":\"red_packet_claim\",\"ts\":\"2026-11-22T10:00:02Z\",\"account\":\"c\",\"packet_id\":\"p1\",\"amount\":100}",
    "{\"event_id\":\"fz-4\",\"type\":\"complaint\",\"ts\":\"2026-11-22T10:00:03Z\",\"account\":\"b\",\"ref\":\"t1\"}",
    "{\"event_id\":\"fz-5\",\"type\":\"transfer\",\"ts\":\"2026-11-22T09:00:00Z\",\"account\":\"c\",\"counterparty\":\"b\",\"amount\":100}",
};

static void init(void)
{
    char *errors = NULL;
    rules = rg_ruleset_load_file(RG_SOURCE_DIR "/rules/default.yaml", &errors);
    CHECK(rules);
    parser = rg_event_parser_new();
    CHECK(parser);
    char err[256];
    rg_engine *e = rg_engine_new(rules, NULL, err, sizeof err);
    CHECK(e);
    CHECK(rg_engine_save(e, &empty_blob, err, sizeof err) == 0);
    rg_engine_free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rules)
        init();
    uint8_t *copy = malloc(size ? size : 1);
    CHECK(copy);
    if (size)
        memcpy(copy, data, size);
    char err[512];
    rg_engine *e = rg_engine_new(rules, NULL, err, sizeof err);
    CHECK(e);
    rg_strbuf out = RG_STRBUF_INIT;
    err[0] = '\0';
    if (rg_engine_load(e, copy, size, err, sizeof err) != 0) {
        CHECK(strstr(err, "engine state") == err);
        CHECK(rg_engine_save(e, &out, err, sizeof err) == 0);
        CHECK(out.len == empty_blob.len && memcmp(out.data, empty_blob.data, out.len) == 0);
    } else {
        for (size_t i = 0; i < sizeof events / sizeof events[0]; i++) {
            rg_event ev;
            rg_reject rej;
            CHECK(rg_event_parse(parser, events[i], strlen(events[i]), &ev, &rej) == 0);
            rg_engine_process(e, &ev, events[i], strlen(events[i]), NULL);
        }
        CHECK(rg_engine_save(e, &out, err, sizeof err) == 0);
    }
    rg_strbuf_free(&out);
    rg_engine_free(e);
    free(copy);
    return 0;
}
