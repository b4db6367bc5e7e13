/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `mxgate probe`: what one round found (cli_probe.c) and how it is shown
 * (cli_probe_out.c). The verdict is not decided here: it is the daemon's
 * own state machine (domain_state.h) fed the DNS answer and one probe
 * round with rise = fall = 1, so the probe and the daemon cannot disagree
 * about the same MX set and probe results.
 */
#ifndef MXG_CLI_PROBE_H
#define MXG_CLI_PROBE_H

#include <stddef.h>

#include "domain_state.h"
#include "mxset.h"
#include "probe.h"

/* One probed primary address: the daemon's list (ds->addrs), each address
 * once, named after the first primary host that has it. */
struct cli_probe_item {
	const char *host; /* points into ds->set */
	struct mxg_ip addr;
	struct probe_report rep;
};

struct cli_probe_view {
	const struct mx_set *set; /* the DNS answer as received */
	const struct mx_primaries *pr;
	const char (*self)[MXG_NAME_MAX];
	size_t n_self;
	const char *resolver;
	const struct domain_state *ds; /* after the answer and the round */
	const struct cli_probe_item *items;
	size_t n_items;
};

/* The reason's sentence (reason.h), then what it is about: which primary
 * accepts mail, which self names are missing, the DNS error. */
void cli_probe_message(const struct cli_probe_view *v, char *buf, size_t len);
void cli_probe_print_text(const struct cli_probe_view *v, const char *message);
void cli_probe_print_json(const struct cli_probe_view *v, const char *message);

#endif
