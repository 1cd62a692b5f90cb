/*
 * fuzz_stage — what the keyed stages read from Kafka (docs/scale-out.md):
 * records of the internal topics (`<group>.entities`, `<group>.decide`)
 * and task snapshots (`<group>.state`), on arbitrary bytes, as if another
 * program (or a corrupted log) wrote them.
 *
 * The first byte picks the reader:
 *   0   the rest is a sequence of records (u16 little-endian length, then
 *       the bytes), each decoded (rg_rec_decode; an accepted record must
 *       encode and decode to the same fields, its held-subject list parse
 *       or be refused) and pushed to an entity task and a decide task,
 *       which then evaluate what they can and save their state;
 *   1-3 the rest is an ingest, entity or decide task's snapshot
 *       (rg_*_load): a refused one names the problem; an accepted one
 *       saves again.
 * Beyond "no crash, no over-read, no leak, no undefined behaviour": every
 * refusal comes with a message. Records and snapshots are copied to
 * exact-size buffers so ASan sees any read past their length.
 *
 * Seeds: with RG_FUZZ_STAGE_SEEDS=DIR set, the first call writes real
 * records and snapshots (from an ingest task fed a few events) into DIR.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "rules/ruleset.h"
#include "stages/decide.h"
#include "stages/entity.h"
#include "stages/held.h"
#include "stages/ingest.h"
#include "stages/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#include "fuzz_check.h"

enum { SOURCES = 4, MAX_RECORDS = 64 };

static rg_ruleset *rules;

/* ---- outputs: counted, records kept when writing seeds ---- */

typedef struct sink {
    rg_strbuf to_entities, to_decide;   /* u16 length + bytes each */
    size_t decisions, rejects;
} sink;

static void keep(rg_strbuf *b, const void *rec, size_t len)
{
    if (len > 0xffff)
        return;
    uint8_t n[2] = {(uint8_t)(len & 0xff), (uint8_t)(len >> 8)};
    rg_strbuf_append(b, (const char *)n, 2);
    rg_strbuf_append(b, rec, len);
}

static int to_entities(void *o, const char *key, size_t key_len, const void *rec, size_t len)
{
    (void)key, (void)key_len;
    keep(&((sink *)o)->to_entities, rec, len);
    return 0;
}

static int to_decide(void *o, const char *key, size_t key_len, const void *rec, size_t len)
{
    (void)key, (void)key_len;
    keep(&((sink *)o)->to_decide, rec, len);
    return 0;
}

static int reject(void *o, const char *json, size_t len, const char *kind)
{
    (void)json, (void)len, (void)kind;
    ((sink *)o)->rejects++;
    return 0;
}

static int decision(void *o, const rg_decision *d)
{
    (void)d;
    ((sink *)o)->decisions++;
    return 0;
}

static rg_stage_out out_to(sink *k)
{
    return (rg_stage_out){.opaque = k, .to_entities = to_entities, .to_decide = to_decide, .reject = reject,
                          .decision = decision};
}

static void sink_free(sink *k)
{
    rg_strbuf_free(&k->to_entities);
    rg_strbuf_free(&k->to_decide);
}

/* ---- seeds ---- */

static const char *const seed_events[] = {
    "{\"event_id\":\"s-1\",\"type\":\"account_open\",\"ts\":\"2026-11-22T09:00:00Z\",\"account\":\"b\"}",
    "{\"event_id\":\"s-2\",\"type\":\"login\",\"ts\":\"2026-11-22T10:00:00Z\",\"account\":\"a\",\"device_id\":\"d2\","
    "\"ip\":\"1.0.0.1\"}",
    "{\"event_id\":\"s-3\",\"type\":\"transfer\",\"ts\":\"2026-11-22T10:00:01Z\",\"account\":\"a\",\"counterparty\":\"b\","
    "\"amount\":600000,\"transfer_id\":\"t1\"}",
    "{\"event_id\":\"s-4\",\"type\":\"red_packet_send\",\"ts\":\"2026-11-22T10:00:02Z\",\"account\":\"a\","
    "\"packet_id\":\"p1\",\"amount\":1000,\"shares\":2}",
    "{\"event_id\":\"s-5\",\"type\":\"red_packet_claim\",\"ts\":\"2026-11-22T10:00:03Z\",\"account\":\"c\","
    "\"packet_id\":\"p1\",\"amount\":600}",
    "{\"event_id\":\"s-6\",\"type\":\"complaint\",\"ts\":\"2026-11-22T10:00:04Z\",\"account\":\"b\",\"ref\":\"t1\"}",
    "{\"event_id\":\"s-7\",\"type\":\"transfer\",\"ts\":\"2026-11-22T10:00:05Z\",\"account\":\"a\","
    "\"counterparty\":\"b\",\"amount\":-1}",
};

