// SPDX-License-Identifier: GPL-2.0-only
/*
 * The answer to `status` and `status json` on the control socket: every
 * domain with its state, reason, primary, MX set and the last probe of each
 * primary address; every gate address; the counters. Names come from DNS,
 * so the text form passes them through log_printable() and the JSON form
 * through the escaping writer.
 */
#include "controller.h"
#include "ctl_responder.h"

#include <ifaddrs.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "json.h"
#include "log.h"
#include "reason.h"

static bool host_is_primary(const struct domain_state *d, size_t host)
{
	return d->pref_self >= 0 && d->set->hosts[host].pref < d->pref_self;
}

/* "1.5s", "3m2s": an age for people. */
static const char *ago(char *buf, size_t len, uint64_t now, uint64_t then)
{
	uint64_t ms = now > then ? now - then : 0;

	if (ms < 10000)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "s", ms / 1000, ms % 1000 / 100);
	else if (ms < 3600000)
		snprintf(buf, len, "%" PRIu64 "m%" PRIu64 "s", ms / 60000, ms / 1000 % 60);
	else
		snprintf(buf, len, "%" PRIu64 "h%" PRIu64 "m", ms / 3600000, ms / 60000 % 60);
	return buf;
}

static void text_domain(const struct controller *c, const struct ctl_domain *cd, uint64_t now,
			struct sbuf *o)
{
	const struct domain_state *d = &cd->ds;
	char name[300], t[32], a[MXG_ADDRSTRLEN];

	sbuf_printf(o, "domain %s: %s (%s) for %s", log_printable(name, sizeof(name), d->name, 256),
		    mxg_domain_state_str(d->state), mxg_reason_str(d->reason),
		    ago(t, sizeof(t), now, d->since_ms));
	if (d->primary[0])
		sbuf_printf(o, ", primary %s", log_printable(name, sizeof(name), d->primary, 256));
	if (d->grace_running && d->grace_until_ms > now)
		sbuf_printf(o, ", grace ends in %" PRIu64 "ms", d->grace_until_ms - now);
	if (ds_reject_grace_left(d, now))
		sbuf_printf(o, ", reject grace ends in %" PRIu64 "ms",
			    ds_reject_grace_left(d, now));
	sbuf_printf(o, "\n");
	if (d->dns_fail_since_ms)
		sbuf_printf(o, "  dns: failing for %s: %s\n",
			    ago(t, sizeof(t), now, d->dns_fail_since_ms),
			    d->dns_error[0] ? log_printable(name, sizeof(name), d->dns_error, 160)
					    : mxg_mx_status_str(d->dns_last));
	if (!d->set) {
		sbuf_printf(o, "  mx: no answer yet\n");
		return;
	}
	sbuf_printf(o, "  mx: %s, %u host(s), answer %s old, next lookup in %s\n",
		    mxg_mx_status_str(d->set->status), d->set->n_hosts,
		    ago(t, sizeof(t), now, d->set_ms),
		    cd->dns_next_ms > now ? ago(name, sizeof(name), cd->dns_next_ms, now) : "0s");
	for (size_t i = 0; i < d->set->n_hosts; i++) {
		const struct mxs_host *h = &d->set->hosts[i];

		sbuf_printf(o, "    %5u %s%s", h->pref,
			    log_printable(name, sizeof(name), h->name, 256),
			    ds_is_self(&c->params, h->name) ? " (self)"
			    : host_is_primary(d, i)	    ? " (primary)"
							    : "");
		for (size_t j = 0; j < h->n_addrs; j++)
			sbuf_printf(o, " %s", mxg_ip_str(&h->addrs[j], a, sizeof(a)));
		sbuf_printf(o, "\n");
	}
	for (size_t i = 0; i < d->n_addrs; i++) {
		const struct ds_addr *x = &d->addrs[i];

		sbuf_printf(o, "  probe %s (%s): %s", mxg_ip_str(&x->ip, a, sizeof(a)),
			    log_printable(name, sizeof(name), d->set->hosts[x->host].name, 256),
			    x->up ? "up" : "down");
		if (x->probed)
			sbuf_printf(o, ", last %s (code %d) %s ago, %u ok / %u failed in a row",
				    probe_result_str(x->last), x->last_code,
				    ago(t, sizeof(t), now, x->last_ms), x->ok_run, x->fail_run);
		else
			sbuf_printf(o, ", not probed yet");
		sbuf_printf(o, "\n");
	}
}

