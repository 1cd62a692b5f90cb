/* held — cooldowns of other subjects where the subject is keyed; see held.h. */
#include "held.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strmap.h"
#include "../decisions/cooldown.h"
#include "../decisions/decision_json.h"
#include "../ingest/reject.h"

#define SUBJECT_ACCOUNT 1u
#define SUBJECT_COUNTERPARTY 2u

#define HIT_SUPPRESSED 1u
#define HIT_COOLDOWN_HERE 2u   /* the subject's task applies this rule's cooldown */

/* Limits on what a record may claim (it came over the network): ids are
 * at most 128 bytes (events.md); a decision id is two of them. */
#define MAX_ID 1024
#define MAX_HITS 4096
#define MAX_TEXT (1u << 20)

/* How often (finished decisions) forgotten cooldowns are swept. */
#define EXPIRE_EVERY 4096

/* ---- the plan ---- */

void rg_held_plan_for(rg_held_plan *p, const rg_ruleset *rs)
{
    memset(p, 0, sizeof *p);
    size_t n = rg_ruleset_rule_count(rs);
    for (size_t i = 0; i < n; i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        if (!r->enabled || !rg_rule_subject_cooldown(r))
            continue;
        unsigned kinds = 0;
        for (size_t t = 0; t < r->n_then; t++)
            kinds |= r->then[t].subject == RG_SUBJ_ACCOUNT        ? SUBJECT_ACCOUNT
                     : r->then[t].subject == RG_SUBJ_COUNTERPARTY ? SUBJECT_COUNTERPARTY
                                                                  : 0;
        for (unsigned t = 0; t < 32; t++)
            if (r->on_mask & (UINT32_C(1) << t))
                p->kinds[t] |= kinds;
        p->any = true;
    }
}

size_t rg_held_subjects(const rg_held_plan *p, const rg_event *ev, const char **subjects, size_t *lens)
{
    if (!p->any)
        return 0;
    unsigned kinds = p->kinds[(unsigned)ev->type & 31u];
    size_t n = 0;
    if ((kinds & SUBJECT_ACCOUNT) && ev->account_len) {
        subjects[n] = ev->account;
        lens[n++] = ev->account_len;
    }
    /* The counterparty subject is the transfer's counterparty field (the
     * builtin name rules.md resolves it through). */
    if ((kinds & SUBJECT_COUNTERPARTY) && ev->type == RG_EV_TRANSFER && ev->counterparty && ev->counterparty_len &&
        !(ev->counterparty_len == ev->account_len && memcmp(ev->counterparty, ev->account, ev->account_len) == 0)) {
        subjects[n] = ev->counterparty;
        lens[n++] = ev->counterparty_len;
    }
    return n;
}

/* ---- encodings ---- */

void rg_held_list_put(rg_strbuf *out, const char *const *subjects, const size_t *lens, size_t n)
{
    rg_put_u8(out, (uint8_t)n);
    for (size_t i = 0; i < n; i++)
        rg_put_str(out, subjects[i], lens[i]);
}

int rg_held_list_get(const void *extra, size_t len, const char **subjects, size_t *lens, size_t *n)
{
    *n = 0;
    if (!len)
        return 0;
    rg_reader in;
    rg_reader_init(&in, extra, len, 0);
    uint8_t count = rg_get_u8(&in, "held count");
    if (count > RG_HELD_MAX_SUBJECTS)
        return -1;
    for (uint8_t i = 0; i < count && rg_reader_ok(&in); i++) {
        subjects[i] = rg_get_str(&in, MAX_ID, &lens[i], "held subject");
        if (rg_reader_ok(&in) && !lens[i])
            rg_reader_fail(&in, "held subject", "empty");
    }
    if (!rg_reader_ok(&in) || rg_reader_left(&in))
        return -1;
    *n = count;
    return 0;
}

void rg_held_hold_put(rg_strbuf *out, unsigned rank, const char *subject, size_t len)
{
    rg_put_u8(out, (uint8_t)rank);
    rg_put_str(out, subject, len);
}

