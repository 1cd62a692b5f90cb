/*
 * record — what one stage of the topology sends the next (docs/
 * scale-out.md, "Records"): the value of a message on <group>.entities or
 * <group>.decide (in replay's threads, of an in-memory queue).
 *
 * Kinds:
 *   EVENT   ingest -> decide: an accepted event, with the values of the
 *           ingest stage's names (login); needs_enrich when an ENRICH
 *           record for it will come from the entity stage
 *   ENTITY  ingest -> entity: the event, for the family of its key, whose
 *           names the decide stage needs (an ENRICH answers it)
 *   STORE   ingest -> entity: the event, for the family of its key to
 *           remember (no answer)
 *   ENRICH  entity -> decide: the values of the entity names for the
 *           event (source partition, source offset)
 *   MARK    ingest -> entity: the source's progress alone
 *   HOLD    ingest -> entity ('s' family, key "s:SUBJECT"): a place in the
 *           subject's event-time order for a decision whose cooldown the
 *           subject's task keeps (docs/scale-out.md, "Cooldowns of other
 *           subjects"); extra = u8 rank, then the subject
 *   HITS    decide -> entity ('s' family): the rule hits of that decision
 *           (possibly none), finished by the subject's task; extra =
 *           stages/held.h's encoding
 *
 * EVENT's extra lists the subjects ingest held for it (held.h).
 *
 * Every record names its source (the ingest task: events partition and
 * offset of the event), the event's ts and message timestamp (the merge's
 * order and tie-break), and the source's progress (the highest ts it has
 * evaluated, advanced by silence while its partition is drained) and
 * whether its partition is drained (the merge's wait rule).
 *
 * Layout (little-endian): "RGR" 2 (magic + version), u8 kind, u8 flags
 * (1 needs_enrich, 2 drained), u8 family ('c' counterparty, 'p' packets,
 * 't' complaints, 's' subjects; 0 none), i32 source partition, i64 source
 * offset, i64 ts, i64 message timestamp, i64 progress, u32 values length
 * + values (decisions/stage_values.h), u32 extra length + extra, u32 raw
 * length + the event's JSON bytes.
 * Decoding checks every length: the bytes came over the network.
 *
 * Ownership: a decoded record points into the caller's bytes.
 */
#ifndef RG_STAGES_RECORD_H
#define RG_STAGES_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"

typedef enum rg_rec_kind {
    RG_REC_EVENT = 1,
    RG_REC_ENTITY = 2,
    RG_REC_STORE = 3,
    RG_REC_ENRICH = 4,
    RG_REC_MARK = 5,
    RG_REC_HOLD = 6,
    RG_REC_HITS = 7
} rg_rec_kind;

typedef struct rg_rec {
    rg_rec_kind kind;
    bool needs_enrich;      /* EVENT */
    bool drained;           /* the source's partition is drained (its progress follows its silence) */
    char family;            /* ENTITY/STORE: 'c', 'p' or 't'; HOLD/HITS: 's' */
    int32_t src_partition;
    int64_t src_offset;
    int64_t ts_ms;
    int64_t msg_ts_ms;      /* -1 unknown */
    int64_t progress_ms;    /* INT64_MIN: none yet */
    const void *values;     /* EVENT, ENRICH */
    size_t values_len;
    const void *extra;      /* EVENT, HOLD, HITS (held.h) */
    size_t extra_len;
    const char *raw;        /* EVENT, ENTITY, STORE, HITS */
    size_t raw_len;
} rg_rec;

/* The largest source offset decode accepts: the stages number a record
 * within its source as offset x 8 + rank (merge.h, held.h), which must
 * not overflow. A Kafka offset never comes near 2^59. The smallest is -1
 * (a MARK has no source offset). */
#define RG_REC_MAX_OFFSET (INT64_MAX / 16)

/* The largest record decode accepts (an event is at most 1 MiB, plus
 * values). */
#define RG_REC_MAX_BYTES (2u << 20)

/* Append r's encoding to out (check rg_strbuf_ok). */
void rg_rec_encode(const rg_rec *r, rg_strbuf *out);

/* 0, or -1 with err naming what is wrong (not a record, a length beyond
 * the bytes, an unknown kind). */
int rg_rec_decode(const void *bytes, size_t len, rg_rec *out, char *err, size_t err_size);

/* The name of a kind, for logs. */
const char *rg_rec_kind_name(rg_rec_kind kind);

#endif
