// SPDX-License-Identifier: GPL-2.0-only
/*
 * SIGHUP without waiting in the loop: a forked helper loads and checks
 * the file (postconf, domains_file, the NSS lookups of user and
 * policy_group may each take seconds) and sends the result back as
 * config_wire bytes; the loop applies it when it has all of it. A bad
 * file is refused with the helper's error line and the old config kept;
 * a SIGHUP during a reload asks for one more after it (any number of
 * them: one); a helper that takes over RELOAD_DEADLINE_MS is killed and
 * the reload refused. The answer is applied over several loop iterations
 * (run_step): unpacked and matched to the domains served a slice at a
 * time, switched to in one step, evaluated again in slices (domains.c).
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

static void run_clear(struct controller *c)
{
	struct ctl_reload_run *run = &c->reload_run;

	ev_timer_stop(c->loop, &run->timer);
	free(run->buf);
	if (run->ncfg) {
		config_free(run->ncfg);
		free(run->ncfg);
	}
	free(run->nd);
	*run = (struct ctl_reload_run){.timer = run->timer};
}

static void refused(struct controller *c, const char *err)
{
	log_err("reload refused: %s; keeping the previous configuration", err);
	c->cnt.reloads_refused++;
}

/* The reload is over, applied or refused: the one asked for meanwhile. */
static void run_end(struct controller *c)
{
	run_clear(c);
	if (c->reload_again && !c->stopping) {
		c->reload_again = false;
		log_notice("reloading %s again: SIGHUP came during the last reload",
			   c->config_path);
		reload_start(c);
	}
}

/* One step of applying the answer, CTL_RELOAD_STEP domains at most, fewer
 * once the iteration's budget (EV_BUDGET_NS) is spent: 100,000
 * domains are 29 MB to copy out of the answer (each new page a fault)
 * and 100,000 binary searches to match, too much for one iteration. */
static void run_step(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	struct ctl_reload_run *run = &c->reload_run;
	char err[1024];
	int r;

	if (run->phase == CTL_RELOAD_UNPACK) {
		/* Parts of CTL_RELOAD_MIN until the iteration's budget is
		 * spent or CTL_RELOAD_STEP are done. */
		size_t done = 0;

		do {
			r = config_unpack_more(&run->u, run->ncfg, CTL_RELOAD_MIN, err,
					       sizeof(err));
			done += CTL_RELOAD_MIN;
		} while (r > 0 && done < CTL_RELOAD_STEP && !ev_over_budget(loop));
		if (r < 0) {
			refused(c, err);
			run_end(c);
			return;
		}
		if (!r) {
			free(run->buf);
			run->buf = NULL;
			run->nd = calloc(run->ncfg->n_domains ? run->ncfg->n_domains : 1,
					 sizeof(*run->nd));
			if (!run->nd) {
				refused(c, "out of memory");
				run_end(c);
				return;
			}
			run->phase = CTL_RELOAD_MATCH;
			run->next = 0;
			ctl_reload_match_begin(c);
		}
	} else {
		size_t stop = run->next + CTL_RELOAD_STEP, end;

		do {
			end = run->next + CTL_RELOAD_MIN;
			if (end > run->ncfg->n_domains)
				end = run->ncfg->n_domains;
			ctl_reload_match(c, run->ncfg, run->next, end, run->nd);
			run->next = end;
		} while (end < run->ncfg->n_domains && end < stop && !ev_over_budget(loop));
		if (end == run->ncfg->n_domains) {
			ctl_reload_apply(c, run->ncfg, run->nd);
			run->ncfg = NULL; /* the controller's now, and nd its domains */
			run->nd = NULL;
			run_end(c);
			return;
		}
	}
	ctl_timer_start(c, &run->timer, 0, "reload");
}

static void reload_done(struct controller *c, bool ok, const char *buf, size_t len, const char *why)
{
	struct ctl_reload_run *run = &c->reload_run;
	char err[1024];
	int r = -1;

	run_clear(c);
	run->ncfg = calloc(1, sizeof(*run->ncfg));
	if (!run->ncfg)
		snprintf(err, sizeof(err), "out of memory");
	else if (!ok)
		snprintf(err, sizeof(err), "the helper reading %s: %s", c->config_path, why);
	else
		r = config_unpack_begin(&run->u, buf, len, run->ncfg, err, sizeof(err));
	if (r) {
		refused(c, err);
		run_end(c);
		return;
	}
	/* The answer is read from over the next iterations. */
	run->buf = (char *)buf;
	c->reload_job.taken = run->buf;
	run->phase = CTL_RELOAD_UNPACK;
	ctl_timer_start(c, &run->timer, 0, "reload");
}

void ctl_reload(struct controller *c)
{
	if (ctl_job_running(&c->reload_job) || c->reload_run.phase != CTL_RELOAD_IDLE) {
		c->reload_again = true;
		log_notice("reload: one is running; %s is read again after it", c->config_path);
		return;
	}
	reload_start(c);
}

void ctl_reload_init(struct controller *c)
{
	ev_timer_init(&c->reload_run.timer, run_step, c);
}

void ctl_reload_stop(struct controller *c)
{
	ctl_job_cancel(&c->reload_job);
	run_clear(c);
	ev_timer_stop(c->loop, &c->eval_timer);
}
