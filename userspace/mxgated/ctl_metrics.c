// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket's "metrics" request: mxgated's own counters and
 * states as Prometheus text, which `mxgate metrics` prints next to what it
 * reads from the pinned maps (families never overlap).
 */
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>

#include "controller.h"
#include "ctl_responder.h"
#include "reason.h"
#include "prom.h"
#include "reason.h"

static void write_metrics(const struct controller *c, FILE *f)
{
	char l[600], a[MXG_ADDRSTRLEN];
	struct ifaddrs *ifa;
	struct responder_counts rc;
	struct ctl_pass_stats ps;

	prom_family(f, "mxgate_up", "gauge", "1 when mxgated answers on its control socket.");
	prom_u64(f, "mxgate_up", NULL, 1);
	prom_family(f, "mxgate_uptime_seconds", "gauge", "Seconds since mxgated started.");
	prom_double(f, "mxgate_uptime_seconds", NULL,
		    (double)(ev_now_ms() - c->started_ms) / 1000.0);

	{
		struct ev_stall st;

		ev_loop_stall(c->loop, &st);
		prom_family(f, "mxgate_loop_stall_max_seconds", "gauge",
			    "The longest the event loop was busy between two waits, since start.");
		prom_double(f, "mxgate_loop_stall_max_seconds", NULL, (double)st.max_ns / 1e9);
		prom_family(f, "mxgate_loop_stall_max_cpu_seconds", "gauge",
			    "The most CPU time one event loop iteration used, since start (the "
			    "wall time above also counts other processes on a busy host).");
		prom_double(f, "mxgate_loop_stall_max_cpu_seconds", NULL,
			    (double)st.max_cpu_ns / 1e9);
		prom_family(f, "mxgate_loop_stalls_total", "counter",
			    "Event loop iterations busy for more than 100 ms.");
		prom_u64(f, "mxgate_loop_stalls_total", NULL, st.slow);
		prom_family(f, "mxgate_loop_stall_callback_info", "gauge",
			    "The callbacks (file:function) that took the most of the longest "
			    "iteration and of the one that used most CPU.");
		prom_u64(f, "mxgate_loop_stall_callback_info",
			 prom_labels(l, sizeof(l), 2, "longest", st.max_cb ? st.max_cb : "none",
				     "most_cpu", st.max_cpu_cb ? st.max_cpu_cb : "none"),
			 1);
	}
	prom_family(f, "mxgate_probe_rounds_total", "counter", "Probe rounds completed.");
	prom_u64(f, "mxgate_probe_rounds_total", NULL, c->cnt.rounds);
	prom_family(f, "mxgate_probes_total", "counter", "Probes of primary addresses, by result.");
	for (unsigned r = 0; r < CTL_PROBE_RESULTS; r++)
		prom_u64(f, "mxgate_probes_total",
			 prom_labels(l, sizeof(l), 1, "result", probe_result_str(r)),
			 c->cnt.probes[r]);
	prom_family(f, "mxgate_state_transitions_total", "counter", "Domain state changes.");
	prom_u64(f, "mxgate_state_transitions_total", NULL, c->cnt.transitions);

	{
		uint64_t by[MXG_DOMAIN_STATES] = {0}, in_grace = 0, no_quorum = 0, unverified = 0;

		for (size_t i = 0; i < c->n_domains; i++) {
			if (c->domains[i]->ds.state < MXG_DOMAIN_STATES)
				by[c->domains[i]->ds.state]++;
			in_grace += ds_in_reject_grace(&c->domains[i]->ds);
			no_quorum += c->domains[i]->ds.reason == MXG_REASON_QUORUM;
			unverified += c->domains[i]->ds.reason == MXG_REASON_QUORUM_UNVERIFIED;
		}
		/* Always both series: an alert on unverified must see its 0. */
		prom_family(f, "mxgate_domains_quorum_open", "gauge",
			    "Domains this edge would gate that are open for the quorum: too few "
			    "edges see the primary up (quorum), or the other edges' verdicts "
			    "cannot be read (quorum_unverified).");
		prom_u64(f, "mxgate_domains_quorum_open",
			 prom_labels(l, sizeof(l), 1, "reason", "quorum"), no_quorum);
		prom_u64(f, "mxgate_domains_quorum_open",
			 prom_labels(l, sizeof(l), 1, "reason", "quorum_unverified"), unverified);
		prom_family(f, "mxgate_domains_reject_grace", "gauge",
			    "Gated reply = reject domains answering 451, not 551, because a "
			    "primary failed a round less than reject_grace ago.");
		prom_u64(f, "mxgate_domains_reject_grace", NULL, in_grace);
		prom_family(f, "mxgate_domains", "gauge", "Served domains by state.");
		for (unsigned s = 0; s < MXG_DOMAIN_STATES; s++)
			prom_u64(f, "mxgate_domains",
				 prom_labels(l, sizeof(l), 1, "state", mxg_domain_state_str(s)),
				 by[s]);
	}
	/* Per domain only up to CTL_METRICS_DOMAINS_MAX: 100,000 domains
	 * would be 300,000 series per scrape; mxgate_domains counts them. */
	prom_family(f, "mxgate_domain_state", "gauge",
		    "1 for the state each served domain is in (gated, open, unknown), else 0.");
	for (size_t i = 0; c->n_domains <= CTL_METRICS_DOMAINS_MAX && i < c->n_domains; i++) {
		const struct ctl_domain *d = c->domains[i];

		for (unsigned s = 0; s < MXG_DOMAIN_STATES; s++)
			prom_u64(f, "mxgate_domain_state",
				 prom_labels(l, sizeof(l), 2, "domain", d->dcfg->name, "state",
					     mxg_domain_state_str(s)),
				 d->ds.state == s);
	}
	prom_family(f, "mxgate_address_gated", "gauge",
		    "1 when the gate address is gated, per mxgated.");
	for (size_t i = 0; i < c->n_addrs; i++)
		prom_u64(f, "mxgate_address_gated",
			 prom_labels(l, sizeof(l), 1, "address",
				     mxg_ip_str(&c->addrs[i].ip, a, sizeof(a))),
			 c->addrs[i].gated);
	prom_family(f, "mxgate_address_steered", "gauge",
		    "1 when new connections to the gate address reach the responder now: gated, "
		    "a responder ready and our filter deciding on its interface.");
	if (getifaddrs(&ifa) < 0)
		ifa = NULL;
	for (size_t i = 0; i < c->n_addrs; i++)
		prom_u64(f, "mxgate_address_steered",
			 prom_labels(l, sizeof(l), 1, "address",
				     mxg_ip_str(&c->addrs[i].ip, a, sizeof(a))),
			 c->addrs[i].gated &&
			     ctl_addr_steer(c, &c->addrs[i].ip, ifa) == CTL_STEER_YES);
	if (ifa)
		freeifaddrs(ifa);

	prom_family(f, "mxgate_responder_up", "gauge", "1 while the responder child runs.");
	prom_u64(f, "mxgate_responder_up", NULL, ctl_responder_alive(c));
	ctl_responder_counts(c, &rc);
	prom_family(f, "mxgate_responder_sessions_total", "counter",
		    "Connections the responder served with an SMTP session.");
	prom_u64(f, "mxgate_responder_sessions_total", NULL, rc.sessions);
	prom_family(f, "mxgate_responder_refused_total", "counter",
		    "Connections the responder refused at its limits (421 at once).");
	prom_u64(f, "mxgate_responder_refused_total", NULL, rc.refused);
	prom_family(f, "mxgate_responder_replies_total", "counter",
		    "Replies of the responder by code: every RCPT reply, and every 421.");
	for (unsigned i = 0; i < RESPONDER_CODES; i++)
		prom_u64(f, "mxgate_responder_replies_total",
			 prom_labels(l, sizeof(l), 1, "code", responder_code_str(i)),
			 rc.replies[i]);
	prom_family(f, "mxgate_responder_offenders_total", "counter",
		    "RCPTs answered 550 because the client was past offender_threshold.");
	prom_u64(f, "mxgate_responder_offenders_total", NULL, rc.offenders);
	prom_family(f, "mxgate_handoff_started_total", "counter",
		    "Handoffs to the MTA's handoff listener (a connection asked for).");
	prom_u64(f, "mxgate_handoff_started_total", NULL, rc.handoffs);
	prom_family(f, "mxgate_handoff_ok_total", "counter",
		    "Handoffs whose copy after the MTA's 354 ran to its end.");
	prom_u64(f, "mxgate_handoff_ok_total", NULL, rc.handoffs_done);
	prom_family(f, "mxgate_handoff_failed_total", "counter",
		    "Handoffs that failed, by why (the client got 451 4.4.1; copy: the session "
		    "closed during the message, without a 250).");
	for (unsigned i = 0; i < RESPONDER_HO_FAILS; i++)
		prom_u64(f, "mxgate_handoff_failed_total",
			 prom_labels(l, sizeof(l), 1, "reason", responder_ho_fail_str(i)),
			 rc.handoff_failed[i]);
	prom_family(f, "mxgate_handoff_bytes_total", "counter",
		    "Octets copied after the MTA's 354, by direction.");
	prom_u64(f, "mxgate_handoff_bytes_total",
		 prom_labels(l, sizeof(l), 1, "direction", "to_mta"), rc.handoff_bytes_to_mta);
	prom_u64(f, "mxgate_handoff_bytes_total",
		 prom_labels(l, sizeof(l), 1, "direction", "to_client"),
		 rc.handoff_bytes_to_client);
	ctl_fleet_metrics(c, f);
	ctl_passes_stats(c, &ps);
	prom_family(f, "mxgate_greylist_tuples", "gauge",
		    "Greylist tuples remembered (within greylist_window).");
	prom_u64(f, "mxgate_greylist_tuples", NULL, ps.tuples);
	prom_family(f, "mxgate_greylist_seen_total", "counter",
		    "Greylist tuples reported (responder and policy service).");
	prom_u64(f, "mxgate_greylist_seen_total", NULL, ps.tuples_seen);
	prom_family(f, "mxgate_greylist_early_total", "counter",
		    "Greylist tuples back before greylist_delay (not passed).");
	prom_u64(f, "mxgate_greylist_early_total", NULL, ps.early);
	prom_family(f, "mxgate_passes", "gauge", "Clients passed now (their SYNs reach the MTA).");
	prom_u64(f, "mxgate_passes", NULL, ps.passes);
	prom_family(f, "mxgate_passes_total", "counter", "Passes given, by why.");
	prom_u64(f, "mxgate_passes_total", prom_labels(l, sizeof(l), 1, "reason", "greylist"),
		 ps.passed[0]);
	prom_u64(f, "mxgate_passes_total", prom_labels(l, sizeof(l), 1, "reason", "recipient"),
		 ps.passed[1]);
	prom_family(f, "mxgate_greylist_dropped_total", "counter",
		    "New greylist tuples not remembered: their network (limit=\"network\": "
		    "IPv4 /24, IPv6 /48; limit=\"64\": IPv6 /64) held its share "
		    "(greylist_limit_network, greylist_limit_64); the RCPT still got 451.");
	prom_u64(f, "mxgate_greylist_dropped_total",
		 prom_labels(l, sizeof(l), 1, "limit", "network"), ps.tuples_dropped_network);
	prom_u64(f, "mxgate_greylist_dropped_total", prom_labels(l, sizeof(l), 1, "limit", "64"),
		 ps.tuples_dropped_64);
	prom_family(f, "mxgate_greylist_evicted_total", "counter",
		    "Greylist tuples within greylist_window pushed out of a full table.");
	prom_u64(f, "mxgate_greylist_evicted_total", NULL, ps.tuples_evicted);
	prom_family(f, "mxgate_passes_dropped_total", "counter",
		    "Passes not given: their network held its share (pass_limit_network, "
		    "pass_limit_64), or the table was full of passes an unproven one may not "
		    "push out; the client stays steered and gets its 4xx.");
	prom_u64(f, "mxgate_passes_dropped_total", prom_labels(l, sizeof(l), 1, "limit", "network"),
		 ps.passes_dropped_network);
	prom_u64(f, "mxgate_passes_dropped_total", prom_labels(l, sizeof(l), 1, "limit", "64"),
		 ps.passes_dropped_64);
	prom_u64(f, "mxgate_passes_dropped_total", prom_labels(l, sizeof(l), 1, "limit", "full"),
		 ps.passes_dropped_full);
	prom_family(f, "mxgate_passes_evicted_total", "counter",
		    "Passes pushed out to make room for another (never a proven pass for an "
		    "unproven one).");
	prom_u64(f, "mxgate_passes_evicted_total", NULL, ps.evicted);
	prom_family(f, "mxgate_pass_renewals_total", "counter",
		    "Pass renewals (a passed client seen delivering).");
	prom_u64(f, "mxgate_pass_renewals_total", NULL, ps.renewed);
	prom_family(f, "mxgate_allowlist_hits_total", "counter",
		    "Requests let through by an allowlist or a pass (policy service; responder "
		    "for pass_recipients).");
	prom_u64(f, "mxgate_allowlist_hits_total",
		 prom_labels(l, sizeof(l), 1, "list", "pass_clients"), ps.hits_clients);
	prom_u64(f, "mxgate_allowlist_hits_total",
		 prom_labels(l, sizeof(l), 1, "list", "pass_recipients"), ps.hits_recipients);
	prom_u64(f, "mxgate_allowlist_hits_total", prom_labels(l, sizeof(l), 1, "list", "passed"),
		 ps.hits_passed);
	prom_family(f, "mxgate_responder_restarts_total", "counter", "Responder restarts.");
	prom_u64(f, "mxgate_responder_restarts_total", NULL, c->cnt.responder_restarts);
	prom_family(f, "mxgate_responder_tables_sent_total", "counter",
		    "Domain tables sent to the responder: full, or same (unchanged since the "
		    "last full one, 16 octets).");
	prom_u64(f, "mxgate_responder_tables_sent_total",
		 prom_labels(l, sizeof(l), 1, "kind", "full"), c->cnt.responder_tables_full);
	prom_u64(f, "mxgate_responder_tables_sent_total",
		 prom_labels(l, sizeof(l), 1, "kind", "same"), c->cnt.responder_tables_same);
	prom_family(f, "mxgate_gate_errors_total", "counter", "Failed writes to the gate backend.");
	prom_u64(f, "mxgate_gate_errors_total", NULL, c->cnt.gate_errors);
	prom_family(f, "mxgate_gate_reattached_total", "counter",
		    "tc filters found removed (tc qdisc del, interface re-created) and attached "
		    "again.");
	prom_u64(f, "mxgate_gate_reattached_total", NULL, c->cnt.gate_reattached);
	prom_family(f, "mxgate_gate_unsteered_interfaces", "gauge",
		    "Configured interfaces without mxgate's tc filter: mail arriving there is "
		    "not gated.");
	prom_u64(f, "mxgate_gate_unsteered_interfaces", NULL,
		 c->gate && c->gops->unsteered ? c->gops->unsteered(c->gate) : 0);
	prom_family(f, "mxgate_gate_filters_ahead", "gauge",
		    "Foreign tc filters running before mxgate's on a configured interface's "
		    "ingress hook (see: tc filter show dev IF ingress); one that ends "
		    "classification keeps mail there ungated.");
	for (size_t i = 0; c->cfg && i < c->cfg->n_interfaces; i++)
		prom_u64(f, "mxgate_gate_filters_ahead",
			 prom_labels(l, sizeof(l), 1, "interface", c->cfg->interfaces[i]),
			 c->gate && c->gops->filters_ahead
			     ? c->gops->filters_ahead(c->gate, c->cfg->interfaces[i], NULL, NULL)
			     : 0);
	prom_family(f, "mxgate_dns_answers_total", "counter", "Usable MX lookups.");
	prom_u64(f, "mxgate_dns_answers_total", NULL, c->cnt.dns_answers);
	prom_family(f, "mxgate_dns_failures_total", "counter", "Failed MX lookups.");
	prom_u64(f, "mxgate_dns_failures_total", NULL, c->cnt.dns_failures);
	prom_family(f, "mxgate_dns_forged_answers_total", "counter",
		    "DNS answers dropped: wrong ID or question case on the query's own socket.");
	prom_u64(f, "mxgate_dns_forged_answers_total", NULL, ctl_dns_forged(c));
	if (c->dnsc) {
		struct dns_cache_stats ds;

		dns_cache_stats(c->dnsc, &ds);
		prom_family(f, "mxgate_dns_lookups_queued", "gauge",
			    "Domain lookups waiting for one of the running slots.");
		prom_u64(f, "mxgate_dns_lookups_queued", NULL, ds.queued);
		prom_family(f, "mxgate_dns_lookups_running", "gauge", "Domain lookups running.");
		prom_u64(f, "mxgate_dns_lookups_running", NULL, ds.inflight);
		prom_family(f, "mxgate_dns_host_cache_total", "counter",
			    "MX host address needs: from the cache (hit), a new lookup (miss), "
			    "or a lookup already running (joined).");
		prom_u64(f, "mxgate_dns_host_cache_total",
			 prom_labels(l, sizeof(l), 1, "result", "hit"), ds.host_hits);
		prom_u64(f, "mxgate_dns_host_cache_total",
			 prom_labels(l, sizeof(l), 1, "result", "miss"), ds.host_misses);
		prom_u64(f, "mxgate_dns_host_cache_total",
			 prom_labels(l, sizeof(l), 1, "result", "joined"), ds.host_joined);
		prom_family(f, "mxgate_dns_host_cache_entries", "gauge", "MX host names cached.");
		prom_u64(f, "mxgate_dns_host_cache_entries", NULL, ds.hosts);
		prom_family(f, "mxgate_mx_sets_stored", "gauge",
			    "Distinct MX sets stored (shared by domains with identical answers).");
		prom_u64(f, "mxgate_mx_sets_stored", NULL, mxs_store_count(c->params.store));
	}
	prom_family(f, "mxgate_reloads_total", "counter", "SIGHUP reloads, applied or refused.");
	prom_u64(f, "mxgate_reloads_total", prom_labels(l, sizeof(l), 1, "result", "applied"),
		 c->cnt.reloads);
	prom_u64(f, "mxgate_reloads_total", prom_labels(l, sizeof(l), 1, "result", "refused"),
		 c->cnt.reloads_refused);
}

void ctl_metrics(const struct controller *c, struct sbuf *out)
{
	FILE *f = sbuf_stream(out);

	if (!f)
		return;
	write_metrics(c, f);
	fclose(f);
}
