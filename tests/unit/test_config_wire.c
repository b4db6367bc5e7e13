// SPDX-License-Identifier: GPL-2.0-only
/* A reload's config as the helper sends it: it comes back whole (domains,
 * their reply texts, the final domains); an error line comes back as a
 * refusal; a cut or damaged answer is refused, never half-applied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_wire.h"

static const char conf[] = "self = mx2.example.org\n"
			   "domains = example.org example.net b.example\n"
			   "interfaces = eth0\n"
			   "rise = 4\n"
			   "user = mxgate\n"
			   "pass_recipients = postmaster\n"
			   "[domain example.net]\n"
			   "reply = reject\n"
			   "reply_text = go to %p\n";

static void test_config_comes_back_whole(void **st)
{
	struct mxg_config a = {0}, b;
	char err[256], *buf;
	size_t len;

	assert_int_equal(config_load_string("t.conf", conf, &a, err, sizeof(err)), 0);
	/* As config_postfix.c fills it with domains_from = postfix. */
	a.final_domains = calloc(2, sizeof(*a.final_domains));
	assert_non_null(a.final_domains);
	strcpy(a.final_domains[0].name, "hosted.example");
	a.final_domains[1].from = MXG_FINAL_VIRTUAL_ALIAS;
	strcpy(a.final_domains[1].name, "alias.example");
	a.n_final_domains = 2;
	assert_int_equal(config_pack(&a, &buf, &len), 0);
	assert_int_equal(config_unpack(buf, len, &b, err, sizeof(err)), 0);
	assert_int_equal(b.rise, 4);
	assert_string_equal(b.user, "mxgate");
	assert_string_equal(b.self[0], "mx2.example.org");
	assert_int_equal(b.n_pass_recipients, 1);
	assert_int_equal(b.n_domains, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_string_equal(b.domains[i].name, a.domains[i].name);
		assert_int_equal(b.domains[i].reply, a.domains[i].reply);
		if (a.domains[i].reply_text)
			assert_string_equal(b.domains[i].reply_text, a.domains[i].reply_text);
		else
			assert_null(b.domains[i].reply_text);
	}
	assert_string_equal(config_domain_reply_text(&b, config_find_domain(&b, "example.net")),
			    "go to %p");
	assert_int_equal(b.n_final_domains, 2);
	assert_string_equal(b.final_domains[1].name, "alias.example");
	assert_int_equal(b.final_domains[1].from, MXG_FINAL_VIRTUAL_ALIAS);
	config_free(&b);

	/* Every cut short is refused, and leaves nothing to free. */
	for (size_t n = 0; n < len; n += 1 + n / 7) {
		assert_int_equal(config_unpack(buf, n, &b, err, sizeof(err)), -1);
		assert_null(b.domains);
	}
	free(buf);
	config_free(&a);
}

/* In steps of one domain, as the controller's loop reads a big answer:
 * the same config, and a cut answer is refused at its end, never taken. */
static void test_config_comes_back_in_steps(void **st)
{
	struct mxg_config a = {0}, b;
	struct config_unpacker u;
	char err[256], *buf;
	size_t len;
	int r, steps = 0;

	assert_int_equal(config_load_string("t.conf", conf, &a, err, sizeof(err)), 0);
	assert_int_equal(config_pack(&a, &buf, &len), 0);
	assert_int_equal(config_unpack_begin(&u, buf, len, &b, err, sizeof(err)), 0);
	while ((r = config_unpack_more(&u, &b, 1, err, sizeof(err))) == 1)
		steps++;
	assert_int_equal(r, 0);
	assert_int_equal(steps, 2);
	assert_int_equal(b.n_domains, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(b.domains[i].name, a.domains[i].name);
	assert_string_equal(config_domain_reply_text(&b, config_find_domain(&b, "example.net")),
			    "go to %p");
	config_free(&b);
	assert_int_equal(config_unpack_begin(&u, buf, len - 1, &b, err, sizeof(err)), 0);
	while ((r = config_unpack_more(&u, &b, 1, err, sizeof(err))) == 1)
		;
	assert_int_equal(r, -1);
	assert_null(b.domains);
	free(buf);
	config_free(&a);
}

static void test_error_comes_back_as_refusal(void **st)
{
	struct mxg_config b;
	char err[256], *buf;
	size_t len;

	assert_int_equal(config_pack_error("t.conf:4: rise: not a number: often", &buf, &len), 0);
	assert_int_equal(config_unpack(buf, len, &b, err, sizeof(err)), 1);
	assert_string_equal(err, "t.conf:4: rise: not a number: often");
	free(buf);
}

static void test_damaged_counts_refused(void **st)
{
	struct mxg_config a = {0}, b;
	char err[256], *buf;
	size_t len, at = 8 + 4 + offsetof(struct mxg_config, n_domains);

	assert_int_equal(config_load_string("t.conf", conf, &a, err, sizeof(err)), 0);
	assert_int_equal(config_pack(&a, &buf, &len), 0);
	/* More domains than were sent. */
	memset(buf + at, 0x7f, sizeof(size_t));
	assert_int_equal(config_unpack(buf, len, &b, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "incomplete or malformed"));
	free(buf);
	config_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_comes_back_whole),
	    cmocka_unit_test(test_config_comes_back_in_steps),
	    cmocka_unit_test(test_error_comes_back_as_refusal),
	    cmocka_unit_test(test_damaged_counts_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
