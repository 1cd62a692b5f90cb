/*
 * checkpoint — detector state and the input offsets it reflects, written
 * together in one SQLite transaction under --state DIR, so that after a
 * kill -9 the state loaded at restart agrees with where consumption
 * resumes (design.md, "State").
 *
 * File: DIR/checkpoint.db (WAL, synchronous=FULL). Tables:
 *   offsets(topic, partition, next_offset)   next offset to read per partition
 *   state(id=1, saved_at_ms, ruleset, blob)  the engine's state, opaque bytes
 * The runner stores a checkpoint only once every event below its offsets
 * has all its records acknowledged, and its state is serialised when
 * exactly those events had been evaluated, so "the state reflects events
 * up to next_offset - 1" holds exactly (run_commit.c).
 *
 * The state part is behind rg_state_codec (engine_proc.c wires it to
 * rg_engine_save / rg_engine_load). A processor without a codec (NULL
 * functions) stores only offsets: no blob row, and a restart resumes from
 * Kafka's committed offsets with empty state.
 *
 * Ownership: rg_checkpoint owns its sqlite3 handle. One thread at a time:
 * rg_checkpoint_serialise touches only the blob bookkeeping (the engine
 * thread calls it); every function that reads or writes the database runs
 * on whichever single thread owns the database at that point (the
 * runner's checkpoint writer while it runs, checkpoint_writer.h).
 * Errors: -1 with errstr naming the file and SQLite's message.
 */
#ifndef RG_STREAM_CHECKPOINT_H
#define RG_STREAM_CHECKPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"

typedef struct rg_checkpoint rg_checkpoint;

/* Serialise / restore the engine's state. save appends bytes to out;
 * load restores from bytes. Both return 0 or -1 with errstr. NULL
 * functions: no state is kept. */
typedef struct rg_state_codec {
    void *opaque;
    int (*save)(void *opaque, rg_strbuf *out, char *errstr, size_t errstr_size);
    int (*load)(void *opaque, const void *bytes, size_t len, char *errstr, size_t errstr_size);
} rg_state_codec;

typedef struct rg_checkpoint_offset {
    int32_t partition;
    int64_t next_offset;
} rg_checkpoint_offset;

/* Open or create DIR/checkpoint.db (creating DIR, mode 0700). NULL with
 * errstr on failure. */
rg_checkpoint *rg_checkpoint_open(const char *dir, char *errstr, size_t errstr_size);
void rg_checkpoint_close(rg_checkpoint *cp);   /* NULL-safe */

/* One transaction: the offsets stored for topic become exactly these
 * (partitions not listed lose their row: they are no longer held) and,
 * when codec->save is set, the state blob is replaced. Nothing is written
 * on error. rg_checkpoint_serialise then rg_checkpoint_store. */
int rg_checkpoint_write(rg_checkpoint *cp, const char *topic, const rg_checkpoint_offset *offsets, size_t n,
                        const rg_state_codec *codec, const char *ruleset, int64_t now_ms, char *errstr,
                        size_t errstr_size);

/* The two halves of rg_checkpoint_write, so that they can run on two
 * threads (the runner serialises on its engine thread and stores on its
 * checkpoint writer's, checkpoint_writer.h).
 *
 * serialise: append the state (codec->save, not NULL) to *blob, reserving
 * about the previous blob's size first. 0, or -1 with errstr. Touches no
 * database.
 * store: one transaction as rg_checkpoint_write describes, with *blob as
 * the state (NULL: the state row is left as it is). 0, or -1 with errstr
 * and nothing written. */
int rg_checkpoint_serialise(rg_checkpoint *cp, const rg_state_codec *codec, rg_strbuf *blob, char *errstr,
                            size_t errstr_size);
int rg_checkpoint_store(rg_checkpoint *cp, const char *topic, const rg_checkpoint_offset *offsets, size_t n,
                        const rg_strbuf *blob, const char *ruleset, int64_t now_ms, char *errstr,
                        size_t errstr_size);

/* One transaction: a row for each of these partitions that has none yet
 * (an existing row is kept: the stored state reflects that partition up
 * to it); the state blob and the other rows are untouched. For a
 * partition whose events the stored state does not reflect at all (taken
 * after the last write), its row is where its consumption began: a
 * restart then evaluates it again from there against that state. Nothing
 * is written on error. */
int rg_checkpoint_add_offsets(rg_checkpoint *cp, const char *topic, const rg_checkpoint_offset *offsets, size_t n,
                              char *errstr, size_t errstr_size);

/* Next offset stored for (topic, partition): 0 with *next_offset set, 1
 * when none is stored, -1 on error. */
int rg_checkpoint_get_offset(rg_checkpoint *cp, const char *topic, int32_t partition, int64_t *next_offset,
                             char *errstr, size_t errstr_size);

/* Every offset stored for topic (those of the last write), by partition.
 * 0 with *out (the caller frees it; NULL when *n is 0), -1 on error. */
int rg_checkpoint_list_offsets(rg_checkpoint *cp, const char *topic, rg_checkpoint_offset **out, size_t *n,
                               char *errstr, size_t errstr_size);

/* Restore state through codec->load: 1 when a blob was stored and loaded,
 * 0 when there is none (or codec->load is NULL), -1 on error. */
int rg_checkpoint_load_state(rg_checkpoint *cp, const rg_state_codec *codec, int64_t *saved_at_ms,
                             char *errstr, size_t errstr_size);

#endif
