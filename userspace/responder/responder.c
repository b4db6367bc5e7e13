// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's side of the responder: the listening sockets, the
 * fork, the handshake with the child and the domain table pushes. The
 * child's side is responder_proc.c; the privilege drop responder_priv.c.
 * See responder.h for the order that keeps the gate failing open.
 */
#include "responder.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "responder_connector.h"
#include "responder_int.h"
#include "responder_wire.h"

#define RESPONDER_BACKLOG 1024
#define RESPONDER_FD_SLACK 64 /* descriptors beyond one per session */

/* A handoff holds the MTA's socket and, while it copies, two pipes: five
 * descriptors for each of the max_connections/4 (responder_proc.c). */
static unsigned handoff_fds(const struct mxg_config *cfg, unsigned max_conn)
{
	return cfg->handoff_addr_len ? (max_conn / 4 ? max_conn / 4 : 1) * 5 : 0;
}

static int listen_one(const struct mxg_ip *ip, uint16_t port, uint16_t *bound, char *err,
		      size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = mxg_ip_to_sockaddr(ip, port, &ss);
	char addr[MXG_ADDRSTRLEN];
	int fd, one = 1, rc;

	fd = socket(ip->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "responder: socket: %s", strerror(errno));
		return rc;
	}
	/* SO_REUSEADDR only (restart while old sessions linger in TIME_WAIT);
	 * never SO_REUSEPORT: bpf_sk_assign refuses such sockets before 6.6. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ip->family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, RESPONDER_BACKLOG) < 0)
		goto fail;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
	    mxg_ip_from_sockaddr((struct sockaddr *)&ss, &(struct mxg_ip){0}, bound) < 0)
		goto fail;
	return fd;
fail:
	rc = -errno;
	snprintf(err, errlen, "responder: cannot listen on %s port %u: %s; is the address local?",
		 mxg_ip_str(ip, addr, sizeof(addr)), (unsigned)port, strerror(errno));
	close(fd);
	return rc ? rc : -EINVAL;
}

static void responder_reset(struct responder *r)
{
	*r = (struct responder){.pid = 0, .ctl_fd = -1, .listen_fd_v4 = -1, .listen_fd_v6 = -1};
}

int responder_listen_on(struct responder *r, const struct mxg_ip *v4, const struct mxg_ip *v6,
			uint16_t port, char *err, size_t errlen)
{
	int fd;

	responder_reset(r);
	if (v4) {
		fd = listen_one(v4, port, &r->port_v4, err, errlen);
		if (fd < 0)
			return fd;
		r->listen_fd_v4 = fd;
	}
	if (v6) {
		fd = listen_one(v6, port, &r->port_v6, err, errlen);
		if (fd < 0) {
			responder_stop(r);
			return fd;
		}
		r->listen_fd_v6 = fd;
	}
	return 0;
}

int responder_listen(struct responder *r, char *err, size_t errlen)
{
	struct mxg_ip v4, v6;

	mxg_ip_parse("127.0.0.1", &v4);
	mxg_ip_parse("::1", &v6);
	return responder_listen_on(r, &v4, &v6, 0, err, errlen);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Close every descriptor but 0-2 and keep[]: the child must not hold the
 * controller's BPF maps, control socket or anything else. */
static void close_all_but(int *keep, size_t n)
{
	unsigned next = 3;

	qsort(keep, n, sizeof(*keep), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)next)
			continue;
		if ((unsigned)keep[i] > next)
			close_range(next, (unsigned)keep[i] - 1, 0);
		next = (unsigned)keep[i] + 1;
	}
	close_range(next, ~0u, 0);
}

static void send_ready(int ctl, int error, const char *text)
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

