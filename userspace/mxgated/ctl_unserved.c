// SPDX-License-Identifier: GPL-2.0-only
/*
 * Recipient domains the responder was asked for and mxgate does not serve
 * (it answered them 451: the MTA behind may accept them). `mxgate status`
 * names them, so that a postmaster who added a domain to Postfix and not
 * to mxgate finds out before the senders' queues do. Bounded: the
 * CTL_UNSERVED_MAX most recently seen, with a count and when.
 */
#include "controller.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

#define CTL_UNSERVED_MAX 32 /* domains listed; the oldest is replaced */

struct ctl_unserved_entry {
	char name[254];
	uint64_t count;
	uint64_t last_ms;
};

struct ctl_unserved {
	struct ctl_unserved_entry e[CTL_UNSERVED_MAX];
	size_t n;
};

void ctl_unserved_add(struct controller *c, const char *domain, uint64_t now_ms)
{
	struct ctl_unserved *u = c->unserved;
	size_t oldest = 0;

	if (!u) {
		u = c->unserved = calloc(1, sizeof(*u));
		if (!u)
			return; /* status just lists nothing */
	}
	for (size_t i = 0; i < u->n; i++) {
		if (!strcmp(u->e[i].name, domain)) {
			u->e[i].count++;
			u->e[i].last_ms = now_ms;
			return;
		}
		if (u->e[i].last_ms < u->e[oldest].last_ms)
			oldest = i;
	}
	if (u->n < CTL_UNSERVED_MAX)
		oldest = u->n++;
	else
		log_debug("unserved domains: list full, %s replaces %s", domain, u->e[oldest].name);
	snprintf(u->e[oldest].name, sizeof(u->e[oldest].name), "%s", domain);
	u->e[oldest].count = 1;
	u->e[oldest].last_ms = now_ms;
	log_notice("responder: RCPT for %s, a domain mxgate does not serve: answered 451 (if "
		   "the MTA accepts it, add it to mxgate's domains)",
		   domain);
}

void ctl_unserved_free(struct controller *c)
{
	free(c->unserved);
	c->unserved = NULL;
}

void ctl_unserved_text(const struct controller *c, struct sbuf *o, uint64_t now_ms)
{
	const struct ctl_unserved *u = c->unserved;

	if (!u || !u->n)
		return;
	sbuf_printf(o, "unserved recipient domains (answered 451; add them to domains if the "
		       "MTA accepts them):\n");
	for (size_t i = 0; i < u->n; i++)
		sbuf_printf(o, "  %s: %" PRIu64 " time(s), last %" PRIu64 "s ago\n", u->e[i].name,
			    u->e[i].count, (now_ms - u->e[i].last_ms) / 1000);
}

void ctl_unserved_json(const struct controller *c, struct json_writer *w, uint64_t now_ms)
{
	const struct ctl_unserved *u = c->unserved;

	json_key(w, "unserved_domains");
	json_array_begin(w);
	for (size_t i = 0; u && i < u->n; i++) {
		json_object_begin(w);
		json_key(w, "name");
		json_string(w, u->e[i].name);
		json_key(w, "count");
		json_uint(w, u->e[i].count);
		json_key(w, "ms_ago");
		json_uint(w, now_ms - u->e[i].last_ms);
		json_object_end(w);
	}
	json_array_end(w);
}
