/*
 * alerts_json.c — alerts and precision as JSON, one writer for both
 * `riskgate alerts --json` and the review API, so scripts see the same
 * keys in the same order everywhere (docs/review.md, "JSON").
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../common/timeutil.h"
#include "alerts.h"

static void put_str_or_null(rg_strbuf *out, const char *s)
{
    if (s)
        rg_strbuf_put_json_str(out, s, strlen(s));
    else
        rg_strbuf_puts(out, "null");
}

static void put_time_or_null(rg_strbuf *out, int64_t ms)
{
    if (ms) {
        rg_strbuf_putc(out, '"');
        rg_strbuf_put_utc_ms(out, ms);
        rg_strbuf_putc(out, '"');
    } else {
        rg_strbuf_puts(out, "null");
    }
}

/* Stored JSON as is when it parses (it came from the engine or the
 * capture), else as a string: the output must stay valid JSON. */
static void put_raw_json(rg_strbuf *out, const char *text)
{
    if (!text) {
        rg_strbuf_puts(out, "null");
        return;
    }
    size_t len = strlen(text);
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    if (v && rg_utf8_valid(text, len))
        rg_strbuf_append(out, text, len);
    else if (rg_utf8_valid(text, len))
        rg_strbuf_put_json_str(out, text, len);
    else
        rg_strbuf_puts(out, "null");
    json_decref(v);
}

/* "freeze face_verify" -> ["freeze","face_verify"] */
static void put_actions(rg_strbuf *out, const char *actions)
{
    rg_strbuf_putc(out, '[');
    const char *p = actions ? actions : "";
    bool first = true;
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n) {
            if (!first)
                rg_strbuf_putc(out, ',');
            rg_strbuf_put_json_str(out, p, n);
            first = false;
        }
        p += n;
        if (*p == ' ')
            p++;
    }
    rg_strbuf_putc(out, ']');
}

void rg_alert_to_json(const rg_alert *a, bool full, rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"id\":");
    put_str_or_null(out, a->decision_id);
    rg_strbuf_puts(out, ",\"event_id\":");
    put_str_or_null(out, a->event_id);
    rg_strbuf_puts(out, ",\"event_type\":");
    put_str_or_null(out, a->event_type);
    rg_strbuf_puts(out, ",\"subject\":");
    put_str_or_null(out, a->subject);
    rg_strbuf_puts(out, ",\"ts\":\"");
    rg_strbuf_put_utc_ms(out, a->ts_ms);
    rg_strbuf_puts(out, "\",\"actions\":");
    put_actions(out, a->actions);
    rg_strbuf_puts(out, ",\"rules\":[");
    for (size_t i = 0; i < a->n_hits; i++) {
        if (i)
            rg_strbuf_putc(out, ',');
        put_str_or_null(out, a->hits[i].rule_id);
    }
    rg_strbuf_puts(out, "],\"ruleset\":");
    put_str_or_null(out, a->ruleset);
    rg_strbuf_puts(out, a->suppressed ? ",\"suppressed\":true" : ",\"suppressed\":false");
    rg_strbuf_puts(out, ",\"status\":");
    put_str_or_null(out, a->status);
    rg_strbuf_puts(out, ",\"label\":");
    put_str_or_null(out, a->label);
    rg_strbuf_puts(out, ",\"note\":");
    put_str_or_null(out, a->note);
    rg_strbuf_puts(out, ",\"labelled_by\":");
    put_str_or_null(out, a->labelled_by);
    rg_strbuf_puts(out, ",\"labelled_at\":");
    put_time_or_null(out, a->labelled_ms);
    rg_strbuf_puts(out, ",\"resolved_by\":");
    put_str_or_null(out, a->resolved_by);
    rg_strbuf_puts(out, ",\"resolved_at\":");
    put_time_or_null(out, a->resolved_ms);
    rg_strbuf_puts(out, ",\"stored_at\":");
    put_time_or_null(out, a->stored_ms);
    rg_strbuf_puts(out, ",\"assignee\":");
    put_str_or_null(out, a->assignee);
    rg_strbuf_puts(out, ",\"assigned_at\":");
    put_time_or_null(out, a->assigned_ms);
    rg_strbuf_puts(out, ",\"party\":");
    put_str_or_null(out, a->party);
    rg_strbuf_puts(out, ",\"object\":");
    put_str_or_null(out, a->object);
    if (full) {
        rg_strbuf_puts(out, ",\"hits\":[");
        for (size_t i = 0; i < a->n_hits; i++) {
            const rg_alert_hit *h = &a->hits[i];
            rg_strbuf_puts(out, i ? ",{\"rule\":" : "{\"rule\":");
            put_str_or_null(out, h->rule_id);
            rg_strbuf_puts(out, ",\"reason\":");
            put_str_or_null(out, h->reason);
            rg_strbuf_puts(out, ",\"evidence\":");
            put_raw_json(out, h->evidence_json);
            rg_strbuf_puts(out, h->suppressed ? ",\"suppressed\":true}" : ",\"suppressed\":false}");
        }
        rg_strbuf_puts(out, "],\"decision\":");
        put_raw_json(out, a->decision_json);
        rg_strbuf_puts(out, ",\"event\":");
        put_raw_json(out, a->event_json);
        rg_strbuf_puts(out, ",\"release\":");
        if (a->release_json) {
            rg_strbuf_puts(out, "{\"state\":");
            rg_strbuf_puts(out, a->release_sent_ms ? "\"sent\"" : "\"queued\"");
            rg_strbuf_puts(out, ",\"sent_at\":");
            put_time_or_null(out, a->release_sent_ms);
            rg_strbuf_puts(out, ",\"decision\":");
            put_raw_json(out, a->release_json);
            rg_strbuf_putc(out, '}');
        } else {
            rg_strbuf_puts(out, "null");
        }
    }
    rg_strbuf_putc(out, '}');
}

