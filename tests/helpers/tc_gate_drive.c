// SPDX-License-Identifier: GPL-2.0-only
/*
 * tc_gate_drive: drives the kernel gate by hand, without the daemon, for
 * the tests of the tc gate (30, 31, 83, 84, 89). A test helper, built by
 * make with the tests and never installed: the shipped `mxgate` has no
 * hidden commands. An administrator reads the gate with `mxgate dump`
 * and removes it with `mxgate unload`.
 *
 *   tc_gate_drive COMMAND ARGS...
 *   gate-attach --pin-dir D --iface IF...   load, pin, attach (tc backend open)
 *   gate-detach --pin-dir D --iface IF...   detach, unpin (close, detach)
 *   gate-set    --pin-dir D ADDR gated|open TTL      one gate entry
 *   gate-del    --pin-dir D ADDR                     remove one gate entry
 *   gate-domain --pin-dir D NAME gated|open|unknown PRIMARY TTL
 *   gate-round  --pin-dir D [--iface IF]... [ADDR=gated|open]... [--ttl TTL]
 *               one controller round: begin, set each, commit (which
 *               removes every entry not named), then exit leaving it all
 *
 * TTL: a number of seconds, or with a unit: 500ms, 30s, 5m, 1h; 0 writes
 * an entry that has already expired.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "config.h"
#include "event.h"
#include "gate.h"
#include "gate_maps.h"
#include "log.h"
#include "pins.h"
#include "reason.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 }; /* exit codes, as mxgate's */

struct gate_args {
	struct mxg_config cfg;
	uint64_t ttl_ms;
	int argc; /* positional arguments left */
	char **argv;
};

static int parse_ttl(const char *s, uint64_t *ms)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	if (!strcmp(end, "ms"))
		*ms = v;
	else if (!*end || !strcmp(end, "s"))
		*ms = v * 1000;
	else if (!strcmp(end, "m"))
		*ms = v * 60 * 1000;
	else if (!strcmp(end, "h"))
		*ms = v * 3600 * 1000;
	else
		return -EINVAL;
	return 0;
}

