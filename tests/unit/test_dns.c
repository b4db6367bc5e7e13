// SPDX-License-Identifier: GPL-2.0-only
/*
 * DNS: dns_parse_mx_answer on canned packets built with ldns (normal, null
 * MX, empty, NXDOMAIN, SERVFAIL, malformed, cut short, TC, over the host
 * bound), then dns_resolve_mx end to end against a fake server on the
 * loop: addresses and CNAMEs, TTL clamping, spoofed answers ignored, TCP
 * fallback on truncation, timeouts and retries, cancellation; against
 * forgery: a new port, ID and 0x20 case pattern per attempt, answers with
 * another case or on another query's socket dropped and counted, sockets
 * open at once bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "fake_dns.h"

#define NL NULL

static uint8_t *build(size_t *len, const char *qname, ldns_rr_type type, ldns_pkt_rcode rcode,
		      bool tc, const char *const *ans, const char *const *auth)
{
	ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), type, LDNS_RR_CLASS_IN, 0);
	uint8_t *wire = NULL;

	assert_non_null(p);
	ldns_pkt_set_id(p, 4242);
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rcode(p, rcode);
	ldns_pkt_set_tc(p, tc);
	for (; ans && *ans; ans++) {
		ldns_rr *rr = NULL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, *ans, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
	}
	for (; auth && *auth; auth++) {
		ldns_rr *rr = NULL;

		assert_int_equal(ldns_rr_new_frm_str(&rr, *auth, 0, NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, rr);
	}
	assert_int_equal(ldns_pkt2wire(&wire, p, len), LDNS_STATUS_OK);
	ldns_pkt_free(p);
	return wire;
}

static struct mx_set set;

static void test_parse_normal_sorted_lowercased_deduplicated(void **state)
{
	static const char *const ans[] = {
	    "example.test. 300 IN MX 20 B.example.test.",
	    "example.test. 200 IN MX 10 a.example.test.",
	    "example.test. 300 IN MX 15 A.EXAMPLE.TEST.", /* same host: lowest pref */
	    "other.test. 10 IN MX 5 intruder.test.",	  /* not our name: ignored */
	    NL,
	};
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, false, ans, NL);

	assert_int_equal(dns_parse_mx_answer(w, len, "Example.Test.", &set), 0);
	assert_int_equal(set.status, MX_OK);
	assert_string_equal(set.domain, "example.test");
	assert_int_equal(set.n_hosts, 2);
	assert_string_equal(set.hosts[0].name, "a.example.test");
	assert_int_equal(set.hosts[0].pref, 10);
	assert_string_equal(set.hosts[1].name, "b.example.test");
	assert_int_equal(set.hosts[1].pref, 20);
	assert_int_equal(set.ttl_s, 200);
	free(w);
}

/* A host name is read as ldns writes it (ldns_rdf2str: its escapes of
 * every octet), in lower case and without the trailing dot: every octet
 * value in a label, against ldns's own text. */
static void test_parse_host_names_as_ldns_writes_them(void **state)
{
	for (unsigned c = 0; c < 256; c++) {
		uint8_t host[] = {3, 'M', (uint8_t)c, 'x', 4, 't', 'E', 's', 't', 0};
		ldns_rdf *exch = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, sizeof(host), host);
		ldns_rr *rr = ldns_rr_new();
		ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("example.test."),
						 LDNS_RR_TYPE_MX, LDNS_RR_CLASS_IN, 0);
		char *want = ldns_rdf2str(exch);
		uint8_t *w = NULL;
		size_t len, n;

		assert_non_null(want);
		n = strlen(want);
		assert_true(n > 1 && want[n - 1] == '.');
		want[n - 1] = '\0';
		for (char *ch = want; *ch; ch++)
			*ch = (char)tolower((unsigned char)*ch);
		ldns_rr_set_owner(rr, ldns_dname_new_frm_str("example.test."));
		ldns_rr_set_type(rr, LDNS_RR_TYPE_MX);
		ldns_rr_set_ttl(rr, 300);
		ldns_rr_push_rdf(rr, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, 10));
		ldns_rr_push_rdf(rr, exch);
		ldns_pkt_set_qr(p, true);
		ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
		assert_int_equal(ldns_pkt2wire(&w, p, &len), LDNS_STATUS_OK);
		assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), 0);
		assert_int_equal(set.status, MX_OK);
		assert_string_equal(set.hosts[0].name, want);
		free(want);
		free(w);
		ldns_pkt_free(p);
	}
}

