// SPDX-License-Identifier: GPL-2.0-only
/*
 * The epoll load generator of the benchmarks (bench/run) and the fault
 * suite, and the bare-connect baseline of the probe benchmark.
 *
 *   smtpload -m session -c CONC -n TOTAL [-e CODE] [-d DOMAIN] ADDR PORT
 *       full reject dialogues: connect, 220, EHLO, MAIL, RCPT TO user@DOMAIN
 *       (default gated.test; expects CODE, default 551), QUIT; latency per
 *       session from connect() to 221. -r RATE paces the starts (per second);
 *       -p PORT gives session i the source port PORT + i (no reuse).
 *   smtpload -m banner -c CONC -N COUNT ADDR PORT
 *       bare TCP connect plus banner read to COUNT addresses ADDR, ADDR+1..
 *       (the baseline of a probe round).
 *   smtpload -m idle -c CONC [-s SECONDS] ADDR PORT
 *       open CONC sessions, read the banner, hold them idle; prints "idle N"
 *       once all are open, exits after SECONDS or SIGTERM.
 *
 * Prints one line of key=value pairs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum mode { M_SESSION, M_BANNER, M_IDLE };
enum step { S_CONNECT, S_GREET, S_EHLO, S_MAIL, S_RCPT, S_QUIT, S_IDLE };

struct sess {
	int fd;
	enum step step;
	double t0;
	size_t len;
	char buf[2048];
};

static enum mode mode = M_SESSION;
static int expect_code = 551;
static char rcpt_cmd[300] = "RCPT TO:<user@gated.test>\r\n";
static double *lat;
static size_t n_lat, n_err, n_started, total;
static struct sockaddr_in6 base;
static unsigned n_addrs = 1;
static volatile sig_atomic_t stop;
static double max_rate;	  /* -r: sessions started per second, 0 = no limit */
static unsigned src_port; /* -p: first source port; each session its own */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int start(int ep, struct sess *s)
{
	struct sockaddr_in6 sa = base;
	uint32_t last;

	memcpy(&last, &sa.sin6_addr.s6_addr[12], 4);
	last = htonl(ntohl(last) + (uint32_t)(n_started % n_addrs));
	memcpy(&sa.sin6_addr.s6_addr[12], &last, 4);
	n_started++;
	memset(s, 0, sizeof(*s));
	s->t0 = now_s();
	s->fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -errno;
	if (src_port) {
		/* A source port never used twice in a run: a steered connection
		 * that reuses a 4-tuple still in TIME_WAIT at the server is not
		 * answered (87-fault-port-reuse.t). */
		struct sockaddr_in6 src = {.sin6_family = AF_INET6};
		int one = 1;
		src.sin6_port = htons((uint16_t)(src_port + (n_started - 1) % (65535 - src_port)));
		setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			close(s->fd);
			s->fd = -1;
			n_err++;
			return -1;
		}
	}
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		n_err++;
		return -1;
	}
	s->step = S_CONNECT;
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = s};
	epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
	return 0;
}

static void finish(int ep, struct sess *s, int ok)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	if (ok)
		lat[n_lat++] = now_s() - s->t0;
	else
		n_err++;
}

static void send_line(struct sess *s, const char *line)
{
	if (write(s->fd, line, strlen(line)) < 0)
		return; /* the read side sees the error */
}

/* A complete reply ends with a line "ddd " (not "ddd-"); returns its code. */
static int reply_code(struct sess *s)
{
	char *p = s->buf, *end = s->buf + s->len;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return 0;
		if (nl - p >= 4 && p[3] == ' ') {
			int code = atoi(p);
			s->len = 0;
			return code ? code : -1;
		}
		if (nl - p < 4 || p[3] != '-')
			return -1;
		p = nl + 1;
	}
	return 0;
}

static void progress(int ep, struct sess *s, unsigned events)
{
	if (s->step == S_CONNECT) {
		int err = 0;
		socklen_t l = sizeof(err);
		getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err) {
			finish(ep, s, 0);
			return;
		}
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
		epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
		s->step = S_GREET;
		if (!(events & EPOLLIN))
			return;
	}
	ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - 1 - s->len);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		finish(ep, s, 0);
		return;
	}
	if (s->step == S_IDLE)
		return; /* unexpected text while idle: ignore */
	s->len += (size_t)n;
	int code = reply_code(s);
	if (code == 0)
		return;
	if (code < 0) {
		finish(ep, s, 0);
		return;
	}
	switch (s->step) {
	case S_GREET:
		if (code != 220) {
			finish(ep, s, 0);
		} else if (mode == M_BANNER) {
			finish(ep, s, 1);
		} else if (mode == M_IDLE) {
			s->step = S_IDLE;
			lat[n_lat++] = now_s() - s->t0;
		} else {
			send_line(s, "EHLO load.test\r\n");
			s->step = S_EHLO;
		}
		break;
	case S_EHLO:
		send_line(s, "MAIL FROM:<sender@load.test>\r\n");
		s->step = code == 250 ? S_MAIL : S_QUIT;
		break;
	case S_MAIL:
		send_line(s, rcpt_cmd);
		s->step = code == 250 ? S_RCPT : S_QUIT;
		break;
	case S_RCPT:
		if (code != expect_code)
			n_err++, s->t0 = -1e9; /* counted; excluded below */
		send_line(s, "QUIT\r\n");
		s->step = S_QUIT;
		break;
	case S_QUIT:
		if (s->t0 < 0) {
			finish(ep, s, 0);
			n_err--; /* already counted at RCPT */
		} else {
			finish(ep, s, code == 221);
		}
		break;
	default:
		break;
	}
}

