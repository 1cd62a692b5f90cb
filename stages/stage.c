/* stage — what the stages share; see stage.h. */
#include "stage.h"

/* Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): 32-bit
 * arithmetic wrapping, as Java's ints do. */
static uint32_t murmur2(const unsigned char *data, size_t len)
{
    const uint32_t m = 0x5bd1e995u;
    uint32_t h = 0x9747b28cu ^ (uint32_t)len;
    size_t len4 = len / 4;
    for (size_t i = 0; i < len4; i++) {
        const unsigned char *p = data + i * 4;
        uint32_t k = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    const unsigned char *tail = data + (len & ~(size_t)3);
    switch (len % 4) {
    case 3:
        h ^= (uint32_t)tail[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)tail[1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)tail[0];
        h *= m;
        break;
    default:
        break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t rg_stage_partition(const char *key, size_t key_len, int32_t n)
{
    if (n <= 1)
        return 0;
    uint32_t h = murmur2((const unsigned char *)key, key_len) & 0x7fffffffu;
    return (int32_t)(h % (uint32_t)n);
}
