// SPDX-License-Identifier: GPL-2.0-only
/* The per-domain state machine: every rule of docs/controller.md "Domain state",
 * driven with canned MX sets and probe rounds on a fake clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "domain_state.h"

static const char self_names[][MXG_NAME_MAX] = {"mx2.example.test"};

static struct ds_params params = {
    .rise = 3,
    .fall = 1,
    .dns_grace_ms = 60000,
    .self = self_names,
    .n_self = 1,
};

#define P1 "192.0.2.11"
#define P2 "192.0.2.12"
#define P1V6 "2001:db8::11"
#define SELF_IP "192.0.2.20"
#define GRACE_MS 5000
#define ROUND_MS 1000

/* add_host(set, name, pref, "addr", ..., NULL) */
static void add_host(struct mx_set *s, const char *name, uint16_t pref, ...)
{
	struct mx_host *h = &s->hosts[s->n_hosts++];
	const char *a;
	va_list ap;

	snprintf(h->name, sizeof(h->name), "%s", name);
	h->pref = pref;
	h->addr_status = MX_OK;
	va_start(ap, pref);
	while ((a = va_arg(ap, const char *)))
		assert_int_equal(mxg_ip_parse(a, &h->addrs[h->n_addrs++]), 0);
	va_end(ap);
	if (!h->n_addrs)
		h->addr_status = MX_NO_RECORDS;
}

static void set_init(struct mx_set *s, enum mx_status st)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->domain, sizeof(s->domain), "example.test");
	s->status = st;
	s->ttl_s = 300;
}

/* The usual domain: primary mx1 (10), us (20). */
static void usual_set(struct mx_set *s)
{
	set_init(s, MX_OK);
	add_host(s, "mx1.example.test", 10, P1, NULL);
	add_host(s, "mx2.example.test", 20, SELF_IP, NULL);
}

struct fixture {
	struct domain_state d;
	uint64_t now;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	f.now = 1000000;
	if (!params.store)
		params.store = mxs_store_new();
	assert_non_null(params.store);
	assert_int_equal(ds_init(&f.d, "example.test", GRACE_MS, f.now), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ds_free(&f->d);
	return 0;
}

static void answer(struct fixture *f, const struct mx_set *s)
{
	assert_true(ds_dns_answer(&f->d, &params, s, f->now) >= 0);
}

static void answer_usual(struct fixture *f)
{
	struct mx_set s;

	usual_set(&s);
	answer(f, &s);
}

/* One round, ROUND_MS after the previous, with results for up to 2 IPs. */
static bool round2(struct fixture *f, const char *ip1, enum probe_result r1, const char *ip2,
		   enum probe_result r2)
{
	struct ds_probe_result res[2];
	size_t n = 0;

	f->now += ROUND_MS;
	if (ip1) {
		assert_int_equal(mxg_ip_parse(ip1, &res[n].ip), 0);
		res[n].result = r1;
		res[n++].code = r1 == PROBE_OK ? 250 : 0;
	}
	if (ip2) {
		assert_int_equal(mxg_ip_parse(ip2, &res[n].ip), 0);
		res[n].result = r2;
		res[n++].code = r2 == PROBE_OK ? 250 : 0;
	}
	ds_sort_results(res, n);
	return ds_round(&f->d, &params, res, n, f->now);
}

static bool round1(struct fixture *f, enum probe_result r)
{
	return round2(f, P1, r, NULL, PROBE_OK);
}

static void assert_state(const struct fixture *f, enum mxg_domain_state st, enum mxg_reason why)
{
	if (f->d.state != st || f->d.reason != why)
		fail_msg("state %s (%s), want %s (%s)", mxg_domain_state_str(f->d.state),
			 mxg_reason_str(f->d.reason), mxg_domain_state_str(st),
			 mxg_reason_str(why));
}

/* A primary address named by one answer only is not believed up
 * before a probe_interval has passed since that answer, however fast its
 * probes succeed; a second answer naming it confirms it at once. */
static void test_new_address_needs_a_round_or_two_answers(void **state)
{
	struct fixture *f = *state;
	struct ds_params saved = params;

	params.rise = 1;
	params.probe_interval_ms = 10 * ROUND_MS;
	answer_usual(f);
	round1(f, PROBE_OK); /* 1 s after the only answer */
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RISING);
	for (int i = 0; i < 8; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RISING); /* 9 s */
	round1(f, PROBE_OK);				     /* 10 s: a round old */
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);

	/* Another address appears: not up on its own one answer... */
	{
		struct mx_set s;

		set_init(&s, MX_OK);
		add_host(&s, "mx1.example.test", 10, P2, NULL);
		add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
		answer(f, &s);
		round2(f, P2, PROBE_OK, NULL, PROBE_OK);
		assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RISING);
		/* ...until a second answer names it. */
		answer(f, &s);
		round2(f, P2, PROBE_OK, NULL, PROBE_OK);
		assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	}
	params = saved;
}

