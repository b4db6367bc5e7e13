// SPDX-License-Identifier: GPL-2.0-only
/*
 * responder_harness: runs the responder the way mxgated does (listen,
 * spawn with the privilege drop, push a domain table), without the
 * controller, so tests can talk SMTP to it. Prints one line
 *     port4=N port6=N pid=CHILD
 * on stdout once the child serves, then waits for SIGTERM/SIGINT. When the
 * child dies it says so on stderr and keeps waiting (tests check that the
 * listening sockets closed with it). SIGUSR1 pushes the table again with
 * every gated domain open and every open one gated (a state change while
 * the responder runs). --bulk N adds N domains bulkN.test, gated, with a
 * long reply text: a big table through the socketpair.
 *
 *   responder_harness [--port N] [--listen4 ADDR|none] [--listen6 ADDR|none]
 *       [--domain NAME=STATE:PRIMARY[:REPLY]]... (STATE gated|open|unknown,
 *       REPLY reject|defer, default --reply) [--reply reject|defer]
 *       [--reply-text TEMPLATE] [--offender N/DURATION] [--helo NAME]
 *       [--user NAME] [--max-conn N] [--max-per-client N]
 *       [--max-commands N] [--idle DURATION] [--no-table] [--bulk N]
 *       [--max-per-net N] [--session DURATION] [--strict]
 *       [--tls-cert FILE [--tls-key FILE]]
 *   --strict: as under mxgated, close connections not dialled to port 25
 *   (default: serve those dialled to the harness's own port, as the tests
 *   dial it directly). Clients on this host (loopback, its addresses) are
 *   never offenders: a test of offenders dials from another namespace.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "log.h"
#include "responder.h"
#include "responder_start.h"
#include "responder_wire.h"

#define HARNESS_MAX_DOMAINS 64	/* from --domain */
#define HARNESS_BULK_MAX 200000 /* from --bulk */
#define HARNESS_READY_MS 5000	/* the child's privilege drop and checks */
#define HARNESS_SEND_MS 5000	/* a table the child does not read: stuck */

/* The harness has no event loop: it waits for the child with poll, each
 * wait bounded. Wait for fd to be ready for events until deadline_ms. */
static int wait_fd(int fd, short events, uint64_t deadline_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	uint64_t now = ev_now_ms();
	int rc;

	if (now >= deadline_ms)
		return -ETIMEDOUT;
	rc = poll(&p, 1, (int)(deadline_ms - now));
	if (rc < 0 && errno != EINTR)
		return -errno;
	return 0;
}

/* The child's READY, as mxgated reads it (supervise.c) but blocking. */
static int wait_ready(struct responder *r, char *err, size_t errlen)
{
	struct responder_wire_reader rd;
	uint64_t deadline = ev_now_ms() + HARNESS_READY_MS;
	int rc;

	responder_wire_reader_init(&rd, RESPONDER_WIRE_TYPE(RESPONDER_MSG_READY),
				   RESPONDER_READY_TEXT_MAX);
	while ((rc = responder_wire_read(&rd, r->ctl_fd)) == 0 || rc == -EAGAIN) {
		rc = wait_fd(r->ctl_fd, POLLIN, deadline);
		if (rc < 0)
			break;
	}
	if (rc == 1) {
		char why[RESPONDER_READY_TEXT_MAX + 1];

		rc = responder_ready_result(&rd, why, sizeof(why));
		if (rc < 0)
			snprintf(err, errlen, "responder: %s", why);
	} else
		snprintf(err, errlen, "responder: no READY from the child (%s); see its log line",
			 strerror(-rc));
	responder_wire_reader_free(&rd);
	return rc;
}

/* Send a whole table; -ETIMEDOUT when the child does not read it. */
static int push_table(struct responder *r, const struct responder_domain *d, size_t n)
{
	uint64_t deadline = ev_now_ms() + HARNESS_SEND_MS;
	size_t len, off = 0;
	uint8_t *buf;
	int rc;

	if (r->ctl_fd < 0)
		return -ENOTCONN;
	rc = responder_wire_encode(d, n, &buf, &len);
	if (rc)
		return rc;
	while (off < len && !rc) {
		ssize_t w = send(r->ctl_fd, buf + off, len - off, MSG_NOSIGNAL);

		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			rc = wait_fd(r->ctl_fd, POLLOUT, deadline);
		else
			rc = w < 0 ? -errno : -EPIPE;
	}
	free(buf);
	return rc;
}

