// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder's confinement beyond the privilege drop, as OpenBSD's
 * spamd and OpenSMTPD confine the part that parses the internet: a chroot
 * into an empty directory it cannot write, and a seccomp allowlist of the
 * system calls its event loop makes. A call outside the list kills the
 * process (SCMP_ACT_KILL_PROCESS): its listening sockets close, the kernel
 * stops steering to them (the gate opens), and mxgated restarts it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "responder_int.h"

/* Root's, a directory, not a symlink, writable by nobody else, and empty
 * (the responder must find nothing there). 0, or -errno with why. */
static int check_empty_dir(const char *dir, char *why, size_t len)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "%s", strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		snprintf(why, len, "not owned by root or writable by others");
		return -EPERM;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		snprintf(why, len, "%s", strerror(errno));
		return -errno;
	}
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			closedir(d);
			snprintf(why, len, "not empty");
			return -ENOTEMPTY;
		}
	closedir(d);
	return 0;
}

int responder_jail_dir(const struct mxg_config *cfg, char *out, size_t outlen, char *err,
		       size_t errlen)
{
	char base[sizeof(cfg->control_socket)], why[128];
	const char *sock = cfg->control_socket; /* never empty: responder_cfg_check */
	int rc;

	out[0] = '\0';
	if (geteuid() != 0)
		return 0; /* no CAP_SYS_CHROOT: no chroot (tests as a user) */
	if (!check_empty_dir(RESPONDER_JAIL_SYSTEM, why, sizeof(why))) {
		snprintf(out, outlen, "%s", RESPONDER_JAIL_SYSTEM);
		return 0;
	}
	/* Beside the control socket: /run/mxgate/empty under systemd's
	 * RuntimeDirectory=mxgate, the test's own directory in tests. */
	snprintf(base, sizeof(base), "%s", sock);
	if (snprintf(out, outlen, "%s/empty", dirname(base)) >= (int)outlen) {
		snprintf(err, errlen, "responder: chroot directory: path too long");
		return -ENAMETOOLONG;
	}
	snprintf(base, sizeof(base), "%s", sock);
	if (mkdir(dirname(base), 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "responder: mkdir %s: %s", base, strerror(errno));
		return rc;
	}
	if (mkdir(out, 0555) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, errlen, "responder: mkdir %s: %s", out, strerror(errno));
		return rc;
	}
	rc = check_empty_dir(out, why, sizeof(why));
	if (rc)
		snprintf(err, errlen,
			 "responder: chroot directory %s: %s; it must be an empty directory "
			 "owned by root and writable by no one else (rmdir it, mxgated makes it "
			 "again)",
			 out, why);
	return rc;
}

int responder_chroot(const char *dir, char *err, size_t errlen)
{
	if (!dir[0])
		return 0;
	if (chdir(dir) < 0 || chroot(".") < 0 || chdir("/") < 0) {
		int rc = -errno;

		snprintf(err, errlen, "chroot %s: %s", dir, strerror(errno));
		return rc;
	}
	return 0;
}

/* The calls the child makes from here on: its event loop (epoll, accept,
 * read, send, close, getsockname, getsockopt for the original
 * destination), malloc, the clock when the vDSO falls back, getrandom and
 * uname at its start, and what glibc's syslog() and stdio do to log.
 * STARTTLS adds none: the certificate, the key and OpenSSL's config are
 * read and its random generators seeded before the chroot
 * (responder_tls_prepare); a handshake then only computes, reads, writes
 * and allocates, and a reseed calls getrandom, listed already (tests 48
 * and 49 run TLS sessions under this filter). A handoff's copy after the
 * MTA's 354 adds pipe2 and splice (responder_handoff.c): an anonymous pipe
 * reaches nothing, and splice moves octets only between descriptors the
 * process holds already, so neither widens what it can reach (socket and
 * connect stay refused: test_responder_connector). */
static const int allowed[] = {
    SCMP_SYS(read),
    SCMP_SYS(write),
    SCMP_SYS(readv),
    SCMP_SYS(writev),
    SCMP_SYS(close),
    SCMP_SYS(shutdown),
    SCMP_SYS(accept4),
    SCMP_SYS(accept),
    SCMP_SYS(recvfrom),
    SCMP_SYS(sendto),
    SCMP_SYS(recvmsg),
    SCMP_SYS(sendmsg),
    SCMP_SYS(getsockname),
    SCMP_SYS(getpeername),
    SCMP_SYS(getsockopt),
    SCMP_SYS(fcntl),
    SCMP_SYS(pipe2),
    SCMP_SYS(splice),
    SCMP_SYS(epoll_create1),
    SCMP_SYS(epoll_ctl),
    SCMP_SYS(epoll_wait),
    SCMP_SYS(epoll_pwait),
    SCMP_SYS(epoll_pwait2),
    SCMP_SYS(clock_gettime),
    SCMP_SYS(gettimeofday),
    SCMP_SYS(time),
    SCMP_SYS(getrandom),
    SCMP_SYS(uname),
    SCMP_SYS(brk),
    SCMP_SYS(munmap),
    SCMP_SYS(mremap),
    SCMP_SYS(madvise),
    SCMP_SYS(futex),
    SCMP_SYS(getpid),
    SCMP_SYS(gettid),
    SCMP_SYS(fstat),
    SCMP_SYS(newfstatat),
    SCMP_SYS(lseek),
    SCMP_SYS(rt_sigreturn),
    SCMP_SYS(rt_sigprocmask),
    SCMP_SYS(restart_syscall),
    SCMP_SYS(exit),
    SCMP_SYS(exit_group),
    SCMP_SYS(sysinfo), /* qsort() */
#ifdef __SANITIZE_ADDRESS__
    /* ASan's allocator and reports (the SAN=1 build only). */
    SCMP_SYS(sigaltstack),
    SCMP_SYS(rt_sigaction),
    SCMP_SYS(sched_yield),
    SCMP_SYS(prctl),
    SCMP_SYS(getrlimit),
    SCMP_SYS(prlimit64),
    SCMP_SYS(openat),
    SCMP_SYS(readlink),
    SCMP_SYS(tgkill),
    SCMP_SYS(mprotect),
    SCMP_SYS(sched_getaffinity),
#endif
};

int responder_seccomp_load(const int *allowed_calls, size_t n,
			   int (*rules)(scmp_filter_ctx ctx, void *arg), void *arg)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	int rc = ctx ? 0 : -ENOMEM;

	for (size_t i = 0; !rc && i < n; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed_calls[i], 0);
	if (!rc && rules)
		rc = rules(ctx, arg);
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

/* The responder's rules beyond its allowlist. */
static int responder_rules(scmp_filter_ctx ctx, void *arg)
{
	int rc;

	/* Memory, never executable. */
	rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
			      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
#ifndef __SANITIZE_ADDRESS__
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
				      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	/* glibc's syslog() reconnects to /dev/log when syslogd restarted,
	 * and stdio or the time zone code may try a file: in the empty root
	 * there is nothing to find, so these fail instead of killing us (the
	 * log line is lost, mail is not). */
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0);
#endif
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open), 0);
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(socket), 0);
	if (!rc)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(connect), 0);
	return rc;
}

int responder_seccomp(char *err, size_t errlen)
{
	int rc = responder_seccomp_load(allowed, sizeof(allowed) / sizeof(allowed[0]),
					responder_rules, NULL);

	if (rc)
		snprintf(err, errlen, "seccomp filter: %s", strerror(-rc));
	return rc;
}
