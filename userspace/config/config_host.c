// SPDX-License-Identifier: GPL-2.0-only
/*
 * Checks of a loaded config against the host it runs on, kept out of the
 * parser so that the parser's tests do not depend on the accounts of the
 * machine that runs them.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

int config_check_host(const char *path, struct mxg_config *cfg, char *err, size_t errlen)
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
	cfg->user_uid = pw->pw_uid;
	cfg->user_gid = pw->pw_gid;
	cfg->user_found = true;
	if (cfg->policy_addr_len && cfg->policy_addr.ss_family == AF_UNIX) {
		errno = 0;
		if (!getgrnam(cfg->policy_group)) {
			snprintf(err, errlen,
				 "%s: policy_group: %s: no such group; the policy socket is made "
				 "root:%s mode 0660 so that only Postfix's smtpd can use it: set "
				 "policy_group = the group smtpd runs as (postfix)",
				 path, cfg->policy_group, cfg->policy_group);
			return -ENOENT;
		}
	}
	return 0;
}
