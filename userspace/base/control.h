/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket of mxgated (`control_socket`, a unix stream socket,
 * mode 0600, its directory created 0755). A client sends one request line
 * ("status" or "status json"), gets the whole answer, and the server
 * closes. Requests are bounded in length, clients in number and time.
 */
#ifndef MXG_CONTROL_H
#define MXG_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "sbuf.h"

#define CONTROL_MAX_REQUEST 256 /* bytes, including the newline */
#define CONTROL_MAX_CLIENTS 16	/* concurrent; more wait in the backlog */
#define CONTROL_TIMEOUT_MS 5000 /* per client: request, and each part of the answer */

/* Fill reply for request (one line, no newline). Unknown requests get an
 * "error: ..." line. */
typedef void (*control_handler)(void *arg, const char *request, struct sbuf *reply);

/*
 * Long answers in parts: after the handler's reply is sent, more() is
 * called with the same request and a cursor (0 at first, then whatever
 * more() left in it) to append the next part, one part per loop
 * iteration while the client reads, until it returns false. So a status of
 * 100,000 domains is produced while it is sent, never all at once, and the
 * loop keeps serving everything else in between. NULL: no parts.
 */
typedef bool (*control_more)(void *arg, const char *request, uint64_t *cursor, struct sbuf *reply);

struct control;

/* Bind and listen at path; a stale socket left by a crash is replaced, a
 * live one (another mxgated) is an error. */
int control_open(struct control **out, struct ev_loop *loop, const char *path,
		 control_handler handler, void *arg, char *err, size_t errlen);
void control_set_more(struct control *c, control_more more);
/* Close every client, the listener, and unlink the socket. */
void control_close(struct control *c);

struct sockaddr_un;
/* A unix socket file at sun's path nobody listens on (a crash's leftover)
 * is removed: 0 (also when there is none). A live listener: -EADDRINUSE;
 * not a socket: -EEXIST; otherwise negative errno. Never removes anything
 * that answers or that is not a socket. */
int control_remove_stale_socket(const struct sockaddr_un *sun);

#endif
