/*
 * engine_state — the engine checkpoint: rg_engine_save / rg_engine_load
 * (contract in engine.h; format and choices in docs/state.md).
 *
 * Layout (all integers little-endian, strings u32 length + bytes):
 *   "RGSTATE\0"  magic
 *   u32          format version (1)
 *   str          rule set id the state was saved under
 *   u32          number of sections
 *   sections, each: str name, u32 section version, u64 length, bytes
 *     "engine"     counters, watermark, events since the last expire,
 *                  hits per rule id
 *     "dedupe"     event ids within the horizon (ingest/dedupe.c)
 *     "cooldowns"  (rule id, subject) -> last emitted hit (cooldown.c)
 *     <family>     one per detector family that has state and a save
 *                  hook, in registry order (each family file owns its bytes)
 *
 * Loading builds every part afresh beside the engine and only swaps it
 * in when the whole blob has been read: a bad byte anywhere leaves the
 * engine exactly as rg_engine_new made it. Every length and count is
 * checked against the bytes left before anything is allocated for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/binio.h"
#include "engine_internal.h"

#define STATE_MAGIC "RGSTATE"   /* 8 bytes with its NUL */
#define STATE_FORMAT_VERSION 1
#define ENGINE_SECTION_VERSION 1
#define DEDUPE_SECTION_VERSION 1
#define COOLDOWNS_SECTION_VERSION 1
#define NAME_MAX_LEN 64

/* ---- save ---------------------------------------------------------------- */

static void save_engine_section(const rg_engine *e, rg_strbuf *out)
{
    const rg_engine_stats *st = &e->stats;
    rg_put_u64(out, st->events);
    rg_put_u64(out, st->duplicates);
    rg_put_u64(out, st->evaluated);
    rg_put_u64(out, st->decisions);
    rg_put_u64(out, st->suppressed);
    rg_put_u32(out, RG_ACT_COUNT);
    for (int a = 0; a < RG_ACT_COUNT; a++)
        rg_put_u64(out, st->actions[a]);
    rg_put_i64(out, st->watermark_ms);
    rg_put_u64(out, e->since_expire);
    size_t n_rules = rg_ruleset_rule_count(e->rs);
    rg_put_u32(out, (uint32_t)n_rules);
    for (size_t i = 0; i < n_rules; i++) {
        const char *id = rg_ruleset_rule(e->rs, i)->id;
        rg_put_str(out, id, strlen(id));
        rg_put_u64(out, e->rule_hits[i]);
    }
}

/* One section: name, version, then a u64 length patched in after the
 * body is written. */
static int save_section(rg_strbuf *out, const char *name, uint32_t version,
                        int (*body)(const void *arg, rg_strbuf *out), const void *arg)
{
    rg_put_str(out, name, strlen(name));
    rg_put_u32(out, version);
    size_t at = out->len;
    rg_put_u64(out, 0);
    if (!rg_strbuf_ok(out) || body(arg, out) != 0 || !rg_strbuf_ok(out))
        return -1;
    uint64_t len = out->len - at - 8;
    for (int i = 0; i < 8; i++)
        out->data[at + i] = (char)(unsigned char)(len >> (8 * i));
    return 0;
}

static int engine_body(const void *arg, rg_strbuf *out)
{
    save_engine_section(arg, out);
    return 0;
}

static int dedupe_body(const void *arg, rg_strbuf *out) { return rg_dedupe_save(arg, out); }
static int cooldowns_body(const void *arg, rg_strbuf *out) { return rg_cooldowns_save(arg, out); }

typedef struct detector_arg {
    const rg_detector *det;
    const void *state;
} detector_arg;

static int detector_body(const void *arg, rg_strbuf *out)
{
    const detector_arg *d = arg;
    return d->det->save(d->state, out);
}

static bool saves_state(const rg_engine *e, size_t i)
{
    return e->detector_state[i] && rg_detectors[i]->save && rg_detectors[i]->load;
}

