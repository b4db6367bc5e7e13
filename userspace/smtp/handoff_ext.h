/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ESMTP parameters the handoff replays to the MTA (handoff_proto.h):
 * only those whose extension the MTA's own EHLO reply offered. The client
 * chose its MAIL and RCPT parameters from the responder's EHLO (SIZE,
 * 8BITMIME), not the MTA's, and an MTA that does not offer one answers the
 * replay 555 or 501 (Postfix with DSN discarded, Exim without DSN): the
 * same 451 at every retry, until the sender's queue lifetime turns it into
 * a bounce. So a parameter the MTA does not offer is:
 *   - left out when it is advice the message does not depend on: SIZE,
 *     BODY=7BIT or 8BITMIME (Postfix, Exim and OpenSMTPD take 8-bit data
 *     with or without announcing 8BITMIME), DSN's RET, ENVID, NOTIFY and
 *     ORCPT, AUTH=, MT-PRIORITY, BY;
 *   - a failed handoff (the client's 451, as before) when leaving it out
 *     would change what the MTA does with the message: SMTPUTF8,
 *     BODY=BINARYMIME, REQUIRETLS, FUTURERELEASE's HOLDFOR and HOLDUNTIL,
 *     any other keyword.
 * Never a 5xx: a parameter is the sender's and ours to match, not a
 * verdict of the MTA.
 */
#ifndef MXG_HANDOFF_EXT_H
#define MXG_HANDOFF_EXT_H

#include <stdbool.h>
#include <stddef.h>

#define HANDOFF_EXT_MAX 512 /* the MTA's extension keywords, listed */

/*
 * The extension keywords of the MTA's EHLO reply (len octets, its lines as
 * received; the first names the MTA), upper case, as " KW1 KW2 ... " into
 * list; "" when none (a HELO's reply). A keyword that does not fit is not
 * listed: not offered, so at worst a 451.
 */
void handoff_ext_list(const char *ehlo, size_t len, char *list, size_t listlen);

/*
 * line ("MAIL FROM:<path> params" or "RCPT TO:<path> params", no CRLF)
 * as the MTA may take it, given its extensions list (handoff_ext_list),
 * into out: the line as it came when every parameter is offered, else the
 * command and path as they came and the offered parameters, one space
 * before each. 0; -1 with why set when a parameter cannot be left out
 * (see above) or out is too small.
 */
int handoff_ext_filter(const char *line, const char *list, char *out, size_t outlen, char *why,
		       size_t whylen);

#endif
