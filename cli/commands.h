/*
 * commands — the subcommands of riskgate, each `int rg_cmd_X(argc, argv)`
 * with argv[0] the subcommand name; each returns a cli.md exit status.
 */
#ifndef RG_COMMANDS_H
#define RG_COMMANDS_H

int rg_cmd_replay(int argc, char **argv);
int rg_cmd_check_rules(int argc, char **argv);
int rg_cmd_backtest(int argc, char **argv);
int rg_cmd_names(int argc, char **argv);
int rg_cmd_explain(int argc, char **argv);

#endif
