// SPDX-License-Identifier: GPL-2.0-only
/* The tc backend's metrics from its pinned maps; see tc_metrics.h. */
#include "tc_metrics.h"

#include <bpf/bpf.h>

#include "event.h"
#include "gate_kern.h"
#include "pins.h"
#include "prom.h"

static void tc_counters(FILE *f, const struct mxg_counters *k, uint64_t nft_steered, bool have_tc,
			bool have_nft)
{
	char l[128];

	if (!have_tc && !have_nft)
		return;
	prom_family(f, "mxgate_steered_connections_total", "counter",
		    "Connection-opening SYNs steered to the responder, by gate backend.");
	if (have_tc)
		prom_u64(f, "mxgate_steered_connections_total",
			 prom_labels(l, sizeof(l), 1, "gate", "tc"), k->steered);
	if (have_nft)
		prom_u64(f, "mxgate_steered_connections_total",
			 prom_labels(l, sizeof(l), 1, "gate", "nft"), nft_steered);
	if (!have_tc)
		return;
	prom_family(f, "mxgate_tc_syn_total", "counter", "TCP SYNs to port 25 the tc program saw.");
	prom_u64(f, "mxgate_tc_syn_total", NULL, k->syn25);
	prom_family(f, "mxgate_tc_passed_syn_total", "counter",
		    "Port-25 SYNs the tc program let through to the MTA, by reason "
		    "(unparsed: any packet whose headers it does not parse).");
	prom_u64(f, "mxgate_tc_passed_syn_total",
		 prom_labels(l, sizeof(l), 1, "reason", "no_entry"), k->pass_no_entry);
	prom_u64(f, "mxgate_tc_passed_syn_total", prom_labels(l, sizeof(l), 1, "reason", "open"),
		 k->pass_open);
	prom_u64(f, "mxgate_tc_passed_syn_total", prom_labels(l, sizeof(l), 1, "reason", "expired"),
		 k->pass_expired);
	prom_u64(f, "mxgate_tc_passed_syn_total",
		 prom_labels(l, sizeof(l), 1, "reason", "no_responder"), k->pass_no_responder);
	prom_u64(f, "mxgate_tc_passed_syn_total",
		 prom_labels(l, sizeof(l), 1, "reason", "assign_failed"), k->pass_assign_failed);
	prom_u64(f, "mxgate_tc_passed_syn_total",
		 prom_labels(l, sizeof(l), 1, "reason", "unparsed"), k->pass_unparsed);
	prom_u64(f, "mxgate_tc_passed_syn_total",
		 prom_labels(l, sizeof(l), 1, "reason", "existing"), k->pass_existing);
	prom_u64(f, "mxgate_tc_passed_syn_total",
		 prom_labels(l, sizeof(l), 1, "reason", "client_net"), k->pass_client_net);
	prom_u64(f, "mxgate_tc_passed_syn_total", prom_labels(l, sizeof(l), 1, "reason", "passed"),
		 k->pass_passed);
	prom_family(f, "mxgate_tc_ack_total", "counter",
		    "Bare ACKs to port 25 of a gated address with no socket of their own (the "
		    "ACK of a SYN cookie, or a stray one), and those steered to the responder's "
		    "listener, which checks the cookie.");
	prom_u64(f, "mxgate_tc_ack_total", prom_labels(l, sizeof(l), 1, "to", "no_socket"),
		 k->ack25);
	prom_u64(f, "mxgate_tc_ack_total", prom_labels(l, sizeof(l), 1, "to", "responder"),
		 k->ack_steered);
}

/* Gated and fresh pinned gate entries: how many. */
static unsigned long long gate_entries(FILE *f, int fd)
{
	struct mxg_gate_key key, next;
	struct mxg_gate_entry e;
	uint64_t now = ev_now_ns(), n[2][2] = {{0}};
	char l[160], a[MXG_ADDRSTRLEN];
	bool first = true;
	unsigned guard = 0;

	prom_family(f, "mxgate_gate_entry_expiry_seconds", "gauge",
		    "Seconds until each pinned gate entry expires (negative: expired, open).");
	while (guard++ < MXG_GATE_MAX_ADDRS &&
	       !bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		struct mxg_ip ip;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &e))
			continue;
		mxg_ip_from_gate_key(&key, &ip);
		prom_double(f, "mxgate_gate_entry_expiry_seconds",
			    prom_labels(l, sizeof(l), 1, "address", mxg_ip_str(&ip, a, sizeof(a))),
			    ((double)e.expires_ns - (double)now) / 1e9);
		n[e.state == MXG_GATE_GATED][e.expires_ns > now]++;
	}
	prom_family(f, "mxgate_gate_entries", "gauge",
		    "Pinned gate entries by state and freshness.");
	for (int s = 0; s < 2; s++)
		for (int fr = 0; fr < 2; fr++)
			prom_u64(f, "mxgate_gate_entries",
				 prom_labels(l, sizeof(l), 2, "state", s ? "gated" : "open",
					     "expired", fr ? "false" : "true"),
				 n[s][fr]);
	return n[1][1];
}

/* Domain states from the pinned map, when mxgated cannot be asked. A
 * domain entry outlives the gate's (CTL_DOMAIN_ENTRY_TTL_MS): once no gate
 * entry is gated and fresh, nothing is gated whatever the domain entries
 * say, so every domain is reported open (as its entry's own expiry did
 * when both lived state_ttl). */
static void pinned_domains(FILE *f, int fd, bool gate_alive)
{
	struct mxg_domain_key key, next;
	struct mxg_domain_entry e;
	uint64_t now = ev_now_ns();
	bool first = true;
	unsigned guard = 0;
	char l[600];

	prom_family(f, "mxgate_domain_state", "gauge",
		    "1 for the state each served domain is in (gated, open, unknown), else 0.");
	while (guard++ < MXG_MAX_DOMAINS && !bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		unsigned st;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &e))
			continue;
		key.name[sizeof(key.name) - 1] = '\0';
		/* A stale entry gates nothing: report it as open. */
		st = gate_alive && e.expires_ns > now ? gate_domain_state_from_kern(e.state)
						      : MXG_DOMAIN_OPEN;
		for (unsigned s = 0; s < MXG_DOMAIN_STATES; s++)
			prom_u64(f, "mxgate_domain_state",
				 prom_labels(l, sizeof(l), 2, "domain", key.name, "state",
					     mxg_domain_state_str(s)),
				 st == s);
	}
}

void tc_metrics_write(FILE *f, const char *pin_dir, bool domains, bool have_nft,
		      uint64_t nft_steered)
{
	struct mxg_pins pins = {-1, -1, -1, -1, -1, -1, -1};
	struct mxg_counters k = {0};
	unsigned long long gated = 0;
	bool have_tc = false;

	pins_libbpf_log_to_debug();
	if (pins_open(pin_dir, &pins) > 0 && pins.counters_fd >= 0)
		have_tc = !gate_map_read_counters(pins.counters_fd, &k);
	tc_counters(f, &k, nft_steered, have_tc, have_nft);
	if (pins.gate_fd >= 0)
		gated = gate_entries(f, pins.gate_fd);
	if (domains && pins.domains_fd >= 0)
		pinned_domains(f, pins.domains_fd, gated > 0);
	pins_close(&pins);
}
