/*
 * stage_values — the values of name uses that one stage of the streaming
 * topology computed for an event and the next stage needs (docs/
 * scale-out.md, "Records"): the login names from ingest, the counterparty,
 * packet and complaint names from the entity stage.
 *
 * A value travels under its use's key, the name and its window
 * ("counterparty_senders/86400000", "claim_delay"), not under a slot
 * number, so two instances running different rule files for a moment (a
 * reload rolling through them) still match what they share; a key the
 * receiver does not use is ignored, one it misses is unknown.
 *
 * Format (little-endian, common/binio.h): u16 count, then per value: u8
 * key length, key bytes, u8 type (rg_type), u8 known, and when known the
 * payload: BOOL u8, INT/MONEY/DURATION i64, NUMBER the double's 8 bytes,
 * STRING u16 length + bytes. Lists are never shipped (client.packages is
 * the event's own). Decoding treats the bytes as untrusted: every length
 * is checked.
 *
 * By slot (rg_engine_role.ship_by_slot, engine_ship.c): between threads
 * of one process on one rule set object, a value travels under its use's
 * slot (rg_name_use.slot) in a fixed 16-byte head (u32 slot, u8 type, u8
 * known, u16 string length, 8-byte payload), a STRING's bytes (at most
 * UINT16_MAX, as above) after it padded to 8; u16 count first, as above.
 * No key is written or looked up.
 *
 * Ownership: decoded STRING values point into the caller's bytes, which
 * must outlive their use (the evaluation of one event).
 */
#ifndef RG_STAGE_VALUES_H
#define RG_STAGE_VALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/strbuf.h"
#include "../common/value.h"
#include "../detectors/detector.h"

#define RG_SHIP_KEY_MAX 96

/* The key a use travels under: name, or name/window_ms for a use with a
 * window. Writes at most RG_SHIP_KEY_MAX bytes (NUL included); returns the
 * length. */
size_t rg_use_ship_key(const rg_name_use *use, char *buf);

/* Append (key, v) to a list begun by rg_values_begin. A STRLIST value is
 * skipped. */
void rg_values_begin(rg_strbuf *out);
void rg_values_add(rg_strbuf *out, const char *key, size_t key_len, const rg_value *v);
/* Patch the count in; `at` is out->len before rg_values_begin. */
void rg_values_end(rg_strbuf *out, size_t at, uint16_t count);

/* Walk a list: calls fn for each value until it returns false. 0, or -1
 * when the bytes are malformed (fn may have been called for the values
 * before the fault). */
int rg_values_each(const void *bytes, size_t len,
                   bool (*fn)(void *arg, const char *key, size_t key_len, const rg_value *v), void *arg);

#endif
