// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drives smtp/handoff_proto.c against a real MTA's handoff listener, with
 * blocking I/O, so tests can prove that the MTA takes the PROXY v2 header
 * or XCLIENT as the original client's and relays the MTA's own replies.
 *
 * usage: handoff_send TARGET proxy|xclient CLIENT_IP CLIENT_PORT LOCAL_IP
 *                     LOCAL_PORT HELO_LINE MAIL_LINE RCPT_LINE... < MESSAGE
 * TARGET: unix:PATH or inet:ADDR:PORT. Prints "RCPT <line> -> <reply>" per
 * recipient (the reply's last line), "DATA -> <reply>" and "END -> <reply>";
 * the message (stdin, LF or CRLF lines) is dot-stuffed.
 * Exit: 0 the MTA took the message, 3 it accepted no recipient, 4 the
 * handoff failed (prints "FAILED <why>"), 1 other errors, 2 usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "handoff_proto.h"

#define STEP_MS 10000

static int dial(const char *target)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd;

	if (!strncmp(target, "unix:", 5)) {
		struct sockaddr_un *un = (struct sockaddr_un *)&ss;

		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s", target + 5);
		len = sizeof(*un);
	} else if (!strncmp(target, "inet:", 5)) {
		char host[64];
		const char *colon = strrchr(target + 5, ':');
		struct mxg_ip ip;

		if (!colon || (size_t)(colon - target - 5) >= sizeof(host))
			return -1;
		memcpy(host, target + 5, (size_t)(colon - target - 5));
		host[colon - target - 5] = '\0';
		if (mxg_ip_parse(host, &ip))
			return -1;
		len = mxg_ip_to_sockaddr(&ip, (uint16_t)atoi(colon + 1), &ss);
	} else {
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		perror("connect");
		return -1;
	}
	return fd;
}

static int flush_out(int fd, struct handoff *h)
{
	size_t n;
	const char *o = handoff_output(h, &n);

	while (n) {
		ssize_t w = write(fd, o, n);

		if (w <= 0)
			return -1;
		handoff_consume(h, (size_t)w);
		o = handoff_output(h, &n);
	}
	return 0;
}

/* Run until an event other than HO_EV_NONE. */
static enum handoff_event step(int fd, struct handoff *h)
{
	char buf[512];
	size_t used;
	enum handoff_event ev = handoff_feed(h, NULL, 0, &used);

	while (ev == HO_EV_NONE) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (flush_out(fd, h) < 0) {
			handoff_fail(h, "write to the MTA failed");
			return HO_EV_FAILED;
		}
		if (poll(&p, 1, STEP_MS) <= 0) {
			handoff_fail(h, "the MTA did not answer in time");
			return HO_EV_FAILED;
		}
		n = read(fd, buf, sizeof(buf));
		if (n <= 0) {
			handoff_fail(h, "the MTA closed the connection");
			return HO_EV_FAILED;
		}
		for (size_t off = 0; off < (size_t)n && ev == HO_EV_NONE; off += used)
			ev = handoff_feed(h, buf + off, (size_t)n - off, &used);
	}
	return ev;
}

static const char *last_line(const struct handoff *h)
{
	static char line[HANDOFF_REPLY_MAX + 1];
	const char *end = h->reply + h->reply_len - 2, *start = end;

	while (start > h->reply && start[-1] != '\n')
		start--;
	snprintf(line, sizeof(line), "%.*s", (int)(end - start), start);
	return line;
}

int main(int argc, char **argv)
{
	struct handoff_params p = {0};
	static struct handoff h;
	char line[1024], rbuf[512];
	int fd, accepted = 0;
	ssize_t n;

	if (argc < 10) {
		fprintf(stderr, "usage: handoff_send TARGET proxy|xclient CLIENT_IP CLIENT_PORT "
				"LOCAL_IP LOCAL_PORT HELO_LINE MAIL_LINE RCPT_LINE... < MESSAGE\n");
		return 2;
	}
	p.protocol = !strcmp(argv[2], "xclient") ? HANDOFF_XCLIENT : HANDOFF_PROXY;
	if (mxg_ip_parse(argv[3], &p.client) || mxg_ip_parse(argv[5], &p.local))
		return 2;
	p.client_port = (uint16_t)atoi(argv[4]);
	p.local_port = (uint16_t)atoi(argv[6]);
	p.helo_line = argv[7];
	p.helo_name = strchr(argv[7], ' ') ? strchr(argv[7], ' ') + 1 : "";
	p.our_name = "responder.test";
	p.mail_line = argv[8];
	fd = dial(argv[1]);
	if (fd < 0)
		return 1;
	if (!handoff_init(&h, &p)) {
		printf("FAILED %s\n", h.why);
		return 4;
	}
	for (int i = 9; i < argc; i++) {
		enum handoff_event ev;

		if (!handoff_rcpt(&h, argv[i]))
			goto failed;
		ev = step(fd, &h);
		if (ev != HO_EV_RCPT_REPLY)
			goto failed;
		printf("RCPT %s -> %s\n", argv[i], last_line(&h));
		accepted += h.reply_code < 300;
	}
	if (!accepted) {
		dprintf(fd, "QUIT\r\n");
		return 3;
	}
	if (!handoff_data(&h) || step(fd, &h) != HO_EV_DATA_REPLY)
		goto failed;
	printf("DATA -> %s\n", last_line(&h));
	if (h.state != HO_PIPE)
		return 3;
	/* The copy phase, as the responder does it: bytes as they are. */
	while (fgets(line, sizeof(line), stdin)) {
		size_t k = strcspn(line, "\r\n");

		line[k] = '\0';
		dprintf(fd, "%s%s\r\n", line[0] == '.' ? "." : "", line);
	}
	dprintf(fd, ".\r\nQUIT\r\n");
	n = read(fd, rbuf, sizeof(rbuf) - 1);
	if (n <= 0)
		return 1;
	rbuf[n] = '\0';
	rbuf[strcspn(rbuf, "\r\n")] = '\0';
	printf("END -> %s\n", rbuf);
	return !strncmp(rbuf, "250", 3) ? 0 : 3;
failed:
	printf("FAILED %s\n", h.why);
	return 4;
}
