// SPDX-License-Identifier: GPL-2.0-only
/*
 * What `mxgate probe` prints: the MX set, one line per probed address and
 * the verdict, as text or as one JSON object (docs/probe-and-dns.md).
 * The verdict's reason comes from reason.h, the table `mxgate status`
 * uses, so both say the same token and sentence for the same situation.
 */
#include "cli_probe.h"

#include <stdarg.h>
#include <stdio.h>

#include "json.h"
#include "reason.h"

/* "gate", "open" or "unknown": the verdict word for ds->state. */
static const char *cli_probe_verdict(const struct domain_state *ds)
{
	/* The command's documented word for gated; open and unknown are the
	 * daemon's state names. */
	return ds->state == MXG_DOMAIN_GATED ? "gate" : mxg_domain_state_str(ds->state);
}

static const char *host_role(const struct cli_probe_view *v, const struct mx_host *h)
{
	if (mx_host_is_self(h->name, v->self, v->n_self))
		return "self";
	if (v->pr->pref_self >= 0 && h->pref < v->pr->pref_self)
		return "primary";
	return "backup";
}

/* Appends to buf at *off, never past len. */
static void add(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

/* The first probed address with this result, or NULL. */
static const struct cli_probe_item *item_with(const struct cli_probe_view *v, enum probe_result r)
{
	for (size_t i = 0; i < v->n_items; i++)
		if (v->items[i].rep.result == r)
			return &v->items[i];
	return NULL;
}

void cli_probe_message(const struct cli_probe_view *v, char *buf, size_t len)
{
	const struct domain_state *ds = v->ds;
	const struct cli_probe_item *it;
	char a[MXG_ADDRSTRLEN];
	size_t off = 0;

	add(buf, len, &off, "%s", mxg_reason_str(ds->reason));
	switch (ds->reason) {
	case MXG_REASON_PRIMARY_UP:
		/* The primary the daemon names: its first up address. */
		for (size_t i = 0; i < ds->n_addrs; i++) {
			if (!ds->addrs[i].up)
				continue;
			add(buf, len, &off, ": %s %s accepts mail",
			    ds->set->hosts[ds->addrs[i].host].name,
			    mxg_ip_str(&ds->addrs[i].ip, a, sizeof(a)));
			break;
		}
		break;
	case MXG_REASON_PRIMARY_DOWN:
		add(buf, len, &off, ": no address of %zu primar%s accepted the probe",
		    ds->n_primaries, ds->n_primaries == 1 ? "y" : "ies");
		break;
	case MXG_REASON_PRIMARY_IS_SELF:
		/* Senders trying it reach us: refusing them would bounce. */
		it = item_with(v, PROBE_SELF);
		if (it)
			add(buf, len, &off, ": %s %s; fix its DNS records (or `self`)", it->host,
			    mxg_ip_str(&it->addr, a, sizeof(a)));
		break;
	case MXG_REASON_SELF_NOT_IN_MX:
		add(buf, len, &off, ": none of");
		for (size_t i = 0; i < v->n_self; i++)
			add(buf, len, &off, " %s", v->self[i]);
		add(buf, len, &off,
		    " is an MX host of %s; check --self (or `self` in the config) against the MX "
		    "records",
		    v->set->domain);
		break;
	case MXG_REASON_NO_PRIMARY:
		add(buf, len, &off, " (%d)", v->pr->pref_self);
		break;
	case MXG_REASON_DNS_FAILED:
	case MXG_REASON_NXDOMAIN:
		add(buf, len, &off, ": %s", ds->dns_error[0] ? ds->dns_error : "no answer");
		break;
	default:
		break;
	}
}

void cli_probe_print_text(const struct cli_probe_view *v, const char *message)
{
	const struct mx_set *set = v->set;
	char a[MXG_ADDRSTRLEN];

	printf("domain %s: %s, TTL %us, resolver %s\n", set->domain, mxg_mx_status_str(set->status),
	       set->ttl_s, v->resolver);
	for (size_t i = 0; i < set->n_hosts; i++) {
		const struct mx_host *h = &set->hosts[i];

		printf("  MX %5u %-32s %-8s", h->pref, h->name, host_role(v, h));
		if (!h->n_addrs)
			printf(" (no address: %s)", mxg_mx_status_str(h->addr_status));
		for (size_t j = 0; j < h->n_addrs; j++)
			printf(" %s", mxg_ip_str(&h->addrs[j], a, sizeof(a)));
		printf("\n");
	}
	for (size_t i = 0; i < v->n_items; i++) {
		const struct cli_probe_item *it = &v->items[i];

		printf("probe %s %s: %s", it->host, mxg_ip_str(&it->addr, a, sizeof(a)),
		       probe_result_str(it->rep.result));
		if (it->rep.code)
			printf(" %d", it->rep.code);
		if (it->rep.text[0])
			printf(" \"%s\"", it->rep.text);
		printf(" (%llu ms)\n", (unsigned long long)it->rep.elapsed_ms);
	}
	printf("verdict: %s (%s)\n", cli_probe_verdict(v->ds), message);
}

static void json_hosts(struct json_writer *w, const struct cli_probe_view *v)
{
	json_key(w, "hosts");
	json_array_begin(w);
	for (size_t i = 0; i < v->set->n_hosts; i++) {
		const struct mx_host *h = &v->set->hosts[i];

		json_object_begin(w);
		json_kv_str(w, "name", h->name);
		json_kv_uint(w, "pref", h->pref);
		json_kv_str(w, "role", host_role(v, h));
		json_kv_str(w, "address_status", mxg_mx_status_str(h->addr_status));
		json_kv_ips(w, "addresses", h->addrs, h->n_addrs);
		json_object_end(w);
	}
	json_array_end(w);
}

static void json_probes(struct json_writer *w, const struct cli_probe_view *v)
{
	char a[MXG_ADDRSTRLEN];

	json_key(w, "probes");
	json_array_begin(w);
	for (size_t i = 0; i < v->n_items; i++) {
		const struct cli_probe_item *it = &v->items[i];

		json_object_begin(w);
		json_kv_str(w, "host", it->host);
		json_kv_str(w, "address", mxg_ip_str(&it->addr, a, sizeof(a)));
		json_kv_str(w, "result", probe_result_str(it->rep.result));
		json_key(w, "code");
		json_int(w, it->rep.code);
		json_kv_str(w, "text", it->rep.text);
		json_kv_uint(w, "elapsed_ms", it->rep.elapsed_ms);
		json_object_end(w);
	}
	json_array_end(w);
}

void cli_probe_print_json(const struct cli_probe_view *v, const char *message)
{
	const struct mx_set *set = v->set;
	struct json_writer w;

	json_init(&w, stdout);
	json_object_begin(&w);
	json_kv_str(&w, "domain", set->domain);
	json_kv_str(&w, "resolver", v->resolver);
	json_key(&w, "self");
	json_array_begin(&w);
	for (size_t i = 0; i < v->n_self; i++)
		json_string(&w, v->self[i]);
	json_array_end(&w);
	json_kv_str(&w, "mx_status", mxg_mx_status_str(set->status));
	json_key(&w, "error");
	if (set->error[0])
		json_string(&w, set->error);
	else
		json_null(&w);
	json_kv_uint(&w, "ttl", set->ttl_s);
	json_key(&w, "pref_self");
	if (v->pr->pref_self >= 0)
		json_int(&w, v->pr->pref_self);
	else
		json_null(&w);
	json_hosts(&w, v);
	json_probes(&w, v);
	json_kv_str(&w, "verdict", cli_probe_verdict(v->ds));
	/* As `mxgate status --json` says them: state, reason, reason_text. */
	json_kv_str(&w, "state", mxg_domain_state_str(v->ds->state));
	json_kv_str(&w, "reason", mxg_reason_token(v->ds->reason));
	json_kv_str(&w, "reason_text", mxg_reason_str(v->ds->reason));
	json_kv_str(&w, "message", message);
	json_object_end(&w);
	json_end(&w);
}
