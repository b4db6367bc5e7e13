// SPDX-License-Identifier: GPL-2.0-only
/*
 * The epoll load generator of the benchmarks (bench/run) and the fault
 * suite, and the bare-connect baseline of the probe benchmark.
 *
 *   smtpload -m session -c CONC -n TOTAL [-e CODE] [-d DOMAIN] ADDR PORT
 *       full reject dialogues: connect, 220, EHLO, MAIL, RCPT TO user@DOMAIN
 *       (default gated.test; expects CODE, default 551), QUIT; latency per
 *       session from connect() to 221. -r RATE paces the starts (per second),
 *       -w N keeps at most N sessions in progress at once (for idle ones:
 *       until their greeting); -p PORT gives session i the source port
 *       PORT + i (no reuse).
 *   smtpload -m banner -c CONC -N COUNT ADDR PORT
 *       bare TCP connect plus banner read to COUNT addresses ADDR, ADDR+1..
 *       (the baseline of a probe round).
 *   smtpload -m idle -c CONC [-s SECONDS] ADDR PORT
 *       open CONC sessions, read the banner, hold them idle; prints a line
 *       "idle open=N ..." once every session is open or has failed, exits
 *       after SECONDS or SIGTERM.
 *
 * Sources: by default every session comes from the one address the kernel
 * picks, as before. -S PREFIX/LEN (up to two, one IPv4 and one IPv6) binds
 * each session to an address of an AnyIP range of the client's namespace
 * (`ip route add local PREFIX/LEN dev lo`), as real senders come from many
 * hosts in many networks (without that route the replies never come back
 * and every session times out): the sessions go round-robin over the ranges,
 * then over every network of the range (IPv4 /24, IPv6 /48, the networks a
 * server's per-network limit counts), then over -H hosts in each network.
 * ADDR may then be "IPV6,IPV4": each session dials the one of its family.
 *
 * Every session that does not end as asked is a failure, counted by kind:
 * refused421 (a 421 at any step: a server limit), conn_err (bind, connect,
 * a reset or close before the dialogue ended), timeouts (no progress for
 * -t SECONDS, default 30, or still running when the run gives up after
 * 120 s) and other_err (any other reply or text). errors= is their sum,
 * and the exit status is 3 when it is not 0.
 *
 * Prints one line of key=value pairs; in idle mode also open= (sessions
 * still held when it exits: the server closed none of them meanwhile).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

enum mode { M_SESSION, M_BANNER, M_IDLE };
enum step { S_CONNECT, S_GREET, S_EHLO, S_MAIL, S_RCPT, S_QUIT, S_IDLE };
/* How a session ended; everything but FAIL_NONE is a failed session. */
enum fail { FAIL_NONE, FAIL_421, FAIL_CONN, FAIL_TIMEOUT, FAIL_OTHER, FAIL_KINDS };

struct sess {
	int fd;
	enum step step;
	enum fail fail; /* set at RCPT when its code was not the expected one */
	double t0;
	double last; /* last progress, for the -t timeout */
	size_t len;
	char buf[2048];
};

/* An AnyIP source range (-S): IPv4 as v4-mapped, so one socket family. */
struct src_range {
	struct in6_addr base;
	bool v4;
	unsigned nets;		 /* /24s or /48s in the range */
	struct sockaddr_in6 dst; /* the ADDR of the same family */
};

#define SRC_RANGES_MAX 2
#define SRC_NETS_MAX (1u << 16) /* networks used of one range */
#define SRC_HOSTS_DEFAULT 8	/* hosts used in each network */

