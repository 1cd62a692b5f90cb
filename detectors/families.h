/*
 * families — the detector families registry.c lists, one per file.
 *
 * Owner: detectors. Only registry.c and the detector tests need these
 * symbols; everything else reaches a detector through rg_detectors[] and
 * rg_registry_find (detector.h).
 */
#ifndef RG_FAMILIES_H
#define RG_FAMILIES_H

#include "detector.h"

extern const rg_detector rg_detector_fields;       /* fields.c: the event's own fields */
extern const rg_detector rg_detector_client;       /* client.c: client integrity, clock_skew */
extern const rg_detector rg_detector_velocity;     /* velocity.c: count(W, FILTER) */
extern const rg_detector rg_detector_counterparty; /* counterparty.c: counterparty_age, counterparty_senders(W) */
extern const rg_detector rg_detector_geo_signals;  /* geo_signals.c: geo_distance_km, geo_accuracy_km, ip_country */
extern const rg_detector rg_detector_login;        /* login.c: new_device, prev_login_country */
extern const rg_detector rg_detector_packets;      /* packets.c: claim_delay, packet_expired/overclaimed/reclaimed */
extern const rg_detector rg_detector_complaints;   /* complaints.c: ref_age, ref_counterparty */

#endif
