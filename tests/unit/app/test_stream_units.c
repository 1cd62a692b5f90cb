/* Unit tests for the streaming runner's pure parts: delivery tickets
 * (stream/runtime.h), secret keys in logs (stream/log.c), the
 * Prometheus rendering (stream/metrics.c), when an ingest task counts
 * as drained (stream/task.c) and what the sinks' acknowledgement does to
 * a task's count of outputs in flight (stream/produce.c). The stages' merge has its
 * tests in tests/unit/stages/test_stages_merge.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/log.h"
#include "stream/metrics.h"
#include "stream/runtime.h"
#include "stages/ingest.h"
#include "stages/record.h"
#include "stream/task.h"

/* ---- tickets ---- */

static void test_ticket_roundtrip(void **state)
{
    (void)state;
    void *t = rg_ticket(513, 0x1fffe, RG_TICKET_SNAPSHOT, 0x7fffffffu);
    assert_int_equal(rg_ticket_slot(t), 513);
    assert_int_equal(rg_ticket_gen(t), 0xfffe);            /* 16 bits kept */
    assert_int_equal(rg_ticket_kind_of(t), RG_TICKET_SNAPSHOT);
    assert_int_equal(rg_ticket_epoch(t), 0x3fffffffu);     /* 30 bits kept */
    void *u = rg_ticket(0, 0, RG_TICKET_OUTPUT, 0);
    assert_int_equal(rg_ticket_slot(u), 0);
    assert_int_equal(rg_ticket_kind_of(u), RG_TICKET_OUTPUT);
    void *m = rg_ticket(7, 3, RG_TICKET_UNTRACKED, 12);
    assert_int_equal(rg_ticket_kind_of(m), RG_TICKET_UNTRACKED);
    assert_int_equal(rg_ticket_epoch(m), 12);
    /* The outbox's tickets: the reserved slot, the row id in 48 bits. */
    void *o = rg_outbox_ticket(UINT64_C(0x123456789abc));
    assert_int_equal(rg_ticket_slot(o), RG_TICKET_OUTBOX_SLOT);
    assert_true(rg_outbox_ticket_id(o) == UINT64_C(0x123456789abc));
}

/* ---- log, metrics ---- */

static void test_secret_keys(void **state)
{
    (void)state;
    assert_true(rg_log_secret_key("sasl.password"));
    assert_true(rg_log_secret_key("sasl.oauthbearer.client.secret"));
    assert_true(rg_log_secret_key("ssl.key.password"));
    assert_true(rg_log_secret_key("SSL.KEYSTORE.PASSWORD"));
    assert_true(rg_log_secret_key("sasl.username"));
    assert_false(rg_log_secret_key("bootstrap.servers"));
    assert_false(rg_log_secret_key("linger.ms"));
}

static void test_log_line_is_one_logfmt_line(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    rg_log_set_stream(f);
    rg_log(RG_LOG_WARN, "delivery failed", "topic", "riskgate.actions", "error", "Local: \"Broker\"\nis down", NULL);
    rg_log(RG_LOG_DEBUG, "dropped below the level", NULL);
    rg_log_set_stream(NULL);
    fclose(f);
    assert_non_null(strstr(buf, " level=warn msg=\"delivery failed\" topic=riskgate.actions "
                                "error=\"Local: \\\"Broker\\\"\\nis down\"\n"));
    assert_int_equal(strchr(buf, '\n') - buf + 1, (long)len);   /* exactly one line */
    free(buf);
}

