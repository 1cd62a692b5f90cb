/*
 * geo_tree — reading a MaxMind DB search tree's records in place, and the
 * open-time check that every record is a node, empty or data (geo.c's
 * check_consistent; geo_tree.c). Internal to the geo layer.
 */
#ifndef RG_GEO_TREE_H
#define RG_GEO_TREE_H

#include <stdint.h>

/* The two records of the search-tree node at p (MaxMind DB spec, "Search
 * Tree Section"; big-endian, 28-bit records share their middle byte's
 * nibbles). Decoded here rather than with MMDB_read_node, which fills two
 * entries per node: the pinned IPv4 file has 3.7 million nodes. */
static inline void rg_geo_node_records(const uint8_t *p, uint16_t record_size, uint64_t *left, uint64_t *right)
{
    switch (record_size) {
    case 24:
        *left = (uint64_t)p[0] << 16 | (uint64_t)p[1] << 8 | p[2];
        *right = (uint64_t)p[3] << 16 | (uint64_t)p[4] << 8 | p[5];
        break;
    case 28:
        *left = (uint64_t)(p[3] & 0xf0) << 20 | (uint64_t)p[0] << 16 | (uint64_t)p[1] << 8 | p[2];
        *right = (uint64_t)(p[3] & 0x0f) << 24 | (uint64_t)p[4] << 16 | (uint64_t)p[5] << 8 | p[6];
        break;
    default:
        *left = (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
        *right = (uint64_t)p[4] << 24 | (uint64_t)p[5] << 16 | (uint64_t)p[6] << 8 | p[7];
        break;
    }
}

/* Whether a record is bad: not a node (the root is a loop), not empty
 * (node_count), not data (node_count + 16 + an offset in the data
 * section). Unsigned wrap-around makes each test one compare. */
#define RG_GEO_RECORD_BAD(r, n, data_end) (((r) - 1 >= (n)) & ((r) - (n) - 16 >= (data_end) - (n) - 16))

/* The first node of the tree (node_count nodes of record_size bits'
 * records, data_end = node_count + 16 + the data section's size) with a
 * bad record, node_count when none. */
uint64_t rg_geo_first_bad_node(const uint8_t *tree, uint64_t node_count, uint16_t record_size, uint64_t data_end);

#endif
