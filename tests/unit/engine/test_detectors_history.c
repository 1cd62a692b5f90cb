/*
 * Facts about an account outlive the history horizon (rules.md "State is
 * bounded"; issue 12.1 and 12.2), through the whole engine: real rule
 * files, real JSON events, the shared account store (whose quiet
 * accounts move to its dormant map and back, account_store.h), expiry
 * every 4,096 events, and the GeoIP test databases (maxmind.mmdb, built
 * by the geo_mmdb fixture; tests/data/geo/README.md).
 *
 *   - a registration two weeks (or 45 days) old still gives
 *     counterparty_age, so `not (counterparty_age < 72h)` and
 *     `counterparty_age > 30d` fire;
 *   - devices and the last login country survive ten quiet days;
 *   - prev_login_country is the country of the most recent earlier login
 *     the database places in a country: logins without ip, with an IP not
 *     in the database, or with a record without a country are skipped.
 * Owner: detectors.
 */
#include <stdlib.h>

#include "common/strbuf.h"
#include "decisions/engine.h"
#include "decisions/engine_internal.h"
#include "geo/geo.h"
#include "ingest/event_parse.h"
#include "rules/ruleset.h"
#include "test_detectors_util.h"

typedef struct run {
    rg_ruleset *rs;
    rg_geo *geo;
    rg_engine *e;
    rg_event_parser *p;
    rg_strbuf hits;     /* "rule@subject evidence" per hit of the last event */
    long next_id;
} run;

static const char *geo_path(const char *file)
{
    static char path[4200];
    const char *build = getenv("RG_TEST_BUILD");
    snprintf(path, sizeof path, "%s/geo/%s", build && *build ? build : RG_TEST_BUILD, file);
    return path;
}

static int collect(void *opaque, const rg_decision *d, void *ticket)
{
    run *r = opaque;
    for (size_t i = 0; i < d->n_hits; i++) {
        rg_strbuf_printf(&r->hits, "%s@%s ", d->hits[i].rule->id, d->subject);
    }
    rg_strbuf_append(&r->hits, d->json, d->json_len);
    rg_strbuf_putc(&r->hits, '\n');
    return 0;
}

static const rg_sink_ops collect_ops = {.name = "test collector", .decision = collect};

static void run_open(run *r, const char *yaml, const char *mmdb)
{
    memset(r, 0, sizeof *r);
    char *errors = NULL;
    r->rs = rg_ruleset_load_buffer("t.yaml", yaml, strlen(yaml), &errors);
    if (!r->rs)
        fail_msg("refused: %s", errors ? errors : "?");
    char err[512] = "";
    if (mmdb && !(r->geo = rg_geo_open(geo_path(mmdb), err, sizeof err)))
        fail_msg("cannot open %s: %s (did the geo_mmdb fixture run?)", mmdb, err);
    r->e = rg_engine_new(r->rs, r->geo, err, sizeof err);
    if (!r->e)
        fail_msg("engine: %s", err);
    r->p = rg_event_parser_new();
    assert_non_null(r->p);
}

static void run_close(run *r)
{
    rg_engine_free(r->e);
    rg_event_parser_free(r->p);
    rg_ruleset_free(r->rs);
    rg_geo_close(r->geo);
    rg_strbuf_free(&r->hits);
}

/* One event (its JSON without event_id, which is added): returns what
 * fired, "rule@subject " per hit followed by the decision's JSON. */
