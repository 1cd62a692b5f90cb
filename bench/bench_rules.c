/*
 * bench_rules — how long loading (checking) a large rule set takes: the
 * time `riskgate check-rules`, `replay --rules` and a SIGHUP reload spend
 * in rg_ruleset_load_sources, on rule files generated in memory.
 *
 *   bench_rules [N]     (default 40000)
 *
 * Cases, each the best of 3 loads, at N/4, N/2 and N rules (loading is
 * O(n) expected: the three times should grow about linearly):
 *   simple     N rules `amount > i`, distinct ids (issue 12.5's case);
 *   distinct   N rules, each with its own count() window and filter,
 *              counterparty_senders() window, signal, message and
 *              cooldown: N distinct name uses, N signals, N evidence keys;
 *   two files  the simple file plus a second file that overrides every
 *              other rule and appends to a list.
 * Prints one line per case and size; nothing is asserted (figures belong
 * in benchmarks, not tests).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/strbuf.h"
#include "rules/ruleset.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void simple_file(size_t n, rg_strbuf *out)
{
    rg_strbuf_puts(out, "version: 1\nlists:\n  tools: [com.a]\nrules:\n");
    for (size_t i = 0; i < n; i++)
        rg_strbuf_printf(out, "  - id: r_%zu\n    on: transfer\n    when: amount > %zu\n    then:\n"
                              "      - review: account\n",
                         i, i + 1);
}

static void distinct_file(size_t n, rg_strbuf *out)
{
    rg_strbuf_puts(out, "version: 1\nsignals:\n");
    for (size_t i = 0; i < n; i++)
        rg_strbuf_printf(out, "  s%zu: count(%zum, type == transfer and amount > %zu)\n", i, i % 36000 + 1, i);
    rg_strbuf_puts(out, "rules:\n");
    for (size_t i = 0; i < n; i++)
        rg_strbuf_printf(out,
                         "  - id: r_%zu\n    on: [transfer, login]\n"
                         "    when: s%zu > %zu and counterparty_senders(%zus) >= 2\n"
                         "    then:\n      - review: account\n    message: \"{s%zu} for {amount}\"\n"
                         "    cooldown: %zus\n",
                         i, i, i % 50, i + 1, i, i + 1);
}

static void override_file(size_t n, rg_strbuf *out)
{
    rg_strbuf_puts(out, "version: 1\nlists:\n  tools: {append: [com.b, com.c]}\nrules:\n");
    for (size_t i = 0; i < n; i += 2)
        rg_strbuf_printf(out, "  - id: r_%zu\n    override: true\n    on: transfer\n    when: amount > %zu\n"
                              "    then:\n      - freeze: account\n",
                         i, 2 * i + 1);
}

/* Best of 3 loads of the sources; -1 when refused. */
static double best_load(const rg_rule_source *src, size_t n_src, size_t want_rules)
{
    double best = -1;
    for (int run = 0; run < 3; run++) {
        char *errors = NULL;
        double t0 = now_s();
        rg_ruleset *rs = rg_ruleset_load_sources(src, n_src, &errors);
        double t = now_s() - t0;
        if (!rs) {
            fprintf(stderr, "bench_rules: refused:\n%.2000s", errors ? errors : "(no message)\n");
            free(errors);
            return -1;
        }
        if (rg_ruleset_rule_count(rs) != want_rules) {
            fprintf(stderr, "bench_rules: %zu rules loaded, expected %zu\n", rg_ruleset_rule_count(rs), want_rules);
            rg_ruleset_free(rs);
            return -1;
        }
        rg_ruleset_free(rs);
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    size_t n_max = argc > 1 ? strtoul(argv[1], NULL, 10) : 40000;
    if (n_max < 4)
        n_max = 4;
    int rc = 0;
    const size_t sizes[3] = {n_max / 4, n_max / 2, n_max};
    for (size_t k = 0; k < 3; k++) {
        size_t n = sizes[k];
        rg_strbuf a = RG_STRBUF_INIT, b = RG_STRBUF_INIT, d = RG_STRBUF_INIT;
        simple_file(n, &a);
        override_file(n, &b);
        distinct_file(n, &d);
        if (!rg_strbuf_ok(&a) || !rg_strbuf_ok(&b) || !rg_strbuf_ok(&d)) {
            fprintf(stderr, "bench_rules: out of memory\n");
            return 1;
        }
        rg_rule_source simple[1] = {{"simple.yaml", a.data, a.len}};
        rg_rule_source distinct[1] = {{"distinct.yaml", d.data, d.len}};
        rg_rule_source two[2] = {{"simple.yaml", a.data, a.len}, {"override.yaml", b.data, b.len}};
        double ts = best_load(simple, 1, n), td = best_load(distinct, 1, n), t2 = best_load(two, 2, n);
        if (ts < 0 || td < 0 || t2 < 0)
            rc = 1;
        printf("rules: %6zu distinct rules checked in %.3f s (simple, %.1f MB)\n", n, ts, (double)a.len / 1e6);
        printf("rules: %6zu distinct rules checked in %.3f s (each with its own count(), counterparty_senders(), "
               "signal, message, cooldown; %.1f MB)\n",
               n, td, (double)d.len / 1e6);
        printf("rules: %6zu distinct rules checked in %.3f s (two files, %zu overrides and a list append)\n", n, t2,
               (n + 1) / 2);
        rg_strbuf_free(&a);
        rg_strbuf_free(&b);
        rg_strbuf_free(&d);
    }
    return rc;
}
