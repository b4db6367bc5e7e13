// SPDX-License-Identifier: GPL-2.0-only
/* The controller <-> responder messages: what is encoded comes back the
 * same (sorted, normalised); anything malformed is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "responder_wire.h"

/* The strings are copied into a pool (callers pass stack buffers). */
static char pool[1 << 20];
static size_t pool_used;

static const char *keep(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = pool + pool_used;

	assert_true(pool_used + n <= sizeof(pool));
	memcpy(p, s, n);
	pool_used += n;
	return p;
}

static void fill(struct responder_domain *d, const char *name, int state, int reply,
		 const char *primary, const char *text)
{
	memset(d, 0, sizeof(*d));
	d->name = keep(name);
	d->state = (uint8_t)state;
	d->reply = (uint8_t)reply;
	d->primary = keep(primary);
	d->reply_text = keep(text);
}

/* Encode (and build: the same bytes), check the header, decode the
 * payload. */
static int roundtrip(const struct responder_domain *in, size_t n, struct responder_domain **out,
		     uint8_t **raw, size_t *rawlen)
{
	struct responder_wire_hdr h;
	int rc = responder_wire_encode(in, n, raw, rawlen);

	struct responder_wire_builder b = {0};
	uint8_t *built;
	size_t built_len;

	if (rc)
		return rc;
	/* Built a record at a time: the very same bytes. */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(responder_wire_build_add(&b, &in[i]), 0);
	assert_int_equal(responder_wire_build_end(&b, &built, &built_len), 0);
	assert_int_equal(built_len, *rawlen);
	assert_memory_equal(built, *raw, built_len);
	free(built);
	memcpy(&h, *raw, sizeof(h));
	assert_int_equal(responder_wire_check_hdr(&h), 0);
	assert_int_equal(h.type, RESPONDER_MSG_DOMAINS);
	assert_int_equal(h.count, n);
	assert_int_equal(h.len, *rawlen - sizeof(h));
	return responder_wire_decode(*raw + sizeof(h), h.len, h.count, out);
}

static void test_roundtrip_sorted_and_normalised(void **state)
{
	struct responder_domain in[3], *out;
	uint8_t *raw;
	size_t len;

	fill(&in[0], "zeta.test", MXG_DOMAIN_OPEN, MXG_REPLY_REJECT, "", "");
	fill(&in[1], "Example.TEST.", MXG_DOMAIN_GATED, MXG_REPLY_DEFER, "mx1.example.test",
	     "%d: go to %p (100%%)");
	fill(&in[2], "alpha.test", MXG_DOMAIN_UNKNOWN, MXG_REPLY_REJECT, "", "");
	assert_int_equal(roundtrip(in, 3, &out, &raw, &len), 0);
	assert_string_equal(out[0].name, "alpha.test");
	assert_string_equal(out[1].name, "example.test");
	assert_int_equal(out[1].state, MXG_DOMAIN_GATED);
	assert_int_equal(out[1].reply, MXG_REPLY_DEFER);
	assert_string_equal(out[1].primary, "mx1.example.test");
	assert_string_equal(out[1].reply_text, "%d: go to %p (100%%)");
	assert_string_equal(out[2].name, "zeta.test");
	free(out);
	free(raw);
	/* An empty table is a valid table. */
	assert_int_equal(roundtrip(in, 0, &out, &raw, &len), 0);
	free(out);
	free(raw);
}