static const char *cb_name(const char *name)
{
	return name ? name : "none";
}

/* The loop's longest iterations and the callbacks they were spent in:
 * where a stall came from, for an operator (docs/controller.md). */
static void text_loop(const struct controller *c, struct sbuf *o)
{
	struct ev_stall st;

	ev_loop_stall(c->loop, &st);
	sbuf_printf(o,
		    "loop: longest iteration %.1f ms (wall; %.1f ms of it in %s), most CPU in "
		    "one %.1f ms (%.1f ms wall in %s), %" PRIu64 " of %" PRIu64 " over 100 ms\n",
		    st.max_ns / 1e6, st.max_cb_ns / 1e6, cb_name(st.max_cb), st.max_cpu_ns / 1e6,
		    st.max_cpu_cb_ns / 1e6, cb_name(st.max_cpu_cb), st.slow, st.iterations);
}

static void json_loop(const struct controller *c, struct json_writer *w)
{
	struct ev_stall st;

	ev_loop_stall(c->loop, &st);
	json_key(w, "loop");
	json_object_begin(w);
	json_kv_uint(w, "longest_us", st.max_ns / 1000);
	json_kv_str(w, "longest_callback", cb_name(st.max_cb));
	json_kv_uint(w, "longest_callback_us", st.max_cb_ns / 1000);
	json_kv_uint(w, "most_cpu_us", st.max_cpu_ns / 1000);
	json_kv_str(w, "most_cpu_callback", cb_name(st.max_cpu_cb));
	json_kv_uint(w, "most_cpu_callback_us", st.max_cpu_cb_ns / 1000);
	json_kv_uint(w, "over_100ms", st.slow);
	json_kv_uint(w, "iterations", st.iterations);
	json_object_end(w);
}

/* Before the domains (which come in parts: status_more). */
static void text_status(const struct controller *c, struct sbuf *o)
{
	uint64_t now = ev_now_ms();
	char t[32];

	sbuf_printf(o, "mxgated pid %d, up %s, gate %s, %zu domain(s), responder ", (int)getpid(),
		    ago(t, sizeof(t), now, c->started_ms), c->gops->name, c->n_domains);
	if (ctl_responder_alive(c))
		sbuf_printf(o, "pid %d\n", (int)ctl_responder_pid(c));
	else if (ctl_responder_child(c))
		sbuf_printf(o, "%s (pid %d, not serving)\n", ctl_responder_phase(c),
			    (int)ctl_responder_child(c));
	else
		sbuf_printf(o, "down (restarting)\n");
	text_loop(c, o);
}

