// SPDX-License-Identifier: GPL-2.0-only
/* The handoff's connector, forked as the responder forks it: a request
 * gets a socket connected (or connecting) to the one configured address,
 * passed back with its id; a target that is down gets connect's error,
 * not a descriptor; the connector exits when the responder's end closes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "responder_connector.h"
#include "responder_int.h"

static char dir[64];

static socklen_t unix_addr(struct sockaddr_storage *ss, const char *name)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;

	memset(ss, 0, sizeof(*ss));
	un->sun_family = AF_UNIX;
	snprintf(un->sun_path, sizeof(un->sun_path), "%s/%s", dir, name);
	return sizeof(*un);
}

static int answer(int fd, uint64_t *id, int *conn, int *error)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, 5000), 1);
	return rsp_connector_take(fd, id, conn, error);
}

static void test_connects_to_the_one_address(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = unix_addr(&ss, "handoff");
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd, conn = -1, error = -1, st, a;
	uint64_t id = 0;
	char err[256] = "";
	pid_t pid;

	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(lfd, 8), 0);
	fd = rsp_connector_start(&ss, len, 0, 0, false, &pid, err, sizeof(err));
	assert_true(fd >= 0);

	assert_int_equal(rsp_connector_ask(fd, 7), 0);
	assert_int_equal(answer(fd, &id, &conn, &error), 1);
	assert_int_equal(id, 7);
	assert_int_equal(error, 0);
	assert_true(conn >= 0);
	a = accept(lfd, NULL, NULL);
	assert_true(a >= 0);
	assert_int_equal(write(conn, "x", 1), 1);
	assert_int_equal(read(a, err, 1), 1);
	close(a);
	close(conn);

	/* The listener gone: connect's error, no descriptor. */
	close(lfd);
	unlink(((struct sockaddr_un *)&ss)->sun_path);
	assert_int_equal(rsp_connector_ask(fd, 8), 0);
	assert_int_equal(answer(fd, &id, &conn, &error), 1);
	assert_int_equal(id, 8);
	assert_int_equal(conn, -1);
	assert_int_equal(error, ENOENT);

	/* The responder's end closes: the connector exits. */
	close(fd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* The responder under its seccomp allowlist can make no socket at all
 * (so it can connect nowhere itself), and still gets its connection to
 * the handoff address from the connector, and can splice octets through a
 * pipe of its own into it (the copy after DATA). */
static void test_confined_responder_reaches_only_the_target(void **state)
{
	struct sockaddr_storage ss;
	socklen_t len = unix_addr(&ss, "target");
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0), fd, st;
	char err[256] = "";
	pid_t pid, cpid;

	assert_int_equal(bind(lfd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(lfd, 8), 0);
	fd = rsp_connector_start(&ss, len, 0, 0, false, &cpid, err, sizeof(err));
	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint64_t id;
		int conn, error, s;

		prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
		if (responder_seccomp(err, sizeof(err)))
			_exit(10);
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s >= 0 || errno != EACCES)
			_exit(11);
		s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s >= 0 || errno != EACCES)
			_exit(12);
		if (rsp_connector_ask(fd, 1))
			_exit(13);
		/* epoll: the calls of the responder's own loop. */
		{
			struct epoll_event ev = {.events = EPOLLIN}, got;
			int ep = epoll_create1(0), rc;

			if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) ||
			    epoll_wait(ep, &got, 1, 5000) != 1)
				_exit(16);
			rc = rsp_connector_take(fd, &id, &conn, &error);
			if (rc != 1 || conn < 0 || id != 1 || error)
				_exit(14);
		}
		{
			int p[2];

			if (pipe2(p, O_NONBLOCK | O_CLOEXEC) || write(p[1], "spliced", 7) != 7 ||
			    splice(p[0], NULL, conn, NULL, 7, SPLICE_F_MOVE | SPLICE_F_NONBLOCK) !=
				7)
				_exit(15);
			_exit(0);
		}
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	{
		char got[8] = "";
		int a = accept(lfd, NULL, NULL);

		assert_true(a >= 0);
		assert_int_equal(read(a, got, sizeof(got)), 7);
		assert_memory_equal(got, "spliced", 7);
		close(a);
	}
	close(fd);
	assert_int_equal(waitpid(cpid, &st, 0), cpid);
	close(lfd);
	unlink(((struct sockaddr_un *)&ss)->sun_path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_connects_to_the_one_address),
	    cmocka_unit_test(test_confined_responder_reaches_only_the_target),
	};
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/mxg-conn-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(dir);
	return rc;
}
