// SPDX-License-Identifier: GPL-2.0-only
/* The handoff's connector process and its two calls (see
 * responder_connector.h). */
#include "responder_connector.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "responder_int.h"

struct answer {
	uint64_t id;
	int32_t error; /* 0: a descriptor comes with it */
	int32_t pad;
};

/* Sockets of the handoff's family only. */
static int socket_rule(scmp_filter_ctx ctx, void *arg)
{
	return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t) * (const int *)arg));
}

static int connector_seccomp(int family)
{
	static const int allowed[] = {
	    SCMP_SYS(recvfrom),
	    SCMP_SYS(recvmsg),
	    SCMP_SYS(sendmsg),
	    SCMP_SYS(connect),
	    SCMP_SYS(close),
	    SCMP_SYS(exit),
	    SCMP_SYS(exit_group),
	    SCMP_SYS(rt_sigreturn),
	    SCMP_SYS(restart_syscall),
#ifdef __SANITIZE_ADDRESS__
	    /* ASan's runtime (the SAN=1 build only). */
	    SCMP_SYS(mmap),
	    SCMP_SYS(munmap),
	    SCMP_SYS(madvise),
	    SCMP_SYS(mprotect),
	    SCMP_SYS(futex),
	    SCMP_SYS(write),
	    SCMP_SYS(getpid),
	    SCMP_SYS(gettid),
	    SCMP_SYS(sigaltstack),
	    SCMP_SYS(rt_sigaction),
	    SCMP_SYS(rt_sigprocmask),
	    SCMP_SYS(sched_yield),
	    SCMP_SYS(prctl),
	    SCMP_SYS(getrlimit),
	    SCMP_SYS(prlimit64),
	    SCMP_SYS(openat),
	    SCMP_SYS(readlink),
	    SCMP_SYS(tgkill),
	    SCMP_SYS(sched_getaffinity),
	    SCMP_SYS(clock_gettime),
	    SCMP_SYS(read),
	    SCMP_SYS(close_range),
	    SCMP_SYS(fstat),
	    SCMP_SYS(newfstatat),
	    SCMP_SYS(lseek),
#endif
	};

	return responder_seccomp_load(allowed, sizeof(allowed) / sizeof(allowed[0]), socket_rule,
				      &family);
}

__attribute__((noreturn)) static void connector_main(int fd, const struct sockaddr_storage *addr,
						     socklen_t addr_len)
{
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} cm;
		struct answer a = {0};
		struct iovec iov = {&a, sizeof(a)};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		uint64_t id;
		ssize_t n = recv(fd, &id, sizeof(id), 0);
		int s;

		if (n == 0)
			_exit(0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			_exit(1);
		if (n != sizeof(id))
			continue;
		a.id = id;
		s = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (s < 0)
			a.error = errno;
		else if (connect(s, (const struct sockaddr *)addr, addr_len) < 0 &&
			 errno != EINPROGRESS) {
			a.error = errno;
			close(s);
			s = -1;
		}
		if (s >= 0) {
			struct cmsghdr *c;

			memset(&cm, 0, sizeof(cm));
			msg.msg_control = cm.buf;
			msg.msg_controllen = sizeof(cm.buf);
			c = CMSG_FIRSTHDR(&msg);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &s, sizeof(int));
		}
		/* The responder not reading: this answer is lost, and its
		 * session times out into a 451. */
		if (sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno == EPIPE)
			_exit(0);
		if (s >= 0)
			close(s);
	}
}

int rsp_connector_start(const struct sockaddr_storage *addr, socklen_t addr_len, uid_t uid,
			gid_t gid, bool change_user, pid_t *pid, char *err, size_t errlen)
{
	int sv[2], rc;
	pid_t parent = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		snprintf(err, errlen, "handoff connector: socketpair: %s", strerror(errno));
		return rc;
	}
	*pid = fork();
	if (*pid < 0) {
		rc = -errno;
		snprintf(err, errlen, "handoff connector: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (*pid == 0) {
		char why[256];

		close(sv[0]);
		/* Nothing else of the responder's: only its request end. */
		if (sv[1] != 3 && dup2(sv[1], 3) < 0)
			_exit(1);
		close_range(4, ~0u, 0);
		if (responder_drop_privileges(uid, gid, change_user, 16, -1, why, sizeof(why)) < 0)
			_exit(1);
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		if (getppid() != parent || connector_seccomp(addr->ss_family))
			_exit(1);
		connector_main(3, addr, addr_len);
	}
	close(sv[1]);
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "handoff connector: fcntl: %s", strerror(errno));
		close(sv[0]);
		kill(*pid, SIGKILL);
		return rc;
	}
	return sv[0];
}

int rsp_connector_ask(int fd, uint64_t id)
{
	if (send(fd, &id, sizeof(id), MSG_NOSIGNAL | MSG_DONTWAIT) == sizeof(id))
		return 0;
	return errno == EWOULDBLOCK ? -EAGAIN : -errno;
}

int rsp_connector_take(int fd, uint64_t *id, int *conn, int *error)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cm;
	struct answer a;
	struct iovec iov = {&a, sizeof(a)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cm.buf,
			     .msg_controllen = sizeof(cm.buf)};
	struct cmsghdr *c;
	ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

	*conn = -1;
	*error = 0;
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -EPIPE;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(conn, CMSG_DATA(c), sizeof(int));
	if (n != sizeof(a) || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (*conn >= 0)
			close(*conn);
		*conn = -1;
		return -EBADMSG;
	}
	*id = a.id;
	*error = a.error;
	if (!a.error && *conn < 0)
		*error = EBADMSG;
	return 1;
}
