#include "cooldown.h"

#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "../common/saturate.h"
#include "../common/strbuf.h"
#include "../common/strmap.h"

struct cooldown_entry {
    int64_t last_emitted_ms;
    int64_t cooldown_ms;
};

struct rg_cooldowns {
    rg_strmap *by_key;   /* "rule_id\0subject" -> cooldown_entry */
    rg_strbuf key;       /* scratch */
};

rg_cooldowns *rg_cooldowns_new(void)
{
    rg_cooldowns *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->by_key = rg_strmap_new(sizeof(struct cooldown_entry));
    if (!c->by_key) {
        free(c);
        return NULL;
    }
    return c;
}

void rg_cooldowns_free(rg_cooldowns *c)
{
    if (!c)
        return;
    rg_strmap_free(c->by_key, NULL);
    rg_strbuf_free(&c->key);
    free(c);
}

bool rg_cooldowns_suppress(rg_cooldowns *c, const char *rule_id, const char *subject, size_t subject_len,
                           int64_t ts_ms, int64_t cooldown_ms, int64_t watermark_ms)
{
    rg_strbuf_reset(&c->key);
    rg_strbuf_append(&c->key, rule_id, strlen(rule_id) + 1); /* keep the NUL as separator */
    rg_strbuf_append(&c->key, subject, subject_len);
    if (!rg_strbuf_ok(&c->key))
        return false;
    bool created = false;
    struct cooldown_entry *e = rg_strmap_put(c->by_key, c->key.data, c->key.len, &created);
    if (!e)
        return false;
    /* Saturating: a cooldown longer than any time span (a rule file may
     * say 100000d) must suppress forever, not wrap and stop working. */
    /* An entry rg_cooldowns_expire would have dropped by now is gone,
     * swept or not: a late event's answer does not depend on when the
     * last sweep ran (one engine and replay --workers' tasks sweep at
     * different moments). */
    if (!created && rg_sat_add(e->last_emitted_ms, e->cooldown_ms) < watermark_ms)
        created = true;
    if (!created && rg_sat_absdiff(ts_ms, e->last_emitted_ms) < e->cooldown_ms)
        return true;
    e->last_emitted_ms = ts_ms;
    e->cooldown_ms = cooldown_ms;
    return false;
}

static bool still_cooling(void *value, void *arg)
{
    const struct cooldown_entry *e = value;
    int64_t watermark = *(const int64_t *)arg;
    return rg_sat_add(e->last_emitted_ms, e->cooldown_ms) >= watermark;
}

void rg_cooldowns_expire(rg_cooldowns *c, int64_t watermark_ms)
{
    rg_strmap_sweep(c->by_key, still_cooling, &watermark_ms, NULL);
}

size_t rg_cooldowns_bytes(const rg_cooldowns *c) { return rg_strmap_bytes(c->by_key) + c->key.cap; }

/* Format: entries in key order: key ("rule_id\0subject"), last emitted
 * hit, cooldown. Keyed by rule id, so a blob saved under another rule
 * file keeps the cooldowns of the rules both files have, as a reload
 * does; the others expire on their own. */
int rg_cooldowns_save(const rg_cooldowns *c, rg_strbuf *out)
{
    size_t n;
    rg_strmap_item *items = rg_strmap_sorted(c->by_key, &n);
    if (!items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const struct cooldown_entry *e = items[i].value;
        rg_put_str(out, items[i].key, items[i].keylen);
        rg_put_i64(out, e->last_emitted_ms);
        rg_put_i64(out, e->cooldown_ms);
    }
    free(items);
    return rg_strbuf_ok(out) ? 0 : -1;
}

int rg_cooldowns_load(rg_cooldowns *c, rg_reader *in)
{
    uint32_t n = rg_get_count(in, 4 + 16, "cooldown count");
    for (uint32_t i = 0; i < n && rg_reader_ok(in); i++) {
        size_t len;
        const char *key = rg_get_str(in, 4096, &len, "cooldown key");
        int64_t last_ms = rg_get_ts(in, "last emitted");
        /* A duration, not a time: any length a rule file may give (the
         * arithmetic on it saturates), never negative. */
        int64_t cooldown_ms = rg_get_i64(in, "cooldown");
        if (!rg_reader_ok(in))
            break;
        if (cooldown_ms < 0) {
            rg_reader_fail(in, "cooldown", "negative");
            break;
        }
        if (!key || !memchr(key, '\0', len)) {
            rg_reader_fail(in, "cooldown key", "not rule_id NUL subject");
            break;
        }
        bool created;
        struct cooldown_entry *e = rg_strmap_put(c->by_key, key, len, &created);
        if (!e || !created) {
            rg_reader_fail(in, "cooldown key", e ? "saved twice" : "out of memory");
            break;
        }
        e->last_emitted_ms = last_ms;
        e->cooldown_ms = cooldown_ms;
    }
    return rg_reader_ok(in) ? 0 : -1;
}