/* After the last domain: addresses and counters. */
static void text_tail(const struct controller *c, struct sbuf *o)
{
	char a[MXG_ADDRSTRLEN];
	struct responder_counts rc;
	struct ctl_pass_stats ps;
	struct ifaddrs *ifa;

	if (!c->n_addrs)
		sbuf_printf(o, "no gate address yet\n");
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	for (size_t i = 0; i < c->n_addrs; i++) {
		/* The truth, not the verdict: without our filter nothing is
		 * steered, whatever the maps say. */
		enum ctl_steer s = ctl_addr_steer(c, &c->addrs[i].ip, ifa);

		sbuf_printf(o, "address %s: %s%s (%u domain(s))\n",
			    mxg_ip_str(&c->addrs[i].ip, a, sizeof(a)),
			    !c->addrs[i].gated	 ? "open"
			    : s == CTL_STEER_YES ? "gated"
						 : "open, not steered: ",
			    c->addrs[i].gated && s != CTL_STEER_YES ? ctl_steer_text(s) : "",
			    c->addrs[i].n_domains);
	}
	if (ifa)
		freeifaddrs(ifa);
	for (size_t i = 0; c->gate && c->gops->filters_ahead && i < c->cfg->n_interfaces; i++) {
		const char *ifn = c->cfg->interfaces[i], *kind = "";
		uint32_t pref = 0;
		unsigned n = c->gops->filters_ahead(c->gate, ifn, &pref, &kind);

		if (n)
			sbuf_printf(
			    o,
			    "interface %s: %u foreign tc filter(s) ahead of ours (the first: "
			    "%s at pref %u), mail may never reach our program; see: tc "
			    "filter show dev %s ingress\n",
			    ifn, n, kind, (unsigned)pref, ifn);
	}
	sbuf_printf(o, "counters: rounds %" PRIu64 ", probes", c->cnt.rounds);
	for (unsigned r = 0; r < CTL_PROBE_RESULTS; r++)
		sbuf_printf(o, " %s %" PRIu64, probe_result_str(r), c->cnt.probes[r]);
	sbuf_printf(o,
		    ", state changes %" PRIu64 ", responder restarts %" PRIu64
		    ", gate errors %" PRIu64 ", gate re-attached %" PRIu64 ", dns answers %" PRIu64
		    " failures %" PRIu64 ", reloads %" PRIu64 " refused %" PRIu64 "\n",
		    c->cnt.transitions, c->cnt.responder_restarts, c->cnt.gate_errors,
		    c->cnt.gate_reattached, c->cnt.dns_answers, c->cnt.dns_failures, c->cnt.reloads,
		    c->cnt.reloads_refused);
	ctl_responder_counts(c, &rc);
	sbuf_printf(o, "responder: sessions %" PRIu64 ", refused %" PRIu64 ", replies", rc.sessions,
		    rc.refused);
	for (unsigned i = 0; i < RESPONDER_CODES; i++)
		sbuf_printf(o, " %s %" PRIu64, responder_code_str(i), rc.replies[i]);
	sbuf_printf(o, ", offenders %" PRIu64 "\n", rc.offenders);
	if ((c->cfg && c->cfg->handoff_addr_len) || rc.handoffs) {
		sbuf_printf(o, "handoff: started %" PRIu64 ", ok %" PRIu64 ", failed", rc.handoffs,
			    rc.handoffs_done);
		for (unsigned i = 0; i < RESPONDER_HO_FAILS; i++)
			sbuf_printf(o, " %s %" PRIu64, responder_ho_fail_str(i),
				    rc.handoff_failed[i]);
		sbuf_printf(o, ", octets to the MTA %" PRIu64 ", to clients %" PRIu64 "\n",
			    rc.handoff_bytes_to_mta, rc.handoff_bytes_to_client);
	}
	ctl_passes_stats(c, &ps);
	sbuf_printf(o,
		    "greylist: %" PRIu64 " tuple(s), %" PRIu64 " seen, %" PRIu64
		    " back too early, %" PRIu64 " RCPT(s) greylisted\n"
		    "passes: %" PRIu64 " live; given greylist %" PRIu64 ", recipient %" PRIu64
		    "; renewed %" PRIu64 ", evicted %" PRIu64 "\n"
		    "allowlist hits: pass_clients %" PRIu64 ", pass_recipients %" PRIu64
		    ", passed clients %" PRIu64 " (policy service; the tc counters are in mxgate "
		    "dump)\n",
		    ps.tuples, ps.tuples_seen, ps.early, ps.greylisted, ps.passes, ps.passed[0],
		    ps.passed[1], ps.renewed, ps.evicted, ps.hits_clients, ps.hits_recipients,
		    ps.hits_passed);
	ctl_fleet_text(c, o);
	ctl_unserved_text(c, o, ev_now_ms());
}

static void json_domain(const struct controller *c, const struct ctl_domain *cd, uint64_t now,
			struct json_writer *w)
{
	const struct domain_state *d = &cd->ds;
	char a[MXG_ADDRSTRLEN];

	json_object_begin(w);
	json_kv_str(w, "name", d->name);
	json_kv_str(w, "state", mxg_domain_state_str(d->state));
	/* The same token and sentence as `mxgate probe --json` (reason.h). */
	json_kv_str(w, "reason", mxg_reason_token(d->reason));
	json_kv_str(w, "reason_text", mxg_reason_str(d->reason));
	json_kv_uint(w, "reason_code", d->reason);
	json_kv_str(w, "primary", d->primary);
	json_kv_uint(w, "since_ms_ago", now - d->since_ms);
	json_kv_bool(w, "recovery_grace_running", d->grace_running && d->grace_until_ms > now);
	json_kv_uint(w, "recovery_grace_left_ms",
		     d->grace_running && d->grace_until_ms > now ? d->grace_until_ms - now : 0);
	/* reply = reject answering 451 after a primary failure (the reason
	 * says reject_grace). reply is what RCPTs get now. */
	json_kv_str(w, "reply", reply_mode_name(ctl_domain_reply(c, cd)));
	json_kv_bool(w, "reject_grace_running", ds_in_reject_grace(d));
	json_kv_uint(w, "reject_grace_left_ms", ds_reject_grace_left(d, now));
	json_key(w, "dns");
	json_object_begin(w);
	/* No answer and no failure yet: say so, not the initial "ok". */
	json_kv_str(w, "last",
		    !d->set && !d->dns_fail_since_ms ? "pending" : mxg_mx_status_str(d->dns_last));
	json_kv_str(w, "error", d->dns_error);
	json_kv_uint(w, "failing_for_ms", d->dns_fail_since_ms ? now - d->dns_fail_since_ms : 0);
	if (d->set)
		json_kv_uint(w, "answer_age_ms", now - d->set_ms);
	json_kv_uint(w, "next_lookup_ms", cd->dns_next_ms > now ? cd->dns_next_ms - now : 0);
	json_object_end(w);

