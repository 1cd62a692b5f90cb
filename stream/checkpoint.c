/* checkpoint — offsets + engine state in one SQLite transaction; see checkpoint.h. */
#include "checkpoint.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct rg_checkpoint {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *put_offset;
    sqlite3_stmt *get_offset;
    size_t last_blob_len;       /* the previous state's size: the next one is reserved at once */
};

static const char schema_sql[] =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS offsets ("
    "  topic TEXT NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,"
    "  PRIMARY KEY (topic, partition));"
    "CREATE TABLE IF NOT EXISTS state ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1), saved_at_ms INTEGER NOT NULL,"
    "  ruleset TEXT, blob BLOB NOT NULL);";

static int db_fail(rg_checkpoint *cp, const char *what, char *errstr, size_t errstr_size)
{
    snprintf(errstr, errstr_size, "%s: %s: %s", cp->path, what, cp->db ? sqlite3_errmsg(cp->db) : "no database");
    return -1;
}

rg_checkpoint *rg_checkpoint_open(const char *dir, char *errstr, size_t errstr_size)
{
    rg_checkpoint *cp = calloc(1, sizeof *cp);
    if (!cp) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(errstr, errstr_size, "%s: cannot create state directory: %s", dir, strerror(errno));
        goto fail;
    }
    size_t n = strlen(dir) + sizeof "/checkpoint.db";
    cp->path = malloc(n);
    if (!cp->path) {
        snprintf(errstr, errstr_size, "out of memory");
        goto fail;
    }
    snprintf(cp->path, n, "%s/checkpoint.db", dir);
    if (sqlite3_open_v2(cp->path, &cp->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
        db_fail(cp, "cannot open", errstr, errstr_size);
        goto fail;
    }
    sqlite3_busy_timeout(cp->db, 5000);
    if (sqlite3_exec(cp->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(cp, "cannot create schema", errstr, errstr_size);
        goto fail;
    }
    if (sqlite3_prepare_v2(cp->db,
                           "INSERT INTO offsets(topic, partition, next_offset) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset",
                           -1, &cp->put_offset, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(cp->db, "SELECT next_offset FROM offsets WHERE topic = ?1 AND partition = ?2", -1,
                           &cp->get_offset, NULL) != SQLITE_OK) {
        db_fail(cp, "cannot prepare statements", errstr, errstr_size);
        goto fail;
    }
    return cp;
fail:
    rg_checkpoint_close(cp);
    return NULL;
}

void rg_checkpoint_close(rg_checkpoint *cp)
{
    if (!cp)
        return;
    sqlite3_finalize(cp->put_offset);
    sqlite3_finalize(cp->get_offset);
    sqlite3_close(cp->db);
    free(cp->path);
    free(cp);
}

int rg_checkpoint_serialise(rg_checkpoint *cp, const rg_state_codec *codec, rg_strbuf *blob, char *errstr,
                            size_t errstr_size)
{
    /* The engine's state is megabytes and grows slowly: growing the
     * buffer by doubling from nothing copied it again and again
     * (docs/bench-stream.md, F1). One allocation of about the last size
     * instead. */
    if (cp->last_blob_len)
        rg_strbuf_reserve(blob, cp->last_blob_len + cp->last_blob_len / 4);
    if (codec->save(codec->opaque, blob, errstr, errstr_size) != 0)
        return -1;
    if (!rg_strbuf_ok(blob)) {
        snprintf(errstr, errstr_size, "out of memory serialising state");
        return -1;
    }
    cp->last_blob_len = blob->len;
    return 0;
}

int rg_checkpoint_store(rg_checkpoint *cp, const char *topic, const rg_checkpoint_offset *offsets, size_t n,
                        const rg_strbuf *blob, const char *ruleset, int64_t now_ms, char *errstr,
                        size_t errstr_size)
{
    sqlite3_stmt *put_state = NULL;
    bool in_tx = false;
    if (sqlite3_exec(cp->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(cp, "begin", errstr, errstr_size);
        goto fail;
    }
    in_tx = true;
    /* The offsets describe exactly the partitions held now: a partition
     * given up since the last checkpoint must not keep an old row, or a
     * restart would seek it back to a position the state has moved past. */
    sqlite3_stmt *clear = NULL;
    if (sqlite3_prepare_v2(cp->db, "DELETE FROM offsets WHERE topic = ?1", -1, &clear, NULL) != SQLITE_OK) {
        db_fail(cp, "prepare", errstr, errstr_size);
        goto fail;
    }
    sqlite3_bind_text(clear, 1, topic, -1, SQLITE_STATIC);
    int crc = sqlite3_step(clear);
    sqlite3_finalize(clear);
    if (crc != SQLITE_DONE) {
        db_fail(cp, "clear offsets", errstr, errstr_size);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(cp->put_offset);
        sqlite3_bind_text(cp->put_offset, 1, topic, -1, SQLITE_STATIC);
        sqlite3_bind_int(cp->put_offset, 2, offsets[i].partition);
        sqlite3_bind_int64(cp->put_offset, 3, offsets[i].next_offset);
        if (sqlite3_step(cp->put_offset) != SQLITE_DONE) {
            db_fail(cp, "write offsets", errstr, errstr_size);
            goto fail;
        }
    }
    if (blob) {
        if (sqlite3_prepare_v2(cp->db,
                               "INSERT OR REPLACE INTO state(id, saved_at_ms, ruleset, blob) VALUES (1, ?1, ?2, ?3)",
                               -1, &put_state, NULL) != SQLITE_OK) {
            db_fail(cp, "prepare state", errstr, errstr_size);
            goto fail;
        }
        sqlite3_bind_int64(put_state, 1, now_ms);
        sqlite3_bind_text(put_state, 2, ruleset ? ruleset : "", -1, SQLITE_STATIC);
        sqlite3_bind_blob64(put_state, 3, blob->data ? blob->data : "", blob->len, SQLITE_STATIC);
        if (sqlite3_step(put_state) != SQLITE_DONE) {
            db_fail(cp, "write state", errstr, errstr_size);
            goto fail;
        }
    }
    if (sqlite3_exec(cp->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(cp, "commit", errstr, errstr_size);
        goto fail;
    }
    sqlite3_reset(cp->put_offset);
    sqlite3_finalize(put_state);
    return 0;
fail:
    sqlite3_reset(cp->put_offset);
    sqlite3_finalize(put_state);
    if (in_tx)
        sqlite3_exec(cp->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int rg_checkpoint_write(rg_checkpoint *cp, const char *topic, const rg_checkpoint_offset *offsets, size_t n,
                        const rg_state_codec *codec, const char *ruleset, int64_t now_ms, char *errstr,
                        size_t errstr_size)
{
    /* Serialise before opening the transaction: the write lock is held
     * only for the inserts. */
    rg_strbuf blob = RG_STRBUF_INIT;
    bool with_state = codec && codec->save;
    int rc = -1;
    if (!with_state || rg_checkpoint_serialise(cp, codec, &blob, errstr, errstr_size) == 0)
        rc = rg_checkpoint_store(cp, topic, offsets, n, with_state ? &blob : NULL, ruleset, now_ms, errstr,
                                 errstr_size);
    rg_strbuf_free(&blob);
    return rc;
}

int rg_checkpoint_add_offsets(rg_checkpoint *cp, const char *topic, const rg_checkpoint_offset *offsets, size_t n,
                              char *errstr, size_t errstr_size)
{
    sqlite3_stmt *add = NULL;
    if (sqlite3_exec(cp->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(cp, "begin", errstr, errstr_size);
    /* DO NOTHING on a row that exists: it is from the last full write (the
     * partition was held then, given up since, and is back), and the
     * stored state reflects the partition exactly up to that row. */
    if (sqlite3_prepare_v2(cp->db,
                           "INSERT INTO offsets(topic, partition, next_offset) VALUES (?1, ?2, ?3) "
                           "ON CONFLICT(topic, partition) DO NOTHING",
                           -1, &add, NULL) != SQLITE_OK) {
        db_fail(cp, "prepare", errstr, errstr_size);
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(add);
        sqlite3_bind_text(add, 1, topic, -1, SQLITE_STATIC);
        sqlite3_bind_int(add, 2, offsets[i].partition);
        sqlite3_bind_int64(add, 3, offsets[i].next_offset);
        if (sqlite3_step(add) != SQLITE_DONE) {
            db_fail(cp, "add offsets", errstr, errstr_size);
            goto fail;
        }
    }
    sqlite3_finalize(add);
    add = NULL;
    if (sqlite3_exec(cp->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        db_fail(cp, "commit", errstr, errstr_size);
        goto fail;
    }
    return 0;
fail:
    sqlite3_finalize(add);
    sqlite3_exec(cp->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

int rg_checkpoint_get_offset(rg_checkpoint *cp, const char *topic, int32_t partition, int64_t *next_offset,
                             char *errstr, size_t errstr_size)
{
    sqlite3_reset(cp->get_offset);
    sqlite3_bind_text(cp->get_offset, 1, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(cp->get_offset, 2, partition);
    int rc = sqlite3_step(cp->get_offset);
    int result;
    if (rc == SQLITE_ROW) {
        *next_offset = sqlite3_column_int64(cp->get_offset, 0);
        result = 0;
    } else if (rc == SQLITE_DONE) {
        result = 1;
    } else {
        result = db_fail(cp, "read offsets", errstr, errstr_size);
    }
    sqlite3_reset(cp->get_offset);
    return result;
}

int rg_checkpoint_list_offsets(rg_checkpoint *cp, const char *topic, rg_checkpoint_offset **out, size_t *n,
                               char *errstr, size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cp->db, "SELECT partition, next_offset FROM offsets WHERE topic = ?1 ORDER BY partition",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(cp, "read offsets", errstr, errstr_size);
    sqlite3_bind_text(st, 1, topic, -1, SQLITE_STATIC);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            rg_checkpoint_offset *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                snprintf(errstr, errstr_size, "%s: out of memory", cp->path);
                rc = SQLITE_NOMEM;
                break;
            }
            *out = p;
        }
        (*out)[*n].partition = sqlite3_column_int(st, 0);
        (*out)[*n].next_offset = sqlite3_column_int64(st, 1);
        (*n)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        if (rc != SQLITE_NOMEM)
            db_fail(cp, "read offsets", errstr, errstr_size);
        free(*out);
        *out = NULL;
        *n = 0;
        return -1;
    }
    return 0;
}

int rg_checkpoint_load_state(rg_checkpoint *cp, const rg_state_codec *codec, int64_t *saved_at_ms,
                             char *errstr, size_t errstr_size)
{
    if (!codec || !codec->load)
        return 0;
    sqlite3_stmt *st = NULL;
    int result = 0;
    if (sqlite3_prepare_v2(cp->db, "SELECT saved_at_ms, blob FROM state WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(cp, "read state", errstr, errstr_size);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (saved_at_ms)
            *saved_at_ms = sqlite3_column_int64(st, 0);
        const void *bytes = sqlite3_column_blob(st, 1);
        size_t len = (size_t)sqlite3_column_bytes(st, 1);
        result = codec->load(codec->opaque, bytes ? bytes : "", len, errstr, errstr_size) == 0 ? 1 : -1;
    } else if (rc != SQLITE_DONE) {
        result = db_fail(cp, "read state", errstr, errstr_size);
    }
    sqlite3_finalize(st);
    return result;
}
