/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Offenders to nf_tables (offender_set = yes): clients the responder
 * answered 550 as offenders become elements of an nft set with a timeout
 * of offender_window, so that an administrator's own rule can act on them
 * (docs/deployment.md has a snippet). Own mode: the sets
 *
 *   set offenders4 { type ipv4_addr; flags timeout; }
 *   set offenders6 { type ipv6_addr; flags timeout; }
 *
 * in table inet mxgate, created at start even with gate = tc (and the table
 * deleted at a clean stop unless the nft gate owns it). Administrator mode
 * (offender_nft_set = "[FAMILY] TABLE SET"): only elements of the sets
 * SET4 and SET6 that the administrator declared in TABLE. Either way one
 * atomic batch per report, nothing else touched. A report's batch is sent
 * on a socket of its own and not awaited (the controller's loop writes
 * it): its answer is read by offender_nft_poll when the socket is
 * readable.
 */
#ifndef MXG_OFFENDER_NFT_H
#define MXG_OFFENDER_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "config.h"
#include "nft_admin.h"
#include "nft_batch.h"

#define OFFENDER_OWN_SET "offenders" /* sets offenders4 and offenders6 */

struct offender_nft {
	struct nft_conn nl;
	struct nft_async pub; /* the loop's writes (offender_nft_add) */
	uint64_t async_errors;
	bool own;
	bool own_table_is_gates; /* gate = nft, own table: the gate deletes it */
	uint16_t family;	 /* NFPROTO_* of the table */
	char table[64];
	char set4[NFT_ADMIN_NAME_MAX]; /* "" when this family is not kept */
	char set6[NFT_ADMIN_NAME_MAX];
	uint64_t timeout_ms;
	bool failing; /* the last write failed: logged once */
};

/* Connect, create our sets (own) or check the administrator's. 0 or
 * negative errno with one line in err. */
int offender_nft_open(struct offender_nft *o, const struct mxg_config *cfg, char *err,
		      size_t errlen);
/* Add (or refresh) n addresses with a timeout of offender_window (or
 * timeouts_ms[i] where that array is given and the value is not 0: a
 * record loaded from the state file keeps only its rest), in one batch
 * that works on kernels that do not reset a timeout on re-add. Sent, not
 * awaited: 0, or negative errno when it could not be sent. */
int offender_nft_add(struct offender_nft *o, const struct mxg_ip *ips, const uint64_t *timeouts_ms,
		     size_t n);
/* The socket the answers come on (to watch for readable), -1 if none. */
int offender_nft_fd(const struct offender_nft *o);
/* Read the answers there are, never waiting; give up those older than
 * NFT_REPLY_TIMEOUT_MS. The number of batches that failed (logged once
 * per failing run). */
unsigned offender_nft_poll(struct offender_nft *o, uint64_t now_ms);
/* Close; on a clean stop delete table inet mxgate in own mode unless the
 * nft gate owns it (the administrator's set elements expire by themselves). */
void offender_nft_close(struct offender_nft *o, bool clean);
/* The set an address goes to, "" if none, for status lines. */
const char *offender_nft_set_for(const struct offender_nft *o, int af);

#endif
