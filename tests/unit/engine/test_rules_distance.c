/*
 * Unit tests for `geo_distance_km > X` as rg_eval_fires asks it
 * (rules/expr_fires.c fires_distance_over: a bound on the positions
 * first, and X's least value, rg_expr.x_floor, known at load) against the
 * generic walk. Out of test_rules_fastpath.c, which tests the other
 * specialised shapes. Owner: rules.
 */
#include "test_rules_util.h"

#include <arpa/inet.h>
#include <math.h>

#include "rules/expr.h"

/* The event's GeoIP answer, as if looked up (fx contexts have no
 * database): what rg_eval_geo returns for the rest of the event. */
static void fake_lookup(rules_fx *f, const rg_geo_result *where)
{
    f->ctx.geo_gen = f->ctx.gen;
    f->ctx.geo_ok = where != NULL;
    if (where)
        f->ctx.geo_res = *where;
}

/* `geo_distance_km > X` (and >=) as rg_eval_fires asks it (the positions'
 * bound first, rules/expr_fires.c fires_distance_over) against the generic
 * walk, on devices from metres to thousands of km from the IP's city,
 * with records at city level, country level and none, thresholds from a
 * sum, a literal and an integer name; the distance is left out only when
 * the rule does not fire. */
static void test_distance_bound_equals_generic(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "geo_distance_km > 500 + geo_accuracy_km", "geo_distance_km >= 5 + geo_accuracy_km",
        "geo_distance_km > 100", "geo_distance_km >= 0", "geo_distance_km > shares", "geo_distance_km > 1 / 0",
        "geo_distance_km >= 2 * geo_accuracy_km",
    };
    const double offsets[] = {0.0, 0.0001, 0.01, 0.5, 0.9, 1.0, 4.4, 4.5, 5.0, 20.0, 120.0, -60.0};
    for (size_t x = 0; x < sizeof exprs / sizeof exprs[0]; x++)
        for (size_t o = 0; o < sizeof offsets / sizeof offsets[0]; o++)
            for (int level = 0; level < 3; level++) {
                rg_event ev = mk_transfer(T0, "u-1", "u-2", 100);
                ev.ip = "1.2.3.4";
                ev.ip_family = AF_INET;
                memcpy(ev.ip_bin, (const unsigned char[]){1, 2, 3, 4}, 4);
                ev.has_location = true;
                ev.lat = 31.2304 + offsets[o];
                ev.lon = 121.4737 - offsets[o] * 0.7;
                if (ev.lon < -180.0)
                    ev.lon += 360.0;
                rg_geo_result where;
                memset(&where, 0, sizeof where);
                where.found = true;
                memcpy(where.country, "CN", 3);
                where.city_level = level == 0;
                where.lat = 31.2304;
                where.lon = 121.4737;
                where.accuracy_km = (int32_t)(o * 10);
                char *yaml = one_rule_file(exprs[x]);
                rules_fx f, g;
                fx_load(&f, yaml);
                fx_load(&g, yaml);
                free(yaml);
                rg_expr_despecialise(rg_ruleset_rule(g.rs, 0)->when);
                fx_begin(&f, &ev);
                fx_begin(&g, &ev);
                fake_lookup(&f, level < 2 ? &where : NULL);
                fake_lookup(&g, level < 2 ? &where : NULL);
                bool fires = rg_eval_fires(&f.ctx, rg_ruleset_rule(f.rs, 0)->when);
                rg_tri walk = rg_eval_condition(&g.ctx, rg_ruleset_rule(g.rs, 0)->when);
                if (fires != (walk == RG_TRUE))
                    fail_msg("%s, device %g deg off, level %d: fires %d, walk %s", exprs[x], offsets[o], level, fires,
                             tri_name(walk));
                if (fires && !fx_asked(&f, "geo_distance_km"))
                    fail_msg("%s, device %g deg off: fires without the distance", exprs[x], offsets[o]);
                if (x == 0 && level == 0 && offsets[o] == 0.01 && fx_asked(&f, "geo_distance_km"))
                    fail_msg("%s, device 1 km off: the bound did not settle it", exprs[x]);
                if (x == 0 && level == 0 && offsets[o] == 0.01 && fx_asked(&f, "geo_accuracy_km"))
                    fail_msg("%s, device 1 km off: the floor of X did not settle it", exprs[x]);
                fx_end(&f, &ev);
                fx_end(&g, &ev);
                fx_close(&f);
                fx_close(&g);
            }
}

/* The floor of X in `geo_distance_km > X` (rg_expr.x_floor): literals,
 * geo_accuracy_km's 0 and NUMBER sums of those; nothing else promises
 * one (a product, a name of another family, an integer sum). */
static void test_distance_x_floor(void **state)
{
    (void)state;
    const struct {
        const char *expr;
        bool has;
        double floor;
    } cases[] = {
        {"geo_distance_km > 500 + geo_accuracy_km", true, 500.0},
        {"geo_distance_km >= geo_accuracy_km + 5 + 7", true, 12.0},
        {"geo_distance_km > 100", true, 100.0},
        {"geo_distance_km > geo_accuracy_km", true, 0.0},
        {"geo_distance_km > 2 * geo_accuracy_km", false, 0.0},
        {"geo_distance_km > 500 - geo_accuracy_km", false, 0.0},
        {"geo_distance_km > shares", false, 0.0},
        {"geo_distance_km > 500 + shares", false, 0.0},
        {"geo_distance_km < 500 + geo_accuracy_km", false, 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rules_fx f;
        fx_load_expr(&f, cases[i].expr);
        const rg_expr *when = rg_ruleset_rule(f.rs, 0)->when;
        if (when->has_x_floor != cases[i].has || (cases[i].has && when->x_floor != cases[i].floor))
            fail_msg("%s: floor %d %g, want %d %g", cases[i].expr, when->has_x_floor, when->x_floor, cases[i].has,
                     cases[i].floor);
        fx_close(&f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distance_bound_equals_generic),
        cmocka_unit_test(test_distance_x_floor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