static void test_full_size_table(void **state)
{
	size_t n = 4096; /* a table; the bound itself is checked below */
	struct responder_domain *in = calloc(n, sizeof(*in)), *out;
	uint8_t *raw;
	size_t len;

	assert_non_null(in);
	for (size_t i = 0; i < n; i++) {
		char name[64];

		snprintf(name, sizeof(name), "d%05zu.test", i);
		fill(&in[i], name, MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx.test", "");
	}
	assert_int_equal(roundtrip(in, n, &out, &raw, &len), 0);
	assert_string_equal(out[n - 1].name, "d04095.test");
	free(out);
	free(raw);
	/* Sorted but for its last two (the controller's order is checked,
	 * and anything else sorted): still found by name. */
	fill(&in[n - 1], "d04094.test", MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx.test", "");
	fill(&in[n - 2], "d04095.test", MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx.test", "");
	assert_int_equal(roundtrip(in, n, &out, &raw, &len), 0);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(out[i - 1].name, out[i].name) < 0);
	free(out);
	free(raw);
	assert_int_equal(responder_wire_encode(in, (size_t)MXG_MAX_DOMAINS + 1, &raw, &len),
			 -E2BIG);
	free(in);
}

static void test_malformed_is_refused(void **state)
{
	struct responder_domain in[1], *out;
	struct responder_wire_hdr h;
	uint8_t *raw, *p;
	size_t len, plen;

	fill(&in[0], "example.test", MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "mx1.example.test", "");
	assert_int_equal(responder_wire_encode(in, 1, &raw, &len), 0);
	memcpy(&h, raw, sizeof(h));
	p = raw + sizeof(h);
	plen = len - sizeof(h);

	assert_int_equal(responder_wire_decode(p, plen - 1, 1, &out), -EBADMSG);
	assert_int_equal(responder_wire_decode(p, plen, 2, &out), -EBADMSG);
	assert_int_equal(responder_wire_decode(p, plen, 0, &out), -EBADMSG); /* trailing bytes */
	p[0] = 9;							     /* state */
	assert_int_equal(responder_wire_decode(p, plen, 1, &out), -EBADMSG);
	p[0] = MXG_DOMAIN_GATED;
	p[1] = 5; /* reply */
	assert_int_equal(responder_wire_decode(p, plen, 1, &out), -EBADMSG);
	p[1] = MXG_REPLY_REJECT;
	p[RESPONDER_REC_FIXED + 3] = '\n'; /* a control byte in the name */
	assert_int_equal(responder_wire_decode(p, plen, 1, &out), -EBADMSG);
	p[RESPONDER_REC_FIXED + 3] = 'm';
	p[2] = 0; /* empty name */
	assert_int_equal(responder_wire_decode(p, plen, 1, &out), -EBADMSG);
	p[2] = 200; /* longer than the payload */
	assert_int_equal(responder_wire_decode(p, plen, 1, &out), -EBADMSG);

	h.magic ^= 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.magic ^= 1;
	h.count = MXG_MAX_DOMAINS + 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.count = 1;
	h.len = 0xffffffffu;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.len = 3; /* smaller than one record */
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.type = 77;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	free(raw);

	fill(&in[0], "", MXG_DOMAIN_GATED, MXG_REPLY_REJECT, "", "");
	assert_int_equal(responder_wire_encode(in, 1, &raw, &len), -EINVAL);
}

/* Responder -> controller: COUNTS and OFFENDERS come back as sent;
 * anything a compromised responder could make up is refused. */
static void test_reports_roundtrip_and_checks(void **state)
{
	struct responder_counts c = {.sessions = 7, .refused = 1, .offenders = 2};
	struct responder_offender o[RESPONDER_OFFENDERS_MAX + 1] = {0};
	struct responder_wire_hdr h;
	uint8_t buf[4096];
	struct mxg_ip ip;
	char a[MXG_ADDRSTRLEN];
	int n;

	c.replies[RESPONDER_CODE_551] = 3;
	n = responder_wire_encode_counts(&c, buf, sizeof(buf));
	assert_int_equal(n, sizeof(h) + sizeof(c));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(responder_wire_check_hdr(&h), 0);
	assert_int_equal(h.type, RESPONDER_MSG_COUNTS);
	assert_memory_equal(buf + sizeof(h), &c, sizeof(c));
	assert_int_equal(responder_wire_encode_counts(&c, buf, sizeof(c)), -E2BIG);
	h.len--;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.len++;
	h.count = 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);

	o[0].when_ms = 1000;
	o[0].family = 4;
	memcpy(o[0].addr, (uint8_t[]){192, 0, 2, 30}, 4);
	o[1].when_ms = 1000;
	o[1].family = 6;
	o[1].addr[0] = 0x20;
	o[1].addr[1] = 0x01;
	o[1].addr[15] = 0x30;
	n = responder_wire_encode_offenders(o, 2, buf, sizeof(buf));
	assert_int_equal(n, sizeof(h) + 2 * sizeof(o[0]));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(responder_wire_check_hdr(&h), 0);
	assert_int_equal(h.count, 2);
	assert_int_equal(responder_wire_offender(&o[0], 1000, &ip), 0);
	assert_string_equal(mxg_ip_str(&ip, a, sizeof(a)), "192.0.2.30");
	assert_int_equal(responder_wire_offender(&o[1], 1000, &ip), 0);
	assert_string_equal(mxg_ip_str(&ip, a, sizeof(a)), "2001::30");

	/* Sizes: none, too many, a length that does not match the count. */
	assert_int_equal(responder_wire_encode_offenders(o, 0, buf, sizeof(buf)), -E2BIG);
	assert_int_equal(
	    responder_wire_encode_offenders(o, RESPONDER_OFFENDERS_MAX + 1, buf, sizeof(buf)),
	    -E2BIG);
	h.count = RESPONDER_OFFENDERS_MAX + 1;
	h.len = h.count * sizeof(o[0]);
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.count = 2;
	h.len = 2 * sizeof(o[0]) + 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.count = 0;
	h.len = 0;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);

	/* Fields: family, padding, stray octets after an IPv4 address, time. */
	o[0].family = 5;
	assert_int_equal(responder_wire_offender(&o[0], 1000, &ip), -EBADMSG);
	o[0].family = 4;
	o[0].pad[3] = 1;
	assert_int_equal(responder_wire_offender(&o[0], 1000, &ip), -EBADMSG);
	o[0].pad[3] = 0;
	o[0].addr[9] = 1;
	assert_int_equal(responder_wire_offender(&o[0], 1000, &ip), -EBADMSG);
	o[0].addr[9] = 0;
	o[0].when_ms = 1000000;
	assert_int_equal(responder_wire_offender(&o[0], 1000, &ip), -EBADMSG);

	assert_string_equal(responder_code_str(RESPONDER_CODE_421), "421");
	assert_string_equal(responder_code_str(RESPONDER_CODE_OTHER), "other");
	assert_int_equal(responder_code_of(551), RESPONDER_CODE_551);
	assert_int_equal(responder_code_of(250), RESPONDER_CODE_OTHER);
}

