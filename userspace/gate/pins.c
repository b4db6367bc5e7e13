// SPDX-License-Identifier: GPL-2.0-only
/* The pin directory: check, lock, open, remove; see pins.h. */
#include "pins.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "dircheck.h"
#include "log.h"
#include "gate_kern.h"
#include "tc_hook.h"

/* How long pins_lock() waits for another mxgate process. */
#define PINS_LOCK_WAIT_MS 5000
#define PINS_LOCK_STEP_MS 50

const char *const mxg_pin_names[] = {
    [MXG_PIN_GATE_MAP] = MXG_MAP_GATE,
    [MXG_PIN_DOMAINS_MAP] = MXG_MAP_DOMAINS,
    [MXG_PIN_COUNTERS_MAP] = MXG_MAP_COUNTERS,
    [MXG_PIN_RESPONDER_MAP] = MXG_MAP_RESPONDER,
    [MXG_PIN_PASS_NETS_MAP] = MXG_MAP_PASS_NETS,
    [MXG_PIN_PASSES_MAP] = MXG_MAP_PASSES,
    [MXG_PIN_TC_PROG] = MXG_PIN_PROG,
    [MXG_PIN__COUNT] = NULL,
};

static int libbpf_to_debug(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	if (!log_debug_enabled())
		return 0;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	/* Most libbpf messages carry their own "libbpf: " prefix. */
	log_debug("%s%s", strncmp(line, "libbpf: ", 8) ? "libbpf: " : "", line);
	return 0;
}

void pins_libbpf_log_to_debug(void)
{
	libbpf_set_print(libbpf_to_debug);
}

int pins_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int pins_check_bpffs(const char *dir, char *err, size_t errlen)
{
	char parent[4096];
	const char *where = dir;
	struct statfs sfs;

	if (statfs(dir, &sfs) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "pin_dir %s: %s", dir, strerror(errno));
			return -errno;
		}
		if (snprintf(parent, sizeof(parent), "%s", dir) >= (int)sizeof(parent)) {
			snprintf(err, errlen, "pin_dir %.100s...: path too long", dir);
			return -ENAMETOOLONG;
		}
		where = dirname(parent);
		if (statfs(where, &sfs) < 0) {
			int e = errno;

			snprintf(err, errlen,
				 "pin_dir %s: parent %s: %s; mount a bpf filesystem with: "
				 "mount -t bpf -o mode=0700 bpf %s",
				 dir, where, strerror(e), where);
			return -e;
		}
	}
	if (sfs.f_type != BPF_FS_MAGIC) {
		snprintf(err, errlen,
			 "pin_dir %s: not a bpf filesystem; mount one with: "
			 "mount -t bpf -o mode=0700 bpf %s",
			 dir, where);
		return -ENOTSUP;
	}
	return 0;
}

/*
 * path, and every directory above it on the same bpffs (up to and with its
 * mount point), must be a directory owned by root and writable by no one
 * else: whoever may rename or unlink entries there can swap our pins for
 * theirs, delete them, or hold the lock so that mxgated refuses to start.
 * A bpffs mounted by hand without -o mode is 1777, like /tmp, and refused
 * (no sticky exception: the pins are made by name inside it). missing_ok:
 * path itself may not exist yet (its parents are still checked).
 */
static int check_owner(const char *path, bool missing_ok, char *err, size_t errlen)
{
	const struct mxg_dir_rule rule = {
	    .key = "pin_dir",
	    .guards = "mxgate's pins",
	    .chmod = "0700",
	    .hint = " (a bpffs mounted by hand: mount -t bpf -o mode=0700 bpf DIR)",
	    .fstype = BPF_FS_MAGIC,
	    .missing_ok = missing_ok,
	};

	return mxg_dir_check(&rule, path, err, errlen);
}

int pins_lock(const char *dir, bool create, char *err, size_t errlen)
{
	struct timespec step = {0, PINS_LOCK_STEP_MS * 1000000L};
	int fd, waited_ms = 0, e;

	if (create) {
		e = pins_check_bpffs(dir, err, errlen);
		if (e)
			return e;
		/* The parents before mkdir, the directory itself after it (it
		 * may have been there before us). */
		e = check_owner(dir, true, err, errlen);
		if (e)
			return e;
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			e = errno;
			snprintf(err, errlen, "pin_dir %s: mkdir: %s", dir, strerror(e));
			return -e;
		}
		e = check_owner(dir, false, err, errlen);
		if (e)
			return e;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "pin_dir %s: %s", dir, strerror(e));
		return -e;
	}
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		if (e != EWOULDBLOCK || waited_ms >= PINS_LOCK_WAIT_MS) {
			snprintf(err, errlen,
				 "pin_dir %s: %s; is another mxgate process changing it?", dir,
				 e == EWOULDBLOCK ? "locked for too long" : strerror(e));
			close(fd);
			return e == EWOULDBLOCK ? -EBUSY : -e;
		}
		nanosleep(&step, NULL);
		waited_ms += PINS_LOCK_STEP_MS;
	}
	return fd;
}

