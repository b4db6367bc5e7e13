// SPDX-License-Identifier: GPL-2.0-only
/* `mxgate status [--json] [-s SOCKET]`: ask mxgated over its control
 * socket and print the answer (the daemon formats both text and JSON). */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "event.h"

#define STATUS_TIMEOUT_MS 10000	      /* the whole exchange */
#define STATUS_MAX_ANSWER (16u << 20) /* bytes */

static int wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = ev};
	uint64_t now = ev_now_ms();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline - now));
	if (r < 0)
		return -errno;
	return r ? 0 : -ETIMEDOUT;
}

int do_status(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = MXG_DEFAULT_CONTROL_SOCKET;
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint64_t deadline = ev_now_ms() + STATUS_TIMEOUT_MS;
	const char *req = "status\n";
	size_t total = 0;
	char buf[65536];
	int fd, c, ret = CLI_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "js:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			req = "status json\n";
			break;
		case 's':
			path = optarg;
			break;
		case 'h':
			printf("usage: mxgate status [--json] [-s SOCKET]\n");
			return CLI_OK;
		default:
			fprintf(stderr, "usage: mxgate status [--json] [-s SOCKET]\n");
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: mxgate status [--json] [-s SOCKET]\n");
		return CLI_USAGE;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mxgate: control socket path too long: %s\n", path);
		return CLI_USAGE;
	}
	strcpy(sun.sun_path, path);

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "mxgate: socket: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "mxgate: cannot connect to %s: %s; is mxgated running?\n", path,
			strerror(errno));
		goto out;
	}
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		fprintf(stderr, "mxgate: sending to %s: %s\n", path, strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n;
		int r = wait_fd(fd, POLLIN, deadline);

		if (r < 0) {
			fprintf(stderr,
				"mxgate: no complete answer from %s: %s; is mxgated stuck?\n", path,
				strerror(-r));
			goto out;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "mxgate: reading from %s: %s\n", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		total += (size_t)n;
		if (total > STATUS_MAX_ANSWER) {
			fprintf(stderr, "mxgate: answer from %s longer than %u bytes\n", path,
				STATUS_MAX_ANSWER);
			goto out;
		}
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			fprintf(stderr, "mxgate: writing the status: %s\n", strerror(errno));
			goto out;
		}
	}
	if (!total) {
		fprintf(stderr, "mxgate: empty answer from %s\n", path);
		goto out;
	}
	ret = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
out:
	close(fd);
	return ret;
}
