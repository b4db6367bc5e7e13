// SPDX-License-Identifier: GPL-2.0-only
/* `mxgate status [DOMAIN] [--json] [-s SOCKET]`: ask mxgated over its
 * control socket and print the answer as it arrives (the daemon formats
 * both text and JSON, and streams the full status in parts). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "control.h"

#define STATUS_IDLE_MS 10000 /* the daemon silent this long: give up */
#define STATUS_USAGE "usage: mxgate status [DOMAIN] [--json] [-s SOCKET]\n"

int do_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = MXG_DEFAULT_CONTROL_SOCKET;
	bool json = false;
	char req[CONTROL_MAX_REQUEST], err[512];
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "js:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			path = optarg;
			break;
		case 'h':
			printf(STATUS_USAGE);
			return CLI_OK;
		default:
			fprintf(stderr, STATUS_USAGE);
			return CLI_USAGE;
		}
	}
	if (optind + 1 < argc) {
		fprintf(stderr, STATUS_USAGE);
		return CLI_USAGE;
	}
	if (optind < argc && (strlen(argv[optind]) > 253 || strpbrk(argv[optind], " \t\r\n"))) {
		fprintf(stderr, "mxgate: status %.64s: not a domain name\n", argv[optind]);
		return CLI_USAGE;
	}
	snprintf(req, sizeof(req), "status%s%s%s\n", json ? " json" : "", optind < argc ? " " : "",
		 optind < argc ? argv[optind] : "");
	r = cli_ask_daemon_stream(path, req, STATUS_IDLE_MS, stdout, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "mxgate: %s\n", err);
		return r == -ENAMETOOLONG ? CLI_USAGE : CLI_FAIL;
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "mxgate: writing the status: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	return CLI_OK;
}