void rg_held_hits_put(rg_strbuf *out, unsigned rank, const char *subject, size_t subject_len, const rg_decision *d)
{
    rg_put_u8(out, (uint8_t)rank);
    rg_put_str(out, subject, subject_len);
    rg_put_str(out, d ? d->decision_id : "", d ? strlen(d->decision_id) : 0);
    rg_put_str(out, d ? d->ruleset : "", d ? strlen(d->ruleset) : 0);
    rg_put_u32(out, d ? (uint32_t)d->n_hits : 0);
    for (size_t i = 0; d && i < d->n_hits; i++) {
        const rg_decision_hit *h = &d->hits[i];
        bool here = h->rule && rg_rule_subject_cooldown(h->rule);
        rg_put_str(out, h->rule_id, strlen(h->rule_id));
        rg_put_u8(out, (uint8_t)h->actions);
        rg_put_u8(out, (uint8_t)((h->suppressed ? HIT_SUPPRESSED : 0) | (here ? HIT_COOLDOWN_HERE : 0)));
        rg_put_i64(out, h->cooldown_ms);
        rg_put_str(out, h->reason, h->reason_len);
        rg_put_str(out, h->evidence, h->evidence_len);
    }
}

/* ---- the queue ---- */

typedef struct held_slot {
    int32_t src;
    int64_t offset;
    uint8_t rank;
} held_slot;

typedef struct kept_hits {
    int64_t input_offset;
    void *bytes;    /* the HITS record */
    size_t len;
} kept_hits;

struct rg_held {
    const rg_ruleset *rs;
    rg_strmap *rules;           /* rule id -> const rg_rule * */
    held_slot *ring;
    size_t cap, head, count;
    rg_strmap *kept;            /* 13-byte key (u32 src, i64 offset, u8 rank) -> kept_hits */
    int64_t *done_seq;          /* per source: last finished (offset * 8 + 4 + rank); -1 none */
    size_t n_sources;
    rg_cooldowns *cooldowns;
    rg_event_parser *parser;
    rg_strbuf json;
    rg_decision_hit *hits;
    size_t cap_hits;
    uint64_t bad_records;
    uint64_t since_expire;
};

static int64_t seq_of(int64_t offset, unsigned rank) { return offset * 8 + 4 + (int64_t)rank; }

static size_t key_of(int32_t src, int64_t offset, unsigned rank, char key[13])
{
    uint32_t s = (uint32_t)src;
    uint64_t o = (uint64_t)offset;
    for (int i = 0; i < 4; i++)
        key[i] = (char)(s >> (8 * i));
    for (int i = 0; i < 8; i++)
        key[4 + i] = (char)(o >> (8 * i));
    key[12] = (char)rank;
    return 13;
}

static void free_kept(void *v) { free(((kept_hits *)v)->bytes); }

static rg_strmap *rules_by_id(const rg_ruleset *rs)
{
    rg_strmap *m = rg_strmap_new(sizeof(const rg_rule *));
    size_t n = rg_ruleset_rule_count(rs);
    for (size_t i = 0; m && i < n; i++) {
        const rg_rule *r = rg_ruleset_rule(rs, i);
        bool created;
        const rg_rule **slot = rg_strmap_put(m, r->id, strlen(r->id), &created);
        if (!slot) {
            rg_strmap_free(m, NULL);
            return NULL;
        }
        *slot = r;
    }
    return m;
}

rg_held *rg_held_new(const rg_ruleset *rs, size_t n_sources)
{
    rg_held *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->rs = rs;
    h->n_sources = n_sources;
    if (!(h->rules = rules_by_id(rs)) || !(h->kept = rg_strmap_new(sizeof(kept_hits))) ||
        !(h->done_seq = malloc((n_sources ? n_sources : 1) * sizeof *h->done_seq)) ||
        !(h->cooldowns = rg_cooldowns_new()) || !(h->parser = rg_event_parser_new())) {
        rg_held_free(h);
        return NULL;
    }
    for (size_t i = 0; i < n_sources; i++)
        h->done_seq[i] = -1;
    return h;
}

void rg_held_free(rg_held *h)
{
    if (!h)
        return;
    rg_strmap_free(h->rules, NULL);
    rg_strmap_free(h->kept, free_kept);
    free(h->ring);
    free(h->done_seq);
    rg_cooldowns_free(h->cooldowns);
    rg_event_parser_free(h->parser);
    rg_strbuf_free(&h->json);
    free(h->hits);
    free(h);
}

rg_held_rules *rg_held_rules_prepare(const rg_ruleset *rs) { return (rg_held_rules *)rules_by_id(rs); }

