// SPDX-License-Identifier: GPL-2.0-only
/* The quorum of vantage points: the view of the other edges' verdicts
 * (freshness, own verdicts, one count per edge) and the domain state it
 * holds open, on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "domain_state.h"
#include "quorum.h"

#define P1 "192.0.2.11"
#define P1V6 "2001:db8::11"
#define P2 "192.0.2.12"
#define SELF_IP "192.0.2.20"
#define ROUND_MS 1000
#define MAX_AGE_MS 3000
#define WALL0 1700000000000LL /* the edges' wall clock, ms */

static struct mxg_ip ip(const char *s)
{
	struct mxg_ip a;

	assert_int_equal(mxg_ip_parse(s, &a), 0);
	return a;
}

static struct quorum_view view;

static int setup_view(void **state)
{
	assert_int_equal(qv_init(&view, "edge1", MAX_AGE_MS), 0);
	return 0;
}

static int teardown_view(void **state)
{
	qv_free(&view);
	return 0;
}

static void add(const char *addr, const char *edge, bool up, int64_t t)
{
	struct mxg_ip a = ip(addr);

	assert_true(qv_add(&view, &a, edge, up, t, WALL0) >= 0);
}

static unsigned up_count(const char *addr)
{
	struct mxg_ip a = ip(addr);

	return (unsigned)__builtin_popcountll(qv_up_edges(&view, &a));
}

static void test_quorum_one_never_reads_the_view(void **state)
{
	assert_int_equal(quorum_decide(NULL, 1, 0, 0), QUORUM_MET);
	assert_int_equal(quorum_decide(NULL, 0, 0, 0), QUORUM_MET);
	/* An unread view does not matter either. */
	assert_int_equal(quorum_decide(&view, 1, 0, 5000), QUORUM_MET);
}

static void test_nothing_read_is_unverified(void **state)
{
	assert_false(qv_verified(&view, 1000));
	assert_int_equal(quorum_decide(&view, 2, 0, 1000), QUORUM_UNVERIFIED);
	assert_int_equal(quorum_decide(NULL, 2, 0, 1000), QUORUM_UNVERIFIED);
}

static void test_other_edge_up_makes_quorum_of_two(void **state)
{
	struct mxg_ip a = ip(P1);

	qv_begin(&view);
	add(P1, "edge2", true, WALL0 - 500);
	qv_commit(&view, 1000);
	assert_int_equal(up_count(P1), 1);
	assert_int_equal(quorum_decide(&view, 2, qv_up_edges(&view, &a), 1000), QUORUM_MET);
	assert_int_equal(quorum_decide(&view, 3, qv_up_edges(&view, &a), 1000), QUORUM_NOT_MET);
}

static void test_own_down_and_stale_verdicts_do_not_count(void **state)
{
	qv_begin(&view);
	add(P1, "edge1", true, WALL0);			/* our own, read back */
	add(P1, "edge2", false, WALL0);			/* down */
	add(P1, "edge3", true, WALL0 - MAX_AGE_MS - 1); /* stale */
	add(P1, "edge4", true, WALL0 + MAX_AGE_MS + 1); /* a clock far ahead */
	add(P1, "bad id!", true, WALL0);		/* not an edge id */
	qv_commit(&view, 1000);
	assert_int_equal(up_count(P1), 0);
	assert_int_equal(view.refused, 3);
	assert_int_equal(view.n_edges_read, 1); /* edge2 answered */
	qv_begin(&view);
	add(P2, "edge5", true, WALL0 - MAX_AGE_MS); /* just fresh: counts */
	qv_commit(&view, 2000);
	assert_int_equal(up_count(P2), 1);
}

static void test_one_edge_counts_once_per_domain(void **state)
{
	struct mxg_ip a = ip(P1), b = ip(P1V6);
	uint64_t others;

	qv_begin(&view);
	add(P1, "edge2", true, WALL0);
	add(P1V6, "edge2", true, WALL0);
	add(P1, "edge2", true, WALL0); /* read twice */
	add(P1V6, "edge3", true, WALL0);
	qv_commit(&view, 1000);
	assert_int_equal(up_count(P1), 1);
	assert_int_equal(up_count(P1V6), 2);
	others = qv_up_edges(&view, &a) | qv_up_edges(&view, &b);
	assert_int_equal(__builtin_popcountll(others), 2);
	assert_int_equal(quorum_decide(&view, 3, others, 1000), QUORUM_MET);
	assert_int_equal(quorum_decide(&view, 4, others, 1000), QUORUM_NOT_MET);
}