/* Bring the usual domain to gated: rise OK rounds. */
static void make_gated(struct fixture *f)
{
	answer_usual(f);
	for (unsigned i = 0; i < params.rise; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

static void test_starts_unknown(void **state)
{
	struct fixture *f = *state;

	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_DNS_PENDING);
	/* Probe results for a domain without an MX set change nothing. */
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_DNS_PENDING);
	assert_string_equal(f->d.primary, "");
}

static void test_dns_failure_before_first_answer_is_unknown(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	set_init(&s, MX_ERROR);
	snprintf(s.error, sizeof(s.error), "SERVFAIL");
	assert_int_equal(ds_dns_answer(&f->d, &params, &s, f->now), 1);
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_DNS_FAILED);
	assert_string_equal(f->d.dns_error, "SERVFAIL");

	set_init(&s, MX_NXDOMAIN);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_NXDOMAIN);
}

static void test_primary_up_gates_after_rise_rounds(void **state)
{
	struct fixture *f = *state;

	answer_usual(f);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PROBE_PENDING);
	assert_string_equal(f->d.primary, "mx1.example.test");
	for (unsigned i = 1; i < params.rise; i++) {
		round1(f, PROBE_OK);
		assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RISING);
	}
	assert_true(round1(f, PROBE_OK));
	/* First gating after start: no primary was ever seen down, no grace. */
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	assert_string_equal(f->d.primary, "mx1.example.test");
	assert_int_equal(f->d.since_ms, f->now);
}

static void test_interrupted_rise_starts_over(void **state)
{
	struct fixture *f = *state;

	answer_usual(f);
	round1(f, PROBE_OK);
	round1(f, PROBE_OK);
	round1(f, PROBE_TIMEOUT);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
	round1(f, PROBE_OK);
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RISING);
	round1(f, PROBE_OK);
	/* It was seen down: the recovery grace applies. */
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);
}

static void test_one_failed_round_opens(void **state)
{
	struct fixture *f = *state;

	make_gated(f);
	assert_true(round1(f, PROBE_REFUSED));
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
	assert_string_equal(f->d.primary, "mx1.example.test");
}

static void test_every_failure_kind_counts_as_down(void **state)
{
	static const enum probe_result bad[] = {PROBE_REFUSED, PROBE_TIMEOUT, PROBE_BAD_GREETING,
						PROBE_BAD_EHLO, PROBE_PROTOCOL};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ds_free(&f->d);
		ds_init(&f->d, "example.test", 0, f->now);
		make_gated(f);
		round1(f, bad[i]);
		assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
		assert_int_equal(f->d.addrs[0].last, bad[i]);
	}
}

static void test_fall_two_needs_two_failures(void **state)
{
	struct fixture *f = *state;

	params.fall = 2;
	make_gated(f);
	round1(f, PROBE_TIMEOUT);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	round1(f, PROBE_OK); /* the run of failures is broken */
	round1(f, PROBE_TIMEOUT);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	round1(f, PROBE_TIMEOUT);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
	params.fall = 1;
}

static void test_primary_back_waits_for_rise_and_grace(void **state)
{
	struct fixture *f = *state;
	uint64_t grace_start;

	make_gated(f);
	round1(f, PROBE_REFUSED);
	for (unsigned i = 1; i < params.rise; i++) {
		round1(f, PROBE_OK);
		assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RISING);
	}
	round1(f, PROBE_OK);
	grace_start = f->now;
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);
	assert_string_equal(f->d.primary, "mx1.example.test");

	/* Still open one millisecond before the grace ends, timer or round. */
	assert_false(ds_evaluate(&f->d, &params, grace_start + GRACE_MS - 1));
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);
	f->now = grace_start + GRACE_MS - 1 - ROUND_MS;
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);

	assert_true(ds_evaluate(&f->d, &params, grace_start + GRACE_MS));
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	assert_false(f->d.down_seen);

	/* Gated after a grace: the next outage gets a fresh grace. */
	f->now = grace_start + GRACE_MS;
	round1(f, PROBE_REFUSED);
	for (unsigned i = 0; i < params.rise; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);
}