void rg_held_rules_install(rg_held *h, rg_held_rules *r, const rg_ruleset *rs)
{
    rg_strmap_free(h->rules, NULL);
    h->rules = (rg_strmap *)r;
    h->rs = rs;
}

void rg_held_rules_drop(rg_held_rules *r) { rg_strmap_free((rg_strmap *)r, NULL); }

static int queue_slot(rg_held *h, held_slot s)
{
    if (h->count == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 64;
        held_slot *ring = malloc(cap * sizeof *ring);
        if (!ring)
            return -1;
        for (size_t k = 0; k < h->count; k++)
            ring[k] = h->ring[(h->head + k) % h->cap];
        free(h->ring);
        h->ring = ring;
        h->cap = cap;
        h->head = 0;
    }
    h->ring[(h->head + h->count) % h->cap] = s;
    h->count++;
    return 0;
}

int rg_held_reserve(rg_held *h, const rg_rec *r, bool *oom)
{
    *oom = false;
    rg_reader in;
    rg_reader_init(&in, r->extra, r->extra_len, 0);
    uint8_t rank = rg_get_u8(&in, "rank");
    size_t len;
    (void)rg_get_str(&in, MAX_ID, &len, "subject");
    if (!rg_reader_ok(&in) || rank >= RG_HELD_MAX_SUBJECTS || (size_t)r->src_partition >= h->n_sources) {
        h->bad_records++;
        return -1;
    }
    if (seq_of(r->src_offset, rank) <= h->done_seq[r->src_partition])
        return 0;   /* finished before a restore: sent again */
    if (queue_slot(h, (held_slot){r->src_partition, r->src_offset, rank}) != 0) {
        *oom = true;
        return -1;
    }
    return 0;
}

int rg_held_push(rg_held *h, const rg_rec *r, const void *bytes, size_t len, int64_t input_offset, bool *oom)
{
    *oom = false;
    if (!r->extra_len || (size_t)r->src_partition >= h->n_sources ||
        ((const unsigned char *)r->extra)[0] >= RG_HELD_MAX_SUBJECTS) {
        h->bad_records++;
        return -1;
    }
    unsigned rank = ((const unsigned char *)r->extra)[0];
    if (seq_of(r->src_offset, rank) <= h->done_seq[r->src_partition])
        return 0;   /* its decision is finished: sent again */
    char key[13];
    size_t klen = key_of(r->src_partition, r->src_offset, rank, key);
    bool created;
    kept_hits *k = rg_strmap_put(h->kept, key, klen, &created);
    if (!k)
        goto oom;
    if (!created)
        return 0;   /* the first copy stays */
    k->input_offset = input_offset;
    k->len = len;
    if (!(k->bytes = malloc(len ? len : 1))) {
        rg_strmap_del(h->kept, key, klen, NULL);
        goto oom;
    }
    memcpy(k->bytes, bytes, len);
    return 0;
oom:
    *oom = true;
    return -1;
}

/* The decision of one HITS record, cooldowns applied here; handed to
 * out->decision. 0, 1 when the record is malformed (counted, skipped),
 * -1 when the sink refused it. */
