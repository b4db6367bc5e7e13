// SPDX-License-Identifier: GPL-2.0-only
/* The `[--pin-dir DIR]` arguments that `mxgate dump` and `mxgate unload`
 * share: one parser, one usage line. */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"

int cli_pin_dir_args(int argc, char **argv, const char **dir)
{
	static const struct option opts[] = {
	    {"pin-dir", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	*dir = MXG_DEFAULT_PIN_DIR;
	while ((c = getopt_long(argc, argv, "p:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			*dir = optarg;
			break;
		case 'h':
			printf("usage: mxgate %s [--pin-dir DIR]\n", argv[0]);
			return CLI_OK;
		default:
			goto usage;
		}
	}
	if (optind == argc)
		return -1;
usage:
	fprintf(stderr, "usage: mxgate %s [--pin-dir DIR]\n", argv[0]);
	return CLI_USAGE;
}
