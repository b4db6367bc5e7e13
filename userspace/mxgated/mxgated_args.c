// SPDX-License-Identifier: GPL-2.0-only
/* mxgated's options; see mxgated.h. */
#include "mxgated.h"

#include <stdio.h>
#include <unistd.h>

#include "config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: mxgated [-c FILE] [-f] [-d] [-n] [-h]\n"
		   "  -c FILE  configuration file (default " MXG_DEFAULT_CONFIG ")\n"
		   "  -f       stay in the foreground and log to stderr\n"
		   "  -d       log debug messages\n"
		   "  -n       check the configuration and exit (0 ok, 1 bad)\n"
		   "  -h       show this help\n");
}

int mxgated_parse_args(int argc, char **argv, struct mxgated_options *opts)
{
	int c;

	*opts = (struct mxgated_options){.config = MXG_DEFAULT_CONFIG};
	opterr = 0;
	optind = 1;
	while ((c = getopt(argc, argv, ":c:fdnh")) != -1) {
		switch (c) {
		case 'c':
			opts->config = optarg;
			break;
		case 'f':
			opts->foreground = true;
			break;
		case 'd':
			opts->debug = true;
			break;
		case 'n':
			opts->check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "mxgated: -%c needs an argument; see mxgated -h\n", optopt);
			return -1;
		default:
			fprintf(stderr, "mxgated: unknown option -%c; see mxgated -h\n", optopt);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mxgated: unexpected argument '%s'; see mxgated -h\n",
			argv[optind]);
		return -1;
	}
	return 0;
}