static void test_failure_during_grace_cancels_it(void **state)
{
	struct fixture *f = *state;

	make_gated(f);
	round1(f, PROBE_REFUSED);
	for (unsigned i = 0; i < params.rise; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);
	round1(f, PROBE_TIMEOUT);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
	assert_false(f->d.grace_running);

	/* Coming back again: rise rounds, then a full grace from then. */
	for (unsigned i = 0; i < params.rise; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);
	assert_int_equal(f->d.grace_until_ms, f->now + GRACE_MS);
}

static void test_zero_grace_gates_right_after_rise(void **state)
{
	struct fixture *f = *state;

	f->d.recovery_grace_ms = 0;
	make_gated(f);
	round1(f, PROBE_REFUSED);
	for (unsigned i = 0; i < params.rise; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

static void test_primary_down_at_start_gets_grace_when_back(void **state)
{
	struct fixture *f = *state;

	answer_usual(f);
	round1(f, PROBE_TIMEOUT);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
	for (unsigned i = 0; i < params.rise; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_RECOVERY_GRACE);
}

static void test_no_primary_cases_are_open(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	/* We are the most preferred MX. */
	set_init(&s, MX_OK);
	add_host(&s, "mx2.example.test", 10, SELF_IP, NULL);
	add_host(&s, "mx3.example.test", 20, "192.0.2.99", NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_NO_PRIMARY);
	assert_int_equal(f->d.n_addrs, 0);
	assert_string_equal(f->d.primary, "");

	/* Self missing from the MX set: misconfiguration, open. */
	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, P1, NULL);
	add_host(&s, "other.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_SELF_NOT_IN_MX);
	round1(f, PROBE_OK);
	round1(f, PROBE_OK);
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_SELF_NOT_IN_MX);

	set_init(&s, MX_NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_NULL_MX);

	set_init(&s, MX_NO_RECORDS);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_NO_MX);

	/* The primary's name has no A/AAAA. */
	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_NO_PRIMARY_ADDR);
	assert_string_equal(f->d.primary, "mx1.example.test");
}

static void test_self_name_matches_case_and_trailing_dot(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, P1, NULL);
	add_host(&s, "MX2.Example.Test.", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PROBE_PENDING);
	assert_int_equal(f->d.pref_self, 20);
}

static void test_dns_failure_keeps_last_answer_for_dns_grace(void **state)
{
	struct fixture *f = *state;
	struct mx_set fail;
	uint64_t failed_at;

	make_gated(f);
	set_init(&fail, MX_ERROR);
	snprintf(fail.error, sizeof(fail.error), "timeout");
	failed_at = f->now;
	answer(f, &fail);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	/* A second failure does not restart the grace. */
	f->now += 1000;
	answer(f, &fail);
	assert_int_equal(f->d.dns_fail_since_ms, failed_at);
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);

	assert_false(ds_evaluate(&f->d, &params, failed_at + params.dns_grace_ms));
	assert_true(ds_evaluate(&f->d, &params, failed_at + params.dns_grace_ms + 1));
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_DNS_FAILED);
	f->now = failed_at + params.dns_grace_ms + 1;
	/* Probes keep going while unknown; unknown stays unknown. */
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_DNS_FAILED);

	/* DNS answers again: the addresses kept their hysteresis. */
	answer_usual(f);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	assert_int_equal(f->d.dns_fail_since_ms, 0);
}

static void test_nxdomain_after_answer_is_a_failure(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	make_gated(f);
	set_init(&s, MX_NXDOMAIN);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	ds_evaluate(&f->d, &params, f->now + params.dns_grace_ms + 1);
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_NXDOMAIN);
}

static void test_failed_primary_address_lookups_are_a_dns_failure(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	/* Before any good answer: unknown. */
	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, NULL);
	s.hosts[0].addr_status = MX_ERROR;
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_DNS_FAILED);

	/* After one: the last good set is kept for dns_grace. */
	make_gated(f);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	assert_int_equal(f->d.n_addrs, 1);
	ds_evaluate(&f->d, &params, f->now + params.dns_grace_ms + 1);
	assert_state(f, MXG_DOMAIN_UNKNOWN, MXG_REASON_DNS_FAILED);
}