__attribute__((noreturn)) static void child_main(const struct mxg_config *cfg, struct responder *r,
						 int ctl, pid_t parent, uid_t uid, gid_t gid,
						 bool change_user, const char *user,
						 const char *jail)
{
	int keep[3] = {r->listen_fd_v4, r->listen_fd_v6, ctl};
	unsigned max_conn = cfg->max_connections;
	char err[256] = "";
	sigset_t none;
	int rc, status_fd, connector = -1;
	SSL_CTX *tls = NULL;
	pid_t self;

	/* The controller's signal handlers and mask are not ours. */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);

	closelog();
	close_all_but(keep, 3);
	/* Connected to /dev/log now: after the chroot it cannot be found. */
	log_reopen();

	/* This host's addresses, while netlink is still allowed. */
	responder_self_snapshot();
	/* Under memory pressure the kernel's OOM killer takes the child, which
	 * holds the sessions, before the controller: the controller sees the
	 * SIGKILL, logs it and restarts the child (the gate is open meanwhile).
	 * Raising one's own score needs no privilege; a failure changes
	 * nothing else. */
	{
		int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

		if (fd >= 0) {
			if (write(fd, "500", 3) != 3)
				log_debug("responder: oom_score_adj: %s", strerror(errno));
			close(fd);
		}
	}
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

		connector = rsp_connector_start(&cfg->handoff_addr, cfg->handoff_addr_len, uid, gid,
						change_user, &cpid, err, sizeof(err));
		rc = connector < 0 ? connector : 0;
	}
	if (!rc)
		rc = responder_chroot(jail, err, sizeof(err));
	if (!rc)
		rc = responder_drop_privileges(uid, gid, change_user,
					       max_conn + handoff_fds(cfg, max_conn) +
						   RESPONDER_FD_SLACK,
					       status_fd, err, sizeof(err));
	if (status_fd >= 0)
		close(status_fd);
	if (rc) {
		log_err("responder: %s", err);
		send_ready(ctl, -rc, err);
		_exit(1);
	}
	/* Set after the uid change, which clears it; then close the race
	 * with a controller that died before this line. */
	prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
	if (getppid() != parent)
		_exit(0);
	self = getpid();
	/* The last step: from here on only the event loop's calls. */
	rc = responder_seccomp(err, sizeof(err));
	if (rc) {
		log_err("responder: %s", err);
		send_ready(ctl, -rc, err);
		_exit(1);
	}
	log_info("responder: pid %d serving as %s, root %s, seccomp allowlist, STARTTLS %s",
		 (int)self, change_user ? user : "(unchanged)", jail[0] ? jail : "(unchanged)",
		 tls ? "offered" : "off");
	send_ready(ctl, 0, "");
	_exit(responder_child_run(cfg, r->listen_fd_v4, r->listen_fd_v6, ctl, tls, connector));
}

int responder_ready_result(const struct responder_wire_reader *rd, char *err, size_t errlen)
{
	char text[RESPONDER_READY_TEXT_MAX + 1];

	if (rd->hdr.type != RESPONDER_MSG_READY) {
		snprintf(err, errlen, "a message before READY; see its log line");
		return -EBADMSG;
	}
	if (!rd->hdr.count)
		return 0;
	/* Its own words, but from a process that may be compromised. */
	log_printable(text, sizeof(text), rd->payload ? (const char *)rd->payload : "",
		      rd->hdr.len < RESPONDER_READY_TEXT_MAX ? rd->hdr.len
							     : RESPONDER_READY_TEXT_MAX);
	snprintf(err, errlen, "%s", text);
	return rd->hdr.count < 4096 ? -(int)rd->hdr.count : -EPROTO;
}

