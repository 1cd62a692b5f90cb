/* stage_values — values of name uses between stages; see stage_values.h. */
#include "stage_values.h"

#include <stdio.h>
#include <string.h>

#include "../common/binio.h"

/* Without snprintf: the entity stage writes a key per value per event
 * (replay --workers ships every entity value of an event this way). The
 * bytes are snprintf("%s/%lld")'s, truncated the same way. */
size_t rg_use_ship_key(const rg_name_use *use, char *buf)
{
    char tmp[RG_SHIP_KEY_MAX + 24];
    size_t name_len = strlen(use->spec->name), n = name_len < RG_SHIP_KEY_MAX ? name_len : RG_SHIP_KEY_MAX;
    memcpy(tmp, use->spec->name, n);
    if (use->window_ms) {
        char digits[24];
        size_t d = 0;
        int64_t w = use->window_ms;
        uint64_t v = w < 0 ? 0 - (uint64_t)w : (uint64_t)w;
        do {
            digits[d++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        tmp[n++] = '/';
        if (w < 0)
            tmp[n++] = '-';
        while (d)
            tmp[n++] = digits[--d];
    }
    if (n > RG_SHIP_KEY_MAX - 1)
        n = RG_SHIP_KEY_MAX - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}

void rg_values_begin(rg_strbuf *out)
{
    rg_strbuf_putc(out, 0);
    rg_strbuf_putc(out, 0);
}

void rg_values_end(rg_strbuf *out, size_t at, uint16_t count)
{
    if (!rg_strbuf_ok(out) || out->len < at + 2)
        return;
    out->data[at] = (char)(count & 0xff);
    out->data[at + 1] = (char)(count >> 8);
}

void rg_values_add(rg_strbuf *out, const char *key, size_t key_len, const rg_value *v)
{
    if (v->type == RG_T_STRLIST || v->type == RG_T_NONE)
        return;
    if (key_len > UINT8_MAX)
        key_len = UINT8_MAX;
    rg_put_u8(out, (uint8_t)key_len);
    rg_strbuf_append(out, key, key_len);
    rg_put_u8(out, (uint8_t)v->type);
    rg_put_u8(out, v->known);
    if (!v->known)
        return;
    switch (v->type) {
    case RG_T_BOOL:
        rg_put_u8(out, v->u.b);
        break;
    case RG_T_INT:
    case RG_T_MONEY:
    case RG_T_DURATION:
        rg_put_i64(out, v->u.i);
        break;
    case RG_T_NUMBER: {
        uint64_t bits;
        memcpy(&bits, &v->u.d, sizeof bits);
        rg_put_u64(out, bits);
        break;
    }
    case RG_T_STRING: {
        size_t len = v->u.str.len > UINT16_MAX ? UINT16_MAX : v->u.str.len;
        rg_put_u8(out, (uint8_t)(len & 0xff));
        rg_put_u8(out, (uint8_t)(len >> 8));
        rg_strbuf_append(out, v->u.str.s, len);
        break;
    }
    default:
        break;
    }
}

int rg_values_each(const void *bytes, size_t len,
                   bool (*fn)(void *arg, const char *key, size_t key_len, const rg_value *v), void *arg)
{
    rg_reader in;
    rg_reader_init(&in, bytes, len, 0);
    uint32_t count = rg_get_u8(&in, "value count");
    count |= (uint32_t)rg_get_u8(&in, "value count") << 8;
    for (uint32_t i = 0; i < count && rg_reader_ok(&in); i++) {
        size_t key_len = rg_get_u8(&in, "key length");
        if (rg_reader_left(&in) < key_len) {
            rg_reader_fail(&in, "key", "beyond the end");
            break;
        }
        const char *key = (const char *)in.p + in.pos;
        in.pos += key_len;
        rg_value v = {.type = (rg_type)rg_get_u8(&in, "type")};
        v.known = rg_get_u8(&in, "known") != 0;
        if (!rg_reader_ok(&in))
            break;
        if (v.known) {
            switch (v.type) {
            case RG_T_BOOL:
                v.u.b = rg_get_u8(&in, "bool") != 0;
                break;
            case RG_T_INT:
            case RG_T_MONEY:
            case RG_T_DURATION:
                v.u.i = rg_get_i64(&in, "integer");
                break;
            case RG_T_NUMBER: {
                uint64_t bits = rg_get_u64(&in, "number");
                memcpy(&v.u.d, &bits, sizeof bits);
                break;
            }
            case RG_T_STRING: {
                size_t n = rg_get_u8(&in, "string length");
                n |= (size_t)rg_get_u8(&in, "string length") << 8;
                if (rg_reader_ok(&in) && rg_reader_left(&in) < n) {
                    rg_reader_fail(&in, "string", "beyond the end");
                    break;
                }
                v.u.str.s = (const char *)in.p + in.pos;
                v.u.str.len = n;
                in.pos += n;
                break;
            }
            default:
                rg_reader_fail(&in, "type", "not a shippable type");
                break;
            }
        }
        if (!rg_reader_ok(&in))
            break;
        if (!fn(arg, key, key_len, &v))
            return 0;
    }
    return rg_reader_ok(&in) ? 0 : -1;
}