	json_key(w, "mx");
	json_array_begin(w);
	for (size_t i = 0; d->set && i < d->set->n_hosts; i++) {
		const struct mxs_host *h = &d->set->hosts[i];

		json_object_begin(w);
		json_kv_str(w, "host", h->name);
		json_kv_uint(w, "pref", h->pref);
		json_kv_bool(w, "self", ds_is_self(&c->params, h->name));
		json_kv_bool(w, "primary", host_is_primary(d, i));
		json_kv_ips(w, "addresses", h->addrs, h->n_addrs);
		json_object_end(w);
	}
	json_array_end(w);

	json_key(w, "probes");
	json_array_begin(w);
	for (size_t i = 0; i < d->n_addrs; i++) {
		const struct ds_addr *x = &d->addrs[i];

		json_object_begin(w);
		json_kv_str(w, "address", mxg_ip_str(&x->ip, a, sizeof(a)));
		json_kv_str(w, "host", d->set->hosts[x->host].name);
		json_kv_bool(w, "up", x->up);
		json_kv_uint(w, "ok_run", x->ok_run);
		json_kv_uint(w, "fail_run", x->fail_run);
		if (x->probed) {
			json_kv_str(w, "result", probe_result_str(x->last));
			json_kv_int(w, "code", x->last_code);
			json_kv_uint(w, "ms_ago", now - x->last_ms);
		} else {
			json_key(w, "result");
			json_null(w);
		}
		json_object_end(w);
	}
	json_array_end(w);
	json_object_end(w);
}

static void json_status(const struct controller *c, struct sbuf *o)
{
	uint64_t now = ev_now_ms();
	struct json_writer w;
	FILE *f = sbuf_stream(o);

	if (!f)
		return;
	json_init(&w, f);
	json_object_begin(&w);
	json_kv_int(&w, "pid", getpid());
	json_kv_uint(&w, "uptime_ms", now - c->started_ms);
	json_kv_str(&w, "gate", c->gops->name);
	json_key(&w, "responder");
	json_object_begin(&w);
	json_kv_bool(&w, "running", ctl_responder_alive(c));
	json_kv_int(&w, "pid", ctl_responder_pid(c));
	json_kv_str(&w, "state", ctl_responder_phase(c));
	json_kv_int(&w, "child", ctl_responder_child(c));
	json_object_end(&w);
	json_loop(c, &w);

	json_key(&w, "domains");
	json_array_begin(&w);
	/* The domains and the rest follow in parts (status_more). */
	fclose(f);
}

/* After the last domain: close the array, addresses and counters. The
 * writer is set up as it stood inside the top object's domains array. */