/* The heartbeat: ACK carries the table number, nothing else. */
/* UNSERVED: names out and back; bounds and bad octets refused. */
static void test_unserved_roundtrip_and_checks(void **state)
{
	static const char names[2][254] = {"extra.test", "[192.0.2.20]"};
	uint8_t buf[1024];
	struct responder_wire_hdr h;
	char out[254];
	const uint8_t *p;
	size_t left;
	int n, used;

	n = responder_wire_encode_unserved(names, 2, buf, sizeof(buf));
	assert_true(n > (int)sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(responder_wire_check_hdr(&h), 0);
	assert_int_equal(h.type, RESPONDER_MSG_UNSERVED);
	assert_int_equal(h.count, 2);
	p = buf + sizeof(h);
	left = h.len;
	used = responder_wire_unserved_next(p, left, out);
	assert_true(used > 0);
	assert_string_equal(out, "extra.test");
	p += used;
	left -= (size_t)used;
	used = responder_wire_unserved_next(p, left, out);
	assert_true(used > 0);
	assert_string_equal(out, "[192.0.2.20]");
	assert_int_equal(responder_wire_unserved_next(p + used, left - (size_t)used, out), 0);
	/* A record longer than the payload, a space, a zero length. */
	assert_int_equal(responder_wire_unserved_next((const uint8_t *)"\x05"
								       "ab",
						      3, out),
			 -EBADMSG);
	assert_int_equal(responder_wire_unserved_next((const uint8_t *)"\x03"
								       "a b",
						      4, out),
			 -EBADMSG);
	assert_int_equal(responder_wire_unserved_next((const uint8_t *)"\x00", 1, out), -EBADMSG);
	assert_int_equal(responder_wire_encode_unserved(names, 0, buf, sizeof(buf)), -E2BIG);
	assert_int_equal(responder_wire_encode_unserved(names, 2, buf, 20), -E2BIG);
	h.count = RESPONDER_UNSERVED_MAX + 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
}

static void test_ack_roundtrip_and_checks(void **state)
{
	struct responder_wire_hdr h;
	uint8_t buf[64];
	int n;

	n = responder_wire_encode_ack(7, buf, sizeof(buf));
	assert_int_equal(n, sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(responder_wire_check_hdr(&h), 0);
	assert_int_equal(h.type, RESPONDER_MSG_ACK);
	assert_int_equal(h.count, 7);
	assert_int_equal(h.len, 0);
	n = responder_wire_encode_ack(UINT32_MAX, buf, sizeof(buf));
	assert_int_equal(n, sizeof(h));

	/* Table 0 does not exist; no room; a payload; a bad magic/version. */
	assert_int_equal(responder_wire_encode_ack(0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(responder_wire_encode_ack(1, buf, sizeof(h) - 1), -E2BIG);
	h.count = 0;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.count = 1;
	h.len = 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.len = sizeof(struct responder_counts);
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.len = 0;
	assert_int_equal(responder_wire_check_hdr(&h), 0);
	h.version = RESPONDER_VERSION + 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.version = RESPONDER_VERSION;
	h.magic ^= 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.magic ^= 1;
	h.type = RESPONDER_MSG_ACK + 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
}

/* SAME: the header alone, count 0 and len 0; anything else is refused. */
static void test_same_encode_and_checks(void **state)
{
	struct responder_wire_hdr h;
	uint8_t buf[64];

	assert_int_equal(responder_wire_encode_same(buf, sizeof(buf)), sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(responder_wire_check_hdr(&h), 0);
	assert_int_equal(h.type, RESPONDER_MSG_SAME);
	assert_int_equal(h.count, 0);
	assert_int_equal(h.len, 0);
	assert_int_equal(responder_wire_encode_same(buf, sizeof(h) - 1), -E2BIG);

	/* A count (it is not a table of one), a payload, both. */
	h.count = 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.count = 0;
	h.len = 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
	h.count = 1;
	h.len = RESPONDER_REC_FIXED + 1;
	assert_int_equal(responder_wire_check_hdr(&h), -EBADMSG);
}

/* The one reader (responder_wire_read.c): a message in one-octet pieces,
 * then the next; a type this end does not take; the end of the stream. */
static void test_reader_pieces_types_eof(void **state)
{
	struct responder_counts cnt = {.sessions = 7};
	struct responder_wire_reader rd;
	uint8_t buf[256];
	int sv[2], len, rc;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	responder_wire_reader_init(
	    &rd, RESPONDER_WIRE_TYPE(RESPONDER_MSG_COUNTS) | RESPONDER_WIRE_TYPE(RESPONDER_MSG_ACK),
	    sizeof(cnt));
	assert_int_equal(responder_wire_read(&rd, sv[0]), -EAGAIN);
	len = responder_wire_encode_counts(&cnt, buf, sizeof(buf));
	assert_true(len > 0);
	for (int i = 0; i < len; i++) {
		assert_int_equal(send(sv[1], buf + i, 1, 0), 1);
		rc = responder_wire_read(&rd, sv[0]);
		assert_int_equal(rc, i == len - 1 ? 1 : 0);
	}
	assert_int_equal(rd.hdr.type, RESPONDER_MSG_COUNTS);
	assert_int_equal(rd.hdr.len, sizeof(cnt));
	assert_memory_equal(rd.payload, &cnt, sizeof(cnt));
	/* A message without payload right behind it. */
	len = responder_wire_encode_ack(3, buf, sizeof(buf));
	assert_int_equal(send(sv[1], buf, (size_t)len, 0), len);
	assert_int_equal(responder_wire_read(&rd, sv[0]), 1);
	assert_int_equal(rd.hdr.type, RESPONDER_MSG_ACK);
	assert_int_equal(rd.hdr.count, 3);
	assert_null(rd.payload);
	/* A valid message of a type this end does not take. */
	{
		struct responder_offender o = {.when_ms = 1, .family = 4};

		len = responder_wire_encode_offenders(&o, 1, buf, sizeof(buf));
		assert_int_equal(send(sv[1], buf, (size_t)len, 0), len);
		assert_int_equal(responder_wire_read(&rd, sv[0]), -EBADMSG);
	}
	/* Out of step now: the caller closes; here, skip its payload. */
	assert_int_equal(recv(sv[0], buf, sizeof(struct responder_offender), 0),
			 (ssize_t)sizeof(struct responder_offender));
	responder_wire_reader_free(&rd);
	/* The end of the stream. */
	close(sv[1]);
	assert_int_equal(responder_wire_read(&rd, sv[0]), -EPIPE);
	responder_wire_reader_free(&rd);
	close(sv[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_sorted_and_normalised),
	    cmocka_unit_test(test_full_size_table),
	    cmocka_unit_test(test_malformed_is_refused),
	    cmocka_unit_test(test_reports_roundtrip_and_checks),
	    cmocka_unit_test(test_ack_roundtrip_and_checks),
	    cmocka_unit_test(test_same_encode_and_checks),
	    cmocka_unit_test(test_unserved_roundtrip_and_checks),
	    cmocka_unit_test(test_reader_pieces_types_eof),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
