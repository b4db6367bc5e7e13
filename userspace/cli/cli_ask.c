// SPDX-License-Identifier: GPL-2.0-only
/* One request to mxgated's control socket and its whole answer, for the
 * commands that ask the daemon (status, metrics, offenders): bounded in
 * size and in time, so a stuck daemon cannot hang the command. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "event.h"

/* Connect and send the request: the socket, or a negative errno. */
static int ask(const char *path, const char *request, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	size_t reqlen = strlen(request);
	int fd, ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return ret;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot connect to %s: %s; is mxgated running?", path,
			 strerror(errno));
		close(fd);
		return ret;
	}
	if (send(fd, request, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen) {
		snprintf(err, errlen, "sending to %s: %s", path, strerror(errno));
		close(fd);
		return -EIO;
	}
	return fd;
}

int cli_ask_daemon_stream(const char *path, const char *request, uint64_t idle_ms, FILE *out,
			  char *err, size_t errlen)
{
	size_t len = 0;
	int fd, ret = 0;

	fd = ask(path, request, err, errlen);
	if (fd < 0)
		return fd;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char buf[65536];
		ssize_t n;
		int r = poll(&p, 1, (int)idle_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = -ETIMEDOUT;
			snprintf(err, errlen, "%s sent nothing for %llums; is mxgated stuck?", path,
				 (unsigned long long)idle_ms);
			break;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "reading from %s: %s", path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		/* An answer that starts with "error: " is the daemon refusing the
		 * request (say, a domain it does not serve): it goes to err, not
		 * to out, so that the command fails with exit 1. */
		if (!len && (size_t)n > 7 && !memcmp(buf, "error: ", 7)) {
			char *nl = memchr(buf, '\n', (size_t)n);
			int line = (int)((nl ? (size_t)(nl - buf) : (size_t)n) - 7);

			ret = -EREMOTEIO;
			snprintf(err, errlen, "%.*s", line, buf + 7);
			break;
		}
		len += (size_t)n;
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
			ret = -EIO;
			snprintf(err, errlen, "writing the answer: %s", strerror(errno));
			break;
		}
	}
	if (!ret && !len) {
		ret = -ENODATA;
		snprintf(err, errlen, "empty answer from %s", path);
	}
	close(fd);
	return ret;
}

int cli_ask_daemon(const char *path, const char *request, uint64_t timeout_ms, size_t max,
		   char **answer, char *err, size_t errlen)
{
	uint64_t deadline = ev_now_ms() + timeout_ms;
	size_t len = 0;
	char *text = NULL;
	int fd, ret = -EIO;

	*answer = NULL;
	fd = ask(path, request, err, errlen);
	if (fd < 0)
		return fd;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = ev_now_ms();
		char buf[16384], *t;
		ssize_t n;
		int r;

		r = now >= deadline ? 0 : poll(&p, 1, (int)(deadline - now));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = -ETIMEDOUT;
			snprintf(err, errlen,
				 "no complete answer from %s within %llums; is mxgated stuck?",
				 path, (unsigned long long)timeout_ms);
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "reading from %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (len + (size_t)n > max) {
			ret = -EMSGSIZE;
			snprintf(err, errlen, "answer from %s longer than %zu bytes", path, max);
			goto out;
		}
		t = realloc(text, len + (size_t)n + 1);
		if (!t) {
			ret = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		text = t;
		memcpy(text + len, buf, (size_t)n);
		len += (size_t)n;
		text[len] = '\0';
	}
	if (!len) {
		ret = -ENODATA;
		snprintf(err, errlen, "empty answer from %s", path);
		goto out;
	}
	*answer = text;
	text = NULL;
	ret = 0;
out:
	close(fd);
	free(text);
	return ret;
}
