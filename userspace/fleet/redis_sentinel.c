// SPDX-License-Identifier: GPL-2.0-only
/*
 * Sentinel discovery for the fleet's connection (redis_conn.h): ask the
 * configured Sentinels in turn for the address of the master they monitor
 * under redis_master_name, and connect there. Asked again after every
 * loss (a failover shows as READONLY, LOADING, MASTERDOWN or a closed
 * link), so an edge follows the master wherever the Sentinels move it.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "log.h"
#include "redis_conn.h"

static void on_sentinel(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fleet *f = ac->data;
	redisReply *r = reply;
	struct mxg_ip ip;
	unsigned long port;
	char *end;

	if (!reply || ac != f->sent)
		return;
	fleet_ctx_free(&f->sent); /* freed when this callback returns */
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[0]->type == REDIS_REPLY_STRING &&
	    r->element[1]->type == REDIS_REPLY_STRING && r->element[0]->len < INET6_ADDRSTRLEN &&
	    r->element[1]->len <= 5 && !mxg_ip_parse(r->element[0]->str, &ip)) {
		port = strtoul(r->element[1]->str, &end, 10);
		if (!*end && port && port < 65536) {
			mxg_ip_to_sockaddr(&ip, (uint16_t)port, &f->master);
			fleet_connect_master(f);
			return;
		}
	}
	/* No master known there (nil), an error, or an answer that is not an
	 * address (a Sentinel announcing host names: not supported, as
	 * resolving would block): the next Sentinel. */
	log_debug("redis: Sentinel %s did not name the master of %s", f->st.server, f->master_name);
	if (f->tried_sentinels < f->n_sentinels)
		fleet_reconnect(f);
	else
		fleet_fail(f, "no Sentinel names the master");
}

void fleet_reconnect(struct fleet *f)
{
	if (!f->n_sentinels) {
		f->master = f->direct;
		fleet_connect_master(f);
		return;
	}
	f->state = FLEET_SENTINEL;
	if (f->state_ms == 0 || f->tried_sentinels == 0)
		f->state_ms = ev_now_ms();
	fleet_set_server(f, &f->sentinels[f->next_sentinel]);
	f->sent = fleet_ctx_open(f, &f->sentinels[f->next_sentinel]);
	f->next_sentinel = (f->next_sentinel + 1) % f->n_sentinels;
	f->tried_sentinels++;
	if (!f->sent ||
	    redisAsyncCommand(f->sent, on_sentinel, NULL, "SENTINEL get-master-addr-by-name %s",
			      f->master_name) != REDIS_OK) {
		fleet_ctx_free(&f->sent);
		if (f->tried_sentinels < f->n_sentinels)
			fleet_reconnect(f);
		else
			fleet_fail(f, "no Sentinel answers");
	}
}
