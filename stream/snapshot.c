/* snapshot — task state to <group>.state and back; see snapshot.h. */
#include "snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../common/binio.h"
#include "../common/strmap.h"
#include "alerts.h"
#include "log.h"

#define HEADER_MAGIC "RGSNAP"   /* 6 bytes, then a version byte */
#define HEADER_VERSION 1
#define ACK_WAIT_MS 30000
/* How long asking a state partition's watermarks may take; past it the
 * partition is read to its end anyway. */
#define RESTORE_WATERMARK_MS 5000
#define RESTORE_WAIT_MS 30000

/* ---- the stage's state ---- */

static int save_stage(rg_task *t, rg_strbuf *out, char *err, size_t n)
{
    switch (t->kind) {
    case RG_TASK_INGEST: return rg_ingest_save(t->st.ingest, out, err, n);
    case RG_TASK_ENTITY: return rg_entity_save(t->st.entity, out, err, n);
    case RG_TASK_DECIDE: return rg_decide_save(t->st.decide, out, err, n);
    }
    return -1;
}

static int load_stage(rg_task *t, const void *bytes, size_t len, char *err, size_t n)
{
    switch (t->kind) {
    case RG_TASK_INGEST: return rg_ingest_load(t->st.ingest, bytes, len, err, n);
    case RG_TASK_ENTITY: return rg_entity_load(t->st.entity, bytes, len, err, n);
    case RG_TASK_DECIDE: return rg_decide_load(t->st.decide, bytes, len, err, n);
    }
    return -1;
}

/* The input position the state reflects (snapshot.h). */
static int64_t resume_position(const rg_task *t)
{
    int64_t needed = INT64_MAX;
    if (t->kind == RG_TASK_ENTITY)
        needed = rg_entity_needed_offset(t->st.entity);
    else if (t->kind == RG_TASK_DECIDE)
        needed = rg_decide_needed_offset(t->st.decide);
    int64_t next = rg_task_input_at(t);
    if (needed < INT64_MAX && (next < 0 || needed < next))
        return needed;
    return next;
}

/* ---- the header ---- */

typedef struct header {
    char kind;
    int32_t partition;
    uint64_t gen;
    uint32_t chunks;
    uint64_t len;
    uint32_t crc;
    int64_t resume;
    int64_t saved_at_ms;
} header;

static void header_put(rg_strbuf *out, const header *h, const char *ruleset)
{
    rg_strbuf_append(out, HEADER_MAGIC, 6);
    rg_put_u8(out, HEADER_VERSION);
    rg_put_u8(out, (uint8_t)h->kind);
    rg_put_u32(out, (uint32_t)h->partition);
    rg_put_u64(out, h->gen);
    rg_put_u32(out, h->chunks);
    rg_put_u64(out, h->len);
    rg_put_u32(out, h->crc);
    rg_put_i64(out, h->resume);
    rg_put_i64(out, h->saved_at_ms);
    rg_put_str(out, ruleset, strlen(ruleset));
}

static int header_get(const void *bytes, size_t len, header *h)
{
    if (len < 7 || memcmp(bytes, HEADER_MAGIC, 6) != 0)
        return -1;
    rg_reader in;
    rg_reader_init(&in, bytes, len, 0);
    in.pos = 6;
    if (rg_get_u8(&in, "version") != HEADER_VERSION)
        return -1;
    h->kind = (char)rg_get_u8(&in, "kind");
    h->partition = (int32_t)rg_get_u32(&in, "partition");
    h->gen = rg_get_u64(&in, "generation");
    h->chunks = rg_get_u32(&in, "chunks");
    h->len = rg_get_u64(&in, "length");
    h->crc = rg_get_u32(&in, "crc");
    h->resume = rg_get_i64(&in, "resume");
    h->saved_at_ms = rg_get_i64(&in, "saved at");
    return rg_reader_ok(&in) && h->chunks <= (1u << 20) ? 0 : -1;
}

static char task_char(rg_task_kind k) { return k == RG_TASK_INGEST ? 'i' : k == RG_TASK_ENTITY ? 'e' : 'd'; }

