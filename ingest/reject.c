/*
 * reject — reject kind names and the rejects-file / dead-letter record
 * (reject.h, events.md "Bad input"). Owned by the ingest layer.
 */
#include "reject.h"

#include <string.h>

static const char *const kind_names[RG_REJ_KIND_COUNT] = {
    [RG_REJ_LINE_TOO_LONG] = "line_too_long",
    [RG_REJ_INVALID_UTF8] = "invalid_utf8",
    [RG_REJ_INVALID_JSON] = "invalid_json",
    [RG_REJ_TOO_DEEP] = "too_deep",
    [RG_REJ_DUPLICATE_KEY] = "duplicate_key",
    [RG_REJ_NOT_OBJECT] = "not_object",
    [RG_REJ_MISSING_FIELD] = "missing_field",
    [RG_REJ_WRONG_TYPE] = "wrong_type",
    [RG_REJ_UNKNOWN_TYPE] = "unknown_type",
    [RG_REJ_OUT_OF_RANGE] = "out_of_range",
    [RG_REJ_EMPTY_STRING] = "empty_string",
    [RG_REJ_STRING_TOO_LONG] = "string_too_long",
    [RG_REJ_BAD_STRING] = "bad_string",
    [RG_REJ_BAD_IP] = "bad_ip",
    [RG_REJ_BAD_TIME] = "bad_time",
    [RG_REJ_BAD_VALUE] = "bad_value",
    [RG_REJ_BAD_ENVELOPE] = "bad_envelope",
};

const char *rg_reject_kind_name(rg_reject_kind k)
{
    return (unsigned)k < RG_REJ_KIND_COUNT ? kind_names[k] : NULL;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0. */
static size_t seq_len(const char *s, size_t len)
{
    for (size_t n = 1; n <= 4 && n <= len; n++)
        if (rg_utf8_valid(s, n))
            return n;
    return 0;
}

/* A JSON string from text that should be UTF-8 but is not guaranteed to
 * be (a file name from the command line): each byte that does not start a
 * valid sequence becomes U+FFFD, so the record is always valid JSON. */
static void put_text(rg_strbuf *out, const char *s, size_t len)
{
    if (rg_utf8_valid(s, len)) {
        rg_strbuf_put_json_str(out, s, len);
        return;
    }
    rg_strbuf clean = RG_STRBUF_INIT;
    for (size_t i = 0; i < len;) {
        size_t n = seq_len(s + i, len - i);
        if (n) {
            rg_strbuf_append(&clean, s + i, n);
            i += n;
        } else {
            rg_strbuf_append(&clean, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    if (!rg_strbuf_ok(&clean))
        out->oom = true;
    else
        rg_strbuf_put_json_str(out, clean.data, clean.len);
    rg_strbuf_free(&clean);
}

void rg_reject_write_json(const rg_reject *rej, const char *source, const void *raw, size_t raw_len,
                          rg_strbuf *out)
{
    const char *kind = rg_reject_kind_name(rej->kind);
    rg_strbuf_puts(out, "{\"error\":");
    put_text(out, rej->error, strnlen(rej->error, sizeof rej->error));
    rg_strbuf_puts(out, ",\"kind\":");
    put_text(out, kind ? kind : "unknown", strlen(kind ? kind : "unknown"));
    rg_strbuf_puts(out, ",\"field\":");
    if (rej->field)
        put_text(out, rej->field, strlen(rej->field));
    else
        rg_strbuf_puts(out, "null");
    rg_strbuf_puts(out, ",\"source\":");
    if (source)
        put_text(out, source, strlen(source));
    else
        rg_strbuf_puts(out, "null");

    const char *bytes = raw ? raw : "";
    size_t cut = raw ? raw_len : 0;
    if (cut > RG_REJECT_RAW_MAX) {
        /* Back up over continuation bytes so the cut does not split a
         * sequence; at most three, or the input was not UTF-8 anyway. */
        cut = RG_REJECT_RAW_MAX;
        for (size_t back = 0; back < 3 && cut > 0 && ((unsigned char)bytes[cut] & 0xC0) == 0x80; back++)
            cut--;
    }
    if (rg_utf8_valid(bytes, cut)) {
        rg_strbuf_puts(out, ",\"raw\":");
        rg_strbuf_put_json_str(out, bytes, cut);
    } else {
        rg_strbuf_puts(out, ",\"raw_base64\":\"");
        rg_strbuf_put_base64(out, bytes, raw_len < RG_REJECT_RAW_MAX ? raw_len : RG_REJECT_RAW_MAX);
        rg_strbuf_putc(out, '"');
    }
    rg_strbuf_putc(out, '}');
}
