// SPDX-License-Identifier: GPL-2.0-only
/* mxgated: the daemon's entry point. Options, the config check (-n),
 * daemonizing (unless -f), then the controller. Exit codes: 0 success,
 * 1 failure, 2 usage. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "controller.h"
#include "kernel_features.h"
#include "log.h"
#include "mxgated.h"
#include "responder_start.h"

/*
 * reply = reject turns into a bounce every case where a legitimate sender
 * comes to this backup while mxgate's probe sees the primary up. None of
 * them is visible from here (mxgate is not that sender), so -n names each
 * one, a line each, for any configuration that asks for reject (the
 * default is greylist). Measured on the test network with real Exim,
 * OpenSMTPD and Postfix senders (docs/reject-vs-defer.md).
 */
static const char *const reject_risks[] = {
    "senders with retry memory: after a primary blip Exim skips the failed host for "
    "~15 min and OpenSMTPD disables the route, so their next mail comes here while the "
    "primary is up again and bounces; reject_grace (451 after a failed round) covers "
    "only the blips mxgated's probe sees, not a break on the sender's own path",
    "primaries that greylist or defer everyone but their backup pass mxgate's probe; "
    "the senders they defer (450) come here and bounce",
    "per-user conditions at the primary (452 mailbox full, a per-sender rate limit) "
    "send that sender here, where the 551 bounces what a backup would have queued",
    "TLS-requiring senders (MTA-STS enforce, DANE, Exim hosts_require_tls) that cannot "
    "reach the primary never deliver through this backup: the 551 bounces what greylist "
    "would pass after the delay",
};

static void warn_reject(const struct mxg_config *cfg)
{
	size_t n = 0;
	const char *first = NULL;

	for (size_t i = 0; i < cfg->n_domains; i++) {
		if (config_domain_reply(cfg, &cfg->domains[i]) != MXG_REPLY_REJECT)
			continue;
		if (!n++)
			first = cfg->domains[i].name;
	}
	if (!n)
		return;
	fprintf(stderr,
		"mxgated: %s: warning: reply = reject for %zu domain(s) (%s%s) bounces (551) "
		"mail of senders that did nothing wrong; it risks:\n",
		cfg->path, n, first, n > 1 ? ", ..." : "");
	for (size_t i = 0; i < sizeof(reject_risks) / sizeof(reject_risks[0]); i++)
		fprintf(stderr, "mxgated: %s: warning: reply = reject risk: %s\n", cfg->path,
			reject_risks[i]);
	fprintf(stderr,
		"mxgated: %s: warning: reply = reject: unless none of these can happen, remove "
		"reply (the default is greylist) or set reply = defer (see "
		"docs/reject-vs-defer.md)\n",
		cfg->path);
}

/*
 * A gate steers whole connections by address: while a relay domain gates
 * this host's address, mail for the domains Postfix delivers here
 * (mydestination, virtual_*_domains) arrives at the responder too, which
 * cannot deliver it without a handoff and defers it; a gate that stays
 * closed longer than the senders' queue lifetime returns it to them.
 */
static void warn_final(const struct mxg_config *cfg)
{
	const struct mxg_final_domain *f = cfg->final_domains;
	size_t n = cfg->n_final_domains;

	/* With a handoff the responder delivers them through the MTA. */
	if (cfg->handoff_addr_len)
		return;
	if (n)
		fprintf(stderr,
			"mxgated: %s: warning: Postfix is also the final destination of %zu "
			"domain(s) (%s in %s%s): while a relay domain gates an address their "
			"MX points to, mail for them is answered 451 by the responder, and "
			"returned to its senders if the gate stays closed past their queue "
			"lifetime; set handoff so that the responder hands them to the MTA "
			"(see docs/responder.md, \"Handoff\")\n",
			cfg->path, n, f[0].name, config_final_from_name(f[0].from),
			n > 1 ? ", ..." : "");
	if (cfg->final_unlisted[0])
		fprintf(stderr,
			"mxgated: %s: warning: domains_from: not every final destination of "
			"Postfix could be listed (%s); mail for such domains on a gated "
			"address is answered 451 without a handoff\n",
			cfg->path, cfg->final_unlisted);
}

/* An inet policy listener answers whoever reaches the port: on loopback
 * every local user, who could name any client an offender. */
static void warn_policy_inet(const struct mxg_config *cfg)
{
	if (!cfg->policy_addr_len || cfg->policy_addr.ss_family == AF_UNIX)
		return;
	fprintf(stderr,
		"mxgated: %s: warning: policy_listen = %s: every %s can reach the policy "
		"service and ask about any client (make it an offender, learn the replies); "
		"policy_listen = unix lets only Postfix's group (policy_group) in\n",
		cfg->path, cfg->policy_listen,
		cfg->policy_allow_remote ? "host that reaches this port, and every local user,"
					 : "local user");
}

/*
 * The kernel is part of the check: gate = tc or nft starts only on a
 * kernel with every feature it needs (kernel_features.c); the oldest
 * tested is named either way. A kernel that cannot be asked (not root) is
 * not an error.
 */
