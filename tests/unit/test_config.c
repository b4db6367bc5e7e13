// SPDX-License-Identifier: GPL-2.0-only
/* The config parser: every error class names file, line and key; defaults,
 * durations, lists, [domain] overrides and domains_file behave as
 * docs/mxgate.conf.example says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "config.h"
#include "config_pass.h"
#include "reply.h"

#define BASE "self = mx2.example.org\ndomains = example.org\ninterfaces = eth0\n"

static struct mxg_config cfg;
static char err[1024];
static char tmpdir[64];

static int load(const char *text)
{
	err[0] = '\0';
	return config_load_string("t.conf", text, &cfg, err, sizeof(err));
}

/* The load fails and the message starts with want ("t.conf:4: rise: "). */
static void expect_error(const char *text, const char *want)
{
	int r = load(text);

	if (r == 0 || strncmp(err, want, strlen(want))) {
		print_error("want an error starting \"%s\"\n got %s: \"%s\"\n", want,
			    r ? "error" : "success", err);
		fail();
	}
	assert_null(strchr(err, '\n'));
	assert_null(cfg.domains); /* freed on error */
}

static void expect_ok(const char *text)
{
	if (load(text)) {
		print_error("unexpected error: %s\n", err);
		fail();
	}
}

static const char *write_file(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
	return path;
}

static int setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/mxg-test-config-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static int free_cfg(void **state)
{
	config_free(&cfg);
	return 0;
}

static void test_defaults(void **state)
{
	const struct mxg_domain_config *d;

	expect_ok(BASE);
	assert_string_equal(cfg.path, "t.conf");
	assert_int_equal(cfg.n_self, 1);
	assert_string_equal(cfg.self[0], "mx2.example.org");
	assert_int_equal(cfg.n_domains, 1);
	assert_int_equal(cfg.gate, MXG_GATE_TC);
	assert_int_equal(cfg.probe_interval_ms, 10000);
	assert_int_equal(cfg.probe_timeout_ms, 5000);
	assert_int_equal(cfg.rise, 3);
	assert_int_equal(cfg.fall, 1);
	assert_int_equal(cfg.state_ttl_ms, 30000);
	assert_int_equal(cfg.recovery_grace_ms, 60000);
	assert_int_equal(cfg.dns_grace_ms, 3600000);
	assert_int_equal(cfg.reply, MXG_REPLY_GREYLIST);
	assert_string_equal(cfg.reply_text, MXG_DEFAULT_REPLY_TEXT);
	assert_int_equal(cfg.offender_threshold, 5);
	assert_int_equal(cfg.offender_window_ms, 60000);
	assert_int_equal(cfg.resolver_len, 0);
	assert_string_equal(cfg.helo_name, "mx2.example.org");
	assert_string_equal(cfg.user, "nobody");
	assert_string_equal(cfg.pin_dir, "/sys/fs/bpf/mxgate");
	assert_string_equal(cfg.control_socket, "/run/mxgate/control.sock");
	assert_string_equal(cfg.nft_family, "inet");
	assert_string_equal(cfg.nft_table, "");
	assert_string_equal(cfg.nft_set, "");
	assert_string_equal(cfg.policy_listen, "");
	assert_int_equal(cfg.policy_addr_len, 0);
	assert_int_equal(cfg.n_addresses, 0);
	assert_int_equal(cfg.max_connections, 1000);
	assert_int_equal(cfg.max_connections_per_client, 10);
	assert_int_equal(cfg.max_commands, 50);
	assert_int_equal(cfg.idle_timeout_ms, 30000);

	d = config_find_domain(&cfg, "example.org");
	assert_non_null(d);
	assert_int_equal(config_domain_reply(&cfg, d), MXG_REPLY_GREYLIST);
	assert_string_equal(config_domain_reply_text(&cfg, d), MXG_DEFAULT_REPLY_TEXT);
	assert_int_equal(config_domain_recovery_grace(&cfg, d), 60000);
}

static void test_full_config(void **state)
{
	const char *dfile = write_file("domains", "# served\n\nexample.com\n  Example.NET.  # x\n");
	char text[4096];
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg.resolver;
	struct sockaddr_in *pol = (struct sockaddr_in *)&cfg.policy_addr;

	snprintf(text, sizeof(text),
		 "# a full configuration\n"
		 "self = MX2.example.org. mx3.example.org\n"
		 "domains = example.org example.info\n"
		 "    example.biz\n"
		 "domains_file = %s\n"
		 "addresses = 192.0.2.20 2001:db8::20\n"
		 "interfaces = eth0 eth1\n"
		 "gate = nft\n"
		 "probe_interval = 20s\n"
		 "probe_timeout = 2500ms\n"
		 "rise = 5\n"
		 "fall = 2\n"
		 "state_ttl = 1m\n"
		 "recovery_grace = 5m\n"
		 "dns_grace = 2h\n"
		 "reply = defer\n"
		 "reply_text = %%d is served by %%p; 100%%%% sure ; really\n"
		 "offender_threshold = 0\n"
		 "offender_window = 1d\n"
		 "resolver = [2001:db8::53]:5353\n"
		 "helo_name = backup.example.org\n"
		 "user = mxgate\n"
		 "pin_dir = /run/mxg/bpf\n"
		 "control_socket = /run/mxg/control.sock\n"
		 "nft_table = ip6 filter\n"
		 "nft_set = mxgate_gated\n"
		 "policy_listen = inet:127.0.0.1:10040\n"
		 "policy_allow_local_inet = yes\n"
		 "max_connections = 500\n"
		 "max_connections_per_client = 5\n"
		 "max_commands = 20\n"
		 "idle_timeout = 10s\n"
		 "\n"
		 "[domain example.com]\n"
		 "reply = reject\n"
		 "reply_text = go to %%p\n"
		 "recovery_grace = 0\n",
		 dfile);
	expect_ok(text);
	assert_int_equal(cfg.n_self, 2);
	assert_string_equal(cfg.self[0], "mx2.example.org");
	assert_string_equal(cfg.self[1], "mx3.example.org");
	assert_int_equal(cfg.n_domains, 5);
	/* sorted */
	assert_string_equal(cfg.domains[0].name, "example.biz");
	assert_string_equal(cfg.domains[2].name, "example.info");
	assert_string_equal(cfg.domains[3].name, "example.net");
	assert_int_equal(cfg.n_addresses, 2);
	assert_int_equal(cfg.addresses[1].family, AF_INET6);
	assert_int_equal(cfg.n_interfaces, 2);
	assert_string_equal(cfg.interfaces[1], "eth1");
	assert_int_equal(cfg.gate, MXG_GATE_NFT);
	assert_int_equal(cfg.probe_interval_ms, 20000);
	assert_int_equal(cfg.probe_timeout_ms, 2500);
	assert_int_equal(cfg.rise, 5);
	assert_int_equal(cfg.fall, 2);
	assert_int_equal(cfg.state_ttl_ms, 60000);
	assert_int_equal(cfg.recovery_grace_ms, 300000);
	assert_int_equal(cfg.dns_grace_ms, 7200000);
	assert_int_equal(cfg.reply, MXG_REPLY_DEFER);
	/* Neither ";" nor "#" starts a comment after a value. */
	assert_string_equal(cfg.reply_text, "%d is served by %p; 100%% sure ; really");
	assert_int_equal(cfg.offender_threshold, 0);
	assert_int_equal(cfg.offender_window_ms, 86400000);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 5353);
	assert_int_equal(cfg.resolver_len, sizeof(struct sockaddr_in6));
	assert_string_equal(cfg.helo_name, "backup.example.org");
	assert_string_equal(cfg.user, "mxgate");
	assert_string_equal(cfg.pin_dir, "/run/mxg/bpf");
	assert_string_equal(cfg.control_socket, "/run/mxg/control.sock");
	assert_string_equal(cfg.nft_family, "ip6");
	assert_string_equal(cfg.nft_table, "filter");
	assert_string_equal(cfg.nft_set, "mxgate_gated");
	assert_string_equal(cfg.policy_listen, "inet:127.0.0.1:10040");
	assert_int_equal(pol->sin_family, AF_INET);
	assert_int_equal(ntohs(pol->sin_port), 10040);
	assert_int_equal(cfg.max_connections, 500);
	assert_int_equal(cfg.max_connections_per_client, 5);
	assert_int_equal(cfg.max_commands, 20);
	assert_int_equal(cfg.idle_timeout_ms, 10000);
	assert_string_equal(cfg.domains_file, dfile);
}

