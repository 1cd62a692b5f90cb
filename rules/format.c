/*
 * format — how values look in decisions: evidence (JSON) and reasons
 * (text), rules.md "Evidence" and detection.md's example.
 *
 * Owner: rules. Output must be byte-identical on every machine (replay is
 * compared byte for byte), so nothing here depends on the locale and
 * floating point goes through one fixed format ("%.1f", with -0.0 printed
 * as 0.0); durations and money are integers formatted by hand.
 *
 *   type      evidence (JSON)           message (text)
 *   DURATION  seconds: 165600, 0.3      46h, 1h30m, 1.5s, 300ms
 *   MONEY     minor units: 250000       2500.00 CNY (the event's currency)
 *   INT       12                        12
 *   NUMBER    1067.3                    1067.3
 *   BOOL      true                      true
 *   STRING    "u-77"                    u-77
 *   STRLIST   ["a","b"]                 a, b
 *   unknown   null                      unknown
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "eval.h"
#include "expr_internal.h"
#include "ruleset_internal.h"

/* |v| without overflow for INT64_MIN. */
static uint64_t magnitude(int64_t v) { return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; }

void rg_duration_text(int64_t ms, char *buf, size_t size)
{
    size_t off = 0;
    uint64_t m = magnitude(ms);
#define PUT(...)                                                                   \
    do {                                                                           \
        int w_ = snprintf(buf + off, size - off, __VA_ARGS__);                     \
        if (w_ > 0)                                                                \
            off = (size_t)w_ < size - off ? off + (size_t)w_ : size - 1;           \
    } while (0)
    if (size == 0)
        return;
    buf[0] = '\0';
    if (ms < 0)
        PUT("-");
    if (m == 0) {
        PUT("0s");
        return;
    }
    if (m < 1000) {
        PUT("%" PRIu64 "ms", m);
        return;
    }
    /* Hours are the largest unit: "46h" reads better than "1d22h" next to
     * rules written as `< 72h`. */
    uint64_t h = m / 3600000, min = m / 60000 % 60, s = m / 1000 % 60, frac = m % 1000;
    if (h)
        PUT("%" PRIu64 "h", h);
    if (min)
        PUT("%" PRIu64 "m", min);
    if (s || frac) {
        if (frac) {
            char f[4];
            snprintf(f, sizeof f, "%03u", (unsigned)frac);
            int n = 3;
            while (n > 1 && f[n - 1] == '0')
                n--;
            PUT("%" PRIu64 ".%.*ss", s, n, f);
        } else {
            PUT("%" PRIu64 "s", s);
        }
    }
#undef PUT
}

void rg_setting_text(int64_t ms, char *buf, size_t size)
{
    const int64_t day = 86400000;
    if (ms >= day && ms % day == 0)
        snprintf(buf, size, "%lldd", (long long)(ms / day));
    else
        rg_duration_text(ms, buf, size);
}

/* "%.1f" without "-0.0", so equal evidence prints equally. */
static void put_number(double d, rg_strbuf *out)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.1f", d);
    if (strcmp(buf, "-0.0") == 0)
        rg_strbuf_puts(out, "0.0");
    else
        rg_strbuf_puts(out, buf);
}

/* Milliseconds as seconds: an integer when whole, else the shortest
 * decimal (0.3, 1.25, 0.001). */
static void put_seconds(int64_t ms, rg_strbuf *out)
{
    uint64_t m = magnitude(ms);
    if (ms < 0)
        rg_strbuf_putc(out, '-');
    rg_strbuf_printf(out, "%" PRIu64, m / 1000);
    unsigned frac = (unsigned)(m % 1000);
    if (frac) {
        char f[4];
        snprintf(f, sizeof f, "%03u", frac);
        int n = 3;
        while (f[n - 1] == '0')
            n--;
        rg_strbuf_printf(out, ".%.*s", n, f);
    }
}

