// SPDX-License-Identifier: GPL-2.0-only
/*
 * Drives gate_nft_ops directly, one command per stdin line, one answer
 * line ("ok ..." or "error ...") on stdout, so shell tests can run it as a
 * coprocess inside a namespace:
 *   open [TABLE SET]        own table, or the administrator's maps
 *   listen                  responder-like listeners on 127.0.0.1 and ::1
 *   responder | responder none
 *   round TTL_MS ADDR...    begin, set_address(gated) each ADDR, commit
 *   answers                 "ok unread=U awaited=N" or "ok unread=U error=TEXT":
 *                           whether the kernel's answer was still waiting in
 *                           the socket (the commit did not read it), then
 *                           async_poll: what is still awaited, or its error
 *   accept SECONDS          accept one connection: "ok LOCALADDR LOCALPORT"
 *   close detach|keep
 *   quit
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "config_values.h"
#include "event.h"
#include "gate.h"
#include "log.h"

static struct gate *g;
static int fd4 = -1, fd6 = -1;

static int listener(int af)
{
	struct sockaddr_storage ss = {0};
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	socklen_t len = sizeof(ss);
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	ss.ss_family = (sa_family_t)af;
	if (af == AF_INET)
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		s6->sin6_addr = in6addr_loopback;
	if (bind(fd, (struct sockaddr *)&ss, af == AF_INET ? sizeof(*s4) : sizeof(*s6)) < 0 ||
	    listen(fd, 16) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
				       : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void do_accept(int seconds)
{
	struct pollfd p[2] = {{.fd = fd4, .events = POLLIN}, {.fd = fd6, .events = POLLIN}};
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct mxg_ip ip;
	char buf[MXG_ADDRSTRLEN];
	uint16_t port;
	int c;

	if (poll(p, 2, seconds * 1000) <= 0) {
		printf("error timeout\n");
		return;
	}
	c = accept(p[0].revents ? fd4 : fd6, NULL, NULL);
	if (c < 0 || getsockname(c, (struct sockaddr *)&ss, &len) < 0 ||
	    mxg_ip_from_sockaddr((struct sockaddr *)&ss, &ip, &port)) {
		printf("error accept: %s\n", strerror(errno));
		if (c >= 0)
			close(c);
		return;
	}
	if (write(c, "220 drive ESMTP\r\n", 17) < 0)
		perror("write");
	close(c);
	printf("ok %s %u\n", mxg_ip_str(&ip, buf, sizeof(buf)), port);
}

static void do_round(char *args)
{
	char *tok, *save = NULL;
	unsigned long ttl;
	int ret;

	tok = strtok_r(args, " ", &save);
	ttl = tok ? strtoul(tok, NULL, 10) : 0;
	ret = gate_nft_ops.begin(g, true);
	while (!ret && (tok = strtok_r(NULL, " ", &save))) {
		struct mxg_ip ip;

		if (mxg_ip_parse(tok, &ip)) {
			printf("error bad address %s\n", tok);
			return;
		}
		ret = gate_nft_ops.set_address(g, &ip, true, 1, ttl);
	}
	if (!ret)
		ret = gate_nft_ops.commit(g);
	if (ret)
		printf("error round: %s\n", strerror(-ret));
	else
		printf("ok\n");
}

static void do_answers(void)
{
	struct pollfd p = {.fd = gate_nft_ops.async_fd(g), .events = POLLIN};
	int unread = poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
	int r = gate_nft_ops.async_poll(g, ev_now_ms());

	if (r < 0)
		printf("ok unread=%d error=%s\n", unread, strerror(-r));
	else
		printf("ok unread=%d awaited=%d\n", unread, r);
}

static void do_open(char *args)
{
	static struct mxg_config cfg;
	char err[512], spec[128] = "";
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	cfg.gate = MXG_GATE_NFT;
	cfg.state_ttl_ms = 30000;
	if (args && sscanf(args, "%127[^,],%63s", spec, cfg.nft_set) < 1) {
		printf("error usage: open [TABLE,SET]\n");
		return;
	}
	/* "[FAMILY] NAME" split as mxgate.conf's nft_table is (config_values.c). */
	snprintf(cfg.nft_family, sizeof(cfg.nft_family), "inet");
	if (spec[0] && cv_nft_table(spec, cfg.nft_family, cfg.nft_table, err, sizeof(err))) {
		printf("error nft_table: %s\n", err);
		return;
	}
	ret = gate_nft_ops.open(&g, &cfg, err, sizeof(err));
	if (ret)
		printf("error %s\n", err);
	else
		printf("ok\n");
}

int main(void)
{
	char line[1024];

	log_init("nft_gate_drive", LOG_TO_STDERR, true);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		char *arg;

		line[strcspn(line, "\r\n")] = 0;
		arg = strchr(line, ' ');
		if (arg)
			*arg++ = 0;
		if (!strcmp(line, "open")) {
			do_open(arg);
		} else if (!strcmp(line, "listen")) {
			fd4 = listener(AF_INET);
			fd6 = listener(AF_INET6);
			if (fd4 < 0 || fd6 < 0)
				printf("error listen: %s\n", strerror(errno));
			else
				printf("ok %d %d\n", port_of(fd4), port_of(fd6));
		} else if (!strcmp(line, "responder") && g) {
			int none = arg && !strcmp(arg, "none");
			int ret = gate_nft_ops.set_responder(g, none ? -1 : fd4, none ? -1 : fd6);

			printf(ret ? "error set_responder\n" : "ok\n");
		} else if (!strcmp(line, "round") && g && arg) {
			do_round(arg);
		} else if (!strcmp(line, "answers") && g) {
			do_answers();
		} else if (!strcmp(line, "accept") && arg) {
			do_accept(atoi(arg));
		} else if (!strcmp(line, "close") && g) {
			gate_nft_ops.close(g, arg && !strcmp(arg, "detach"));
			g = NULL;
			printf("ok\n");
		} else if (!strcmp(line, "quit")) {
			break;
		} else {
			printf("error unknown command or no gate open: %s\n", line);
		}
	}
	if (g)
		gate_nft_ops.close(g, false);
	return 0;
}
