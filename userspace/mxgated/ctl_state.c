// SPDX-License-Identifier: GPL-2.0-only
/*
 * State that survives a restart and a reboot: greylist tuples, passes and
 * offenders in <state_dir>/state (persist.h's text), written atomically
 * (a temporary file, fsync, rename, fsync of the directory) every
 * CTL_STATE_SAVE_MS by a forked child (the loop never fsyncs) and when
 * mxgated stops, and read at start. A file
 * that is corrupt or not ours is reported and ignored: mxgated starts
 * empty, which costs senders at most a new greylisting round, never a
 * bounce. Times in the file are wall-clock; here they become the
 * monotonic clock of the loop (and the kernel's).
 */
#include "controller.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dircheck.h"
#include "fdio.h"
#include "log.h"
#include "persist.h"

#define CTL_STATE_SAVE_MS 60000 /* at least every minute */
/* A save's child that has not finished after this is killed (a hung
 * disk): the next save tries again. */
#define CTL_STATE_SAVE_DEADLINE_MS 50000
#define STATE_FILE "state"
#define STATE_TMP "state.tmp"

static uint64_t real_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Monotonic <-> wall clock, both ways, clamped at 0. */
struct clocks {
	uint64_t mono, real;
};

static uint64_t to_real(const struct clocks *k, uint64_t mono)
{
	return mono >= k->mono ? k->real + (mono - k->mono)
			       : (k->real > k->mono - mono ? k->real - (k->mono - mono) : 0);
}

static uint64_t to_mono(const struct clocks *k, uint64_t real)
{
	return real >= k->real ? k->mono + (real - k->real)
			       : (k->mono > k->real - real ? k->mono - (k->real - real) : 0);
}

struct out {
	char *buf;
	size_t len, cap;
	bool full;
};

static void put(struct out *o, size_t (*fmt)(char *, size_t, const void *), const void *rec)
{
	size_t n;

	if (o->full)
		return;
	if (o->cap - o->len < PERSIST_LINE_MAX + 2) {
		size_t cap = o->cap ? o->cap * 2 : 65536;
		char *b = cap <= PERSIST_FILE_MAX ? realloc(o->buf, cap) : NULL;

		if (!b) {
			o->full = true;
			return;
		}
		o->buf = b;
		o->cap = cap;
	}
	n = fmt(o->buf + o->len, o->cap - o->len, rec);
	o->len += n;
}

static size_t fmt_pass(char *b, size_t l, const void *r)
{
	return persist_fmt_pass(b, l, r);
}
static size_t fmt_tuple(char *b, size_t l, const void *r)
{
	return persist_fmt_tuple(b, l, r);
}
static size_t fmt_offender(char *b, size_t l, const void *r)
{
	return persist_fmt_offender(b, l, r);
}

struct each_arg {
	struct out *o;
	const struct clocks *k;
};

static void offender_out(void *arg, const struct mxg_ip *ip, uint64_t first, uint64_t last,
			 uint64_t expires, uint64_t reports)
{
	struct each_arg *a = arg;
	struct persist_offender r = {.ip = *ip,
				     .first_ms = to_real(a->k, first),
				     .last_ms = to_real(a->k, last),
				     .expires_ms = to_real(a->k, expires),
				     .reports = reports};

	if (r.last_ms < r.first_ms)
		r.last_ms = r.first_ms;
	put(a->o, fmt_offender, &r);
}

/* state_dir and every directory above it root's and writable by no one
 * else: whoever could write there could hand mxgated passes and offenders
 * (a pass for years, a remote MTA in the drop set). */
static int state_dir_check(const struct controller *c, bool missing_ok, char *err, size_t errlen)
{
	const struct mxg_dir_rule rule = {
	    .key = "state_dir",
	    .guards = "mxgate's saved passes and offenders",
	    .chmod = "0700",
	    .missing_ok = missing_ok,
	    .sticky_parents = true,
	};

	return mxg_dir_check(&rule, c->cfg->state_dir, err, errlen);
}

