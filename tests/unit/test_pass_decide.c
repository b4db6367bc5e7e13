// SPDX-License-Identifier: GPL-2.0-only
/* The pass decision (pass/pass_decide.c), asked as the responder asks it
 * (behind the gate) and as the policy service asks it (through the
 * controller): the order of the checks, and one tuple hash for both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "greylist.h"
#include "pass_decide.h"

#define CONF                                                                                       \
	"self = mx2.example.org\ndomains = example.org\ninterfaces = eth0\n"                       \
	"pass_clients = 192.0.2.0/24\npass_recipients = postmaster abuse\n"

static struct mxg_config cfg;

struct owner {
	bool held, passes;
	int asked_held, asked_tuple;
	uint64_t hash;
};

static bool q_held(void *arg, const struct mxg_ip *ip)
{
	struct owner *o = arg;

	o->asked_held++;
	return o->held;
}

static bool q_tuple(void *arg, const struct mxg_ip *ip, uint64_t hash)
{
	struct owner *o = arg;

	o->asked_tuple++;
	o->hash = hash;
	return o->passes;
}

static enum pass_why ask(const char *client, const char *from, const char *local, int reply,
			 bool behind_gate, struct owner *o)
{
	static struct mxg_ip ip;
	const struct pass_ask a = {.cfg = &cfg,
				   .client = client && !mxg_ip_parse(client, &ip) ? &ip : NULL,
				   .from = from,
				   .local = local,
				   .domain = "example.org",
				   .reply = reply,
				   .behind_gate = behind_gate,
				   .held = q_held,
				   .tuple = q_tuple,
				   .arg = o};

	return pass_decide(&a);
}

static int setup(void **state)
{
	char err[512];

	memset(&cfg, 0, sizeof(cfg));
	return config_load_string("t.conf", CONF, &cfg, err, sizeof(err));
}

static int teardown(void **state)
{
	config_free(&cfg);
	return 0;
}

/* The policy service sees pass_clients and live passes; the responder
 * never does (the kernel let them through before it). */
static void test_clients_and_passes_only_in_front_of_the_gate(void **state)
{
	struct owner o = {.held = true};

	assert_int_equal(ask("192.0.2.9", "", "user", MXG_REPLY_REJECT, false, &o), PASS_CLIENT);
	assert_int_equal(ask("192.0.2.9", "", "user", MXG_REPLY_REJECT, true, &o), PASS_NONE);
	assert_int_equal(ask("198.51.100.7", "", "user", MXG_REPLY_REJECT, false, &o), PASS_HELD);
	assert_int_equal(o.asked_held, 1);
	assert_int_equal(ask("198.51.100.7", "", "user", MXG_REPLY_REJECT, true, &o), PASS_NONE);
	assert_int_equal(o.asked_held, 1);
	assert_int_equal(o.asked_tuple, 0); /* reply = reject: no tuple */
}

/* pass_recipients pass before any live pass is renewed, and need no
 * client address; nothing else passes without one. */
static void test_recipients_first_and_without_a_client(void **state)
{
	struct owner o = {.held = true, .passes = true};

	assert_int_equal(ask("198.51.100.7", "", "postmaster", MXG_REPLY_GREYLIST, true, &o),
			 PASS_RECIPIENT);
	assert_int_equal(ask("198.51.100.7", "", "abuse", MXG_REPLY_REJECT, false, &o),
			 PASS_RECIPIENT);
	assert_int_equal(ask(NULL, "", "abuse", MXG_REPLY_REJECT, false, &o), PASS_RECIPIENT);
	assert_int_equal(ask(NULL, "", "user", MXG_REPLY_GREYLIST, false, &o), PASS_NONE);
	assert_int_equal(o.asked_held + o.asked_tuple, 0);
}

/* Greylisting: the tuple goes to its owner, who says whether it passed;
 * the responder's (lower-case sender) and the policy service's (as
 * Postfix sent it) hash alike. */
static void test_greylist_tuple_is_one_hash_for_both(void **state)
{
	struct mxg_ip ip;
	struct owner o = {0};
	uint64_t want;

	assert_int_equal(mxg_ip_parse("198.51.100.7", &ip), 0);
	want = greylist_tuple_hash(0, &ip, "bob@example.net", "user@example.org");
	assert_int_equal(
	    ask("198.51.100.7", "bob@example.net", "user", MXG_REPLY_GREYLIST, true, &o),
	    PASS_NONE);
	assert_int_equal(o.hash, want);
	o.passes = true;
	o.hash = 0;
	assert_int_equal(
	    ask("198.51.100.7", "Bob@Example.NET", "user", MXG_REPLY_GREYLIST, false, &o),
	    PASS_GREYLIST);
	assert_int_equal(o.hash, want);
	/* Defer and reject make no tuple. */
	o.asked_tuple = 0;
	assert_int_equal(ask("198.51.100.7", "bob@example.net", "user", MXG_REPLY_DEFER, false, &o),
			 PASS_NONE);
	assert_int_equal(o.asked_tuple, 0);
	/* No recipient parsed: no tuple either. */
	assert_int_equal(
	    ask("198.51.100.7", "bob@example.net", NULL, MXG_REPLY_GREYLIST, false, &o), PASS_NONE);
	assert_int_equal(o.asked_tuple, 0);
}

static void test_split_rcpt(void **state)
{
	char local[16], dom[32];

	assert_true(
	    pass_split_rcpt("Post.Master@Example.ORG.", local, sizeof(local), dom, sizeof(dom)));
	assert_string_equal(local, "post.master");
	assert_string_equal(dom, "example.org");
	assert_false(pass_split_rcpt("@example.org", local, sizeof(local), dom, sizeof(dom)));
	assert_false(pass_split_rcpt("nodomain", local, sizeof(local), dom, sizeof(dom)));
	assert_false(pass_split_rcpt("averyveryverylonglocalpart@example.org", local, sizeof(local),
				     dom, sizeof(dom)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_clients_and_passes_only_in_front_of_the_gate),
	    cmocka_unit_test(test_recipients_first_and_without_a_client),
	    cmocka_unit_test(test_greylist_tuple_is_one_hash_for_both),
	    cmocka_unit_test(test_split_rcpt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