static void test_overrides(void **state)
{
	const struct mxg_domain_config *a, *b;

	expect_ok("self = mx2.example.org\ninterfaces = eth0\n"
		  "domains = example.net example.com\n"
		  "reply_text = primary: %p\n"
		  "\n[ domain   Example.NET. ]\n"
		  "reply = defer\n"
		  "recovery_grace = 2m\n"
		  "[domain example.com]\n"
		  "reply_text = %d lives at %p\n");
	a = config_find_domain(&cfg, "EXAMPLE.net.");
	b = config_find_domain(&cfg, "example.com");
	assert_non_null(a);
	assert_non_null(b);
	assert_null(config_find_domain(&cfg, "example.edu"));
	assert_null(config_find_domain(&cfg, ""));
	assert_int_equal(config_domain_reply(&cfg, a), MXG_REPLY_DEFER);
	assert_string_equal(config_domain_reply_text(&cfg, a), "primary: %p");
	assert_int_equal(config_domain_recovery_grace(&cfg, a), 120000);
	assert_int_equal(config_domain_reply(&cfg, b), MXG_REPLY_GREYLIST);
	assert_string_equal(config_domain_reply_text(&cfg, b), "%d lives at %p");
	assert_int_equal(config_domain_recovery_grace(&cfg, b), 60000);
	/* NULL (no such domain) means the global settings. */
	assert_string_equal(config_domain_reply_text(&cfg, NULL), "primary: %p");
}

static void test_durations(void **state)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t ms;
	} cases[] = {
	    {"500ms", 0, 500},
	    {"10s", 0, 10000},
	    {"5m", 0, 300000},
	    {"1h", 0, 3600000},
	    {"2d", 0, 172800000},
	    {"7", 0, 7000},
	    {"0", 0, 0},
	    {"366d", 0, 366ULL * 86400000},
	    {"", -EINVAL, 0},
	    {"s", -EINVAL, 0},
	    {"1.5s", -EINVAL, 0},
	    {"-1s", -EINVAL, 0},
	    {"10 s", -EINVAL, 0},
	    {"1w", -EINVAL, 0},
	    {"10S", -EINVAL, 0},
	    {"1h30m", -EINVAL, 0},
	    {"367d", -ERANGE, 0},
	    {"99999999999999999999", -ERANGE, 0},
	    {"18446744073709551615ms", -ERANGE, 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t ms = 12345;
		int r = config_parse_duration(cases[i].s, &ms);

		if (r != cases[i].ret || (r == 0 && ms != cases[i].ms)) {
			print_error("\"%s\": got %d %llu\n", cases[i].s, r, (unsigned long long)ms);
			fail();
		}
	}
}

static void test_unknown_key(void **state)
{
	expect_error(BASE "probe_intervall = 10s\n", "t.conf:4: probe_intervall: unknown key; ");
	expect_error(BASE "Rise = 3\n", "t.conf:4: Rise: unknown key; did you mean rise? ");
}

static void test_unknown_section(void **state)
{
	expect_error(BASE "[global]\nrise = 3\n", "t.conf:4: [global]: unknown section; ");
	/* Even an empty one, which inih would never report. */
	expect_error(BASE "\n[domains example.org]\n", "t.conf:5: [domains example.org]: unknown");
	expect_error(BASE "[domain]\n", "t.conf:4: [domain]: unknown section");
	expect_error(BASE "[domain a b]\n", "t.conf:4: [domain a b]: not a domain name");
}

static void test_syntax_error(void **state)
{
	expect_error(BASE "rise 3\n", "t.conf:4: syntax error; ");
	expect_error(BASE "[domain example.org\n", "t.conf:4: syntax error; ");
}

static void test_bad_duration(void **state)
{
	expect_error(BASE "probe_interval = 10x\n",
		     "t.conf:4: probe_interval: \"10x\" is not a duration; ");
	expect_error(BASE "dns_grace = 1.5h\n", "t.conf:4: dns_grace: \"1.5h\" is not a duration");
	expect_error(BASE "state_ttl = 99999999999999999999999s\n",
		     "t.conf:4: state_ttl: \"99999999999999999999999s\" is too long a duration; "
		     "use at most 1d");
	expect_error(BASE "dns_grace = 400d\n", "t.conf:4: dns_grace: \"400d\" is too long");
	expect_error(BASE "probe_interval = 500ms\n",
		     "t.conf:4: probe_interval: 500ms is out of range; use 1s to 1h");
	expect_error(BASE "idle_timeout = 2h\n", "t.conf:4: idle_timeout: 2h is out of range");
}

