/*
 * labels — read analyst labels from an alert store for `backtest --labels`.
 */
#ifndef RG_CLI_LABELS_H
#define RG_CLI_LABELS_H

#include <stddef.h>

#include "../replay/backtest.h"

/* Add every labelled alert of the store at db_path to b. -1 with errstr on
 * failure (unreadable file, not an alert store). */
int rg_cli_load_labels(rg_backtest *b, const char *db_path, char *errstr, size_t errstr_size);

#endif
