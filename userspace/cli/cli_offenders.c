// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate offenders [-s SOCKET]`: the clients mxgated currently counts as
 * offenders (answered 550 past offender_threshold, within offender_window
 * of their last try), with the nft set each one is in when offender_set =
 * yes. Asked over the control socket: the daemon knows when each one
 * expires even with the nft sets off.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

#define OFFENDERS_TIMEOUT_MS 10000	/* the whole exchange */
#define OFFENDERS_MAX_ANSWER (4u << 20) /* bytes: 4096 lines at most */

static const char usage_line[] = "usage: mxgate offenders [-s SOCKET]\n";

int do_offenders(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = MXG_DEFAULT_CONTROL_SOCKET;
	char *text, err[512];
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			printf("%s", usage_line);
			return CLI_OK;
		default:
			fprintf(stderr, "%s", usage_line);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s", usage_line);
		return CLI_USAGE;
	}
	if (cli_ask_daemon(path, "offenders\n", OFFENDERS_TIMEOUT_MS, OFFENDERS_MAX_ANSWER, &text,
			   err, sizeof(err)) < 0) {
		fprintf(stderr, "mxgate: %s\n", err);
		return CLI_FAIL;
	}
	if (!strncmp(text, "error:", 6)) {
		const char *why = text + 6 + (text[6] == ' ');

		fprintf(stderr, "mxgate: mxgated says: %s%s", why,
			why[0] && why[strlen(why) - 1] == '\n' ? "" : "\n");
		free(text);
		return CLI_FAIL;
	}
	ret = fputs(text, stdout) >= 0 && fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	free(text);
	return ret;
}