/* Common options; fills args->cfg by hand (no config file involved). */
static int parse_args(int argc, char **argv, struct gate_args *a, const char *usage)
{
	static const struct option opts[] = {
	    {"pin-dir", required_argument, NULL, 'p'},
	    {"iface", required_argument, NULL, 'i'},
	    {"ttl", required_argument, NULL, 't'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	snprintf(a->cfg.pin_dir, sizeof(a->cfg.pin_dir), "%s", MXG_DEFAULT_PIN_DIR);
	a->cfg.gate = MXG_GATE_TC;
	a->ttl_ms = 30000;
	while ((c = getopt_long(argc, argv, "p:i:t:", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (snprintf(a->cfg.pin_dir, sizeof(a->cfg.pin_dir), "%s", optarg) >=
			    (int)sizeof(a->cfg.pin_dir))
				goto usage;
			break;
		case 'i':
			if (a->cfg.n_interfaces >= MXG_MAX_INTERFACES ||
			    strlen(optarg) >= sizeof(a->cfg.interfaces[0]))
				goto usage;
			strcpy(a->cfg.interfaces[a->cfg.n_interfaces++], optarg);
			break;
		case 't':
			if (parse_ttl(optarg, &a->ttl_ms))
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	a->argc = argc - optind;
	a->argv = argv + optind;
	return 0;
usage:
	fprintf(stderr, "usage: tc_gate_drive %s %s\n", argv[0], usage);
	return -EINVAL;
}

static int open_map(const char *dir, const char *name)
{
	int fd = pins_open_one(dir, name);

	if (fd < 0)
		fprintf(stderr,
			"tc_gate_drive: open %s/%s: %s; attach first (tc_gate_drive gate-attach)\n",
			dir, name, strerror(-fd));
	return fd;
}

static int attach_or_detach(int argc, char **argv, bool detach)
{
	const char *usage = "--pin-dir DIR --iface IF [--iface IF]...";
	struct gate_args a;
	struct gate *g;
	char err[512] = "";
	int ret;

	if (parse_args(argc, argv, &a, usage) || a.argc)
		return CLI_USAGE;
	ret = gate_tc_ops.open(&g, &a.cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "tc_gate_drive: %s\n", err[0] ? err : strerror(-ret));
		return CLI_FAIL;
	}
	gate_tc_ops.close(g, detach);
	return CLI_OK;
}

static int do_gate_attach(int argc, char **argv)
{
	return attach_or_detach(argc, argv, false);
}

static int do_gate_detach(int argc, char **argv)
{
	return attach_or_detach(argc, argv, true);
}

static int parse_gated(const char *s, bool *gated)
{
	if (!strcmp(s, "gated"))
		*gated = true;
	else if (!strcmp(s, "open"))
		*gated = false;
	else
		return -EINVAL;
	return 0;
}

static int do_gate_set(int argc, char **argv)
{
	const char *usage = "--pin-dir DIR ADDR gated|open TTL";
	struct gate_args a;
	struct mxg_ip ip;
	bool gated;
	int fd, ret;

	if (parse_args(argc, argv, &a, usage))
		return CLI_USAGE;
	if (a.argc != 3 || mxg_ip_parse(a.argv[0], &ip) || parse_gated(a.argv[1], &gated) ||
	    parse_ttl(a.argv[2], &a.ttl_ms)) {
		fprintf(stderr, "usage: tc_gate_drive gate-set %s\n", usage);
		return CLI_USAGE;
	}
	fd = open_map(a.cfg.pin_dir, mxg_pin_names[MXG_PIN_GATE_MAP]);
	if (fd < 0)
		return CLI_FAIL;
	ret = gate_map_set_address(fd, &ip, gated, 1, a.ttl_ms);
	close(fd);
	if (ret) {
		fprintf(stderr, "tc_gate_drive: write gate entry %s: %s\n", a.argv[0],
			strerror(-ret));
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int do_gate_del(int argc, char **argv)
{
	const char *usage = "--pin-dir DIR ADDR";
	struct gate_args a;
	struct mxg_ip ip;
	int fd, ret;

	if (parse_args(argc, argv, &a, usage))
		return CLI_USAGE;
	if (a.argc != 1 || mxg_ip_parse(a.argv[0], &ip)) {
		fprintf(stderr, "usage: tc_gate_drive gate-del %s\n", usage);
		return CLI_USAGE;
	}
	fd = open_map(a.cfg.pin_dir, mxg_pin_names[MXG_PIN_GATE_MAP]);
	if (fd < 0)
		return CLI_FAIL;
	ret = gate_map_delete_address(fd, &ip);
	close(fd);
	if (ret) {
		fprintf(stderr, "tc_gate_drive: delete gate entry %s: %s\n", a.argv[0],
			strerror(-ret));
		return CLI_FAIL;
	}
	return CLI_OK;
}

static int do_gate_domain(int argc, char **argv)
{
	const char *usage = "--pin-dir DIR NAME gated|open|unknown PRIMARY TTL";
	struct gate_domain_view d = {0};
	struct gate_args a;
	int fd, ret;

	if (parse_args(argc, argv, &a, usage))
		return CLI_USAGE;
	if (a.argc != 4 || parse_ttl(a.argv[3], &a.ttl_ms))
		goto usage;
	d.name = a.argv[0];
	d.primary = strcmp(a.argv[2], "-") ? a.argv[2] : "";
	d.since_ns = ev_now_ns();
	if (!strcmp(a.argv[1], "gated")) {
		d.state = MXG_DOMAIN_GATED;
		d.reason = MXG_REASON_PRIMARY_UP;
	} else if (!strcmp(a.argv[1], "open")) {
		d.state = MXG_DOMAIN_OPEN;
		d.reason = MXG_REASON_PRIMARY_DOWN;
	} else if (!strcmp(a.argv[1], "unknown")) {
		d.state = MXG_DOMAIN_UNKNOWN;
		d.reason = MXG_REASON_DNS_PENDING;
	} else {
		goto usage;
	}
	fd = open_map(a.cfg.pin_dir, mxg_pin_names[MXG_PIN_DOMAINS_MAP]);
	if (fd < 0)
		return CLI_FAIL;
	ret = gate_map_set_domain(fd, &d, a.ttl_ms);
	close(fd);
	if (ret) {
		fprintf(stderr, "tc_gate_drive: write domain entry %s: %s\n", d.name,
			strerror(-ret));
		return CLI_FAIL;
	}
	return CLI_OK;
usage:
	fprintf(stderr, "usage: tc_gate_drive gate-domain %s\n", usage);
	return CLI_USAGE;
}

static int do_gate_round(int argc, char **argv)
{
	const char *usage = "--pin-dir DIR [--iface IF]... [--ttl TTL] [ADDR=gated|open]...";
	struct gate_args a;
	struct gate *g;
	char err[512] = "";
	int ret = 0;

	if (parse_args(argc, argv, &a, usage))
		return CLI_USAGE;
	ret = gate_tc_ops.open(&g, &a.cfg, err, sizeof(err));
	if (ret) {
		fprintf(stderr, "tc_gate_drive: %s\n", err[0] ? err : strerror(-ret));
		return CLI_FAIL;
	}
	gate_tc_ops.begin(g, true);
	for (int i = 0; i < a.argc && !ret; i++) {
		char addr[MXG_ADDRSTRLEN], *eq = strchr(a.argv[i], '=');
		struct mxg_ip ip;
		bool gated;

		if (!eq || (size_t)(eq - a.argv[i]) >= sizeof(addr)) {
			ret = -EINVAL;
			break;
		}
		memcpy(addr, a.argv[i], (size_t)(eq - a.argv[i]));
		addr[eq - a.argv[i]] = '\0';
		ret = mxg_ip_parse(addr, &ip);
		if (!ret)
			ret = parse_gated(eq + 1, &gated);
		if (!ret)
			ret = gate_tc_ops.set_address(g, &ip, gated, 1, a.ttl_ms);
	}
	if (ret == -EINVAL)
		fprintf(stderr, "usage: tc_gate_drive gate-round %s\n", usage);
	else if (ret)
		fprintf(stderr, "tc_gate_drive: write gate entry: %s\n", strerror(-ret));
	else
		ret = gate_tc_ops.commit(g);
	gate_tc_ops.close(g, false);
	return ret == -EINVAL ? CLI_USAGE : ret ? CLI_FAIL : CLI_OK;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
    {"gate-attach", do_gate_attach}, {"gate-detach", do_gate_detach}, {"gate-set", do_gate_set},
    {"gate-del", do_gate_del},	     {"gate-domain", do_gate_domain}, {"gate-round", do_gate_round},
};

int main(int argc, char **argv)
{
	log_init("tc_gate_drive", LOG_TO_STDERR, false);
	for (size_t i = 0; argc > 1 && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "usage: tc_gate_drive gate-attach|gate-detach|gate-set|gate-del|"
			"gate-domain|gate-round ARGS (see its source)\n");
	return CLI_USAGE;
}
