// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's out-of-memory kills in our cgroup (v2: memory.events,
 * "oom_kill N"), so that a responder ended by SIGKILL is logged with its
 * cause: the OOM killer, or someone else's kill -9. A small file in the
 * cgroup filesystem, read only when a child died of SIGKILL.
 */
#include "controller.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CGROUP_ROOT "/sys/fs/cgroup"

/* The text of a small file, NUL-terminated; -1 if unreadable. */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

int ctl_oom_kills(uint64_t *out)
{
	char cg[1024], path[1200], ev[1024];
	const char *p, *k;
	char *nl;

	/* cgroup v2: one line, "0::/system.slice/mxgated.service". */
	if (read_small("/proc/self/cgroup", cg, sizeof(cg)) < 0 || !(p = strstr(cg, "0::")))
		return -1;
	p += 3;
	nl = strchr(p, '\n');
	if (nl)
		*nl = '\0';
	if (snprintf(path, sizeof(path), CGROUP_ROOT "%s/memory.events", p) >= (int)sizeof(path) ||
	    read_small(path, ev, sizeof(ev)) < 0)
		return -1;
	k = strstr(ev, "oom_kill ");
	if (!k)
		return -1;
	*out = strtoull(k + 9, NULL, 10);
	return 0;
}
