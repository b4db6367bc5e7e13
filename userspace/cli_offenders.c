// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate offenders [-s SOCKET]`: the clients mxgated currently counts as
 * offenders (answered 550 past offender_threshold, within offender_window
 * of their last try), with the nft set each one is in when offender_set =
 * yes. Asked over the control socket: the daemon knows when each one
 * expires even with the nft sets off.
 */
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

#define OFFENDERS_TIMEOUT_MS 10000	/* the whole exchange */
#define OFFENDERS_MAX_ANSWER (4u << 20) /* bytes: 4096 lines at most */

static const char usage_line[] = "usage: mxgate offenders [-s SOCKET]\n";

/* The daemon's answer into a malloc'd string, or NULL with a message. */
static char *ask(const char *path)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	uint64_t deadline = ev_now_ms() + OFFENDERS_TIMEOUT_MS;
	char *text = NULL;
	size_t len = 0;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mxgate: control socket path too long: %s\n", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "mxgate: socket: %s\n", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "mxgate: cannot connect to %s: %s; is mxgated running?\n", path,
			strerror(errno));
		goto fail;
	}
	if (send(fd, "offenders\n", 10, MSG_NOSIGNAL) != 10) {
		fprintf(stderr, "mxgate: sending to %s: %s\n", path, strerror(errno));
		goto fail;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now = ev_now_ms();
		char buf[16384], *t;
		ssize_t n;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0) {
			fprintf(stderr, "mxgate: no complete answer from %s; is mxgated stuck?\n",
				path);
			goto fail;
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "mxgate: reading from %s: %s\n", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		if (len + (size_t)n > OFFENDERS_MAX_ANSWER) {
			fprintf(stderr, "mxgate: answer from %s longer than %u bytes\n", path,
				OFFENDERS_MAX_ANSWER);
			goto fail;
		}
		t = realloc(text, len + (size_t)n + 1);
		if (!t) {
			fprintf(stderr, "mxgate: out of memory\n");
			goto fail;
		}
		text = t;
		memcpy(text + len, buf, (size_t)n);
		len += (size_t)n;
		text[len] = '\0';
	}
	close(fd);
	if (!text)
		fprintf(stderr, "mxgate: empty answer from %s\n", path);
	return text;
fail:
	close(fd);
	free(text);
	return NULL;
}

int do_offenders(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = MXG_DEFAULT_CONTROL_SOCKET;
	char *text;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			printf("%s", usage_line);
			return CLI_OK;
		default:
			fprintf(stderr, "%s", usage_line);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s", usage_line);
		return CLI_USAGE;
	}
	text = ask(path);
	if (!text)
		return CLI_FAIL;
	if (!strncmp(text, "error:", 6)) {
		fprintf(stderr, "mxgate: mxgated says: %s%s", text + 7,
			text[strlen(text) - 1] == '\n' ? "" : "\n");
		free(text);
		return CLI_FAIL;
	}
	ret = fputs(text, stdout) >= 0 && fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	free(text);
	return ret;
}