/* The additional section is never read (glue: every host's addresses are
 * asked for themselves), so not parsed either: an answer whose additional
 * section ldns could not read still gives its MX set. */
static void test_parse_skips_the_additional_section(void **state)
{
	static const char *const ans[] = {"example.test. 300 IN MX 10 a.example.test.", NL};
	static const uint8_t junk[] = {0xc0, 0xff, 0x00}; /* a pointer out of the message */
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, false, ans, NL);
	uint8_t *bad = malloc(len + sizeof(junk));
	ldns_pkt *pkt = NULL;

	assert_non_null(bad);
	memcpy(bad, w, len);
	memcpy(bad + len, junk, sizeof(junk));
	bad[11] = 1; /* ARCOUNT */
	assert_int_not_equal(ldns_wire2pkt(&pkt, bad, len + sizeof(junk)), LDNS_STATUS_OK);
	assert_int_equal(dns_parse_mx_answer(bad, len + sizeof(junk), "example.test", &set), 0);
	assert_int_equal(set.status, MX_OK);
	assert_int_equal(set.n_hosts, 1);
	assert_string_equal(set.hosts[0].name, "a.example.test");
	assert_int_equal(bad[11], 1); /* the caller's octets are left alone */
	free(bad);
	free(w);
}

static void test_parse_null_mx(void **state)
{
	static const char *const ans[] = {"example.test. 300 IN MX 0 .", NL};
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, false, ans, NL);

	assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), 0);
	assert_int_equal(set.status, MX_NULL);
	assert_int_equal(set.n_hosts, 0);
	free(w);
}

static void test_parse_empty_answer_is_no_records(void **state)
{
	static const char *const auth[] = {FAKE_DNS_SOA, NL};
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, false, NL, auth);

	assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), 0);
	assert_int_equal(set.status, MX_NO_RECORDS);
	assert_int_equal(set.ttl_s, 60); /* SOA MINIMUM (RFC 2308) */
	free(w);
}

static void test_parse_nxdomain_and_servfail(void **state)
{
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN, false, NL, NL);

	assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), 0);
	assert_int_equal(set.status, MX_NXDOMAIN);
	free(w);
	w = build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_SERVFAIL, false, NL, NL);
	assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), 0);
	assert_int_equal(set.status, MX_ERROR);
	assert_non_null(strstr(set.error, "SERVFAIL"));
	free(w);
}

static void test_parse_malformed_and_cut_short(void **state)
{
	static const char *const ans[] = {
	    "example.test. 300 IN MX 10 mx1.example.test.",
	    "example.test. 300 IN MX 20 mx2.example.test.",
	    NL,
	};
	static const uint8_t garbage[] = {0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x05,
					  0x00, 0x00, 0x00, 0x00, 0xff, 0xfe, 0x00};
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, false, ans, NL);

	assert_true(dns_parse_mx_answer(garbage, sizeof(garbage), "example.test", &set) < 0);
	assert_int_equal(set.status, MX_ERROR);
	for (size_t cut = 0; cut < len; cut++) {
		assert_true(dns_parse_mx_answer(w, cut, "example.test", &set) < 0);
		assert_int_equal(set.status, MX_ERROR);
		assert_int_equal(set.n_hosts, 0);
	}
	free(w);
}

static void test_parse_truncated_flag(void **state)
{
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, true, NL, NL);

	assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), -EMSGSIZE);
	assert_int_equal(set.status, MX_ERROR);
	free(w);
}

static void test_parse_keeps_lowest_preferences_within_bound(void **state)
{
	static char rrs[MXG_MX_MAX_HOSTS + 8][80];
	const char *ans[MXG_MX_MAX_HOSTS + 9];
	size_t n = MXG_MX_MAX_HOSTS + 8, len;
	uint8_t *w;

	/* Highest preferences first, so the bound must displace them. */
	for (size_t i = 0; i < n; i++) {
		snprintf(rrs[i], sizeof(rrs[i]), "example.test. 300 IN MX %zu mx%zu.example.test.",
			 100 - i, i);
		ans[i] = rrs[i];
	}
	ans[n] = NULL;
	w = build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, false, ans, NL);
	assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), 0);
	assert_int_equal(set.n_hosts, MXG_MX_MAX_HOSTS);
	assert_int_equal(set.hosts[0].pref, 100 - (n - 1));
	assert_int_equal(set.hosts[MXG_MX_MAX_HOSTS - 1].pref, 100 - 8);
	free(w);
}

