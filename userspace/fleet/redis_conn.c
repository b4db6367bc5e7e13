// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fleet's Redis connection (fleet.h): AUTH, the command and channel
 * connections, deadlines and backoff, the queue of writes made while
 * away; the Sentinels are asked in redis_sentinel.c, the catch-up SCAN is
 * redis_catchup.c. Nothing here waits: every step is a callback on the
 * controller's loop.
 */
#include "fleet.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "redis_conn.h"
#include "redis_loop.h"

static void send_record(struct fleet *f, const struct fleet_record *r);

uint64_t fleet_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *addr_str(const struct sockaddr_storage *ss, char *buf, size_t len, int *port)
{
	const struct sockaddr_in *s4 = (const void *)ss;
	const struct sockaddr_in6 *s6 = (const void *)ss;
	const struct sockaddr_un *su = (const void *)ss;

	*port = 0;
	if (ss->ss_family == AF_UNIX) {
		snprintf(buf, len, "%.*s", (int)sizeof(su->sun_path), su->sun_path);
	} else if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, buf, (socklen_t)len);
		*port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, buf, (socklen_t)len);
		*port = ntohs(s6->sin6_port);
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

void fleet_set_server(struct fleet *f, const struct sockaddr_storage *ss)
{
	char a[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	int port;

	addr_str(ss, a, sizeof(a), &port);
	if (port)
		snprintf(f->st.server, sizeof(f->st.server), strchr(a, ':') ? "[%s]:%d" : "%s:%d",
			 a, port);
	else
		snprintf(f->st.server, sizeof(f->st.server), "unix:%.58s", a);
}

static void tick(struct fleet *f, uint64_t ms)
{
	/* Fails only growing the heap: the loop then never retries, which
	 * leaves this edge deciding alone, as when Redis is away. */
	if (ev_timer_start(f->loop, &f->timer, ms) < 0)
		log_err("redis: cannot arm a timer; state is no longer shared");
}

void fleet_ctx_free(redisAsyncContext **pac)
{
	redisAsyncContext *ac = *pac;

	*pac = NULL; /* first: its callbacks see it is no longer ours */
	if (ac)
		redisAsyncFree(ac);
}

/* Lost, or never reached: drop everything, retry after the backoff. */
void fleet_fail(struct fleet *f, const char *why)
{
	if (f->state == FLEET_READY || !f->warned) {
		log_warn("redis %s: %s; deciding with local state, reconnecting with backoff",
			 f->st.server[0] ? f->st.server : "?", why);
		f->warned = true;
	}
	if (f->state == FLEET_READY) {
		f->st.disconnects++;
		f->st.down_since_ms = fleet_wall_ms();
	}
	f->st.errors++;
	f->bounds.why = NULL;
	f->st.connected = false;
	f->state = FLEET_IDLE;
	f->cmd_ok = f->sub_ok = false;
	f->pending = 0;
	fleet_ctx_free(&f->cmd);
	fleet_ctx_free(&f->sub);
	fleet_ctx_free(&f->sent);
	f->backoff_ms = f->backoff_ms ? f->backoff_ms * 2 : FLEET_BACKOFF_MIN_MS;
	if (f->backoff_ms > FLEET_BACKOFF_MAX_MS)
		f->backoff_ms = FLEET_BACKOFF_MAX_MS;
	tick(f, f->backoff_ms);
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct fleet *f = ac->data;

	if (status == REDIS_OK)
		return;
	/* hiredis frees ac after this. */
	if (ac == f->cmd)
		f->cmd = NULL;
	else if (ac == f->sub)
		f->sub = NULL;
	else if (ac == f->sent)
		f->sent = NULL;
	else
		return;
	if (f->state == FLEET_SENTINEL && !f->sent && f->tried_sentinels < f->n_sentinels) {
		fleet_reconnect(f); /* the next Sentinel */
		return;
	}
	fleet_fail(f, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct fleet *f = ac->data;

	if (ac == f->cmd)
		f->cmd = NULL;
	else if (ac == f->sub)
		f->sub = NULL;
	else if (ac == f->sent)
		f->sent = NULL;
	else
		return; /* freed by us */
	fleet_fail(f, f->bounds.why ? f->bounds.why : "connection closed");
}

redisAsyncContext *fleet_ctx_open(struct fleet *f, const struct sockaddr_storage *ss)
{
	char a[sizeof(((struct sockaddr_un *)0)->sun_path) + 1];
	redisAsyncContext *ac;
	int port;

	addr_str(ss, a, sizeof(a), &port);
	/* A numeric address: hiredis's getaddrinfo does no lookup. */
	ac = port ? redisAsyncConnect(a, port) : redisAsyncConnectUnix(a);
	if (!ac)
		return NULL;
	if (ac->err) {
		log_debug("redis %s: %s", a, ac->errstr);
		redisAsyncFree(ac);
		return NULL;
	}
	ac->data = f;
	if (redis_loop_attach(f->loop, ac, &f->bounds) < 0) {
		redisAsyncFree(ac);
		return NULL;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return ac;
}

/* An error reply: READONLY means we write to a replica (a failover): ask
 * again where the master is. */
bool fleet_reply_failed(struct fleet *f, redisAsyncContext *ac, const redisReply *r,
			const char *what)
{
	char why[160];

	if (r->type != REDIS_REPLY_ERROR)
		return false;
	f->st.errors++;
	snprintf(why, sizeof(why), "%s: %.100s", what, r->str);
	if (!strncmp(r->str, "READONLY", 8) || !strncmp(r->str, "LOADING", 7) ||
	    !strncmp(r->str, "MASTERDOWN", 10) || ac != f->cmd) {
		fleet_fail(f, why);
		return true;
	}
	log_debug("redis %s: %s", f->st.server, why);
	return true;
}

static void ready(struct fleet *f)
{
	struct fleet_record r;

	if (!f->cmd_ok || !f->sub_ok || f->state == FLEET_READY)
		return;
	f->state = FLEET_READY;
	f->st.connected = true;
	f->st.connects++;
	f->st.down_since_ms = 0;
	f->state_ms = ev_now_ms(); /* the backoff starts again once this lasts */
	f->warned = false;
	f->progress_ms = ev_now_ms();
	log_notice("redis %s: connected; sharing greylist tuples, passes and offenders under "
		   "%s",
		   f->st.server, f->prefix);
	while (f->state == FLEET_READY && fleet_queue_pop(&f->queue, &r))
		send_record(f, &r);
	f->st.queued = f->queue.n;
	/* What this edge holds (its passes, offenders), then what the others
	 * wrote while we were away. */
	if (f->hooks.ready && f->state == FLEET_READY)
		f->hooks.ready(f->hooks.arg);
	if (f->state == FLEET_READY) {
		f->scan_steps = 0;
		fleet_scan_step(f, "0");
	}
}

static void on_cmd_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fleet *f = ac->data;

	if (!reply || ac != f->cmd)
		return;
	if (f->pending)
		f->pending--;
	f->st.ops++;
	f->progress_ms = ev_now_ms();
	fleet_reply_failed(f, ac, reply, priv ? priv : "command");
}

static void on_auth_cmd(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fleet *f = ac->data;

	if (!reply || ac != f->cmd)
		return;
	if (fleet_reply_failed(f, ac, reply, "AUTH"))
		return;
	f->pending = 0;
	f->cmd_ok = true;
	ready(f);
}

static void on_sub(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fleet *f = ac->data;
	redisReply *r = reply;
	struct fleet_record rec;

	if (!reply || ac != f->sub)
		return;
	if (r->type == REDIS_REPLY_ERROR) {
		char why[160];

		snprintf(why, sizeof(why), "%s: %.100s", priv ? (char *)priv : "SUBSCRIBE", r->str);
		fleet_fail(f, why);
		return;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
	    r->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (!strcmp(r->element[0]->str, "subscribe")) {
		f->sub_ok = true;
		ready(f);
		return;
	}
	if (strcmp(r->element[0]->str, "message") || r->element[2]->type != REDIS_REPLY_STRING)
		return;
	if (r->element[2]->len >= FLEET_MSG_MAX ||
	    fleet_decode_msg(f->prefix, r->element[2]->str, r->element[2]->len, &rec)) {
		f->st.refused++;
		return;
	}
	fleet_take(f, &rec);
}

static void on_auth_sub(redisAsyncContext *ac, void *reply, void *priv)
{
	struct fleet *f = ac->data;

	if (!reply || ac != f->sub)
		return;
	if (((redisReply *)reply)->type == REDIS_REPLY_ERROR) {
		char why[160];

		snprintf(why, sizeof(why), "AUTH: %.100s", ((redisReply *)reply)->str);
		fleet_fail(f, why);
	}
}

/* AUTH, or PING without a password: the first answer proves the link. */
static int hello(struct fleet *f, redisAsyncContext *ac, redisCallbackFn *cb)
{
	if (!f->password)
		return redisAsyncCommand(ac, cb, NULL, "PING");
	if (f->user[0])
		return redisAsyncCommand(ac, cb, NULL, "AUTH %s %s", f->user, f->password);
	return redisAsyncCommand(ac, cb, NULL, "AUTH %s", f->password);
}

void fleet_connect_master(struct fleet *f)
{
	f->state = FLEET_CONNECTING;
	f->state_ms = ev_now_ms();
	fleet_set_server(f, &f->master);
	f->cmd = fleet_ctx_open(f, &f->master);
	f->sub = f->cmd ? fleet_ctx_open(f, &f->master) : NULL;
	if (!f->cmd || !f->sub || hello(f, f->cmd, on_auth_cmd) != REDIS_OK ||
	    hello(f, f->sub, on_auth_sub) != REDIS_OK ||
	    redisAsyncCommand(f->sub, on_sub, NULL, "SUBSCRIBE %s", f->channel) != REDIS_OK) {
		fleet_fail(f, "cannot connect");
		return;
	}
	f->pending = 1;
}

static void on_timer(struct ev_loop *loop, void *arg)
{
	struct fleet *f = arg;
	uint64_t now = ev_now_ms();

	switch (f->state) {
	case FLEET_IDLE:
		f->tried_sentinels = 0;
		f->state_ms = 0;
		fleet_reconnect(f);
		break;
	case FLEET_SENTINEL:
	case FLEET_CONNECTING:
		if (now - f->state_ms > FLEET_CONNECT_TIMEOUT_MS) {
			fleet_fail(f, "no answer within 3 s of connecting");
			return;
		}
		break;
	case FLEET_READY:
		if (f->pending && now - f->progress_ms > FLEET_CMD_TIMEOUT_MS) {
			fleet_fail(f, "a command unanswered for 2 s");
			return;
		}
		/* Not at connection: a server whose every catch-up fails
		 * (a reply over the bounds, an error) would be reconnected
		 * to four times a second. */
		if (now - f->state_ms >= FLEET_STABLE_MS)
			f->backoff_ms = 0;
		break;
	}
	if (f->state != FLEET_IDLE && !ev_timer_armed(&f->timer))
		tick(f, FLEET_TICK_MS);
}

static void send_record(struct fleet *f, const struct fleet_record *r)
{
	char key[FLEET_KEY_MAX], val[FLEET_VALUE_MAX], msg[FLEET_MSG_MAX];
	uint64_t ttl = fleet_ttl_ms(r, fleet_wall_ms());
	int ok;

	if (fleet_encode(f->prefix, r, key, sizeof(key), val, sizeof(val)) < 0)
		return;
	snprintf(msg, sizeof(msg), "%s %s", key, val);
	/* A tuple keeps its first sighting anywhere (NX); a pass or an
	 * offender the latest word. */
	ok = redisAsyncCommand(f->cmd, on_cmd_reply, (void *)"SET",
			       r->kind == FLEET_TUPLE ? "SET %s %s PX %" PRIu64 " NX"
						      : "SET %s %s PX %" PRIu64,
			       key, val, ttl) == REDIS_OK;
	ok = ok && redisAsyncCommand(f->cmd, on_cmd_reply, (void *)"PUBLISH", "PUBLISH %s %s",
				     f->channel, msg) == REDIS_OK;
	if (ok) {
		f->pending += 2;
		f->st.written++;
	} else {
		f->st.errors++;
	}
}

/* A caller's command in flight (fleet_command_argv). */
struct raw_cmd {
	struct fleet *f;
	fleet_reply_fn *cb;
	void *arg;
};

static void on_raw(redisAsyncContext *ac, void *reply, void *priv)
{
	struct raw_cmd *rc = priv;
	struct fleet *f = rc->f;
	redisReply *r = reply;

	/* Freed with the context (f->cmd already NULL): not answered. */
	if (r && ac == f->cmd) {
		if (f->pending)
			f->pending--;
		f->st.ops++;
		f->progress_ms = ev_now_ms();
		if (r->type == REDIS_REPLY_ERROR) {
			f->st.errors++;
			if (!strncmp(r->str, "READONLY", 8) || !strncmp(r->str, "LOADING", 7) ||
			    !strncmp(r->str, "MASTERDOWN", 10)) {
				rc->cb(rc->arg, NULL);
				free(rc);
				fleet_fail(f, r->str);
				return;
			}
		}
	} else {
		r = NULL;
	}
	rc->cb(rc->arg, r);
	free(rc);
}

int fleet_command_argv(struct fleet *f, int argc, const char **argv, const size_t *lens,
		       fleet_reply_fn *cb, void *arg)
{
	struct raw_cmd *rc;

	if (f->state != FLEET_READY)
		return -ENOTCONN;
	if (f->pending >= FLEET_PENDING_MAX)
		return -EBUSY;
	rc = malloc(sizeof(*rc));
	if (!rc)
		return -ENOMEM;
	*rc = (struct raw_cmd){.f = f, .cb = cb, .arg = arg};
	if (redisAsyncCommandArgv(f->cmd, on_raw, rc, argc, argv, lens) != REDIS_OK) {
		free(rc);
		f->st.errors++;
		return -ENOMEM;
	}
	if (!f->pending)
		f->progress_ms = ev_now_ms();
	f->pending++;
	return 0;
}

void fleet_put(struct fleet *f, struct fleet_record *r)
{
	r->edge = f->edge;
	if (f->state == FLEET_READY && f->pending < FLEET_PENDING_MAX) {
		if (!f->pending)
			f->progress_ms = ev_now_ms();
		send_record(f, r);
		return;
	}
	/* Away (or Redis too slow): queued, within its bounds. */
	fleet_queue_put(&f->queue, r);
	f->st.queued = f->queue.n;
	f->st.dropped = f->queue.dropped;
}

struct fleet *fleet_new(struct ev_loop *loop, const struct mxg_config *cfg, const char *password,
			const struct fleet_limits *lim, const struct fleet_hooks *hooks)
{
	struct fleet *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->password = password ? strdup(password) : NULL;
	if (fleet_queue_init(&f->queue) < 0 || (password && !f->password)) {
		fleet_free(f);
		return NULL;
	}
	f->loop = loop;
	f->hooks = *hooks;
	f->lim = *lim;
	if (getrandom(&f->edge, sizeof(f->edge), GRND_NONBLOCK) != sizeof(f->edge))
		f->edge = ev_now_ns() ^ ((uint64_t)getpid() << 32);
	snprintf(f->prefix, sizeof(f->prefix), "%s", cfg->redis_prefix);
	snprintf(f->channel, sizeof(f->channel), "%s%s", cfg->redis_prefix, FLEET_CHANNEL);
	snprintf(f->user, sizeof(f->user), "%s", cfg->redis_user);
	snprintf(f->master_name, sizeof(f->master_name), "%s", cfg->redis_master_name);
	f->direct = cfg->redis_addr;
	f->direct_len = cfg->redis_addr_len;
	f->n_sentinels = cfg->n_redis_sentinels;
	memcpy(f->sentinels, cfg->redis_sentinels, sizeof(f->sentinels));
	f->st.down_since_ms = fleet_wall_ms();
	f->bounds = (struct redis_bounds){.max_elements = FLEET_REPLY_ELEMENTS_MAX,
					  .max_bytes = FLEET_REPLY_BYTES_MAX};
	ev_timer_init(&f->timer, on_timer, f);
	f->state = FLEET_IDLE;
	tick(f, 0);
	return f;
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	if (f->loop)
		ev_timer_stop(f->loop, &f->timer);
	fleet_ctx_free(&f->cmd);
	fleet_ctx_free(&f->sub);
	fleet_ctx_free(&f->sent);
	if (f->password) {
		explicit_bzero(f->password, strlen(f->password));
		free(f->password);
	}
	fleet_queue_free(&f->queue);
	free(f);
}

void fleet_set_limits(struct fleet *f, const struct fleet_limits *lim)
{
	f->lim = *lim;
}

static bool same_password(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

int fleet_set_password(struct fleet *f, const char *password)
{
	char *pw = NULL;

	if (same_password(f->password, password))
		return 0;
	if (password && !(pw = strdup(password)))
		return -ENOMEM;
	if (f->password) {
		explicit_bzero(f->password, strlen(f->password));
		free(f->password);
	}
	f->password = pw;
	/* Reconnect now, without a backoff: a wrong password shows in status
	 * at once, not at the next failover; what is queued stays queued. */
	if (f->state != FLEET_IDLE) {
		if (f->state == FLEET_READY) {
			f->st.down_since_ms = fleet_wall_ms();
			log_notice("redis %s: the password changed; reconnecting with it",
				   f->st.server);
		}
		f->state = FLEET_IDLE;
		f->st.connected = false;
		f->cmd_ok = f->sub_ok = false;
		f->pending = 0;
		fleet_ctx_free(&f->cmd);
		fleet_ctx_free(&f->sub);
		fleet_ctx_free(&f->sent);
	}
	f->backoff_ms = 0;
	ev_timer_stop(f->loop, &f->timer);
	tick(f, 0);
	return 1;
}

bool fleet_connected(const struct fleet *f)
{
	return f && f->state == FLEET_READY;
}

void fleet_get_stats(const struct fleet *f, struct fleet_stats *st)
{
	*st = f->st;
	st->queued = f->queue.n;
}
