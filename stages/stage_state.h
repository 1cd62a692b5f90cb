/*
 * stage_state — the frame of a stage task's saved state (the body of a
 * snapshot, docs/scale-out.md "State moves with its partition"):
 *
 *   "RGSTG" u8 version (1), u8 stage ('i' ingest, 'e' entity, 'd'
 *   decide), i32 partition, then the stage's own fields, then u32 length +
 *   the engine's blob (decisions/engine.h rg_engine_save).
 *
 * Private to stages/. Loading checks the stage and the partition: a
 * snapshot restores only the task it was taken from.
 */
#ifndef RG_STAGES_STAGE_STATE_H
#define RG_STAGES_STAGE_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "../common/binio.h"
#include "../common/strbuf.h"
#include "../decisions/engine.h"

void rg_stage_state_begin(rg_strbuf *out, char stage, int32_t partition);
/* Append the engine's state (u32 length + blob). 0, or -1 with err. */
int rg_stage_state_engine(rg_strbuf *out, const rg_engine *e, char *err, size_t err_size);

/* Open a saved state for stage/partition; the reader is left at the
 * stage's own fields. 0, or -1 with err. */
int rg_stage_state_open(rg_reader *in, const void *bytes, size_t len, char stage, int32_t partition, char *err,
                        size_t err_size);
/* Read the engine blob (the last field) into e, which must be fresh. 0, or
 * -1 with err (a reader fault on the fields before it is reported too). */
int rg_stage_state_load_engine(rg_reader *in, rg_engine *e, char *err, size_t err_size);

#endif
