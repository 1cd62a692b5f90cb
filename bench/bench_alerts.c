/*
 * bench_alerts — how fast the alert store takes decisions through its
 * alert store sink (rg_alert_sink_open), in batched transactions.
 *
 *   bench_alerts [COUNT [BATCH_ROWS [DB]]]     defaults: 1000000 10000 a temp file
 *
 * Decisions look like the engine's: 100k subjects, one or two rules with
 * reasons and evidence, the raw event (~250 bytes) kept, a counterparty
 * among the same 100k accounts. Prints alerts/s for the adds and for the
 * final commit, the file size, and re-delivers the first 10% to show
 * duplicates are cheap and ignored. With DB given the store is kept:
 * bench_review DB then times the analysts' queries on it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "common/timeutil.h"
#include "store/alerts.h"

static const rg_rule RULES[] = {
    {.id = "large_transfer"}, {.id = "new_recipient_large"}, {.id = "new_account_mule"},
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

typedef struct bench_decision {
    rg_decision d;
    rg_event ev;            /* what the engine hands the sink: account, counterparty */
    rg_decision_hit hits[2];
    char id[64], event_id[32], subject[32], counterparty[32];
    rg_strbuf json, raw;
} bench_decision;

/* Decision i, deterministic. */
static void make(bench_decision *b, uint64_t i)
{
    int64_t ts = INT64_C(1795358265123) + (int64_t)i * 37;
    char tsbuf[32];
    rg_format_utc_ms(ts, tsbuf, sizeof tsbuf);
    snprintf(b->event_id, sizeof b->event_id, "evt-%08" PRIu64, i);
    snprintf(b->subject, sizeof b->subject, "acct-%06" PRIu64, (i * 7919) % 100000);
    snprintf(b->counterparty, sizeof b->counterparty, "acct-%06" PRIu64, (i * 31 + 7) % 100000);
    snprintf(b->id, sizeof b->id, "%s/%s", b->event_id, b->subject);
    size_t n_hits = i % 3 == 0 ? 2 : 1;
    b->hits[0] = (rg_decision_hit){.rule = &RULES[i % 2], .rule_id = RULES[i % 2].id};
    b->hits[1] = (rg_decision_hit){.rule = &RULES[2], .rule_id = RULES[2].id};
    rg_strbuf_reset(&b->json);
    rg_strbuf_printf(&b->json,
                     "{\"decision_id\":\"%s\",\"event_id\":\"%s\",\"event_type\":\"transfer\","
                     "\"subject\":\"%s\",\"actions\":[%s\"face_verify\"],\"rules\":[",
                     b->id, b->event_id, b->subject, n_hits == 2 ? "\"freeze\"," : "");
    for (size_t h = 0; h < n_hits; h++)
        rg_strbuf_printf(&b->json,
                         "%s{\"id\":\"%s\",\"reason\":\"counterparty registered 46h ago; "
                         "amount 2500.00 CNY >= 1000.00\",\"evidence\":{\"counterparty_age_s\":165600,"
                         "\"amount\":%" PRIu64 "}}",
                         h ? "," : "", b->hits[h].rule->id, 100000 + i % 5000000);
    rg_strbuf_printf(&b->json, "],\"ts\":\"%s\",\"ruleset\":\"3f9a1c2e0b7d\"}", tsbuf);
    rg_strbuf_reset(&b->raw);
    rg_strbuf_printf(&b->raw,
                     "{\"event_id\":\"%s\",\"type\":\"transfer\",\"ts\":\"%s\",\"account\":\"%s\","
                     "\"amount\":%" PRIu64 ",\"counterparty\":\"%s\",\"ip\":\"203.0.113.%u\","
                     "\"device_id\":\"dev-%04u\",\"location\":{\"lat\":31.23,\"lon\":121.47}}",
                     b->event_id, tsbuf, b->subject, 100000 + i % 5000000, b->counterparty, (unsigned)(i % 250),
                     (unsigned)(i % 9999));
    b->ev = (rg_event){.type = RG_EV_TRANSFER, .ts_ms = ts, .event_id = b->event_id,
                       .event_id_len = strlen(b->event_id), .account = b->subject,
                       .account_len = strlen(b->subject), .counterparty = b->counterparty,
                       .counterparty_len = strlen(b->counterparty), .amount = (int64_t)(100000 + i % 5000000)};
    b->d = (rg_decision){
        .decision_id = b->id, .event_id = b->event_id, .subject = b->subject,
        .event_type = RG_EV_TRANSFER, .ts_ms = ts,
        .actions = RG_ACT_BIT(RG_ACT_FACE_VERIFY) | (n_hits == 2 ? RG_ACT_BIT(RG_ACT_FREEZE) : 0),
        .hits = b->hits, .n_hits = n_hits, .ruleset = "3f9a1c2e0b7d",
        .json = b->json.data, .json_len = b->json.len,
        .event = &b->ev, .event_raw = b->raw.data, .event_raw_len = b->raw.len, .emit = true,
    };
}