int rg_engine_save(const rg_engine *e, rg_strbuf *out, char *errstr, size_t errstr_size)
{
    size_t start = out->len;
    rg_strbuf_append(out, STATE_MAGIC, sizeof STATE_MAGIC);
    rg_put_u32(out, STATE_FORMAT_VERSION);
    const char *id = rg_ruleset_id(e->rs);
    rg_put_str(out, id, strlen(id));
    uint32_t n_sections = 3;
    for (size_t i = 0; i < e->n_detectors; i++)
        n_sections += saves_state(e, i);
    rg_put_u32(out, n_sections);
    int rc = save_section(out, "engine", ENGINE_SECTION_VERSION, engine_body, e);
    if (rc == 0)
        rc = save_section(out, "dedupe", DEDUPE_SECTION_VERSION, dedupe_body, e->dedupe);
    if (rc == 0)
        rc = save_section(out, "cooldowns", COOLDOWNS_SECTION_VERSION, cooldowns_body, e->cooldowns);
    for (size_t i = 0; rc == 0 && i < e->n_detectors; i++) {
        if (!saves_state(e, i))
            continue;
        detector_arg arg = {rg_detectors[i], e->detector_state[i]};
        rc = save_section(out, rg_detectors[i]->family, rg_detectors[i]->state_version, detector_body, &arg);
    }
    if (rc != 0 || !rg_strbuf_ok(out)) {
        snprintf(errstr, errstr_size, "out of memory saving the engine state");
        if (out->data && out->len >= start) {
            out->len = start;   /* leave nothing half-written behind */
            out->data[start] = '\0';
        }
        return -1;
    }
    return 0;
}

/* ---- load ---------------------------------------------------------------- */

/* Everything a load builds before it is swapped into the engine. */
typedef struct staged {
    size_t n;
    void **states;              /* [n] fresh detector states */
    bool *loaded;               /* [n] a section was read into it */
    rg_dedupe *dedupe;
    rg_cooldowns *cooldowns;
    rg_account_store *accounts;
    uint64_t *rule_hits;
    rg_engine_stats stats;
    uint64_t since_expire;
    bool seen_engine, seen_dedupe, seen_cooldowns;
} staged;

static void staged_free(staged *st)
{
    if (st->states)
        rg_engine_destroy_detectors(st->states, st->n);
    rg_account_store_free(st->accounts);
    free(st->states);
    free(st->loaded);
    rg_dedupe_free(st->dedupe);
    rg_cooldowns_free(st->cooldowns);
    free(st->rule_hits);
}

static int staged_init(staged *st, const rg_engine *e, char *errstr, size_t errstr_size)
{
    memset(st, 0, sizeof *st);
    st->n = e->n_detectors;
    st->states = calloc(st->n ? st->n : 1, sizeof *st->states);
    st->loaded = calloc(st->n ? st->n : 1, sizeof *st->loaded);
    st->dedupe = rg_engine_dedupe_new(e->rs);
    st->cooldowns = rg_cooldowns_new();
    st->rule_hits = calloc(rg_ruleset_rule_count(e->rs) + 1, sizeof *st->rule_hits);
    st->accounts = rg_account_store_new();
    if (!st->states || !st->loaded || !st->dedupe || !st->cooldowns || !st->rule_hits || !st->accounts) {
        snprintf(errstr, errstr_size, "out of memory loading the engine state");
        return -1;
    }
    if (rg_engine_create_detectors(e->rs, e->geo, st->accounts, st->states, st->n, &e->role, errstr,
                                   errstr_size) != 0)
        return -1;
    st->stats.watermark_ms = INT64_MIN;
    return 0;
}

