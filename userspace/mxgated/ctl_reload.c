// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIGHUP without waiting in the loop: a forked helper loads and checks
 * the file (postconf, domains_file, the NSS lookups of user and
 * policy_group may each take seconds) and sends the result back as
 * config_wire bytes; the loop applies it when it has all of it. A bad
 * file is refused with the helper's error line and the old config kept;
 * a SIGHUP during a reload asks for one more after it (any number of
 * them: one); a helper that takes over RELOAD_DEADLINE_MS is killed and
 * the reload refused.
 */
#include "controller.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_wire.h"
#include "fdio.h"
#include "log.h"

/* postconf may take up to 10 s twice (domains, then TLS settings; see
 * config_postfix.c), NSS a few seconds more. */
#define RELOAD_DEADLINE_MS 30000

static void reload_done(struct controller *c, bool ok, const char *buf, size_t len,
			const char *why);

/* In the helper: the blocking part of a reload. */
static void reload_run(struct controller *c, int fd, void *arg)
{
	struct mxg_config ncfg = {0};
	char err[1024], *out = NULL;
	size_t len = 0;
	int r;

	if (config_load(c->config_path, &ncfg, err, sizeof(err)) ||
	    config_check_host(c->config_path, &ncfg, err, sizeof(err)))
		r = config_pack_error(err, &out, &len);
	else
		r = config_pack(&ncfg, &out, &len);
	if (!r)
		mxg_write_all(fd, out, len); /* a short answer is refused by the loop */
}

static void reload_start(struct controller *c)
{
	int r;

	c->reload_job.name = "reload";
	c->reload_job.max = CONFIG_WIRE_MAX;
	c->reload_job.done = reload_done;
	r = ctl_job_start(c, &c->reload_job, RELOAD_DEADLINE_MS, reload_run, NULL);
	if (r < 0) {
		log_err("reload refused: cannot start the helper that reads %s: %s; keeping the "
			"previous configuration",
			c->config_path, strerror(-r));
		c->cnt.reloads_refused++;
	}
}

static void reload_done(struct controller *c, bool ok, const char *buf, size_t len, const char *why)
{
	struct mxg_config *ncfg = calloc(1, sizeof(*ncfg));
	char err[1024];
	int r = -1;

	if (!ncfg)
		snprintf(err, sizeof(err), "out of memory");
	else if (!ok)
		snprintf(err, sizeof(err), "the helper reading %s: %s", c->config_path, why);
	else
		r = config_unpack(buf, len, ncfg, err, sizeof(err));
	if (r) {
		log_err("reload refused: %s; keeping the previous configuration", err);
		c->cnt.reloads_refused++;
		free(ncfg);
	} else {
		ctl_reload_apply(c, ncfg);
	}
	if (c->reload_again && !c->stopping) {
		c->reload_again = false;
		log_notice("reloading %s again: SIGHUP came during the last reload",
			   c->config_path);
		reload_start(c);
	}
}

void ctl_reload(struct controller *c)
{
	if (ctl_job_running(&c->reload_job)) {
		c->reload_again = true;
		log_notice("reload: one is running; %s is read again after it", c->config_path);
		return;
	}
	reload_start(c);
}

void ctl_reload_stop(struct controller *c)
{
	ctl_job_cancel(&c->reload_job);
}
