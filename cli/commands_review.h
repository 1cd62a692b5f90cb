/*
 * commands_review — the analyst's subcommands (docs/review.md).
 *
 * Each takes the subcommand's own argv: argv[0] is the subcommand name
 * ("alerts", "serve", "users"), the rest its arguments, e.g. main() calls
 * rg_cmd_alerts(argc - 1, argv + 1) for `riskgate alerts list --db x.db`.
 * They return the process exit status of cli.md: 0 done, 1 failure
 * (unknown ALERT_ID, a database error), 2 usage or configuration error
 * (reason on stderr). They never call exit(). They use getopt_long and
 * reset its state first, so they can be called more than once per
 * process (tests do).
 */
#ifndef RG_COMMANDS_REVIEW_H
#define RG_COMMANDS_REVIEW_H

/* riskgate alerts list|show|history|label|resolve|reopen|assign|releases|precision|import ... */
int rg_cmd_alerts(int argc, char **argv);

/* riskgate serve --db DB [--listen ADDR:PORT] [--token-file FILE]:
 * runs until SIGINT or SIGTERM. */
int rg_cmd_serve(int argc, char **argv);

/* riskgate users add|list|remove [--db DB] ...: who may use `serve`. */
int rg_cmd_users(int argc, char **argv);

#endif
