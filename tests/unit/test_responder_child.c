// SPDX-License-Identifier: GPL-2.0-only
/* The responder child's side of the domain table push (responder_proc.c),
 * run in a fork the way responder_spawn() runs it, without listening
 * sockets: a SAME after a table is acknowledged like a table; a SAME
 * before any table is a bad message, and the child exits 1 unacknowledged. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config.h"
#include "responder_int.h"
#include "responder_wire.h"

#define CHILD_WAIT_MS 5000 /* any answer of a healthy child takes milliseconds */

static struct mxg_config cfg;

static int setup(void **state)
{
	char err[256];

	memset(&cfg, 0, sizeof(cfg));
	return config_load_string("t.conf",
				  "self = mx2.example.org\ndomains = example.org\n"
				  "interfaces = eth0\n",
				  &cfg, err, sizeof(err));
}

static int teardown(void **state)
{
	config_free(&cfg);
	return 0;
}

/* The child on one end of a socketpair; the other end in *ctl. */
static pid_t child_start(int *ctl)
{
	int sv[2];
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		close(sv[0]);
		_exit(responder_child_run(&cfg, -1, -1, MXG_SMTP_PORT, sv[1], NULL, -1));
	}
	close(sv[1]);
	*ctl = sv[0];
	return pid;
}

static int child_status(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void send_all(int fd, const uint8_t *p, size_t len)
{
	assert_int_equal(send(fd, p, len, MSG_NOSIGNAL), (ssize_t)len);
}

static void send_same(int fd)
{
	uint8_t buf[sizeof(struct responder_wire_hdr)];

	assert_int_equal(responder_wire_encode_same(buf, sizeof(buf)), sizeof(buf));
	send_all(fd, buf, sizeof(buf));
}

/* The next ACK from the child (other reports are skipped): 0 and its
 * number in *seq; -EPIPE when the child closed; -ETIMEDOUT. */
static int next_ack(int fd, uint32_t *seq)
{
	struct responder_wire_reader rd;
	int rc;

	responder_wire_reader_init(&rd, ~0u, 1 << 16);
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};

		if (poll(&p, 1, CHILD_WAIT_MS) != 1) {
			rc = -ETIMEDOUT;
			break;
		}
		rc = responder_wire_read(&rd, fd);
		if (rc == 1 && rd.hdr.type == RESPONDER_MSG_ACK) {
			*seq = rd.hdr.count;
			rc = 0;
			break;
		}
		if (rc < 0 && rc != -EAGAIN)
			break;
	}
	responder_wire_reader_free(&rd);
	return rc;
}

static void test_same_after_a_table_is_acknowledged(void **state)
{
	struct responder_domain d = {.name = "example.org",
				     .state = MXG_DOMAIN_GATED,
				     .reply = MXG_REPLY_REJECT,
				     .primary = "mx1.example.org",
				     .reply_text = ""};
	uint8_t *table;
	size_t len;
	uint32_t seq = 0;
	int ctl;
	pid_t pid = child_start(&ctl);

	assert_int_equal(responder_wire_encode(&d, 1, &table, &len), 0);
	send_all(ctl, table, len);
	free(table);
	assert_int_equal(next_ack(ctl, &seq), 0);
	assert_int_equal(seq, 1);
	/* Each SAME counts like a table: the heartbeat goes on. */
	send_same(ctl);
	assert_int_equal(next_ack(ctl, &seq), 0);
	assert_int_equal(seq, 2);
	send_same(ctl);
	assert_int_equal(next_ack(ctl, &seq), 0);
	assert_int_equal(seq, 3);
	/* The controller gone: a clean exit. */
	close(ctl);
	assert_int_equal(child_status(pid), 0);
}

static void test_same_before_any_table_ends_the_child(void **state)
{
	uint32_t seq = 0;
	int ctl;
	pid_t pid = child_start(&ctl);

	send_same(ctl);
	assert_int_equal(next_ack(ctl, &seq), -EPIPE);
	assert_int_equal(child_status(pid), 1);
	close(ctl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_after_a_table_is_acknowledged),
	    cmocka_unit_test(test_same_before_any_table_ends_the_child),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