static void test_metrics_text(void **state)
{
    (void)state;
    rg_metrics m;
    assert_int_equal(rg_metrics_init(&m), 0);
    m.events_consumed = 7;
    rg_metrics_reject(&m, "invalid_json");
    rg_metrics_reject(&m, "invalid_json");
    const char *acts[] = {"freeze", "face_verify"};
    const char *rules[] = {"new_account_mule"};
    rg_metrics_decision(&m, acts, 2, rules, 1);
    rg_metrics_latency(&m, 0.0015);
    rg_metrics_latency(&m, 20);
    m.records_entities = 5;
    m.tasks_held[1] = 2;
    rg_partition_lag lag = {"g.entities", 3, 42, 100};
    rg_metrics_set_lags(&m, &lag, 1);
    rg_strbuf b = RG_STRBUF_INIT;
    rg_task_status ts[2] = {
        {.task = "decide/3", .input_offset = 7121, .high_watermark = 7300, .buffered = 4, .drained = -1,
         .waiting_enrich = 1, .first_waiting_source = 5, .first_waiting_offset = 5512, .waiting_hits = -1},
        {.task = "entity/1", .input_offset = 40, .high_watermark = 40, .buffered = 2, .paused = true, .drained = -1,
         .waiting_enrich = -1, .first_waiting_source = -1, .waiting_hits = 0, .n_holders = 2, .holders = {0, 6}},
    };
    rg_metrics_set_tasks(&m, ts, 2);
    rg_metrics_render(&m, 0, &b);
    assert_non_null(strstr(b.data, "riskgate_events_consumed_total 7\n"));
    assert_non_null(strstr(b.data, "riskgate_events_rejected_total{kind=\"invalid_json\"} 2\n"));
    assert_non_null(strstr(b.data, "riskgate_decision_actions_total{action=\"freeze\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_rule_hits_total{rule=\"new_account_mule\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_consumer_lag{topic=\"g.entities\",partition=\"3\"} 42\n"));
    assert_non_null(strstr(b.data, "riskgate_records_total{topic=\"entities\"} 5\n"));
    assert_non_null(strstr(b.data, "riskgate_tasks{stage=\"entity\"} 2\n"));
    /* Per task: what it waits on; a stage's own gauges only for it. */
    assert_non_null(strstr(b.data, "riskgate_task_input_offset{task=\"decide/3\"} 7121\n"));
    assert_non_null(strstr(b.data, "riskgate_task_high_watermark{task=\"decide/3\"} 7300\n"));
    assert_non_null(strstr(b.data, "riskgate_task_buffered{task=\"entity/1\"} 2\n"));
    assert_non_null(strstr(b.data, "riskgate_task_paused{task=\"entity/1\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_task_waiting_enrich{task=\"decide/3\"} 1\n"));
    assert_null(strstr(b.data, "riskgate_task_waiting_enrich{task=\"entity/1\"}"));
    assert_non_null(strstr(b.data, "riskgate_task_first_waiting_offset{task=\"decide/3\",source=\"5\"} 5512\n"));
    assert_non_null(strstr(b.data, "riskgate_task_merge_holders{task=\"entity/1\"} 2\n"));
    assert_null(strstr(b.data, "riskgate_task_merge_holders{task=\"decide/3\"}"));
    assert_non_null(strstr(b.data, "riskgate_task_merge_holder{task=\"entity/1\",source=\"6\"} 1\n"));
    assert_null(strstr(b.data, "riskgate_task_drained{"));
    assert_non_null(strstr(b.data, "riskgate_event_decision_latency_seconds_bucket{le=\"0.002\"} 1\n"));
    assert_non_null(strstr(b.data, "riskgate_event_decision_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(b.data, "riskgate_event_decision_latency_seconds_count 2\n"));
    rg_strbuf_free(&b);

    char err[256];
    assert_int_equal(rg_metrics_serve(&m, "0.0.0.0:0", NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "loopback"));
    unsigned port = 0;
    assert_int_equal(rg_metrics_serve(&m, "127.0.0.1:0", &port, err, sizeof err), 0);
    assert_true(port > 0);
    rg_metrics_free(&m);
}

/* ---- drained ingest tasks ----
 * A drained task's MARKs let the entity merge go on without it after
 * --max-idle-ms; a task wrongly judged drained (a backlog not yet fetched)
 * lets the merge run past events it has yet to send. */

static rg_task *ingest_task(rg_stream *s, rg_ruleset **rs)
{
    static const char rules[] = "version: 1\nrules:\n  - id: r\n    on: [transfer]\n    when: amount > 100\n"
                                "    then:\n      - review: account\n";
    char *errors = NULL;
    *rs = rg_ruleset_load_buffer("t.yaml", rules, sizeof rules - 1, &errors);
    if (!*rs)
        fail_msg("rules: %s", errors ? errors : "?");
    free(errors);
    memset(s, 0, sizeof *s);
    s->rs = *rs;
    s->topo.partitions = 2;
    s->cfg.mark_interval_ms = 20;
    char err[256];
    rg_task *t = rg_task_new(s, RG_TASK_INGEST, 0, 0, 1, err, sizeof err);
    assert_non_null(t);
    return t;
}

static bool is_drained(rg_task *t)
{
    bool d;
    (void)rg_task_position(t, rg_run_mono_ms(), &d);
    return d;
}

static void test_drained_judged_by_restored_position(void **state)
{
    (void)state;
    static rg_stream s;
    rg_ruleset *rs;
    rg_task *t = ingest_task(&s, &rs);
    int64_t now = rg_run_mono_ms();
    t->start_offset = 100;   /* restored there, nothing fetched yet */

    /* A probe says the partition ends at 150: 50 records still to read. */
    rg_task_note_end(t, now, 150, false);
    assert_false(is_drained(t));
    rg_task_free(t);
    rg_ruleset_free(rs);

    /* One that says it ends at 100: nothing past the restored position. */
    t = ingest_task(&s, &rs);
    t->start_offset = 100;
    now = rg_run_mono_ms();
    rg_task_note_end(t, now + 1, 100, false);
    assert_true(is_drained(t));
    /* Then records arrive before a fetch hands them over: a later probe
     * shows them, and the task is no longer drained. */
    rg_task_note_end(t, now + 2, 120, false);
    assert_false(is_drained(t));
    rg_task_free(t);
    rg_ruleset_free(rs);

    /* An answer to a probe asked before the task existed (its partition's
     * previous task here asked it) is ignored. */
    t = ingest_task(&s, &rs);
    t->start_offset = 100;
    rg_task_note_end(t, t->created_ms - 1, 100, false);
    assert_false(is_drained(t));
    /* Restored position unknown (no snapshot): a probe cannot say. */
    t->start_offset = -1;
    rg_task_note_end(t, t->created_ms + 1, 0, false);
    assert_false(is_drained(t));
    /* A fetch's EOF says where the consumer stands: drained there. */
    rg_task_note_end(t, t->created_ms + 2, 70, true);
    assert_true(is_drained(t));
    assert_int_equal(t->next_offset, 70);
    /* The end moves on (a probe): no longer drained. */
    rg_task_note_end(t, t->created_ms + 3, 75, false);
    assert_false(is_drained(t));
    rg_task_free(t);
    rg_ruleset_free(rs);
}

static int no_record(void *o, const char *k, size_t kl, const void *r, size_t rl)
{
    (void)o, (void)k, (void)kl, (void)r, (void)rl;
    return 0;
}

/* A task restored at its partition's end takes nothing: its position
 * still moves with the time it is silent, so its MARKs go on (a fixed
 * position stops them, and the merge then waits --max-wait-ms for it as
 * for an instance gone). */
static void test_restored_drained_task_position_moves(void **state)
{
    (void)state;
    static rg_stream s;
    rg_ruleset *rs;
    rg_task *t = ingest_task(&s, &rs);
    /* Its restored progress: one event evaluated, ts 1,000,000 ms. */
    static const char ev[] = "{\"event_id\":\"e1\",\"type\":\"transfer\",\"ts\":1000000,\"account\":\"a\","
                             "\"counterparty\":\"b\",\"amount\":5}";
    rg_stage_out out = {.to_entities = no_record, .to_decide = no_record};
    assert_int_equal(rg_ingest_process(t->st.ingest, ev, sizeof ev - 1, 0, 1000000, "t/0", &out), RG_INGEST_EVENT);
    assert_int_equal(rg_ingest_progress(t->st.ingest), 1000000);
    t->start_offset = 1;
    t->created_ms -= 300;   /* assigned 300 ms ago */
    int64_t now = rg_run_mono_ms();
    rg_task_note_end(t, now, 1, true);
    bool d;
    int64_t position = rg_task_position(t, now, &d);
    assert_true(d);
    assert_true(position >= 1000000 + 300);
    assert_true(rg_task_position(t, now + 100, &d) == position + 100);
    rg_task_free(t);
    rg_ruleset_free(rs);
}

/* The runner's sinks acknowledge through rg_run_acked: an output counts
 * in its task's epoch until it arrives (a report with an error leaves it
 * counted: nothing past it may be committed), a MARK frees its slot
 * delivered or not, and a ticket of a task given up since is ignored. The
 * action topic declines a decision with every hit under cooldown. */
static void test_sink_acks_count_outputs(void **state)
{
    (void)state;
    static rg_stream s;
    rg_ruleset *rs;
    rg_task *t = ingest_task(&s, &rs);
    rg_run_sinks_init(&s);
    rg_task *slots[1] = {t};
    s.tasks.slots = slots;
    s.tasks.n = 1;
    void *first = rg_task_ticket(t), *second = rg_task_ticket(t);
    assert_int_equal(rg_task_inflight(t), 2);
    rg_run_acked(&s, first, RD_KAFKA_RESP_ERR__PURGE_QUEUE);
    assert_int_equal(rg_task_inflight(t), 2);
    rg_run_acked(&s, first, 0);
    assert_int_equal(rg_task_inflight(t), 1);
    rg_run_acked(&s, rg_ticket(t->slot, t->gen + 1, RG_TICKET_OUTPUT, 0), 0);   /* another generation */
    assert_int_equal(rg_task_inflight(t), 1);
    t->mark_inflight[0] = true;
    rg_run_acked(&s, rg_ticket(t->slot, t->gen, RG_TICKET_UNTRACKED, 1), RD_KAFKA_RESP_ERR__MSG_TIMED_OUT);
    assert_false(t->mark_inflight[0]);
    /* Declined before anything is produced (there is no producer here). */
    rg_decision quiet = {.subject = "a", .json = "{}", .json_len = 2, .emit = false};
    assert_int_equal(rg_sink_decision(&s.sinks.out[RG_OUT_ACTIONS], &quiet, second), RG_SINK_DECLINED);
    rg_run_acked(&s, second, 0);
    assert_int_equal(rg_task_inflight(t), 0);
    s.tasks.slots = NULL;
    s.tasks.n = 0;
    rg_task_free(t);
    rg_ruleset_free(rs);
}

/* ---- idle MARKs on one tick ----
 * An instance's drained ingest tasks send their idle MARKs (only silence
 * moved them) on one tick, so their MARKs to a partition are produced
 * together and travel in one batch: a consumer handed one batch per
 * partition per fetch (the mock cluster) then keeps up. Each task on its
 * own clock sent one batch per task per tick, and on a loaded machine the
 * internal partitions' lag grew for good (cli_stream_rolling stalled). */

typedef struct mark_log {
    rg_stream *s;
    int step;
    int sends[2][64];   /* per task (its source partition): the steps it marked in */
    int n[2];
} mark_log;

static int log_mark(void *self, const rg_keyed_record *r, void *ticket)
{
    mark_log *l = self;
    rg_rec rec;
    char err[128];
    assert_int_equal(rg_rec_decode(r->value, r->value_len, &rec, err, sizeof err), 0);
    assert_int_equal(rec.kind, RG_REC_MARK);
    int src = (int)rec.src_partition;
    assert_true(src == 0 || src == 1);
    if (l->n[src] == 0 || l->sends[src][l->n[src] - 1] != l->step) {
        assert_true(l->n[src] < 64);
        l->sends[src][l->n[src]++] = l->step;
    }
    rg_run_acked(l->s, ticket, 0);   /* acknowledged at once: the next may go */
    return RG_SINK_TAKEN;
}

/* The runner s holds these ingest tasks, and its internal outputs log
 * their MARKs into l. */
static void log_marks(rg_stream *s, rg_task **slots, size_t n, mark_log *l)
{
    s->tasks.slots = slots;
    s->tasks.n = n;
    *l = (mark_log){.s = s};
    static const rg_sink_ops ops = {.name = "mark log", .record = log_mark};
    s->sinks.out[RG_OUT_ENTITIES] = s->sinks.out[RG_OUT_DECIDE] = (rg_sink){.ops = &ops, .self = l};
}

static void test_idle_marks_share_one_tick(void **state)
{
    (void)state;
    static rg_stream s;
    rg_ruleset *rs;
    rg_task *t0 = ingest_task(&s, &rs);   /* resets s */
    char err[256];
    rg_task *t1 = rg_task_new(&s, RG_TASK_INGEST, 1, 1, 2, err, sizeof err);
    assert_non_null(t1);
    rg_task *slots[2] = {t0, t1};
    mark_log l;
    log_marks(&s, slots, 2, &l);
    rg_stage_out out = {.to_entities = no_record, .to_decide = no_record};
    static const char ev0[] = "{\"event_id\":\"e0\",\"type\":\"transfer\",\"ts\":1000000,\"account\":\"a\","
                              "\"counterparty\":\"b\",\"amount\":5}";
    static const char ev1[] = "{\"event_id\":\"e1\",\"type\":\"transfer\",\"ts\":1000000,\"account\":\"c\","
                              "\"counterparty\":\"d\",\"amount\":5}";
    assert_int_equal(rg_ingest_process(t0->st.ingest, ev0, sizeof ev0 - 1, 0, 1000000, "t/0", &out), RG_INGEST_EVENT);
    assert_int_equal(rg_ingest_process(t1->st.ingest, ev1, sizeof ev1 - 1, 0, 1000000, "t/1", &out), RG_INGEST_EVENT);
    t0->start_offset = t1->start_offset = 1;   /* restored at their partitions' ends */
    int64_t t0_ms = rg_run_mono_ms(), step_ms = s.cfg.mark_interval_ms / 2;
    /* 1.2 s in half mark intervals; task 1's partition is confirmed
     * drained 30 ms after task 0's, and each stays confirmed (probes). */
    for (l.step = 0; l.step < 120; l.step++) {
        int64_t now = t0_ms + l.step * step_ms;
        rg_task_note_end(t0, now, 1, true);
        if (now >= t0_ms + 30)
            rg_task_note_end(t1, now, 1, true);
        rg_task_marks_all(&s, now);
    }
    /* After the first words (not drained, then drained: each task's own),
     * every idle MARK of one task went in a step the other's did too. */
    int from = 300 / (int)step_ms;
    int a = 0, b = 0, idle_steps = 0;
    while (a < l.n[0] && l.sends[0][a] < from)
        a++;
    while (b < l.n[1] && l.sends[1][b] < from)
        b++;
    for (; a < l.n[0] || b < l.n[1]; a++, b++, idle_steps++) {
        assert_true(a < l.n[0] && b < l.n[1]);
        assert_int_equal(l.sends[0][a], l.sends[1][b]);
    }
    /* Still every RG_IDLE_MARK_EVERY intervals: 900 ms of ticks. */
    assert_in_range(idle_steps, 8, 10);
    s.tasks.slots = NULL;
    s.tasks.n = 0;
    rg_task_free(t0);
    rg_task_free(t1);
    rg_ruleset_free(rs);
}

/* A drained task whose probe answers stop (a leader down; librdkafka's
 * query can hang past its timeout) must fall silent once the time the
 * broker confirmed is used up: the merge then holds for it as for a
 * source that may hold data (--max-wait-ms), not as for an idle one
 * (--max-idle-ms, after which its records would come late). A keep-alive
 * that said "drained" regardless would hide exactly that. */
static void test_drained_task_silent_once_unconfirmed(void **state)
{
    (void)state;
    static rg_stream s;
    rg_ruleset *rs;
    rg_task *t = ingest_task(&s, &rs);
    rg_task *slots[1] = {t};
    mark_log l;
    log_marks(&s, slots, 1, &l);
    rg_stage_out out = {.to_entities = no_record, .to_decide = no_record};
    static const char ev[] = "{\"event_id\":\"e0\",\"type\":\"transfer\",\"ts\":1000000,\"account\":\"a\","
                             "\"counterparty\":\"b\",\"amount\":5}";
    assert_int_equal(rg_ingest_process(t->st.ingest, ev, sizeof ev - 1, 0, 1000000, "t/0", &out), RG_INGEST_EVENT);
    t->start_offset = 1;
    int64_t t0_ms = rg_run_mono_ms(), step_ms = s.cfg.mark_interval_ms / 2;
    /* Confirmed drained for its first 200 ms, then no answer for 3 s. */
    for (l.step = 0; l.step < 300; l.step++) {
        int64_t now = t0_ms + l.step * step_ms;
        if (now < t0_ms + 200)
            rg_task_note_end(t, now, 1, true);
        rg_task_marks_all(&s, now);
    }
    bool d;
    int64_t stands = rg_task_position(t, t0_ms + 3000, &d);
    assert_true(rg_task_position(t, t0_ms + 2000, &d) == stands);   /* it stood still */
    /* It marked while its position moved (confirmed until 190 ms, plus
     * one probe interval), then not again: the last MARK within one idle
     * tick (RG_IDLE_MARK_EVERY mark intervals) of 290 ms. */
    assert_true(l.n[0] >= 2);
    int64_t last_ms = l.sends[0][l.n[0] - 1] * step_ms;
    assert_true(last_ms >= 100);
    assert_true(last_ms <= 290 + RG_IDLE_MARK_EVERY * s.cfg.mark_interval_ms);
    s.tasks.slots = NULL;
    s.tasks.n = 0;
    rg_task_free(t);
    rg_ruleset_free(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticket_roundtrip),
        cmocka_unit_test(test_secret_keys),
        cmocka_unit_test(test_log_line_is_one_logfmt_line),
        cmocka_unit_test(test_metrics_text),
        cmocka_unit_test(test_drained_judged_by_restored_position),
        cmocka_unit_test(test_restored_drained_task_position_moves),
        cmocka_unit_test(test_sink_acks_count_outputs),
        cmocka_unit_test(test_idle_marks_share_one_tick),
        cmocka_unit_test(test_drained_task_silent_once_unconfirmed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
