/*
 * alerts_cli — what `riskgate alerts` (cmd_alerts.c, cmd_alerts_review.c)
 * and `riskgate users` (cmd_users.c) share: the parsed options, the store
 * from --db or RISKGATE_DB, and terminal-safe output (text from the store
 * is printed with control characters replaced, so an event field cannot
 * drive the analyst's terminal). CLI only: these print and may be called
 * from main's thread alone.
 */
#ifndef RG_CLI_ALERTS_H
#define RG_CLI_ALERTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "../store/alerts.h"

typedef struct alerts_opts {
    const char *db;
    const char *note;
    const char *by;
    bool json;
    rg_alert_filter filter;
    bool limit_given;
} alerts_opts;

/* "riskgate CMD: <msg>" and the --help hint on stderr; returns 2 (cli.md's
 * usage error). fmt takes one %s, arg. */
int rg_review_usage_error(const char *cmd, const char *fmt, const char *arg);
#define rg_alerts_usage_error(fmt, arg) rg_review_usage_error("alerts", fmt, arg)

/* The store path: --db, else $RISKGATE_DB, else NULL. */
const char *rg_alerts_db_path(const char *db_flag);

/* Store text with control characters as '?' ("-" for NULL). */
void rg_put_clean(FILE *out, const char *s);
/* Terminal width in code points. */
size_t rg_text_width(const char *s);
/* s padded to width + 2 columns (nothing after the last cell). */
void rg_put_cell(FILE *out, const char *s, size_t width, bool last);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ", or "-" for 0. */
void rg_fmt_time(int64_t ms, char *buf, size_t size);

/* The name recorded for a change: --by, else $USER, $LOGNAME, the
 * passwd entry; NULL when none. */
const char *rg_alerts_analyst(const alerts_opts *o);

/* Review subcommands (cmd_alerts_review.c): ids are pos[0..n). Exit
 * status: 0 all done, 1 some id unknown or a database error. */
int rg_alerts_do_review(rg_alert_store *s, alerts_opts *o, rg_review_action action, char **ids,
                        int n_ids, const char *value);
int rg_alerts_do_history(rg_alert_store *s, alerts_opts *o, const char *id);
int rg_alerts_do_releases(rg_alert_store *s, alerts_opts *o);
/* `alerts show` (cmd_alerts_show.c): 0 shown, 1 unknown id or a
 * database error. */
int rg_alerts_do_show(rg_alert_store *s, alerts_opts *o, const char *id);

/* The alert table (list, show's other alerts), lines prefixed by indent. */
void rg_alerts_print_table(FILE *out, const rg_alert *a, size_t n, const char *indent);

#endif