static void test_parse_follows_cname(void **state)
{
	static const char *const ans[] = {
	    "example.test. 100 IN CNAME mail.other.test.",
	    "mail.other.test. 300 IN MX 10 mx.other.test.",
	    NL,
	};
	size_t len;
	uint8_t *w =
	    build(&len, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, false, ans, NL);

	assert_int_equal(dns_parse_mx_answer(w, len, "example.test", &set), 0);
	assert_int_equal(set.status, MX_OK);
	assert_int_equal(set.n_hosts, 1);
	assert_string_equal(set.hosts[0].name, "mx.other.test");
	assert_int_equal(set.ttl_s, 100);
	free(w);
}

/* End to end on the loop. */

struct result {
	struct ev_loop *loop;
	int calls;
	struct mx_set set;
};

static void on_mx(void *arg, const struct mx_set *s)
{
	struct result *r = arg;

	r->calls++;
	r->set = *s;
	ev_stop(r->loop);
}

static struct dns_stats last_stats; /* of the last run_resolve */

static void run_resolve(struct fake_dns *fd, const char *const *zone, const char *domain,
			const struct dns_options *opts, struct result *res,
			void (*tweak)(struct fake_dns *))
{
	struct ev_loop *loop = ev_loop_new();
	struct dns_resolver *r;

	assert_non_null(loop);
	assert_int_equal(fake_dns_start(fd, loop, zone), 0);
	if (tweak)
		tweak(fd);
	r = dns_resolver_new(loop, (struct sockaddr *)&fd->addr, sizeof(fd->addr), opts);
	assert_non_null(r);
	memset(res, 0, sizeof(*res));
	res->loop = loop;
	assert_int_equal(dns_resolve_mx(r, domain, on_mx, res), 0);
	assert_int_equal(res->calls, 0); /* never synchronously */
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(res->calls, 1);
	dns_resolver_stats(r, &last_stats);
	dns_resolver_free(r);
	fake_dns_stop(fd);
	ev_loop_free(loop);
}

static const char *const zone[] = {
    "example.test. 300 IN MX 10 p1.example.test.",
    "example.test. 300 IN MX 15 p2.example.test.",
    "example.test. 300 IN MX 20 edge.example.test.",
    "example.test. 300 IN MX 30 gone.example.test.",
    "p1.example.test. 300 IN A 192.0.2.11",
    "p1.example.test. 40 IN AAAA 2001:db8::11",
    "p2.example.test. 300 IN AAAA 2001:db8::12",
    "edge.example.test. 300 IN CNAME edge-real.example.test.",
    "edge-real.example.test. 300 IN A 192.0.2.20",
    "null.test. 300 IN MX 0 .",
    "nomx.test. 300 IN A 192.0.2.99",
    "short.test. 5 IN MX 10 p1.example.test.",
    NULL,
};

static void test_resolve_hosts_addresses_cnames_ttl(void **state)
{
	struct fake_dns fd;
	struct result res;

	run_resolve(&fd, zone, "example.test", NULL, &res, NULL);
	assert_int_equal(res.set.status, MX_OK);
	assert_int_equal(res.set.n_hosts, 4);
	assert_string_equal(res.set.hosts[0].name, "p1.example.test");
	assert_int_equal(res.set.hosts[0].n_addrs, 2);
	assert_int_equal(res.set.hosts[0].addrs[0].family, AF_INET); /* v4 first */
	assert_int_equal(res.set.hosts[0].addrs[1].family, AF_INET6);
	assert_string_equal(res.set.hosts[1].name, "p2.example.test");
	assert_int_equal(res.set.hosts[1].n_addrs, 1);
	assert_int_equal(res.set.hosts[1].addrs[0].family, AF_INET6);
	assert_string_equal(res.set.hosts[2].name, "edge.example.test");
	assert_int_equal(res.set.hosts[2].n_addrs, 1);
	assert_int_equal(res.set.hosts[2].addr_status, MX_OK);
	assert_string_equal(res.set.hosts[3].name, "gone.example.test");
	assert_int_equal(res.set.hosts[3].n_addrs, 0);
	assert_int_equal(res.set.hosts[3].addr_status, MX_NXDOMAIN);
	assert_int_equal(res.set.ttl_s, 40); /* the AAAA of p1 */
	assert_true(fd.tcp_queries == 0);
}