static void usage(void)
{
	fprintf(stderr, "usage: responder_harness [--port N] [--listen4 ADDR|none] "
			"[--listen6 ADDR|none] [--domain NAME=STATE:PRIMARY[:REPLY]]... "
			"[--reply reject|defer] [--reply-text T] [--offender N/DURATION] "
			"[--helo NAME] [--user NAME] [--max-conn N] [--max-per-client N] "
			"[--max-commands N] [--idle DURATION] [--no-table] [--max-per-net N] "
			"[--session DURATION] [--strict] [--tls-cert FILE [--tls-key FILE]]\n");
	exit(2);
}

/* "500ms", "10s", "5m", "1h", bare number = seconds. */
static uint64_t parse_duration(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (end == s)
		usage();
	if (!strcmp(end, "ms"))
		return v;
	if (!*end || !strcmp(end, "s"))
		return v * 1000;
	if (!strcmp(end, "m"))
		return v * 60000;
	if (!strcmp(end, "h"))
		return v * 3600000;
	usage();
	return 0;
}

static unsigned parse_uint(const char *s)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (end == s || *end)
		usage();
	return (unsigned)v;
}

static int parse_reply(const char *s)
{
	if (!strcmp(s, "reject"))
		return MXG_REPLY_REJECT;
	if (!strcmp(s, "defer"))
		return MXG_REPLY_DEFER;
	usage();
	return 0;
}