static void json_tail(const struct controller *c, struct sbuf *o)
{
	struct json_writer w;
	struct ifaddrs *ifa;
	struct responder_counts rc;
	struct ctl_pass_stats ps;
	char a[MXG_ADDRSTRLEN];
	FILE *f = sbuf_stream(o);

	if (!f)
		return;
	json_init(&w, f);
	w.depth = 2;
	w.need_comma[1] = true;
	w.need_comma[2] = true;
	json_array_end(&w);

	json_key(&w, "addresses");
	json_array_begin(&w);
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	for (size_t i = 0; i < c->n_addrs; i++) {
		enum ctl_steer s = ctl_addr_steer(c, &c->addrs[i].ip, ifa);
		bool steered = s == CTL_STEER_YES;

		json_object_begin(&w);
		json_kv_str(&w, "address", mxg_ip_str(&c->addrs[i].ip, a, sizeof(a)));
		/* gated: what really happens to a new connection; verdict:
		 * what the domain states decided; steered: a responder is
		 * ready and our filter is on the address's interface (steer:
		 * why not). */
		json_kv_bool(&w, "gated", c->addrs[i].gated && steered);
		json_kv_bool(&w, "verdict", c->addrs[i].gated);
		json_kv_bool(&w, "steered", steered);
		json_kv_str(&w, "steer", ctl_steer_token(s));
		json_kv_uint(&w, "domains", c->addrs[i].n_domains);
		json_object_end(&w);
	}
	if (ifa)
		freeifaddrs(ifa);
	json_array_end(&w);

	/* Per configured interface: is our filter there, and does another
	 * filter run before it (filters_ahead > 0: ours may never run). */
	json_key(&w, "interfaces");
	json_array_begin(&w);
	for (size_t i = 0; c->cfg && i < c->cfg->n_interfaces; i++) {
		const char *ifn = c->cfg->interfaces[i], *kind = "";
		uint32_t pref = 0;
		unsigned n = c->gate && c->gops->filters_ahead
				 ? c->gops->filters_ahead(c->gate, ifn, &pref, &kind)
				 : 0;

		json_object_begin(&w);
		json_kv_str(&w, "name", ifn);
		json_kv_bool(&w, "filter",
			     c->gate && (!c->gops->steers || c->gops->steers(c->gate, ifn)));
		json_kv_uint(&w, "filters_ahead", n);
		if (n) {
			json_kv_uint(&w, "ahead_pref", pref);
			json_kv_str(&w, "ahead_kind", kind);
		}
		json_object_end(&w);
	}
	json_array_end(&w);

	json_key(&w, "counters");
	json_object_begin(&w);
	json_kv_uint(&w, "rounds", c->cnt.rounds);
	json_key(&w, "probes");
	json_object_begin(&w);
	for (unsigned r = 0; r < CTL_PROBE_RESULTS; r++)
		json_kv_uint(&w, probe_result_str(r), c->cnt.probes[r]);
	json_object_end(&w);
	json_kv_uint(&w, "state_changes", c->cnt.transitions);
	json_kv_uint(&w, "responder_restarts", c->cnt.responder_restarts);
	json_kv_uint(&w, "gate_errors", c->cnt.gate_errors);
	json_kv_uint(&w, "gate_reattached", c->cnt.gate_reattached);
	json_kv_uint(&w, "dns_answers", c->cnt.dns_answers);
	json_kv_uint(&w, "dns_failures", c->cnt.dns_failures);
	json_kv_uint(&w, "reloads", c->cnt.reloads);
	json_kv_uint(&w, "reloads_refused", c->cnt.reloads_refused);
	ctl_responder_counts(c, &rc);
	json_key(&w, "responder");
	json_object_begin(&w);
	json_kv_uint(&w, "sessions", rc.sessions);
	json_kv_uint(&w, "refused", rc.refused);
	json_key(&w, "replies");
	json_object_begin(&w);
	for (unsigned i = 0; i < RESPONDER_CODES; i++)
		json_kv_uint(&w, responder_code_str(i), rc.replies[i]);
	json_object_end(&w);
	json_kv_uint(&w, "offenders", rc.offenders);
	json_key(&w, "handoff");
	json_object_begin(&w);
	json_kv_uint(&w, "started", rc.handoffs);
	json_kv_uint(&w, "ok", rc.handoffs_done);
	json_key(&w, "failed");
	json_object_begin(&w);
	for (unsigned i = 0; i < RESPONDER_HO_FAILS; i++)
		json_kv_uint(&w, responder_ho_fail_str(i), rc.handoff_failed[i]);
	json_object_end(&w);
	json_kv_uint(&w, "bytes_to_mta", rc.handoff_bytes_to_mta);
	json_kv_uint(&w, "bytes_to_client", rc.handoff_bytes_to_client);
	json_object_end(&w);
	json_object_end(&w);
	ctl_passes_stats(c, &ps);
	json_key(&w, "greylist");
	json_object_begin(&w);
	json_kv_uint(&w, "tuples", ps.tuples);
	json_kv_uint(&w, "seen", ps.tuples_seen);
	json_kv_uint(&w, "early", ps.early);
	json_kv_uint(&w, "greylisted", ps.greylisted);
	json_object_end(&w);
	json_key(&w, "passes");
	json_object_begin(&w);
	json_kv_uint(&w, "live", ps.passes);
	json_kv_uint(&w, "greylist", ps.passed[0]);
	json_kv_uint(&w, "recipient", ps.passed[1]);
	json_kv_uint(&w, "renewed", ps.renewed);
	json_kv_uint(&w, "evicted", ps.evicted);
	json_object_end(&w);
	json_key(&w, "allowlist_hits");
	json_object_begin(&w);
	json_kv_uint(&w, "pass_clients", ps.hits_clients);
	json_kv_uint(&w, "pass_recipients", ps.hits_recipients);
	json_kv_uint(&w, "passed", ps.hits_passed);
	json_object_end(&w);
	ctl_fleet_json(c, &w);
	ctl_quorum_json(c, &w);
	json_object_end(&w);
	ctl_unserved_json(c, &w, ev_now_ms());
	json_object_end(&w);
	json_end(&w);
	fclose(f);
}

