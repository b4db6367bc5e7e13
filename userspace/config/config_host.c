// SPDX-License-Identifier: GPL-2.0-only
/*
 * Checks of a loaded config against the host it runs on, kept out of the
 * parser so that the parser's tests do not depend on the accounts of the
 * machine that runs them.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

int config_check_host(const char *path, const struct mxg_config *cfg, char *err, size_t errlen)
{
	const char *user = cfg->user[0] ? cfg->user : MXG_DEFAULT_USER;
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (!pw) {
		if (errno && errno != ENOENT && errno != ESRCH)
			snprintf(err, errlen,
				 "%s: user: cannot look up %s: %s; check /etc/nsswitch.conf", path,
				 user, strerror(errno));
		else
			snprintf(err, errlen,
				 "%s: user: %s: no such user; create it (adduser --system --group "
				 "--no-create-home %s) or set user = to an existing unprivileged "
				 "account such as nobody",
				 path, user, user);
		return -ENOENT;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen,
			 "%s: user: %s has uid 0; the responder reads the internet and must not "
			 "run as root: set user = to an unprivileged account such as nobody",
			 path, user);
		return -EPERM;
	}
	return 0;
}
