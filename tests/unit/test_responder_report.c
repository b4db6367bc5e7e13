// SPDX-License-Identifier: GPL-2.0-only
/* The responder's reports to the controller: COUNTS only when something
 * changed, offenders deduplicated and bounded, and a controller that does
 * not read never makes the child's memory or the stream grow or break. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "responder_report.h"

static int sv[2];
static struct responder_report rep;

static int setup(void **state)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	report_init(&rep, sv[0]);
	return 0;
}

static int teardown(void **state)
{
	close(sv[0]);
	close(sv[1]);
	return 0;
}

/* Read one message from the controller's end with the controller's
 * reader; its type, or -1 for none. A message may have been sent in part,
 * so let the reporter flush the rest while we read. */
static int read_msg(struct responder_wire_hdr *h, uint8_t *payload, size_t max)
{
	struct responder_wire_reader rd;
	int rc = -EAGAIN, type = -1;

	responder_wire_reader_init(&rd, ~0u, max);
	for (int tries = 0; tries < 100 && rc != 1; tries++) {
		rc = responder_wire_read(&rd, sv[1]);
		if (rc == -EAGAIN && !rd.hdr_got)
			break; /* nothing sent */
		if (rc == -EAGAIN)
			report_flush(&rep);
		else
			assert_true(rc == 0 || rc == 1);
	}
	if (rc == 1) {
		*h = rd.hdr;
		if (h->len)
			memcpy(payload, rd.payload, h->len);
		type = h->type;
	} else {
		assert_int_equal(rd.hdr_got, 0); /* no message cut short */
	}
	responder_wire_reader_free(&rd);
	return type;
}

static void test_counts_only_when_changed(void **state)
{
	struct responder_wire_hdr h;
	struct responder_counts c;

	report_tick(&rep);
	assert_int_equal(read_msg(&h, (uint8_t *)&c, sizeof(c)), -1); /* nothing yet */
	rep.cnt.sessions = 2;
	rep.cnt.replies[RESPONDER_CODE_551] = 1;
	report_tick(&rep);
	assert_int_equal(read_msg(&h, (uint8_t *)&c, sizeof(c)), RESPONDER_MSG_COUNTS);
	assert_int_equal(c.sessions, 2);
	assert_int_equal(c.replies[RESPONDER_CODE_551], 1);
	report_tick(&rep);
	assert_int_equal(read_msg(&h, (uint8_t *)&c, sizeof(c)), -1);
}

static void test_offenders_deduplicated_and_bounded(void **state)
{
	struct responder_offender o[RESPONDER_OFFENDERS_MAX];
	struct responder_wire_hdr h;
	struct mxg_ip ip, back;
	char a[MXG_ADDRSTRLEN];

	mxg_ip_parse("192.0.2.30", &ip);
	report_offender(&rep, &ip, 10);
	report_offender(&rep, &ip, 20);
	mxg_ip_parse("2001:db8::30", &ip);
	report_offender(&rep, &ip, 30);
	report_tick(&rep);
	assert_int_equal(read_msg(&h, (uint8_t *)o, sizeof(o)), RESPONDER_MSG_OFFENDERS);
	assert_int_equal(h.count, 2);
	assert_int_equal(responder_wire_offender(&o[0], 1000, &back), 0);
	assert_string_equal(mxg_ip_str(&back, a, sizeof(a)), "192.0.2.30");
	assert_int_equal(o[0].when_ms, 20); /* the latest try */
	assert_int_equal(responder_wire_offender(&o[1], 1000, &back), 0);
	assert_string_equal(mxg_ip_str(&back, a, sizeof(a)), "2001:db8::30");

	/* A flood of distinct clients in one second: the first 64 go, the
	 * rest are counted as dropped. */
	for (unsigned i = 0; i < RESPONDER_OFFENDERS_MAX + 10; i++) {
		ip.family = AF_INET;
		ip.v4.s_addr = htonl(0xc6336400u + i);
		report_offender(&rep, &ip, 40);
	}
	assert_int_equal(rep.dropped, 10);
	report_tick(&rep);
	assert_int_equal(read_msg(&h, (uint8_t *)o, sizeof(o)), RESPONDER_MSG_OFFENDERS);
	assert_int_equal(h.count, RESPONDER_OFFENDERS_MAX);
}

static void test_controller_not_reading(void **state)
{
	struct responder_wire_hdr h;
	struct responder_counts c, last = {0};
	int snd = 4096, msgs = 0;

	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	for (int i = 0; i < 10000; i++) {
		rep.cnt.sessions++;
		report_tick(&rep);
		assert_true(rep.out_len <= sizeof(rep.out));
	}
	/* The stream is still made of whole messages, and the latest counts
	 * arrive once the controller reads again. */
	while (read_msg(&h, (uint8_t *)&c, sizeof(c)) == RESPONDER_MSG_COUNTS) {
		assert_true(c.sessions > last.sessions);
		last = c;
		msgs++;
		if (!report_flush(&rep) && rep.out_len == 0 && c.sessions == rep.cnt.sessions)
			break;
	}
	assert_true(msgs > 0);
	report_tick(&rep);
	while (read_msg(&h, (uint8_t *)&c, sizeof(c)) == RESPONDER_MSG_COUNTS)
		last = c;
	assert_int_equal(last.sessions, 10000);
}

/* An ACK that finds the buffer full waits for room instead of being
 * skipped: the controller kills a child whose table goes unacknowledged. */
static void test_ack_waits_for_room(void **state)
{
	struct responder_wire_hdr h;
	uint8_t buf[sizeof(struct responder_counts)];
	int snd = 4096, type;
	uint32_t seq = 0, last = 0;

	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	/* Tables installed while the controller does not read, until an ACK
	 * finds no room. */
	do
		report_ack(&rep, ++seq);
	while (!rep.ack_seq && seq < 100000);
	assert_int_equal(rep.ack_seq, seq);
	assert_true(rep.out_len <= sizeof(rep.out));
	/* The controller reads again: the newest table is acknowledged. */
	while ((type = read_msg(&h, buf, sizeof(buf))) >= 0) {
		assert_int_equal(type, RESPONDER_MSG_ACK);
		assert_true(h.count > last);
		last = h.count;
		report_flush(&rep);
	}
	assert_int_equal(last, seq);
	assert_int_equal(rep.ack_seq, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_counts_only_when_changed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_offenders_deduplicated_and_bounded, setup,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_controller_not_reading, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ack_waits_for_room, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
