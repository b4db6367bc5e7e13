// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate probe DOMAIN`: one round of what the daemon does for a domain,
 * on demand and without privileges or kernel state: resolve the MX set,
 * feed it to the daemon's own state machine (domain_state.c, rise = fall =
 * 1), probe every primary address it lists at once over SMTP, feed it the
 * round, and print its verdict (the daemon adds rise/fall hysteresis and
 * the recovery grace over many rounds). Output: cli_probe_out.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_probe.h"
#include "config_values.h"
#include "dns.h"
#include "log.h"
#include "mxset.h"
#include "nofile.h"
#include "probe.h"
#include "reason.h"

#define PROBE_MAX_TIMEOUT_MS 600000 /* 10 minutes: anything longer is a typo */

/* A probe's callback argument: where its report goes. */
struct probe_item {
	struct cli_probe_item *out;
	struct probe_ctx *ctx;
};

struct probe_ctx {
	struct ev_loop *loop;
	struct mx_set *set;
	bool dns_done;
	size_t outstanding;
	struct cli_probe_item *out; /* one per address of ds.addrs */
	struct probe_item *items;   /* the same, for the callbacks */
	size_t n_items;
	struct ds_params params;
	struct domain_state ds;
	bool ds_live; /* ds_init succeeded: ds_free owed */
};

static void print_usage(FILE *f)
{
	fprintf(f,
		"usage: mxgate probe DOMAIN [--self HOST]... [--resolver ADDR[:PORT]] "
		"[--timeout DURATION] [--tls off|opportunistic|verify] [--tls-ca FILE] [--json]\n"
		"  --self HOST      this backup MX's name as it appears in the MX records\n"
		"                   (repeatable; default: this host's name)\n"
		"  --resolver ADDR  DNS server to ask (default: first nameserver of "
		"/etc/resolv.conf)\n"
		"  --timeout DUR    deadline per SMTP probe, e.g. 500ms, 5s (default 5s)\n"
		"  --tls MODE       STARTTLS: off, opportunistic (default) or verify (the\n"
		"                   certificate must verify for the MX host name)\n"
		"  --tls-ca FILE    CA certificates (PEM) instead of the system store\n"
		"  --json           one JSON object on stdout\n");
}

static void server_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	struct mxg_ip ip;
	uint16_t port = 53;
	char a[INET6_ADDRSTRLEN];

	if (mxg_ip_from_sockaddr((const struct sockaddr *)ss, &ip, &port) < 0) {
		snprintf(buf, len, "?");
		return;
	}
	mxg_ip_str(&ip, a, sizeof(a));
	if (port == 53)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, ip.family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, port);
}

static void dns_done(void *arg, const struct mx_set *set)
{
	struct probe_ctx *ctx = arg;

	memcpy(ctx->set, set, sizeof(*set));
	ctx->dns_done = true;
	ev_stop(ctx->loop);
}

static void probe_done(void *arg, const struct probe_report *rep)
{
	struct probe_item *it = arg;

	it->out->rep = *rep;
	if (--it->ctx->outstanding == 0)
		ev_stop(it->ctx->loop);
}

/* --tls, --tls-ca: as probe_tls, probe_tls_ca in mxgate.conf */
static enum probe_tls_mode opt_tls = PROBE_TLS_OPPORTUNISTIC;
static const char *opt_tls_ca;

/* Probe every primary address the state machine lists (each address once,
 * as the daemon's round does), all at the same time. */
static int run_probes(struct probe_ctx *ctx, const char *helo, unsigned timeout_ms, uint16_t port)
{
	const struct domain_state *ds = &ctx->ds;
	struct prober *p;
	char err[256];
	int ret = 0;

	if (!ds->n_addrs)
		return 0;
	ctx->out = calloc(ds->n_addrs, sizeof(*ctx->out));
	ctx->items = calloc(ds->n_addrs, sizeof(*ctx->items));
	if (!ctx->out || !ctx->items)
		return -ENOMEM;
	for (size_t i = 0; i < ds->n_addrs; i++) {
		struct probe_item *it = &ctx->items[ctx->n_items];

		it->out = &ctx->out[ctx->n_items++];
		it->out->host = ds->set->hosts[ds->addrs[i].host].name;
		it->out->addr = ds->addrs[i].ip;
		/* Until its report comes, a probe is not a primary that is up. */
		it->out->rep.result = PROBE_TIMEOUT;
		it->ctx = ctx;
	}
	/* One descriptor per probed address, and some to spare. */
	mxg_raise_nofile((unsigned)ctx->n_items + 64, NULL, 0);
	p = prober_new(ctx->loop, helo, timeout_ms);
	if (!p)
		return -errno;
	if (prober_set_tls(p, opt_tls, opt_tls_ca, err, sizeof(err)) < 0) {
		fprintf(stderr, "mxgate: probe: --tls-ca: %s\n", err);
		prober_free(p);
		return -EINVAL;
	}
	for (size_t i = 0; i < ctx->n_items; i++) {
		struct probe_item *it = &ctx->items[i];

		ret = probe_start(p,
				  &(struct probe_target){.addr = it->out->addr,
							 .port = port,
							 .rcpt_domain = ctx->set->domain,
							 .mx_name = it->out->host},
				  probe_done, it);
		if (ret < 0) {
			char a[INET6_ADDRSTRLEN];

			log_err("cannot probe %s: %s", mxg_ip_str(&it->out->addr, a, sizeof(a)),
				strerror(-ret));
			goto out;
		}
		ctx->outstanding++;
	}
	ret = ev_run(ctx->loop);
out:
	prober_free(p);
	return ret;
}

