// SPDX-License-Identifier: GPL-2.0-only
/* mxgate: the operator's command line. Dispatches to do_<command>(). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* Add a row per command; keep them in the order `mxgate help` shows. */
static const struct cli_command commands[] = {
    {"status", do_status, "[--json] [-s SOCKET]", "state of every domain and gate address"},
    {"probe", do_probe, "DOMAIN [--self HOST] [--resolver A] [--json]",
     "resolve and probe a domain's primary MXs once; print the verdict"},
    {"dump", do_dump, "[--pin-dir DIR]", "show the pinned gate maps, fresh or expired"},
    {"unload", do_unload, "[--pin-dir DIR]", "detach and unpin everything of mxgate's"},
    {"offenders", do_offenders, "[-s SOCKET]",
     "clients answered 550 as offenders, and their nft set"},
    {"metrics", do_metrics, "[--pin-dir DIR] [-s SOCKET]",
     "Prometheus text for node_exporter's textfile collector"},
    {"handoff-config", do_handoff_config, "[postfix|exim|opensmtpd] [-c FILE]",
     "the MTA's lines for the configured handoff"},
    {NULL, NULL, NULL, NULL},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mxgate COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_command *c = commands; c->name; c++)
		fprintf(f, "  %-14s %-44s %s\n", c->name, c->usage, c->help);
	fprintf(f, "\nexit codes: 0 success, 1 failure, 2 usage\n");
}

int main(int argc, char **argv)
{
	log_init("mxgate", LOG_TO_STDERR, false);
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return CLI_OK;
	}
	for (const struct cli_command *c = commands; c->name; c++)
		if (!strcmp(argv[1], c->name))
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "mxgate: unknown command '%s'; run 'mxgate help' for the list\n", argv[1]);
	return CLI_USAGE;
}
