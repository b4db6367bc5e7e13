// SPDX-License-Identifier: GPL-2.0-only
/* The control socket server; see control.h. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct control_client {
	struct control *ctl;
	int fd;
	char req[CONTROL_MAX_REQUEST];
	size_t req_len;
	struct sbuf reply;
	size_t sent;
	struct ev_timer timeout;
	bool used;
	bool streaming; /* more() has more to say */
	uint64_t cursor;
};

struct control {
	struct ev_loop *loop;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler handler;
	control_more more;
	void *arg;
	dev_t dev; /* of the socket file we bound: unlink only that one */
	ino_t ino;
	struct control_client clients[CONTROL_MAX_CLIENTS];
	size_t n_clients;
};

static void control_accept(struct ev_loop *loop, int fd, unsigned events, void *arg);

static void client_close(struct control_client *cl)
{
	struct control *c = cl->ctl;

	ev_io_del(c->loop, cl->fd);
	ev_timer_stop(c->loop, &cl->timeout);
	close(cl->fd);
	sbuf_free(&cl->reply);
	cl->used = false;
	/* Below the limit again: listen for the next client. */
	if (c->n_clients-- == CONTROL_MAX_CLIENTS)
		ev_io_mod(c->loop, c->fd, EV_READ);
}

static void client_timeout(struct ev_loop *loop, void *arg)
{
	client_close(arg);
}

static void client_write(struct control_client *cl)
{
	struct control *c = cl->ctl;
	bool produced = false;

	for (;;) {
		while (cl->sent < cl->reply.len) {
			ssize_t n = send(cl->fd, cl->reply.buf + cl->sent, cl->reply.len - cl->sent,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (n <= 0) {
				client_close(cl);
				return;
			}
			cl->sent += (size_t)n;
			/* A reader that keeps reading keeps its answer alive;
			 * one we cannot time out any more, we do not keep. */
			if (ev_timer_start(c->loop, &cl->timeout, CONTROL_TIMEOUT_MS) < 0) {
				client_close(cl);
				return;
			}
		}
		if (!cl->streaming)
			break;
		/* One part per loop iteration: the socket stays writable, so
		 * the loop comes back here after serving everyone else. */
		if (produced)
			return;
		produced = true;
		cl->reply.len = 0;
		cl->sent = 0;
		cl->streaming = c->more(c->arg, cl->req, &cl->cursor, &cl->reply);
		if (cl->reply.failed) {
			cl->reply.failed = false;
			sbuf_printf(&cl->reply, "\nerror: answer truncated\n");
			cl->streaming = false;
		}
	}
	client_close(cl);
}

void control_set_more(struct control *c, control_more more)
{
	c->more = more;
}

static void client_answer(struct control_client *cl)
{
	char *nl = memchr(cl->req, '\n', cl->req_len);
	size_t len = nl ? (size_t)(nl - cl->req) : cl->req_len;

	if (len && cl->req[len - 1] == '\r')
		len--;
	cl->req[len] = '\0';
	cl->ctl->handler(cl->ctl->arg, cl->req, &cl->reply);
	if (cl->reply.failed) {
		/* A failed buffer takes nothing more: clear the flag so the
		 * client learns the answer is not whole. */
		cl->reply.failed = false;
		sbuf_printf(&cl->reply, "\nerror: answer truncated\n");
	} else {
		cl->streaming = cl->ctl->more != NULL;
	}
	ev_io_mod(cl->ctl->loop, cl->fd, EV_WRITE);
	client_write(cl);
}

static void client_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct control_client *cl = arg;
	ssize_t n;

	if (events & EV_WRITE) {
		client_write(cl);
		return;
	}
	n = recv(fd, cl->req + cl->req_len, sizeof(cl->req) - 1 - cl->req_len, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n < 0) {
		client_close(cl);
		return;
	}
	cl->req_len += (size_t)n;
	if (n == 0 || memchr(cl->req, '\n', cl->req_len)) {
		client_answer(cl);
		return;
	}
	if (cl->req_len >= sizeof(cl->req) - 1) {
		sbuf_printf(&cl->reply, "error: request longer than %d bytes\n",
			    CONTROL_MAX_REQUEST - 1);
		ev_io_mod(loop, fd, EV_WRITE);
		client_write(cl);
	}
}

