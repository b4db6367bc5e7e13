// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate metrics [--pin-dir DIR] [-s SOCKET]`: Prometheus text exposition
 * for node_exporter's textfile collector. The kernel side comes from the
 * pinned maps (tc) or mxgate's nft table, and works while mxgated is down;
 * mxgated's own counters and states come from its control socket
 * ("metrics" request) when it runs, else mxgate_up is 0.
 */
#include <arpa/inet.h>
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
#include "nft_batch.h"
#include "prom.h"
#include "tc_metrics.h"

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

int do_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"pin-dir", required_argument, NULL, 'p'},
	    {"socket", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *pin_dir = MXG_DEFAULT_PIN_DIR, *sock = MXG_DEFAULT_CONTROL_SOCKET;
	uint64_t nft_steered = 0;
	bool have_nft = false;
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

	if (!nft_conn_open(&nc)) {
		have_nft = !nft_chain_packets(&nc, NFPROTO_INET, "mxgate", "steer", &nft_steered);
		nft_conn_close(&nc);
	}
	tc_metrics_write(stdout, pin_dir, !daemon, have_nft, nft_steered);
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, "mxgate: writing the metrics: %s\n", strerror(errno));
		return CLI_FAIL;
	}
	return CLI_OK;
}
