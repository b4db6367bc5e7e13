/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RLIMIT_NOFILE for a process that holds one descriptor per connection or
 * probe: the responder before it drops privileges, and `mxgate probe`.
 */
#ifndef MXG_NOFILE_H
#define MXG_NOFILE_H

#include <stddef.h>

/* Raise the soft limit to want descriptors (as root, the hard limit too;
 * otherwise at most the hard limit). 0, or negative errno with err
 * (may be NULL) saying what failed. */
int mxg_raise_nofile(unsigned want, char *err, size_t errlen);

#endif