void rg_value_write_json(const rg_value *v, rg_strbuf *out)
{
    if (!v->known) {
        rg_strbuf_puts(out, "null");
        return;
    }
    switch (v->type) {
    case RG_T_BOOL:
        rg_strbuf_puts(out, v->u.b ? "true" : "false");
        return;
    case RG_T_INT:
    case RG_T_MONEY:
        rg_strbuf_put_i64(out, v->u.i);
        return;
    case RG_T_DURATION:
        put_seconds(v->u.i, out);
        return;
    case RG_T_NUMBER:
        if (!isfinite(v->u.d))
            rg_strbuf_puts(out, "null");
        else
            put_number(v->u.d, out);
        return;
    case RG_T_STRING:
        rg_strbuf_put_json_str(out, v->u.str.s ? v->u.str.s : "", v->u.str.s ? v->u.str.len : 0);
        return;
    case RG_T_STRLIST:
        rg_strbuf_putc(out, '[');
        for (size_t i = 0; i < v->u.list.n; i++) {
            const char *s = v->u.list.items[i] ? v->u.list.items[i] : "";
            if (i)
                rg_strbuf_putc(out, ',');
            rg_strbuf_put_json_str(out, s, strlen(s));
        }
        rg_strbuf_putc(out, ']');
        return;
    default:
        rg_strbuf_puts(out, "null");
    }
}

void rg_value_write_text(const rg_value *v, const char *currency, rg_strbuf *out)
{
    if (!v->known) {
        rg_strbuf_puts(out, "unknown");
        return;
    }
    switch (v->type) {
    case RG_T_MONEY: {
        uint64_t m = magnitude(v->u.i);
        rg_strbuf_printf(out, "%s%" PRIu64 ".%02u %s", v->u.i < 0 ? "-" : "", m / 100, (unsigned)(m % 100),
                         currency && *currency ? currency : "CNY");
        return;
    }
    case RG_T_DURATION: {
        char buf[64];
        rg_duration_text(v->u.i, buf, sizeof buf);
        rg_strbuf_puts(out, buf);
        return;
    }
    case RG_T_STRING:
        if (v->u.str.s)
            rg_strbuf_append(out, v->u.str.s, v->u.str.len);
        return;
    case RG_T_STRLIST:
        if (v->u.list.n == 0)
            rg_strbuf_puts(out, "none");
        for (size_t i = 0; i < v->u.list.n; i++) {
            if (i)
                rg_strbuf_puts(out, ", ");
            rg_strbuf_puts(out, v->u.list.items[i] ? v->u.list.items[i] : "");
        }
        return;
    case RG_T_NUMBER:
        if (isfinite(v->u.d)) {
            put_number(v->u.d, out);
            return;
        }
        rg_strbuf_puts(out, "unknown");
        return;
    default:
        /* BOOL and INT print as in JSON. */
        rg_value_write_json(v, out);
    }
}

void rg_eval_reason(rg_eval_ctx *ctx, const rg_rule *r, rg_strbuf *out)
{
    const rg_rule_impl *ri = rg_rule_impl_of(r);
    if (!r->message || ri->n_parts == 0) {
        rg_strbuf_puts(out, r->id);
        return;
    }
    const char *currency = ctx->ev && ctx->ev->currency ? ctx->ev->currency : "CNY";
    for (size_t i = 0; i < ri->n_parts; i++) {
        const rg_msg_part *p = &ri->parts[i];
        if (!p->use) {
            rg_strbuf_append(out, p->text, p->len);
            continue;
        }
        rg_value v = rg_eval_use(ctx, p->use);
        rg_value_write_text(&v, currency, out);
    }
}

void rg_eval_evidence_json(rg_eval_ctx *ctx, const rg_rule *r, rg_strbuf *out)
{
    rg_strbuf_putc(out, '{');
    for (size_t i = 0; i < r->n_evidence; i++) {
        const rg_name_use *use = r->evidence[i];
        if (i)
            rg_strbuf_putc(out, ',');
        rg_strbuf_put_json_str(out, use->evidence_key, strlen(use->evidence_key));
        rg_strbuf_putc(out, ':');
        rg_value v = rg_eval_use(ctx, use);
        rg_value_write_json(&v, out);
    }
    rg_strbuf_putc(out, '}');
}
