/* SPDX-License-Identifier: GPL-2.0-only */
/* Whole writes on a blocking descriptor: for helper processes and files,
 * never on the event loop's non-blocking sockets. */
#ifndef MXG_FDIO_H
#define MXG_FDIO_H

#include <stddef.h>

/* Write all n bytes, retrying on EINTR. 0 or -errno. */
int mxg_write_all(int fd, const void *p, size_t n);

#endif