static enum mode mode = M_SESSION;
static int expect_code = 551;
static char rcpt_cmd[300] = "RCPT TO:<user@gated.test>\r\n";
static double *lat;
static size_t n_lat, n_err, n_started, n_open, total;
static size_t n_fail[FAIL_KINDS];
static struct sockaddr_in6 base, base4; /* ADDR: IPv6 (or mapped), IPv4 */
static bool have_base6, have_base4;
static unsigned n_addrs = 1;
static volatile sig_atomic_t stop;
static double max_rate;		/* -r: sessions started per second, 0 = no limit */
static size_t max_busy, n_busy; /* -w: sessions not yet idle nor ended, at most */
static unsigned src_port;	/* -p: first source port; each session its own */
static struct src_range ranges[SRC_RANGES_MAX];
static unsigned n_ranges;
static unsigned hosts_per_net = SRC_HOSTS_DEFAULT; /* -H */
static double step_timeout = 30;		   /* -t, seconds */
static bool bind_warned;

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

/* -r RATE: start no more than RATE sessions per second on average;
 * -w N: no more than N at once between connect and greeting (or, in the
 * session mode, their end), so that a server slow to accept is not
 * pushed past its accept queue into SYN cookies, on which a client waiting
 * for the greeting hangs. */
static int paced_ok(double t0)
{
	return (max_rate <= 0 || (double)n_started < max_rate * (now_s() - t0) + 1) &&
	       (!max_busy || n_busy < max_busy);
}

static void count_fail(enum fail f)
{
	n_fail[f]++;
	n_err++;
}

/* Session number n's source address and destination from the -S ranges:
 * round-robin over the ranges, then their networks, then the hosts. */
static void pick_source(size_t n, struct sockaddr_in6 *src, struct sockaddr_in6 *dst)
{
	const struct src_range *r = &ranges[n % n_ranges];
	size_t k = n / n_ranges;
	uint32_t net = (uint32_t)(k % r->nets);
	uint32_t host = (uint32_t)(k / r->nets % hosts_per_net) + 1;
	uint8_t *a = src->sin6_addr.s6_addr;

	memset(src, 0, sizeof(*src));
	src->sin6_family = AF_INET6;
	src->sin6_addr = r->base;
	if (r->v4) {
		/* a.b.NET.HOST: the network in bytes 13-14 (/24s), the host in 15 */
		uint32_t v =
		    ((uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8) +
		    (net << 8);
		a[12] = (uint8_t)(v >> 24);
		a[13] = (uint8_t)(v >> 16);
		a[14] = (uint8_t)(v >> 8);
		a[15] = (uint8_t)host;
	} else {
		/* the /48 in bytes 4-5, the host in the interface identifier */
		uint32_t v = ((uint32_t)a[4] << 8 | a[5]) + net;
		a[4] = (uint8_t)(v >> 8);
		a[5] = (uint8_t)v;
		a[14] = (uint8_t)(host >> 8);
		a[15] = (uint8_t)host;
	}
	*dst = r->dst;
}

static int start(int ep, struct sess *s)
{
	struct sockaddr_in6 sa = base, src = {.sin6_family = AF_INET6};
	bool bind_src = src_port != 0;
	uint32_t last;
	int one = 1;

	if (n_ranges) {
		pick_source(n_started, &src, &sa);
		bind_src = true;
	} else {
		memcpy(&last, &sa.sin6_addr.s6_addr[12], 4);
		last = htonl(ntohl(last) + (uint32_t)(n_started % n_addrs));
		memcpy(&sa.sin6_addr.s6_addr[12], &last, 4);
	}
	n_started++;
	memset(s, 0, sizeof(*s));
	s->t0 = s->last = now_s();
	s->fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		count_fail(FAIL_CONN);
		return -1;
	}
	if (src_port) {
		/* A source port never used twice in a run: a steered connection
		 * that reuses a 4-tuple still in TIME_WAIT at the server is not
		 * answered (87-fault-port-reuse.t). */
		src.sin6_port = htons((uint16_t)(src_port + (n_started - 1) % (65535 - src_port)));
		setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	} else if (bind_src) {
		/* The port is chosen at connect, per 4-tuple: every source
		 * address has the whole port range. */
		setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	}
	/* IPv6 binds only configured addresses, not those of a local route
	 * (AnyIP): freebind lets it; the route still makes the replies ours. */
	if (n_ranges)
		setsockopt(s->fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	if (bind_src && bind(s->fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
		if (!bind_warned)
			fprintf(stderr, "smtpload: bind: %s\n", strerror(errno));
		bind_warned = true;
		close(s->fd);
		s->fd = -1;
		count_fail(FAIL_CONN);
		return -1;
	}
	if (connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		close(s->fd);
		s->fd = -1;
		count_fail(FAIL_CONN);
		return -1;
	}
	s->step = S_CONNECT;
	n_busy++;
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN, .data.ptr = s};
	epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
	return 0;
}

/* Start the next session in slot s, past those that fail at once. */
static void start_next(int ep, struct sess *s, double t0)
{
	while (n_started < total && paced_ok(t0))
		if (start(ep, s) == 0)
			return;
}

/* End session s; f is FAIL_NONE or why it failed. */
static void finish(int ep, struct sess *s, enum fail f)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
	if (s->step == S_IDLE)
		n_open--; /* counted open when its banner came */
	else
		n_busy--;
	if (s->step != S_IDLE && f == FAIL_NONE)
		lat[n_lat++] = now_s() - s->t0;
	if (f != FAIL_NONE)
		count_fail(f);
}

