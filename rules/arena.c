/*
 * arena — bump allocation in chunks (see arena.h for the contract).
 * Chunks grow geometrically up to 64 KiB; a request larger than a chunk
 * gets a chunk of its own, so big lists do not waste a half-empty chunk.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

struct rg_arena_chunk {
    rg_arena_chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) unsigned char data[];
};

#define ARENA_ALIGN (sizeof(max_align_t))
#define ARENA_MIN_CHUNK ((size_t)1024)
#define ARENA_MAX_CHUNK ((size_t)64 * 1024)

void *rg_arena_alloc(rg_arena *a, size_t n)
{
    if (a->oom)
        return NULL;
    if (n > SIZE_MAX / 2) {
        a->oom = true;
        return NULL;
    }
    size_t need = (n + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
    if (need == 0)
        need = ARENA_ALIGN;
    rg_arena_chunk *c = a->head;
    if (!c || c->cap - c->used < need) {
        size_t cap = c ? c->cap * 2 : ARENA_MIN_CHUNK;
        if (cap > ARENA_MAX_CHUNK)
            cap = ARENA_MAX_CHUNK;
        if (cap < need)
            cap = need;
        c = malloc(sizeof *c + cap);
        if (!c) {
            a->oom = true;
            return NULL;
        }
        c->cap = cap;
        c->used = 0;
        /* A dedicated big chunk goes behind the current one, so the
         * current chunk's free space is still used by later requests. */
        if (a->head && need > ARENA_MAX_CHUNK / 2) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
        a->bytes += sizeof *c + cap;
    }
    void *p = c->data + c->used;
    c->used += need;
    memset(p, 0, need);
    return p;
}

void *rg_arena_calloc(rg_arena *a, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / 2 / size) {
        a->oom = true;
        return NULL;
    }
    return rg_arena_alloc(a, count * size);
}

char *rg_arena_strndup(rg_arena *a, const char *s, size_t len)
{
    if (len == SIZE_MAX) {
        a->oom = true;
        return NULL;
    }
    char *p = rg_arena_alloc(a, len + 1);
    if (p && len)
        memcpy(p, s, len);
    return p;
}

char *rg_arena_strdup(rg_arena *a, const char *s)
{
    return rg_arena_strndup(a, s, strlen(s));
}

char *rg_arena_printf(rg_arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        a->oom = true;
        return NULL;
    }
    char *p = rg_arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void rg_arena_free(rg_arena *a)
{
    if (!a)
        return;
    rg_arena_chunk *c = a->head;
    while (c) {
        rg_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->bytes = 0;
    a->oom = false;
}