/* ---- the local cache (--state DIR) ---- */

/* DIR/GROUP.TASK-PARTITION.snap: the group in the name, so a directory
 * shared by two groups never hands one's state to the other (characters
 * outside [A-Za-z0-9._-] become '_'). */
static void cache_path(const rg_stream *s, const rg_task *t, char *buf, size_t n)
{
    char group[256];
    size_t k = 0;
    for (const char *g = s->cfg.group; *g && k < sizeof group - 1; g++, k++) {
        char c = *g;
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                     c == '_' || c == '-';
        group[k] = plain ? c : '_';
    }
    group[k] = '\0';
    snprintf(buf, n, "%s/%s.%s-%d.snap", s->cfg.state_dir, group, rg_task_kind_name(t->kind), (int)t->partition);
}

/* DIR/TASK.snap: a header (as in Kafka) then the blob. */
static void cache_write(rg_stream *s, rg_task *t, const header *h)
{
    if (!s->cfg.state_dir)
        return;
    char path[512], tmp[520];
    cache_path(s, t, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    rg_strbuf hb = RG_STRBUF_INIT;
    header_put(&hb, h, rg_ruleset_id(s->rs));
    FILE *f = fopen(tmp, "wb");
    uint32_t hlen = (uint32_t)hb.len;
    bool ok = f && rg_strbuf_ok(&hb) && fwrite(&hlen, 4, 1, f) == 1 && fwrite(hb.data, 1, hb.len, f) == hb.len &&
              fwrite(t->snap_blob.data, 1, t->snap_blob.len, f) == t->snap_blob.len;
    if (f && fclose(f) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok) {
        unlink(tmp);
        if (rg_run_log_due(&s->last_snapshot_log_ms))
            rg_log(RG_LOG_WARN, "cannot write the snapshot cache (the snapshot in Kafka stands)", "path", path,
                   "error", strerror(errno), NULL);
    }
    rg_strbuf_free(&hb);
}

/* A cached snapshot newer than gen, loaded into blob. */
static bool cache_read(rg_stream *s, rg_task *t, uint64_t than_gen, header *h, rg_strbuf *blob)
{
    if (!s->cfg.state_dir)
        return false;
    char path[512];
    cache_path(s, t, path, sizeof path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    bool ok = false;
    uint32_t hlen;
    char hbuf[1024];
    if (fread(&hlen, 4, 1, f) == 1 && hlen < sizeof hbuf && fread(hbuf, 1, hlen, f) == hlen &&
        header_get(hbuf, hlen, h) == 0 && h->gen > than_gen && h->kind == task_char(t->kind) &&
        h->partition == t->partition && h->len < (1ull << 34)) {
        rg_strbuf_reset(blob);
        char buf[65536];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            rg_strbuf_append(blob, buf, n);
        ok = rg_strbuf_ok(blob) && blob->len == h->len &&
             (uint32_t)crc32(0, (const Bytef *)blob->data, (uInt)blob->len) == h->crc;
    }
    fclose(f);
    return ok;
}

/* ---- writing ---- */

static bool epochs_done(const rg_task *t)
{
    /* Every epoch up to snap_epoch: the ring holds the last RG_TASK_EPOCHS. */
    for (uint32_t e = t->snap_epoch + 1 - (t->snap_epoch + 1 < RG_TASK_EPOCHS ? t->snap_epoch + 1 : RG_TASK_EPOCHS);
         e <= t->snap_epoch; e++)
        if (t->pending[e % RG_TASK_EPOCHS])
            return false;
    return true;
}

static void begin(rg_stream *s, rg_task *t, int64_t now_ms)
{
    t->last_snapshot_ms = now_ms;
    rg_strbuf_reset(&t->snap_blob);
    char err[512];
    if (save_stage(t, &t->snap_blob, err, sizeof err) != 0 || !rg_strbuf_ok(&t->snap_blob)) {
        s->metrics.checkpoint_errors++;
        rg_log(RG_LOG_WARN, "snapshot failed; the previous one stays", "task", t->name, "error", err, NULL);
        return;
    }
    t->snap_resume = resume_position(t);
    t->snap_epoch = t->epoch;
    /* The next epoch starts empty: the oldest in the ring is reused only
     * once it is done (else outputs would be counted against it). */
    t->epoch++;
    t->pending[t->epoch % RG_TASK_EPOCHS] = 0;
    t->snap_phase = RG_SNAP_ACKS;
    t->snap_since_ms = now_ms;
}

static void write_pieces(rg_stream *s, rg_task *t)
{
    int32_t part = rg_topology_state_partition(&s->topo, t->kind, t->partition);
    uint64_t gen = (t->durable_gen > t->snap_gen ? t->durable_gen : t->snap_gen) + 1;
    t->snap_gen = gen;
    size_t len = t->snap_blob.len;
    uint32_t chunks = (uint32_t)((len + RG_SNAPSHOT_CHUNK - 1) / RG_SNAPSHOT_CHUNK);
    if (!chunks)
        chunks = 1;
    void *ticket = rg_ticket(t->slot, t->gen, RG_TICKET_SNAPSHOT, (uint32_t)gen);
    /* Counted before the first piece is produced: a full queue serves
     * delivery reports while it waits for room, and a piece acknowledged
     * then must count (else the snapshot waits for it for ever). */
    t->snap_pieces = chunks + 1;
    t->snap_chunks = chunks;
    t->snap_phase = RG_SNAP_WRITING;
    char key[96];
    for (uint32_t i = 0; i < chunks; i++) {
        size_t at = (size_t)i * RG_SNAPSHOT_CHUNK, n = len - at < RG_SNAPSHOT_CHUNK ? len - at : RG_SNAPSHOT_CHUNK;
        int kl = snprintf(key, sizeof key, "%s/%llu/%u", t->name, (unsigned long long)gen, i);
        rg_sink_record(&s->sinks.out[RG_OUT_STATE],
                       &(rg_keyed_record){.key = key, .key_len = (size_t)kl, .partition = part,
                                          .value = t->snap_blob.data + at, .value_len = n},
                       ticket);
    }
    header h = {task_char(t->kind), t->partition, gen, chunks, len,
                (uint32_t)crc32(0, (const Bytef *)t->snap_blob.data, (uInt)len), t->snap_resume,
                rg_run_wall_us() / 1000};
    rg_strbuf hb = RG_STRBUF_INIT;
    header_put(&hb, &h, rg_ruleset_id(s->rs));
    rg_sink_record(&s->sinks.out[RG_OUT_STATE],
                   &(rg_keyed_record){.key = t->name, .key_len = strlen(t->name), .partition = part,
                                      .value = hb.data, .value_len = hb.len},
                   ticket);
    rg_strbuf_free(&hb);
}

static void durable(rg_stream *s, rg_task *t)
{
    /* The previous generation's chunks are not needed any more. */
    int32_t part = rg_topology_state_partition(&s->topo, t->kind, t->partition);
    char key[96];
    for (uint32_t i = 0; t->durable_gen && i < t->durable_chunks; i++) {
        int kl = snprintf(key, sizeof key, "%s/%llu/%u", t->name, (unsigned long long)t->durable_gen, i);
        rg_sink_record(&s->sinks.out[RG_OUT_STATE],
                       &(rg_keyed_record){.key = key, .key_len = (size_t)kl, .partition = part},   /* a tombstone */
                       rg_ticket(t->slot, t->gen, RG_TICKET_UNTRACKED, 0));
    }
    header h = {task_char(t->kind), t->partition, t->snap_gen, t->snap_chunks, t->snap_blob.len,
                (uint32_t)crc32(0, (const Bytef *)t->snap_blob.data, (uInt)t->snap_blob.len), t->snap_resume,
                rg_run_wall_us() / 1000};
    cache_write(s, t, &h);
    t->durable_gen = t->snap_gen;
    t->durable_chunks = t->snap_chunks;
    t->snap_phase = RG_SNAP_IDLE;
    s->metrics.checkpoints++;
    s->metrics.last_checkpoint_ms = rg_run_wall_us() / 1000;
    s->metrics.snapshot_bytes += t->snap_blob.len;
    if (t->snap_resume >= 0)
        rg_run_commit_later(s, rg_topology_topic(&s->topo, t->kind), t->partition, t->snap_resume);
    char gen[32], bytes[32], resume[32];
    rg_run_fmt_i64(gen, sizeof gen, (int64_t)t->snap_gen);
    rg_run_fmt_i64(bytes, sizeof bytes, (int64_t)t->snap_blob.len);
    rg_run_fmt_i64(resume, sizeof resume, t->snap_resume);
    rg_log(RG_LOG_DEBUG, "snapshot durable", "task", t->name, "generation", gen, "bytes", bytes, "position", resume,
           NULL);
}

void rg_snapshot_serve(rg_stream *s, rg_task *t, int64_t now_ms, bool force)
{
    if (t->snap_phase == RG_SNAP_IDLE) {
        if (!force && now_ms - t->last_snapshot_ms < s->cfg.checkpoint_interval_ms)
            return;
        begin(s, t, now_ms);
    }
    if (t->snap_phase == RG_SNAP_ACKS) {
        if (epochs_done(t)) {
            write_pieces(s, t);
        } else if (now_ms - t->snap_since_ms > ACK_WAIT_MS) {
            if (rg_run_log_due(&s->last_snapshot_log_ms))
                rg_log(RG_LOG_WARN, "snapshot postponed: outputs still unacknowledged after 30 s", "task", t->name,
                       NULL);
            t->snap_phase = RG_SNAP_IDLE;
        }
    }
}

void rg_snapshot_delivered(rg_stream *s, rg_task *t, uint32_t gen_low, bool ok)
{
    if (t->snap_phase != RG_SNAP_WRITING || (uint32_t)(t->snap_gen & 0x3fffffffu) != gen_low || !ok)
        return;   /* an old piece, or a failure (produced again) */
    if (t->snap_pieces && --t->snap_pieces == 0)
        durable(s, t);
}

size_t rg_snapshot_final(rg_stream *s, rg_task *const *tasks, size_t n, bool *durable_out, int64_t timeout_ms)
{
    int64_t deadline = rg_run_mono_ms() + timeout_ms;
    /* Per task: one in progress finishes first; then a fresh one of now.
     * All tasks' snapshots are in flight together, so giving up k
     * partitions costs one round trip, not k (a rebalance waits on it). */
    enum { WAITING, FRESH, DONE } *st = calloc(n ? n : 1, sizeof *st);
    uint64_t *was = calloc(n ? n : 1, sizeof *was);   /* durable_gen when the fresh one began */
    if (!st || !was) {
        free(st);
        free(was);
        return 0;
    }
    size_t left = n, ok = 0;
    for (size_t i = 0; i < n; i++)
        durable_out[i] = false;
    while (left && rg_run_mono_ms() < deadline && !s->fatal) {
        for (size_t i = 0; i < n; i++) {
            rg_task *t = tasks[i];
            if (st[i] == DONE || t->snap_phase != RG_SNAP_IDLE)
                continue;
            if (st[i] == FRESH) {
                /* Idle again: durable, or postponed (outputs unacknowledged). */
                durable_out[i] = t->durable_gen > was[i];
                ok += durable_out[i];
                st[i] = DONE, left--;
                continue;
            }
            was[i] = t->durable_gen;
            rg_snapshot_serve(s, t, rg_run_mono_ms(), true);
            if (t->snap_phase == RG_SNAP_IDLE)
                st[i] = DONE, left--;   /* could not serialise (logged) */
            else
                st[i] = FRESH;
        }
        if (!left)
            break;
        rd_kafka_poll(s->c.producer, 10);
        rg_run_retry_due(s, false);
        rg_run_alerts_write(s, true);   /* alerts are outputs too */
        for (size_t i = 0; i < n; i++)
            if (st[i] != DONE)
                rg_snapshot_serve(s, tasks[i], rg_run_mono_ms(), false);
    }
    for (size_t i = 0; i < n; i++)
        if (!durable_out[i])
            rg_log(RG_LOG_WARN,
                   "no final snapshot acknowledged in time; the next owner evaluates from the previous one", "task",
                   tasks[i]->name, NULL);
    free(st);
    free(was);
    return ok;
}

/* ---- restoring ---- */

typedef struct piece {
    void *data;
    size_t len;
    bool tombstone;
} piece;

static void free_piece(void *v) { free(((piece *)v)->data); }

/* One task being restored: its state partition read to its end. */
typedef struct restoring {
    rg_task *t;
    int32_t part;           /* its <group>.state partition */
    int64_t end;            /* the partition's high watermark when the read began */
    bool done;
    rg_strmap *pieces;      /* key -> newest piece */
    double bytes;
} restoring;

static restoring *find_restoring(restoring *r, size_t n, int32_t part)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].part == part)
            return &r[i];
    return NULL;
}