int main(int argc, char **argv)
{
    uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    size_t batch = argc > 2 ? strtoul(argv[2], NULL, 10) : RG_ALERT_BATCH_ROWS;
    char path[512];
    if (argc > 3)
        snprintf(path, sizeof path, "%s", argv[3]);
    else
        snprintf(path, sizeof path, "/tmp/bench_alerts-%ld.db", (long)getpid());
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path), unlink(side);
    snprintf(side, sizeof side, "%s-shm", path), unlink(side);

    char err[512];
    rg_alert_store *s = rg_alert_store_open(path, RG_ALERTS_CREATE, err, sizeof err);
    if (!s) {
        fprintf(stderr, "bench_alerts: %s\n", err);
        return 1;
    }
    /* Row count decides the batch here, not the clock. */
    rg_alert_store_set_batch(s, batch, INT64_C(1) << 40);
    rg_sink sink;
    if (rg_alert_sink_open(&sink, &(rg_alert_sink_conf){.store = s}, err, sizeof err) != 0) {
        fprintf(stderr, "bench_alerts: %s\n", err);
        return 1;
    }
    bench_decision b = {.json = RG_STRBUF_INIT, .raw = RG_STRBUF_INIT};

    double make_s = 0, t0 = now_s();
    for (uint64_t i = 0; i < count; i++) {
        double m0 = now_s();
        make(&b, i);
        make_s += now_s() - m0;
        if (rg_sink_decision(&sink, &b.d, NULL) < 0) {
            fprintf(stderr, "bench_alerts: %s\n", rg_alert_store_last_error(s));
            return 1;
        }
    }
    if (rg_alert_store_flush(s, err, sizeof err) < 0) {
        fprintf(stderr, "bench_alerts: %s\n", err);
        return 1;
    }
    double total_s = now_s() - t0 - make_s;

    uint64_t dups = count / 10;
    double d0 = now_s(), dmake = 0;
    for (uint64_t i = 0; i < dups; i++) {
        double m0 = now_s();
        make(&b, i);
        dmake += now_s() - m0;
        rg_sink_decision(&sink, &b.d, NULL);
    }
    rg_alert_store_flush(s, err, sizeof err);
    double dup_s = now_s() - d0 - dmake;
    rg_sink_close(&sink, NULL, 0);
    rg_alert_store_close(s, NULL, 0);

    struct stat st = {0};
    stat(path, &st);
    printf("alerts: %" PRIu64 " in %.2f s = %.0f alerts/s (batch %zu rows; building the test decisions"
           " excluded: %.2f s)\n", count, total_s, (double)count / total_s, batch, make_s);
    printf("re-delivered: %" PRIu64 " duplicates in %.2f s = %.0f/s, no new alerts\n", dups, dup_s,
           dups ? (double)dups / dup_s : 0.0);
    printf("file: %.1f MiB (%.0f bytes per alert)\n", (double)st.st_size / 1048576.0,
           count ? (double)st.st_size / (double)count : 0.0);
    rg_strbuf_free(&b.json);
    rg_strbuf_free(&b.raw);
    if (argc <= 3) {
        unlink(path);
        snprintf(side, sizeof side, "%s-wal", path), unlink(side);
        snprintf(side, sizeof side, "%s-shm", path), unlink(side);
    }
    return 0;
}