static void test_bad_number(void **state)
{
	expect_error(BASE "rise = x\n", "t.conf:4: rise: \"x\" is not a number; use a whole "
					"number from 1 to 100");
	expect_error(BASE "fall = 0\n", "t.conf:4: fall: 0 is out of range; ");
	/* The controller uses these as they are (no default at use). */
	expect_error(BASE "rise = 0\n", "t.conf:4: rise: 0 is out of range; ");
	expect_error(BASE "offender_window = 500ms\n",
		     "t.conf:4: offender_window: 500ms is out of range");
	expect_error(BASE "rise = 101\n", "t.conf:4: rise: 101 is out of range");
	expect_error(BASE "rise = -1\n", "t.conf:4: rise: \"-1\" is not a number");
	expect_error(BASE "rise = 3 rounds\n", "t.conf:4: rise: \"3 rounds\" is not a number");
	expect_error(BASE "rise = 99999999999x\n",
		     "t.conf:4: rise: \"99999999999x\" is not a number");
	expect_error(BASE "max_commands = 99999999999999999999999\n",
		     "t.conf:4: max_commands: 99999999999999999999999 is out of range");
	expect_error(BASE "max_connections = 10\nmax_connections_per_client = 20\n",
		     "t.conf:5: max_connections_per_client: exceeds max_connections (10)");
	/* The responder uses these as they are (no default at use): 0 or
	 * empty never gets through. */
	expect_error(BASE "max_connections = 0\n", "t.conf:4: max_connections: 0 is out of range");
	expect_error(BASE "max_connections_per_client = 0\n",
		     "t.conf:4: max_connections_per_client: 0 is out of range");
	expect_error(BASE "max_connections_per_network = 0\n",
		     "t.conf:4: max_connections_per_network: 0 is out of range");
	expect_error(BASE "idle_timeout = 0\n", "t.conf:4: idle_timeout: 0 is out of range");
	expect_error(BASE "session_timeout = 0s\n",
		     "t.conf:4: session_timeout: 0s is out of range");
	expect_error(BASE "user =\n", "t.conf:4: user: ");
	expect_error(BASE "control_socket =\n", "t.conf:4: control_socket: ");
}

static void test_bad_enum(void **state)
{
	expect_error(BASE "gate = ebpf\n", "t.conf:4: gate: \"ebpf\" is not one of: tc, nft, none");
	expect_error(BASE "reply = bounce\n",
		     "t.conf:4: reply: \"bounce\" is not one of: reject, defer");
	expect_error(BASE "reply = Reject\n", "t.conf:4: reply: \"Reject\" is not one of");
}

static void test_bad_address(void **state)
{
	expect_error(BASE "addresses = 192.0.2.1 192.0.2.300\n",
		     "t.conf:4: addresses: \"192.0.2.300\" is not an IP address");
	expect_error(BASE "addresses = 192.0.2.1 192.0.2.1\n",
		     "t.conf:4: addresses: 192.0.2.1 is listed twice");
	expect_error(BASE "resolver = ns.example.org\n", "t.conf:4: resolver: \"ns.example.org\"");
	expect_error(BASE "resolver = [192.0.2.53]:53\n", "t.conf:4: resolver: ");
	expect_error(BASE "resolver = 192.0.2.53:0\n", "t.conf:4: resolver: ");
	expect_error(BASE "resolver = 192.0.2.53:65536\n", "t.conf:4: resolver: ");
	expect_error(BASE "resolver = [2001:db8::53\n", "t.conf:4: resolver: ");
	expect_error(BASE "policy_listen = 127.0.0.1:10040\n", "t.conf:4: policy_listen: ");
	expect_error(BASE "policy_listen = inet:127.0.0.1\n", "t.conf:4: policy_listen: ");
	expect_error(BASE "policy_listen = inet:localhost:10040\n", "t.conf:4: policy_listen: ");
	expect_error(BASE "policy_listen = unix:run/policy\n",
		     "t.conf:4: policy_listen: \"run/policy\" is not an absolute path");
}

static void test_good_addresses(void **state)
{
	static const struct {
		const char *s;
		int family;
		int port;
	} cases[] = {
	    {"192.0.2.53", AF_INET, 53},
	    {"192.0.2.53:5353", AF_INET, 5353},
	    {"2001:db8::53", AF_INET6, 53},
	    {"[2001:db8::53]", AF_INET6, 53},
	    {"[2001:db8::53]:5353", AF_INET6, 5353},
	};
	char text[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&cfg.resolver;
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&cfg.resolver;

		snprintf(text, sizeof(text), BASE "resolver = %s\n", cases[i].s);
		expect_ok(text);
		assert_int_equal(cfg.resolver.ss_family, cases[i].family);
		assert_int_equal(
		    ntohs(cases[i].family == AF_INET ? sin->sin_port : sin6->sin6_port),
		    cases[i].port);
		config_free(&cfg);
	}
	expect_ok(BASE "policy_listen = inet:[::1]:10040\npolicy_allow_local_inet = yes\n");
	assert_int_equal(cfg.policy_addr.ss_family, AF_INET6);
	config_free(&cfg);
	expect_ok(BASE "policy_listen = unix:/run/mxgate/policy.sock\n");
	assert_int_equal(cfg.policy_addr.ss_family, AF_UNIX);
	assert_string_equal(((struct sockaddr_un *)&cfg.policy_addr)->sun_path,
			    "/run/mxgate/policy.sock");
}

static void test_missing_required(void **state)
{
	expect_error("domains = example.org\ninterfaces = eth0\n",
		     "t.conf: self: required key missing; add \"self = mx2.example.org\"");
	expect_error("self = mx2.example.org\ninterfaces = eth0\n",
		     "t.conf: domains: required key missing; ");
	expect_error("self = mx2.example.org\ndomains = example.org\n",
		     "t.conf: interfaces: required key missing for gate = tc; ");
	expect_error("self = mx2.example.org\ndomains = example.org\ngate = tc\n",
		     "t.conf:3: interfaces: required key missing for gate = tc; ");
	expect_ok("self = mx2.example.org\ndomains = example.org\ngate = none\n");
	config_free(&cfg);
	expect_ok("self = mx2.example.org\ndomains = example.org\ngate = nft\n");
	config_free(&cfg);
	expect_error(BASE "nft_table = filter\n", "t.conf:4: nft_table: set without nft_set; ");
	expect_error(BASE "nft_set = gated\n", "t.conf:4: nft_set: set without nft_table; ");
	expect_error(BASE "nft_table = arp filter\nnft_set = x\n",
		     "t.conf:4: nft_table: \"arp filter\" does not start with a family");
	expect_error(BASE "rise =\n", "t.conf:4: rise: empty value; ");
}

