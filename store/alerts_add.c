/*
 * alerts_add.c — writing alerts into the store (rg_alert_store_add from a
 * decision, rg_alert_store_add_json from a decision's JSON line) in
 * batches: one transaction per batch_rows alerts or batch_ms, with the
 * batch's per-rule, per-day hit counts (rule_days) committed in the same
 * transaction as the alerts they count. Opening the store: alerts.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/clock.h"
#include "../common/timeutil.h"
#include "../decisions/decision_id.h"
#include "../ingest/event.h"
#include "alerts_internal.h"

/* detection.md's action order (= rg_action's). */
static const char *const ACTION_NAMES[RG_ACT_COUNT] = {
    [RG_ACT_FREEZE] = "freeze",
    [RG_ACT_FACE_VERIFY] = "face_verify",
    [RG_ACT_REVIEW] = "review",
    [RG_ACT_RELEASE] = "release",
};

void rg_alerts_clear_rule_days(rg_alert_store *s)
{
    for (size_t i = 0; i < s->n_days; i++)
        free(s->days[i].rule_id);
    s->n_days = 0;
}

/* Count one hit of rule_id on the UTC day of ts_ms in the open batch. */
static int count_rule_day(rg_alert_store *s, const char *rule_id, int64_t ts_ms)
{
    int64_t day = ts_ms / 86400000 - (ts_ms % 86400000 < 0);
    for (size_t i = 0; i < s->n_days; i++) {
        if (s->days[i].day == day && strcmp(s->days[i].rule_id, rule_id) == 0) {
            s->days[i].alerts++;
            return 0;
        }
    }
    if (s->n_days == s->cap_days) {
        size_t ncap = s->cap_days ? s->cap_days * 2 : 16;
        struct rg_rule_day_count *nd = realloc(s->days, ncap * sizeof *nd);
        if (!nd)
            return -1;
        s->days = nd;
        s->cap_days = ncap;
    }
    char *id = strdup(rule_id);
    if (!id)
        return -1;
    s->days[s->n_days++] = (struct rg_rule_day_count){.rule_id = id, .day = day, .alerts = 1};
    return 0;
}

/* The batch's per-rule, per-day hits into rule_days, inside the batch's
 * transaction: they commit (or roll back) with the alerts they count. */
static int flush_rule_days(rg_alert_store *s, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = s->add_rule_day;
    for (size_t i = 0; i < s->n_days; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, s->days[i].rule_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, s->days[i].day);
        sqlite3_bind_int64(st, 3, s->days[i].alerts);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            rg_alerts_sql_error(s, "counting hits per rule and day", errstr, errstr_size);
            return -1;
        }
    }
    rg_alerts_clear_rule_days(s);
    return 0;
}

int rg_alert_store_flush(rg_alert_store *s, char *errstr, size_t errstr_size)
{
    if (!s->in_batch)
        return 0;
    s->in_batch = false;
    s->batch_count = 0;
    if (flush_rule_days(s, errstr, errstr_size) < 0 || rg_alerts_exec(s, "COMMIT", errstr, errstr_size) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        rg_alerts_clear_rule_days(s);
        return -1;
    }
    s->commits++;
    return 0;
}

/* ---- adding ----------------------------------------------------------- */

/* One hit as it will be stored; rule_id is borrowed. */
typedef struct hit_row {
    const char *rule_id;
    bool suppressed;
} hit_row;

/* An alert as it will be stored; strings borrow from the caller. */
typedef struct alert_row {
    const char *decision_id, *event_id, *subject, *event_type, *ruleset;
    int64_t ts_ms;
    char actions[64];
    bool suppressed;
    const char *json;
    size_t json_len;
    const char *event_raw;
    size_t event_raw_len;
    hit_row *hits;
    size_t n_hits;
    const char *party, *object;     /* NULL when none */
    size_t party_len, object_len;
} alert_row;

/* party and object (see the 2 -> 3 migration) from the event's fields. */
static void set_party_object(alert_row *r, const char *account, size_t account_len,
                             const char *counterparty, size_t counterparty_len, const char *packet_id,
                             size_t packet_id_len, const char *ref, size_t ref_len)
{
    bool subject_acts = account && strlen(r->subject) == account_len &&
                        memcmp(r->subject, account, account_len) == 0;
    r->party = subject_acts ? counterparty : account;
    r->party_len = subject_acts ? counterparty_len : account_len;
    r->object = packet_id ? packet_id : ref;
    r->object_len = packet_id ? packet_id_len : ref_len;
}

