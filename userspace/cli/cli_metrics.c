// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate metrics [--pin-dir DIR] [-s SOCKET]`: Prometheus text exposition
 * for node_exporter's textfile collector. The kernel side comes from the
 * pinned maps (tc) or mxgate's nft table, and works while mxgated is down;
 * mxgated's own counters and states come from its control socket
 * ("metrics" request) when it runs, else mxgate_up is 0.
 */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <getopt.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "config.h"
#include "event.h"
#include "gate_maps.h"
#include "mxgate_kern_user.h"
#include "nft_batch.h"
#include "pins.h"
#include "prom.h"
#include "reason.h"

#define METRICS_TIMEOUT_MS 5000	      /* the control socket exchange */
#define METRICS_MAX_ANSWER (4u << 20) /* bytes */

static const char usage_line[] = "usage: mxgate metrics [--pin-dir DIR] [-s SOCKET]\n";

/* mxgated's part, into a malloc'd string; NULL when it does not answer. */
static char *ask_daemon(const char *path)
{
	char *text, err[512];

	/* Silent: without the daemon, metrics still come from the pins. */
	if (cli_ask_daemon(path, "metrics\n", METRICS_TIMEOUT_MS, METRICS_MAX_ANSWER, &text, err,
			   sizeof(err)) < 0)
		return NULL;
	/* An older mxgated answers "error: unknown request". */
	if (strncmp(text, "# HELP ", 7)) {
		free(text);
		return NULL;
	}
	return text;
}

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

static void gate_entries(FILE *f, int fd)
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
}

/* Domain states from the pinned map, when mxgated cannot be asked. */
static void pinned_domains(FILE *f, int fd)
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
		st = e.expires_ns > now && e.state < MXG_DOMAIN_STATES ? e.state : MXG_DOMAIN_OPEN;
		for (unsigned s = 0; s < MXG_DOMAIN_STATES; s++)
			prom_u64(f, "mxgate_domain_state",
				 prom_labels(l, sizeof(l), 2, "domain", key.name, "state",
					     mxg_domain_state_str(s)),
				 st == s);
	}
}

int do_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pin-dir", required_argument, NULL, 'p'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *pin_dir = MXG_DEFAULT_PIN_DIR, *sock = MXG_DEFAULT_CONTROL_SOCKET;
	struct mxg_pins pins = {-1, -1, -1, -1, -1, -1, -1};
	struct mxg_counters k = {0};
	uint64_t nft_steered = 0;
	bool have_tc = false, have_nft = false;
	struct nft_conn nc;
	char *daemon;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "p:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pin_dir = optarg;
			break;
		case 's':
			sock = optarg;
			break;
		case 'h':
			fputs(usage_line, stdout);
			return CLI_OK;
		default:
			fputs(usage_line, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fputs(usage_line, stderr);
		return CLI_USAGE;
	}

	daemon = ask_daemon(sock);
	if (daemon) {
		fputs(daemon, stdout);
		free(daemon);
	} else {
		prom_family(stdout, "mxgate_up", "gauge",
			    "1 when mxgated answers on its control socket.");
		prom_u64(stdout, "mxgate_up", NULL, 0);
	}

	pins_libbpf_log_to_debug();
	if (pins_open(pin_dir, &pins) > 0 && pins.counters_fd >= 0)
		have_tc = !gate_map_read_counters(pins.counters_fd, &k);
	if (!nft_conn_open(&nc)) {
		have_nft = !nft_chain_packets(&nc, NFPROTO_INET, "mxgate", "steer", &nft_steered);
		nft_conn_close(&nc);
	}
	tc_counters(stdout, &k, nft_steered, have_tc, have_nft);
	if (pins.gate_fd >= 0)
		gate_entries(stdout, pins.gate_fd);
	if (!daemon && pins.domains_fd >= 0)
		pinned_domains(stdout, pins.domains_fd);
	pins_close(&pins);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "mxgate: writing the metrics: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	return CLI_OK;
}
