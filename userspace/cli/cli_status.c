// SPDX-License-Identifier: GPL-2.0-only
/* `mxgate status [--json] [-s SOCKET]`: ask mxgated over its control
 * socket and print the answer (the daemon formats both text and JSON). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

#define STATUS_TIMEOUT_MS 10000	      /* the whole exchange */
#define STATUS_MAX_ANSWER (16u << 20) /* bytes */

int do_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = MXG_DEFAULT_CONTROL_SOCKET;
	const char *req = "status\n";
	char *text, err[512];
	int c, r, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "js:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			req = "status json\n";
			break;
		case 's':
			path = optarg;
			break;
		case 'h':
			printf("usage: mxgate status [--json] [-s SOCKET]\n");
			return CLI_OK;
		default:
			fprintf(stderr, "usage: mxgate status [--json] [-s SOCKET]\n");
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: mxgate status [--json] [-s SOCKET]\n");
		return CLI_USAGE;
	}
	r = cli_ask_daemon(path, req, STATUS_TIMEOUT_MS, STATUS_MAX_ANSWER, &text, err,
			   sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mxgate: %s\n", err);
		return r == -ENAMETOOLONG ? CLI_USAGE : CLI_FAIL;
	}
	ret = fputs(text, stdout) >= 0 && fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	if (ret != CLI_OK)
		fprintf(stderr, "mxgate: writing the status: %s\n", strerror(errno));
	free(text);
	return ret;
}