/* The daemon's state machine, fed the answer and (when it lists primary
 * addresses) one probe round, with rise = fall = 1 and no wait for a
 * second answer: the verdict the daemon reaches from the same facts.
 * 0, or negative errno. */
static int decide(struct probe_ctx *ctx, const char (*self)[MXG_NAME_MAX], size_t n_self,
		  const char *helo, unsigned timeout_ms, uint16_t port)
{
	struct ds_probe_result *res;
	int ret;

	ctx->params = (struct ds_params){.rise = 1, .fall = 1, .self = self, .n_self = n_self};
	ctx->params.store = mxs_store_new();
	if (!ctx->params.store)
		return -ENOMEM;
	ret = ds_init(&ctx->ds, ctx->set->domain, 0, ev_now_ms());
	if (ret < 0)
		return ret;
	ctx->ds_live = true;
	ret = ds_dns_answer(&ctx->ds, &ctx->params, ctx->set, ev_now_ms());
	if (ret < 0)
		return ret;
	ret = run_probes(ctx, helo, timeout_ms, port);
	if (ret < 0 || !ctx->n_items)
		return ret < 0 ? ret : 0;
	res = calloc(ctx->n_items, sizeof(*res));
	if (!res)
		return -ENOMEM;
	for (size_t i = 0; i < ctx->n_items; i++)
		res[i] = (struct ds_probe_result){.ip = ctx->out[i].addr,
						  .result = ctx->out[i].rep.result,
						  .code = ctx->out[i].rep.code};
	ds_sort_results(res, ctx->n_items);
	ds_round(&ctx->ds, &ctx->params, res, ctx->n_items, ev_now_ms());
	free(res);
	return 0;
}

static void print_outcome(const struct probe_ctx *ctx, const char (*self)[MXG_NAME_MAX],
			  size_t n_self, const char *resolver, bool json)
{
	struct mx_primaries pr;
	struct cli_probe_view v = {.set = ctx->set,
				   .pr = &pr,
				   .self = self,
				   .n_self = n_self,
				   .resolver = resolver,
				   .ds = &ctx->ds,
				   .items = ctx->out,
				   .n_items = ctx->n_items};
	char message[512];

	/* Roles and our preference for the listing, by the function the
	 * state machine uses. */
	mx_find_primaries(ctx->set, self, n_self, &pr);
	cli_probe_message(&v, message, sizeof(message));
	if (json)
		cli_probe_print_json(&v, message);
	else
		cli_probe_print_text(&v, message);
	if (ctx->ds.reason == MXG_REASON_SELF_NOT_IN_MX ||
	    ctx->ds.reason == MXG_REASON_PRIMARY_IS_SELF)
		fprintf(stderr, "mxgate: %s: %s\n", ctx->set->domain, message);
}

