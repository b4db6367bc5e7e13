// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder process from its exec to its event loop: `mxgated -x
 * responder`, started by responder_spawn() (responder.c) with only its
 * descriptors (responder_start.h). It reads its start blob, then, still
 * root: loads the TLS key, forks the handoff's connector, chroots, drops
 * privileges, installs the seccomp allowlist, and says READY before it
 * reads a byte from the network.
 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "responder_connector.h"
#include "responder_int.h"
#include "responder_start.h"
#include "responder_wire.h"

#define RESPONDER_FD_SLACK 64 /* descriptors beyond one per session */
/* As the controller's (controller.h): large blocks (a domain table of
 * megabytes) from mmap, so free() gives them back. */
#define RESPONDER_MMAP_THRESHOLD (256 * 1024)

/* A handoff holds the MTA's socket and, while it copies, two pipes: five
 * descriptors for each of the max_connections/4 (responder_proc.c). */
static unsigned handoff_fds(const struct mxg_config *cfg, unsigned max_conn)
{
	return cfg->handoff_addr_len ? (max_conn / 4 ? max_conn / 4 : 1) * 5 : 0;
}

void responder_send_ready(int ctl, int error, const char *text)
{
	struct responder_wire_hdr h = {RESPONDER_MAGIC, RESPONDER_VERSION, RESPONDER_MSG_READY,
				       (uint32_t)error, 0};
	char buf[sizeof(h) + RESPONDER_READY_TEXT_MAX];
	size_t tl = error ? strnlen(text, RESPONDER_READY_TEXT_MAX) : 0;

	h.len = (uint32_t)tl;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), text, tl);
	if (send(ctl, buf, sizeof(h) + tl, MSG_NOSIGNAL) < 0)
		_exit(1);
}

/* A listening socket we were given: a socket, listening. */
static int listener(int fd, bool have)
{
	int on = 0;
	socklen_t len = sizeof(on);
	struct stat st;

	if (!have)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 || !on)
		return -2;
	return fd;
}

/* Under memory pressure the kernel's OOM killer takes the responder,
 * which holds the sessions, before the controller: the controller sees
 * the SIGKILL, logs it and restarts it (the gate is open meanwhile).
 * Raising one's own score needs no privilege; a failure changes nothing
 * else. */
static void oom_first(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "500", 3) != 3)
		log_debug("responder: oom_score_adj: %s", strerror(errno));
	close(fd);
}

__attribute__((noreturn)) static void serve(struct rsp_start *s)
{
	const struct mxg_config *cfg = &s->cfg;
	int ctl = RSP_FD_WIRE, fd4, fd6;
	char err[256] = "";
	int rc, status_fd, connector = -1;
	SSL_CTX *tls = NULL;
	pid_t self;

	fd4 = listener(RSP_FD_LISTEN4, s->have_v4);
	fd6 = listener(RSP_FD_LISTEN6, s->have_v6);
	if (fd4 < -1 || fd6 < -1 || (fd4 < 0 && fd6 < 0)) {
		snprintf(err, sizeof(err), "responder: not given its listening sockets");
		log_err("%s", err);
		responder_send_ready(ctl, EBADF, err);
		_exit(1);
	}
	/* This host's addresses, while netlink is still allowed. */
	responder_self_snapshot();
	oom_first();
	/* Still root: the empty root, then the drop (which reads
	 * /proc/self/status, kept open across the chroot), then the
	 * allowlist, all before a byte from the network. */
	status_fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	/* The certificate and key, read as root while files are in reach. */
	rc = responder_tls_prepare(cfg, &tls, err, sizeof(err));
	/* The handoff's connector, before the chroot (a unix: target's path)
	 * and the drop (RLIMIT_NPROC 0: no fork after it). */
	if (!rc && cfg->handoff_addr_len) {
		pid_t cpid;

		connector = rsp_connector_start(&cfg->handoff_addr, cfg->handoff_addr_len, s->uid,
						s->gid, s->change_user, &cpid, err, sizeof(err));
		rc = connector < 0 ? connector : 0;
	}
	if (!rc)
		rc = responder_chroot(s->jail, err, sizeof(err));
	if (!rc)
		rc = responder_drop_privileges(s->uid, s->gid, s->change_user,
					       cfg->max_connections +
						   handoff_fds(cfg, cfg->max_connections) +
						   RESPONDER_FD_SLACK,
					       status_fd, err, sizeof(err));
	if (status_fd >= 0)
		close(status_fd);
	if (rc) {
		log_err("responder: %s", err);
		responder_send_ready(ctl, -rc, err);
		_exit(1);
	}
	/* Set after the uid change, which clears it; then close the race
	 * with a controller that died before this line. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != s->parent)
		_exit(0);
	self = getpid();
	/* The last step: from here on only the event loop's calls. */
	rc = responder_seccomp(err, sizeof(err));
	if (rc) {
		log_err("responder: %s", err);
		responder_send_ready(ctl, -rc, err);
		_exit(1);
	}
	log_info("responder: pid %d serving as %s, root %s, seccomp allowlist, STARTTLS %s",
		 (int)self, s->change_user ? s->user : "(unchanged)",
		 s->jail[0] ? s->jail : "(unchanged)", tls ? "offered" : "off");
	responder_send_ready(ctl, 0, "");
	_exit(responder_child_run(cfg, fd4, fd6, s->steered_port, ctl, tls, connector));
}

int responder_role_main(int argc, char **argv, const char *ident)
{
	struct rsp_start *s;
	char err[512];
	struct stat st;
	sigset_t none;

	if (argc != 3 || strcmp(argv[1], RSP_ROLE_OPT) || strcmp(argv[2], RSP_ROLE_NAME))
		return 0;
	/* The exec kept the controller's mask and ignored signals. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	/* The exec of /proc/self/exe named us "exe". */
	prctl(PR_SET_NAME, ident, 0, 0, 0);
	(void)mallopt(M_MMAP_THRESHOLD, RESPONDER_MMAP_THRESHOLD);

	s = malloc(sizeof(*s));
	if (!s || responder_start_read(RSP_FD_START, s, err, sizeof(err)) < 0) {
		if (!s)
			snprintf(err, sizeof(err), "responder: out of memory at start");
		fprintf(stderr, "%s: %s\n", ident, err);
		/* Tell the controller, if it is what fd 3 is. */
		if (!fstat(RSP_FD_WIRE, &st) && S_ISSOCK(st.st_mode))
			responder_send_ready(RSP_FD_WIRE, EINVAL, err);
		_exit(2);
	}
	close(RSP_FD_START);
	/* Connected to /dev/log now: after the chroot it cannot be found. */
	log_init(ident, s->log_syslog ? LOG_TO_SYSLOG : LOG_TO_STDERR, s->log_debug);
	serve(s);
}
