/*
 * same_bytes — whether two ids of n bytes are equal, for the hot lookups
 * (the maps' key compare, the account store's focus, login's last
 * device). Ids of 4 to 16 bytes, the usual ones, compare as two
 * overlapping loads inside them instead of a call to memcmp; any other
 * length goes to memcmp. Both sides must hold n readable bytes (nothing
 * past them is read). Owner: common. Static inline: a call cost a
 * sizeable part of a lookup.
 */
#ifndef RG_SAME_BYTES_H
#define RG_SAME_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline bool rg_same_bytes(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    if (n >= 8 && n <= 16) {
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, x, 8);
        memcpy(&y0, y, 8);
        memcpy(&x1, x + n - 8, 8);
        memcpy(&y1, y + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    if (n >= 4 && n < 8) {
        uint32_t x0, y0, x1, y1;
        memcpy(&x0, x, 4);
        memcpy(&y0, y, 4);
        memcpy(&x1, x + n - 4, 4);
        memcpy(&y1, y + n - 4, 4);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    return memcmp(x, y, n) == 0;
}

#endif
