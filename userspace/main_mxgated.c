// SPDX-License-Identifier: GPL-2.0-only
/* mxgated: the daemon's entry point. Options, the config check (-n), then
 * the controller. Exit codes: 0 success, 1 failure, 2 usage. */
#include <stdio.h>

#include "config.h"
#include "mxgated.h"

static int check_config(const struct mxgated_options *opts)
{
	struct mxg_config cfg;
	char err[1024];

	if (config_load(opts->config, &cfg, err, sizeof(err))) {
		fprintf(stderr, "mxgated: %s\n", err);
		return 1;
	}
	config_free(&cfg);
	printf("mxgated: %s: configuration ok\n", opts->config);
	return 0;
}

int main(int argc, char **argv)
{
	struct mxgated_options opts;
	int r = mxgated_parse_args(argc, argv, &opts);

	if (r)
		return r > 0 ? 0 : 2;
	if (opts.check_only)
		return check_config(&opts);
	fprintf(stderr, "mxgated: the daemon is not implemented on this branch; only -n (check "
			"the configuration) works\n");
	return 1;
}