static void test_a_read_too_old_is_unverified(void **state)
{
	qv_begin(&view);
	add(P1, "edge2", true, WALL0);
	qv_commit(&view, 1000);
	assert_int_equal(quorum_decide(&view, 2, 1, 1000 + MAX_AGE_MS), QUORUM_MET);
	assert_int_equal(quorum_decide(&view, 2, 1, 1000 + MAX_AGE_MS + 1), QUORUM_UNVERIFIED);
	/* A read in progress is not a read: the old one is what counts. */
	qv_begin(&view);
	add(P1, "edge3", true, WALL0);
	assert_int_equal(up_count(P1), 1);
	assert_false(qv_verified(&view, 1000 + MAX_AGE_MS + 1));
	qv_commit(&view, 1000 + MAX_AGE_MS + 2);
	assert_true(qv_verified(&view, 1000 + MAX_AGE_MS + 2));
	assert_int_equal(up_count(P1), 1);
	/* A round's results fed after a read completed: it is recent. */
	assert_true(qv_verified(&view, 1000 + MAX_AGE_MS));
}

static void test_a_new_read_replaces_the_old(void **state)
{
	qv_begin(&view);
	add(P1, "edge2", true, WALL0);
	add(P2, "edge2", true, WALL0);
	qv_commit(&view, 1000);
	qv_begin(&view);
	add(P2, "edge3", true, WALL0);
	qv_commit(&view, 2000);
	assert_int_equal(up_count(P1), 0);
	assert_int_equal(up_count(P2), 1);
}

static void test_edge_ids(void **state)
{
	char longid[QUORUM_EDGE_ID_MAX + 1];

	assert_true(qv_edge_id_ok("mx2.example.net"));
	assert_true(qv_edge_id_ok("edge_2-b"));
	assert_false(qv_edge_id_ok(""));
	assert_false(qv_edge_id_ok("a:b"));
	assert_false(qv_edge_id_ok("a b"));
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_false(qv_edge_id_ok(longid));
	longid[QUORUM_EDGE_ID_MAX - 1] = '\0';
	assert_true(qv_edge_id_ok(longid));
	{
		struct quorum_view v;

		assert_int_equal(qv_init(&v, "no good", 1000), -EINVAL);
	}
}

/* Far more edges than a view tracks: the rest are refused, never counted
 * twice, never an error. */
static void test_too_many_edges_are_refused(void **state)
{
	char id[32];

	qv_begin(&view);
	for (int i = 0; i < QUORUM_EDGES_MAX + 10; i++) {
		snprintf(id, sizeof(id), "edge-%d", i);
		add(P1, id, true, WALL0);
	}
	qv_commit(&view, 1000);
	assert_int_equal(up_count(P1), QUORUM_EDGES_MAX);
	assert_int_equal(view.refused, 10);
}

/* ---- The verdicts as Redis keys and values ---------------------------- */

static int decode(const char *key, const char *val, char *edge, struct mxg_ip *a, bool *up,
		  int64_t *t)
{
	return quorum_decode("mx:", key, strlen(key), val, strlen(val), edge, a, up, t);
}

static void test_verdict_round_trip(void **state)
{
	char key[QUORUM_KEY_MAX], val[QUORUM_VALUE_MAX], edge[QUORUM_EDGE_ID_MAX];
	const char *addrs[] = {P1, P1V6};
	struct mxg_ip a, b;
	bool up;
	int64_t t;

	for (size_t i = 0; i < 2; i++) {
		a = ip(addrs[i]);
		assert_int_equal(quorum_key("mx:", "edge-2.example.net", &a, key, sizeof(key)), 0);
		assert_int_equal(quorum_value(i == 0, WALL0, val, sizeof(val)), 0);
		assert_int_equal(decode(key, val, edge, &b, &up, &t), 0);
		assert_string_equal(edge, "edge-2.example.net");
		assert_true(mxg_ip_equal(&a, &b));
		assert_int_equal(up, i == 0);
		assert_int_equal(t, WALL0);
	}
	assert_string_equal(key, "mx:q:edge-2.example.net:2001:db8::11");
	assert_int_equal(quorum_edges_key("mx:", key, sizeof(key)), 0);
	assert_string_equal(key, "mx:qedges");
	assert_int_equal(quorum_key("mx:", "e1", &a, key, 10), -ENAMETOOLONG);
}

