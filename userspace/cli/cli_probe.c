// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate probe DOMAIN`: one round of what the daemon does for a domain,
 * on demand and without privileges or kernel state: resolve the MX set,
 * find the primaries (preference lower than ours), probe every primary
 * address at once over SMTP, and print the verdict the daemon would reach
 * from that one round (it adds rise/fall hysteresis over many rounds).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli.h"
#include "config_values.h"
#include "dns.h"
#include "json.h"
#include "log.h"
#include "mxset.h"
#include "nofile.h"
#include "probe.h"
#include "reason.h"

#define PROBE_MAX_TIMEOUT_MS 600000 /* 10 minutes: anything longer is a typo */
#define PROBE_MAX_ITEMS (MXG_MX_MAX_HOSTS * MXG_MX_MAX_ADDRS)

struct probe_item {
	const struct mx_host *host;
	struct mxg_ip addr;
	int same_as; /* index of an earlier item with this address, or -1 */
	bool done;
	struct probe_report rep;
	struct probe_ctx *ctx;
};

struct probe_ctx {
	struct ev_loop *loop;
	struct mx_set *set;
	bool dns_done;
	size_t outstanding;
	struct probe_item items[PROBE_MAX_ITEMS];
	size_t n_items;
};

enum verdict { VERDICT_GATE, VERDICT_OPEN, VERDICT_UNKNOWN };

static const char *const verdict_names[] = {"gate", "open", "unknown"};

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

	it->rep = *rep;
	it->done = true;
	if (--it->ctx->outstanding == 0)
		ev_stop(it->ctx->loop);
}

static const char *host_role(const struct mx_host *h, const struct mx_primaries *pr,
			     const char (*self)[MXG_NAME_MAX], size_t n_self)
{
	if (mx_host_is_self(h->name, self, n_self))
		return "self";
	if (pr->pref_self >= 0 && h->pref < pr->pref_self)
		return "primary";
	return "backup";
}

/* Probe every address of every primary once, all at the same time. */
/* --tls, --tls-ca: as probe_tls, probe_tls_ca in mxgate.conf */
static enum probe_tls_mode opt_tls = PROBE_TLS_OPPORTUNISTIC;
static const char *opt_tls_ca;