/* A reply that is not the one the dialogue expects: a 421 is a server
 * limit (too many connections, from this client or network), anything
 * else is some other failure. */
static enum fail fail_of(int code)
{
	return code == 421 ? FAIL_421 : FAIL_OTHER;
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
			finish(ep, s, FAIL_CONN);
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
		/* A close after the 221 we waited for is the end, not a
		 * failure: that case never reaches here (finished at 221). */
		finish(ep, s, FAIL_CONN);
		return;
	}
	s->last = now_s();
	if (s->step == S_IDLE)
		return; /* unexpected text while idle: ignore */
	s->len += (size_t)n;
	int code = reply_code(s);
	if (code == 0)
		return;
	if (code < 0) {
		finish(ep, s, FAIL_OTHER);
		return;
	}
	if (code == 421 && s->step != S_QUIT) {
		finish(ep, s, FAIL_421);
		return;
	}
	switch (s->step) {
	case S_GREET:
		if (code != 220) {
			finish(ep, s, fail_of(code));
		} else if (mode == M_BANNER) {
			finish(ep, s, FAIL_NONE);
		} else if (mode == M_IDLE) {
			s->step = S_IDLE;
			lat[n_lat++] = now_s() - s->t0;
			n_open++;
			n_busy--;
		} else {
			send_line(s, "EHLO load.test\r\n");
			s->step = S_EHLO;
		}
		break;
	case S_EHLO:
		if (code != 250)
			s->fail = fail_of(code);
		send_line(s, s->fail ? "QUIT\r\n" : "MAIL FROM:<sender@load.test>\r\n");
		s->step = s->fail ? S_QUIT : S_MAIL;
		break;
	case S_MAIL:
		if (code != 250)
			s->fail = fail_of(code);
		send_line(s, s->fail ? "QUIT\r\n" : rcpt_cmd);
		s->step = s->fail ? S_QUIT : S_RCPT;
		break;
	case S_RCPT:
		if (code != expect_code)
			s->fail = fail_of(code);
		send_line(s, "QUIT\r\n");
		s->step = S_QUIT;
		break;
	case S_QUIT:
		finish(ep, s, s->fail ? s->fail : code == 221 ? FAIL_NONE : FAIL_OTHER);
		break;
	default:
		break;
	}
}

/* -t: a session that made no progress for step_timeout seconds failed
 * (idle sessions hold on purpose and are not timed). */
static unsigned expire(int ep, struct sess *ss, unsigned conc, double now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < conc; i++)
		if (ss[i].fd >= 0 && ss[i].step != S_IDLE && now - ss[i].last > step_timeout) {
			finish(ep, &ss[i], FAIL_TIMEOUT);
			n++;
		}
	return n;
}