static void test_resolve_statuses(void **state)
{
	struct fake_dns fd;
	struct result res;

	run_resolve(&fd, zone, "null.test.", NULL, &res, NULL);
	assert_int_equal(res.set.status, MX_NULL);
	run_resolve(&fd, zone, "nomx.test", NULL, &res, NULL);
	assert_int_equal(res.set.status, MX_NO_RECORDS);
	run_resolve(&fd, zone, "nowhere.test", NULL, &res, NULL);
	assert_int_equal(res.set.status, MX_NXDOMAIN);
	run_resolve(&fd, zone, "short.test", NULL, &res, NULL);
	assert_int_equal(res.set.status, MX_OK);
	assert_int_equal(res.set.ttl_s, MXG_DNS_TTL_MIN_S); /* 5 s clamped up */
}

static void spoof(struct fake_dns *fd)
{
	fd->spoof_first = true;
}

static void test_resolve_ignores_wrong_id_and_question(void **state)
{
	struct fake_dns fd;
	struct result res;

	run_resolve(&fd, zone, "example.test", NULL, &res, spoof);
	assert_int_equal(res.set.status, MX_OK);
	assert_int_equal(res.set.n_hosts, 4);
	assert_int_equal(res.set.hosts[0].n_addrs, 2);
	assert_true(last_stats.forged >= 2); /* wrong ID, wrong name: counted */
}

static void silence(struct fake_dns *fd);

/* Every attempt: a new source port, a new ID, a new case pattern of the
 * same name (RFC 5452, 0x20). */
static void test_attempts_change_port_id_and_case(void **state)
{
	struct dns_options o = {.timeout_ms = 30 * fake_dns_scale(), .attempts = 8};
	struct fake_dns fd;
	struct result res;
	bool upper = false, differ = false;

	run_resolve(&fd, zone, "example.test", &o, &res, silence);
	assert_int_equal(res.set.status, MX_ERROR);
	assert_int_equal(fd.udp_queries, 8);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(strcasecmp(fd.log_qname[i], "example.test."), 0);
		for (const char *c = fd.log_qname[i]; *c; c++)
			upper |= isupper((unsigned char)*c) != 0;
		if (i == 0)
			continue;
		assert_int_not_equal(fd.log_port[i], fd.log_port[i - 1]);
		assert_int_not_equal(fd.log_id[i], fd.log_id[i - 1]);
		differ |= strcmp(fd.log_qname[i], fd.log_qname[0]) != 0;
	}
	assert_true(upper);  /* all lower in 8 tries: 2^-88 */
	assert_true(differ); /* one pattern in 8 tries: 2^-77 */
	assert_int_equal(last_stats.sent, 8);
}

static void flip_case(struct fake_dns *fd)
{
	fd->flip_case = true;
}

/* A resolver (or forger) that does not echo the question's case is not
 * believed: the domain gets an error (the gate opens), never its records. */
static void test_answer_in_another_case_is_dropped(void **state)
{
	struct dns_options o = {.timeout_ms = 40 * fake_dns_scale(), .attempts = 2};
	struct fake_dns fd;
	struct result res;

	run_resolve(&fd, zone, "example.test", &o, &res, flip_case);
	assert_int_equal(res.set.status, MX_ERROR);
	assert_int_equal(res.set.n_hosts, 0);
	assert_non_null(strstr(res.set.error, "question case"));
	assert_int_equal(last_stats.forged, 2);
}

/* An answer that arrives on another query's socket, even with the right ID
 * and question for that other query, is not taken by either (a socket per
 * attempt here, so that the two queries have a socket each). */
static void test_answer_on_another_socket_is_dropped(void **state)
{
	struct dns_options o = {.timeout_ms = 40 * fake_dns_scale(), .attempts = 2, .sock_uses = 1};
	struct ev_loop *loop = ev_loop_new();
	struct result a = {.loop = NULL}, b = {.loop = loop};
	struct dns_stats st;
	struct fake_dns fd;
	struct dns_resolver *r;

	assert_int_equal(fake_dns_start(&fd, loop, zone), 0);
	fd.cross = true;
	r = dns_resolver_new(loop, (struct sockaddr *)&fd.addr, sizeof(fd.addr), &o);
	assert_non_null(r);
	a.loop = loop;
	assert_int_equal(dns_resolve_mx(r, "example.test", on_mx, &a), 0);
	assert_int_equal(dns_resolve_mx(r, "null.test", on_mx, &b), 0);
	while (a.calls + b.calls < 2)
		assert_int_equal(ev_run(loop), 0);
	assert_int_equal(a.set.status, MX_ERROR);
	assert_int_equal(b.set.status, MX_ERROR);
	dns_resolver_stats(r, &st);
	assert_true(st.forged >= 2);
	dns_resolver_free(r);
	fake_dns_stop(&fd);
	ev_loop_free(loop);
}

