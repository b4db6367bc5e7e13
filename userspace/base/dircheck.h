/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Directories mxgate trusts: the pin directory, state_dir and the
 * directory of every socket it creates. One check for all of them: the
 * directory and each one above it is a real directory (a symlink above it
 * only if root's, and then its target is checked too), owned by root (or
 * by the user we run as, when that is not root) and writable by no one
 * else. Whoever may rename or create entries there can
 * swap our pins, our saved state or our sockets for theirs.
 */
#ifndef MXG_DIRCHECK_H
#define MXG_DIRCHECK_H

#include <stdbool.h>
#include <stddef.h>

struct mxg_dir_rule {
	const char *key;     /* config key named in the message: "state_dir" */
	const char *guards;  /* what the directory protects: "mxgate's saved state" */
	const char *chmod;   /* the mode the message proposes: "0700", "go-w" */
	const char *hint;    /* appended to the fix, or NULL */
	long fstype;	     /* non-zero: stop above the last directory of this type */
	bool missing_ok;     /* the directory (and some above it) may not exist yet */
	bool sticky_parents; /* a parent may be writable by others with the
			      * sticky bit (/tmp): they cannot rename root's entries */
};

/* 0, or a negative errno with one line in err: which directory is wrong,
 * how, and the command that fixes it. */
int mxg_dir_check(const struct mxg_dir_rule *rule, const char *path, char *err, size_t errlen);

/* The same for the directory a file (a socket) is created in. */
int mxg_dir_check_parent(const struct mxg_dir_rule *rule, const char *file, char *err,
			 size_t errlen);

#endif
