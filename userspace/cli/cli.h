/* SPDX-License-Identifier: GPL-2.0-only */
/* The `mxgate` operator commands: one do_<command>() per verb, each in its
 * own cli_<command>.c. Exit codes: 0 success, 1 failure, 2 usage. */
#ifndef MXG_CLI_H
#define MXG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the command name */
	const char *usage;		   /* one line: the arguments */
	const char *help;		   /* one line: what it does */
};

/* Each cli_<command>.c defines its entry point. */
int do_probe(int argc, char **argv);
int do_dump(int argc, char **argv);
int do_unload(int argc, char **argv);
int do_status(int argc, char **argv);
int do_metrics(int argc, char **argv);
int do_offenders(int argc, char **argv);
int do_handoff_config(int argc, char **argv);

/* Send request (a line) to mxgated's control socket at path and read the
 * whole answer, at most max bytes within timeout_ms (cli_ask.c). 0 with
 * *answer malloc'd and NUL-terminated, or negative errno with one line in
 * err saying what failed and what to do. */
int cli_ask_daemon(const char *path, const char *request, uint64_t timeout_ms, size_t max,
		   char **answer, char *err, size_t errlen);
/* The same, for answers of any length (a status of 100,000 domains): the
 * answer is written to out as it arrives; it fails when the daemon sends
 * nothing for idle_ms. An answer that starts with "error: " (the daemon
 * refuses the request) is not written: -EREMOTEIO, the line in err. */
#include <stdio.h>
int cli_ask_daemon_stream(const char *path, const char *request, uint64_t idle_ms, FILE *out,
			  char *err, size_t errlen);

/* `[--pin-dir DIR]` of dump and unload (cli_pin_dir.c): -1 to go on with
 * *dir set (default MXG_DEFAULT_PIN_DIR), else the exit code (after
 * --help, or a usage error, already reported). */
int cli_pin_dir_args(int argc, char **argv, const char **dir);

#endif