#define STATUS_PART 64 /* domains per part of a streamed status */

/* "status[ json] DOMAIN": one domain, found by binary search. */
static void one_domain(const struct controller *c, const char *name, bool json, struct sbuf *o)
{
	char key[MXG_NAME_MAX], shown[300];
	size_t n = strnlen(name, sizeof(key));
	struct ctl_domain *cd;

	if (n && name[n - 1] == '.')
		n--;
	if (n >= sizeof(key)) {
		sbuf_printf(o, "error: not a domain name\n");
		return;
	}
	for (size_t i = 0; i < n; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[n] = '\0';
	cd = ctl_find_domain(c, key);
	if (!cd) {
		sbuf_printf(o, "error: %s is not a served domain\n",
			    log_printable(shown, sizeof(shown), key, 256));
		return;
	}
	ctl_domain_catch_up(cd);
	if (!json) {
		text_domain(c, cd, ev_now_ms(), o);
		return;
	}
	{
		struct json_writer w;
		FILE *f = sbuf_stream(o);

		if (!f)
			return;
		json_init(&w, f);
		json_domain(c, cd, ev_now_ms(), &w);
		json_end(&w);
		fclose(f);
	}
}

/* The full status, after its head: STATUS_PART domains per call, then
 * the tail. *cursor is the next domain; a reload in between may shift
 * the list (a domain shown twice or skipped), never past its end. */
static bool status_more(void *arg, const char *request, uint64_t *cursor, struct sbuf *out)
{
	const struct controller *c = arg;
	bool json = !strcmp(request, "status json");
	uint64_t now = ev_now_ms();
	size_t i = (size_t)*cursor, end;

	if (strcmp(request, "status") && !json)
		return false;
	end = i + STATUS_PART < c->n_domains ? i + STATUS_PART : c->n_domains;
	if (json && i < end) {
		struct json_writer w;
		FILE *f = sbuf_stream(out);

		if (!f)
			return false;
		json_init(&w, f);
		w.depth = 2; /* inside the top object's domains array */
		w.need_comma[1] = true;
		w.need_comma[2] = i > 0;
		for (; i < end; i++) {
			ctl_domain_catch_up(c->domains[i]);
			json_domain(c, c->domains[i], now, &w);
		}
		fclose(f);
	}
	for (; i < end; i++) {
		ctl_domain_catch_up(c->domains[i]);
		text_domain(c, c->domains[i], now, out);
	}
	*cursor = i;
	if (i < c->n_domains)
		return true;
	if (json)
		json_tail(c, out);
	else
		text_tail(c, out);
	return false;
}

void ctl_status_start(struct controller *c)
{
	control_set_more(c->control, status_more);
}

void ctl_status(void *arg, const char *request, struct sbuf *out)
{
	const struct controller *c = arg;

	if (!strcmp(request, "status"))
		text_status(c, out);
	else if (!strcmp(request, "status json"))
		json_status(c, out);
	else if (!strncmp(request, "status json ", 12))
		one_domain(c, request + 12, true, out);
	else if (!strncmp(request, "status ", 7))
		one_domain(c, request + 7, false, out);
	else if (!strcmp(request, "metrics"))
		ctl_metrics(c, out);
	else if (!strcmp(request, "offenders"))
		ctl_offenders_list(c, out);
	else
		sbuf_printf(out, "error: unknown request; send \"status [DOMAIN]\", \"status json "
				 "[DOMAIN]\", \"metrics\" or \"offenders\"\n");
}
