/*
 * geo_signals — where the event's IP is, and how far that is from where
 * the device says it is (rules.md: geo_distance_km, geo_accuracy_km,
 * ip_country; detection.md: ip_geo_mismatch).
 *
 * Owner: detectors. Stateless and filterable: every value comes from the
 * event and its GeoIP record, looked up once per event through the
 * evaluation context's memo (rg_eval_geo), whichever names ask.
 *   geo_distance_km  great-circle km from the IP's city-level position to
 *                    `location`; unknown without an IP in the database, a
 *                    location, or when the record is country level only
 *                    (a country centroid says nothing about distance).
 *   geo_accuracy_km  the record's accuracy radius, 0 when it gives none;
 *                    unknown when the IP is not in the database.
 *   ip_country       ISO 3166-1 alpha-2 of the IP; unknown when the IP is
 *                    not in the database or its record names no country.
 * The returned ip_country string borrows the context's GeoIP record,
 * valid until the next event. geo_distance_km of an event without a
 * location is unknown before any lookup: the IP is looked up only when a
 * name's value depends on the answer.
 */
#include <string.h>

#include "geo_signals.h"

#include "../geo/geo.h"
#include "../rules/eval.h"
#include "detector.h"

enum geo_name { G_DISTANCE_KM, G_ACCURACY_KM, G_IP_COUNTRY, G_COUNT };

static const rg_name_spec geo_names[G_COUNT] = {
    [G_DISTANCE_KM] = {"geo_distance_km", RG_T_NUMBER, {RG_ARG_NONE}, true,
                       "km from the IP's city-level position to `location`; unknown without both or when the "
                       "database places the IP only at country level"},
    [G_ACCURACY_KM] = {"geo_accuracy_km", RG_T_NUMBER, {RG_ARG_NONE}, true,
                       "accuracy radius (km) of the IP's record, 0 when none; unknown when the IP is not in the "
                       "database"},
    [G_IP_COUNTRY] = {"ip_country", RG_T_STRING, {RG_ARG_NONE}, true,
                      "ISO 3166-1 alpha-2 country of the IP; unknown when not in the database"},
};

/* Without an IP nothing is looked up; without a location no distance. */
static const uint32_t geo_needs[G_COUNT] = {
    [G_DISTANCE_KM] = RG_PART_IP | RG_PART_LOCATION,
    [G_ACCURACY_KM] = RG_PART_IP,
    [G_IP_COUNTRY] = RG_PART_IP,
};

static char geo_token;

static void *geo_create(const rg_detector_config *cfg, char *errstr, size_t errstr_size)
{
    return &geo_token;
}

static void geo_destroy(void *state) {}

bool rg_geo_signals_is_distance(const rg_name_spec *spec) { return spec == &geo_names[G_DISTANCE_KM]; }

bool rg_geo_signals_floor(const rg_name_spec *spec, double *at)
{
    if (spec != &geo_names[G_ACCURACY_KM])
        return false;
    *at = 0.0;   /* geo_eval: the radius when positive, else 0 */
    return true;
}

const rg_geo_result *rg_geo_signals_distance_ends(struct rg_eval_ctx *ctx, const rg_event *ev)
{
    /* Without a location the distance is unknown whatever the database
     * says: no lookup for it (most events have none; docs/geoip.md). */
    if (!ev->has_location)
        return NULL;
    const rg_geo_result *where = ctx ? rg_eval_geo(ctx) : NULL;
    return where && where->city_level ? where : NULL;
}

static rg_value geo_eval(void *state, const rg_name_use *use, const rg_event *ev, struct rg_eval_ctx *ctx)
{
    rg_type type = use->spec->type;
    if (use->spec == &geo_names[G_DISTANCE_KM]) {
        const rg_geo_result *where = rg_geo_signals_distance_ends(ctx, ev);
        return where ? rg_number(rg_geo_distance_km(where->lat, where->lon, ev->lat, ev->lon)) : rg_unknown(type);
    }
    const rg_geo_result *where = ctx ? rg_eval_geo(ctx) : NULL;
    if (!where)
        return rg_unknown(type);
    switch (use->spec - geo_names) {
    case G_ACCURACY_KM:
        return rg_number(where->accuracy_km > 0 ? (double)where->accuracy_km : 0.0);
    case G_IP_COUNTRY:
        if (!where->country[0])
            return rg_unknown(type);
        return rg_string(where->country, strlen(where->country));
    default:
        return rg_unknown(type);
    }
}

const rg_detector rg_detector_geo_signals = {
    .family = "geo",
    .names = geo_names,
    .n_names = G_COUNT,
    .create = geo_create,
    .eval = geo_eval,
    .destroy = geo_destroy,
    .kept = RG_KEPT_NONE,
    .state = "none: one GeoIP lookup of the event's ip, shared by every geo name",
    .name_needs = geo_needs,
};
