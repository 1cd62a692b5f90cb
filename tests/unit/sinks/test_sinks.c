/*
 * sinks — the output interface's implementations (sinks/sink.h): the
 * JSON Lines files (emitted decisions only, rejects up to --max-rejects,
 * acknowledgement per line written, a failed write reported and not
 * acknowledged) and the fan-out (every child called, a failing one named,
 * the others still served; close reaches every child).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decisions/engine.h"
#include "sinks/fanout.h"
#include "sinks/jsonl.h"

/* Tickets acknowledged, in order. */
typedef struct acks {
    void *ticket[16];
    int err[16];
    size_t n;
} acks;

static void on_acked(void *opaque, void *ticket, int err)
{
    acks *a = opaque;
    assert_true(a->n < 16);
    a->ticket[a->n] = ticket;
    a->err[a->n++] = err;
}

static rg_decision decision(const char *json, bool emit)
{
    return (rg_decision){.decision_id = "e/s", .subject = "s", .json = json, .json_len = strlen(json), .emit = emit};
}

static rg_dead_letter dead_letter(const char *json)
{
    return (rg_dead_letter){.json = json, .json_len = strlen(json), .kind = "bad_json"};
}

static void test_jsonl_writes_emitted_decisions_and_acks(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    acks a = {0};
    rg_sink k;
    char err[256];
    assert_int_equal(rg_jsonl_sink_open(&k, &(rg_jsonl_sink_conf){.decisions = f, .acked = on_acked, .ack_opaque = &a},
                                        err, sizeof err),
                     0);
    rg_decision one = decision("{\"n\":1}", true), quiet = decision("{\"n\":2}", false),
                three = decision("{\"n\":3}", true);
    assert_int_equal(rg_sink_decision(&k, &one, (void *)1), RG_SINK_TAKEN);
    assert_int_equal(rg_sink_decision(&k, &quiet, (void *)2), RG_SINK_DECLINED);   /* under cooldown */
    assert_int_equal(rg_sink_decision(&k, &three, (void *)3), RG_SINK_TAKEN);
    /* Rejects: no rejects file here, so every one is declined. */
    rg_dead_letter dl = dead_letter("{\"r\":1}");
    assert_int_equal(rg_sink_reject(&k, &dl, (void *)4), RG_SINK_DECLINED);
    assert_int_equal(rg_sink_flush(&k, err, sizeof err), 0);
    assert_string_equal(text, "{\"n\":1}\n{\"n\":3}\n");
    assert_int_equal(a.n, 2);
    assert_ptr_equal(a.ticket[0], (void *)1);
    assert_ptr_equal(a.ticket[1], (void *)3);
    assert_int_equal(a.err[0], 0);
    assert_int_equal(rg_sink_close(&k, err, sizeof err), 0);
    assert_null(k.ops);   /* closed: no sink any more, calls decline */
    assert_int_equal(rg_sink_decision(&k, &one, NULL), RG_SINK_DECLINED);
    fclose(f);
    free(text);
}

static void test_jsonl_rejects_honour_max(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    rg_sink k;
    char err[256];
    assert_int_equal(rg_jsonl_sink_open(&k, &(rg_jsonl_sink_conf){.rejects = f, .max_rejects_set = true, .max_rejects = 2},
                                        err, sizeof err),
                     0);
    const char *lines[] = {"{\"r\":1}", "{\"r\":2}", "{\"r\":3}", "{\"r\":4}"};
    int expect[] = {RG_SINK_TAKEN, RG_SINK_TAKEN, RG_SINK_DECLINED, RG_SINK_DECLINED};
    for (int i = 0; i < 4; i++) {
        rg_dead_letter dl = dead_letter(lines[i]);
        assert_int_equal(rg_sink_reject(&k, &dl, NULL), expect[i]);
    }
    /* Decisions: no decisions file, declined. */
    rg_decision d = decision("{}", true);
    assert_int_equal(rg_sink_decision(&k, &d, NULL), RG_SINK_DECLINED);
    rg_sink_close(&k, err, sizeof err);
    fflush(f);
    assert_string_equal(text, "{\"r\":1}\n{\"r\":2}\n");

    /* --max-rejects 0 writes none; without a maximum every one goes. */
    rewind(f);
    assert_int_equal(rg_jsonl_sink_open(&k, &(rg_jsonl_sink_conf){.rejects = f, .max_rejects_set = true}, err, sizeof err),
                     0);
    rg_dead_letter dl = dead_letter(lines[0]);
    assert_int_equal(rg_sink_reject(&k, &dl, NULL), RG_SINK_DECLINED);
    rg_sink_close(&k, err, sizeof err);
    assert_int_equal(rg_jsonl_sink_open(&k, &(rg_jsonl_sink_conf){.rejects = f}, err, sizeof err), 0);
    for (int i = 0; i < 4; i++) {
        dl = dead_letter(lines[i]);
        assert_int_equal(rg_sink_reject(&k, &dl, NULL), RG_SINK_TAKEN);
    }
    rg_sink_close(&k, err, sizeof err);
    fclose(f);
    assert_string_equal(text, "{\"r\":1}\n{\"r\":2}\n{\"r\":3}\n{\"r\":4}\n");
    free(text);
}

