/*
 * sha256 — SHA-256 (FIPS 180-4), for the rule set id.
 *
 * Owner: rules. The rule set id printed in every decision is the first 12
 * hex digits of the SHA-256 of the rule file's exact bytes (docs/ruleset-id.md),
 * so two machines agree on which file produced a decision. Implemented here
 * rather than pulled from a crypto library: it is 150 lines, has published
 * test vectors, and keeps the engine layer free of another dependency.
 * Pure functions, thread-safe, no allocation.
 */
#ifndef RG_SHA256_H
#define RG_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct rg_sha256_ctx {
    uint32_t h[8];
    uint64_t total_bytes;
    unsigned char block[64];
    size_t block_len;
} rg_sha256_ctx;

void rg_sha256_init(rg_sha256_ctx *c);
void rg_sha256_update(rg_sha256_ctx *c, const void *data, size_t len);
void rg_sha256_final(rg_sha256_ctx *c, unsigned char digest[32]);

/* One-shot digest of data[0..len). */
void rg_sha256(const void *data, size_t len, unsigned char digest[32]);

/* Lower-case hex of the digest's first `nhex` digits (nhex <= 64) into out,
 * which must hold nhex + 1 bytes (NUL-terminated). */
void rg_sha256_hex(const void *data, size_t len, char *out, size_t nhex);

#endif
