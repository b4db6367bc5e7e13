// SPDX-License-Identifier: GPL-2.0-only
/*
 * The catch-up at every connection of the fleet (redis_conn.h): a SCAN of
 * the prefix, and an MGET of the keys of each step, so that what the other
 * edges wrote while this one was away (or before it started) reaches it;
 * the channel only carries what is written while it listens.
 */
#include <stdlib.h>
#include <string.h>

#include "redis_conn.h"

/* Keys of one MGET, for decoding its values. */
struct mget {
	struct fleet *f;
	size_t n;
	char *keys[];
};

void fleet_take(struct fleet *f, struct fleet_record *r)
{
	if (r->edge == f->edge)
		return; /* our own, back from the channel or the SCAN */
	if (!fleet_clamp(r, &f->lim, fleet_wall_ms())) {
		f->st.refused++;
		return;
	}
	f->st.received++;
	if (f->hooks.record)
		f->hooks.record(f->hooks.arg, r);
}

static void on_mget(redisAsyncContext *ac, void *reply, void *priv)
{
	struct mget *m = priv;
	struct fleet *f = m->f;
	redisReply *r = reply;
	struct fleet_record rec;

	if (reply && ac == f->cmd) {
		if (f->pending)
			f->pending--;
		f->st.ops++;
		f->progress_ms = ev_now_ms();
		if (!fleet_reply_failed(f, ac, r, "MGET") && r->type == REDIS_REPLY_ARRAY &&
		    r->elements == m->n) {
			for (size_t i = 0; i < r->elements; i++) {
				const redisReply *v = r->element[i];

				if (v->type != REDIS_REPLY_STRING)
					continue; /* expired since the SCAN */
				if (fleet_decode(f->prefix, m->keys[i], strlen(m->keys[i]), v->str,
						 v->len, &rec)) {
					f->st.refused++;
					continue;
				}
				fleet_take(f, &rec);
			}
		}
	}
	for (size_t i = 0; i < m->n; i++)
		free(m->keys[i]);
	free(m);
}

static void on_scan(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fleet *f = ac->data;
	redisReply *r = reply, *keys;
	struct mget *m;
	const char **argv;
	size_t *argl, n = 0, pl = strlen(f->prefix);
	char cursor[24];

	if (!reply || ac != f->cmd)
		return;
	if (f->pending)
		f->pending--;
	f->st.ops++;
	f->progress_ms = ev_now_ms();
	if (fleet_reply_failed(f, ac, r, "SCAN"))
		return;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len >= sizeof(cursor) ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		f->st.errors++;
		return;
	}
	snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
	keys = r->element[1];
	m = calloc(1, sizeof(*m) + FLEET_MGET_MAX * sizeof(char *));
	argv = calloc(FLEET_MGET_MAX + 1, sizeof(*argv));
	argl = calloc(FLEET_MGET_MAX + 1, sizeof(*argl));
	if (m && argv && argl) {
		m->f = f;
		argv[0] = "MGET";
		argl[0] = 4;
		for (size_t i = 0; i < keys->elements && n < FLEET_MGET_MAX; i++) {
			const redisReply *k = keys->element[i];

			/* The quorum's verdicts and index of edges
			 * (PREFIXq:, PREFIXqedges, a sorted set) are
			 * ctl_quorum_read.c's to read. */
			if (k->type != REDIS_REPLY_STRING || k->len >= FLEET_KEY_MAX ||
			    (k->len > pl && k->str[pl] == 'q') ||
			    !(m->keys[n] = strndup(k->str, k->len)))
				continue;
			argv[n + 1] = m->keys[n];
			argl[n + 1] = k->len;
			n++;
		}
		m->n = n;
		if (n &&
		    redisAsyncCommandArgv(ac, on_mget, m, (int)n + 1, argv, argl) == REDIS_OK) {
			f->pending++;
			m = NULL;
		}
	}
	if (m) {
		for (size_t i = 0; i < m->n; i++)
			free(m->keys[i]);
		free(m);
	}
	free(argv);
	free(argl);
	if (strcmp(cursor, "0") && ++f->scan_steps < FLEET_SCAN_STEPS_MAX)
		fleet_scan_step(f, cursor);
}

void fleet_scan_step(struct fleet *f, const char *cursor)
{
	if (redisAsyncCommand(f->cmd, on_scan, NULL, "SCAN %s MATCH %s* COUNT %d", cursor,
			      f->prefix, FLEET_SCAN_COUNT) == REDIS_OK)
		f->pending++;
}