static void test_one_primary_up_of_two_is_enough(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	set_init(&s, MX_OK);
	add_host(&s, "mx0.example.test", 5, P2, NULL);
	add_host(&s, "mx1.example.test", 10, P1, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_int_equal(f->d.n_primaries, 2);
	assert_int_equal(f->d.n_addrs, 2);
	for (unsigned i = 0; i < params.rise; i++)
		round2(f, P1, PROBE_OK, P2, PROBE_REFUSED);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	/* The reply names the primary that is up, not the preferred one. */
	assert_string_equal(f->d.primary, "mx1.example.test");
	round2(f, P1, PROBE_REFUSED, P2, PROBE_REFUSED);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
	assert_string_equal(f->d.primary, "mx0.example.test");
}

static void test_primary_on_our_own_address_opens(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	set_init(&s, MX_OK);
	add_host(&s, "mx0.example.test", 5, P2, NULL);
	add_host(&s, "mx1.example.test", 10, P1, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	for (unsigned i = 0; i < params.rise; i++)
		round2(f, P1, PROBE_OK, P2, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	/* mx0 now resolves to us: even with mx1 up, never gate. */
	round2(f, P1, PROBE_OK, P2, PROBE_SELF);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_IS_SELF);
}

static void test_any_address_of_a_primary_is_enough(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, P1, P1V6, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	for (unsigned i = 0; i < params.rise; i++)
		round2(f, P1, PROBE_TIMEOUT, P1V6, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

static void test_mx_change_keeps_hysteresis_of_kept_addresses(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	make_gated(f);
	/* The primary gains a second address: the first stays up. */
	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, P1, P2, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	assert_int_equal(f->d.n_addrs, 2);
	assert_true(f->d.addrs[0].up);
	assert_false(f->d.addrs[1].up);

	/* The primary moves to a new address: it must rise first. */
	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, P2, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PROBE_PENDING);
}

static void test_missing_result_keeps_counters(void **state)
{
	struct fixture *f = *state;

	answer_usual(f);
	round1(f, PROBE_OK);
	round2(f, P2, PROBE_OK, NULL, PROBE_OK); /* not our address */
	assert_int_equal(f->d.addrs[0].ok_run, 1);
	round1(f, PROBE_OK);
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

static void test_shared_address_is_one_probe_target(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	set_init(&s, MX_OK);
	add_host(&s, "mx0.example.test", 5, P1, NULL);
	add_host(&s, "mx1.example.test", 10, P1, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_int_equal(f->d.n_addrs, 1);
}

static void test_self_addresses_decide_where_a_domain_is_served(void **state)
{
	struct fixture *f = *state;
	struct mxg_ip self_ip, other;

	mxg_ip_parse(SELF_IP, &self_ip);
	mxg_ip_parse("192.0.2.99", &other);
	assert_int_equal(ds_self_has_addr(&f->d, &params, &self_ip), -1);
	answer_usual(f);
	assert_int_equal(ds_self_has_addr(&f->d, &params, &self_ip), 1);
	assert_int_equal(ds_self_has_addr(&f->d, &params, &other), 0);
}

static void test_state_names(void **state)
{
	assert_string_equal(mxg_domain_state_str(MXG_DOMAIN_GATED), "gated");
	assert_string_equal(mxg_domain_state_str(MXG_DOMAIN_OPEN), "open");
	assert_string_equal(mxg_domain_state_str(MXG_DOMAIN_UNKNOWN), "unknown");
	for (unsigned r = 0; r < MXG_REASON__COUNT; r++) {
		const char *tok = mxg_reason_token(r);

		assert_string_not_equal(mxg_reason_str(r), "?");
		/* Tokens are for machines: lower case and '_', each once. */
		assert_int_equal(strspn(tok, "abcdefghijklmnopqrstuvwxyz_"), strlen(tok));
		for (unsigned q = 0; q < r; q++)
			assert_string_not_equal(mxg_reason_token(q), tok);
	}
	assert_string_equal(mxg_reason_token(MXG_REASON_PRIMARY_DOWN), "primary_down");
	assert_string_equal(mxg_reason_str(MXG_REASON_PRIMARY_DOWN), "primary down");
	assert_string_equal(mxg_reason_token(MXG_REASON__COUNT), "?");
	assert_string_equal(mxg_mx_status_str(MX_OK), "ok");
	assert_string_equal(mxg_mx_status_str(MX_NULL), "null-mx");
	assert_string_equal(mxg_mx_status_str(MX_NO_RECORDS), "no-records");
	assert_string_equal(mxg_mx_status_str(MX_NXDOMAIN), "nxdomain");
	assert_string_equal(mxg_mx_status_str(MX_ERROR), "error");
}

#define REJECT_GRACE_MS 10000

/* reply = reject, fall 2: one failed round leaves the domain gated, but a
 * sender may have met that failure and will come back to the backup: 451
 * (reason reject_grace) for reject_grace after it, then 551 again. */
static void test_failed_round_starts_reject_grace_while_gated(void **state)
{
	struct fixture *f = *state;
	struct ds_params saved = params;
	uint64_t failed;

	params.fall = 2;
	f->d.reject_grace_ms = REJECT_GRACE_MS;
	make_gated(f);
	assert_false(ds_in_reject_grace(&f->d));
	assert_int_equal(ds_reject_grace_left(&f->d, f->now), 0);

	assert_true(round1(f, PROBE_TIMEOUT));
	failed = f->now;
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_REJECT_GRACE);
	assert_true(ds_in_reject_grace(&f->d));
	assert_int_equal(ds_reject_grace_left(&f->d, f->now), REJECT_GRACE_MS);
	assert_string_equal(mxg_reason_token(f->d.reason), "reject_grace");

	/* The primary answers again: still in the grace until it ends. */
	while (f->now + ROUND_MS < failed + REJECT_GRACE_MS) {
		round1(f, PROBE_OK);
		assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_REJECT_GRACE);
	}
	assert_int_equal(ds_reject_grace_left(&f->d, f->now), failed + REJECT_GRACE_MS - f->now);
	assert_true(round1(f, PROBE_OK)); /* reject_grace after the failure */
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	assert_false(ds_in_reject_grace(&f->d));

	/* Another failure starts it again; so does a deferring primary. */
	round1(f, PROBE_NO_MAIL);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_REJECT_GRACE);
	params = saved;
}

/* The usual outage (fall 1): open while down, recovery_grace and rise
 * after it; the reject grace runs from the last failed round, so once
 * gated again the domain still answers 451 until it ends. */
static void test_reject_grace_outlasts_an_outage(void **state)
{
	struct fixture *f = *state;
	uint64_t last_failed;

	f->d.reject_grace_ms = REJECT_GRACE_MS;
	make_gated(f);
	round1(f, PROBE_REFUSED);
	round1(f, PROBE_REFUSED);
	last_failed = f->now;
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_PRIMARY_DOWN);
	assert_int_equal(ds_reject_grace_left(&f->d, f->now), 0); /* open: no reply at all */
	while (f->d.state != MXG_DOMAIN_GATED && f->now < last_failed + REJECT_GRACE_MS)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_REJECT_GRACE);
	assert_true(f->now - last_failed >= GRACE_MS); /* after recovery_grace */
	while (f->now + ROUND_MS < last_failed + REJECT_GRACE_MS)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_REJECT_GRACE);
	round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
}

