// SPDX-License-Identifier: GPL-2.0-only
/*
 * One probe round of mxgate's probe engine (probe.c) over COUNT primary
 * addresses ADDR, ADDR+1, ..., all at once on one event loop, as the
 * controller starts them. Prints wall time, results and peak RSS growth.
 *
 *   proberound -N COUNT [-t TIMEOUT_MS] ADDR PORT
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "event.h"
#include "probe.h"

struct round {
	struct ev_loop *loop;
	size_t pending, ok, failed;
};

static void on_report(void *arg, const struct probe_report *rep)
{
	struct round *r = arg;

	if (rep->result == PROBE_OK)
		r->ok++;
	else if (r->failed++ == 0)
		fprintf(stderr, "proberound: first failure: %s %d %s\n", probe_result_str(rep->result),
			rep->code, rep->text);
	if (--r->pending == 0)
		ev_stop(r->loop);
}

static long rss_kib(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	unsigned n = 1000, timeout_ms = 5000;
	int opt;
	struct rlimit rl;
	struct round r = { 0 };

	while ((opt = getopt(argc, argv, "N:t:")) != -1) {
		if (opt == 'N')
			n = (unsigned)atoi(optarg);
		else if (opt == 't')
			timeout_ms = (unsigned)atoi(optarg);
		else
			goto usage;
	}
	if (argc - optind != 2 || n == 0)
		goto usage;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	struct in6_addr base;
	if (inet_pton(AF_INET6, argv[optind], &base) != 1)
		goto usage;
	uint16_t port = (uint16_t)atoi(argv[optind + 1]);

	struct mxg_ip *addrs = calloc(n, sizeof(*addrs));
	r.loop = ev_loop_new();
	struct prober *p = r.loop ? prober_new(r.loop, "bench.test", timeout_ms) : NULL;
	if (!addrs || !p) {
		fprintf(stderr, "proberound: out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < n; i++) {
		char text[INET6_ADDRSTRLEN];
		struct in6_addr a = base;
		uint32_t last;
		memcpy(&last, &a.s6_addr[12], 4);
		last = htonl(ntohl(last) + i);
		memcpy(&a.s6_addr[12], &last, 4);
		inet_ntop(AF_INET6, &a, text, sizeof(text));
		if (mxg_ip_parse(text, &addrs[i]) < 0) {
			fprintf(stderr, "proberound: %s: cannot parse\n", text);
			return 1;
		}
	}
	long before = rss_kib();
	uint64_t t0 = ev_now_ns();
	for (unsigned i = 0; i < n; i++) {
		/* rcpt_domain NULL: connect, banner, EHLO, QUIT, as before the
		 * deep probe, so the figure stays comparable with earlier runs. */
		if (probe_start(p, &(struct probe_target){.addr = addrs[i], .port = port}, on_report,
				&r) < 0)
			r.failed++;
		else
			r.pending++;
	}
	if (r.pending)
		ev_run(r.loop);
	double wall = (double)(ev_now_ns() - t0) / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("ok=%zu failed=%zu wall_s=%.4f rss_before_kb=%ld maxrss_kb=%ld rss_growth_per_addr_b=%ld\n",
	       r.ok, r.failed, wall, before, ru.ru_maxrss, (ru.ru_maxrss - before) * 1024 / (long)n);
	prober_free(p);
	ev_loop_free(r.loop);
	free(addrs);
	return r.failed ? 3 : 0;
usage:
	fprintf(stderr, "usage: proberound -N COUNT [-t TIMEOUT_MS] ADDR PORT\n");
	return 2;
}