void rg_precision_to_json(const rg_rule_precision *p, size_t n, rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"rules\":[");
    for (size_t i = 0; i < n; i++) {
        rg_strbuf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        put_str_or_null(out, p[i].rule_id);
        rg_strbuf_printf(out, ",\"alerts\":%lld,\"labelled\":%lld,\"fraud\":%lld,\"legit\":%lld,\"precision\":",
                         (long long)p[i].alerts, (long long)p[i].labelled, (long long)p[i].fraud,
                         (long long)p[i].legit);
        if (p[i].labelled)
            rg_strbuf_printf(out, "%.4f", (double)p[i].fraud / (double)p[i].labelled);
        else
            rg_strbuf_puts(out, "null");
        rg_strbuf_putc(out, '}');
    }
    rg_strbuf_puts(out, "]}");
}

int rg_alert_store_show_json(rg_alert_store *s, const char *decision_id, size_t recent,
                             rg_strbuf *out, char *errstr, size_t errstr_size)
{
    rg_alert a, *others = NULL;
    size_t n_others = 0;
    int rc = rg_alert_store_get(s, decision_id, &a, errstr, errstr_size);
    if (rc <= 0)
        return rc;
    rg_alert_filter f;
    rg_alert_filter_init(&f);
    f.subject = a.subject;
    f.newest_first = true;
    f.limit = recent + 1; /* one of them may be this alert */
    if (rg_alert_store_list(s, &f, &others, &n_others, errstr, errstr_size) < 0) {
        rg_alert_clear(&a);
        return -1;
    }
    rg_strbuf_puts(out, "{\"alert\":");
    rg_alert_to_json(&a, true, out);
    rg_strbuf_puts(out, ",\"subject_alerts\":[");
    size_t shown = 0;
    for (size_t i = 0; i < n_others && shown < recent; i++) {
        if (strcmp(others[i].decision_id, a.decision_id) == 0)
            continue;
        if (shown++)
            rg_strbuf_putc(out, ',');
        rg_alert_to_json(&others[i], false, out);
    }
    rg_strbuf_puts(out, "]}");
    rg_alerts_free(others, n_others);
    rg_alert_clear(&a);
    if (!rg_strbuf_ok(out)) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    return 1;
}

void rg_alert_history_to_json(const char *decision_id, const rg_alert_change *c, size_t n,
                              rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"id\":");
    put_str_or_null(out, decision_id);
    rg_strbuf_puts(out, ",\"history\":[");
    for (size_t i = 0; i < n; i++) {
        rg_strbuf_puts(out, i ? ",{\"at\":" : "{\"at\":");
        put_time_or_null(out, c[i].at_ms);
        rg_strbuf_puts(out, ",\"who\":");
        put_str_or_null(out, c[i].who);
        rg_strbuf_puts(out, ",\"what\":");
        put_str_or_null(out, c[i].what);
        rg_strbuf_puts(out, ",\"value\":");
        put_str_or_null(out, c[i].value);
        rg_strbuf_puts(out, ",\"note\":");
        put_str_or_null(out, c[i].note);
        rg_strbuf_putc(out, '}');
    }
    rg_strbuf_puts(out, "]}");
}

