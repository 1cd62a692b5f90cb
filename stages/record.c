/* record — the records between stages; see record.h. */
#include "record.h"

#include <stdio.h>
#include <string.h>

#include "../common/binio.h"

#define FLAG_NEEDS_ENRICH 1u
#define FLAG_DRAINED 2u

void rg_rec_encode(const rg_rec *r, rg_strbuf *out)
{
    rg_strbuf_append(out, "RGR\002", 4);
    rg_put_u8(out, (uint8_t)r->kind);
    rg_put_u8(out, (uint8_t)((r->needs_enrich ? FLAG_NEEDS_ENRICH : 0) | (r->drained ? FLAG_DRAINED : 0)));
    rg_put_u8(out, (uint8_t)r->family);
    rg_put_u32(out, (uint32_t)r->src_partition);
    rg_put_i64(out, r->src_offset);
    rg_put_i64(out, r->ts_ms);
    rg_put_i64(out, r->msg_ts_ms);
    rg_put_i64(out, r->progress_ms);
    rg_put_u32(out, (uint32_t)r->values_len);
    if (r->values_len)
        rg_strbuf_append(out, r->values, r->values_len);
    rg_put_u32(out, (uint32_t)r->extra_len);
    if (r->extra_len)
        rg_strbuf_append(out, r->extra, r->extra_len);
    rg_put_u32(out, (uint32_t)r->raw_len);
    if (r->raw_len)
        rg_strbuf_append(out, r->raw, r->raw_len);
}

int rg_rec_decode(const void *bytes, size_t len, rg_rec *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    if (!bytes || len < 4 || memcmp(bytes, "RGR\002", 4) != 0) {
        snprintf(err, err_size, "not a riskgate stage record (bad magic or version)");
        return -1;
    }
    if (len > RG_REC_MAX_BYTES) {
        snprintf(err, err_size, "stage record of %zu bytes, over the %u maximum", len, RG_REC_MAX_BYTES);
        return -1;
    }
    rg_reader in;
    rg_reader_init(&in, bytes, len, 0);
    in.pos = 4;
    uint8_t kind = rg_get_u8(&in, "kind");
    uint8_t flags = rg_get_u8(&in, "flags");
    out->family = (char)rg_get_u8(&in, "family");
    out->src_partition = (int32_t)rg_get_u32(&in, "source partition");
    out->src_offset = rg_get_i64(&in, "source offset");
    out->ts_ms = rg_get_i64(&in, "ts");
    out->msg_ts_ms = rg_get_i64(&in, "message timestamp");
    out->progress_ms = rg_get_i64(&in, "progress");
    uint32_t vlen = rg_get_u32(&in, "values length");
    if (rg_reader_ok(&in) && vlen > rg_reader_left(&in))
        rg_reader_fail(&in, "values", "beyond the end of the record");
    if (rg_reader_ok(&in)) {
        out->values = in.p + in.pos;
        out->values_len = vlen;
        in.pos += vlen;
    }
    uint32_t xlen = rg_get_u32(&in, "extra length");
    if (rg_reader_ok(&in) && xlen > rg_reader_left(&in))
        rg_reader_fail(&in, "extra", "beyond the end of the record");
    if (rg_reader_ok(&in)) {
        out->extra = in.p + in.pos;
        out->extra_len = xlen;
        in.pos += xlen;
    }
    uint32_t rlen = rg_get_u32(&in, "raw length");
    if (rg_reader_ok(&in) && rlen != rg_reader_left(&in))
        rg_reader_fail(&in, "raw", "length does not match the record's end");
    if (rg_reader_ok(&in)) {
        out->raw = (const char *)in.p + in.pos;
        out->raw_len = rlen;
    }
    if (rg_reader_ok(&in) && (kind < RG_REC_EVENT || kind > RG_REC_HITS))
        rg_reader_fail(&in, "kind", "unknown");
    if (rg_reader_ok(&in) && out->src_partition < 0)
        rg_reader_fail(&in, "source partition", "negative");
    if (rg_reader_ok(&in) && (out->src_offset < -1 || out->src_offset > RG_REC_MAX_OFFSET))
        rg_reader_fail(&in, "source offset", "out of range");
    if (rg_reader_ok(&in) && (kind == RG_REC_ENTITY || kind == RG_REC_STORE) &&
        out->family != 'c' && out->family != 'p' && out->family != 't')
        rg_reader_fail(&in, "family", "not c, p or t");
    if (rg_reader_ok(&in) && (kind == RG_REC_HOLD || kind == RG_REC_HITS) && out->family != 's')
        rg_reader_fail(&in, "family", "not s");
    if (!rg_reader_ok(&in)) {
        snprintf(err, err_size, "stage record: %s", in.error);
        return -1;
    }
    out->kind = (rg_rec_kind)kind;
    out->needs_enrich = (flags & FLAG_NEEDS_ENRICH) != 0;
    out->drained = (flags & FLAG_DRAINED) != 0;
    return 0;
}

const char *rg_rec_kind_name(rg_rec_kind kind)
{
    switch (kind) {
    case RG_REC_EVENT: return "event";
    case RG_REC_ENTITY: return "entity";
    case RG_REC_STORE: return "store";
    case RG_REC_ENRICH: return "enrich";
    case RG_REC_MARK: return "mark";
    case RG_REC_HOLD: return "hold";
    case RG_REC_HITS: return "hits";
    }
    return "unknown";
}