/* Whoever can ask the policy service can make any client an
 * offender; a listener beyond loopback needs an explicit yes. */
static void test_policy_listener_local_only(void **state)
{
	expect_error(BASE "policy_listen = inet:0.0.0.0:10040\n",
		     "t.conf:4: policy_listen: inet:0.0.0.0:10040 is not a loopback address; ");
	expect_error(BASE "policy_listen = inet:[::]:10040\n",
		     "t.conf:4: policy_listen: inet:[::]:10040 is not a loopback address; ");
	expect_error(BASE "policy_listen = inet:192.0.2.20:10040\npolicy_allow_remote = no\n",
		     "t.conf:4: policy_listen: inet:192.0.2.20:10040 is not a loopback address; ");
	expect_ok(BASE "policy_listen = inet:192.0.2.20:10040\npolicy_allow_remote = yes\n");
	assert_true(cfg.policy_allow_remote);
	config_free(&cfg);
	/* Every local user reaches a loopback port: asked for by name. */
	expect_error(BASE "policy_listen = inet:127.0.0.2:10040\n",
		     "t.conf:4: policy_listen: inet:127.0.0.2:10040 answers every local user, ");
	expect_error(BASE "policy_listen = inet:[::1]:10040\npolicy_allow_local_inet = no\n",
		     "t.conf:4: policy_listen: inet:[::1]:10040 answers every local user, "
		     "who could ask about any client and make it an offender; use policy_listen "
		     "= unix (the socket /run/mxgate/policy.sock, group policy_group) or set "
		     "policy_allow_local_inet = yes");
	expect_ok(BASE "policy_listen = inet:127.0.0.2:10040\npolicy_allow_local_inet = yes\n");
	assert_false(cfg.policy_allow_remote);
	assert_true(cfg.policy_allow_local_inet);
	config_free(&cfg);
	/* "unix" alone: the documented default socket. */
	expect_ok(BASE "policy_listen = unix\n");
	assert_string_equal(cfg.policy_listen, "unix:/run/mxgate/policy.sock");
	assert_int_equal(cfg.policy_addr.ss_family, AF_UNIX);
	assert_string_equal(((struct sockaddr_un *)&cfg.policy_addr)->sun_path,
			    "/run/mxgate/policy.sock");
	config_free(&cfg);
	expect_ok(BASE "policy_listen = unix:/run/mxgate/policy.sock\n");
	assert_string_equal(cfg.policy_group, "postfix");
	config_free(&cfg);
	expect_ok(BASE "policy_listen = unix:/run/p.sock\npolicy_group = mail\n");
	assert_string_equal(cfg.policy_group, "mail");
	config_free(&cfg);
	expect_error(BASE "policy_group = a b\n", "t.conf:4: policy_group: \"a b\" is not a ");
}

static void test_state_ttl_too_small(void **state)
{
	expect_error(BASE "state_ttl = 15s\n",
		     "t.conf:4: state_ttl: 15s must exceed probe_interval + probe_timeout "
		     "(10s + 5s = 15s)");
	/* state_ttl left at its default: blame the key that broke it. */
	expect_error(BASE "probe_interval = 30s\n",
		     "t.conf:4: state_ttl: 30s must exceed probe_interval + probe_timeout");
	expect_error(BASE "probe_interval = 5s\nprobe_timeout = 6s\n",
		     "t.conf:5: probe_timeout: longer than probe_interval");
	expect_ok(BASE "probe_interval = 30s\nstate_ttl = 40s\n");
}

static void test_reply_text(void **state)
{
	char buf[64];

	expect_error(BASE "reply_text = please try the primary\n",
		     "t.conf:4: reply_text: must contain %p: the reply always names the primary");
	expect_error(BASE "reply_text = %s is at %p\n",
		     "t.conf:4: reply_text: %s is not allowed; use %d (domain), %p (primary MX) "
		     "or %% (a percent sign)");
	expect_error(BASE "reply_text = try %p 100%\n", "t.conf:4: reply_text: % is not allowed");
	expect_error(BASE "reply_text = try %p\rnow\n",
		     "t.conf:4: reply_text: contains a character that is not printable ASCII");
	expect_error(BASE "[domain example.org]\nreply_text = no primary\n",
		     "t.conf:5: reply_text: must contain %p");

	assert_int_equal(reply_expand(buf, sizeof(buf), MXG_DEFAULT_REPLY_TEXT, "example.org",
				      "mx1.example.org"),
			 sizeof(buf) - 1);
	assert_string_equal(buf, "example.org: this is a backup MX and the primary MX mx1.example");
	reply_expand(buf, sizeof(buf), "%d at %p, 100%%", "a.example", "mx.a.example");
	assert_string_equal(buf, "a.example at mx.a.example, 100%");
}

static void test_domains(void **state)
{
	expect_error(BASE "domains = example.net\n",
		     "t.conf:4: domains: set twice (first on line 2); remove one");
	expect_error(
	    "self = a.example\ninterfaces = eth0\ndomains = x.example y.example X.example.\n",
	    "t.conf:3: domains: x.example is listed twice (also at t.conf:3)");
	expect_error("self = a.example\ninterfaces = eth0\ndomains = bad_name.example\n",
		     "t.conf:3: domains: \"bad_name.example\" is not a host name");
	expect_error("self = a.example\ninterfaces = eth0\ndomains = -x.example\n",
		     "t.conf:3: domains: \"-x.example\" is not a host name");
	expect_error("self = a.example\ninterfaces = eth0\ndomains = x-.example\n",
		     "t.conf:3: domains: \"x-.example\" is not a host name");
	expect_error("self = a.example\ninterfaces = eth0\ndomains = x..example\n",
		     "t.conf:3: domains: \"x..example\" is not a host name");
	expect_error("self = a.example b.example a.example.\ninterfaces = eth0\ndomains = x\n",
		     "t.conf:1: self: a.example. is listed twice");
	/* A list continues on indented lines; a scalar does not. */
	expect_error(BASE "rise = 3\n  4\n",
		     "t.conf:5: rise: the indented line \"4\" continues the value of rise");
	expect_error(BASE "  fall = 2\n",
		     "t.conf:4: interfaces: the indented line \"fall = 2\" continues");
	expect_ok(BASE "  example.net\n\n  example.com\n");
	assert_int_equal(cfg.n_domains, 1);
	assert_int_equal(cfg.n_interfaces, 3); /* the continuation went to interfaces */
}