/* From the parsed event (the engine's path: no JSON parsing). */
static void parties_from_event(alert_row *r, const rg_event *ev)
{
    set_party_object(r, ev->account, ev->account_len, ev->counterparty, ev->counterparty_len,
                     ev->packet_id, ev->packet_id_len, ev->ref, ev->ref_len);
}

/* From the raw event JSON (imports and tests, which have no parsed
 * event). `*parsed` keeps the strings alive; the caller decrefs it. */
static void parties_from_raw(alert_row *r, const char *raw, size_t len, json_t **parsed)
{
    *parsed = raw ? json_loadb(raw, len, 0, NULL) : NULL;
    if (!json_is_object(*parsed))
        return;
    json_t *f[4] = {json_object_get(*parsed, "account"), json_object_get(*parsed, "counterparty"),
                    json_object_get(*parsed, "packet_id"), json_object_get(*parsed, "ref")};
    const char *v[4];
    size_t n[4];
    for (int i = 0; i < 4; i++) {
        v[i] = json_is_string(f[i]) ? json_string_value(f[i]) : NULL;
        n[i] = v[i] ? json_string_length(f[i]) : 0;
    }
    set_party_object(r, v[0], n[0], v[1], n[1], v[2], n[2], v[3], n[3]);
}

static void actions_from_mask(unsigned mask, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (int a = 0; a < RG_ACT_COUNT; a++) {
        if (mask & RG_ACT_BIT(a))
            used += (size_t)snprintf(out + used, size - used, "%s%s", used ? " " : "", ACTION_NAMES[a]);
    }
}

static const char *json_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static int begin_batch(rg_alert_store *s, char *errstr, size_t errstr_size)
{
    if (s->in_batch) {
        if (s->batch_count < s->batch_rows && rg_monotonic_ms() - s->batch_started_ms < s->batch_ms)
            return 0;
        if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
            return -1;
    }
    if (rg_alerts_exec(s, "BEGIN IMMEDIATE", errstr, errstr_size) < 0)
        return -1;
    s->in_batch = true;
    s->batch_count = 0;
    s->batch_started_ms = rg_monotonic_ms();
    return 0;
}

static int bind_text(sqlite3_stmt *st, int i, const char *t, size_t len)
{
    if (!t)
        return sqlite3_bind_null(st, i);
    return sqlite3_bind_text(st, i, t, (int)len, SQLITE_STATIC);
}

/* A failed statement leaves the batch half-written (an alert without all
 * its hits): roll the whole batch back and say how much was lost, rather
 * than commit it later. */
static int abandon_batch(rg_alert_store *s, const char *what, char *errstr, size_t errstr_size)
{
    char msg[400];
    rg_alerts_sql_error(s, what, msg, sizeof msg);
    snprintf(errstr, errstr_size, "%s (the open batch of %zu alerts was rolled back)", msg,
             s->batch_count);
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    rg_alerts_clear_rule_days(s);
    s->in_batch = false;
    s->batch_count = 0;
    return -1;
}

