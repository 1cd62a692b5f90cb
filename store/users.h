/*
 * users — the analysts of the review server (`riskgate users`,
 * `riskgate serve`; docs/review.md, "Per-analyst access"), kept in the
 * alert store's `users` table: a name, a role (rg_role: analyst or lead)
 * and a token stored only as a keyed hash.
 *
 * Tokens: 32 random bytes from getrandom(2), written as 64 hex digits,
 * handed out once by rg_users_add and never stored. The store keeps
 * HMAC-SHA-256(key = 16 random bytes of that user, token): a copy of the
 * file does not give a token back, and a token this random needs no slow
 * hash (slow hashes guard guessable passwords). A presented token is
 * hashed with every user's key and compared with every stored hash in
 * constant time, all of them, so neither which user matched nor how much
 * of a hash agreed changes how long the check takes (beyond the number
 * of users, at most RG_USERS_MAX).
 *
 * Changes recorded by the review server go under the name the token
 * belongs to, never a name the client sends.
 *
 * Same threading and error rules as alerts.h: the store handle's thread,
 * -1 with a message on failure, nothing printed.
 */
#ifndef RG_STORE_USERS_H
#define RG_STORE_USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerts.h"

#define RG_USERS_MAX 1000
#define RG_USER_TOKEN_HEX 64

typedef struct rg_user {
    char name[RG_ALERT_NAME_MAX + 1];
    rg_role role;
    int64_t created_ms;
} rg_user;

/*
 * Add a user (name: rg_alert_name_valid) with a new token, written to
 * token_out (RG_USER_TOKEN_HEX + 1 bytes, NUL-terminated; the only copy:
 * hand it to the analyst). Returns 1 added, 0 the name exists (errstr
 * says so), -1 error (bad name, RG_USERS_MAX reached, no randomness,
 * database).
 */
int rg_users_add(rg_alert_store *s, const char *name, rg_role role, char *token_out,
                 char *errstr, size_t errstr_size);

/* Remove a user: their token stops working at once; their name stays in
 * the history. Returns 1 removed, 0 no such user, -1 error. */
int rg_users_remove(rg_alert_store *s, const char *name, char *errstr, size_t errstr_size);

/* Every user, by name. Free *out with free(). */
int rg_users_list(rg_alert_store *s, rg_user **out, size_t *n, char *errstr, size_t errstr_size);

/* A new token: 32 bytes of getrandom(2) as 64 lower-case hex digits
 * (rg_users_add's, and the review server's single token file). */
int rg_users_new_token(char out[RG_USER_TOKEN_HEX + 1], char *errstr, size_t errstr_size);

/* How many users there are. */
int rg_users_count(rg_alert_store *s, int64_t *n, char *errstr, size_t errstr_size);

/* The user a presented token belongs to: 1 and *out filled, 0 none
 * (wrong token, or NULL), -1 error. Time independent of which user
 * matches and of the token's content (see above). */
int rg_users_authenticate(rg_alert_store *s, const char *token, rg_user *out, char *errstr,
                          size_t errstr_size);

/* HMAC-SHA-256 (RFC 2104) of msg with key: the token hash. Exposed for
 * its test vectors (RFC 4231). */
void rg_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t msg_len,
                    unsigned char out[32]);

#endif