void pins_unlock(int lock_fd)
{
	if (lock_fd >= 0)
		close(lock_fd); /* drops the flock */
}

int pins_open_one(const char *dir, const char *name)
{
	char path[4200];
	int fd;

	if (pins_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int pins_open(const char *dir, struct mxg_pins *p)
{
	struct {
		const char *name;
		int *fd;
	} want[] = {
	    {MXG_MAP_GATE, &p->gate_fd},	 {MXG_MAP_DOMAINS, &p->domains_fd},
	    {MXG_MAP_COUNTERS, &p->counters_fd}, {MXG_MAP_RESPONDER, &p->responder_fd},
	    {MXG_PIN_PROG, &p->prog_fd},	 {MXG_MAP_PASS_NETS, &p->pass_nets_fd},
	    {MXG_MAP_PASSES, &p->passes_fd},
	};
	int found = 0;

	p->gate_fd = p->domains_fd = p->counters_fd = p->responder_fd = p->prog_fd = -1;
	p->pass_nets_fd = p->passes_fd = -1;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int fd = pins_open_one(dir, want[i].name);

		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			pins_close(p);
			return fd;
		}
		*want[i].fd = fd;
		found++;
	}
	return found;
}

void pins_close(struct mxg_pins *p)
{
	int *fds[] = {&p->gate_fd, &p->domains_fd,   &p->counters_fd, &p->responder_fd,
		      &p->prog_fd, &p->pass_nets_fd, &p->passes_fd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/*
 * Is the object pinned at path the one of ours called name? The names are
 * common ("domains", "counters"), and pin_dir may be a shared directory
 * (even the bpffs root): only an object with our name and of our type is
 * ours. The sizes are not compared, so maps of an older mxgate with
 * another layout are still ours to remove.
 */
static bool pin_is_ours(const char *path, const char *name)
{
	static const struct {
		const char *name;
		__u32 map_type;
	} maps[] = {
	    {MXG_MAP_GATE, BPF_MAP_TYPE_HASH},
	    {MXG_MAP_DOMAINS, BPF_MAP_TYPE_HASH},
	    {MXG_MAP_COUNTERS, BPF_MAP_TYPE_PERCPU_ARRAY},
	    {MXG_MAP_RESPONDER, BPF_MAP_TYPE_SOCKMAP},
	    {MXG_MAP_PASS_NETS, BPF_MAP_TYPE_LPM_TRIE},
	    {MXG_MAP_PASSES, BPF_MAP_TYPE_HASH},
	};
	bool ours = false;
	int fd = bpf_obj_get(path);

	if (fd < 0)
		return false;
	if (!strcmp(name, MXG_PIN_PROG)) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		ours = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
		       info.type == BPF_PROG_TYPE_SCHED_CLS && !strcmp(info.name, MXG_TC_PROG_NAME);
	} else {
		struct bpf_map_info info;
		__u32 len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
				if (!strcmp(maps[i].name, name))
					ours = info.type == maps[i].map_type &&
					       !strcmp(info.name, name);
	}
	close(fd);
	return ours;
}

int pins_remove(const char *dir)
{
	struct statfs sfs;
	char path[4200];
	int ret = 0;

	/* Never unlink files called "domains" & co. anywhere but on a bpffs. */
	if (statfs(dir, &sfs) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (sfs.f_type != BPF_FS_MAGIC)
		return -ENOTSUP;
	for (const char *const *n = mxg_pin_names; *n; n++) {
		if (pins_path(path, sizeof(path), dir, *n))
			return -ENAMETOOLONG;
		if (access(path, F_OK) < 0)
			continue;
		if (!pin_is_ours(path, *n)) {
			/* Someone else's: leave it (rmdir below then says so). */
			log_warn("%s is not mxgate's (another program's pin?); leaving it", path);
			continue;
		}
		if (unlink(path) < 0 && errno != ENOENT && !ret)
			ret = -errno;
	}
	/* A mount point (a bpffs root given as pin_dir) is not ours to remove
	 * either: say so as for a directory with others' files. */
	if (rmdir(dir) < 0 && errno != ENOENT && !ret)
		ret = errno == EBUSY ? -ENOTEMPTY : -errno;
	return ret;
}
