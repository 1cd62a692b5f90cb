/*
 * registry — the one table of detector families (detectors/detector.h).
 *
 * Owner: detectors. Adding a family is one new file exporting one
 * `const rg_detector` plus one line here; the rule loader finds every
 * built-in name through rg_registry_find, so nothing else changes.
 * The order of this table is the order of rg_registry_index and of the
 * engine's per-detector state array; it carries no meaning otherwise.
 */
#include <string.h>

#include "detector.h"
#include "families.h"

const rg_detector *const rg_detectors[] = {
    &rg_detector_fields,
    &rg_detector_client,
    &rg_detector_velocity,
    &rg_detector_counterparty,
    &rg_detector_geo_signals,
    &rg_detector_login,
    &rg_detector_packets,
    &rg_detector_complaints,
    NULL,
};

const rg_name_spec *rg_registry_find(const char *name, size_t len, const rg_detector **out_detector)
{
    if (out_detector)
        *out_detector = NULL;
    if (!name)
        return NULL;
    for (size_t d = 0; rg_detectors[d]; d++) {
        const rg_detector *det = rg_detectors[d];
        for (size_t i = 0; i < det->n_names; i++) {
            const rg_name_spec *spec = &det->names[i];
            if (strlen(spec->name) == len && memcmp(spec->name, name, len) == 0) {
                if (out_detector)
                    *out_detector = det;
                return spec;
            }
        }
    }
    return NULL;
}

int rg_registry_index(const rg_detector *d)
{
    for (int i = 0; rg_detectors[i]; i++)
        if (rg_detectors[i] == d)
            return i;
    return -1;
}