static int finish(rg_held *h, const kept_hits *k, const rg_stage_out *out)
{
    rg_rec r;
    char err[256];
    rg_event ev;
    rg_reject rej;
    if (rg_rec_decode(k->bytes, k->len, &r, err, sizeof err) != 0 ||
        rg_event_parse(h->parser, r.raw, r.raw_len, &ev, &rej) != 0)
        return 1;
    rg_reader in;
    rg_reader_init(&in, r.extra, r.extra_len, 0);
    (void)rg_get_u8(&in, "rank");
    size_t subject_len, id_len, ruleset_len;
    const char *subject = rg_get_str(&in, MAX_ID, &subject_len, "subject");
    const char *id = rg_get_str(&in, 2 * MAX_ID + 8, &id_len, "decision id");
    const char *ruleset = rg_get_str(&in, 64, &ruleset_len, "rule set id");
    uint32_t n = rg_get_count(&in, 4 + 2 + 8 + 4 + 4, "hit count");
    if (!rg_reader_ok(&in) || n > MAX_HITS)
        return 1;
    if (n == 0)
        return 0;   /* nothing hit the subject */
    if (n > h->cap_hits) {
        rg_decision_hit *p = realloc(h->hits, n * sizeof *p);
        if (!p)
            return -1;
        h->hits = p;
        h->cap_hits = n;
    }
    /* Strings must be NUL-terminated for the sinks: one buffer holds
     * the decision id, subject, rule set id and rule ids. */
    rg_strbuf names = RG_STRBUF_INIT;
    size_t at_id = names.len;
    rg_strbuf_append(&names, id, id_len);
    rg_strbuf_putc(&names, '\0');
    size_t at_subject = names.len;
    rg_strbuf_append(&names, subject, subject_len);
    rg_strbuf_putc(&names, '\0');
    size_t at_ruleset = names.len;
    rg_strbuf_append(&names, ruleset, ruleset_len);
    rg_strbuf_putc(&names, '\0');
    size_t *rule_at = malloc(n * sizeof *rule_at);
    unsigned actions = 0;
    int rc = rule_at ? 0 : -1;
    for (uint32_t i = 0; i < n && rc == 0 && rg_reader_ok(&in); i++) {
        size_t rid_len;
        const char *rid = rg_get_str(&in, 64, &rid_len, "rule id");
        uint8_t acts = rg_get_u8(&in, "actions");
        uint8_t flags = rg_get_u8(&in, "flags");
        int64_t cooldown = rg_get_i64(&in, "cooldown");
        rg_decision_hit *hit = &h->hits[i];
        hit->reason = rg_get_str(&in, MAX_TEXT, &hit->reason_len, "reason");
        hit->evidence = rg_get_str(&in, MAX_TEXT, &hit->evidence_len, "evidence");
        if (!rg_reader_ok(&in))
            break;
        rule_at[i] = names.len;
        rg_strbuf_append(&names, rid, rid_len);
        rg_strbuf_putc(&names, '\0');
        if (!rg_strbuf_ok(&names)) {
            rc = -1;
            break;
        }
        hit->actions = acts;
        hit->cooldown_ms = cooldown;
        hit->suppressed = (flags & HIT_SUPPRESSED) != 0;
        /* In the subject's order: what replay's one engine does (judged
         * by what the task holds, not clipped at a watermark). */
        if ((flags & HIT_COOLDOWN_HERE) && cooldown > 0)
            hit->suppressed = rg_cooldowns_suppress(h->cooldowns, names.data + rule_at[i], subject, subject_len,
                                                    r.ts_ms, cooldown, INT64_MIN);
    }
    if (rc == 0 && !rg_reader_ok(&in))
        rc = 1;
    if (rc == 0) {
        for (uint32_t i = 0; i < n; i++) {
            rg_decision_hit *hit = &h->hits[i];
            hit->rule_id = names.data + rule_at[i];
            const rg_rule *const *rule = rg_strmap_get(h->rules, hit->rule_id, strlen(hit->rule_id));
            hit->rule = rule ? *rule : NULL;
            if (!hit->suppressed)
                actions |= hit->actions;
        }
        rg_strbuf_reset(&h->json);
        rg_decision_json_write(&h->json, names.data + at_id, id_len, ev.event_id, ev.event_id_len, ev.type,
                               names.data + at_subject, subject_len, actions, h->hits, n, r.ts_ms,
                               names.data + at_ruleset);
        if (!rg_strbuf_ok(&h->json))
            rc = -1;
    }
    if (rc == 0) {
        rg_decision d = {.decision_id = names.data + at_id, .event_id = ev.event_id,
                         .subject = names.data + at_subject, .event_type = ev.type, .ts_ms = r.ts_ms,
                         .actions = actions, .hits = h->hits, .n_hits = n, .ruleset = names.data + at_ruleset,
                         .json = h->json.data, .json_len = h->json.len, .event = &ev, .event_raw = r.raw,
                         .event_raw_len = r.raw_len, .emit = actions != 0};
        if (out->decision && out->decision(out->opaque, &d) != 0)
            rc = -1;
    }
    free(rule_at);
    rg_strbuf_free(&names);
    return rc;
}