static void control_accept(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct control *c = arg;
	struct control_client *cl = NULL;
	int cfd;

	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (!c->clients[i].used) {
			cl = &c->clients[i];
			break;
		}
	if (!cl) {
		ev_io_mod(loop, fd, 0);
		return;
	}
	cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (cfd < 0)
		return;
	memset(cl, 0, sizeof(*cl));
	cl->ctl = c;
	cl->fd = cfd;
	cl->used = true;
	sbuf_init(&cl->reply);
	ev_timer_init(&cl->timeout, client_timeout, cl);
	if (ev_io_add(loop, cfd, EV_READ, client_io, cl) < 0 ||
	    ev_timer_start(loop, &cl->timeout, CONTROL_TIMEOUT_MS) < 0) {
		ev_io_del(loop, cfd);
		close(cfd);
		cl->used = false;
		return;
	}
	if (++c->n_clients == CONTROL_MAX_CLIENTS)
		ev_io_mod(loop, fd, 0);
}

/* Remove the socket file only if it is still the one we bound: another
 * mxgated may have replaced it after someone removed ours. */
static void unlink_ours(const struct control *c)
{
	struct stat st;

	if (lstat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
}

/* mkdir -p of the socket's directory, 0755 for what we create. */
static int make_parent(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;

	snprintf(dir, sizeof(dir), "%s", path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int control_remove_stale_socket(const struct sockaddr_un *sun)
{
	struct stat st;
	int fd, r;

	if (lstat(sun->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	/* Non-blocking: a live server with a full backlog answers EAGAIN
	 * instead of holding our start-up. */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) < 0 ? -errno : 0;
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	/* Only a refused connection proves nobody listens; anything else
	 * (EAGAIN from a full backlog, EACCES) may be a live mxgated. */
	if (r != -ECONNREFUSED)
		return r == -EAGAIN ? -EADDRINUSE : r;
	if (unlink(sun->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int control_open(struct control **out, struct ev_loop *loop, const char *path,
		 control_handler handler, void *arg, char *err, size_t errlen)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct control *c;
	int r;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control_socket %s: path too long (at most %zu bytes)", path,
			 sizeof(sun.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sun.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->loop = loop;
	c->handler = handler;
	c->arg = arg;
	c->fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", path);

	r = make_parent(path);
	if (r < 0) {
		snprintf(err, errlen, "control_socket %s: cannot create its directory: %s", path,
			 strerror(-r));
		goto fail;
	}
	r = control_remove_stale_socket(&sun);
	if (r == -EADDRINUSE) {
		snprintf(err, errlen,
			 "control_socket %s: another mxgated is running; stop it first", path);
		goto fail;
	}
	if (r < 0) {
		snprintf(err, errlen,
			 "control_socket %s: exists and cannot be replaced: %s; remove it", path,
			 strerror(-r));
		goto fail;
	}
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "control socket: %s", strerror(errno));
		goto fail;
	}
	/* Bind under a umask that leaves the socket 0600 from its first
	 * moment; chmod after would leave a window. */
	{
		mode_t old = umask(0177);

		r = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
		umask(old);
	}
	if (r < 0 || listen(c->fd, CONTROL_MAX_CLIENTS) < 0) {
		r = -errno;
		snprintf(err, errlen, "control_socket %s: %s", path, strerror(errno));
		goto fail;
	}
	{
		struct stat st;

		if (stat(path, &st) == 0) {
			c->dev = st.st_dev;
			c->ino = st.st_ino;
		}
	}
	r = ev_io_add(loop, c->fd, EV_READ, control_accept, c);
	if (r < 0) {
		snprintf(err, errlen, "control socket: event loop: %s", strerror(-r));
		unlink_ours(c);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	return r;
}

void control_close(struct control *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i].used)
			client_close(&c->clients[i]);
	ev_io_del(c->loop, c->fd);
	close(c->fd);
	unlink_ours(c);
	free(c);
}
