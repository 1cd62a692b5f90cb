/*
 * geo_distance — great-circle distance for geo_distance_km (geo.h
 * rg_geo_distance_km). Owner: the GeoIP module. Apart from geo.c (the
 * database handle) because it reads no database: a pure function of two
 * positions, whose per-thread memo of cos(latitude) is its only state.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "geo/geo.h"

/* cos of a latitude in radians, remembered per thread by the latitude's
 * bits: the first point of a distance is the IP's city (geo_signals.c),
 * and a capture's located events come from a few thousand cities (the
 * month: ~1,800 records) while their device positions are all distinct.
 * A pure function, so a remembered value is the one cos() gives. 256
 * ways direct-mapped; a colliding latitude only recomputes. */
static double cos_latitude(double phi)
{
    static _Thread_local struct {
        uint64_t bits;
        double cos;
        bool set;
    } memo[256];
    uint64_t bits;
    memcpy(&bits, &phi, sizeof bits);
    uint64_t h = bits * UINT64_C(0x9E3779B97F4A7C15);
    size_t i = (size_t)(h >> 56);
    if (!memo[i].set || memo[i].bits != bits) {
        memo[i].bits = bits;
        memo[i].cos = cos(phi);
        memo[i].set = true;
    }
    return memo[i].cos;
}

/* IUGG mean Earth radius: the sphere that best fits the ellipsoid, so
 * the error against the true (geodesic) distance stays within ~0.5%. */
static const double earth_radius_km = 6371.0088;
static const double rad_per_deg = 3.14159265358979323846 / 180.0;

double rg_geo_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    const double phi1 = lat1 * rad_per_deg, phi2 = lat2 * rad_per_deg;
    const double half_dphi = (lat2 - lat1) * rad_per_deg / 2.0;
    /* sin² of half the longitude difference is periodic, so a pair across
     * the antimeridian (179.5 and -179.5) comes out 1 degree apart. */
    const double half_dlambda = (lon2 - lon1) * rad_per_deg / 2.0;
    const double s_phi = sin(half_dphi), s_lambda = sin(half_dlambda);
    double h = s_phi * s_phi + cos_latitude(phi1) * cos(phi2) * s_lambda * s_lambda;
    /* Rounding can take h a hair past 1 for near-antipodal points, and
     * asin of more than 1 is NaN. (A NaN input still gives NaN.) */
    if (h > 1.0)
        h = 1.0;
    else if (h < 0.0)
        h = 0.0;
    return 2.0 * earth_radius_km * asin(sqrt(h));
}

bool rg_geo_distance_below(double lat1, double lon1, double lat2, double lon2, double km)
{
    /* NaN fails these too. */
    if (!(fabs(lat1) <= 90.0 && fabs(lat2) <= 90.0 && fabs(lon1) <= 180.0 && fabs(lon2) <= 180.0))
        return false;
    /* On the sphere, the great circle is no longer than the way along
     * lat1's parallel (the shorter way round) to lon2, then along that
     * meridian to lat2: R * (cos(lat1) * dlambda + |dphi|). The haversine
     * above is that great circle's length to within a few ulps; the
     * margin (a millionth, plus a millimetre) covers those and the
     * rounding of the bound itself many times over. */
    double dlon = fabs(lon2 - lon1);
    if (dlon > 180.0)
        dlon = 360.0 - dlon;
    /* First the same way with cos(lat1) taken as 1: no shorter (cos <= 1,
     * and rounding is monotone, so each step of it rounds to no less), so
     * when it is below km so is the way below; most devices are near the
     * IP's city, and this settles them without a cosine. */
    double loose_km = earth_radius_km * rad_per_deg * (dlon + fabs(lat2 - lat1));
    if (loose_km * (1.0 + 1e-6) + 1e-6 < km)
        return true;
    double way_km = earth_radius_km * rad_per_deg * (cos_latitude(lat1 * rad_per_deg) * dlon + fabs(lat2 - lat1));
    return way_km * (1.0 + 1e-6) + 1e-6 < km;
}
