// SPDX-License-Identifier: GPL-2.0-only
/* The one RLIMIT_NOFILE raise (nofile.h). */
#include "nofile.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

int mxg_raise_nofile(unsigned want, char *err, size_t errlen)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want && geteuid() == 0)
		rl.rlim_max = want; /* root may raise the hard limit */
	rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		int rc = -errno;

		if (err)
			snprintf(err, errlen, "setrlimit RLIMIT_NOFILE %u: %s", want,
				 strerror(errno));
		return rc;
	}
	return 0;
}