static void test_domain_override_errors(void **state)
{
	expect_error(BASE "\n[domain example.net]\nreply = defer\n",
		     "t.conf:5: [domain example.net]: not a served domain; add it to domains");
	expect_error(BASE "[domain example.org]\nrise = 2\n",
		     "t.conf:5: rise: not allowed in [domain example.org]; only reply, "
		     "reply_text, recovery_grace and reject_grace are");
	expect_error(BASE "[domain example.org]\nreply = defer\n[domain EXAMPLE.org]\n",
		     "t.conf:6: [domain example.org]: section repeated (first on line 4)");
	expect_error(BASE "[domain example.org]\nreply = defer\nreply = reject\n",
		     "t.conf:6: reply: set twice in [domain example.org]");
	expect_error(BASE "[domain example.org]\nrecovery_grace = soon\n",
		     "t.conf:5: recovery_grace: \"soon\" is not a duration");
	expect_error(BASE "[domain example.org]\nreject_grace = 1m\nreject_grace = 2m\n",
		     "t.conf:6: reject_grace: set twice in [domain example.org]");
	/* recovery_grace and reject_grace are two keys, each once. */
	expect_ok(BASE "[domain example.org]\nrecovery_grace = 1m\nreject_grace = 2m\n");
}

/* reject_grace: 1 h by default (Exim's 15 min retry skip and OpenSMTPD's
 * longest route delay, an hour); global and per domain; only reject
 * domains have one. */
static void test_reject_grace(void **state)
{
	const struct mxg_domain_config *a, *b, *c;

	expect_ok(BASE);
	assert_int_equal(cfg.reject_grace_ms, 3600000);
	assert_true(cfg.reject_grace_ms >= 15 * 60000);
	/* The default reply is greylist: no reject grace to run. */
	assert_int_equal(config_domain_reject_grace(&cfg, config_find_domain(&cfg, "example.org")),
			 0);
	config_free(&cfg);

	expect_ok("self = mx2.example.org\ninterfaces = eth0\n"
		  "domains = example.net example.com example.org\n"
		  "reply = reject\nreject_grace = 20m\n"
		  "[domain example.net]\nreject_grace = 0\n"
		  "[domain example.com]\nreply = defer\nreject_grace = 1h\n");
	a = config_find_domain(&cfg, "example.net");
	b = config_find_domain(&cfg, "example.com");
	c = config_find_domain(&cfg, "example.org");
	assert_int_equal(config_domain_reject_grace(&cfg, a), 0);
	assert_int_equal(config_domain_reject_grace(&cfg, b), 0); /* defer */
	assert_int_equal(config_domain_reject_grace(&cfg, c), 20 * 60000);
	config_free(&cfg);

	expect_error(BASE "reject_grace = soon\n",
		     "t.conf:4: reject_grace: \"soon\" is not a duration");
	expect_error(BASE "reject_grace = 8d\n", "t.conf:4: reject_grace: ");
	expect_error(BASE "[domain example.org]\nreject_grace = -1s\n", "t.conf:5: reject_grace: ");
}

static void test_overlong_values(void **state)
{
	char text[8192], big[2100];

	memset(big, 'a', sizeof(big));
	big[sizeof(big) - 1] = '\0';
	snprintf(text, sizeof(text), BASE "control_socket = /run/%.120s\n", big);
	expect_error(text,
		     "t.conf:4: control_socket: too long; use a path of at most 107 characters");
	snprintf(text, sizeof(text), BASE "reply_text = %%p %.500s\n", big);
	expect_error(text, "t.conf:4: reply_text: too long; use at most 399 characters");
	snprintf(text, sizeof(text), BASE "helo_name = %.64s.example\n", big);
	expect_error(text, "t.conf:4: helo_name: ");
	snprintf(text, sizeof(text), BASE "domains = %.60s.%.60s.%.60s.%.60s.%.60s.example\n", big,
		 big, big, big, big);
	expect_error(text, "t.conf:4: domains: ");
	snprintf(text, sizeof(text), BASE "helo_name = %s\n", big);
	expect_error(text, "t.conf:4: line longer than 1024 characters; ");
	snprintf(text, sizeof(text), BASE "user = %.40s\n", big);
	expect_error(text, "t.conf:4: user: ");
	snprintf(text, sizeof(text), BASE "nft_table = %.70s\nnft_set = s\n", big);
	expect_error(text, "t.conf:4: nft_table: ");
	expect_error(BASE "interfaces = averyveryverylongname\n", "t.conf:4: interfaces: ");
	expect_error(BASE "pin_dir = relative/dir\n",
		     "t.conf:4: pin_dir: \"relative/dir\" is not an absolute path");
}

static void test_domains_file(void **state)
{
	char text[1024];
	const char *path;

	snprintf(text, sizeof(text), BASE "domains_file = %s/nonexistent\n", tmpdir);
	expect_error(text, "t.conf:4: domains_file: cannot open ");
	assert_non_null(strstr(err, "No such file or directory; create it"));

	path = write_file("bad", "# list\nexample.net\n\nbad_domain.example\n");
	snprintf(text, sizeof(text), BASE "domains_file = %s\n", path);
	expect_error(text, "");
	snprintf(text, sizeof(text),
		 "%s:4: domains_file: \"bad_domain.example\" is not a host name", path);
	assert_int_equal(strncmp(err, text, strlen(text)), 0);

	path = write_file("two", "example.net example.com\n");
	snprintf(text, sizeof(text), BASE "domains_file = %s\n", path);
	expect_error(text, path);
	assert_non_null(strstr(err, ":1: domains_file: more than one word"));

	/* Merged with domains; a domain in both is listed twice. */
	path = write_file("dup", "example.net\nEXAMPLE.ORG.\n");
	snprintf(text, sizeof(text), BASE "domains_file = %s\n", path);
	expect_error(text, path);
	assert_non_null(
	    strstr(err, ":2: domains_file: example.org is listed twice (also at t.conf:2)"));

	path = write_file("empty", "# nothing yet\n");
	snprintf(text, sizeof(text), "self = a.example\ninterfaces = e\ndomains_file = %s\n", path);
	expect_error(text, "t.conf:3: domains_file: ");
	assert_non_null(strstr(err, "lists no domains"));

	/* Relative to the config file's directory. */
	write_file("rel", "example.net\n");
	path = write_file("main.conf", BASE "domains_file = rel\n");
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_domains, 2);
	assert_non_null(config_find_domain(&cfg, "example.net"));
}