static void test_jsonl_failed_write_not_acked(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/null", "r");   /* fwrite on a read-only stream fails */
    assert_non_null(f);
    acks a = {0};
    rg_sink k;
    char err[256];
    assert_int_equal(rg_jsonl_sink_open(&k, &(rg_jsonl_sink_conf){.decisions = f, .acked = on_acked, .ack_opaque = &a},
                                        err, sizeof err),
                     0);
    rg_decision d = decision("{\"n\":1}", true);
    assert_int_equal(rg_sink_decision(&k, &d, (void *)1), RG_SINK_FAILED);
    assert_int_equal(a.n, 0);
    rg_sink_close(&k, err, sizeof err);
    fclose(f);
}

/* A child that counts its calls and answers as told. */
typedef struct probe {
    const char *name;
    int answer;
    int decisions, rejects, records, flushes, closes;
    int *closed_total;
} probe;

static int probe_decision(void *self, const struct rg_decision *d, void *ticket)
{
    probe *p = self;
    p->decisions++;
    return p->answer;
}

static int probe_reject(void *self, const rg_dead_letter *r, void *ticket)
{
    probe *p = self;
    p->rejects++;
    return p->answer;
}

static int probe_record(void *self, const rg_keyed_record *r, void *ticket)
{
    probe *p = self;
    p->records++;
    return p->answer;
}

static int probe_flush(void *self, char *errstr, size_t errstr_size)
{
    probe *p = self;
    p->flushes++;
    if (p->answer < 0) {
        snprintf(errstr, errstr_size, "%s: cannot flush", p->name);
        return -1;
    }
    return 0;
}

static int probe_close(void *self, char *errstr, size_t errstr_size)
{
    probe *p = self;
    p->closes++;
    (*p->closed_total)++;
    return 0;
}

static const rg_sink_ops good_ops = {.name = "good", .decision = probe_decision, .reject = probe_reject,
                                     .record = probe_record, .flush = probe_flush, .close = probe_close};
static const rg_sink_ops bad_ops = {.name = "bad", .decision = probe_decision, .reject = probe_reject,
                                    .record = probe_record, .flush = probe_flush, .close = probe_close};

static void test_fanout_calls_each_and_names_the_failing_one(void **state)
{
    (void)state;
    int closed = 0;
    probe first = {.name = "first", .answer = RG_SINK_TAKEN, .closed_total = &closed};
    probe broken = {.name = "broken", .answer = RG_SINK_FAILED, .closed_total = &closed};
    probe last = {.name = "last", .answer = RG_SINK_DECLINED, .closed_total = &closed};
    rg_sink children[] = {{&good_ops, &first}, {&bad_ops, &broken}, {0}, {&good_ops, &last}};
    rg_sink f;
    char err[256] = "";
    assert_int_equal(rg_fanout_sink_open(&f, children, 4, err, sizeof err), 0);
    assert_null(rg_fanout_sink_failed(&f));
    rg_decision d = decision("{}", true);
    /* One child fails: the fan-out fails, names it, and still served the
     * child after it. */
    assert_int_equal(rg_sink_decision(&f, &d, NULL), RG_SINK_FAILED);
    assert_string_equal(rg_fanout_sink_failed(&f), "bad");
    assert_int_equal(first.decisions, 1);
    assert_int_equal(broken.decisions, 1);
    assert_int_equal(last.decisions, 1);
    rg_dead_letter dl = dead_letter("{}");
    assert_int_equal(rg_sink_reject(&f, &dl, NULL), RG_SINK_FAILED);
    rg_keyed_record r = {.key = "k", .key_len = 1, .partition = 0};
    assert_int_equal(rg_sink_record(&f, &r, NULL), RG_SINK_FAILED);
    assert_int_equal(first.rejects + broken.rejects + last.rejects, 3);
    assert_int_equal(first.records + broken.records + last.records, 3);
    assert_int_equal(rg_sink_flush(&f, err, sizeof err), -1);
    assert_string_equal(err, "broken: cannot flush");
    assert_int_equal(last.flushes, 1);

    /* Without the failing child: taken when one child takes it. */
    broken.answer = RG_SINK_DECLINED;
    assert_int_equal(rg_sink_decision(&f, &d, NULL), RG_SINK_TAKEN);
    /* Declined when every child declines. */
    first.answer = RG_SINK_DECLINED;
    assert_int_equal(rg_sink_decision(&f, &d, NULL), RG_SINK_DECLINED);

    /* Close reaches every child once. */
    assert_int_equal(rg_sink_close(&f, err, sizeof err), 0);
    assert_int_equal(closed, 3);
    assert_int_equal(first.closes + broken.closes + last.closes, 3);
}