/* NAME=STATE:PRIMARY[:REPLY]; reply -1 = the global one. */
static void parse_domain(const char *arg, struct responder_domain *d, int *reply)
{
	char buf[1024], *eq, *state, *primary, *mode;

	snprintf(buf, sizeof(buf), "%s", arg);
	eq = strchr(buf, '=');
	if (!eq)
		usage();
	*eq = '\0';
	state = eq + 1;
	primary = strchr(state, ':');
	if (!primary)
		usage();
	*primary++ = '\0';
	mode = strchr(primary, ':');
	if (mode)
		*mode++ = '\0';
	memset(d, 0, sizeof(*d));
	/* A helper's life is one run: its strings are never freed. */
	d->name = strndup(buf, 253);
	d->primary = strndup(primary, 253);
	if (!d->name || !d->primary)
		usage();
	if (!strcmp(state, "gated"))
		d->state = MXG_DOMAIN_GATED;
	else if (!strcmp(state, "open"))
		d->state = MXG_DOMAIN_OPEN;
	else if (!strcmp(state, "unknown"))
		d->state = MXG_DOMAIN_UNKNOWN;
	else
		usage();
	*reply = mode ? parse_reply(mode) : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"listen4", required_argument, NULL, '4'},
	    {"listen6", required_argument, NULL, '6'},
	    {"domain", required_argument, NULL, 'd'},
	    {"reply", required_argument, NULL, 'r'},
	    {"reply-text", required_argument, NULL, 't'},
	    {"offender", required_argument, NULL, 'o'},
	    {"helo", required_argument, NULL, 'H'},
	    {"user", required_argument, NULL, 'u'},
	    {"max-conn", required_argument, NULL, 'c'},
	    {"max-per-client", required_argument, NULL, 'C'},
	    {"max-commands", required_argument, NULL, 'm'},
	    {"idle", required_argument, NULL, 'i'},
	    {"no-table", no_argument, NULL, 'n'},
	    {"bulk", required_argument, NULL, 'b'},
	    {"max-per-net", required_argument, NULL, 'N'},
	    {"session", required_argument, NULL, 'S'},
	    {"strict", no_argument, NULL, 's'},
	    {"tls-cert", required_argument, NULL, 'T'},
	    {"tls-key", required_argument, NULL, 'K'},
	    {NULL, 0, NULL, 0},
	};
	static struct mxg_config cfg;
	static struct responder_domain dom_small[HARNESS_MAX_DOMAINS];
	struct responder_domain *dom = dom_small;
	int dom_reply[HARNESS_MAX_DOMAINS];
	unsigned bulk = 0;
	const char *l4 = "127.0.0.1", *l6 = "::1";
	struct mxg_ip v4, v6;
	struct responder r;
	uint16_t port = 0;
	size_t n_dom = 0;
	bool push = true, per_net_set = false, strict = false;
	char err[512];
	sigset_t sigs;
	int opt, sig = 0;

	/* The responder process the spawn executes: this binary again. */
	responder_role_main(argc, argv, "responder_harness");
	/* Not from config_load: set what the responder uses as it is, to
	 * the configuration's defaults (config.h). */
	snprintf(cfg.helo_name, sizeof(cfg.helo_name), "backup.test");
	snprintf(cfg.user, sizeof(cfg.user), "%s", MXG_DEFAULT_USER);
	snprintf(cfg.control_socket, sizeof(cfg.control_socket), "%s", MXG_DEFAULT_CONTROL_SOCKET);
	cfg.max_connections = MXG_DEFAULT_MAX_CONNECTIONS;
	cfg.max_connections_per_client = MXG_DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
	cfg.max_connections_per_network = MXG_DEFAULT_MAX_CONNECTIONS_PER_NETWORK;
	cfg.idle_timeout_ms = MXG_DEFAULT_IDLE_TIMEOUT_MS;
	cfg.session_timeout_ms = MXG_DEFAULT_SESSION_TIMEOUT_MS;
	cfg.reply = MXG_REPLY_REJECT;
	cfg.offender_threshold = 5;
	cfg.offender_window_ms = 3600000;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			port = (uint16_t)parse_uint(optarg);
			break;
		case 'T':
			snprintf(cfg.tls_cert_file, sizeof(cfg.tls_cert_file), "%s", optarg);
			break;
		case 'K':
			snprintf(cfg.tls_key_file, sizeof(cfg.tls_key_file), "%s", optarg);
			break;
		case 's':
			strict = true;
			break;
		case '4':
			l4 = optarg;
			break;
		case '6':
			l6 = optarg;
			break;
		case 'd':
			if (n_dom == HARNESS_MAX_DOMAINS)
				usage();
			parse_domain(optarg, &dom[n_dom], &dom_reply[n_dom]);
			n_dom++;
			break;
		case 'r':
			cfg.reply = parse_reply(optarg);
			break;
		case 't':
			snprintf(cfg.reply_text, sizeof(cfg.reply_text), "%s", optarg);
			break;
		case 'o': {
			char *slash = strchr(optarg, '/');

			if (!slash)
				usage();
			*slash = '\0';
			cfg.offender_threshold = parse_uint(optarg);
			cfg.offender_window_ms = parse_duration(slash + 1);
			break;
		}
		case 'H':
			snprintf(cfg.helo_name, sizeof(cfg.helo_name), "%s", optarg);
			break;
		case 'u':
			snprintf(cfg.user, sizeof(cfg.user), "%s", optarg);
			break;
		case 'c':
			cfg.max_connections = parse_uint(optarg);
			break;
		case 'C':
			cfg.max_connections_per_client = parse_uint(optarg);
			break;
		case 'm':
			cfg.max_commands = parse_uint(optarg);
			break;
		case 'i':
			cfg.idle_timeout_ms = parse_duration(optarg);
			break;
		case 'n':
			push = false;
			break;
		case 'N':
			cfg.max_connections_per_network = parse_uint(optarg);
			per_net_set = true;
			break;
		case 'S':
			cfg.session_timeout_ms = parse_duration(optarg);
			break;
		case 'b':
			bulk = parse_uint(optarg);
			if (bulk > HARNESS_BULK_MAX)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* As config_check.c: the per-network default follows a smaller
	 * max_connections. */
	if (!per_net_set && cfg.max_connections_per_network > cfg.max_connections)
		cfg.max_connections_per_network = cfg.max_connections;
	if (bulk) {
		dom = calloc(HARNESS_MAX_DOMAINS + bulk, sizeof(*dom));
		if (!dom) {
			fprintf(stderr, "responder_harness: out of memory for --bulk\n");
			return 1;
		}
		memcpy(dom, dom_small, sizeof(dom_small));
	}
	for (size_t i = 0; i < n_dom; i++) {
		dom[i].reply = (uint8_t)(dom_reply[i] < 0 ? (int)cfg.reply : dom_reply[i]);
		dom[i].reply_text = cfg.reply_text;
	}
	/* The longest template there is, shared by every bulk domain. */
	static char bulk_text[MXG_REPLY_TEXT_MAX];

	memset(bulk_text, 'x', sizeof(bulk_text) - 1);
	memcpy(bulk_text, "%d: ", 4);
	memcpy(bulk_text + sizeof(bulk_text) - 4, "%p.", 4);
	for (unsigned i = 0; i < bulk; i++) {
		struct responder_domain *d = &dom[n_dom++];
		char *name, *primary;

		memset(d, 0, sizeof(*d));
		if (asprintf(&name, "bulk%u.test", i) < 0 ||
		    asprintf(&primary, "mx.bulk%u.test", i) < 0) {
			fprintf(stderr, "responder_harness: out of memory for --bulk\n");
			return 1;
		}
		d->name = name;
		d->primary = primary;
		d->state = MXG_DOMAIN_GATED;
		d->reply = MXG_REPLY_REJECT;
		d->reply_text = bulk_text;
	}
	if ((strcmp(l4, "none") && mxg_ip_parse(l4, &v4) < 0) ||
	    (strcmp(l6, "none") && mxg_ip_parse(l6, &v6) < 0))
		usage();

	log_init("responder_harness", LOG_TO_STDERR, getenv("MXG_DEBUG") != NULL);
	/* As mxgated: signals go through sigwait, so block them before fork
	 * (the child must unblock them itself). */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, NULL);

	if (responder_listen_on(&r, strcmp(l4, "none") ? &v4 : NULL,
				strcmp(l6, "none") ? &v6 : NULL, port, err, sizeof(err)) < 0) {
		fprintf(stderr, "responder_harness: %s\n", err);
		return 1;
	}
	/* Clients dial the harness directly: its port is the steered one
	 * (with --port 0, the IPv4 listener's). --strict: 25, as mxgated. */
	if (!strict)
		r.steered_port = r.port_v4 ? r.port_v4 : r.port_v6;
	if (responder_spawn(&r, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "responder_harness: %s\n", err);
		return 1;
	}
	if (wait_ready(&r, err, sizeof(err)) < 0) {
		fprintf(stderr, "responder_harness: %s\n", err);
		responder_stop(&r);
		return 1;
	}
	if (push && push_table(&r, dom, n_dom) < 0) {
		fprintf(stderr, "responder_harness: pushing the domain table failed\n");
		responder_stop(&r);
		return 1;
	}
	printf("port4=%u port6=%u pid=%d\n", (unsigned)r.port_v4, (unsigned)r.port_v6, (int)r.pid);
	fflush(stdout);

	for (;;) {
		struct pollfd p = {.fd = r.ctl_fd, .events = POLLIN};
		struct timespec zero = {0, 0};
		siginfo_t si;

		if (sigtimedwait(&sigs, &si, &zero) > 0) {
			sig = si.si_signo;
			if (sig != SIGUSR1)
				break;
			for (size_t i = 0; i < n_dom; i++)
				dom[i].state = dom[i].state == MXG_DOMAIN_GATED ? MXG_DOMAIN_OPEN
										: MXG_DOMAIN_GATED;
			if (push_table(&r, dom, n_dom) < 0)
				fprintf(stderr,
					"responder_harness: pushing the table again failed\n");
			else
				fprintf(stderr,
					"responder_harness: table pushed again, states flipped\n");
			continue;
		}
		if (r.ctl_fd >= 0 && poll(&p, 1, 100) > 0) {
			char junk[4096];
			ssize_t n = recv(r.ctl_fd, junk, sizeof(junk), MSG_DONTWAIT);

			/* The child's reports (COUNTS, OFFENDERS) are dropped
			 * here; only EOF or an error means it is gone. */
			if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
				continue;
			fprintf(stderr, "responder_harness: responder child %d is gone\n",
				(int)r.pid);
			close(r.ctl_fd);
			r.ctl_fd = -1;
		} else if (r.ctl_fd < 0) {
			usleep(100 * 1000);
		}
	}
	fprintf(stderr, "responder_harness: signal %d, stopping\n", sig);
	responder_stop(&r);
	return 0;
}