/* Keep message m as the newest piece under its key. 0, or -1 (OOM). */
static int keep_piece(restoring *r, const rd_kafka_message_t *m)
{
    if (!m->key || !m->key_len)
        return 0;
    bool created;
    piece *p = rg_strmap_put(r->pieces, m->key, m->key_len, &created);
    if (!p)
        return -1;
    if (!created)
        free_piece(p);
    p->tombstone = !m->payload;
    p->len = m->len;
    p->data = m->payload ? malloc(m->len ? m->len : 1) : NULL;
    if (m->payload && !p->data)
        return -1;
    if (m->payload)
        memcpy(p->data, m->payload, m->len);
    r->bytes += (double)m->len;
    return 0;
}

/* Read every task's state partition from its start to the high watermark
 * it had when asked, all at once: one assignment of the restorer, each
 * partition done when its last message came (no wait for an end-of-
 * partition fetch, which costs a fetch wait per partition). An empty
 * partition (a task's first start) is not read at all. 0, or -1 with
 * errstr. */
static int read_partitions(rg_stream *s, restoring *r, size_t n, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)(n ? n : 1));
    size_t pending = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(s->c.restorer, s->topo.state, r[i].part, &lo, &hi,
                                                                  RESTORE_WATERMARK_MS);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR && hi >= 0 && lo >= hi) {
            r[i].done = true;   /* empty */
            continue;
        }
        r[i].end = e == RD_KAFKA_RESP_ERR_NO_ERROR ? hi : -1;   /* unknown: read to an end-of-partition */
        rd_kafka_topic_partition_list_add(l, s->topo.state, r[i].part)->offset = RD_KAFKA_OFFSET_BEGINNING;
        pending++;
    }
    if (!pending) {
        rd_kafka_topic_partition_list_destroy(l);
        return 0;
    }
    rd_kafka_resp_err_t err = rd_kafka_assign(s->c.restorer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        snprintf(errstr, errstr_size, "cannot read %s: %s", s->topo.state, rd_kafka_err2str(err));
        return -1;
    }
    int rc = 0;
    int64_t deadline = rg_run_mono_ms() + RESTORE_WAIT_MS;
    while (pending && rc == 0) {
        if (rg_run_mono_ms() > deadline) {
            snprintf(errstr, errstr_size, "%s: %zu partition(s) not read to their end within %d s", s->topo.state,
                     pending, RESTORE_WAIT_MS / 1000);
            rc = -1;
            break;
        }
        /* Keep the producer's side served meanwhile: delivery reports. */
        rd_kafka_poll(s->c.producer, 0);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(s->c.restorer, 100);
        if (!m)
            continue;
        restoring *x = m->rkt && strcmp(rd_kafka_topic_name(m->rkt), s->topo.state) == 0
                           ? find_restoring(r, n, m->partition)
                           : NULL;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (x && !x->done && (x->end < 0 || m->offset >= x->end)) {
                x->done = true;
                pending--;
            }
        } else if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__TRANSPORT && m->err != RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
                snprintf(errstr, errstr_size, "reading %s partition %d: %s", s->topo.state, (int)m->partition,
                         rd_kafka_message_errstr(m));
                rc = -1;
            }
        } else if (x && !x->done) {
            if (keep_piece(x, m) != 0) {
                snprintf(errstr, errstr_size, "out of memory restoring");
                rc = -1;
            } else if (x->end >= 0 && m->offset + 1 >= x->end) {
                x->done = true;
                pending--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_assign(s->c.restorer, NULL);
    return rc;
}

/* The newest complete generation among x's pieces (or the local cache's,
 * when newer) into the task. 1 restored (*resume set), 0 none, -1 with
 * errstr. */
static int load_newest(rg_stream *s, restoring *x, int64_t *resume, char *errstr, size_t errstr_size)
{
    rg_task *t = x->t;
    rg_strbuf blob = RG_STRBUF_INIT;
    header h = {0};
    bool have = false, incomplete = false;
    piece *hp = rg_strmap_get(x->pieces, t->name, strlen(t->name));
    if (hp && !hp->tombstone && header_get(hp->data, hp->len, &h) == 0 && h.kind == task_char(t->kind) &&
        h.partition == t->partition) {
        char key[96];
        bool complete = true;
        for (uint32_t i = 0; i < h.chunks && complete; i++) {
            int kl = snprintf(key, sizeof key, "%s/%llu/%u", t->name, (unsigned long long)h.gen, i);
            piece *c = rg_strmap_get(x->pieces, key, (size_t)kl);
            if (!c || c->tombstone)
                complete = false;
            else
                rg_strbuf_append(&blob, c->data, c->len);
        }
        have = complete && rg_strbuf_ok(&blob) && blob.len == h.len &&
               (uint32_t)crc32(0, (const Bytef *)blob.data, (uInt)blob.len) == h.crc;
        if (!have)
            incomplete = true;
    }
    /* A newer generation in the local cache wins. */
    header ch;
    rg_strbuf cblob = RG_STRBUF_INIT;
    if (cache_read(s, t, have ? h.gen : 0, &ch, &cblob)) {
        rg_strbuf_free(&blob);
        blob = cblob;
        h = ch;
        have = true;
    } else {
        rg_strbuf_free(&cblob);
    }
    if (!have && incomplete) {
        /* Starting empty would change decisions without anyone knowing:
         * as for a snapshot that cannot be loaded, the instance stops. */
        snprintf(errstr, errstr_size,
                 "task %s: the newest snapshot in %s is incomplete (chunks trimmed or corrupt) and the --state "
                 "cache has no newer one; to start this task empty on purpose, write a tombstone for key %s",
                 t->name, s->topo.state, t->name);
        rg_strbuf_free(&blob);
        return -1;
    }
    int rc = 0;
    if (have) {
        if (load_stage(t, blob.data, blob.len, errstr, errstr_size) != 0) {
            rc = -1;
        } else {
            *resume = h.resume;
            t->durable_gen = t->snap_gen = h.gen;
            t->durable_chunks = h.chunks;
            rc = 1;
        }
    }
    rg_strbuf_free(&blob);
    return rc;
}

int rg_snapshot_restore(rg_stream *s, rg_task *const *tasks, size_t n, rg_restore_result *out, char *errstr,
                        size_t errstr_size)
{
    restoring *r = calloc(n ? n : 1, sizeof *r);
    if (!r) {
        snprintf(errstr, errstr_size, "out of memory restoring");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        r[i].t = tasks[i];
        r[i].part = rg_topology_state_partition(&s->topo, tasks[i]->kind, tasks[i]->partition);
        r[i].end = -1;
        out[i] = (rg_restore_result){.resume = -1};
        if (!(r[i].pieces = rg_strmap_new(sizeof(piece))))
            rc = -1;
    }
    if (rc != 0)
        snprintf(errstr, errstr_size, "out of memory restoring");
    else
        rc = read_partitions(s, r, n, errstr, errstr_size);
    for (size_t i = 0; i < n && rc == 0; i++) {
        out[i].mb = r[i].bytes / 1e6;
        char err[512] = "";
        out[i].restored = load_newest(s, &r[i], &out[i].resume, err, sizeof err);
        if (out[i].restored < 0) {
            snprintf(errstr, errstr_size, "task %s: %s", tasks[i]->name, err);
            rc = -1;
        }
    }
    for (size_t i = 0; i < n; i++)
        rg_strmap_free(r[i].pieces, free_piece);
    free(r);
    return rc;
}
