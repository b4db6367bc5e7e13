// SPDX-License-Identifier: GPL-2.0-only
/* The Postfix policy protocol: parsing bounded requests and answering
 * with the responder's texts, DUNNO on anything unexpected. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "reason.h"
#include "policy.h"

/* Two domains share the edge: example.test's primary is up, other.test's
 * is down; example.net is gated with defer. */
static int lookup(void *arg, const char *domain, struct policy_domain *d)
{
	if (!strcmp(domain, "example.test")) {
		*d = (struct policy_domain){MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1.example.test",
					    NULL};
		return 0;
	}
	if (!strcmp(domain, "example.net")) {
		*d = (struct policy_domain){MXG_DOMAIN_GATED, MXG_REPLY_DEFER, "mx1.example.net",
					    "%d lives at %p now"};
		return 0;
	}
	if (!strcmp(domain, "other.test")) {
		*d = (struct policy_domain){MXG_DOMAIN_OPEN, MXG_REPLY_REJECT, "", NULL};
		return 0;
	}
	return -ENOENT;
}

/* Feed a whole request text (LF separated) and return the answer. */
static const char *ask_with(const struct policy_hooks *h, const char *text,
			    struct offender_table *off)
{
	static char out[1024];
	struct policy_request r;
	const char *p = text;

	policy_request_reset(&r);
	for (;;) {
		const char *nl = strchr(p, '\n');

		assert_non_null(nl);
		if (policy_request_line(&r, p, (size_t)(nl - p)))
			break;
		p = nl + 1;
	}
	policy_answer(&r, h, off, 1000, out, sizeof(out));
	return out;
}

static const struct policy_hooks plain = {.lookup = lookup};

static const char *ask(const char *text, struct offender_table *off)
{
	return ask_with(&plain, text, off);
}

/* One message (instance inst) from client for example.test. */
static const char *ask_from(const struct policy_hooks *h, const char *client, const char *inst,
			    struct offender_table *off)
{
	char req[512];

	snprintf(req, sizeof(req),
		 "request=smtpd_access_policy\nprotocol_state=RCPT\nclient_address=%s\n"
		 "instance=%s\nrecipient=u@example.test\n\n",
		 client, inst);
	return ask_with(h, req, off);
}

#define REQ(state, rcpt)                                                                           \
	"request=smtpd_access_policy\nprotocol_state=" state "\nprotocol_name=ESMTP\n"             \
	"client_address=198.51.100.7\nclient_name=x.example\nsender=a@b.example\n"                 \
	"recipient=" rcpt "\n\n"

static void test_gated_domain_gets_551_naming_the_primary(void **state)
{
	assert_string_equal(ask(REQ("RCPT", "user@example.test"), NULL),
			    "action=551 5.7.1 example.test: this is a backup MX and the primary MX "
			    "mx1.example.test is online; please try mx1.example.test\n\n");
}

static void test_case_and_trailing_dot_do_not_matter(void **state)
{
	assert_string_equal(
	    ask(REQ("RCPT", "User@Example.TEST."), NULL) + 7,
	    "551 5.7.1 example.test: "
	    "this is a backup MX and the primary MX mx1.example.test is online; please "
	    "try mx1.example.test\n\n");
}

static void test_defer_domain_gets_451_with_its_text(void **state)
{
	assert_string_equal(ask(REQ("RCPT", "u@example.net"), NULL),
			    "action=451 4.7.1 example.net lives at mx1.example.net now\n\n");
}

static void test_open_or_unknown_domain_gets_dunno(void **state)
{
	assert_string_equal(ask(REQ("RCPT", "u@other.test"), NULL), "action=DUNNO\n\n");
	assert_string_equal(ask(REQ("RCPT", "u@not-served.test"), NULL), "action=DUNNO\n\n");
}

static void test_other_states_and_garbage_get_dunno(void **state)
{
	assert_string_equal(ask(REQ("DATA", "u@example.test"), NULL), "action=DUNNO\n\n");
	assert_string_equal(ask(REQ("RCPT", ""), NULL), "action=DUNNO\n\n");
	assert_string_equal(ask(REQ("RCPT", "no-at-sign"), NULL), "action=DUNNO\n\n");
	assert_string_equal(ask(REQ("RCPT", "u@exa mple.test"), NULL), "action=DUNNO\n\n");
	assert_string_equal(
	    ask("request=junk\nprotocol_state=RCPT\nrecipient=u@example.test\n\n", NULL),
	    "action=DUNNO\n\n");
	assert_string_equal(
	    ask("request=smtpd_access_policy\nprotocol_state=RCPT\nnot an attribute\n"
		"recipient=u@example.test\n\n",
		NULL),
	    "action=DUNNO\n\n");
}