/* -r RATE: start no more than RATE sessions per second on average. */

static int paced_ok(double t0)
{
	return max_rate <= 0 || (double)n_started < max_rate * (now_s() - t0) + 1;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned conc = 50, hold_s = 0;
	int opt;

	total = 0;
	while ((opt = getopt(argc, argv, "m:c:n:N:e:s:d:r:p:")) != -1) {
		switch (opt) {
		case 'm':
			mode = !strcmp(optarg, "banner") ? M_BANNER
			       : !strcmp(optarg, "idle") ? M_IDLE
							 : M_SESSION;
			break;
		case 'c':
			conc = (unsigned)atoi(optarg);
			break;
		case 'n':
			total = (size_t)atol(optarg);
			break;
		case 'N':
			n_addrs = (unsigned)atoi(optarg);
			break;
		case 'e':
			expect_code = atoi(optarg);
			break;
		case 's':
			hold_s = (unsigned)atoi(optarg);
			break;
		case 'p':
			src_port = (unsigned)atoi(optarg);
			break;
		case 'r':
			max_rate = atof(optarg);
			break;
		case 'd':
			snprintf(rcpt_cmd, sizeof(rcpt_cmd), "RCPT TO:<user@%.250s>\r\n", optarg);
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || conc == 0)
		goto usage;
	base.sin6_family = AF_INET6;
	base.sin6_port = htons((uint16_t)atoi(argv[optind + 1]));
	if (inet_pton(AF_INET6, argv[optind], &base.sin6_addr) != 1) {
		fprintf(stderr, "smtpload: %s: not an IPv6 address (use ::ffff:a.b.c.d)\n",
			argv[optind]);
		return 2;
	}
	if (mode == M_BANNER && !total)
		total = n_addrs;
	if (mode == M_IDLE)
		total = conc;
	if (!total)
		total = conc * 20;
	if (conc > total)
		conc = (unsigned)total;

	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	lat = calloc(total, sizeof(*lat));
	struct sess *ss = calloc(conc, sizeof(*ss));
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (!lat || !ss || ep < 0)
		return 1;
	double t0 = now_s();
	for (unsigned i = 0; i < conc; i++) {
		ss[i].fd = -1;
		if (paced_ok(t0))
			start(ep, &ss[i]);
	}
	int announced = 0;
	struct epoll_event evs[512];
	while (!stop) {
		if (mode == M_IDLE && !announced && n_lat + n_err >= total) {
			printf("idle open=%zu errors=%zu\n", n_lat, n_err);
			fflush(stdout);
			announced = 1;
			if (!hold_s)
				break;
		}
		if (mode == M_IDLE && announced && now_s() - t0 > hold_s)
			break;
		if (mode != M_IDLE && n_lat + n_err >= total)
			break;
		int n = epoll_wait(ep, evs, 512, max_rate > 0 ? 5 : 200);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct sess *s = evs[i].data.ptr;
			progress(ep, s, evs[i].events);
			if (s->fd < 0 && mode != M_IDLE && n_started < total && paced_ok(t0))
				start(ep, s);
		}
		/* Slots left idle by the pacing. */
		for (unsigned i = 0; i < conc && max_rate > 0; i++) {
			if (ss[i].fd < 0 && n_started < total && paced_ok(t0))
				start(ep, &ss[i]);
		}
		if (mode != M_IDLE && now_s() - t0 > 120) {
			fprintf(stderr, "smtpload: gave up after 120 s\n");
			break;
		}
	}
	double wall = now_s() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	qsort(lat, n_lat, sizeof(*lat), cmp);
	double p50 = n_lat ? lat[n_lat / 2] : 0,
	       p99 = n_lat ? lat[(size_t)((double)n_lat * 0.99)] : 0;
	double mx = n_lat ? lat[n_lat - 1] : 0;
	printf("done=%zu errors=%zu wall_s=%.4f rate=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	       "maxrss_kb=%ld\n",
	       n_lat, n_err, wall, (double)n_lat / wall, p50 * 1e3, p99 * 1e3, mx * 1e3,
	       ru.ru_maxrss);
	return n_err ? 3 : 0;
usage:
	fprintf(stderr, "usage: smtpload -m session|banner|idle [-c CONC] [-n TOTAL] [-N ADDRS] "
			"[-e CODE] [-d DOMAIN] [-r RATE] [-p SRCPORT] [-s SECS] ADDR PORT\n");
	return 2;
}
