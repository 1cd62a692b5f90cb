/* users.c — review users and their hashed tokens (contract in users.h). */
#include "users.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../rules/sha256.h"
#include "alerts_internal.h"

#define SALT_BYTES 16
#define TOKEN_BYTES (RG_USER_TOKEN_HEX / 2)

void rg_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    unsigned char out[32])
{
    unsigned char k[64] = {0}, pad[64];
    if (key_len > sizeof k)
        rg_sha256(key, key_len, k);
    else
        memcpy(k, key, key_len);
    rg_sha256_ctx c;
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x36;
    rg_sha256_init(&c);
    rg_sha256_update(&c, pad, sizeof pad);
    rg_sha256_update(&c, msg, msg_len);
    unsigned char inner[32];
    rg_sha256_final(&c, inner);
    for (size_t i = 0; i < 64; i++)
        pad[i] = k[i] ^ 0x5c;
    rg_sha256_init(&c);
    rg_sha256_update(&c, pad, sizeof pad);
    rg_sha256_update(&c, inner, sizeof inner);
    rg_sha256_final(&c, out);
    memset(k, 0, sizeof k);
    memset(pad, 0, sizeof pad);
    memset(inner, 0, sizeof inner);
}

static int random_bytes(void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((char *)buf + got, n - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int rg_users_new_token(char out[RG_USER_TOKEN_HEX + 1], char *errstr, size_t errstr_size)
{
    unsigned char raw[TOKEN_BYTES];
    if (random_bytes(raw, sizeof raw) < 0) {
        snprintf(errstr, errstr_size, "cannot read random bytes (getrandom): %s", strerror(errno));
        return -1;
    }
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof raw; i++) {
        out[2 * i] = hex[raw[i] >> 4];
        out[2 * i + 1] = hex[raw[i] & 15];
    }
    out[RG_USER_TOKEN_HEX] = '\0';
    memset(raw, 0, sizeof raw);
    return 0;
}

int rg_users_count(rg_alert_store *s, int64_t *n, char *errstr, size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare(s, "SELECT count(*) FROM users", errstr, errstr_size);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) {
        rg_alerts_sql_error(s, "counting users", errstr, errstr_size);
        return -1;
    }
    return 0;
}

int rg_users_add(rg_alert_store *s, const char *name, rg_role role, char *token_out,
                 char *errstr, size_t errstr_size)
{
    token_out[0] = '\0';
    if (!rg_alert_name_valid(name)) {
        snprintf(errstr, errstr_size, "not a user name: '%.80s' (1-%d characters of A-Z a-z 0-9 . _ @ -, not 'none')",
                 name ? name : "", RG_ALERT_NAME_MAX);
        return -1;
    }
    int64_t n;
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0 || rg_users_count(s, &n, errstr, errstr_size) < 0)
        return -1;
    if (n >= RG_USERS_MAX) {
        snprintf(errstr, errstr_size, "%s: already %d users, the most a store holds", s->path, RG_USERS_MAX);
        return -1;
    }
    unsigned char salt[SALT_BYTES], hash[32];
    char token[RG_USER_TOKEN_HEX + 1];
    if (random_bytes(salt, sizeof salt) < 0 || rg_users_new_token(token, errstr, errstr_size) < 0) {
        snprintf(errstr, errstr_size, "cannot read random bytes (getrandom): %s", strerror(errno));
        return -1;
    }
    rg_hmac_sha256(salt, sizeof salt, token, RG_USER_TOKEN_HEX, hash);
    int result = -1;
    sqlite3_stmt *st = rg_alerts_prepare(
        s, "INSERT INTO users (name, role, salt, token_hash, created_ms) VALUES (?1, ?2, ?3, ?4, ?5)"
           " ON CONFLICT (name) DO NOTHING",
        errstr, errstr_size);
    if (st) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, rg_role_name(role), -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 3, salt, sizeof salt, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, hash, sizeof hash, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, rg_alert_now_ms());
        if (sqlite3_step(st) != SQLITE_DONE) {
            rg_alerts_sql_error(s, "adding a user", errstr, errstr_size);
        } else if (sqlite3_changes(s->db) == 0) {
            snprintf(errstr, errstr_size, "%s: there is already a user '%s'", s->path, name);
            result = 0;
        } else {
            memcpy(token_out, token, sizeof token);
            result = 1;
        }
        sqlite3_finalize(st);
    }
    memset(token, 0, sizeof token);
    return result;
}

int rg_users_remove(rg_alert_store *s, const char *name, char *errstr, size_t errstr_size)
{
    if (rg_alert_store_flush(s, errstr, errstr_size) < 0)
        return -1;
    sqlite3_stmt *st = rg_alerts_prepare(s, "DELETE FROM users WHERE name = ?1", errstr, errstr_size);
    if (!st)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "removing a user", errstr, errstr_size);
        return -1;
    }
    if (sqlite3_changes(s->db) == 0) {
        snprintf(errstr, errstr_size, "%s: no user '%s'", s->path, name);
        return 0;
    }
    return 1;
}

static int read_user(sqlite3_stmt *st, rg_user *u)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    int role = rg_role_from_name((const char *)sqlite3_column_text(st, 1));
    if (!name || strlen(name) > RG_ALERT_NAME_MAX || role < 0)
        return -1;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->role = (rg_role)role;
    u->created_ms = sqlite3_column_int64(st, 2);
    return 0;
}

int rg_users_list(rg_alert_store *s, rg_user **out, size_t *n, char *errstr, size_t errstr_size)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = rg_alerts_prepare(s, "SELECT name, role, created_ms FROM users ORDER BY name",
                                         errstr, errstr_size);
    if (!st)
        return -1;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (!rg_alerts_grow(out, &cap, *n, sizeof **out)) {
            snprintf(errstr, errstr_size, "%s: out of memory", s->path);
            goto fail;
        }
        if (read_user(st, &(*out)[*n]) < 0) {
            snprintf(errstr, errstr_size, "%s: a user row is damaged", s->path);
            goto fail;
        }
        (*n)++;
    }
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "listing users", errstr, errstr_size);
        goto fail;
    }
    sqlite3_finalize(st);
    return 0;
fail:
    sqlite3_finalize(st);
    free(*out);
    *out = NULL;
    *n = 0;
    return -1;
}

int rg_users_authenticate(rg_alert_store *s, const char *token, rg_user *out, char *errstr,
                          size_t errstr_size)
{
    sqlite3_stmt *st = rg_alerts_prepare(s, "SELECT name, role, created_ms, salt, token_hash FROM users",
                                         errstr, errstr_size);
    if (!st)
        return -1;
    size_t token_len = token ? strnlen(token, 1024) : 0;
    int matches = 0, rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const void *salt = sqlite3_column_blob(st, 3);
        int salt_len = sqlite3_column_bytes(st, 3);
        const unsigned char *stored = sqlite3_column_blob(st, 4);
        int stored_len = sqlite3_column_bytes(st, 4);
        unsigned char hash[32];
        rg_hmac_sha256(salt, salt_len > 0 ? (size_t)salt_len : 0, token ? token : "", token_len, hash);
        /* Every row is hashed and compared in full, matching or not. */
        unsigned char diff = stored_len == 32 ? 0 : 1;
        for (int i = 0; i < 32; i++)
            diff |= (unsigned char)(hash[i] ^ (stored_len == 32 ? stored[i] : 0));
        bool same = diff == 0 && token_len > 0;
        if (same && read_user(st, out) == 0)
            matches++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        rg_alerts_sql_error(s, "checking a token", errstr, errstr_size);
        return -1;
    }
    return matches == 1 ? 1 : 0;
}