/* domains_from = postfix against a real postconf with its own -c DIR:
 * main.cf items, $parameters, a /file, hash: and texthash: tables (their
 * source files); unsupported tables and an empty list are clear errors. */
static void pf_main(const char *relay)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "compatibility_level = 3.6\nmydomain = m.test\nmyhostname = mx.m.test\n"
		 "relay_domains = %s\n",
		 relay);
	write_file("main.cf", text);
}

static void test_domains_from_postfix(void **state)
{
	char text[512], relay[512], want[256];

	if (access("/usr/sbin/postconf", X_OK)) {
		skip();
		return;
	}
	write_file("list", "b.test c.test # a comment\nd.test,e.test\n");
	write_file("relay", "F.test OK\n# comment\nu@g.test OK\n.h.test OK\n  more\ni.test x\n");
	write_file("t", "j.test OK\n");
	snprintf(relay, sizeof(relay), "a.test, $mydomain %s/list hash:%s/relay texthash:%s/t",
		 tmpdir, tmpdir, tmpdir);
	pf_main(relay);
	snprintf(text, sizeof(text),
		 "self = x.example\ninterfaces = e\ndomains_from = postfix\n"
		 "postfix_config_dir = %s\n",
		 tmpdir);
	expect_ok(text);
	assert_int_equal(cfg.n_domains, 9);
	for (const char *const *d =
		 (const char *const[]){"a.test", "m.test", "b.test", "c.test", "d.test", "e.test",
				       "f.test", "i.test", "j.test", NULL};
	     *d; d++)
		assert_non_null(config_find_domain(&cfg, *d));
	assert_null(config_find_domain(&cfg, "g.test"));
	assert_null(config_find_domain(&cfg, "h.test"));
	config_free(&cfg);

	pf_main("a.test mysql:/etc/postfix/relay.cf");
	expect_error(text, "postconf relay_domains: domains_from: relay_domains item "
			   "mysql:/etc/postfix/relay.cf: mxgate cannot list");
	pf_main("");
	snprintf(want, sizeof(want), "t.conf:3: domains_from: Postfix's relay_domains");
	expect_error(text, want);
	snprintf(relay, sizeof(relay), "hash:%s/nothere", tmpdir);
	pf_main(relay);
	expect_error(text, "t.conf:3: domains_from: relay_domains names hash:");
	pf_main("a.test a.test");
	expect_error(text, "postconf relay_domains: domains_from: a.test is listed twice");
	expect_error("self = x.example\ninterfaces = e\ndomains_from = exim\n",
		     "t.conf:3: domains_from: not \"postfix\"");
}

/* The same postconf run knows which domains Postfix delivers here: the
 * relay domains are served, mydestination and the virtual domains are
 * final destinations (localhost names and served ones left out), and a
 * final-destination table mxgate cannot list is a note, not an error. */
static void test_domains_from_postfix_final(void **state)
{
	char text[1024], cf[1024];
	const struct mxg_final_domain *f;

	if (access("/usr/sbin/postconf", X_OK)) {
		skip();
		return;
	}
	write_file("vmail", "Hosted.test OK\nuser@other.test x\n");
	write_file("valias", "alias.test anything\nuser@alias2.test x\n");
	snprintf(cf, sizeof(cf),
		 "compatibility_level = 3.6\nmydomain = m.test\nmyhostname = mx.m.test\n"
		 "mydestination = $myhostname, localhost.$mydomain, localhost, both.test\n"
		 "virtual_mailbox_domains = hash:%s/vmail\n"
		 "virtual_alias_maps = hash:%s/valias\n"
		 "relay_domains = relay.test both.test\n",
		 tmpdir, tmpdir);
	write_file("main.cf", cf);
	snprintf(text, sizeof(text),
		 "self = x.example\ninterfaces = e\ndomains_from = postfix\n"
		 "postfix_config_dir = %s\n",
		 tmpdir);
	expect_ok(text);
	assert_int_equal(cfg.n_domains, 2);
	assert_non_null(config_find_domain(&cfg, "relay.test"));
	assert_non_null(config_find_domain(&cfg, "both.test"));
	assert_int_equal(cfg.n_final_domains, 3);
	f = config_find_final_domain(&cfg, "HOSTED.test.");
	assert_non_null(f);
	assert_string_equal(config_final_from_name(f->from), "virtual_mailbox_domains");
	f = config_find_final_domain(&cfg, "mx.m.test");
	assert_non_null(f);
	assert_string_equal(config_final_from_name(f->from), "mydestination");
	f = config_find_final_domain(&cfg, "alias.test");
	assert_non_null(f);
	assert_string_equal(config_final_from_name(f->from), "virtual_alias_domains");
	assert_null(config_find_final_domain(&cfg, "both.test"));
	assert_null(config_find_final_domain(&cfg, "relay.test"));
	assert_null(config_find_final_domain(&cfg, "localhost"));
	assert_null(config_find_final_domain(&cfg, "localhost.m.test"));
	assert_null(config_find_final_domain(&cfg, "other.test"));
	assert_null(config_find_final_domain(&cfg, "alias2.test"));
	assert_string_equal(cfg.final_unlisted, "");
	config_free(&cfg);

	/* A final destination mxgate cannot list: the rest is read. */
	snprintf(cf, sizeof(cf),
		 "compatibility_level = 3.6\nmydomain = m.test\nmyhostname = mx.m.test\n"
		 "virtual_mailbox_domains = mysql:/etc/postfix/vmail.cf, hash:%s/vmail\n"
		 "relay_domains = relay.test\n",
		 tmpdir);
	write_file("main.cf", cf);
	expect_ok(text);
	assert_int_equal(cfg.n_domains, 1);
	assert_non_null(config_find_final_domain(&cfg, "hosted.test"));
	assert_non_null(strstr(cfg.final_unlisted,
			       "virtual_mailbox_domains item mysql:/etc/postfix/vmail.cf: mxgate "
			       "cannot list the keys of a mysql: table"));
	config_free(&cfg);
}

/* handoff: the MTA's listener that trusts the client address we send:
 * loopback or a unix socket only; proxy by default. */
