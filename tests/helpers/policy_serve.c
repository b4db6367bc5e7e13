// SPDX-License-Identifier: GPL-2.0-only
/*
 * Runs the policy server with a fixed domain table until SIGTERM, so a
 * real Postfix can be tested against it before (and apart from) mxgated:
 *   policy_serve LISTEN [OFFENDER_THRESHOLD] DOMAIN=gated:PRIMARY|open ...
 * e.g. policy_serve inet:127.0.0.1:10040 0 example.test=gated:mx1.example.test other.test=open
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "reason.h"
#include "policy.h"

#define MAX_DOMAINS 16

static struct {
	char name[MXG_NAME_MAX];
	char primary[MXG_NAME_MAX];
	bool gated;
} table[MAX_DOMAINS];
static int n_table;
static struct ev_loop *loop;

static int lookup(void *arg, const char *domain, struct policy_domain *d)
{
	for (int i = 0; i < n_table; i++) {
		if (strcmp(table[i].name, domain))
			continue;
		d->state = table[i].gated ? MXG_DOMAIN_GATED : MXG_DOMAIN_OPEN;
		d->reply = MXG_REPLY_REJECT;
		d->primary = table[i].primary;
		d->reply_text = NULL;
		return 0;
	}
	return -ENOENT;
}

static void on_term(int sig)
{
	ev_stop(loop);
}

int main(int argc, char **argv)
{
	static struct mxg_config cfg;
	struct policy_server *ps;
	char err[512];

	if (argc < 3) {
		fprintf(stderr,
			"usage: policy_serve LISTEN THRESHOLD DOMAIN=gated:PRIMARY|open ...\n");
		return 2;
	}
	log_init("policy_serve", LOG_TO_STDERR, true);
	snprintf(cfg.policy_listen, sizeof(cfg.policy_listen), "%s", argv[1]);
	cfg.offender_threshold = (unsigned)atoi(argv[2]);
	cfg.offender_window_ms = 3600000;
	for (int i = 3; i < argc && n_table < MAX_DOMAINS; i++, n_table++) {
		char *eq = strchr(argv[i], '=');

		if (!eq)
			return 2;
		*eq = 0;
		snprintf(table[n_table].name, sizeof(table[n_table].name), "%s", argv[i]);
		if (!strncmp(eq + 1, "gated:", 6)) {
			table[n_table].gated = true;
			snprintf(table[n_table].primary, sizeof(table[n_table].primary), "%s",
				 eq + 7);
		}
	}
	loop = ev_loop_new();
	if (!loop)
		return 1;
	ps = policy_server_new(loop, &cfg, &(struct policy_hooks){.lookup = lookup}, err,
			       sizeof(err));
	if (!ps) {
		fprintf(stderr, "policy_serve: %s\n", err);
		return 1;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	ev_run(loop);
	policy_server_free(ps);
	ev_loop_free(loop);
	return 0;
}
