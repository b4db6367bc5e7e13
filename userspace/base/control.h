/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket of mxgated (`control_socket`, a unix stream socket,
 * mode 0600, its directory created 0755). A client sends one request line
 * ("status" or "status json"), gets the whole answer, and the server
 * closes. Requests are bounded in length, clients in number and time.
 */
#ifndef MXG_CONTROL_H
#define MXG_CONTROL_H

#include <stddef.h>

#include "event.h"
#include "sbuf.h"

#define CONTROL_MAX_REQUEST 256 /* bytes, including the newline */
#define CONTROL_MAX_CLIENTS 16	/* concurrent; more wait in the backlog */
#define CONTROL_TIMEOUT_MS 5000 /* per client, request and answer */

/* Fill reply for request (one line, no newline). Unknown requests get an
 * "error: ..." line. */
typedef void (*control_handler)(void *arg, const char *request, struct sbuf *reply);

struct control;

/* Bind and listen at path; a stale socket left by a crash is replaced, a
 * live one (another mxgated) is an error. */
int control_open(struct control **out, struct ev_loop *loop, const char *path,
		 control_handler handler, void *arg, char *err, size_t errlen);
/* Close every client, the listener, and unlink the socket. */
void control_close(struct control *c);

struct sockaddr_un;
/* A unix socket file at sun's path nobody listens on (a crash's leftover)
 * is removed: 0 (also when there is none). A live listener: -EADDRINUSE;
 * not a socket: -EEXIST; otherwise negative errno. Never removes anything
 * that answers or that is not a socket. */
int control_remove_stale_socket(const struct sockaddr_un *sun);

#endif