static void test_handoff_keys(void **state)
{
	expect_ok(BASE);
	assert_int_equal(cfg.handoff_addr_len, 0);
	assert_int_equal(cfg.handoff_protocol, 0);
	config_free(&cfg);
	expect_ok(BASE "handoff = inet:127.0.0.1:10025\nhandoff_protocol = xclient\n");
	assert_string_equal(cfg.handoff, "inet:127.0.0.1:10025");
	assert_int_equal(cfg.handoff_addr.ss_family, AF_INET);
	assert_int_equal(cfg.handoff_protocol, 1);
	config_free(&cfg);
	expect_ok(BASE "handoff = inet:[::1]:10025\n");
	assert_int_equal(cfg.handoff_addr.ss_family, AF_INET6);
	config_free(&cfg);
	expect_ok(BASE "handoff = unix:/var/spool/postfix/private/handoff\n");
	assert_int_equal(cfg.handoff_addr.ss_family, AF_UNIX);
	config_free(&cfg);
	expect_error(BASE "handoff = inet:192.0.2.1:25\n",
		     "t.conf:4: handoff: \"inet:192.0.2.1:25\" is not on loopback");
	expect_error(BASE "handoff = 127.0.0.1:10025\n", "t.conf:4: handoff: ");
	expect_error(BASE "handoff = unix:relative\n", "t.conf:4: handoff: ");
	expect_error(BASE "handoff_protocol = haproxy\n", "t.conf:4: handoff_protocol: ");
}

static void test_domain_bound(void **state)
{
	size_t saved = config_max_domains;
	FILE *f;
	char path[128], text[512];

	/* The bound is MXG_MAX_DOMAINS (a million); lowered here so the
	 * test stays small, the message is the same. */
	config_max_domains = 4096;
	snprintf(path, sizeof(path), "%s/many", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i <= 4096; i++)
		fprintf(f, "d%d.example\n", i);
	assert_int_equal(fclose(f), 0);
	snprintf(text, sizeof(text), "self = a.example\ninterfaces = e\ndomains_file = %s\n", path);
	expect_error(text, path);
	assert_non_null(strstr(err, ":4097: domains_file: more than 4096 domains"));
	config_max_domains = saved;

	/* 100,000 domains load (sorted, checked for duplicates in n log n). */
	assert_int_equal(truncate(path, 0), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 100000; i++)
		fprintf(f, "d%d.example\n", i);
	assert_int_equal(fclose(f), 0);
	expect_ok(text);
	assert_int_equal(cfg.n_domains, 100000);
	assert_non_null(config_find_domain(&cfg, "d99999.example"));
}

