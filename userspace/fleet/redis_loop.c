// SPDX-License-Identifier: GPL-2.0-only
/* hiredis on base/event.c; see redis_loop.h. */
#include "redis_loop.h"

#include <errno.h>
#include <stdlib.h>

struct redis_loop {
	struct ev_loop *loop;
	redisAsyncContext *ac;
	int fd;
	unsigned events; /* what hiredis asked for */
	bool added;	 /* fd is watched */
	struct redis_bounds *b;
	struct redis_bound_reader rb;
};

static void io_cb(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct redis_loop *rl = arg;

	/* Either call may free the context, and rl with it (cleanup): one
	 * per wake-up; the loop is level-triggered, so a write still wanted
	 * comes back at the next iteration. */
	if (events & (EV_READ | EV_ERROR)) {
		/* A reply still arriving past the bound: closed before hiredis
		 * buffers more of it (the disconnect callback says why). */
		if (rl->b && redis_bound_buffer_over(rl->ac->c.reader, rl->b)) {
			redisAsyncFree(rl->ac);
			return;
		}
		redisAsyncHandleRead(rl->ac);
	} else if (events & EV_WRITE)
		redisAsyncHandleWrite(rl->ac);
}

static void update(struct redis_loop *rl, unsigned events)
{
	if (events == rl->events && rl->added)
		return;
	rl->events = events;
	if (!rl->added) {
		if (ev_io_add(rl->loop, rl->fd, events, io_cb, rl) == 0)
			rl->added = true;
		return;
	}
	/* A mask of 0 keeps the watcher and wakes for nothing. */
	ev_io_mod(rl->loop, rl->fd, events);
}

static void add_read(void *p)
{
	struct redis_loop *rl = p;

	update(rl, rl->events | EV_READ);
}

static void del_read(void *p)
{
	struct redis_loop *rl = p;

	update(rl, rl->events & ~EV_READ);
}

static void add_write(void *p)
{
	struct redis_loop *rl = p;

	update(rl, rl->events | EV_WRITE);
}

static void del_write(void *p)
{
	struct redis_loop *rl = p;

	update(rl, rl->events & ~EV_WRITE);
}

static void cleanup(void *p)
{
	struct redis_loop *rl = p;

	if (rl->added)
		ev_io_del(rl->loop, rl->fd);
	free(rl);
}

int redis_loop_attach(struct ev_loop *loop, redisAsyncContext *ac, struct redis_bounds *b)
{
	struct redis_loop *rl;

	if (ac->ev.data)
		return -EEXIST;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->loop = loop;
	rl->ac = ac;
	rl->fd = ac->c.fd;
	ac->ev.addRead = add_read;
	ac->ev.delRead = del_read;
	ac->ev.addWrite = add_write;
	ac->ev.delWrite = del_write;
	ac->ev.cleanup = cleanup;
	ac->ev.data = rl;
	rl->b = b;
	if (b)
		redis_bound_reader(ac->c.reader, &rl->rb, b);
	return 0;
}