void rg_release_to_json(const rg_outbox_item *it, rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"id\":");
    put_str_or_null(out, it->decision_id);
    rg_strbuf_puts(out, ",\"alert_id\":");
    put_str_or_null(out, it->alert_id);
    rg_strbuf_puts(out, ",\"subject\":");
    put_str_or_null(out, it->subject);
    rg_strbuf_puts(out, it->sent_ms ? ",\"state\":\"sent\"" : ",\"state\":\"queued\"");
    rg_strbuf_puts(out, ",\"created_at\":");
    put_time_or_null(out, it->created_ms);
    rg_strbuf_puts(out, ",\"sent_at\":");
    put_time_or_null(out, it->sent_ms);
    rg_strbuf_puts(out, ",\"decision\":");
    put_raw_json(out, it->json);
    rg_strbuf_putc(out, '}');
}

/* "YYYY-MM-DD" of a day number. */
static void put_day(rg_strbuf *out, int64_t day)
{
    char ts[40];
    rg_format_utc_ms(day * 86400000, ts, sizeof ts);
    rg_strbuf_putc(out, '"');
    rg_strbuf_append(out, ts, 10);
    rg_strbuf_putc(out, '"');
}

/* Monday of the week of `day` (1970-01-01, day 0, was a Thursday). */
static int64_t week_start(int64_t day)
{
    int64_t dow = ((day + 3) % 7 + 7) % 7; /* 0 = Monday */
    return day - dow;
}

/* One rule's rows d[0..n) (its days in order) as an object. */
static void put_rule_stats(const rg_rule_day *d, size_t n, int64_t from_day, int64_t to_day,
                           rg_strbuf *out)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += d[i].alerts;
    rg_strbuf_puts(out, "{\"id\":");
    put_str_or_null(out, d[0].rule_id);
    rg_strbuf_printf(out, ",\"alerts\":%lld,\"days\":[", (long long)total);
    size_t k = 0;
    for (int64_t day = from_day; day <= to_day; day++) {
        while (k < n && d[k].day < day)
            k++;
        rg_strbuf_printf(out, day == from_day ? "%lld" : ",%lld",
                         (long long)(k < n && d[k].day == day ? d[k].alerts : 0));
    }
    rg_strbuf_puts(out, "],\"weeks\":[");
    k = 0;
    for (int64_t w = week_start(from_day); w <= to_day; w += 7) {
        int64_t alerts = 0, fraud = 0, legit = 0;
        for (; k < n && d[k].day < w + 7; k++) {
            if (d[k].day < w || d[k].day < from_day)
                continue;
            alerts += d[k].alerts;
            fraud += d[k].fraud;
            legit += d[k].legit;
        }
        rg_strbuf_puts(out, w == week_start(from_day) ? "{\"start\":" : ",{\"start\":");
        put_day(out, w);
        rg_strbuf_printf(out, ",\"alerts\":%lld,\"labelled\":%lld,\"fraud\":%lld,\"legit\":%lld,\"precision\":",
                         (long long)alerts, (long long)(fraud + legit), (long long)fraud, (long long)legit);
        if (fraud + legit)
            rg_strbuf_printf(out, "%.4f}", (double)fraud / (double)(fraud + legit));
        else
            rg_strbuf_puts(out, "null}");
    }
    rg_strbuf_puts(out, "]}");
}

void rg_rule_stats_to_json(const rg_rule_day *d, size_t n, int64_t from_day, int64_t to_day,
                           rg_strbuf *out)
{
    rg_strbuf_puts(out, "{\"from\":");
    put_day(out, from_day);
    rg_strbuf_puts(out, ",\"to\":");
    put_day(out, to_day);
    rg_strbuf_puts(out, ",\"rules\":[");
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && strcmp(d[j].rule_id, d[i].rule_id) == 0)
            j++;
        if (i)
            rg_strbuf_putc(out, ',');
        put_rule_stats(d + i, j - i, from_day, to_day, out);
        i = j;
    }
    rg_strbuf_puts(out, "]}");
}