static void test_file_errors(void **state)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	assert_int_equal(config_load(path, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent.conf: cannot open: No such file or directory"));
	assert_int_equal(
	    config_load_string("t.conf", BASE "rise = 3\0junk", &cfg, err, sizeof(err)), 0);
	config_free(&cfg);
	/* A tiny error buffer truncates, never overflows. */
	assert_int_equal(config_load_string("t.conf", "bogus = 1\n", &cfg, err, 8), -1);
	assert_string_equal(err, "t.conf:");
}

/* The flood-proof tables: sizes and per-network limits, defaults,
 * bounds, and errors that name the file, the line and the key. */
static void test_table_limit_keys(void **state)
{
	expect_ok(BASE);
	assert_int_equal(cfg.greylist_table_size, 65536);
	assert_int_equal(cfg.greylist_limit_network, 4096);
	assert_int_equal(cfg.greylist_limit_64, 1024);
	assert_int_equal(cfg.pass_table_size, 16384);
	assert_int_equal(cfg.pass_limit_network, 1024);
	assert_int_equal(cfg.pass_limit_64, 64);
	config_free(&cfg);
	expect_ok(BASE "greylist_table_size = 1024\ngreylist_limit_network = 100\n"
		       "greylist_limit_64 = 10\npass_table_size = 16\npass_limit_network = 8\n"
		       "pass_limit_64 = 2\n");
	assert_int_equal(cfg.greylist_table_size, 1024);
	assert_int_equal(cfg.greylist_limit_64, 10);
	assert_int_equal(cfg.pass_limit_64, 2);
	config_free(&cfg);
	expect_error(BASE "pass_table_size = 16385\n", "t.conf:4: pass_table_size: ");
	expect_error(BASE "\ngreylist_table_size = 100\n", "t.conf:5: greylist_table_size: ");
	expect_error(BASE "greylist_limit_64 = 0\n", "t.conf:4: greylist_limit_64: ");
	expect_error(BASE "pass_limit_network = lots\n", "t.conf:4: pass_limit_network: ");
}

/* Allowlists and passes: defaults, lists, CIDR, bounds, errors. */
static void test_pass_keys(void **state)
{
	struct mxg_ip ip;

	expect_ok(BASE);
	assert_int_equal(cfg.n_pass_clients, 0);
	assert_int_equal(cfg.n_pass_recipients, 2);
	assert_true(cfg_pass_recipient(&cfg, "postmaster", "example.org"));
	assert_true(cfg_pass_recipient(&cfg, "Abuse", "other.example"));
	assert_false(cfg_pass_recipient(&cfg, "sales", "example.org"));
	assert_int_equal(cfg.pass_ttl_ms, 24ULL * 3600 * 1000);
	assert_int_equal(cfg.pass_max_ms, 7ULL * 24 * 3600 * 1000);
	assert_int_equal(cfg.greylist_delay_ms, 5ULL * 60 * 1000);
	assert_int_equal(cfg.greylist_window_ms, 4ULL * 3600 * 1000);
	assert_string_equal(cfg.state_dir, "/var/lib/mxgate");
	config_free(&cfg);

	expect_ok(
	    BASE "pass_clients = 192.0.2.7 198.51.100.77/24\n  2001:db8:1::/48 ::ffff:203.0.113.9\n"
		 "pass_recipients = hostmaster Sales@Example.ORG\n"
		 "reply = greylist\ngreylist_delay = 1s\ngreylist_window = 1m\n");
	assert_int_equal(cfg.n_pass_clients, 4);
	assert_int_equal(cfg.pass_clients[1].prefix, 24);
	mxg_ip_parse("198.51.100.200", &ip);
	assert_true(cfg_pass_client(&cfg, &ip));
	mxg_ip_parse("198.51.101.1", &ip);
	assert_false(cfg_pass_client(&cfg, &ip));
	mxg_ip_parse("2001:db8:1:ffff::1", &ip);
	assert_true(cfg_pass_client(&cfg, &ip));
	mxg_ip_parse("2001:db8:2::1", &ip);
	assert_false(cfg_pass_client(&cfg, &ip));
	mxg_ip_parse("203.0.113.9", &ip); /* mapped in the config, plain here */
	assert_true(cfg_pass_client(&cfg, &ip));
	mxg_ip_parse("::ffff:192.0.2.7", &ip); /* and the other way round */
	assert_true(cfg_pass_client(&cfg, &ip));
	/* The key replaces the default list. */
	assert_false(cfg_pass_recipient(&cfg, "postmaster", "example.org"));
	/* A bare <postmaster> (no domain, RFC 5321 4.5.1) is let through
	 * whatever the list; another bare name is not. */
	assert_true(cfg_pass_recipient(&cfg, "postmaster", ""));
	assert_true(cfg_pass_recipient(&cfg, "PostMaster", ""));
	assert_false(cfg_pass_recipient(&cfg, "sales", ""));
	assert_true(cfg_pass_recipient(&cfg, "hostmaster", "a.example"));
	assert_true(cfg_pass_recipient(&cfg, "sales", "example.org"));
	assert_false(cfg_pass_recipient(&cfg, "sales", "example.com"));
	assert_int_equal(cfg.reply, MXG_REPLY_GREYLIST);
	assert_int_equal(cfg.greylist_delay_ms, 1000);
	config_free(&cfg);

	expect_error(BASE "pass_clients = 192.0.2.0/33\n",
		     "t.conf:4: pass_clients: \"192.0.2.0/33\" is not an address or network");
	expect_error(BASE "pass_clients = example.org\n", "t.conf:4: pass_clients: ");
	expect_error(BASE "pass_clients = 192.0.2.1 192.0.2.1/32\n",
		     "t.conf:4: pass_clients: 192.0.2.1/32 is listed twice");
	expect_error(BASE "pass_recipients = a<b\n", "t.conf:4: pass_recipients: ");
	expect_error(BASE "pass_recipients = @example.org\n", "t.conf:4: pass_recipients: ");
	expect_error(BASE "pass_ttl = 2d\npass_max = 1d\n",
		     "t.conf:5: pass_max: shorter than pass_ttl");
	expect_error(BASE "greylist_delay = 5h\n",
		     "t.conf:4: greylist_window: must exceed greylist_delay");
	expect_error(BASE "greylist_delay = 0s\n", "t.conf:4: greylist_delay: ");
}

/* Offenders to nft: off by default; own sets with "yes"; the
 * administrator's "[FAMILY] TABLE SET" only together with "yes". */
static void test_offender_set(void **state)
{
	expect_ok(BASE);
	assert_false(cfg.offender_set);
	assert_string_equal(cfg.offender_nft_table, "");
	config_free(&cfg);

	expect_ok(BASE "offender_set = yes\n");
	assert_true(cfg.offender_set);
	assert_string_equal(cfg.offender_nft_table, "");
	config_free(&cfg);

	expect_ok(BASE "offender_set = yes\noffender_nft_set = filter  mxgate_offenders\n");
	assert_string_equal(cfg.offender_nft_family, "inet");
	assert_string_equal(cfg.offender_nft_table, "filter");
	assert_string_equal(cfg.offender_nft_set, "mxgate_offenders");
	config_free(&cfg);

	expect_ok(BASE "offender_nft_set = ip6 fw bad\noffender_set = yes\n");
	assert_string_equal(cfg.offender_nft_family, "ip6");
	assert_string_equal(cfg.offender_nft_table, "fw");
	assert_string_equal(cfg.offender_nft_set, "bad");
	config_free(&cfg);

	expect_error(BASE "offender_set = maybe\n",
		     "t.conf:4: offender_set: \"maybe\" is not one of: no, yes");
	expect_error(BASE "offender_nft_set = inet filter bad\n",
		     "t.conf:4: offender_nft_set: set while offender_set = no; ");
	expect_error(BASE "offender_set = yes\noffender_nft_set = bad\n",
		     "t.conf:5: offender_nft_set: expected \"[FAMILY] TABLE SET\"");
	expect_error(BASE "offender_set = yes\noffender_nft_set = arp filter bad\n",
		     "t.conf:5: offender_nft_set: \"arp filter\" does not start with a family");
	expect_error(BASE "offender_set = yes\noffender_nft_set = inet filter b/d\n",
		     "t.conf:5: offender_nft_set: ");
}

#define T(f) cmocka_unit_test_teardown(f, free_cfg)

/* quorum: 1 (this edge alone) by default; 1 to 32; more than one edge
 * only with the shared state that carries the other edges' verdicts. */
static void test_quorum(void **state)
{
	expect_ok(BASE);
	assert_int_equal(cfg.quorum, 1);
	config_free(&cfg);
	expect_ok(BASE "quorum = 1\n");
	assert_int_equal(cfg.quorum, 1);
	config_free(&cfg);
	expect_error(BASE "quorum = 0\n", "t.conf:4: quorum: 0 is out of range");
	expect_error(BASE "quorum = 33\n", "t.conf:4: quorum: 33 is out of range");
	expect_error(BASE "\nquorum = 2\n", "t.conf:5: quorum: 2 edges need the other edges' "
					    "verdicts, which only state_backend = redis");
	expect_ok(BASE "state_backend = redis\nredis = 127.0.0.1:6379\nquorum = 3\n");
	assert_int_equal(cfg.quorum, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_policy_listener_local_only, free_cfg),
	    T(test_defaults),
	    T(test_quorum),
	    T(test_full_config),
	    T(test_overrides),
	    T(test_durations),
	    T(test_unknown_key),
	    T(test_unknown_section),
	    T(test_syntax_error),
	    T(test_bad_duration),
	    T(test_bad_number),
	    T(test_bad_enum),
	    T(test_bad_address),
	    T(test_good_addresses),
	    T(test_missing_required),
	    T(test_state_ttl_too_small),
	    T(test_reply_text),
	    T(test_domains),
	    T(test_domain_override_errors),
	    T(test_reject_grace),
	    T(test_overlong_values),
	    T(test_domains_file),
	    T(test_domain_bound),
	    T(test_domains_from_postfix),
	    T(test_domains_from_postfix_final),
	    T(test_handoff_keys),
	    T(test_file_errors),
	    T(test_offender_set),
	    T(test_pass_keys),
	    T(test_table_limit_keys),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