/* The nine queries of a request leave from one socket of the pool, each
 * with its own ID there, and every answer still finds its query. */
static void test_queries_share_a_socket_with_distinct_ids(void **state)
{
	struct fake_dns fd;
	struct result res;

	run_resolve(&fd, zone, "example.test", NULL, &res, NULL);
	assert_int_equal(res.set.status, MX_OK);
	assert_int_equal(res.set.n_hosts, 4);
	assert_int_equal(res.set.hosts[0].n_addrs, 2);
	assert_int_equal(res.set.hosts[2].n_addrs, 1);
	assert_int_equal(fd.udp_queries, 10); /* MX, 4 x (A, AAAA), the CNAME's end */
	assert_int_equal(last_stats.udp_sockets, 1);
	for (int i = 1; i < fd.udp_queries; i++) {
		assert_int_equal(fd.log_port[i], fd.log_port[0]);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(fd.log_id[i], fd.log_id[j]);
	}
	assert_int_equal(last_stats.forged, 0);
}

/* A socket carries at most sock_uses attempts, then the next ones leave
 * from a new socket on another port. */
static void test_socket_retires_after_its_uses(void **state)
{
	struct dns_options o = {.sock_uses = 3};
	struct fake_dns fd;
	struct result res;
	int per_port = 1;

	run_resolve(&fd, zone, "example.test", &o, &res, NULL);
	assert_int_equal(res.set.status, MX_OK);
	assert_int_equal(res.set.hosts[0].n_addrs, 2);
	assert_int_equal(fd.udp_queries, 10);
	assert_int_equal(last_stats.udp_sockets, 4); /* 3 + 3 + 3 + 1 */
	for (int i = 1; i < fd.udp_queries; i++) {
		per_port = fd.log_port[i] == fd.log_port[i - 1] ? per_port + 1 : 1;
		assert_true(per_port <= 3);
	}
}

/* With one socket allowed, the nine queries of a request take turns and
 * all complete. */
static void test_open_sockets_bounded(void **state)
{
	struct dns_options o = {.max_sockets = 1};
	struct fake_dns fd;
	struct result res;

	run_resolve(&fd, zone, "example.test", &o, &res, NULL);
	assert_int_equal(res.set.status, MX_OK);
	assert_int_equal(res.set.n_hosts, 4);
	assert_int_equal(res.set.hosts[0].n_addrs, 2);
	assert_int_equal(res.set.hosts[2].n_addrs, 1);
	assert_int_equal(last_stats.max_open, 1);
	assert_true(last_stats.waited >= 7);
}

static void truncate_udp(struct fake_dns *fd)
{
	fd->tc_udp = true;
}

static void test_resolve_falls_back_to_tcp_on_truncation(void **state)
{
	struct fake_dns fd;
	struct result res;

	run_resolve(&fd, zone, "example.test", NULL, &res, truncate_udp);
	assert_int_equal(res.set.status, MX_OK);
	assert_int_equal(res.set.n_hosts, 4);
	assert_int_equal(res.set.hosts[0].n_addrs, 2);
	assert_true(fd.tcp_queries >= 9); /* MX + A and AAAA of 4 hosts */
}

static void silence(struct fake_dns *fd)
{
	fd->silent = true;
}

static void test_resolve_times_out_after_retries(void **state)
{
	struct dns_options o = {.timeout_ms = 60 * fake_dns_scale(), .attempts = 3};
	struct fake_dns fd;
	struct result res;
	uint64_t t0 = ev_now_ms(), dt;

	run_resolve(&fd, zone, "example.test", &o, &res, silence);
	dt = ev_now_ms() - t0;
	assert_int_equal(res.set.status, MX_ERROR);
	assert_non_null(strstr(res.set.error, "no answer"));
	assert_int_equal(fd.udp_queries, 3);
	assert_true(dt >= 170 * fake_dns_scale() && dt < 2000 * fake_dns_scale());
}