/* reject_grace 0 (defer and greylist domains, or reject_grace = 0): a
 * failed round changes nothing but what fall says. */
static void test_no_reject_grace_without_reject(void **state)
{
	struct fixture *f = *state;
	struct ds_params saved = params;

	params.fall = 2;
	make_gated(f);
	round1(f, PROBE_TIMEOUT);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	assert_int_equal(ds_reject_grace_left(&f->d, f->now), 0);
	/* Turned on later (a reload to reply = reject): the failure it
	 * remembers counts from when it happened. */
	f->d.reject_grace_ms = REJECT_GRACE_MS;
	assert_true(ds_evaluate(&f->d, &params, f->now));
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_REJECT_GRACE);
	assert_true(ds_evaluate(&f->d, &params, f->now + REJECT_GRACE_MS));
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_PRIMARY_UP);
	params = saved;
}

/* A primary without an address is a failed primary too. */
static void test_primary_without_address_starts_reject_grace(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	f->d.reject_grace_ms = REJECT_GRACE_MS;
	make_gated(f);
	set_init(&s, MX_OK);
	add_host(&s, "mx1.example.test", 10, NULL);
	add_host(&s, "mx2.example.test", 20, SELF_IP, NULL);
	answer(f, &s);
	assert_state(f, MXG_DOMAIN_OPEN, MXG_REASON_NO_PRIMARY_ADDR);
	answer_usual(f);
	for (int i = 0; i < 10 && f->d.state != MXG_DOMAIN_GATED; i++)
		round1(f, PROBE_OK);
	assert_state(f, MXG_DOMAIN_GATED, MXG_REASON_REJECT_GRACE);
}

