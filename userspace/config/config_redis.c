// SPDX-License-Identifier: GPL-2.0-only
/*
 * state_backend = redis and the redis_* keys, checked together when the
 * config is loaded (mxgated -n, start-up, SIGHUP), and the password file:
 * like the responder's TLS key, a secret no other user may read, or any
 * local user could write passes into every edge of the fleet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_parse.h"

/* A password line longer than this is refused, not cut (a cut password
 * fails AUTH with a message that would not say why). */
#define REDIS_PASSWORD_FILE_MAX 1024

int config_redis_password(const char *path, char *out, size_t outlen, char *why, size_t len)
{
	char buf[REDIS_PASSWORD_FILE_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t l;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);

	if (fd < 0 && errno == ELOOP) {
		snprintf(why, len,
			 "%.300s: a symbolic link, which is not followed; name the file itself",
			 path);
		return -1;
	}
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(why, len, "%.300s: cannot read it: %s%s", path, strerror(errno),
			 errno == EACCES && geteuid() ? " (run mxgated -n as root)" : "");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, len, "%.300s: not a regular file (a symlink is not followed)", path);
		return -1;
	}
	/* An error, not a warning: whoever reads it can write passes and
	 * offenders into every edge sharing the Redis. Group read is allowed
	 * (a group of the administrators, mode 0640). */
	if (st.st_mode & (S_IROTH | S_IWOTH)) {
		close(fd);
		snprintf(why, len,
			 "%.300s: the Redis password is %s by every user on this host (mode %04o), "
			 "who could write passes and offenders into every edge; chmod o-rwx %.300s "
			 "(mxgated reads it as root)",
			 path, st.st_mode & S_IWOTH ? "writable" : "readable",
			 (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(why, len, "%.300s: cannot read it: %s", path, strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	l = strcspn(buf, "\r\n");
	if (!l || l > REDIS_PASSWORD_FILE_MAX || l >= outlen) {
		snprintf(why, len,
			 "%.300s: %s; write the password on the file's first line (at most %d "
			 "characters)",
			 path, l ? "the password is too long" : "the first line is empty",
			 REDIS_PASSWORD_FILE_MAX);
		return -1;
	}
	memcpy(out, buf, l);
	out[l] = '\0';
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

int cfg_check_redis(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;
	char why[800], pw[REDIS_PASSWORD_FILE_MAX + 1];

	if (c->redis_addr_len && c->n_redis_sentinels)
		return cfg_fail(p, p->name, cfg_key_line(p, "redis"),
				"redis: set together with redis_sentinels; give one: redis for one "
				"server, redis_sentinels (and redis_master_name) to follow its "
				"master through failovers");
	if (c->n_redis_sentinels && !c->redis_master_name[0])
		return cfg_fail(p, p->name, cfg_key_line(p, "redis_sentinels"),
				"redis_master_name: required key missing for redis_sentinels; add "
				"the name the Sentinels monitor, e.g. \"redis_master_name = "
				"mymaster\"");
	if (c->redis_user[0] && !c->redis_password_file[0])
		return cfg_fail(p, p->name, cfg_key_line(p, "redis_user"),
				"redis_password_file: required key missing for redis_user; add the "
				"file that holds the ACL user's password (mode 0600)");
	if (c->state_backend == MXG_STATE_REDIS && !c->redis_addr_len && !c->n_redis_sentinels)
		return cfg_fail(
		    p, p->name, cfg_key_line(p, "state_backend"),
		    "redis: required key missing for state_backend = redis; add \"redis "
		    "= 127.0.0.1:6379\" (or unix:/PATH), or redis_sentinels and "
		    "redis_master_name");
	if (c->redis_password_file[0] &&
	    config_redis_password(c->redis_password_file, pw, sizeof(pw), why, sizeof(why))) {
		explicit_bzero(pw, sizeof(pw));
		return cfg_fail(p, p->name, cfg_key_line(p, "redis_password_file"),
				"redis_password_file: %s", why);
	}
	explicit_bzero(pw, sizeof(pw));
	return 0;
}
