// SPDX-License-Identifier: GPL-2.0-only
/* Greylisting and passes as one unit; see pass_db.h. */
#include "pass_db.h"

#include <string.h>

int pass_db_init(struct pass_db *db, uint64_t delay_ms, uint64_t window_ms, size_t tuples,
		 size_t max_passes, uint64_t seed)
{
	int r;

	memset(db, 0, sizeof(*db));
	r = greylist_init(&db->gl, delay_ms, window_ms, tuples);
	if (r < 0)
		return r;
	r = pass_table_init(&db->passes, max_passes);
	if (r < 0) {
		greylist_free(&db->gl);
		return r;
	}
	db->gl_seed = seed;
	return 0;
}

void pass_db_free(struct pass_db *db)
{
	greylist_free(&db->gl);
	pass_table_free(&db->passes);
}

enum greylist_verdict pass_db_tuple(struct pass_db *db, const struct mxg_ip *client, uint64_t hash,
				    uint64_t now_ms, uint64_t delay_ms, uint64_t window_ms)
{
	enum greylist_verdict v;

	db->gl.delay_ms = delay_ms;
	db->gl.window_ms = window_ms;
	db->gl_seen++;
	v = greylist_seen_from(&db->gl, greylist_rekey(db->gl_seed, hash), client, now_ms);
	if (v == GREYLIST_EARLY)
		db->gl_early++;
	return v;
}