static void test_verdict_decoding_trusts_nothing(void **state)
{
	static const char *const bad[][2] = {
	    {"other:q:e2:192.0.2.11", "1 1700000000000 1"}, /* another prefix */
	    {"mx:p:192.0.2.11", "1 1700000000000 1"},	    /* another record */
	    {"mx:q:192.0.2.11", "1 1700000000000 1"},	    /* no edge */
	    {"mx:q::192.0.2.11", "1 1700000000000 1"},	    /* empty edge */
	    {"mx:q:e 2:192.0.2.11", "1 1700000000000 1"},   /* a space in it */
	    {"mx:q:e2:", "1 1700000000000 1"},		    /* no address */
	    {"mx:q:e2:mx1.example.test", "1 1700000000000 1"},
	    {"mx:q:e2:192.0.2.11", "2 1700000000000 1"}, /* another version */
	    {"mx:q:e2:192.0.2.11", "1 1700000000000 2"},
	    {"mx:q:e2:192.0.2.11", "1 1700000000000 1 "},
	    {"mx:q:e2:192.0.2.11", "1 -1 1"},
	    {"mx:q:e2:192.0.2.11", "1 01700000000000 1"},
	    {"mx:q:e2:192.0.2.11", "1 9999999999999999 1"},
	    {"mx:q:e2:192.0.2.11", "1  1"},
	    {"mx:q:e2:192.0.2.11", "1 17x 1"},
	    {"mx:q:e2:192.0.2.11", ""},
	};
	char edge[QUORUM_EDGE_ID_MAX];
	struct mxg_ip a;
	bool up;
	int64_t t;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (decode(bad[i][0], bad[i][1], edge, &a, &up, &t) != -EINVAL)
			fail_msg("accepted %s = \"%s\"", bad[i][0], bad[i][1]);
	assert_int_equal(decode("mx:q:e2:192.0.2.11", "1 0 0", edge, &a, &up, &t), 0);
}

static void test_edge_index_entries_trust_nothing(void **state)
{
	static const char *const bad[][2] = {
	    {"", "1700000000000"},	/* no edge */
	    {"e 2", "1700000000000"},	/* a space */
	    {"e:2", "1700000000000"},	/* a colon */
	    {"e2", "1.7e+12"},		/* not integral */
	    {"e2", "-1700000000000"},	/* negative */
	    {"e2", "0"},		/* never */
	    {"e2", "1700000000000.5"},	/* a fraction */
	    {"e2", "9999999999999999"}, /* too far */
	};
	char edge[QUORUM_EDGE_ID_MAX];
	int64_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (quorum_edge_decode(bad[i][0], strlen(bad[i][0]), bad[i][1], strlen(bad[i][1]),
				       edge, &t) != -EINVAL)
			fail_msg("accepted edge \"%s\" score \"%s\"", bad[i][0], bad[i][1]);
	assert_int_equal(quorum_edge_decode("mx3.example.test", 16, "1700000000123", 13, edge, &t),
			 0);
	assert_string_equal(edge, "mx3.example.test");
	assert_int_equal(t, 1700000000123);
}

/* ---- The domain state with a quorum -------------------------------- */

static const char self_names[][MXG_NAME_MAX] = {"mx2.example.test"};
static struct ds_params params = {
    .rise = 1,
    .fall = 1,
    .dns_grace_ms = 60000,
    .self = self_names,
    .n_self = 1,
    .quorum = 2,
    .qv = &view,
};

static struct domain_state dom;
static uint64_t now;

static int setup_domain(void **state)
{
	struct mx_set s;
	struct mx_host *h;

	setup_view(state);
	if (!params.store)
		params.store = mxs_store_new();
	assert_non_null(params.store);
	now = 1000000;
	assert_int_equal(ds_init(&dom, "example.test", 0, now), 0);
	memset(&s, 0, sizeof(s));
	snprintf(s.domain, sizeof(s.domain), "example.test");
	s.status = MX_OK;
	s.ttl_s = 300;
	h = &s.hosts[s.n_hosts++];
	snprintf(h->name, sizeof(h->name), "mx1.example.test");
	h->pref = 10;
	h->addrs[h->n_addrs++] = ip(P1);
	h->addrs[h->n_addrs++] = ip(P1V6);
	h = &s.hosts[s.n_hosts++];
	snprintf(h->name, sizeof(h->name), "mx2.example.test");
	h->pref = 20;
	h->addrs[h->n_addrs++] = ip(SELF_IP);
	assert_true(ds_dns_answer(&dom, &params, &s, now) >= 0);
	ds_dns_answer(&dom, &params, &s, now); /* confirmed at once */
	return 0;
}

static int teardown_domain(void **state)
{
	ds_free(&dom);
	return teardown_view(state);
}

/* A round in which this edge probed the primary, and a read of the
 * other edges at the same moment: edges[] saw P1 up (NULL-terminated). */
static void round_with(enum probe_result r, const char *const *edges)
{
	struct ds_probe_result res = {.ip = ip(P1), .result = r, .code = 250};

	now += ROUND_MS;
	qv_begin(&view);
	for (; edges && *edges; edges++)
		add(P1, *edges, true, WALL0);
	qv_commit(&view, now);
	ds_round(&dom, &params, &res, 1, now);
}

