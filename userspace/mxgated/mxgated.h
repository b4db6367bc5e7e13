/* SPDX-License-Identifier: GPL-2.0-only */
/* mxgated's command line, parsed once in main and handed to the daemon. */
#ifndef MXG_MXGATED_H
#define MXG_MXGATED_H

#include <stdbool.h>

struct mxgated_options {
	const char *config; /* -c FILE, default MXG_DEFAULT_CONFIG */
	bool foreground;    /* -f: stay in the foreground, log to stderr */
	bool debug;	    /* -d: log debug messages */
	bool check_only;    /* -n: check the config and exit */
};

/* Parse argv into opts. 0, or -1 after printing a usage error to stderr;
 * 1 when -h printed the usage to stdout. */
int mxgated_parse_args(int argc, char **argv, struct mxgated_options *opts);

#endif