static void test_crlf_lines_are_accepted(void **state)
{
	assert_string_equal(ask("request=smtpd_access_policy\r\nprotocol_state=RCPT\r\n"
				"recipient=u@example.test\r\n\r\n",
				NULL),
			    "action=551 5.7.1 example.test: this is a backup MX and the primary MX "
			    "mx1.example.test is online; please try mx1.example.test\n\n");
}

static void test_bounds_spoil_the_request(void **state)
{
	static char big[POLICY_ATTRS_MAX * 8 + 200];
	struct policy_request r;
	size_t n = 0;
	char line[POLICY_LINE_MAX + 10];

	/* Too many attributes. */
	n += (size_t)snprintf(big + n, sizeof(big) - n,
			      "request=smtpd_access_policy\nprotocol_state=RCPT\n");
	for (int i = 0; i < POLICY_ATTRS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "x=%d\n", i % 10);
	snprintf(big + n, sizeof(big) - n, "recipient=u@example.test\n\n");
	assert_string_equal(ask(big, NULL), "action=DUNNO\n\n");

	/* A recipient longer than we keep. */
	policy_request_reset(&r);
	memset(line, 'a', sizeof(line));
	memcpy(line, "recipient=", 10);
	assert_false(policy_request_line(&r, line, 600));
	assert_true(r.bad);
	/* A line at the limit. */
	policy_request_reset(&r);
	assert_false(policy_request_line(&r, line, POLICY_LINE_MAX));
	assert_true(r.bad);
}

#define REQ_INST(rcpt, inst)                                                                       \
	"request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"                  \
	"client_address=198.51.100.7\nclient_name=x.example\nsender=a@b.example\n"                 \
	"instance=" inst "\nrecipient=" rcpt "\n\n"

static void test_offender_gets_550_after_threshold(void **state)
{
	struct offender_table t;
	const char *a = NULL;

	assert_int_equal(offender_init(&t, 3, 3600000, 64, 1), 0);
	for (int i = 0; i < 3; i++)
		assert_string_equal(ask(REQ("RCPT", "u@example.test"), &t) + 7 /* action= */,
				    "551 5.7.1 "
				    "example.test: this is a backup MX and the primary MX "
				    "mx1.example.test is online; please try mx1.example.test\n\n");
	a = ask(REQ("RCPT", "u@example.test"), &t);
	assert_string_equal(
	    a, "action=550 5.7.1 You tried me, a backup MX, too often while the primary "
	       "MX is online\n\n");
	/* Open domains never count. */
	assert_string_equal(ask(REQ("RCPT", "u@other.test"), &t), "action=DUNNO\n\n");
	offender_free(&t);
}

/* Loopback is this host: a local user (or a content filter) is never made
 * an offender, however often it asks. */
static void test_loopback_never_offender(void **state)
{
	struct offender_table t;
	static const char *const local[] = {"127.0.0.1", "127.0.0.5", "::1", "::ffff:127.0.0.1"};

	assert_int_equal(offender_init(&t, 2, 3600000, 64, 1), 0);
	for (size_t a = 0; a < sizeof(local) / sizeof(local[0]); a++) {
		for (int i = 0; i < 10; i++) {
			char inst[16];

			snprintf(inst, sizeof(inst), "i%zu.%d", a, i);
			assert_non_null(
			    strstr(ask_from(&plain, local[a], inst, &t), "action=551 5.7.1 "));
		}
	}
	offender_free(&t);
}

/* The controller's list of this host's addresses: 203.0.113.9 always,
 * 198.51.100.7 while *arg says so. */
static bool host_hook(void *arg, const struct mxg_ip *ip)
{
	const bool *also_198 = arg;
	char a[MXG_ADDRSTRLEN];

	mxg_ip_str(ip, a, sizeof(a));
	return !strcmp(a, "203.0.113.9") || (*also_198 && !strcmp(a, "198.51.100.7"));
}

/* With offender_threshold 2, a client with no count yet: 551 twice, then
 * 550. */
static void assert_counted_from_nothing(const struct policy_hooks *h, const char *client,
					struct offender_table *off)
{
	assert_non_null(strstr(ask_from(h, client, "c1", off), "action=551 5.7.1 "));
	assert_non_null(strstr(ask_from(h, client, "c2", off), "action=551 5.7.1 "));
	assert_string_equal(ask_from(h, client, "c3", off),
			    "action=550 5.7.1 You tried me, a backup MX, too often while the "
			    "primary MX is online\n\n");
}

/* One of this host's own addresses (its MTA or a content filter over the
 * public address) is never counted, however often it asks: past the
 * threshold it still gets the domain's 551, never 550. Any other client
 * is counted as before. */
