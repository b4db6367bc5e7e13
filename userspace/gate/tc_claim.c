// SPDX-License-Identifier: GPL-2.0-only
/* One tc gate per interface; see tc_claim.h. */
#include "tc_claim.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define TC_CLAIM_WAIT_MS 5000 /* for a daemon still stopping (systemd restart) */
#define TC_CLAIM_STEP_MS 50
#define TC_CLAIM_BACKLOG 16 /* questions of other daemons, never accepted */
#define TC_CLAIMS_MAX 64    /* claims of one process (interfaces, MXG_MAX_INTERFACES) */

static int claimed[TC_CLAIMS_MAX]; /* descriptors of our claims; 0: free slot */

static void remember(int fd, bool keep)
{
	for (size_t i = 0; i < TC_CLAIMS_MAX; i++)
		if (keep ? !claimed[i] : claimed[i] == fd + 1) {
			claimed[i] = keep ? fd + 1 : 0;
			return;
		}
}

static socklen_t claim_addr(struct sockaddr_un *sa, const char *ifname)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace; the name is what follows. */
	n = snprintf(sa->sun_path + 1, sizeof(sa->sun_path) - 1, "mxgate/tc/%s", ifname);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

/* Who listens on the name: 0 and *cred, or a negative errno (-EAGAIN:
 * its queue is full, nobody to ask). Non-blocking: a full queue of a
 * unix listener would block connect() for good. */
static int holder(const struct sockaddr_un *sa, socklen_t len, struct ucred *cred)
{
	socklen_t cl = sizeof(*cred);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), ret = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)sa, len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &cl) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int tc_claim(const char *ifname, int *fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	socklen_t len = claim_addr(&sa, ifname);
	struct timespec step = {0, TC_CLAIM_STEP_MS * 1000000L};
	struct ucred cred = {0};
	int s, r = 0;

	*fd = -1;
	for (int waited = 0;; waited += TC_CLAIM_STEP_MS) {
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0) {
			snprintf(err, errlen, "interface %s: cannot claim it: socket: %s", ifname,
				 strerror(errno));
			return -errno;
		}
		/* listen: a second daemon learns who we are by connecting;
		 * nothing is ever accepted (a few wait in the queue). */
		if (bind(s, (struct sockaddr *)&sa, len) == 0 && listen(s, TC_CLAIM_BACKLOG) == 0) {
			*fd = s;
			remember(s, true);
			return 0;
		}
		r = errno;
		close(s);
		if (r != EADDRINUSE) {
			snprintf(err, errlen, "interface %s: cannot claim it: %s", ifname,
				 strerror(r));
			return -r;
		}
		/* Asked once at the first refusal and once at the end: each
		 * question waits in the holder's queue. */
		if ((!waited || waited >= TC_CLAIM_WAIT_MS) && holder(&sa, len, &cred) == 0 &&
		    cred.uid != geteuid()) {
			log_warn("interface %s: the name that marks its tc gate is held by pid %ld "
				 "of uid %ld, not an mxgated; gating it anyway",
				 ifname, (long)cred.pid, (long)cred.uid);
			return 0;
		}
		if (waited >= TC_CLAIM_WAIT_MS)
			break;
		nanosleep(&step, NULL);
	}
	if (cred.pid)
		snprintf(err, errlen,
			 "interface %s: another mxgated (pid %ld) gates it already; two would "
			 "replace each other's tc filter: stop it, or gate another interface",
			 ifname, (long)cred.pid);
	else
		snprintf(err, errlen,
			 "interface %s: another mxgated gates it already; two would replace "
			 "each other's tc filter: stop it, or gate another interface",
			 ifname);
	return -EBUSY;
}

void tc_unclaim(int fd)
{
	if (fd < 0)
		return;
	remember(fd, false);
	close(fd);
}

void tc_claims_close_inherited(void)
{
	for (size_t i = 0; i < TC_CLAIMS_MAX; i++)
		if (claimed[i]) {
			close(claimed[i] - 1);
			claimed[i] = 0;
		}
}
