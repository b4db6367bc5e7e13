/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hiredis's asynchronous context on the controller's own event loop
 * (base/event.c): hiredis says when it wants to read or write, the loop
 * tells it when it can. hiredis ships adapters for libevent, libev and
 * others, not for ours; this is the same few hooks.
 */
#ifndef MXG_REDIS_LOOP_H
#define MXG_REDIS_LOOP_H

#include <hiredis/async.h>

#include "event.h"
#include "redis_bound.h"

/* 0, or -ENOMEM / -EEXIST: ac is then not attached (free it). b (NULL:
 * none) bounds what ac takes from its server (redis_bound.h) and must
 * outlive ac; past a bound ac is freed, b->why says why. */
int redis_loop_attach(struct ev_loop *loop, redisAsyncContext *ac, struct redis_bounds *b);

#endif
