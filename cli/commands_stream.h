/*
 * commands_stream — `riskgate run` (cli.md "Streaming"), the long-running
 * Kafka consumer/producer. argv[0] is the subcommand name; returns a cli.md
 * exit status (0 clean SIGTERM/SIGINT drain, 2 usage/configuration, 1
 * other failure).
 */
#ifndef RG_COMMANDS_STREAM_H
#define RG_COMMANDS_STREAM_H

int rg_cmd_run(int argc, char **argv);

#endif
