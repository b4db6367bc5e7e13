// SPDX-License-Identifier: GPL-2.0-only
/*
 * Offenders another edge of the fleet found (state_backend = redis), as
 * the controller sends them (RESPONDER_MSG_FLEET_OFFENDERS), into the
 * responder child's offender table: a client answered 550 at one edge is
 * an offender at this one too, until the end of that edge's
 * offender_window (offender.h, offender_mark). It changes only the
 * answer to a client that would get 551: never a 451 into a 5xx.
 */
#include "responder_int.h"

#include <errno.h>

#include "log.h"
#include "responder_wire.h"

int responder_fleet_offenders(struct offender_table *t, const struct responder_wire_reader *rd,
			      uint64_t now_ms)
{
	const struct responder_offender *o = (const void *)rd->payload;

	/* The reader checked count against len (responder_wire_check_hdr). */
	for (uint32_t i = 0; i < rd->hdr.count; i++) {
		struct client_key k;
		struct mxg_ip ip;

		if (responder_wire_fleet_offender(&o[i], &ip) < 0)
			return -EBADMSG;
		client_key_from_ip(&ip, &k);
		offender_mark(t, &k, o[i].when_ms, now_ms);
	}
	log_debug("responder: %u offender(s) of other edges", rd->hdr.count);
	return 0;
}