static int load_engine_section(staged *st, const rg_engine *e, rg_reader *in)
{
    rg_engine_stats *s = &st->stats;
    s->events = rg_get_u64(in, "events");
    s->duplicates = rg_get_u64(in, "duplicates");
    s->evaluated = rg_get_u64(in, "evaluated");
    s->decisions = rg_get_u64(in, "decisions");
    s->suppressed = rg_get_u64(in, "suppressed");
    uint32_t n_actions = rg_get_count(in, 8, "action count");
    for (uint32_t a = 0; a < n_actions && rg_reader_ok(in); a++) {
        uint64_t v = rg_get_u64(in, "action");
        if (a < RG_ACT_COUNT)
            s->actions[a] = v;   /* actions this build does not know are dropped */
    }
    s->watermark_ms = rg_get_mark(in, "watermark");
    st->since_expire = rg_get_u64(in, "events since expire");
    uint32_t n_rules = rg_get_count(in, 4 + 8, "rule count");
    size_t n_now = rg_ruleset_rule_count(e->rs);
    for (uint32_t k = 0; k < n_rules && rg_reader_ok(in); k++) {
        size_t len;
        const char *id = rg_get_str(in, NAME_MAX_LEN, &len, "rule id");
        uint64_t hits = rg_get_u64(in, "rule hits");
        /* By id: a rule the current file also has keeps its count. */
        for (size_t i = 0; id && i < n_now; i++) {
            const char *now = rg_ruleset_rule(e->rs, i)->id;
            if (strlen(now) == len && memcmp(now, id, len) == 0)
                st->rule_hits[i] = hits;
        }
    }
    if (rg_reader_ok(in) && st->since_expire >= EXPIRE_EVERY)
        rg_reader_fail(in, "events since expire", "over the expiry period");
    return rg_reader_ok(in) ? 0 : -1;
}

/* Read one section into st; -1 with errstr naming the section. */
static int load_section(staged *st, const rg_engine *e, rg_reader *in, char *errstr, size_t errstr_size)
{
    size_t section_at = rg_reader_offset(in);
    size_t name_len;
    const char *name = rg_get_str(in, NAME_MAX_LEN, &name_len, "section name");
    uint32_t version = rg_get_u32(in, "section version");
    uint64_t len = rg_get_u64(in, "section length");
    char label[NAME_MAX_LEN + 1] = "";
    if (name)
        memcpy(label, name, name_len);
    if (rg_reader_ok(in) && len > rg_reader_left(in))
        rg_reader_fail(in, "section length", "beyond the end of the blob");
    rg_reader body;
    if (!rg_reader_ok(in) || !rg_get_sub(in, (size_t)len, &body, "section")) {
        if (label[0])
            snprintf(errstr, errstr_size, "engine state: section \"%s\" at offset %zu: %s", label, section_at,
                     in->error);
        else
            snprintf(errstr, errstr_size, "engine state: section at offset %zu: %s", section_at, in->error);
        return -1;
    }
    int rc = 0;
    bool *seen = NULL;
    if (strcmp(label, "engine") == 0 && name_len == 6) {
        seen = &st->seen_engine;
        rc = version == ENGINE_SECTION_VERSION ? load_engine_section(st, e, &body) : -2;
    } else if (strcmp(label, "dedupe") == 0 && name_len == 6) {
        seen = &st->seen_dedupe;
        rc = version == DEDUPE_SECTION_VERSION ? rg_dedupe_load(st->dedupe, &body) : -2;
    } else if (strcmp(label, "cooldowns") == 0 && name_len == 9) {
        seen = &st->seen_cooldowns;
        rc = version == COOLDOWNS_SECTION_VERSION ? rg_cooldowns_load(st->cooldowns, &body) : -2;
    } else {
        size_t i = 0;
        while (i < st->n && !(strlen(rg_detectors[i]->family) == name_len &&
                              memcmp(rg_detectors[i]->family, label, name_len) == 0))
            i++;
        if (i == st->n) {
            snprintf(errstr, errstr_size, "engine state: section at offset %zu: unknown section \"%s\"",
                     section_at, label);
            return -1;
        }
        seen = &st->loaded[i];
        /* A family the current file does not use keeps nothing: its
         * section is skipped, as a reload frees what only the old file
         * used. */
        if (*seen)
            rc = -3;
        else if (st->states[i] && rg_detectors[i]->load)
            rc = rg_detectors[i]->load(st->states[i], version, &body);
        else
            body.pos = body.len;
    }
    if (rc == 0 && *seen)
        rc = -3;
    if (rc == 0 && rg_reader_left(&body))
        rg_reader_fail(&body, label, "bytes after the end of the section");
    if (rc == -2 || rc == -3) {
        snprintf(errstr, errstr_size, "engine state: section \"%s\" at offset %zu: %s", label, section_at,
                 rc == -2 ? "unknown section version" : "appears twice");
        return -1;
    }
    if (rc != 0 || !rg_reader_ok(&body)) {
        snprintf(errstr, errstr_size, "engine state: section \"%s\" at offset %zu: %s", label, section_at,
                 rg_reader_ok(&body) ? "refused" : body.error);
        return -1;
    }
    *seen = true;
    return 0;
}

