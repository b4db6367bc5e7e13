// SPDX-License-Identifier: GPL-2.0-only
/* Whole writes; see fdio.h. */
#include "fdio.h"

#include <errno.h>
#include <unistd.h>

int mxg_write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}
