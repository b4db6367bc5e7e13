// SPDX-License-Identifier: GPL-2.0-only
/*
 * A stand-in for the responder in the kernel-gate tests: listens on
 * 127.0.0.1 and ::1 (or --bind4/--bind6), ephemeral ports, without
 * SO_REUSEPORT (bpf_sk_assign refuses such sockets before 6.6), puts both
 * listeners into the pinned responder SOCKMAP, and for every connection
 * prints the local and peer address the kernel reports, then answers
 * "220 fake-responder" so a client can tell who answered.
 *
 *   fake_responder --pin-dir DIR [--bind4 ADDR] [--bind6 ADDR] [--no-v6]
 *
 * stdout, one line each, flushed:
 *   listening v4 127.0.0.1:PORT v6 [::1]:PORT
 *   accepted local=192.0.2.20:25 peer=192.0.2.30:40000
 * Sessions: 250 to anything, 221 to QUIT, closed after 10 s idle.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "addr.h"
#include "gate_kern.h"
#include "gate_maps.h"
#include "pins.h"

#define IDLE_TIMEOUT_MS 10000
#define LINE_MAX_OCTETS 512

static void fmt_sockaddr(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char a[MXG_ADDRSTRLEN];
	struct mxg_ip ip;
	uint16_t port = 0;

	if (mxg_ip_from_sockaddr((const struct sockaddr *)ss, &ip, &port)) {
		snprintf(buf, len, "?");
		return;
	}
	mxg_ip_str(&ip, a, sizeof(a));
	snprintf(buf, len, ip.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

static int listen_on(const char *addr, char *desc, size_t desclen)
{
	struct sockaddr_storage ss;
	struct mxg_ip ip;
	socklen_t len;
	int fd, one = 1;

	if (mxg_ip_parse(addr, &ip)) {
		fprintf(stderr, "fake_responder: bad address %s\n", addr);
		return -1;
	}
	len = mxg_ip_to_sockaddr(&ip, 0, &ss);
	fd = socket(ip.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	if (ip.family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)))
		goto fail;
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64))
		goto fail;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		goto fail;
	fmt_sockaddr(&ss, desc, desclen);
	return fd;
fail:
	fprintf(stderr, "fake_responder: listen on %s: %s\n", addr, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static void reply(int fd, const char *s)
{
	size_t n = strlen(s);

	if (write(fd, s, n) != (ssize_t)n)
		exit(0);
}

/* One SMTP-ish session, in a child: enough for swaks or a probe. */
static void session(int fd)
{
	char line[LINE_MAX_OCTETS + 1];
	size_t have = 0;

	reply(fd, "220 fake-responder\r\n");
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char *nl;
		ssize_t n;

		if (poll(&p, 1, IDLE_TIMEOUT_MS) <= 0)
			return;
		n = read(fd, line + have, LINE_MAX_OCTETS - have);
		if (n <= 0)
			return;
		have += (size_t)n;
		line[have] = '\0';
		while ((nl = strchr(line, '\n'))) {
			if (!strncasecmp(line, "QUIT", 4)) {
				reply(fd, "221 fake-responder bye\r\n");
				return;
			}
			if (!strncasecmp(line, "EHLO", 4) || !strncasecmp(line, "HELO", 4))
				reply(fd, "250 fake-responder\r\n");
			else if (!strncasecmp(line, "DATA", 4))
				reply(fd, "554 fake-responder takes no mail\r\n");
			else
				reply(fd, "250 fake-responder ok\r\n");
			have -= (size_t)(nl + 1 - line);
			memmove(line, nl + 1, have + 1);
		}
		if (have == LINE_MAX_OCTETS)
			return;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pin-dir", required_argument, NULL, 'p'},
	    {"bind4", required_argument, NULL, '4'},
	    {"bind6", required_argument, NULL, '6'},
	    {"no-v6", no_argument, NULL, 'n'},
	    {NULL, 0, NULL, 0},
	};
	const char *pin_dir = NULL, *bind4 = "127.0.0.1", *bind6 = "::1";
	char d4[64] = "-", d6[64] = "-";
	struct pollfd fds[2];
	int c, map, nfds = 0, ret;
	bool v6 = true;

	while ((c = getopt_long(argc, argv, "p:4:6:n", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_dir = optarg;
			break;
		case '4':
			bind4 = optarg;
			break;
		case '6':
			bind6 = optarg;
			break;
		case 'n':
			v6 = false;
			break;
		default:
			goto usage;
		}
	}
	if (!pin_dir || optind != argc)
		goto usage;
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGCHLD, SIG_IGN); /* children reap themselves */
	signal(SIGPIPE, SIG_IGN);

	map = pins_open_one(pin_dir, MXG_MAP_RESPONDER);
	if (map < 0) {
		fprintf(stderr, "fake_responder: open %s/%s: %s\n", pin_dir, MXG_MAP_RESPONDER,
			strerror(-map));
		return 1;
	}
	fds[nfds].fd = listen_on(bind4, d4, sizeof(d4));
	fds[nfds++].events = POLLIN;
	if (fds[0].fd < 0)
		return 1;
	ret = gate_map_set_responder(map, MXG_RESPONDER_V4, fds[0].fd);
	if (!ret && v6) {
		fds[nfds].fd = listen_on(bind6, d6, sizeof(d6));
		fds[nfds++].events = POLLIN;
		if (fds[1].fd < 0)
			return 1;
		ret = gate_map_set_responder(map, MXG_RESPONDER_V6, fds[1].fd);
	}
	if (ret) {
		fprintf(stderr, "fake_responder: insert into %s/%s: %s\n", pin_dir,
			MXG_MAP_RESPONDER, strerror(-ret));
		return 1;
	}
	close(map);
	printf("listening v4 %s v6 %s\n", d4, d6);

	for (;;) {
		if (poll(fds, (nfds_t)nfds, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = 0; i < nfds; i++) {
			struct sockaddr_storage local, peer;
			socklen_t llen = sizeof(local), plen = sizeof(peer);
			char l[64], p[64];
			int cfd;

			if (!(fds[i].revents & POLLIN))
				continue;
			cfd = accept4(fds[i].fd, (struct sockaddr *)&peer, &plen, SOCK_CLOEXEC);
			if (cfd < 0)
				continue;
			if (getsockname(cfd, (struct sockaddr *)&local, &llen)) {
				close(cfd);
				continue;
			}
			fmt_sockaddr(&local, l, sizeof(l));
			fmt_sockaddr(&peer, p, sizeof(p));
			printf("accepted local=%s peer=%s\n", l, p);
			if (fork() == 0) {
				/* Only the parent may keep the listeners alive:
				 * killing it must empty the SOCKMAP. */
				for (int j = 0; j < nfds; j++)
					close(fds[j].fd);
				session(cfd);
				_exit(0);
			}
			close(cfd);
		}
	}
usage:
	fprintf(stderr,
		"usage: fake_responder --pin-dir DIR [--bind4 ADDR] [--bind6 ADDR] [--no-v6]\n");
	return 2;
}
