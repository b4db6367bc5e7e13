// SPDX-License-Identifier: GPL-2.0-only
/*
 * `mxgate handoff-config [postfix|exim|opensmtpd] [-c FILE]`: the MTA's
 * side of the configured handoff (docs/responder.md, "Handoff"), as lines
 * to paste: a listener of its own that trusts the PROXY v2 header or
 * XCLIENT from the responder alone. Reads mxgate.conf only; changes
 * nothing. Lines that are not configuration start with '#', so the output
 * can be appended to master.cf as it is.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cli.h"
#include "config.h"

static const char usage_line[] =
    "usage: mxgate handoff-config [postfix|exim|opensmtpd] [-c FILE]\n";

/* unix:PATH for Postfix: a master.cf unix service lives in
 * $queue_directory/public/NAME (private = n) or private/NAME (y). */
static int postfix_unix(const char *path, const char *opts)
{
	const char *slash = strrchr(path, '/');
	size_t dir = slash ? (size_t)(slash - path) : 0;
	bool pub = dir >= 7 && !strncmp(path + dir - 7, "/public", 7);
	bool priv = dir >= 8 && !strncmp(path + dir - 8, "/private", 8);

	if (!slash || !slash[1] || (!pub && !priv)) {
		fprintf(stderr,
			"mxgate: handoff = unix:%s: Postfix makes a unix service's socket in its "
			"queue directory's public/ or private/ (e.g. "
			"unix:/var/spool/postfix/public/handoff); use such a path, or "
			"inet:127.0.0.1:PORT\n",
			path);
		return CLI_FAIL;
	}
	if (priv)
		printf("# private/ is postfix's alone (0700): mxgate's user cannot connect there; "
		       "prefer public/\n");
	printf("# master.cf: a service of its own; Postfix makes the socket %s\n"
	       "# (public/ is 0710 postfix:postdrop: mxgate's user must be able to reach it)\n"
	       "%s unix %s - n - - smtpd -o syslog_name=postfix/handoff %s\n",
	       path, slash + 1, priv ? "y" : "n", opts);
	return CLI_OK;
}

/* inet:HOST:PORT's host, brackets off; "" for unix:. The port or NULL. */
static const char *target_host(const struct mxg_config *cfg, char *host, size_t len)
{
	const char *hp = cfg->handoff + 5, *colon = strrchr(hp, ':');

	host[0] = '\0';
	if (strncmp(cfg->handoff, "inet:", 5) || !colon || (size_t)(colon - hp) >= len)
		return NULL;
	snprintf(host, len, "%.*s", (int)(colon - hp), hp);
	if (host[0] == '[') { /* [::1] */
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = '\0';
	}
	return colon + 1;
}

static int postfix(const struct mxg_config *cfg)
{
	char host[64], opts[128];
	int rc;

	/* Postfix sees a unix-domain client as 127.0.0.1. */
	target_host(cfg, host, sizeof(host));
	if (cfg->handoff_protocol)
		snprintf(opts, sizeof(opts), "-o smtpd_authorized_xclient_hosts=%s%s%s",
			 strchr(host, ':') ? "[" : "", host[0] ? host : "127.0.0.1",
			 strchr(host, ':') ? "]" : "");
	else
		snprintf(opts, sizeof(opts), "-o smtpd_upstream_proxy_protocol=haproxy");

	if (!strncmp(cfg->handoff, "unix:", 5)) {
		rc = postfix_unix(cfg->handoff + 5, opts);
	} else {
		printf("# master.cf: a listener of its own for the handoff\n"
		       "%s inet n - n - - smtpd -o syslog_name=postfix/handoff %s\n",
		       cfg->handoff + 5, opts);
		rc = CLI_OK;
	}
	if (rc == CLI_OK)
		printf("# main.cf: nothing to add. Never set %s in main.cf:\n"
		       "# on port 25 every client could then name its own address.\n"
		       "# Then: postfix reload\n",
		       cfg->handoff_protocol ? "smtpd_authorized_xclient_hosts"
					     : "smtpd_upstream_proxy_protocol");
	return rc;
}

/* Exim and OpenSMTPD: PROXY v2 on a loopback port; no XCLIENT, no unix. */
static int not_postfix(const struct mxg_config *cfg, bool exim)
{
	char host[64];
	const char *port = target_host(cfg, host, sizeof(host));

	if (cfg->handoff_protocol || !port) {
		fprintf(stderr,
			"mxgate: %s takes the handoff as PROXY v2 on a loopback TCP port only: set "
			"handoff = inet:127.0.0.1:PORT and handoff_protocol = proxy\n",
			exim ? "Exim" : "OpenSMTPD");
		return CLI_FAIL;
	}
	if (exim) {
		/* The connector's connection to any loopback address comes
		 * from 127.0.0.1 (::1): that is the host Exim must trust. */
		const char *from = strchr(host, ':') ? "::1" : "127.0.0.1";

		printf("# Exim (untested by mxgate's tests: Debian's exim4-daemon-light, built\n"
		       "# without SUPPORT_PROXY, refuses hosts_proxy as an unknown option; it\n"
		       "# needs an Exim whose `exim -bV` lists PROXY, e.g. exim4-daemon-heavy),\n"
		       "# main section: also listen on the handoff port, and expect the PROXY\n"
		       "# header from the responder's connections, which come from %s\n"
		       "# (Exim then expects it on every connection from %s: local\n"
		       "# programs must submit elsewhere)\n"
		       "daemon_smtp_ports = 25 : %s\n"
		       "hosts_proxy = <; %s\n"
		       "# local_interfaces, when set, must also list <; %s.%s\n",
		       from, from, port, from, host, port);
	} else {
		printf("# OpenSMTPD (tested with 6.8 by test 97-handoff-opensmtpd), smtpd.conf:\n"
		       "# a listener of its own for the handoff; the mail arriving there is\n"
		       "# matched as from its real sender (match from any ...), like port 25\n"
		       "listen on %s port %s proxy-v2\n",
		       !strcmp(host, "127.0.0.1") || !strcmp(host, "::1") ? "lo" : host, port);
	}
	return CLI_OK;
}

int do_handoff_config(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *path = MXG_DEFAULT_CONFIG, *mta = "postfix";
	struct mxg_config cfg;
	char err[512];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			printf("%s", usage_line);
			return CLI_OK;
		default:
			fprintf(stderr, "%s", usage_line);
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		mta = argv[optind++];
	if (optind != argc ||
	    (strcmp(mta, "postfix") && strcmp(mta, "exim") && strcmp(mta, "opensmtpd"))) {
		fprintf(stderr, "%s", usage_line);
		return CLI_USAGE;
	}
	memset(&cfg, 0, sizeof(cfg));
	if (config_load(path, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "mxgate: %s\n", err);
		config_free(&cfg);
		return CLI_FAIL;
	}
	if (!cfg.handoff_addr_len) {
		fprintf(stderr,
			"mxgate: %s: no handoff is set; set handoff = inet:127.0.0.1:10025 (or "
			"unix:PATH) and run this again\n",
			path);
		config_free(&cfg);
		return CLI_FAIL;
	}
	rc = !strcmp(mta, "postfix") ? postfix(&cfg) : not_postfix(&cfg, !strcmp(mta, "exim"));
	config_free(&cfg);
	return rc;
}