/* Put the staged parts in the engine; the engine's fresh parts go to st
 * (freed by the caller). */
static void commit(rg_engine *e, staged *st)
{
    for (size_t i = 0; i < e->n_detectors; i++) {
        void *old = e->detector_state[i];
        e->detector_state[i] = st->states[i];   /* the array the eval context reads */
        st->states[i] = old;
    }
    rg_engine_plan_bind(&e->plan, e->detector_state);   /* the hooks held the fresh states */
    rg_dedupe *dedupe = e->dedupe;
    e->dedupe = st->dedupe;
    st->dedupe = dedupe;
    rg_cooldowns *cooldowns = e->cooldowns;
    e->cooldowns = st->cooldowns;
    st->cooldowns = cooldowns;
    rg_account_store *accounts = e->accounts;
    e->accounts = st->accounts;
    st->accounts = accounts;
    /* Stage 2 of the prefetch reads the records stage 1 found, kept in
     * the ring: none may outlive the store just replaced (freed by the
     * caller). A load comes before the first event, when the old store
     * is empty and stage 1 found nothing, but the ring should not rely
     * on it. */
    memset(e->ahead, 0, sizeof e->ahead);
    size_t n_rules = rg_ruleset_rule_count(e->rs);
    memcpy(e->rule_hits, st->rule_hits, n_rules * sizeof *e->rule_hits);
    e->stats = st->stats;
    e->stats.rule_hits = NULL;
    e->since_expire = st->since_expire;
}

int rg_engine_load(rg_engine *e, const void *bytes, size_t len, char *errstr, size_t errstr_size)
{
    if (e->stats.events) {
        snprintf(errstr, errstr_size, "engine state: the engine has processed events already");
        return -1;
    }
    rg_reader in;
    rg_reader_init(&in, bytes, len, 0);
    char magic[sizeof STATE_MAGIC];
    for (size_t i = 0; i < sizeof magic; i++)
        magic[i] = (char)rg_get_u8(&in, "magic");
    if (!rg_reader_ok(&in) || memcmp(magic, STATE_MAGIC, sizeof magic) != 0) {
        snprintf(errstr, errstr_size, "engine state: offset 0: not a riskgate state blob (bad magic)");
        return -1;
    }
    uint32_t version = rg_get_u32(&in, "format version");
    if (rg_reader_ok(&in) && version != STATE_FORMAT_VERSION) {
        snprintf(errstr, errstr_size, "engine state: offset 8: format version %u, this build reads %u", version,
                 STATE_FORMAT_VERSION);
        return -1;
    }
    size_t id_len;
    (void)rg_get_str(&in, NAME_MAX_LEN, &id_len, "rule set id");
    uint32_t n_sections = rg_get_count(&in, 4 + 4 + 8, "section count");
    if (!rg_reader_ok(&in)) {
        snprintf(errstr, errstr_size, "engine state: header: %s", in.error);
        return -1;
    }
    staged st;
    int rc = staged_init(&st, e, errstr, errstr_size);
    for (uint32_t k = 0; rc == 0 && k < n_sections; k++)
        rc = load_section(&st, e, &in, errstr, errstr_size);
    if (rc == 0 && rg_reader_left(&in)) {
        snprintf(errstr, errstr_size, "engine state: offset %zu: %zu bytes after the last section",
                 rg_reader_offset(&in), rg_reader_left(&in));
        rc = -1;
    }
    if (rc == 0 && !(st.seen_engine && st.seen_dedupe && st.seen_cooldowns)) {
        snprintf(errstr, errstr_size, "engine state: the %s section is missing",
                 !st.seen_engine ? "engine" : !st.seen_dedupe ? "dedupe" : "cooldowns");
        rc = -1;
    }
    if (rc == 0)
        commit(e, &st);
    staged_free(&st);
    return rc;
}