static void test_host_address_never_offender(void **state)
{
	bool also_198 = true;
	const struct policy_hooks h = {.lookup = lookup, .host = host_hook, .arg = &also_198};
	struct offender_table t;
	char inst[16];

	assert_int_equal(offender_init(&t, 2, 3600000, 64, 1), 0);
	for (int i = 0; i < 10; i++) {
		snprintf(inst, sizeof(inst), "h%d", i);
		assert_non_null(strstr(ask_from(&h, "198.51.100.7", inst, &t), "action=551 "));
		assert_non_null(strstr(ask_from(&h, "203.0.113.9", inst, &t), "action=551 "));
	}
	assert_counted_from_nothing(&h, "192.0.2.99", &t);
	/* Not counted at all: no longer this host's, it starts from nothing. */
	also_198 = false;
	assert_counted_from_nothing(&h, "198.51.100.7", &t);
	offender_free(&t);
}

static bool client_hook(void *arg, const struct mxg_ip *ip, const char *sender, const char *rcpt,
			int reply)
{
	char a[MXG_ADDRSTRLEN];

	if (!ip) /* no client address: the recipient allowlist alone */
		return !strncmp(rcpt, "abuse@", 6);
	return !strcmp(mxg_ip_str(ip, a, sizeof(a)), "198.51.100.7") &&
	       !strncmp(rcpt, "postmaster@", 11);
}

/* The controller's allowlist hook turns a gated answer into DUNNO. */
static void test_client_hook_dunno(void **state)
{
	static char out[1024];
	struct policy_request r;
	const char *lines[] = {"request=smtpd_access_policy", "protocol_state=RCPT",
			       "client_address=198.51.100.7", "recipient=postmaster@example.test",
			       ""};
	const struct policy_hooks h = {.lookup = lookup, .client = client_hook};

	policy_request_reset(&r);
	for (size_t i = 0; i < 5; i++)
		policy_request_line(&r, lines[i], strlen(lines[i]));
	policy_answer(&r, &h, NULL, 1000, out, sizeof(out));
	assert_string_equal(out, "action=DUNNO\n\n");
	snprintf(r.recipient, sizeof(r.recipient), "user@example.test");
	policy_answer(&r, &h, NULL, 1000, out, sizeof(out));
	assert_non_null(strstr(out, "action=551 5.7.1 "));
	/* A client address that does not parse still has its recipient
	 * checked: an allowlisted one is never refused. */
	snprintf(r.client_address, sizeof(r.client_address), "unknown");
	snprintf(r.recipient, sizeof(r.recipient), "abuse@example.test");
	policy_answer(&r, &h, NULL, 1000, out, sizeof(out));
	assert_string_equal(out, "action=DUNNO\n\n");
	snprintf(r.recipient, sizeof(r.recipient), "user@example.test");
	policy_answer(&r, &h, NULL, 1000, out, sizeof(out));
	assert_non_null(strstr(out, "action=551 5.7.1 "));
}

/* A message is counted once, however many recipients it has (Postfix's
 * instance attribute); a deferred domain is never counted. */
static void test_offender_counts_messages_never_defer(void **state)
{
	struct offender_table t;

	assert_int_equal(offender_init(&t, 2, 3600000, 64, 1), 0);
	for (int i = 0; i < 50; i++)
		assert_string_equal(ask(REQ_INST("u@example.test", "1a.2b.1"), &t) + 7,
				    "551 5.7.1 "
				    "example.test: this is a backup MX and the primary MX "
				    "mx1.example.test is online; please try mx1.example.test\n\n");
	for (int i = 0; i < 100; i++)
		assert_non_null(
		    strstr(ask(REQ_INST("u@example.net", "x"), &t), "action=451 4.7.1 "));
	assert_non_null(strstr(ask(REQ_INST("u@example.test", "1a.2b.2"), &t), "action=551 "));
	assert_non_null(strstr(ask(REQ_INST("u@example.test", "1a.2b.3"), &t), "action=550 "));
	/* Once an offender, still 451 for the deferred domain. */
	assert_non_null(strstr(ask(REQ_INST("u@example.net", "1a.2b.3"), &t), "action=451 4.7.1 "));
	offender_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gated_domain_gets_551_naming_the_primary),
	    cmocka_unit_test(test_case_and_trailing_dot_do_not_matter),
	    cmocka_unit_test(test_defer_domain_gets_451_with_its_text),
	    cmocka_unit_test(test_open_or_unknown_domain_gets_dunno),
	    cmocka_unit_test(test_other_states_and_garbage_get_dunno),
	    cmocka_unit_test(test_crlf_lines_are_accepted),
	    cmocka_unit_test(test_bounds_spoil_the_request),
	    cmocka_unit_test(test_offender_gets_550_after_threshold),
	    cmocka_unit_test(test_loopback_never_offender),
	    cmocka_unit_test(test_host_address_never_offender),
	    cmocka_unit_test(test_offender_counts_messages_never_defer),
	    cmocka_unit_test(test_client_hook_dunno),
	};
	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