long rg_held_run(rg_held *h, int64_t watermark_ms, const rg_stage_out *out)
{
    long done = 0;
    while (h->count) {
        held_slot *slot = &h->ring[h->head];
        char key[13];
        size_t klen = key_of(slot->src, slot->offset, slot->rank, key);
        kept_hits *k = rg_strmap_get(h->kept, key, klen);
        if (!k)
            break;   /* its decide task has not answered yet */
        int rc = finish(h, k, out);
        if (rc == 1)
            h->bad_records++;   /* decoded when kept: a different build wrote it */
        h->done_seq[slot->src] = seq_of(slot->offset, slot->rank);
        rg_strmap_del(h->kept, key, klen, free_kept);
        h->head = (h->head + 1) % h->cap;
        h->count--;
        done++;
        if (rc < 0)
            return -1;
        if (++h->since_expire >= EXPIRE_EVERY && watermark_ms != INT64_MIN) {
            h->since_expire = 0;
            rg_cooldowns_expire(h->cooldowns, watermark_ms);
        }
    }
    return done;
}

size_t rg_held_waiting(const rg_held *h) { return h->count; }
size_t rg_held_pending(const rg_held *h) { return rg_strmap_count(h->kept); }
uint64_t rg_held_bad_records(const rg_held *h) { return h->bad_records; }

/* ---- snapshot ---- */

int rg_held_save(const rg_held *h, rg_strbuf *out)
{
    rg_put_u32(out, (uint32_t)h->n_sources);
    for (size_t i = 0; i < h->n_sources; i++)
        rg_put_i64(out, h->done_seq[i]);
    rg_put_u32(out, (uint32_t)h->count);
    for (size_t k = 0; k < h->count; k++) {
        const held_slot *s = &h->ring[(h->head + k) % h->cap];
        rg_put_u32(out, (uint32_t)s->src);
        rg_put_i64(out, s->offset);
        rg_put_u8(out, s->rank);
    }
    size_t n = 0;
    rg_strmap_item *items = rg_strmap_sorted(h->kept, &n);
    if (n && !items)
        return -1;
    rg_put_u32(out, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const kept_hits *k = items[i].value;
        rg_put_i64(out, k->input_offset);
        rg_put_str(out, k->bytes, k->len);
    }
    free(items);
    return rg_cooldowns_save(h->cooldowns, out);
}

int rg_held_load(rg_held *h, rg_reader *in)
{
    uint32_t n_sources = rg_get_u32(in, "held sources");
    if (rg_reader_ok(in) && n_sources != h->n_sources)
        rg_reader_fail(in, "held sources", "differs from the events topic's partition count");
    for (size_t i = 0; i < h->n_sources && rg_reader_ok(in); i++) {
        int64_t seq = rg_get_i64(in, "finished sequence");
        h->done_seq[i] = seq < -1 ? -1 : seq;
    }
    uint32_t count = rg_get_count(in, 4 + 8 + 1, "held queue");
    for (uint32_t k = 0; k < count && rg_reader_ok(in); k++) {
        held_slot s;
        s.src = (int32_t)rg_get_u32(in, "held source");
        s.offset = rg_get_i64(in, "held offset");
        s.rank = rg_get_u8(in, "held rank");
        if (rg_reader_ok(in) && ((size_t)s.src >= h->n_sources || s.rank >= RG_HELD_MAX_SUBJECTS ||
                                 s.offset < 0 || s.offset > RG_REC_MAX_OFFSET))
            rg_reader_fail(in, "held slot", "out of range");
        if (rg_reader_ok(in) && queue_slot(h, s) != 0)
            rg_reader_fail(in, "held queue", "out of memory");
    }
    uint32_t kept = rg_get_count(in, 8 + 4, "kept hits");
    for (uint32_t i = 0; i < kept && rg_reader_ok(in); i++) {
        int64_t input_offset = rg_get_i64(in, "input offset");
        size_t len;
        const char *bytes = rg_get_str(in, RG_REC_MAX_BYTES, &len, "hits record");
        if (!rg_reader_ok(in))
            break;
        rg_rec r;
        char err[256];
        bool oom;
        if (rg_rec_decode(bytes, len, &r, err, sizeof err) != 0 || r.kind != RG_REC_HITS) {
            rg_reader_fail(in, "hits record", "not a HITS record");
            break;
        }
        if (rg_held_push(h, &r, bytes, len, input_offset, &oom) != 0)
            rg_reader_fail(in, "hits record", oom ? "out of memory" : "malformed");
    }
    if (!rg_reader_ok(in))
        return -1;
    return rg_cooldowns_load(h->cooldowns, in);
}