static void test_fanout_over_files(void **state)
{
    (void)state;
    char *a_text = NULL, *b_text = NULL;
    size_t a_len = 0, b_len = 0;
    FILE *fa = open_memstream(&a_text, &a_len), *fb = open_memstream(&b_text, &b_len);
    acks acked = {0};
    rg_sink children[2];
    char err[256];
    assert_int_equal(rg_jsonl_sink_open(&children[0],
                                        &(rg_jsonl_sink_conf){.decisions = fa, .acked = on_acked, .ack_opaque = &acked},
                                        err, sizeof err),
                     0);
    assert_int_equal(rg_jsonl_sink_open(&children[1],
                                        &(rg_jsonl_sink_conf){.decisions = fb, .acked = on_acked, .ack_opaque = &acked},
                                        err, sizeof err),
                     0);
    rg_sink f;
    assert_int_equal(rg_fanout_sink_open(&f, children, 2, err, sizeof err), 0);
    rg_decision d = decision("{\"x\":1}", true);
    assert_int_equal(rg_sink_decision(&f, &d, (void *)7), RG_SINK_TAKEN);
    /* Each child acknowledges what it took, with its own callback. */
    assert_int_equal(acked.n, 2);
    assert_int_equal(rg_sink_close(&f, err, sizeof err), 0);
    fclose(fa);
    fclose(fb);
    assert_string_equal(a_text, "{\"x\":1}\n");
    assert_string_equal(b_text, "{\"x\":1}\n");
    free(a_text);
    free(b_text);
}

static void test_fanout_refuses_too_many_and_closes_them(void **state)
{
    (void)state;
    int closed = 0;
    probe p[RG_FANOUT_MAX + 1];
    rg_sink children[RG_FANOUT_MAX + 1];
    for (int i = 0; i <= RG_FANOUT_MAX; i++) {
        p[i] = (probe){.name = "p", .closed_total = &closed};
        children[i] = (rg_sink){&good_ops, &p[i]};
    }
    rg_sink f;
    char err[256] = "";
    assert_int_equal(rg_fanout_sink_open(&f, children, RG_FANOUT_MAX + 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "at most"));
    assert_null(f.ops);
    assert_int_equal(closed, RG_FANOUT_MAX + 1);   /* owned from the call on: none leaks */
}

static void test_no_sink_declines(void **state)
{
    (void)state;
    rg_sink none = {0};
    rg_decision d = decision("{}", true);
    assert_int_equal(rg_sink_decision(&none, &d, NULL), RG_SINK_DECLINED);
    assert_int_equal(rg_sink_decision(NULL, &d, NULL), RG_SINK_DECLINED);
    /* A decision-only table: the other ops decline. */
    static const rg_sink_ops only = {.name = "decisions only", .decision = probe_decision};
    int closed = 0;
    probe p = {.answer = RG_SINK_TAKEN, .closed_total = &closed};
    rg_sink k = {&only, &p};
    assert_int_equal(rg_sink_decision(&k, &d, NULL), RG_SINK_TAKEN);
    rg_dead_letter dl = dead_letter("{}");
    assert_int_equal(rg_sink_reject(&k, &dl, NULL), RG_SINK_DECLINED);
    assert_int_equal(rg_sink_flush(&k, NULL, 0), 0);
    assert_int_equal(rg_sink_close(&k, NULL, 0), 0);
    assert_int_equal(closed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jsonl_writes_emitted_decisions_and_acks),
        cmocka_unit_test(test_jsonl_rejects_honour_max),
        cmocka_unit_test(test_jsonl_failed_write_not_acked),
        cmocka_unit_test(test_fanout_calls_each_and_names_the_failing_one),
        cmocka_unit_test(test_fanout_over_files),
        cmocka_unit_test(test_fanout_refuses_too_many_and_closes_them),
        cmocka_unit_test(test_no_sink_declines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
