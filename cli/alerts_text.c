/*
 * alerts_text — terminal output shared by `riskgate alerts` and `riskgate
 * users` (contract in alerts_cli.h): text from the store with control
 * characters replaced, so an event field cannot drive the analyst's
 * terminal; aligned cells; the alert table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/strbuf.h"
#include "../common/timeutil.h"
#include "alerts_cli.h"

/* Printable form of store text: control characters become '?'. */
void rg_put_clean(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, out);
}

/* Width on a terminal: code points (UTF-8 continuation bytes don't count). */
size_t rg_text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++)
        w += (*p & 0xC0) != 0x80;
    return w;
}

void rg_put_cell(FILE *out, const char *s, size_t width, bool last)
{
    rg_put_clean(out, s);
    if (last)
        return;
    for (size_t w = rg_text_width(s); w < width + 2; w++)
        fputc(' ', out);
}

void rg_fmt_time(int64_t ms, char *buf, size_t size)
{
    if (!ms || !rg_format_utc_ms(ms, buf, size))
        snprintf(buf, size, "-");
}

/* Rule ids joined with ',' (the list's RULES column). */
static void join_rules(const rg_alert *a, rg_strbuf *out)
{
    for (size_t i = 0; i < a->n_hits; i++) {
        if (i)
            rg_strbuf_putc(out, ',');
        rg_strbuf_puts(out, a->hits[i].rule_id);
    }
}

enum { COL_TIME, COL_ID, COL_SUBJECT, COL_TYPE, COL_RULES, COL_ACTIONS, COL_STATUS, COL_LABEL,
       COL_ASSIGNEE, NCOLS };
static const char *const LIST_HEAD[NCOLS] = {"TIME (UTC)", "ALERT_ID", "SUBJECT", "TYPE", "RULES",
                                             "ACTIONS", "STATUS", "LABEL", "ASSIGNEE"};

/* The alert table, every line prefixed with `indent`. */
void rg_alerts_print_table(FILE *out, const rg_alert *a, size_t n, const char *indent)
{
    size_t width[NCOLS];
    char **cells = calloc(n * NCOLS + 1, sizeof *cells);
    if (!cells)
        return;
    for (int c = 0; c < NCOLS; c++)
        width[c] = rg_text_width(LIST_HEAD[c]);
    for (size_t i = 0; i < n; i++) {
        char ts[32];
        rg_strbuf rules = RG_STRBUF_INIT;
        rg_fmt_time(a[i].ts_ms, ts, sizeof ts);
        join_rules(&a[i], &rules);
        const char *v[NCOLS] = {ts, a[i].decision_id, a[i].subject, a[i].event_type,
                                rules.data ? rules.data : "", *a[i].actions ? a[i].actions : "-",
                                a[i].status, a[i].label ? a[i].label : "-",
                                a[i].assignee ? a[i].assignee : "-"};
        for (int c = 0; c < NCOLS; c++) {
            cells[i * NCOLS + c] = strdup(v[c]);
            size_t w = rg_text_width(v[c]);
            if (w > width[c])
                width[c] = w;
        }
        rg_strbuf_free(&rules);
    }
    fputs(indent, out);
    for (int c = 0; c < NCOLS; c++)
        rg_put_cell(out, LIST_HEAD[c], width[c], c == NCOLS - 1);
    fputc('\n', out);
    for (size_t i = 0; i < n; i++) {
        fputs(indent, out);
        for (int c = 0; c < NCOLS; c++)
            rg_put_cell(out, cells[i * NCOLS + c], width[c], c == NCOLS - 1);
        fputc('\n', out);
        for (int c = 0; c < NCOLS; c++)
            free(cells[i * NCOLS + c]);
    }
    free(cells);
}