static void write_seed(const char *dir, const char *name, uint8_t mode, const void *bytes, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(&mode, 1, 1, f) == 1);
    CHECK(len == 0 || fwrite(bytes, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

static void write_seeds(const char *dir)
{
    char err[512];
    sink k = {0};
    rg_stage_out out = out_to(&k);
    rg_ingest *g = rg_ingest_new(rules, NULL, 0, err, sizeof err);
    CHECK(g);
    for (size_t i = 0; i < sizeof seed_events / sizeof *seed_events; i++)
        rg_ingest_process(g, seed_events[i], strlen(seed_events[i]), (int64_t)i, -1, "seed", &out);
    rg_strbuf mark = RG_STRBUF_INIT;
    rg_ingest_mark(0, rg_ingest_progress(g), true, &mark);
    keep(&k.to_entities, mark.data, mark.len);
    keep(&k.to_decide, mark.data, mark.len);
    write_seed(dir, "records-entities", 0, k.to_entities.data, k.to_entities.len);
    write_seed(dir, "records-decide", 0, k.to_decide.data, k.to_decide.len);

    /* Snapshots of each stage after the same input. */
    rg_strbuf snap = RG_STRBUF_INIT;
    CHECK(rg_ingest_save(g, &snap, err, sizeof err) == 0);
    write_seed(dir, "snapshot-ingest", 1, snap.data, snap.len);
    rg_entity *e = rg_entity_new(rules, NULL, 0, SOURCES, 0, 0, 20, err, sizeof err);
    rg_decide *d = rg_decide_new(rules, NULL, 0, SOURCES, err, sizeof err);
    CHECK(e && d);
    sink k2 = {0};
    rg_stage_out out2 = out_to(&k2);
    bool oom = false;
    for (size_t at = 0, n = 0; at + 2 <= k.to_entities.len; at += 2 + n) {
        n = (size_t)(uint8_t)k.to_entities.data[at] | (size_t)(uint8_t)k.to_entities.data[at + 1] << 8;
        rg_entity_push(e, k.to_entities.data + at + 2, n, (int64_t)at, 0, &oom, err, sizeof err);
    }
    int64_t wait;
    rg_entity_run(e, 100000, 1000, &out2, &wait);
    for (size_t at = 0, n = 0; at + 2 <= k.to_decide.len; at += 2 + n) {
        n = (size_t)(uint8_t)k.to_decide.data[at] | (size_t)(uint8_t)k.to_decide.data[at + 1] << 8;
        rg_decide_push(d, k.to_decide.data + at + 2, n, (int64_t)at, &oom, err, sizeof err);
    }
    rg_decide_run(d, 1000, &out2);
    rg_strbuf_reset(&snap);
    CHECK(rg_entity_save(e, &snap, err, sizeof err) == 0);
    write_seed(dir, "snapshot-entity", 2, snap.data, snap.len);
    rg_strbuf_reset(&snap);
    CHECK(rg_decide_save(d, &snap, err, sizeof err) == 0);
    write_seed(dir, "snapshot-decide", 3, snap.data, snap.len);
    rg_strbuf_free(&snap);
    rg_strbuf_free(&mark);
    rg_entity_free(e);
    rg_decide_free(d);
    rg_ingest_free(g);
    sink_free(&k);
    sink_free(&k2);
}

static void init(void)
{
    char *errors = NULL;
    rules = rg_ruleset_load_file(RG_SOURCE_DIR "/rules/default.yaml", &errors);
    CHECK(rules);
    const char *dir = getenv("RG_FUZZ_STAGE_SEEDS");
    if (dir && *dir)
        write_seeds(dir);
}

/* ---- records ---- */

static void check_record(const uint8_t *bytes, size_t len)
{
    rg_rec r;
    char err[256] = "";
    if (rg_rec_decode(bytes, len, &r, err, sizeof err) != 0) {
        CHECK(err[0] != '\0');
        return;
    }
    CHECK(rg_rec_kind_name(r.kind) != NULL);
    /* What decodes encodes to something that decodes the same. */
    rg_strbuf again = RG_STRBUF_INIT;
    rg_rec_encode(&r, &again);
    CHECK(rg_strbuf_ok(&again));
    rg_rec r2;
    CHECK(rg_rec_decode(again.data, again.len, &r2, err, sizeof err) == 0);
    CHECK(r2.kind == r.kind && r2.src_partition == r.src_partition && r2.src_offset == r.src_offset &&
          r2.ts_ms == r.ts_ms && r2.progress_ms == r.progress_ms && r2.family == r.family &&
          r2.values_len == r.values_len && r2.extra_len == r.extra_len && r2.raw_len == r.raw_len);
    CHECK(r.values_len == 0 || memcmp(r2.values, r.values, r.values_len) == 0);
    CHECK(r.raw_len == 0 || memcmp(r2.raw, r.raw, r.raw_len) == 0);
    if (r.kind == RG_REC_EVENT && r.extra_len) {
        const char *subjects[RG_HELD_MAX_SUBJECTS];
        size_t lens[RG_HELD_MAX_SUBJECTS], n = 0;
        if (rg_held_list_get(r.extra, r.extra_len, subjects, lens, &n) == 0) {
            CHECK(n <= RG_HELD_MAX_SUBJECTS);
            for (size_t i = 0; i < n; i++)
                CHECK((const uint8_t *)subjects[i] >= (const uint8_t *)r.extra &&
                      (const uint8_t *)subjects[i] + lens[i] <= (const uint8_t *)r.extra + r.extra_len);
        }
    }
    rg_strbuf_free(&again);
}

static void run_records(const uint8_t *data, size_t size)
{
    char err[512];
    rg_entity *e = rg_entity_new(rules, NULL, 0, SOURCES, 0, 0, 20, err, sizeof err);
    rg_decide *d = rg_decide_new(rules, NULL, 0, SOURCES, err, sizeof err);
    CHECK(e && d);
    sink k = {0};
    rg_stage_out out = out_to(&k);
    size_t at = 0;
    for (int i = 0; i < MAX_RECORDS && at + 2 <= size; i++) {
        size_t n = (size_t)data[at] | (size_t)data[at + 1] << 8;
        at += 2;
        if (n > size - at)
            n = size - at;
        uint8_t *rec = malloc(n ? n : 1);
        CHECK(rec);
        memcpy(rec, data + at, n);
        at += n;
        check_record(rec, n);
        bool oom = false;
        err[0] = '\0';
        if (rg_entity_push(e, rec, n, i, i, &oom, err, sizeof err) != 0)
            CHECK(err[0] != '\0' && !oom);
        err[0] = '\0';
        if (rg_decide_push(d, rec, n, i, &oom, err, sizeof err) != 0)
            CHECK(err[0] != '\0' && !oom);
        free(rec);
    }
    int64_t wait;
    rg_entity_run(e, 1000000, 1000, &out, &wait);
    rg_decide_run(d, 1000, &out);
    rg_strbuf snap = RG_STRBUF_INIT;
    CHECK(rg_entity_save(e, &snap, err, sizeof err) == 0);
    rg_strbuf_reset(&snap);
    CHECK(rg_decide_save(d, &snap, err, sizeof err) == 0);
    rg_strbuf_free(&snap);
    sink_free(&k);
    rg_entity_free(e);
    rg_decide_free(d);
}

/* ---- snapshots ---- */

static void run_snapshot(uint8_t stage, const uint8_t *data, size_t size)
{
    char err[512] = "";
    uint8_t *copy = malloc(size ? size : 1);
    CHECK(copy);
    if (size)
        memcpy(copy, data, size);
    rg_strbuf again = RG_STRBUF_INIT;
    int rc;
    if (stage == 1) {
        rg_ingest *g = rg_ingest_new(rules, NULL, 0, err, sizeof err);
        CHECK(g);
        if ((rc = rg_ingest_load(g, copy, size, err, sizeof err)) == 0)
            CHECK(rg_ingest_save(g, &again, err, sizeof err) == 0);
        rg_ingest_free(g);
    } else if (stage == 2) {
        rg_entity *e = rg_entity_new(rules, NULL, 0, SOURCES, 0, 0, 20, err, sizeof err);
        CHECK(e);
        if ((rc = rg_entity_load(e, copy, size, err, sizeof err)) == 0)
            CHECK(rg_entity_save(e, &again, err, sizeof err) == 0);
        rg_entity_free(e);
    } else {
        rg_decide *d = rg_decide_new(rules, NULL, 0, SOURCES, err, sizeof err);
        CHECK(d);
        if ((rc = rg_decide_load(d, copy, size, err, sizeof err)) == 0)
            CHECK(rg_decide_save(d, &again, err, sizeof err) == 0);
        rg_decide_free(d);
    }
    if (rc != 0)
        CHECK(err[0] != '\0');
    rg_strbuf_free(&again);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!rules)
        init();
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 4;
    if (mode == 0)
        run_records(data + 1, size - 1);
    else
        run_snapshot(mode, data + 1, size - 1);
    return 0;
}
