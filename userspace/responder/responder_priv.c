// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder's privilege drop: it parses untrusted input from the
 * internet, so before it reads a byte it becomes `user` with no
 * capabilities, an empty bounding set and no_new_privs, and checks that
 * this worked instead of trusting it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "nofile.h"
#include "responder_int.h"

/* 0 when /proc/self/status (status_fd, or -1 to open it) shows no
 * capability at all. */
static int responder_caps_are_zero(int status_fd, char *err, size_t errlen)
{
	static const char *const keys[] = {"CapInh:", "CapPrm:", "CapEff:", "CapAmb:"};
	char line[256];
	unsigned found = 0;
	FILE *f;
	cap_t now, none;
	int rc = 0, cmp, fd;

	/* Opened before a chroot that hides /proc; read afresh from the start. */
	fd = status_fd >= 0 ? dup(status_fd) : open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && status_fd >= 0)
		lseek(fd, 0, SEEK_SET);
	f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "cannot read /proc/self/status: %s", strerror(errno));
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			size_t kl = strlen(keys[i]);
			unsigned long long v;

			if (strncmp(line, keys[i], kl) != 0)
				continue;
			found++;
			if (sscanf(line + kl, "%llx", &v) != 1 || v != 0) {
				line[strcspn(line, "\n")] = '\0';
				snprintf(err, errlen, "capabilities left after the drop: %s", line);
				rc = -EPERM;
			}
		}
	}
	fclose(f);
	if (rc)
		return rc;
	if (found < 3) {
		snprintf(err, errlen, "/proc/self/status has no capability lines");
		return -EPERM;
	}
	/* Cross-check with libcap, which asks the kernel (capget). */
	now = cap_get_proc();
	none = cap_init();
	cmp = now && none ? cap_compare(now, none) : -1;
	cap_free(now);
	cap_free(none);
	if (cmp != 0) {
		snprintf(err, errlen, "capget reports capabilities left after the drop");
		return -EPERM;
	}
	return 0;
}

int responder_drop_privileges(uid_t uid, gid_t gid, bool change_user, unsigned nofile,
			      int status_fd, char *err, size_t errlen)
{
	struct rlimit zero = {0, 0};
	cap_t empty;
	int rc;

	rc = mxg_raise_nofile(nofile, err, errlen);
	if (rc)
		return rc;
	if (change_user && uid == 0) {
		snprintf(err, errlen, "refusing to run the responder as root; set user = nobody");
		return -EPERM;
	}
	/* While still privileged: empty the bounding set, so nothing can
	 * come back even through a set-uid program. Without CAP_SETPCAP
	 * (mxgated not run as root) this fails with EPERM; no_new_privs below
	 * closes that door instead. */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL &&
		    (errno != EPERM || change_user)) {
			snprintf(err, errlen, "prctl(PR_CAPBSET_DROP): %s", strerror(errno));
			return -errno;
		}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (change_user) {
		if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0) {
			snprintf(err, errlen, "cannot become uid %u gid %u: %s", (unsigned)uid,
				 (unsigned)gid, strerror(errno));
			return -errno;
		}
		if (setuid(0) == 0 || seteuid(0) == 0) {
			snprintf(err, errlen, "could become root again after dropping privileges");
			return -EPERM;
		}
	}
	/* A non-root mxgated run with capabilities (systemd
	 * AmbientCapabilities) keeps its uid: drop the capabilities here. */
	empty = cap_init();
	rc = empty ? cap_set_proc(empty) : -1;
	cap_free(empty);
	if (rc < 0) {
		snprintf(err, errlen, "cannot clear capabilities: %s", strerror(errno));
		return -EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return -errno;
	}
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* no ptrace by other `nobody` processes */
	/* The responder never forks or dumps core. (No RLIMIT_FSIZE: with
	 * -f its log lines may go to a file.) */
	setrlimit(RLIMIT_NPROC, &zero);
	setrlimit(RLIMIT_CORE, &zero);
	return responder_caps_are_zero(status_fd, err, errlen);
}
