/* stage_state — the frame of a task's saved state; see stage_state.h. */
#include "stage_state.h"

#include <stdio.h>
#include <string.h>

#define STAGE_STATE_VERSION 1

void rg_stage_state_begin(rg_strbuf *out, char stage, int32_t partition)
{
    rg_strbuf_append(out, "RGSTG", 5);
    rg_put_u8(out, STAGE_STATE_VERSION);
    rg_put_u8(out, (uint8_t)stage);
    rg_put_u32(out, (uint32_t)partition);
}

int rg_stage_state_engine(rg_strbuf *out, const rg_engine *e, char *err, size_t err_size)
{
    size_t at = out->len;
    rg_put_u32(out, 0);
    if (rg_engine_save(e, out, err, err_size) != 0)
        return -1;
    if (!rg_strbuf_ok(out)) {
        snprintf(err, err_size, "out of memory saving the task state");
        return -1;
    }
    uint32_t len = (uint32_t)(out->len - at - 4);
    for (int i = 0; i < 4; i++)
        out->data[at + i] = (char)(unsigned char)(len >> (8 * i));
    return 0;
}

int rg_stage_state_open(rg_reader *in, const void *bytes, size_t len, char stage, int32_t partition, char *err,
                        size_t err_size)
{
    rg_reader_init(in, bytes, len, 0);
    if (len < 11 || memcmp(bytes, "RGSTG", 5) != 0) {
        snprintf(err, err_size, "task state: not a riskgate task state (bad magic)");
        return -1;
    }
    in->pos = 5;
    uint8_t version = rg_get_u8(in, "version");
    char got_stage = (char)rg_get_u8(in, "stage");
    int32_t got_partition = (int32_t)rg_get_u32(in, "partition");
    if (version != STAGE_STATE_VERSION) {
        snprintf(err, err_size, "task state: version %u, this build reads %u", version, STAGE_STATE_VERSION);
        return -1;
    }
    if (got_stage != stage || got_partition != partition) {
        snprintf(err, err_size, "task state: saved by task %c/%d, not %c/%d", got_stage, (int)got_partition, stage,
                 (int)partition);
        return -1;
    }
    return 0;
}

int rg_stage_state_load_engine(rg_reader *in, rg_engine *e, char *err, size_t err_size)
{
    uint32_t len = rg_get_u32(in, "engine state length");
    if (rg_reader_ok(in) && len != rg_reader_left(in))
        rg_reader_fail(in, "engine state", "length does not match the end of the task state");
    if (!rg_reader_ok(in)) {
        snprintf(err, err_size, "task state: %s", in->error);
        return -1;
    }
    return rg_engine_load(e, in->p + in->pos, len, err, err_size);
}
