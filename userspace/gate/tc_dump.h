/* SPDX-License-Identifier: GPL-2.0-only */
/* `mxgate dump`: the tc backend's pinned maps and program, printed. */
#ifndef MXG_TC_DUMP_H
#define MXG_TC_DUMP_H

/* Print what is pinned in dir to stdout; errors, one line each saying
 * what to do, to stderr. 0, or -1 when something could not be read. */
int tc_dump(const char *dir);

#endif
