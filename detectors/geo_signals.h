/*
 * geo_signals — what the rules' fast path for geo_distance_km needs to
 * know of the geo family (geo_signals.c), so that it asks exactly what
 * the name's own evaluation asks.
 *
 * Owner: detectors. A rule `geo_distance_km > X` (or >=) fires only when
 * the distance exceeds X; on most events it is far below, which the
 * positions tell without the distance's trigonometry
 * (rg_geo_distance_below). The rules module (expr_fires.c) asks
 * rg_geo_signals_distance_ends first, which looks the IP up exactly when
 * geo_distance_km's evaluation would, then X, then the bound, and
 * computes the name's value only when the bound cannot settle it. With
 * rg_geo_signals_floor it bounds X too (`500 + geo_accuracy_km` is at
 * least 500), and asks X only when the distance may reach that.
 */
#ifndef RG_GEO_SIGNALS_H
#define RG_GEO_SIGNALS_H

#include <stdbool.h>

#include "../geo/geo.h"
#include "../ingest/event.h"
#include "detector.h"

struct rg_eval_ctx;

/* Is spec geo_distance_km's? */
bool rg_geo_signals_is_distance(const rg_name_spec *spec);

/* The IP's record when geo_distance_km of ev is known (a location, the IP
 * in the database at city level), looked up as the name's evaluation
 * looks it up (rg_eval_geo, memoised); NULL when the distance is unknown.
 * The distance is rg_geo_distance_km(where->lat, where->lon, ev->lat,
 * ev->lon). */
const rg_geo_result *rg_geo_signals_distance_ends(struct rg_eval_ctx *ctx, const rg_event *ev);

/* The least value the geo name of spec takes when it is known, in *at:
 * true for geo_accuracy_km (0, a record without a radius), false for the
 * others (no promise). */
bool rg_geo_signals_floor(const rg_name_spec *spec, double *at);

#endif