/* A gated domain on up primaries with nothing running is settled: k
 * skipped OK rounds replayed leave it exactly as k rounds fed would. */
static void test_settled_domain_replays_skipped_ok_rounds(void **state)
{
	struct fixture *f = *state;
	struct domain_state fed;
	unsigned ok_before;

	make_gated(f);
	assert_true(ds_settled(&f->d));
	ok_before = f->d.addrs[0].ok_run;
	for (int i = 0; i < 5; i++)
		assert_false(round1(f, PROBE_OK));
	fed = f->d;
	f->d.addrs[0].ok_run = ok_before;
	f->d.addrs[0].last_ms = 0;
	ds_replay_ok(&f->d, 5, f->now);
	assert_int_equal(f->d.addrs[0].ok_run, fed.addrs[0].ok_run);
	assert_int_equal(f->d.addrs[0].last_ms, fed.addrs[0].last_ms);
	assert_int_equal(f->d.state, fed.state);
	assert_int_equal(f->d.since_ms, fed.since_ms);
	assert_true(ds_settled(&f->d));
}

/* Anything a round must still look at unsettles: a failed probe, a
 * grace running, DNS failing, an address not yet up. */
static void test_what_is_running_is_not_settled(void **state)
{
	struct fixture *f = *state;
	struct mx_set s;

	answer_usual(f);
	assert_false(ds_settled(&f->d)); /* not probed */
	round1(f, PROBE_OK);
	assert_false(ds_settled(&f->d)); /* rising */
	make_gated(f);
	assert_true(ds_settled(&f->d));
	set_init(&s, MX_ERROR);
	snprintf(s.error, sizeof(s.error), "SERVFAIL");
	answer(f, &s);
	assert_false(ds_settled(&f->d)); /* DNS failing: dns_grace runs */
	answer_usual(f);
	assert_true(ds_settled(&f->d));
	round1(f, PROBE_TIMEOUT);
	assert_false(ds_settled(&f->d)); /* down */
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_new_address_needs_a_round_or_two_answers),
	    T(test_starts_unknown),
	    T(test_dns_failure_before_first_answer_is_unknown),
	    T(test_primary_up_gates_after_rise_rounds),
	    T(test_interrupted_rise_starts_over),
	    T(test_one_failed_round_opens),
	    T(test_every_failure_kind_counts_as_down),
	    T(test_fall_two_needs_two_failures),
	    T(test_primary_back_waits_for_rise_and_grace),
	    T(test_failure_during_grace_cancels_it),
	    T(test_zero_grace_gates_right_after_rise),
	    T(test_primary_down_at_start_gets_grace_when_back),
	    T(test_no_primary_cases_are_open),
	    T(test_self_name_matches_case_and_trailing_dot),
	    T(test_dns_failure_keeps_last_answer_for_dns_grace),
	    T(test_nxdomain_after_answer_is_a_failure),
	    T(test_failed_primary_address_lookups_are_a_dns_failure),
	    T(test_one_primary_up_of_two_is_enough),
	    T(test_primary_on_our_own_address_opens),
	    T(test_any_address_of_a_primary_is_enough),
	    T(test_mx_change_keeps_hysteresis_of_kept_addresses),
	    T(test_missing_result_keeps_counters),
	    T(test_shared_address_is_one_probe_target),
	    T(test_self_addresses_decide_where_a_domain_is_served),
	    T(test_state_names),
	    T(test_failed_round_starts_reject_grace_while_gated),
	    T(test_reject_grace_outlasts_an_outage),
	    T(test_no_reject_grace_without_reject),
	    T(test_primary_without_address_starts_reject_grace),
	    T(test_settled_domain_replays_skipped_ok_rounds),
	    T(test_what_is_running_is_not_settled),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