int responder_cfg_check(const struct mxg_config *cfg, char *err, size_t errlen)
{
	const char *missing = !cfg->max_connections		  ? "max_connections"
			      : !cfg->max_connections_per_client  ? "max_connections_per_client"
			      : !cfg->max_connections_per_network ? "max_connections_per_network"
			      : !cfg->idle_timeout_ms		  ? "idle_timeout"
			      : !cfg->session_timeout_ms	  ? "session_timeout"
			      : !cfg->helo_name[0]		  ? "helo_name"
			      : !cfg->user[0]			  ? "user"
			      : !cfg->control_socket[0]		  ? "control_socket"
								  : NULL;

	if (!missing)
		return 0;
	snprintf(err, errlen,
		 "responder: %s is 0 or empty; the configuration must come from config_load, "
		 "which sets every default (a bug: report it)",
		 missing);
	return -EINVAL;
}

int responder_spawn(struct responder *r, const struct mxg_config *cfg, char *err, size_t errlen)
{
	const char *user = cfg->user;
	bool change_user = geteuid() == 0;
	uid_t uid = getuid();
	gid_t gid = getgid();
	pid_t parent = getpid();
	char jail[256];
	struct passwd *pw;
	int sv[2], rc;

	rc = responder_cfg_check(cfg, err, errlen);
	if (rc)
		goto out_close;
	if (r->listen_fd_v4 < 0 && r->listen_fd_v6 < 0) {
		snprintf(err, errlen,
			 "responder: no listening socket; call responder_listen first");
		return -EINVAL;
	}
	if (change_user && cfg->user_found) {
		/* Looked up when the config was loaded (config_check_host): a
		 * restart from the controller's loop does not wait on NSS. */
		uid = cfg->user_uid;
		gid = cfg->user_gid;
	} else if (change_user) {
		errno = 0;
		pw = getpwnam(user);
		if (!pw) {
			rc = errno ? -errno : -ENOENT;
			snprintf(err, errlen,
				 "responder: user %s: no such user; set user = to an "
				 "unprivileged account",
				 user);
			goto out_close;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
		if (uid == 0) {
			rc = -EPERM;
			snprintf(err, errlen,
				 "responder: user %s is root; set user = to an "
				 "unprivileged account (default nobody)",
				 user);
			goto out_close;
		}
	}
	rc = responder_jail_dir(cfg, jail, sizeof(jail), err, errlen);
	if (rc)
		goto out_close;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		snprintf(err, errlen, "responder: socketpair: %s", strerror(errno));
		goto out_close;
	}
	/* Our end never blocks: the caller reads READY and the reports, and
	 * writes the tables, from its event loop. */
	rc = fcntl(sv[0], F_GETFL);
	if (rc < 0 || fcntl(sv[0], F_SETFL, rc | O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "responder: cannot make its socket non-blocking: %s",
			 strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto out_close;
	}
	fflush(NULL);
	r->pid = fork();
	if (r->pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "responder: fork: %s", strerror(errno));
		r->pid = 0;
		close(sv[0]);
		close(sv[1]);
		goto out_close;
	}
	if (r->pid == 0) {
		close(sv[0]);
		child_main(cfg, r, sv[1], parent, uid, gid, change_user, user, jail);
	}
	close(sv[1]);
	r->ctl_fd = sv[0];
	/* Fail-open: from now on only the child holds the sockets. */
	close_fd(&r->listen_fd_v4);
	close_fd(&r->listen_fd_v6);
	return 0;
out_close:
	close_fd(&r->listen_fd_v4);
	close_fd(&r->listen_fd_v6);
	return rc;
}

#define RESPONDER_STOP_WAIT_MS 1000 /* SIGTERM grace before SIGKILL */

void responder_stop(struct responder *r)
{
	close_fd(&r->listen_fd_v4);
	close_fd(&r->listen_fd_v6);
	close_fd(&r->ctl_fd); /* the child exits on EOF by itself */
	if (r->pid > 0) {
		int status;

		kill(r->pid, SIGTERM);
		for (int waited = 0; waited < RESPONDER_STOP_WAIT_MS; waited += 10) {
			if (waitpid(r->pid, &status, WNOHANG) != 0)
				goto reaped;
			usleep(10 * 1000);
		}
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &status, 0);
	}
reaped:
	r->pid = 0;
}