static int state_dir_fd(struct controller *c)
{
	const char *dir = c->cfg->state_dir;
	char err[PATH_MAX + 512];
	int fd, r;

	r = state_dir_check(c, true, err, sizeof(err));
	if (!r && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (!r)
		r = state_dir_check(c, false, err, sizeof(err));
	if (r) {
		if (!c->state_failing)
			log_err("state: %s", err);
		return r;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	return fd < 0 ? -errno : fd;
}

/* Build the file from the tables and write it: 0 or negative errno
 * (-E2BIG: too much to save). In the save's child, or at the stop. */
static int state_write(struct controller *c)
{
	const struct pass_db *p = ctl_pass_db(c);
	struct clocks k = {ev_now_ms(), real_ms()};
	struct out o = {0};
	struct each_arg ea = {&o, &k};
	char seed[40];
	int dfd, fd = -1, r;

	if (!p || !c->cfg->state_dir[0])
		return 0;
	o.cap = 65536;
	o.buf = malloc(o.cap);
	if (!o.buf)
		return -ENOMEM;
	o.len = (size_t)snprintf(o.buf, o.cap, PERSIST_MAGIC "\n");
	snprintf(seed, sizeof(seed), "seed %016llx\n", (unsigned long long)p->gl_seed);
	memcpy(o.buf + o.len, seed, strlen(seed));
	o.len += strlen(seed);
	for (size_t i = 0; i < p->passes.n; i++) {
		const struct pass_entry *e = &p->passes.e[i];
		struct persist_pass rec = {.ip = e->ip,
					   .reason = e->reason,
					   .since_ms = to_real(&k, e->since_ms),
					   .expires_ms = to_real(&k, e->expires_ms)};

		if (e->expires_ms > k.mono)
			put(&o, fmt_pass, &rec);
	}
	for (size_t i = 0; p->gl.e && i < p->gl.n_buckets * GREYLIST_WAYS; i++) {
		const struct greylist_entry *g = &p->gl.e[i];
		struct persist_tuple rec = {.hash = g->hash,
					    .first_ms = to_real(&k, g->first_ms),
					    .last_ms = to_real(&k, g->last_ms)};

		if (g->hash && g->first_ms + p->gl.window_ms >= k.mono)
			put(&o, fmt_tuple, &rec);
	}
	ctl_offenders_each(c, offender_out, &ea);
	if (o.full) {
		free(o.buf);
		return -E2BIG;
	}
	dfd = state_dir_fd(c);
	if (dfd < 0) {
		r = dfd;
		goto fail;
	}
	fd = openat(dfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto fail;
	}
	r = mxg_write_all(fd, o.buf, o.len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	fd = -1;
	if (!r && renameat(dfd, STATE_TMP, dfd, STATE_FILE) < 0)
		r = -errno;
	if (!r)
		fsync(dfd); /* the rename itself */
fail:
	if (dfd >= 0)
		close(dfd);
	free(o.buf);
	return r;
}

/* A save's result, in the loop: a failure is logged once a run and the
 * next save (a minute on) tries again; nothing is dropped from the
 * tables, so nothing is lost but what a crash before then would lose. */
static int state_report(struct controller *c, int r)
{
	if (r == -E2BIG) {
		log_err("state: more than %d bytes to save; not saved", PERSIST_FILE_MAX);
		return r;
	}
	if (r) {
		if (!c->state_failing)
			log_err("state: cannot save %s/" STATE_FILE ": %s; greylisting and passes "
				"start over after a restart until this works (check state_dir)",
				c->cfg->state_dir, strerror(-r));
		c->state_failing = true;
		return r;
	}
	if (c->state_failing)
		log_notice("state: saving to %s works again", c->cfg->state_dir);
	c->state_failing = false;
	return 0;
}

struct load_arg {
	struct controller *c;
	struct clocks k;
	size_t passes, tuples, offenders;
};

static void load_seed(void *arg, uint64_t seed)
{
	struct load_arg *a = arg;

	ctl_pass_db(a->c)->gl_seed = seed;
}

static void load_pass(void *arg, const struct persist_pass *r)
{
	struct load_arg *a = arg;
	const struct mxg_config *cfg = a->c->cfg;
	uint64_t now = a->k.mono, expires = to_mono(&a->k, r->expires_ms);
	uint64_t since = to_mono(&a->k, r->since_ms);

	/* The file is not trusted beyond the configured limits: a pass
	 * began no later than now, lasts at most pass_max from then, and
	 * has at most pass_ttl left (its last renewal was no later than
	 * now); what the kernel gets and status shows is this clamped end. */
	if (since > now)
		since = now;
	if (expires > since + cfg->pass_max_ms)
		expires = since + cfg->pass_max_ms;
	if (expires > now + cfg->pass_ttl_ms)
		expires = now + cfg->pass_ttl_ms;
	const struct pass_entry e = {.ip = r->ip,
				     .since_ms = since,
				     .expires_ms = expires,
				     .reason = r->reason,
				     .proven = r->reason == MXG_PASS_GREYLIST};

	a->passes += pass_table_restore(&ctl_pass_db(a->c)->passes, &e, now);
}

static void load_tuple(void *arg, const struct persist_tuple *r)
{
	struct load_arg *a = arg;
	struct greylist_entry e = {.hash = r->hash,
				   .first_ms = to_mono(&a->k, r->first_ms),
				   .last_ms = to_mono(&a->k, r->last_ms)};

	a->tuples += greylist_restore(&ctl_pass_db(a->c)->gl, &e);
}

static void load_offender(void *arg, const struct persist_offender *r)
{
	struct load_arg *a = arg;

	ctl_offender_restore(a->c, &r->ip, to_mono(&a->k, r->first_ms), to_mono(&a->k, r->last_ms),
			     to_mono(&a->k, r->expires_ms), r->reports);
	a->offenders++;
}

static void ctl_state_load(struct controller *c)
{
	struct load_arg a = {.c = c, .k = {ev_now_ms(), real_ms()}};
	struct persist_sink sink = {&a, load_seed, load_pass, load_tuple, load_offender};
	char path[4200], err[PATH_MAX + 512];
	char *buf = NULL;
	struct stat st;
	ssize_t n = 0;
	int fd;

	if (!c->passes || !c->cfg->state_dir[0])
		return;
	if (state_dir_check(c, true, err, sizeof(err))) {
		log_err("state: %s; starting with no saved state", err);
		return;
	}
	snprintf(path, sizeof(path), "%s/" STATE_FILE, c->cfg->state_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("state: cannot read %s: %s; starting with no saved state", path,
				 strerror(errno));
		return;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > PERSIST_FILE_MAX ||
	    st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		log_warn("state: %s is not a regular file of root's, writable only by root, of "
			 "at most %d bytes; ignored (starting with no saved state)",
			 path, PERSIST_FILE_MAX);
		close(fd);
		return;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf) {
		size_t got = 0;

		while (got < (size_t)st.st_size &&
		       (n = read(fd, buf + got, (size_t)st.st_size - got)) > 0)
			got += (size_t)n;
		n = (ssize_t)got;
	}
	close(fd);
	if (!buf) {
		log_warn("state: out of memory reading %s; ignored", path);
		return;
	}
	if (persist_parse(buf, (size_t)n, &sink, err, sizeof(err))) {
		log_warn(
		    "state: %s is corrupt or not mxgate's (%s); ignored, starting with no saved "
		    "state; it is replaced at the next save",
		    path, err);
		free(buf);
		return;
	}
	free(buf);
	log_notice("state: loaded %s: %zu pass(es), %zu greylist tuple(s), %zu offender(s)", path,
		   a.passes, a.tuples, a.offenders);
}

static int ctl_state_save(struct controller *c)
{
	return state_report(c, state_write(c));
}

/* In the save's child: its copy of the tables (the fork's) to disk, the
 * result as one int on fd. */
static void save_run(struct controller *c, int fd, void *arg)
{
	int r = state_write(c);

	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
}

static void count_offender(void *arg, const struct mxg_ip *ip, uint64_t first, uint64_t last,
			   uint64_t expires, uint64_t reports)
{
	(*(size_t *)arg)++;
}

/* Nothing a save would write but the seed: no pass, no live tuple, no
 * offender. */
static bool state_empty(struct controller *c)
{
	const struct pass_db *p = ctl_pass_db(c);
	size_t offenders = 0;

	if (p->passes.n || greylist_count(&p->gl, ev_now_ms()))
		return false;
	ctl_offenders_each(c, count_offender, &offenders);
	return !offenders;
}

static void save_done(struct controller *c, bool ok, const char *buf, size_t len, const char *why)
{
	int r;

	if (!ok || len != sizeof(r)) {
		log_err("state: the save's helper failed (%s); the next save tries again",
			why ? why : "no answer");
		return;
	}
	memcpy(&r, buf, sizeof(r));
	c->state_saved_empty = !state_report(c, r) && c->state_job_empty;
}

/* The loop never writes or fsyncs: a forked child saves what the tables
 * held at the fork. One save at a time: if the last one still runs (a
 * slow disk), this one is skipped and the next tries. Empty tables
 * already saved as such are not saved again: the fork is not free at
 * 100,000 domains (its page-table copy, then a write fault on every page
 * the loop touches afterwards), and a backup that sees no mail would pay
 * it every minute for the same file. */
static void save_cb(struct ev_loop *loop, void *arg)
{
	struct controller *c = arg;
	int r;

	ctl_timer_start(c, &c->state_timer, CTL_STATE_SAVE_MS, "state save");
	if (!ctl_pass_db(c) || !c->cfg->state_dir[0])
		return;
	if (ctl_job_running(&c->state_job)) {
		log_warn("state: the last save (pid %d) is still writing to %s; skipping this one",
			 (int)c->state_job.pid, c->cfg->state_dir);
		return;
	}
	c->state_job_empty = state_empty(c);
	if (c->state_job_empty && c->state_saved_empty)
		return;
	c->state_job.name = "state save";
	c->state_job.max = sizeof(int);
	c->state_job.done = save_done;
	r = ctl_job_start(c, &c->state_job, CTL_STATE_SAVE_DEADLINE_MS, save_run, NULL);
	if (r < 0)
		log_err("state: cannot start the save: %s; the next save tries again",
			strerror(-r));
}

void ctl_state_start(struct controller *c)
{
	ctl_state_load(c);
	ev_timer_init(&c->state_timer, save_cb, c);
	ctl_timer_start(c, &c->state_timer, CTL_STATE_SAVE_MS, "state save");
}

/* SIGTERM's save is written here, synchronously: the loop has ended
 * (nothing waits on it any more), and mxgated must not exit before the
 * state is on disk. A save still running is ended first: it holds older
 * state and writes the same temporary file. */
void ctl_state_stop(struct controller *c)
{
	if (c->loop) {
		ev_timer_stop(c->loop, &c->state_timer);
		ctl_job_cancel(&c->state_job);
	}
	ctl_state_save(c);
}