static void test_resolve_refused_port_reports_it(void **state)
{
	struct dns_options o = {.timeout_ms = 50 * fake_dns_scale(), .attempts = 2};
	struct ev_loop *loop = ev_loop_new();
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t len = sizeof(sin);
	struct dns_resolver *r;
	struct result res = {.loop = loop};
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	/* A port that was just free: nothing listens there. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	close(s);
	r = dns_resolver_new(loop, (struct sockaddr *)&sin, sizeof(sin), &o);
	assert_non_null(r);
	assert_int_equal(dns_resolve_mx(r, "example.test", on_mx, &res), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(res.set.status, MX_ERROR);
	assert_non_null(strstr(res.set.error, "refused"));
	dns_resolver_free(r);
	ev_loop_free(loop);
}

static void stop_loop(struct ev_loop *loop, void *arg)
{
	ev_stop(loop);
}

static void test_cancel_means_no_callback(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct fake_dns fd;
	struct dns_resolver *r;
	struct result res = {.loop = loop};
	struct ev_timer t;

	assert_int_equal(fake_dns_start(&fd, loop, zone), 0);
	r = dns_resolver_new(loop, (struct sockaddr *)&fd.addr, sizeof(fd.addr), NULL);
	assert_int_equal(dns_resolve_mx(r, "example.test", on_mx, &res), 0);
	assert_int_equal(dns_resolve_mx(r, "null.test", on_mx, &res), 0);
	dns_cancel(r, &res);
	ev_timer_init(&t, stop_loop, NULL);
	assert_int_equal(ev_timer_start(loop, &t, 200), 0);
	assert_int_equal(ev_run(loop), 0);
	assert_int_equal(res.calls, 0);
	dns_resolver_free(r);
	fake_dns_stop(&fd);
	ev_loop_free(loop);
}

static void test_bad_names_rejected(void **state)
{
	struct ev_loop *loop = ev_loop_new();
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(53)};
	struct dns_resolver *r = dns_resolver_new(loop, (struct sockaddr *)&sin, sizeof(sin), NULL);
	char longname[300];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dns_resolve_mx(r, "", on_mx, NULL), -EINVAL);
	assert_int_equal(dns_resolve_mx(r, longname, on_mx, NULL), -EINVAL);
	dns_resolver_free(r);
	ev_loop_free(loop);
}

static void test_default_server(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = 0;

	assert_int_equal(dns_default_server(&ss, &len), 0);
	assert_true(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
	assert_true(len > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_normal_sorted_lowercased_deduplicated),
	    cmocka_unit_test(test_parse_host_names_as_ldns_writes_them),
	    cmocka_unit_test(test_parse_skips_the_additional_section),
	    cmocka_unit_test(test_parse_null_mx),
	    cmocka_unit_test(test_parse_empty_answer_is_no_records),
	    cmocka_unit_test(test_parse_nxdomain_and_servfail),
	    cmocka_unit_test(test_parse_malformed_and_cut_short),
	    cmocka_unit_test(test_parse_truncated_flag),
	    cmocka_unit_test(test_parse_keeps_lowest_preferences_within_bound),
	    cmocka_unit_test(test_parse_follows_cname),
	    cmocka_unit_test(test_resolve_hosts_addresses_cnames_ttl),
	    cmocka_unit_test(test_resolve_statuses),
	    cmocka_unit_test(test_resolve_ignores_wrong_id_and_question),
	    cmocka_unit_test(test_attempts_change_port_id_and_case),
	    cmocka_unit_test(test_answer_in_another_case_is_dropped),
	    cmocka_unit_test(test_answer_on_another_socket_is_dropped),
	    cmocka_unit_test(test_queries_share_a_socket_with_distinct_ids),
	    cmocka_unit_test(test_socket_retires_after_its_uses),
	    cmocka_unit_test(test_open_sockets_bounded),
	    cmocka_unit_test(test_resolve_falls_back_to_tcp_on_truncation),
	    cmocka_unit_test(test_resolve_times_out_after_retries),
	    cmocka_unit_test(test_resolve_refused_port_reports_it),
	    cmocka_unit_test(test_cancel_means_no_callback),
	    cmocka_unit_test(test_bad_names_rejected),
	    cmocka_unit_test(test_default_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