static void assert_state(enum mxg_domain_state st, enum mxg_reason why)
{
	if (dom.state != st || dom.reason != why)
		fail_msg("state %s (%s), want %s (%s)", mxg_domain_state_str(dom.state),
			 mxg_reason_token(dom.reason), mxg_domain_state_str(st),
			 mxg_reason_token(why));
}

static void test_alone_up_is_not_a_quorum_of_two(void **state)
{
	static const char *const none[] = {NULL};

	round_with(PROBE_OK, none);
	assert_state(MXG_DOMAIN_OPEN, MXG_REASON_QUORUM);
}

static void test_two_edges_up_gate(void **state)
{
	static const char *const two[] = {"edge2", NULL};

	round_with(PROBE_OK, two);
	assert_state(MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

static void test_edge_cut_off_opens_the_domain_everywhere(void **state)
{
	static const char *const two[] = {"edge2", NULL};
	static const char *const none[] = {NULL};

	round_with(PROBE_OK, two);
	assert_state(MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	/* edge2 is cut off from the primary: it says down (or nothing). */
	round_with(PROBE_OK, none);
	assert_state(MXG_DOMAIN_OPEN, MXG_REASON_QUORUM);
	/* edge2 reaches the primary again: gated at once (no recovery
	 * grace: this edge never saw the primary down). */
	round_with(PROBE_OK, two);
	assert_state(MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

static void test_others_up_do_not_gate_a_primary_down_here(void **state)
{
	static const char *const many[] = {"edge2", "edge3", NULL};

	round_with(PROBE_REFUSED, many);
	assert_state(MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
}

static void test_unreadable_fleet_opens_with_reason(void **state)
{
	static const char *const two[] = {"edge2", NULL};
	struct ds_probe_result res = {.ip = ip(P1), .result = PROBE_OK, .code = 250};

	round_with(PROBE_OK, two);
	assert_state(MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	/* Redis goes away: no read commits any more. */
	now += MAX_AGE_MS + 1;
	ds_round(&dom, &params, &res, 1, now);
	assert_state(MXG_DOMAIN_OPEN, MXG_REASON_QUORUM_UNVERIFIED);
	/* No view at all (the fleet never connected). */
	params.qv = NULL;
	ds_evaluate(&dom, &params, now);
	assert_state(MXG_DOMAIN_OPEN, MXG_REASON_QUORUM_UNVERIFIED);
	params.qv = &view;
}

static void test_quorum_one_is_todays_behaviour(void **state)
{
	static const char *const none[] = {NULL};

	params.quorum = 1;
	params.qv = NULL;
	round_with(PROBE_OK, none);
	assert_state(MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	params.quorum = 2;
	params.qv = &view;
}

/* An edge that saw the primary's other address up counts too. */
static void test_other_address_of_the_primary_counts(void **state)
{
	struct ds_probe_result res = {.ip = ip(P1), .result = PROBE_OK, .code = 250};

	now += ROUND_MS;
	qv_begin(&view);
	add(P1V6, "edge2", true, WALL0);
	qv_commit(&view, now);
	ds_round(&dom, &params, &res, 1, now);
	assert_state(MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

static void test_reason_names(void **state)
{
	assert_string_equal(mxg_reason_token(MXG_REASON_QUORUM), "quorum");
	assert_string_equal(mxg_reason_token(MXG_REASON_QUORUM_UNVERIFIED), "quorum_unverified");
}

#define V(f) cmocka_unit_test_setup_teardown(f, setup_view, teardown_view)
#define D(f) cmocka_unit_test_setup_teardown(f, setup_domain, teardown_domain)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    V(test_quorum_one_never_reads_the_view),
	    V(test_nothing_read_is_unverified),
	    V(test_other_edge_up_makes_quorum_of_two),
	    V(test_own_down_and_stale_verdicts_do_not_count),
	    V(test_one_edge_counts_once_per_domain),
	    V(test_a_read_too_old_is_unverified),
	    V(test_a_new_read_replaces_the_old),
	    V(test_edge_ids),
	    V(test_too_many_edges_are_refused),
	    V(test_verdict_round_trip),
	    V(test_verdict_decoding_trusts_nothing),
	    V(test_edge_index_entries_trust_nothing),
	    D(test_alone_up_is_not_a_quorum_of_two),
	    D(test_two_edges_up_gate),
	    D(test_edge_cut_off_opens_the_domain_everywhere),
	    D(test_others_up_do_not_gate_a_primary_down_here),
	    D(test_unreadable_fleet_opens_with_reason),
	    D(test_quorum_one_is_todays_behaviour),
	    D(test_other_address_of_the_primary_counts),
	    D(test_reason_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