/* Parse -S PREFIX/LEN into the next range. */
static int add_range(const char *arg)
{
	char a[INET6_ADDRSTRLEN + 8], *slash;
	struct src_range *r = &ranges[n_ranges];
	struct in_addr v4;
	unsigned len, net_bits;

	if (n_ranges >= SRC_RANGES_MAX || strlen(arg) >= sizeof(a))
		return -1;
	strcpy(a, arg);
	slash = strchr(a, '/');
	if (!slash)
		return -1;
	*slash = 0;
	len = (unsigned)atoi(slash + 1);
	memset(r, 0, sizeof(*r));
	if (inet_pton(AF_INET, a, &v4) == 1) {
		if (len < 8 || len > 24)
			return -1;
		r->v4 = true;
		r->base.s6_addr[10] = r->base.s6_addr[11] = 0xff;
		memcpy(&r->base.s6_addr[12], &v4, 4);
		net_bits = 24 - len;
	} else if (inet_pton(AF_INET6, a, &r->base) == 1) {
		if (len < 16 || len > 48)
			return -1;
		net_bits = 48 - len;
	} else {
		return -1;
	}
	r->nets = net_bits >= 16 ? SRC_NETS_MAX : 1u << net_bits;
	n_ranges++;
	return 0;
}

/* ADDR: one address, or "IPV6,IPV4" for -S ranges of both families. */
static int parse_dst(const char *arg, uint16_t port)
{
	char a[2 * INET6_ADDRSTRLEN + 2], *tok, *save = NULL;
	struct in_addr v4;

	if (strlen(arg) >= sizeof(a))
		return -1;
	strcpy(a, arg);
	for (tok = strtok_r(a, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct sockaddr_in6 d = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

		if (inet_pton(AF_INET, tok, &v4) == 1) {
			d.sin6_addr.s6_addr[10] = d.sin6_addr.s6_addr[11] = 0xff;
			memcpy(&d.sin6_addr.s6_addr[12], &v4, 4);
		} else if (inet_pton(AF_INET6, tok, &d.sin6_addr) != 1) {
			return -1;
		}
		if (IN6_IS_ADDR_V4MAPPED(&d.sin6_addr)) {
			base4 = d;
			have_base4 = true;
		} else {
			base = d;
			have_base6 = true;
		}
	}
	if (!have_base6 && have_base4)
		base = base4; /* one IPv4 address: dialled as v4-mapped */
	return have_base6 || have_base4 ? 0 : -1;
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
	while ((opt = getopt(argc, argv, "m:c:n:N:e:s:d:r:p:S:H:t:w:")) != -1) {
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
		case 'w':
			max_busy = (size_t)atol(optarg);
			break;
		case 'd':
			snprintf(rcpt_cmd, sizeof(rcpt_cmd), "RCPT TO:<user@%.250s>\r\n", optarg);
			break;
		case 'S':
			if (add_range(optarg) < 0) {
				fprintf(stderr,
					"smtpload: -S %s: want IPV4/8..24 or IPV6/16..48 "
					"(at most one of each)\n",
					optarg);
				return 2;
			}
			break;
		case 'H':
			hosts_per_net = (unsigned)atoi(optarg);
			if (hosts_per_net < 1 || hosts_per_net > 254)
				goto usage;
			break;
		case 't':
			step_timeout = atof(optarg);
			if (step_timeout <= 0)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind != 2 || conc == 0)
		goto usage;
	if (parse_dst(argv[optind], (uint16_t)atoi(argv[optind + 1])) < 0) {
		fprintf(stderr, "smtpload: %s: not an address, nor IPV6,IPV4\n", argv[optind]);
		return 2;
	}
	for (unsigned i = 0; i < n_ranges; i++) {
		if (ranges[i].v4 ? !have_base4 : !have_base6) {
			fprintf(stderr, "smtpload: -S of %s: ADDR has no %s address to dial\n",
				ranges[i].v4 ? "IPv4" : "IPv6", ranges[i].v4 ? "IPv4" : "IPv6");
			return 2;
		}
		ranges[i].dst = ranges[i].v4 ? base4 : base;
	}
	if (n_ranges && mode == M_BANNER) {
		fprintf(stderr, "smtpload: -S is for the session and idle modes\n");
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
	for (unsigned i = 0; i < conc; i++)
		ss[i].fd = -1;
	for (unsigned i = 0; i < conc; i++)
		start_next(ep, &ss[i], t0);
	int announced = 0;
	double last_expire = t0;
	struct epoll_event evs[512];
	while (!stop) {
		if (mode == M_IDLE && !announced && n_lat + n_err >= total) {
			printf("idle open=%zu errors=%zu refused421=%zu conn_err=%zu timeouts=%zu "
			       "other_err=%zu\n",
			       n_open, n_err, n_fail[FAIL_421], n_fail[FAIL_CONN],
			       n_fail[FAIL_TIMEOUT], n_fail[FAIL_OTHER]);
			fflush(stdout);
			announced = 1;
			if (!hold_s)
				break;
		}
		if (mode == M_IDLE && announced && now_s() - t0 > hold_s)
			break;
		if (mode != M_IDLE && n_lat + n_err >= total)
			break;
		int n = epoll_wait(ep, evs, 512, max_rate > 0 || max_busy ? 5 : 200);
		if (n < 0 && errno != EINTR)
			return 1;
		for (int i = 0; i < n; i++) {
			struct sess *s = evs[i].data.ptr;
			progress(ep, s, evs[i].events);
			if (s->fd < 0 && mode != M_IDLE)
				start_next(ep, s, t0);
		}
		double now = now_s();
		unsigned expired = 0;
		if (now - last_expire > 0.1) {
			expired = expire(ep, ss, conc, now);
			last_expire = now;
		}
		/* Slots left idle by the pacing, or freed by expire. */
		for (unsigned i = 0; i < conc && (max_rate > 0 || max_busy || expired); i++) {
			if (ss[i].fd < 0)
				start_next(ep, &ss[i], t0);
		}
		if (mode != M_IDLE && now_s() - t0 > 120) {
			fprintf(stderr, "smtpload: gave up after 120 s\n");
			break;
		}
	}
	/* Sessions still running, and those never started, did not end as
	 * asked: timeouts (idle ones held to the end are not failures). */
	for (unsigned i = 0; i < conc; i++)
		if (ss[i].fd >= 0 && ss[i].step != S_IDLE)
			count_fail(FAIL_TIMEOUT);
	if (mode != M_IDLE)
		while (n_started++ < total)
			count_fail(FAIL_TIMEOUT);
	double wall = now_s() - t0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	qsort(lat, n_lat, sizeof(*lat), cmp);
	double p50 = n_lat ? lat[n_lat / 2] : 0,
	       p99 = n_lat ? lat[(size_t)((double)n_lat * 0.99)] : 0;
	double mx = n_lat ? lat[n_lat - 1] : 0;
	printf("done=%zu errors=%zu wall_s=%.4f rate=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f "
	       "maxrss_kb=%ld refused421=%zu conn_err=%zu timeouts=%zu other_err=%zu",
	       n_lat, n_err, wall, (double)n_lat / wall, p50 * 1e3, p99 * 1e3, mx * 1e3,
	       ru.ru_maxrss, n_fail[FAIL_421], n_fail[FAIL_CONN], n_fail[FAIL_TIMEOUT],
	       n_fail[FAIL_OTHER]);
	if (mode == M_IDLE)
		printf(" open=%zu", n_open);
	printf("\n");
	fflush(stdout);
	free(ss);
	free(lat);
	close(ep);
	return n_err ? 3 : 0;
usage:
	fprintf(stderr,
		"usage: smtpload -m session|banner|idle [-c CONC] [-n TOTAL] [-N ADDRS] "
		"[-e CODE] [-d DOMAIN] [-r RATE] [-w BUSY] [-p SRCPORT] [-s SECS] [-t SECS] "
		"[-S PREFIX/LEN]... [-H HOSTS] ADDR[,ADDR4] PORT\n");
	return 2;
}