static const char *feed(run *r, const char *fmt, ...)
{
    char body[512], json[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    snprintf(json, sizeof json, "{\"event_id\":\"h-%ld\",%s}", r->next_id++, body);
    rg_event ev;
    rg_reject rej;
    if (rg_event_parse(r->p, json, strlen(json), &ev, &rej) != 0)
        fail_msg("event refused: %s: %s", rej.error, json);
    rg_strbuf_reset(&r->hits);
    rg_sink sink = {.ops = &collect_ops, .self = r};
    assert_int_equal(rg_engine_process(r->e, &ev, json, strlen(json), &sink), RG_ENGINE_OK);
    return r->hits.data && r->hits.len ? r->hits.data : "";
}

/* Quiet days: transfers among other accounts from `from_ms` to `to_ms`,
 * enough of them (> 4,096) that the engine expires state, and sweeps
 * move quiet accounts to the dormant map, more than once. */
static void pass_time(run *r, int64_t from_ms, int64_t to_ms)
{
    const int n = 3 * 4096;
    for (int i = 0; i < n; i++) {
        int64_t ts = from_ms + (to_ms - from_ms) * i / n;
        const char *fired = feed(r,
                                 "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"filler-%d\","
                                 "\"counterparty\":\"filler-sink-%d\",\"amount\":100",
                                 (long long)ts, i % 64, i % 7);
        assert_string_equal(fired, "");
    }
}

/* Whether the last event's hits include rule@subject. */
static bool fired(const char *hits, const char *rule_at_subject)
{
    char want[128];
    snprintf(want, sizeof want, "%s ", rule_at_subject);
    return strstr(hits, want) != NULL;
}

static const char age_pack[] =
    "version: 1\n"
    "rules:\n"
    "  - id: not_new\n"
    "    on: transfer\n"
    "    when: not (counterparty_age < 72h) and amount >= 500000\n"
    "    then:\n"
    "      - review: counterparty\n"
    "  - id: old_counterparty\n"
    "    on: transfer\n"
    "    when: counterparty_age > 30d and amount >= 500000\n"
    "    then:\n"
    "      - face_verify: counterparty\n"
    /* Windowed state beside the registrations, so accounts have both
     * lives and quiet ones are moved to the dormant map. */
    "  - id: busy\n"
    "    on: transfer\n"
    "    when: count(1h, type == transfer) > 100000 or counterparty_senders(24h) > 100000\n"
    "    then:\n"
    "      - review: account\n";

static void test_registration_outlives_horizon(void **unused)
{
    run r;
    run_open(&r, age_pack, NULL);
    const int64_t start = T0 - 45 * DAY_MS, final = T0;
    feed(&r, "\"type\":\"account_open\",\"ts\":%lld,\"account\":\"cp-45d\"", (long long)start);
    pass_time(&r, start + HOUR_MS, final - 14 * DAY_MS);
    feed(&r, "\"type\":\"account_open\",\"ts\":%lld,\"account\":\"cp-2w\"", (long long)(final - 14 * DAY_MS));
    /* Paid the day it opened: an active record with windowed slices. */
    feed(&r, "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"payer\",\"counterparty\":\"cp-2w\",\"amount\":100",
         (long long)(final - 14 * DAY_MS + HOUR_MS));
    pass_time(&r, final - 14 * DAY_MS + 2 * HOUR_MS, final - HOUR_MS);
    /* Both quiet accounts are dormant now: only their registration. */
    assert_true(rg_account_dormant_records(r.e->accounts) >= 2);
    feed(&r, "\"type\":\"account_open\",\"ts\":%lld,\"account\":\"cp-1h\"", (long long)(final - HOUR_MS));

    const char *hits = feed(&r,
                            "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"x\",\"counterparty\":\"cp-2w\","
                            "\"amount\":500000",
                            (long long)final);
    assert_true(fired(hits, "not_new@cp-2w"));
    assert_false(fired(hits, "old_counterparty@cp-2w"));
    char want[64];
    snprintf(want, sizeof want, "\"counterparty_age_s\":%lld", (long long)(14 * DAY_MS / 1000));
    if (!strstr(hits, want))
        fail_msg("no %s in %s", want, hits);

    hits = feed(&r, "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"x\",\"counterparty\":\"cp-45d\",\"amount\":500000",
                (long long)final + 1);
    assert_true(fired(hits, "not_new@cp-45d"));
    assert_true(fired(hits, "old_counterparty@cp-45d"));
    /* The registration did not move when the account woke up. */
    hits = feed(&r, "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"y\",\"counterparty\":\"cp-45d\",\"amount\":500000",
                (long long)final + 2);
    assert_true(fired(hits, "old_counterparty@cp-45d"));

    /* New, and never opened: no hit either way. */
    hits = feed(&r, "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"x\",\"counterparty\":\"cp-1h\",\"amount\":500000",
                (long long)final + 3);
    assert_string_equal(hits, "");
    hits = feed(&r, "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"x\",\"counterparty\":\"cp-never\",\"amount\":500000",
                (long long)final + 4);
    assert_string_equal(hits, "");
    run_close(&r);
}

static const char login_pack[] =
    "version: 1\n"
    "rules:\n"
    "  - id: nd_remote\n"
    "    on: login\n"
    "    when: new_device and ip_country != prev_login_country\n"
    "    then:\n"
    "      - freeze: account\n"
    "  - id: nd\n"
    "    on: login\n"
    "    when: new_device\n"
    "    then:\n"
    "      - review: account\n"
    "  - id: was_cn\n"
    "    on: login\n"
    "    when: prev_login_country == CN\n"
    "    then:\n"
    "      - review: account\n"
    "  - id: was_fr\n"
    "    on: login\n"
    "    when: prev_login_country == FR\n"
    "    then:\n"
    "      - review: account\n"
    "  - id: busy\n"
    "    when: count(1h, type == transfer) > 100000\n"
    "    then:\n"
    "      - review: account\n";

static const char *login(run *r, int64_t ts, const char *account, const char *device, const char *ip)
{
    char ip_field[64] = "";
    if (ip)
        snprintf(ip_field, sizeof ip_field, ",\"ip\":\"%s\"", ip);
    return feed(r, "\"type\":\"login\",\"ts\":%lld,\"account\":\"%s\",\"device_id\":\"%s\"%s", (long long)ts,
                account, device, ip_field);
}

/* Ten quiet days do not make an account new: its devices and last login
 * country are facts about it (before: forgotten after 7 days, so the
 * next login was a "first login" and new_device_remote_ip never fired). */
static void test_login_history_outlives_horizon(void **unused)
{
    run r;
    run_open(&r, login_pack, "maxmind.mmdb");
    int64_t t = T0;
    assert_string_equal(login(&r, t, "u", "d-a", "1.0.0.1"), "");   /* first login, CN */
    /* Active for a while (a transfer: windowed state), then quiet. */
    feed(&r, "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"u\",\"counterparty\":\"v\",\"amount\":100",
         (long long)(t + MIN_MS));
    pass_time(&r, t + HOUR_MS, t + 10 * DAY_MS);
    assert_true(rg_account_dormant_records(r.e->accounts) >= 1);
    t += 10 * DAY_MS;
    /* The phone it always used is not new, and the last country is CN. */
    const char *hits = login(&r, t, "u", "d-a", "1.0.0.1");
    assert_false(fired(hits, "nd@u"));
    assert_true(fired(hits, "was_cn@u"));
    pass_time(&r, t + HOUR_MS, t + 10 * DAY_MS);
    t += 10 * DAY_MS;
    /* Twenty days on, a new device from France: takeover pattern. */
    hits = login(&r, t, "u", "d-b", "3.0.0.1");
    assert_true(fired(hits, "nd_remote@u"));
    assert_true(fired(hits, "was_cn@u"));
    if (!strstr(hits, "\"prev_login_country\":\"CN\""))
        fail_msg("evidence: %s", hits);
    /* An account never seen before: its first login is not judged. */
    hits = login(&r, t + 1, "w", "d-w", "3.0.0.1");
    assert_string_equal(hits, "");
    run_close(&r);
}

/* prev_login_country, each case of rules.md: a login without ip, with an
 * IP not in the database (8.8.8.8), or with an IP whose record has no
 * country (5.0.0.1) is skipped; a placed one is the new previous country;
 * other event types never count; a duplicate login is no login. */
static void test_prev_login_country_cases(void **unused)
{
    run r;
    run_open(&r, login_pack, "maxmind.mmdb");
    int64_t t = T0;
    const char *hits = login(&r, t, "pc", "d-1", NULL);   /* no ip: first login, nothing known */
    assert_string_equal(hits, "");
    hits = login(&r, t + 1, "pc", "d-1", "1.0.0.1");      /* placed: CN */
    assert_string_equal(hits, "");                          /* no earlier placed login */
    hits = login(&r, t + 2, "pc", "d-1", NULL);
    assert_true(fired(hits, "was_cn@pc"));
    hits = login(&r, t + 3, "pc", "d-1", "8.8.8.8");      /* not in the database */
    assert_true(fired(hits, "was_cn@pc"));
    hits = login(&r, t + 4, "pc", "d-1", "5.0.0.1");      /* in it, no country */
    assert_true(fired(hits, "was_cn@pc"));
    hits = login(&r, t + 5, "pc", "d-1", NULL);
    assert_true(fired(hits, "was_cn@pc"));               /* none of the three counted */
    /* A transfer from the US is no login. */
    feed(&r, "\"type\":\"transfer\",\"ts\":%lld,\"account\":\"pc\",\"counterparty\":\"v\",\"amount\":100,"
             "\"ip\":\"198.51.100.1\"",
         (long long)(t + 6));
    hits = login(&r, t + 7, "pc", "d-1", "3.0.0.1");      /* FR */
    assert_true(fired(hits, "was_cn@pc"));
    hits = login(&r, t + 8, "pc", "d-1", "8.8.8.8");
    assert_true(fired(hits, "was_fr@pc"));
    assert_false(fired(hits, "was_cn@pc"));
    /* An IPv6 login placed in JP, then one from an IPv4-mapped CN
     * address: the previous country follows both. */
    hits = login(&r, t + 9, "pc", "d-1", "2001:db8:1::5");
    assert_true(fired(hits, "was_fr@pc"));
    hits = login(&r, t + 10, "pc", "d-1", "::ffff:1.0.0.1");
    assert_false(fired(hits, "was_fr@pc") || fired(hits, "was_cn@pc"));   /* previous: JP */
    hits = login(&r, t + 11, "pc", "d-1", NULL);
    assert_true(fired(hits, "was_cn@pc"));
    /* Older than the horizon: still known. */
    pass_time(&r, t + HOUR_MS, t + 9 * DAY_MS);
    hits = login(&r, t + 9 * DAY_MS, "pc", "d-1", "8.8.8.8");
    assert_true(fired(hits, "was_cn@pc"));
    assert_false(fired(hits, "nd@pc"));
    run_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_outlives_horizon),
        cmocka_unit_test(test_login_history_outlives_horizon),
        cmocka_unit_test(test_prev_login_country_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
