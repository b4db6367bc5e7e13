// SPDX-License-Identifier: GPL-2.0-only
/*
 * A trivial epoll SMTP server for the benchmarks: the floor for the
 * responder (it sends the same replies and does nothing else) and the fast
 * primary simulator for the probe benchmark (one wildcard listener answers
 * every address an AnyIP route makes local).
 *
 *   smtpsim [-r RCPT_REPLY] [-n MAXFD] ADDR PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_MAX_OCTETS 1024 /* per connection input buffer */

struct conn {
	size_t len;
	char buf[LINE_MAX_OCTETS];
};

static struct conn **conns;
static int max_fd;
static const char *rcpt_reply = "551 5.7.1 <gated.test>: this is a backup MX and the primary MX "
				"mx1.gated.test is online; please try mx1.gated.test";
static char rcpt_line[600];

static const char greeting[] = "220 sim.test ESMTP\r\n";
static const char ehlo_reply[] = "250-sim.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
				 "250-8BITMIME\r\n250 SIZE 10240000\r\n";

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

static void say(int fd, const char *s)
{
	/* Replies are short and the socket buffer empty: a short write
	 * would mean the client is gone, which the next read reports. */
	if (write(fd, s, strlen(s)) < 0)
		return;
}

/* Returns 1 when the session ends (QUIT). */
static int answer(int fd, const char *line)
{
	if (!strncasecmp(line, "EHLO", 4)) {
		say(fd, ehlo_reply);
	} else if (!strncasecmp(line, "HELO", 4)) {
		say(fd, "250 sim.test\r\n");
	} else if (!strncasecmp(line, "MAIL", 4)) {
		say(fd, "250 2.1.0 Ok\r\n");
	} else if (!strncasecmp(line, "RCPT", 4)) {
		say(fd, rcpt_line);
	} else if (!strncasecmp(line, "DATA", 4)) {
		say(fd, "554 5.5.1 Error: no valid recipients\r\n");
	} else if (!strncasecmp(line, "QUIT", 4)) {
		say(fd, "221 2.0.0 Bye\r\n");
		return 1;
	} else if (!strncasecmp(line, "RSET", 4) || !strncasecmp(line, "NOOP", 4)) {
		say(fd, "250 2.0.0 Ok\r\n");
	} else {
		say(fd, "500 5.5.2 Error: command not recognized\r\n");
	}
	return 0;
}

static void serve(int ep, int fd)
{
	struct conn *c = conns[fd];
	ssize_t n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		drop(ep, fd);
		return;
	}
	c->len += (size_t)n;
	c->buf[c->len] = '\0';
	char *start = c->buf, *nl;
	while ((nl = memchr(start, '\n', c->len - (size_t)(start - c->buf)))) {
		*nl = '\0';
		if (answer(fd, start)) {
			drop(ep, fd);
			return;
		}
		start = nl + 1;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	if (c->len >= sizeof(c->buf) - 1)
		drop(ep, fd); /* overlong line */
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (fd >= max_fd) {
			close(fd);
			continue;
		}
		conns[fd] = calloc(1, sizeof(struct conn));
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
		if (!conns[fd] || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(conns[fd]);
			conns[fd] = NULL;
			continue;
		}
		say(fd, greeting);
	}
}

int main(int argc, char **argv)
{
	int opt;
	struct rlimit rl;

	while ((opt = getopt(argc, argv, "r:")) != -1) {
		if (opt == 'r')
			rcpt_reply = optarg;
		else
			goto usage;
	}
	if (argc - optind != 2)
		goto usage;
	snprintf(rcpt_line, sizeof(rcpt_line), "%s\r\n", rcpt_reply);
	signal(SIGPIPE, SIG_IGN);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		max_fd = (int)rl.rlim_cur;
	} else {
		max_fd = 1024;
	}
	conns = calloc((size_t)max_fd, sizeof(*conns));

	struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
				  .sin6_port = htons((uint16_t)atoi(argv[optind + 1]))};
	if (inet_pton(AF_INET6, argv[optind], &sa.sin6_addr) != 1) {
		fprintf(stderr, "smtpsim: %s: not an IPv6 address (use ::ffff:a.b.c.d for IPv4)\n",
			argv[optind]);
		return 2;
	}
	int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1, zero = 0;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(lfd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 4096) < 0) {
		perror("smtpsim: bind/listen");
		return 1;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.fd == lfd)
				accept_all(ep, lfd);
			else if (conns[evs[i].data.fd])
				serve(ep, evs[i].data.fd);
		}
	}
usage:
	fprintf(stderr, "usage: smtpsim [-r RCPT_REPLY] ADDR PORT\n");
	return 2;
}
