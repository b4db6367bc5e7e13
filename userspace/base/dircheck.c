// SPDX-License-Identifier: GPL-2.0-only
/* The ownership and mode check of the directories mxgate trusts; see
 * dircheck.h. */
#include "dircheck.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#define DIRCHECK_DEPTH 8 /* symlinks followed above a directory */

static int refuse(const struct mxg_dir_rule *r, const char *path, const char *cur, const char *what,
		  char *err, size_t errlen)
{
	snprintf(err, errlen,
		 "%s %s: %s %s, who could replace or remove %s; make it root's alone: chown "
		 "root:root %s && chmod %s %s%s, or remove a directory someone else made",
		 r->key, path, cur, what, r->guards, cur, r->chmod, cur, r->hint ? r->hint : "");
	return -EPERM;
}

static int walk(const struct mxg_dir_rule *r, const char *path, const char *start, int depth,
		char *err, size_t errlen)
{
	char cur[PATH_MAX], what[96];
	struct statfs sfs;
	struct stat st;
	bool first = depth == 0, missing = depth == 0 && r->missing_ok;

	if (snprintf(cur, sizeof(cur), "%s", start) >= (int)sizeof(cur)) {
		snprintf(err, errlen, "%s %.100s...: path too long", r->key, path);
		return -ENAMETOOLONG;
	}
	for (;;) {
		what[0] = '\0';
		if (lstat(cur, &st) < 0) {
			/* missing_ok: the directories not made yet at the end
			 * of the path (mkdir -p); all that exist are checked. */
			if (!(missing && errno == ENOENT)) {
				int e = errno;

				snprintf(err, errlen, "%s %s: %s: %s", r->key, path, cur,
					 strerror(e));
				return -e;
			}
		} else {
			missing = false;
			if (r->fstype && (statfs(cur, &sfs) < 0 || sfs.f_type != r->fstype))
				return 0; /* left that filesystem: not ours to judge */
			if (S_ISLNK(st.st_mode) && !first &&
			    (st.st_uid == 0 || st.st_uid == geteuid())) {
				/* /var/run -> /run: root's link in a checked
				 * directory; the place it names must pass too. */
				char real[PATH_MAX];
				int e;

				if (depth >= DIRCHECK_DEPTH || !realpath(cur, real)) {
					snprintf(err, errlen,
						 "%s %s: %s: cannot resolve the symlink", r->key,
						 path, cur);
					return -ELOOP;
				}
				e = walk(r, path, real, depth + 1, err, errlen);
				if (e)
					return e;
			} else if (!S_ISDIR(st.st_mode)) {
				snprintf(err, errlen,
					 "%s %s: %s is not a directory (a symlink?); name the real "
					 "directory in %s",
					 r->key, path, cur, r->key);
				return -ENOTDIR;
			} else if (st.st_uid != 0 && st.st_uid != geteuid()) {
				/* Root's, or our own when we do not run as root
				 * (gate = none, tests): nobody else's. */
				snprintf(what, sizeof(what), "is owned by uid %u, not root",
					 (unsigned)st.st_uid);
			} else if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
				   !(!first && r->sticky_parents && (st.st_mode & S_ISVTX))) {
				snprintf(what, sizeof(what), "is mode %04o, writable by others",
					 (unsigned)(st.st_mode & 07777));
			}
			if (what[0])
				return refuse(r, path, cur, what, err, errlen);
		}
		first = false;
		if (!strcmp(cur, "/"))
			return 0;
		char *slash = strrchr(cur, '/');

		if (!slash)
			return 0; /* a relative path: its start is the working directory */
		if (slash == cur)
			cur[1] = '\0';
		else
			*slash = '\0';
	}
}

int mxg_dir_check(const struct mxg_dir_rule *rule, const char *path, char *err, size_t errlen)
{
	return walk(rule, path, path, 0, err, errlen);
}

int mxg_dir_check_parent(const struct mxg_dir_rule *rule, const char *file, char *err,
			 size_t errlen)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", file) >= (int)sizeof(dir)) {
		snprintf(err, errlen, "%s %.100s...: path too long", rule->key, file);
		return -ENAMETOOLONG;
	}
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return walk(rule, file, dir, 0, err, errlen); /* the message names the file */
}
