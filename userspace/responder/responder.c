// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's side of the responder: the listening sockets, the
 * fork, the handshake with the child and the domain table pushes. The
 * child's side is responder_proc.c (its sessions responder_conn.c); the
 * privilege drop responder_priv.c.
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
#include "responder_start.h"
#include "responder_wire.h"

#define RESPONDER_BACKLOG 1024

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

/* The responder's start blob: its confinement and the config subset. */
static int start_blob(const struct responder *r, const struct mxg_config *cfg, pid_t parent,
		      uid_t uid, gid_t gid, bool change_user, const char *jail, char *err,
		      size_t errlen)
{
	struct rsp_start *s = calloc(1, sizeof(*s));
	int fd;

	if (!s) {
		snprintf(err, errlen, "responder: out of memory for its start");
		return -ENOMEM;
	}
	s->parent = parent;
	s->uid = uid;
	s->gid = gid;
	s->change_user = change_user;
	s->log_syslog = log_current_target() == LOG_TO_SYSLOG;
	s->log_debug = log_debug_enabled();
	s->have_v4 = r->listen_fd_v4 >= 0;
	s->have_v6 = r->listen_fd_v6 >= 0;
	s->steered_port = r->steered_port ? r->steered_port : MXG_SMTP_PORT;
	snprintf(s->user, sizeof(s->user), "%s", cfg->user);
	snprintf(s->jail, sizeof(s->jail), "%s", jail);
	responder_config_subset(cfg, &s->cfg);
	fd = responder_start_write(s, err, errlen);
	free(s);
	return fd;
}

/*
 * In the forked child, still a copy of the controller: put the
 * responder's descriptors at their numbers (responder_start.h), close
 * every other one (the controller's BPF maps, control socket, event
 * loop), and execute our own binary in the responder's role: a fresh
 * address space, nothing of the controller's heap. Async-signal-safe
 * calls only until the exec.
 */
__attribute__((noreturn)) static void exec_role(int ctl, int start, int l4, int l6)
{
	char *const argv[] = {program_invocation_short_name, RSP_ROLE_OPT, RSP_ROLE_NAME, NULL};
	int src[] = {ctl, start, l4, l6};
	char err[128];
	int e;

	/* Out of the way first: a source may sit on another's target. */
	for (int i = 0; i < 4; i++)
		if (src[i] >= 0 && (src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, RSP_FD_INHERIT)) < 0)
			goto fail;
	for (int i = 0; i < 4; i++) {
		if (src[i] < 0)
			close(RSP_FD_WIRE + i);
		else if (dup2(src[i], RSP_FD_WIRE + i) < 0) /* without close-on-exec */
			goto fail;
	}
	if (close_range(RSP_FD_INHERIT, ~0u, 0) < 0)
		goto fail;
	/* This very binary even when a package upgrade replaced the file:
	 * the wire and the start blob are of this build. */
	execve("/proc/self/exe", argv, environ);
fail:
	e = errno;
	snprintf(err, sizeof(err), "cannot execute /proc/self/exe as the responder: %s",
		 strerror(e));
	responder_send_ready(fcntl(RSP_FD_WIRE, F_GETFD) >= 0 ? RSP_FD_WIRE : ctl, e, err);
	_exit(127);
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
	int sv[2], rc, start = -1;

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
	start = start_blob(r, cfg, parent, uid, gid, change_user, jail, err, errlen);
	if (start < 0) {
		rc = start;
		goto out_close;
	}
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
	if (r->pid == 0)
		exec_role(sv[1], start, r->listen_fd_v4, r->listen_fd_v6);
	close(sv[1]);
	close(start);
	r->ctl_fd = sv[0];
	/* Fail-open: from now on only the child holds the sockets. */
	close_fd(&r->listen_fd_v4);
	close_fd(&r->listen_fd_v6);
	return 0;
out_close:
	close_fd(&start);
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
