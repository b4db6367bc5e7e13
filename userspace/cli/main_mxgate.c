// SPDX-License-Identifier: GPL-2.0-only
/* mxgate: the operator's command line. Dispatches to do_<command>(). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

/* Add a row per command; keep them in the order `mxgate help` shows. */
static const struct cli_command commands[] = {
    {"status", do_status, "[--json] [-s SOCKET]", "state of every domain and gate address", false},
    {"probe", do_probe, "DOMAIN [--self HOST] [--resolver A] [--json]",
     "resolve and probe a domain's primary MXs once; print the verdict", false},
    {"dump", do_dump, "[--pin-dir DIR]", "show the pinned gate maps, fresh or expired", false},
    {"unload", do_unload, "[--pin-dir DIR]", "detach and unpin everything of mxgate's", false},
    {"offenders", do_offenders, "[-s SOCKET]",
     "clients answered 550 as offenders, and their nft set", false},
    {"gate-attach", do_gate_attach, "--pin-dir DIR --iface IF...", "load, pin, attach", true},
    {"gate-detach", do_gate_detach, "--pin-dir DIR --iface IF...", "detach, unpin", true},
    {"gate-set", do_gate_set, "--pin-dir DIR ADDR gated|open TTL", "write a gate entry", true},
    {"gate-del", do_gate_del, "--pin-dir DIR ADDR", "delete a gate entry", true},
    {"gate-domain", do_gate_domain, "--pin-dir DIR NAME STATE PRIMARY TTL", "write a domain entry",
     true},
    {"gate-round", do_gate_round, "--pin-dir DIR [--iface IF]... ADDR=gated|open...",
     "one controller round", true},
    {"metrics", do_metrics, "[--pin-dir DIR] [-s SOCKET]",
     "Prometheus text for node_exporter's textfile collector", false},
    {NULL, NULL, NULL, NULL, false},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: mxgate COMMAND [ARGS]\n\ncommands:\n");
	for (const struct cli_command *c = commands; c->name; c++)
		if (!c->hidden)
			fprintf(f, "  %-9s %-44s %s\n", c->name, c->usage, c->help);
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
