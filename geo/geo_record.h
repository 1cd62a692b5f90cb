/*
 * geo_record — internal to geo/: reading one data record of either layout
 * into an rg_geo_result, and detecting a database's layout. geo.c owns the
 * databases; these functions only read through the pointers they are
 * given and keep nothing. Thread-safe on a read-only (mapped) database.
 */
#ifndef RG_GEO_RECORD_H
#define RG_GEO_RECORD_H

#include <maxminddb.h>

#include "geo/geo.h"

/* Fill the country, city, position and accuracy fields of *out from a
 * record of the given layout (out->found is the caller's). Absent or
 * odd-typed fields read as absent. 0, or -1 when the record's data is
 * corrupt (*out then partly written: the caller zeroes it). */
int rg_geo_read_record(rg_geo_layout layout, MMDB_entry_s *entry, rg_geo_result *out);

/* The layout of an opened database from its first data records (bounded
 * walk): RG_GEO_LAYOUT_FLAT or _MAXMIND, 0 when no record tells, -1 on a
 * corrupt tree or record. */
int rg_geo_probe_layout(const MMDB_s *mmdb);

/* The layout the producers' database_type names mean; 0 when none (NULL
 * allowed). Only for databases whose records do not tell. */
rg_geo_layout rg_geo_layout_from_type(const char *type);

#endif