static int insert_row(rg_alert_store *s, const alert_row *r, char *errstr, size_t errstr_size)
{
    if (begin_batch(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = s->insert_alert;
    sqlite3_reset(st);
    bind_text(st, 1, r->decision_id, strlen(r->decision_id));
    bind_text(st, 2, r->event_id, strlen(r->event_id));
    bind_text(st, 3, r->subject, strlen(r->subject));
    bind_text(st, 4, r->event_type, strlen(r->event_type));
    sqlite3_bind_int64(st, 5, r->ts_ms);
    bind_text(st, 6, r->actions, strlen(r->actions));
    bind_text(st, 7, r->ruleset, strlen(r->ruleset));
    sqlite3_bind_int(st, 8, r->suppressed);
    bind_text(st, 9, r->json, r->json_len);
    bind_text(st, 10, r->event_raw, r->event_raw_len);
    sqlite3_bind_int64(st, 11, rg_alert_now_ms());
    /* The hit rule ids, space-separated: 4 rules of 64 bytes fit on the
     * stack; a longer list is built on the heap. */
    char rules_local[272];
    rg_strbuf rules_heap = RG_STRBUF_INIT;
    size_t rules_len = 0;
    for (size_t i = 0; i < r->n_hits; i++)
        rules_len += strlen(r->hits[i].rule_id) + 1;
    const char *rules = rules_local;
    if (rules_len <= sizeof rules_local) {
        size_t at = 0;
        for (size_t i = 0; i < r->n_hits; i++) {
            size_t n = strlen(r->hits[i].rule_id);
            if (i)
                rules_local[at++] = ' ';
            memcpy(rules_local + at, r->hits[i].rule_id, n);
            at += n;
        }
        rules_local[at] = '\0';
    } else {
        for (size_t i = 0; i < r->n_hits; i++) {
            if (i)
                rg_strbuf_putc(&rules_heap, ' ');
            rg_strbuf_puts(&rules_heap, r->hits[i].rule_id);
        }
        rules = rg_strbuf_ok(&rules_heap) ? rules_heap.data : "";
    }
    bind_text(st, 12, rules, strlen(rules));
    bind_text(st, 13, r->party, r->party_len);
    bind_text(st, 14, r->object, r->object_len);
    int rc = sqlite3_step(st);
    rg_strbuf_free(&rules_heap);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return abandon_batch(s, "storing an alert", errstr, errstr_size);
    s->batch_count++;
    if (sqlite3_changes(s->db) == 0)
        return 0; /* re-delivered: the alert exists */

    sqlite3_int64 alert_id = sqlite3_last_insert_rowid(s->db);
    st = s->insert_hit;
    for (size_t i = 0; i < r->n_hits; i++) {
        const hit_row *h = &r->hits[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, alert_id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        bind_text(st, 3, h->rule_id, strlen(h->rule_id));
        sqlite3_bind_int(st, 4, h->suppressed);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return abandon_batch(s, "storing a rule hit", errstr, errstr_size);
        if (count_rule_day(s, h->rule_id, r->ts_ms) < 0) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            rg_alerts_clear_rule_days(s);
            s->in_batch = false;
            snprintf(errstr, errstr_size, "%s: out of memory (the open batch of %zu alerts was rolled back)",
                     s->path, s->batch_count);
            s->batch_count = 0;
            return -1;
        }
    }
    /* A subject seen for the first time joins the search dictionary. */
    st = s->insert_subject;
    sqlite3_reset(st);
    bind_text(st, 1, r->subject, strlen(r->subject));
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return abandon_batch(s, "storing a subject", errstr, errstr_size);
    if (sqlite3_changes(s->db) > 0) {
        st = s->insert_subject_fts;
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, sqlite3_last_insert_rowid(s->db));
        bind_text(st, 2, r->subject, strlen(r->subject));
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return abandon_batch(s, "indexing a subject for search", errstr, errstr_size);
    }
    return 1;
}

/* The engine's decision, without parsing its JSON: the write path of
 * replay and streaming. Hits are at most a rule set's rules; a small array
 * on the stack covers the common case. */
int rg_alert_store_add(rg_alert_store *s, const rg_decision *d, char *errstr, size_t errstr_size)
{
    hit_row local[8];
    const char *type = rg_event_type_name(d->event_type);
    alert_row r = {
        .decision_id = d->decision_id, .event_id = d->event_id, .subject = d->subject,
        .event_type = type ? type : "", .ruleset = d->ruleset ? d->ruleset : "",
        .ts_ms = d->ts_ms, .suppressed = !d->emit, .json = d->json, .json_len = d->json_len,
        .event_raw = d->event_raw, .event_raw_len = d->event_raw_len, .n_hits = d->n_hits,
        .hits = d->n_hits <= 8 ? local : malloc(d->n_hits * sizeof *r.hits),
    };
    if (!r.hits) {
        snprintf(errstr, errstr_size, "decision %s: out of memory", d->decision_id);
        return -1;
    }
    actions_from_mask(d->actions, r.actions, sizeof r.actions);
    for (size_t i = 0; i < d->n_hits; i++) {
        r.hits[i].rule_id = d->hits[i].rule_id ? d->hits[i].rule_id : "";
        r.hits[i].suppressed = d->hits[i].suppressed;
    }
    json_t *parsed = NULL;
    if (d->event)
        parties_from_event(&r, d->event);
    else
        parties_from_raw(&r, d->event_raw, d->event_raw_len, &parsed);
    int rc = insert_row(s, &r, errstr, errstr_size);
    json_decref(parsed);
    if (r.hits != local)
        free(r.hits);
    return rc;
}

static const char *required_str(json_t *root, const char *key, char *errstr, size_t errstr_size)
{
    const char *v = json_str(root, key);
    if (!v || !*v)
        snprintf(errstr, errstr_size, "not a decision: %s: must be a non-empty string", key);
    return v && *v ? v : NULL;
}

int rg_alert_store_add_json(rg_alert_store *s, const char *json, size_t json_len,
                            const char *event_raw, size_t event_raw_len, char *errstr,
                            size_t errstr_size)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, json_len, 0, &jerr);
    if (!json_is_object(root)) {
        if (root)
            snprintf(errstr, errstr_size, "not a decision: not a JSON object");
        else
            snprintf(errstr, errstr_size, "not JSON: column %d: %s", jerr.column, jerr.text);
        json_decref(root);
        return -1;
    }
    int rc = -1;
    alert_row r = {.json = json, .json_len = json_len, .event_raw = event_raw,
                   .event_raw_len = event_raw_len};
    const char *ts;
    if (!(r.decision_id = required_str(root, "decision_id", errstr, errstr_size)) ||
        !(r.event_id = required_str(root, "event_id", errstr, errstr_size)) ||
        !(r.subject = required_str(root, "subject", errstr, errstr_size)) ||
        !(r.event_type = required_str(root, "event_type", errstr, errstr_size)) ||
        !(ts = required_str(root, "ts", errstr, errstr_size)))
        goto done;
    if (!rg_parse_rfc3339(ts, strlen(ts), &r.ts_ms, NULL)) {
        snprintf(errstr, errstr_size, "not a decision: ts: not an RFC 3339 time");
        goto done;
    }
    /* The id must be the one detection.md defines for this (event,
     * subject): an older or foreign writer that did not escape a '/' in
     * either part would otherwise collide with another decision. */
    rg_strbuf want = RG_STRBUF_INIT;
    rg_decision_id_put(&want, r.event_id, strlen(r.event_id), r.subject, strlen(r.subject));
    bool id_ok = rg_strbuf_ok(&want) && strcmp(want.data, r.decision_id) == 0;
    if (!id_ok)
        snprintf(errstr, errstr_size,
                 "not a decision: decision_id '%.200s' is not event_id/subject with '%%' and '/'"
                 " escaped in each part (expected '%.200s')", r.decision_id,
                 rg_strbuf_ok(&want) ? want.data : "?");
    rg_strbuf_free(&want);
    if (!id_ok)
        goto done;
    r.ruleset = json_str(root, "ruleset");
    if (!r.ruleset)
        r.ruleset = "";

    json_t *actions = json_object_get(root, "actions");
    json_t *rules = json_object_get(root, "rules");
    if (!json_is_array(actions) || !json_is_array(rules) || json_array_size(rules) == 0) {
        snprintf(errstr, errstr_size, "not a decision: actions and rules must be arrays, rules non-empty");
        goto done;
    }
    unsigned mask = 0;
    size_t i;
    json_t *v;
    json_array_foreach(actions, i, v) {
        const char *name = json_string_value(v);
        int a = 0;
        while (a < RG_ACT_COUNT && !(name && strcmp(name, ACTION_NAMES[a]) == 0))
            a++;
        if (a == RG_ACT_COUNT) {
            snprintf(errstr, errstr_size, "not a decision: actions[%zu]: unknown action", i);
            goto done;
        }
        mask |= RG_ACT_BIT(a);
    }
    actions_from_mask(mask, r.actions, sizeof r.actions);
    /* A decisions file holds only emitted decisions; the action topic too. */
    r.suppressed = false;

    r.n_hits = json_array_size(rules);
    r.hits = calloc(r.n_hits, sizeof *r.hits);
    if (!r.hits) {
        snprintf(errstr, errstr_size, "out of memory");
        goto done;
    }
    json_array_foreach(rules, i, v) {
        r.hits[i].rule_id = json_str(v, "id");
        if (!r.hits[i].rule_id || !*r.hits[i].rule_id) {
            snprintf(errstr, errstr_size, "not a decision: rules[%zu].id: must be a non-empty string", i);
            goto done;
        }
    }
    json_t *parsed = NULL;
    parties_from_raw(&r, event_raw, event_raw_len, &parsed);
    rc = insert_row(s, &r, errstr, errstr_size);
    json_decref(parsed);
done:
    free(r.hits);
    json_decref(root);
    return rc;
}

void rg_alert_release_id(const char *alert_id, rg_strbuf *out)
{
    rg_strbuf_puts(out, alert_id);
    rg_strbuf_puts(out, "/release");
}
