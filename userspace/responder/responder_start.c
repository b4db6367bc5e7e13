// SPDX-License-Identifier: GPL-2.0-only
/*
 * The responder's start blob (responder_start.h): the controller writes
 * it into a sealed memfd before the fork, the executed responder reads
 * and checks it. Both ends are the same binary (the exec is of
 * /proc/self/exe), so the header goes as it is; the config subset goes
 * in config_wire's checked format.
 */
#include "responder_start.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_wire.h"
#include "fdio.h"

#define START_MAGIC "MXGRSP1" /* with its NUL: 8 octets */
/* The subset has no domains: the struct and a few words. */
#define START_MAX (sizeof(struct start_hdr) + sizeof(struct mxg_config) + 4096)
#define START_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

struct start_hdr {
	char magic[sizeof(START_MAGIC)];
	uint32_t hdr_size; /* sizeof(struct start_hdr): the same build */
	uint32_t cfg_len;  /* the packed subset that follows */
	int32_t parent;
	uint32_t uid, gid;
	uint8_t change_user, log_syslog, log_debug, have_v4, have_v6;
	uint16_t steered_port;
	char user[64];
	char jail[256];
};

void responder_config_subset(const struct mxg_config *from, struct mxg_config *to)
{
	memset(to, 0, sizeof(*to));
	memcpy(to->helo_name, from->helo_name, sizeof(to->helo_name));
	to->max_connections = from->max_connections;
	to->max_connections_per_client = from->max_connections_per_client;
	to->max_connections_per_network = from->max_connections_per_network;
	to->max_commands = from->max_commands;
	to->idle_timeout_ms = from->idle_timeout_ms;
	to->session_timeout_ms = from->session_timeout_ms;
	to->offender_threshold = from->offender_threshold;
	to->offender_window_ms = from->offender_window_ms;
	to->greylist_delay_ms = from->greylist_delay_ms;
	to->greylist_window_ms = from->greylist_window_ms;
	/* pass_gate_can_pass(): whether the gate can hold a pass. */
	to->gate = from->gate;
	memcpy(to->nft_table, from->nft_table, sizeof(to->nft_table));
	memcpy(to->pass_clients, from->pass_clients, sizeof(to->pass_clients));
	to->n_pass_clients = from->n_pass_clients;
	memcpy(to->pass_recipients, from->pass_recipients, sizeof(to->pass_recipients));
	to->n_pass_recipients = from->n_pass_recipients;
	/* Read by the responder itself, as root, before its chroot. */
	memcpy(to->tls_cert_file, from->tls_cert_file, sizeof(to->tls_cert_file));
	memcpy(to->tls_key_file, from->tls_key_file, sizeof(to->tls_key_file));
	memcpy(to->handoff, from->handoff, sizeof(to->handoff));
	to->handoff_addr = from->handoff_addr;
	to->handoff_addr_len = from->handoff_addr_len;
	to->handoff_protocol = from->handoff_protocol;
}

int responder_start_write(const struct rsp_start *s, char *err, size_t errlen)
{
	struct start_hdr h = {.magic = START_MAGIC,
			      .hdr_size = sizeof(h),
			      .parent = (int32_t)s->parent,
			      .uid = (uint32_t)s->uid,
			      .gid = (uint32_t)s->gid,
			      .change_user = s->change_user,
			      .log_syslog = s->log_syslog,
			      .log_debug = s->log_debug,
			      .have_v4 = s->have_v4,
			      .have_v6 = s->have_v6,
			      .steered_port = s->steered_port};
	char *packed = NULL;
	size_t plen = 0;
	int fd, rc;

	memcpy(h.user, s->user, sizeof(h.user));
	memcpy(h.jail, s->jail, sizeof(h.jail));
	h.user[sizeof(h.user) - 1] = h.jail[sizeof(h.jail) - 1] = '\0';
	rc = config_pack(&s->cfg, &packed, &plen);
	if (rc) {
		snprintf(err, errlen, "responder: out of memory for its start");
		return rc;
	}
	h.cfg_len = (uint32_t)plen;
	fd = memfd_create("mxgated-responder-start", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "responder: memfd_create: %s", strerror(errno));
		goto out;
	}
	rc = mxg_write_all(fd, &h, sizeof(h));
	if (!rc)
		rc = mxg_write_all(fd, packed, plen);
	if (!rc && fcntl(fd, F_ADD_SEALS, START_SEALS) < 0)
		rc = -errno;
	if (rc) {
		snprintf(err, errlen, "responder: writing its start: %s", strerror(-rc));
		close(fd);
		fd = rc;
	}
out:
	free(packed);
	return fd;
}

int responder_start_read(int fd, struct rsp_start *s, char *err, size_t errlen)
{
	struct start_hdr h;
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int seals;

	memset(s, 0, sizeof(*s));
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & START_SEALS) != START_SEALS || fstat(fd, &st) < 0 ||
	    st.st_size < (off_t)sizeof(h) || (size_t)st.st_size > START_MAX) {
		snprintf(err, errlen,
			 "responder: descriptor %d is not a sealed start blob; the responder is "
			 "started by mxgated only",
			 fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size);
	if (!buf) {
		snprintf(err, errlen, "responder: out of memory reading its start");
		return -ENOMEM;
	}
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != (ssize_t)st.st_size)
		goto bad;
	memcpy(&h, buf, sizeof(h));
	if (memcmp(h.magic, START_MAGIC, sizeof(h.magic)) || h.hdr_size != sizeof(h) ||
	    h.cfg_len != (size_t)st.st_size - sizeof(h) || h.parent <= 0 ||
	    h.user[sizeof(h.user) - 1] || h.jail[sizeof(h.jail) - 1] || h.change_user > 1 ||
	    h.log_syslog > 1 || h.log_debug > 1 || h.have_v4 > 1 || h.have_v6 > 1 ||
	    !h.steered_port)
		goto bad;
	/* 1 (a refusal) is never written here: as malformed as -1. */
	if (config_unpack(buf + sizeof(h), h.cfg_len, &s->cfg, err, errlen))
		goto bad;
	if (s->cfg.n_domains || s->cfg.n_final_domains) {
		config_free(&s->cfg);
		goto bad;
	}
	s->parent = (pid_t)h.parent;
	s->uid = (uid_t)h.uid;
	s->gid = (gid_t)h.gid;
	s->change_user = h.change_user;
	s->log_syslog = h.log_syslog;
	s->log_debug = h.log_debug;
	s->have_v4 = h.have_v4;
	s->have_v6 = h.have_v6;
	s->steered_port = h.steered_port;
	memcpy(s->user, h.user, sizeof(s->user));
	memcpy(s->jail, h.jail, sizeof(s->jail));
	free(buf);
	return 0;
bad:
	free(buf);
	snprintf(err, errlen,
		 "responder: its start blob is malformed; the responder is started by mxgated "
		 "only, from its own binary");
	return -EBADMSG;
}