static int check_kernel(const struct mxg_config *cfg)
{
	bool tc = cfg->gate == MXG_GATE_TC;
	char err[512];
	int r = tc ? kernel_features_check_tc(err, sizeof(err))
		   : kernel_features_check_nft(err, sizeof(err));

	if (r == -EOPNOTSUPP) {
		fprintf(stderr, "mxgated: %s: %s\n", cfg->path, err);
		return 1;
	}
	if (r)
		printf("mxgated: kernel: not checked: %s\n", err);
	else
		printf("mxgated: kernel: has what gate = %s needs (%s); oldest supported: "
		       "Linux %s\n",
		       tc ? "tc" : "nft",
		       tc ? kernel_features_tc_list() : kernel_features_nft_list(),
		       MXG_OLDEST_KERNEL);
	return 0;
}

static int check_config(const struct mxgated_options *opts)
{
	struct mxg_config cfg;
	char err[1024];

	if (config_load(opts->config, &cfg, err, sizeof(err))) {
		fprintf(stderr, "mxgated: %s\n", err);
		return 1;
	}
	if (config_check_host(opts->config, &cfg, err, sizeof(err))) {
		fprintf(stderr, "mxgated: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	warn_reject(&cfg);
	warn_final(&cfg);
	warn_policy_inet(&cfg);
	if ((cfg.gate == MXG_GATE_TC || cfg.gate == MXG_GATE_NFT) && check_kernel(&cfg)) {
		config_free(&cfg);
		return 1;
	}
	config_free(&cfg);
	printf("mxgated: %s: configuration ok\n", opts->config);
	return 0;
}

/*
 * Double fork and setsid. The original process waits on a pipe until the
 * daemon says it started (or failed), so `mxgated` exits 0 only when the
 * gate is in place, and 1 when start-up failed. Returns the pipe's write
 * end in the daemon, or -1 on error (in the original process).
 */
static int daemon_begin(void)
{
	int p[2];
	pid_t pid;
	char b = 0;

	if (pipe2(p, O_CLOEXEC) < 0) {
		fprintf(stderr, "mxgated: pipe: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "mxgated: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(p[1]);
		waitpid(pid, NULL, 0);
		if (read(p[0], &b, 1) != 1 || b != 'k') {
			fprintf(stderr, "mxgated: failed to start; the reason is in the mail log "
					"(syslog LOG_MAIL), or run mxgated -f to see it here\n");
			exit(1);
		}
		exit(0);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(1);
	pid = fork();
	if (pid < 0)
		_exit(1);
	if (pid > 0)
		_exit(0); /* the session leader goes: we can never get a tty */
	if (chdir("/") < 0)
		_exit(1);
	umask(022);
	return p[1];
}

static void daemon_ready(int fd, bool ok)
{
	int null;

	if (fd < 0)
		return;
	if (write(fd, ok ? "k" : "f", 1) != 1)
		log_warn("cannot tell the starting process that we are up: %s", strerror(errno));
	close(fd);
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
}

static int run(const struct mxgated_options *opts)
{
	struct mxg_config *cfg = calloc(1, sizeof(*cfg));
	struct controller c;
	char err[1024];
	char *path;
	int notify = -1, r;

	if (!cfg) {
		fprintf(stderr, "mxgated: out of memory\n");
		return 1;
	}
	/* Large blocks (the domain table sent to the responder, the
	 * responder's copy, a reload's domain list: megabytes at 100,000
	 * domains) always from mmap, so free() gives them back. glibc's
	 * default raises the threshold to the largest block freed, and from
	 * then on they come from the heap, where they stay as holes. The
	 * responder, executed afresh, sets its own. Best effort: without it
	 * (a sanitizer's allocator ignores it) only memory use differs. */
	(void)mallopt(M_MMAP_THRESHOLD, MXG_MMAP_THRESHOLD);
	if (config_load(opts->config, cfg, err, sizeof(err)) ||
	    config_check_host(opts->config, cfg, err, sizeof(err))) {
		fprintf(stderr, "mxgated: %s\n", err);
		config_free(cfg);
		free(cfg);
		return 1;
	}
	/* SIGHUP reads the file again after the daemon's chdir("/"): keep
	 * the absolute path, or `-c ./mxgate.conf` would reload /mxgate.conf. */
	path = realpath(opts->config, NULL);
	if (!path) {
		fprintf(stderr, "mxgated: %s: %s\n", opts->config, strerror(errno));
		config_free(cfg);
		free(cfg);
		return 1;
	}
	if (!opts->foreground) {
		notify = daemon_begin();
		if (notify < 0) {
			config_free(cfg);
			free(cfg);
			free(path);
			return 1;
		}
	}
	log_init("mxgated", opts->foreground ? LOG_TO_STDERR : LOG_TO_SYSLOG, opts->debug);

	r = controller_start(&c, path, cfg);
	if (r < 0) {
		/* Leave kernel state to expire: a failed start must not detach a
		 * gate another mxgated (or our previous run) still uses. */
		controller_stop(&c, false);
		daemon_ready(notify, false);
		free(path);
		return 1;
	}
	daemon_ready(notify, true);
	r = controller_run(&c);
	controller_stop(&c, true);
	log_notice("stopped");
	free(path);
	return r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct mxgated_options opts;
	int r;

	/* `mxgated -x responder`: the responder process mxgated executes
	 * (responder_start.h); it does not return. */
	responder_role_main(argc, argv, "mxgated");
	r = mxgated_parse_args(argc, argv, &opts);
	if (r)
		return r > 0 ? 0 : 2;
	if (opts.check_only)
		return check_config(&opts);
	return run(&opts);
}