int do_probe(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"self", required_argument, NULL, 's'},    {"resolver", required_argument, NULL, 'r'},
	    {"timeout", required_argument, NULL, 't'}, {"tls", required_argument, NULL, 'T'},
	    {"tls-ca", required_argument, NULL, 'C'},  {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},	       {NULL, 0, NULL, 0},
	};
	static char self[MXG_MAX_SELF][MXG_NAME_MAX];
	char domain[MXG_NAME_MAX], resolver_s[MXG_ADDRSTRLEN + 8], why[256];
	uint64_t ms;
	struct sockaddr_storage server;
	socklen_t server_len = 0;
	unsigned timeout_ms = MXG_DEFAULT_PROBE_TIMEOUT_MS; /* probe_timeout's default */
	const uint16_t port = 25;			    /* as mxgated probes */
	size_t n_self = 0;
	bool json = false;
	struct probe_ctx *ctx = NULL;
	struct dns_resolver *res = NULL;
	int c, ret = CLI_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:r:t:jhT:C:", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			if (!strcmp(optarg, "off"))
				opt_tls = PROBE_TLS_OFF;
			else if (!strcmp(optarg, "opportunistic"))
				opt_tls = PROBE_TLS_OPPORTUNISTIC;
			else if (!strcmp(optarg, "verify"))
				opt_tls = PROBE_TLS_VERIFY;
			else {
				fprintf(stderr,
					"mxgate: probe: --tls %s: use off, opportunistic "
					"or verify\n",
					optarg);
				return CLI_USAGE;
			}
			break;
		case 'C':
			opt_tls_ca = optarg;
			break;
		case 's':
			if (n_self >= MXG_MAX_SELF) {
				fprintf(stderr, "mxgate: probe: at most %d --self names\n",
					MXG_MAX_SELF);
				return CLI_USAGE;
			}
			if (cv_hostname(optarg, self[n_self], why, sizeof(why)) < 0) {
				fprintf(stderr, "mxgate: probe: --self: %s\n", why);
				return CLI_USAGE;
			}
			n_self++;
			break;
		case 'r':
			if (cv_resolver(optarg, &server, &server_len, why, sizeof(why)) < 0) {
				fprintf(stderr, "mxgate: probe: --resolver: %s\n", why);
				return CLI_USAGE;
			}
			break;
		case 't':
			if (config_parse_duration(optarg, &ms) < 0 || ms == 0 ||
			    ms > PROBE_MAX_TIMEOUT_MS) {
				fprintf(stderr,
					"mxgate: probe: --timeout %s: not a duration between 1ms "
					"and 10m; give e.g. 500ms or 5s\n",
					optarg);
				return CLI_USAGE;
			}
			timeout_ms = (unsigned)ms;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			print_usage(stdout);
			return CLI_OK;
		default:
			print_usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1) {
		print_usage(stderr);
		return CLI_USAGE;
	}
	if (cv_hostname(argv[optind], domain, why, sizeof(why)) < 0) {
		fprintf(stderr, "mxgate: probe: DOMAIN: %s\n", why);
		return CLI_USAGE;
	}
	if (!n_self) {
		char host[256] = "";

		if (gethostname(host, sizeof(host) - 1) < 0 ||
		    cv_hostname(host, self[0], why, sizeof(why)) < 0) {
			fprintf(stderr,
				"mxgate: probe: no --self given and the host name is "
				"unusable; give --self HOST as it appears in the MX records\n");
			return CLI_USAGE;
		}
		n_self = 1;
		fprintf(stderr,
			"mxgate: no --self given; using this host's name '%s' (give --self as "
			"the name appears in the MX records)\n",
			self[0]);
	}
	if (!server_len && dns_default_server(&server, &server_len) < 0) {
		fprintf(stderr, "mxgate: cannot read /etc/resolv.conf; give --resolver ADDR\n");
		return CLI_FAIL;
	}
	server_str(&server, resolver_s, sizeof(resolver_s));

	ctx = calloc(1, sizeof(*ctx));
	if (ctx)
		ctx->set = calloc(1, sizeof(*ctx->set));
	if (!ctx || !ctx->set) {
		fprintf(stderr, "mxgate: out of memory\n");
		goto out;
	}
	ctx->loop = ev_loop_new();
	if (!ctx->loop) {
		fprintf(stderr, "mxgate: cannot create an event loop: %s\n", strerror(errno));
		goto out;
	}
	res = dns_resolver_new(ctx->loop, (struct sockaddr *)&server, server_len, NULL);
	if (!res) {
		fprintf(stderr, "mxgate: cannot set up DNS towards %s: %s\n", resolver_s,
			strerror(errno));
		goto out;
	}
	c = dns_resolve_mx(res, domain, dns_done, ctx);
	if (c < 0) {
		fprintf(stderr, "mxgate: %s: cannot start the MX query: %s\n", domain,
			strerror(-c));
		goto out;
	}
	c = ev_run(ctx->loop);
	if (c < 0 || !ctx->dns_done) {
		fprintf(stderr, "mxgate: %s: event loop failed: %s\n", domain,
			c < 0 ? strerror(-c) : "stopped before the DNS answer");
		goto out;
	}
	if (ctx->set->status == MX_NXDOMAIN) {
		fprintf(stderr, "mxgate: %s: domain does not exist (NXDOMAIN); check the name\n",
			domain);
		goto out;
	}

	c = decide(ctx, (const char(*)[MXG_NAME_MAX])self, n_self, self[0], timeout_ms, port);
	if (c < 0) {
		fprintf(stderr, "mxgate: %s: probing failed: %s\n", domain, strerror(-c));
		goto out;
	}
	print_outcome(ctx, (const char(*)[MXG_NAME_MAX])self, n_self, resolver_s, json);
	ret = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
out:
	dns_resolver_free(res);
	if (ctx) {
		if (ctx->ds_live)
			ds_free(&ctx->ds);
		mxs_store_free(ctx->params.store);
		free(ctx->items);
		free(ctx->out);
		ev_loop_free(ctx->loop);
		free(ctx->set);
	}
	free(ctx);
	return ret;
}
