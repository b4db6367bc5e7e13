/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The responder: a child process of mxgated that answers steered SMTP
 * connections with the replies of DESIGN.md. The controller creates the
 * listening sockets (it needs their fds for the SOCKMAP), forks, and the
 * child drops to `user` with no capabilities before it reads a byte from
 * the internet. Domain states reach it over a socketpair.
 */
#ifndef MXG_RESPONDER_H
#define MXG_RESPONDER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

/* What the responder knows of one served domain. */
struct responder_domain {
	char name[MXG_NAME_MAX];
	uint8_t state; /* enum mxg_domain_state */
	uint8_t reply; /* enum mxg_reply_mode */
	char primary[MXG_NAME_MAX];
	char reply_text[MXG_REPLY_TEXT_MAX];
};

struct responder {
	pid_t pid;
	int ctl_fd;        /* controller end of the socketpair */
	int listen_fd_v4;  /* kept open by the controller too: see responder.c */
	int listen_fd_v6;
};

/* Create the two listening sockets (127.0.0.1 and ::1, ephemeral ports,
 * no SO_REUSEPORT: bpf_sk_assign refuses it before Linux 6.6). */
int responder_listen(struct responder *r, char *err, size_t errlen);
/* Fork the child: drop privileges to cfg->user, then serve. */
int responder_spawn(struct responder *r, const struct mxg_config *cfg, char *err, size_t errlen);
/* Send the full domain table (replaces the previous one). */
int responder_push_domains(struct responder *r, const struct responder_domain *d, size_t n);
/* Kill and reap the child, close the fds. */
void responder_stop(struct responder *r);

#endif