static int run_probes(struct probe_ctx *ctx, const struct mx_primaries *pr, const char *helo,
		      unsigned timeout_ms, uint16_t port)
{
	struct prober *p;
	int ret = 0;

	for (size_t i = 0; i < pr->n; i++) {
		const struct mx_host *h = pr->hosts[i];

		for (size_t j = 0; j < h->n_addrs && ctx->n_items < PROBE_MAX_ITEMS; j++) {
			struct probe_item *it = &ctx->items[ctx->n_items++];

			it->host = h;
			it->addr = h->addrs[j];
			it->ctx = ctx;
			it->same_as = -1;
			for (size_t k = 0; k + 1 < ctx->n_items; k++)
				if (mxg_ip_equal(&ctx->items[k].addr, &it->addr)) {
					it->same_as = (int)k;
					break;
				}
		}
	}
	if (!ctx->n_items)
		return 0;
	/* One descriptor per probed address, and some to spare. */
	mxg_raise_nofile((unsigned)ctx->n_items + 64, NULL, 0);
	p = prober_new(ctx->loop, helo, timeout_ms);
	if (!p)
		return -errno;
	{
		char err[256];

		if (prober_set_tls(p, opt_tls, opt_tls_ca, err, sizeof(err)) < 0) {
			fprintf(stderr, "mxgate: probe: --tls-ca: %s\n", err);
			prober_free(p);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < ctx->n_items; i++) {
		struct probe_item *it = &ctx->items[i];

		if (it->same_as >= 0)
			continue;
		ret = probe_start(p,
				  &(struct probe_target){.addr = it->addr,
							 .port = port,
							 .rcpt_domain = ctx->set->domain,
							 .mx_name = it->host->name},
				  probe_done, it);
		if (ret < 0) {
			char a[INET6_ADDRSTRLEN];

			log_err("cannot probe %s: %s", mxg_ip_str(&it->addr, a, sizeof(a)),
				strerror(-ret));
			goto out;
		}
		ctx->outstanding++;
	}
	ret = ev_run(ctx->loop);
	for (size_t i = 0; i < ctx->n_items; i++)
		if (ctx->items[i].same_as >= 0)
			ctx->items[i].rep = ctx->items[ctx->items[i].same_as].rep;
out:
	prober_free(p);
	return ret;
}

struct outcome {
	enum verdict verdict;
	enum mxg_reason reason;
	char message[512];
};

static void decide(const struct probe_ctx *ctx, const struct mx_primaries *pr,
		   const char (*self)[MXG_NAME_MAX], size_t n_self, struct outcome *o)
{
	const struct mx_set *set = ctx->set;
	char a[INET6_ADDRSTRLEN];

	o->reason = pr->reason;
	switch (pr->reason) {
	case MXG_REASON_NONE:
		break;
	case MXG_REASON_DNS_FAILED:
		o->verdict = VERDICT_UNKNOWN;
		snprintf(o->message, sizeof(o->message), "DNS failed: %s",
			 set->error[0] ? set->error
				       : "the address lookups of the primaries failed");
		return;
	case MXG_REASON_SELF_NOT_IN_MX: {
		size_t off;

		o->verdict = VERDICT_OPEN;
		off = (size_t)snprintf(o->message, sizeof(o->message),
				       "self not in the MX set: none of");
		for (size_t i = 0; i < n_self && off < sizeof(o->message); i++)
			off += (size_t)snprintf(o->message + off, sizeof(o->message) - off, " %s",
						self[i]);
		if (off < sizeof(o->message))
			snprintf(o->message + off, sizeof(o->message) - off,
				 " is an MX host of %s; check --self (or `self` in the config) "
				 "against the MX records",
				 set->domain);
		return;
	}
	case MXG_REASON_NO_PRIMARY:
		o->verdict = VERDICT_OPEN;
		snprintf(o->message, sizeof(o->message),
			 "no primary: no MX host has a preference lower than ours (%d)",
			 pr->pref_self);
		return;
	default:
		o->verdict = VERDICT_OPEN;
		snprintf(o->message, sizeof(o->message), "%s", mxg_reason_str(pr->reason));
		return;
	}
	/* A primary on one of our own addresses: senders trying it reach us,
	 * so refusing them would bounce their mail. Open, whatever else is up. */
	for (size_t i = 0; i < ctx->n_items; i++) {
		const struct probe_item *it = &ctx->items[i];

		if (it->rep.result != PROBE_SELF)
			continue;
		o->verdict = VERDICT_OPEN;
		o->reason = MXG_REASON_PRIMARY_IS_SELF;
		snprintf(o->message, sizeof(o->message),
			 "primary %s has this host's own address %s; fix its DNS records (or "
			 "`self`)",
			 it->host->name, mxg_ip_str(&it->addr, a, sizeof(a)));
		return;
	}
	for (size_t i = 0; i < ctx->n_items; i++) {
		const struct probe_item *it = &ctx->items[i];

		if (it->rep.result != PROBE_OK)
			continue;
		o->verdict = VERDICT_GATE;
		o->reason = MXG_REASON_PRIMARY_UP;
		snprintf(o->message, sizeof(o->message), "primary up: %s %s accepts mail",
			 it->host->name, mxg_ip_str(&it->addr, a, sizeof(a)));
		return;
	}
	o->verdict = VERDICT_OPEN;
	o->reason = MXG_REASON_PRIMARY_DOWN;
	snprintf(o->message, sizeof(o->message),
		 "primary down: no address of %zu primar%s accepted the probe", pr->n,
		 pr->n == 1 ? "y" : "ies");
}

static void print_text(const struct probe_ctx *ctx, const struct mx_primaries *pr,
		       const char (*self)[MXG_NAME_MAX], size_t n_self, const char *resolver,
		       const struct outcome *o)
{
	const struct mx_set *set = ctx->set;
	char a[INET6_ADDRSTRLEN];

	printf("domain %s: %s, TTL %us, resolver %s\n", set->domain, mxg_mx_status_str(set->status),
	       set->ttl_s, resolver);
	for (size_t i = 0; i < set->n_hosts; i++) {
		const struct mx_host *h = &set->hosts[i];

		printf("  MX %5u %-32s %-8s", h->pref, h->name, host_role(h, pr, self, n_self));
		if (!h->n_addrs)
			printf(" (no address: %s)", mxg_mx_status_str(h->addr_status));
		for (size_t j = 0; j < h->n_addrs; j++)
			printf(" %s", mxg_ip_str(&h->addrs[j], a, sizeof(a)));
		printf("\n");
	}
	for (size_t i = 0; i < ctx->n_items; i++) {
		const struct probe_item *it = &ctx->items[i];

		printf("probe %s %s: %s", it->host->name, mxg_ip_str(&it->addr, a, sizeof(a)),
		       probe_result_str(it->rep.result));
		if (it->rep.code)
			printf(" %d", it->rep.code);
		if (it->rep.text[0])
			printf(" \"%s\"", it->rep.text);
		printf(" (%llu ms)\n", (unsigned long long)it->rep.elapsed_ms);
	}
	printf("verdict: %s (%s)\n", verdict_names[o->verdict], o->message);
}

static void print_json(const struct probe_ctx *ctx, const struct mx_primaries *pr,
		       const char (*self)[MXG_NAME_MAX], size_t n_self, const char *resolver,
		       const struct outcome *o)
{
	const struct mx_set *set = ctx->set;
	struct json_writer w;
	char a[INET6_ADDRSTRLEN];

	json_init(&w, stdout);
	json_object_begin(&w);
	json_key(&w, "domain");
	json_string(&w, set->domain);
	json_key(&w, "resolver");
	json_string(&w, resolver);
	json_key(&w, "self");
	json_array_begin(&w);
	for (size_t i = 0; i < n_self; i++)
		json_string(&w, self[i]);
	json_array_end(&w);
	json_key(&w, "mx_status");
	json_string(&w, mxg_mx_status_str(set->status));
	json_key(&w, "error");
	if (set->error[0])
		json_string(&w, set->error);
	else
		json_null(&w);
	json_key(&w, "ttl");
	json_uint(&w, set->ttl_s);
	json_key(&w, "pref_self");
	if (pr->pref_self >= 0)
		json_int(&w, pr->pref_self);
	else
		json_null(&w);
	json_key(&w, "hosts");
	json_array_begin(&w);
	for (size_t i = 0; i < set->n_hosts; i++) {
		const struct mx_host *h = &set->hosts[i];

		json_object_begin(&w);
		json_key(&w, "name");
		json_string(&w, h->name);
		json_key(&w, "pref");
		json_uint(&w, h->pref);
		json_key(&w, "role");
		json_string(&w, host_role(h, pr, self, n_self));
		json_key(&w, "address_status");
		json_string(&w, mxg_mx_status_str(h->addr_status));
		json_key(&w, "addresses");
		json_array_begin(&w);
		for (size_t j = 0; j < h->n_addrs; j++)
			json_string(&w, mxg_ip_str(&h->addrs[j], a, sizeof(a)));
		json_array_end(&w);
		json_object_end(&w);
	}
	json_array_end(&w);
	json_key(&w, "probes");
	json_array_begin(&w);
	for (size_t i = 0; i < ctx->n_items; i++) {
		const struct probe_item *it = &ctx->items[i];

		json_object_begin(&w);
		json_key(&w, "host");
		json_string(&w, it->host->name);
		json_key(&w, "address");
		json_string(&w, mxg_ip_str(&it->addr, a, sizeof(a)));
		json_key(&w, "result");
		json_string(&w, probe_result_str(it->rep.result));
		json_key(&w, "code");
		json_int(&w, it->rep.code);
		json_key(&w, "text");
		json_string(&w, it->rep.text);
		json_key(&w, "elapsed_ms");
		json_uint(&w, it->rep.elapsed_ms);
		json_object_end(&w);
	}
	json_array_end(&w);
	json_key(&w, "verdict");
	json_string(&w, verdict_names[o->verdict]);
	json_key(&w, "reason");
	json_string(&w, mxg_reason_token(o->reason));
	json_key(&w, "message");
	json_string(&w, o->message);
	json_object_end(&w);
	json_end(&w);
}

int do_probe(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"self", required_argument, NULL, 's'},
	    {"resolver", required_argument, NULL, 'r'},
	    {"timeout", required_argument, NULL, 't'},
	    {"tls", required_argument, NULL, 'T'},
	    {"tls-ca", required_argument, NULL, 'C'},
	    {"port", required_argument, NULL, 'p'}, /* hidden: tests */
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static char self[MXG_MAX_SELF][MXG_NAME_MAX];
	char domain[MXG_NAME_MAX], resolver_s[MXG_ADDRSTRLEN + 8], why[256];
	uint64_t ms;
	struct sockaddr_storage server;
	socklen_t server_len = 0;
	unsigned timeout_ms = MXG_DEFAULT_PROBE_TIMEOUT_MS; /* probe_timeout's default */
	unsigned long port = 25;
	size_t n_self = 0;
	bool json = false;
	struct probe_ctx *ctx = NULL;
	struct dns_resolver *res = NULL;
	struct mx_primaries pr;
	struct outcome o = {0};
	int c, ret = CLI_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "s:r:t:p:jhT:C:", opts, NULL)) != -1) {
		char *end;

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
		case 'p':
			errno = 0;
			port = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || port == 0 || port > 65535) {
				fprintf(stderr, "mxgate: probe: --port %s: not a port number\n",
					optarg);
				return CLI_USAGE;
			}
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

	mx_find_primaries(ctx->set, (const char(*)[MXG_NAME_MAX])self, n_self, &pr);
	if (pr.reason == MXG_REASON_NONE) {
		c = run_probes(ctx, &pr, self[0], timeout_ms, (uint16_t)port);
		if (c < 0) {
			fprintf(stderr, "mxgate: %s: probing failed: %s\n", domain, strerror(-c));
			goto out;
		}
	}
	decide(ctx, &pr, (const char(*)[MXG_NAME_MAX])self, n_self, &o);
	if (json)
		print_json(ctx, &pr, (const char(*)[MXG_NAME_MAX])self, n_self, resolver_s, &o);
	else
		print_text(ctx, &pr, (const char(*)[MXG_NAME_MAX])self, n_self, resolver_s, &o);
	if (o.reason == MXG_REASON_SELF_NOT_IN_MX || o.reason == MXG_REASON_PRIMARY_IS_SELF)
		fprintf(stderr, "mxgate: %s: %s\n", domain, o.message);
	ret = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
out:
	dns_resolver_free(res);
	if (ctx) {
		ev_loop_free(ctx->loop);
		free(ctx->set);
	}
	free(ctx);
	return ret;
}
