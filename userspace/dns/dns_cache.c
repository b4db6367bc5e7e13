// SPDX-License-Identifier: GPL-2.0-only
/*
 * The lookup queue and the host address cache; see dns_cache.h.
 *
 * A lookup goes: queued -> MX query (dns_resolve_mx_only) -> for each MX
 * host, its addresses from the cache, or a wait on the host's lookup
 * (started by the first lookup that needs it) -> callback. Lookups wait on
 * a host through a waiter node of their own (one per MX host slot), so an
 * answer reaches every waiting domain without a search, and a cancelled
 * lookup unlinks itself in O(1).
 */
#include "dns_cache.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "log.h"
#include "strmap.h"

#define HOST_SWEEP_EVERY 1024 /* new host entries between sweeps of expired ones */
#define DNS_CACHE_SPARE 64    /* finished lookups kept for reuse */

struct dns_host;

/* One lookup waiting for one host's addresses. */
struct host_wait {
	LIST_ENTRY(host_wait) link; /* in dns_host.waiters while h is set */
	struct dns_lookup *l;
	struct dns_host *h;
	unsigned slot; /* index into l->hosts */
};

struct dns_host {
	char *name;
	bool resolving;
	uint64_t expires_ms; /* ready until then (0: never resolved) */
	uint32_t ttl_s;
	uint8_t addr_status; /* enum mx_status */
	uint8_t n_addrs;
	struct mxg_ip *addrs;
	LIST_HEAD(, host_wait) waiters;
};

struct dns_lookup {
	struct dns_cache *c;
	TAILQ_ENTRY(dns_lookup) link; /* in dns_cache.queue, or .running */
	bool running;
	bool mx_asked; /* the MX query is out (cancel it through the resolver) */
	char *domain;
	mx_resolve_cb cb;
	void *arg;
	unsigned pending; /* hosts waited for */
	/* The MX answer, sized to it (a struct mx_set is 20 KB): assembled
	 * into the cache's scratch set for the callback. */
	enum mx_status status;
	uint32_t ttl_s;
	char *error;
	struct mx_host *hosts;
	size_t n_hosts;
	size_t hosts_cap; /* hosts allocated, kept with a spare lookup */
	struct host_wait w[MXG_MX_MAX_HOSTS];
};

struct dns_cache {
	struct dns_resolver *r;
	struct ev_loop *loop;
	unsigned max_inflight;
	TAILQ_HEAD(lookup_list, dns_lookup) queue; /* waiting to start, in order */
	struct lookup_list running;
	struct strmap *hosts; /* name -> struct dns_host * */
	unsigned since_sweep;
	struct ev_timer kick;	/* starts queued lookups from a clean stack */
	struct mx_set *scratch; /* what callbacks get; one at a time */
	bool delivering;
	struct dns_cache_stats st;
	/* Finished lookups kept for the next (a lookup is 1 KB, and 340 a
	 * second at 100,000 domains went through malloc's search). */
	struct dns_lookup *spare[DNS_CACHE_SPARE];
	unsigned n_spare;
};

static void start_some(struct dns_cache *c);

static void kick_cb(struct ev_loop *loop, void *arg)
{
	start_some(arg);
}

/* Start queued lookups soon. If the timer cannot be armed (out of memory)
 * the queue waits for the next lookup queued or completed, which kicks
 * again: the daemon queues one per domain at every refresh. */
static void kick(struct dns_cache *c)
{
	if (!ev_timer_armed(&c->kick) && ev_timer_start(c->loop, &c->kick, 0) < 0)
		log_warn("dns: cannot arm the lookup queue timer: out of memory; %zu lookup(s) "
			 "wait for the next one",
			 c->st.queued);
}

struct dns_cache *dns_cache_new(struct dns_resolver *r, unsigned max_inflight)
{
	struct dns_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->r = r;
	TAILQ_INIT(&c->queue);
	TAILQ_INIT(&c->running);
	c->loop = dns_resolver_loop(r);
	c->max_inflight = max_inflight ? max_inflight : DNS_CACHE_INFLIGHT;
	c->hosts = strmap_new();
	c->scratch = malloc(sizeof(*c->scratch));
	if (!c->hosts || !c->scratch) {
		strmap_free(c->hosts);
		free(c->scratch);
		free(c);
		return NULL;
	}
	ev_timer_init(&c->kick, kick_cb, c);
	return c;
}

static void host_free(struct dns_host *h)
{
	free(h->name);
	free(h->addrs);
	free(h);
}

/* Sweep: entries past their expiry that nobody waits for. */
static bool drop_expired(void *arg, const char *key, uintptr_t *val)
{
	struct dns_host *h = (struct dns_host *)*val;

	if (h->resolving || !LIST_EMPTY(&h->waiters) || h->expires_ms > ev_now_ms())
		return false;
	host_free(h);
	return true;
}

static bool drop_any(void *arg, const char *key, uintptr_t *val)
{
	struct dns_host *h = (struct dns_host *)*val;
	struct dns_cache *c = arg;

	if (h->resolving)
		dns_cancel(c->r, h);
	host_free(h);
	return true;
}

static void lookup_free(struct dns_lookup *l)
{
	struct dns_cache *c = l->c;

	free(l->domain);
	free(l->error);
	if (c->n_spare < DNS_CACHE_SPARE) {
		c->spare[c->n_spare++] = l; /* with its hosts, for the next */
		return;
	}
	free(l->hosts);
	free(l);
}

static void unlink_lookup(struct dns_cache *c, struct dns_lookup *l)
{
	TAILQ_REMOVE(l->running ? &c->running : &c->queue, l, link);
	if (l->running)
		c->st.inflight--;
	else
		c->st.queued--;
}

static void unwait(struct host_wait *w)
{
	if (!w->h)
		return;
	LIST_REMOVE(w, link);
	w->h = NULL;
}

void dns_cache_cancel(struct dns_cache *c, struct dns_lookup *l)
{
	if (!l)
		return;
	if (l->mx_asked)
		dns_cancel(c->r, l);
	for (unsigned i = 0; i < MXG_MX_MAX_HOSTS; i++)
		unwait(&l->w[i]);
	/* A host lookup nobody waits for any more still completes and fills
	 * the cache: the next domain naming the host will want it. */
	unlink_lookup(c, l);
	lookup_free(l);
	kick(c);
}

void dns_cache_free(struct dns_cache *c)
{
	if (!c)
		return;
	while (!TAILQ_EMPTY(&c->running))
		dns_cache_cancel(c, TAILQ_FIRST(&c->running));
	while (!TAILQ_EMPTY(&c->queue))
		dns_cache_cancel(c, TAILQ_FIRST(&c->queue));
	ev_timer_stop(c->loop, &c->kick);
	/* Host lookups still out are cancelled with their entries. */
	strmap_sweep(c->hosts, drop_any, c);
	strmap_free(c->hosts);
	while (c->n_spare) {
		struct dns_lookup *l = c->spare[--c->n_spare];

		free(l->hosts);
		free(l);
	}
	free(c->scratch);
	free(c);
}

struct dns_lookup *dns_cache_resolve(struct dns_cache *c, const char *domain, mx_resolve_cb cb,
				     void *arg)
{
	struct mx_host *hosts = NULL;
	struct dns_lookup *l;
	size_t cap = 0;

	if (c->n_spare) {
		/* With its hosts (1 KB each: not from malloc's small caches). */
		l = c->spare[--c->n_spare];
		hosts = l->hosts;
		cap = l->hosts_cap;
	} else {
		l = malloc(sizeof(*l));
		if (!l) {
			errno = ENOMEM;
			return NULL;
		}
	}
	memset(l, 0, sizeof(*l));
	l->hosts = hosts;
	l->hosts_cap = cap;
	l->c = c;
	l->cb = cb;
	l->arg = arg;
	l->domain = strdup(domain);
	if (!l->domain) {
		lookup_free(l);
		errno = ENOMEM;
		return NULL;
	}
	TAILQ_INSERT_TAIL(&c->queue, l, link);
	if (++c->st.queued > c->st.max_queued)
		c->st.max_queued = c->st.queued;
	kick(c);
	return l;
}

/* The lookup is complete: its callback, then the next one queued. */
static void deliver(struct dns_lookup *l)
{
	struct dns_cache *c = l->c;

	struct mx_set *set = c->scratch, *own = NULL;

	unlink_lookup(c, l);
	c->st.lookups++;
	if (c->delivering) /* a callback that completes another lookup */
		set = own = malloc(sizeof(*own));
	if (set) {
		/* Only the header and the hosts DNS gave: callers read
		 * hosts[0 .. n_hosts). */
		memset(set, 0, offsetof(struct mx_set, hosts));
		snprintf(set->domain, sizeof(set->domain), "%s", l->domain);
		set->status = l->status;
		set->ttl_s = l->ttl_s;
		snprintf(set->error, sizeof(set->error), "%s", l->error ? l->error : "");
		if (l->n_hosts)
			memcpy(set->hosts, l->hosts, l->n_hosts * sizeof(*l->hosts));
		set->n_hosts = l->n_hosts;
		c->delivering = true;
		l->cb(l->arg, set);
		c->delivering = own ? true : false;
	}
	free(own);
	lookup_free(l);
	kick(c);
}

static void fill_host(struct dns_lookup *l, unsigned slot, const struct dns_host *h)
{
	struct mx_host *mh = &l->hosts[slot];

	mh->n_addrs = h->n_addrs;
	memcpy(mh->addrs, h->addrs, h->n_addrs * sizeof(h->addrs[0]));
	mh->addr_status = (enum mx_status)h->addr_status;
	/* The set lives as long as its shortest part (the host's own TTL,
	 * not what is left of it: a domain refreshes on its own cadence). */
	if (h->addr_status == MX_OK && l->ttl_s > h->ttl_s)
		l->ttl_s = h->ttl_s;
}

static void host_answer(void *arg, const struct mx_set *set)
{
	struct dns_host *h = arg;
	const struct mx_host *mh = &set->hosts[0];
	struct host_wait *w;
	uint64_t now = ev_now_ms();

	h->resolving = false;
	free(h->addrs);
	h->addrs = NULL;
	h->n_addrs = 0;
	h->addr_status = set->n_hosts ? (uint8_t)mh->addr_status : MX_ERROR;
	if (h->addr_status == MX_OK && mh->n_addrs) {
		h->addrs = malloc(mh->n_addrs * sizeof(*h->addrs));
		if (h->addrs) {
			memcpy(h->addrs, mh->addrs, mh->n_addrs * sizeof(*h->addrs));
			h->n_addrs = (uint8_t)mh->n_addrs;
		} else {
			h->addr_status = MX_ERROR;
		}
	}
	h->ttl_s = set->ttl_s;
	if (h->addr_status == MX_ERROR)
		h->expires_ms = now + DNS_HOST_FAIL_MS;
	else if (h->addr_status != MX_OK)
		h->expires_ms =
		    now +
		    1000ull * (h->ttl_s < DNS_HOST_NEGATIVE_S ? h->ttl_s : DNS_HOST_NEGATIVE_S);
	else
		h->expires_ms = now + 1000ull * h->ttl_s;

	/* One waiter at a time off the list: a callback may cancel another
	 * lookup, whose waiters then leave the list themselves. */
	while ((w = LIST_FIRST(&h->waiters))) {
		struct dns_lookup *l = w->l;

		LIST_REMOVE(w, link);
		w->h = NULL;
		fill_host(l, w->slot, h);
		if (--l->pending == 0)
			deliver(l);
	}
}

static struct dns_host *host_get(struct dns_cache *c, const char *name)
{
	struct dns_host *h;
	uintptr_t v;

	if (strmap_get(c->hosts, name, &v))
		return (struct dns_host *)v;
	if (++c->since_sweep >= HOST_SWEEP_EVERY) {
		c->since_sweep = 0;
		strmap_sweep(c->hosts, drop_expired, c);
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	LIST_INIT(&h->waiters);
	h->name = strdup(name);
	if (!h->name || strmap_put(c->hosts, name, (uintptr_t)h) < 0) {
		host_free(h);
		return NULL;
	}
	c->st.hosts = strmap_count(c->hosts);
	return h;
}

/* Addresses for host slot i of l: from the cache, or wait. */
static void need_host(struct dns_lookup *l, unsigned i)
{
	struct dns_cache *c = l->c;
	struct mx_host *mh = &l->hosts[i];
	struct dns_host *h = host_get(c, mh->name);
	struct host_wait *w = &l->w[i];
	int r;

	if (!h) {
		mh->addr_status = MX_ERROR;
		return;
	}
	if (!h->resolving && h->expires_ms > ev_now_ms()) {
		c->st.host_hits++;
		fill_host(l, i, h);
		return;
	}
	if (!h->resolving) {
		r = dns_resolve_addrs(c->r, h->name, host_answer, h);
		if (r < 0) {
			mh->addr_status = MX_ERROR;
			return;
		}
		h->resolving = true;
		c->st.host_misses++;
	} else {
		c->st.host_joined++;
	}
	w->l = l;
	w->h = h;
	w->slot = i;
	LIST_INSERT_HEAD(&h->waiters, w, link);
	l->pending++;
}

static void mx_answer(void *arg, const struct mx_set *set)
{
	struct dns_lookup *l = arg;
	size_t n = set->status == MX_OK && set->n_hosts <= MXG_MX_MAX_HOSTS ? set->n_hosts : 0;

	l->mx_asked = false;
	l->status = set->status;
	l->ttl_s = set->ttl_s;
	if (set->error[0])
		l->error = strndup(set->error, sizeof(set->error) - 1);
	if (n > l->hosts_cap) {
		free(l->hosts);
		l->hosts_cap = 0;
		l->hosts = malloc(n * sizeof(*l->hosts));
		if (l->hosts)
			l->hosts_cap = n;
	}
	if (n) {
		if (!l->hosts) {
			l->status = MX_ERROR;
			free(l->error);
			l->error = strdup("out of memory");
			n = 0;
		} else {
			memcpy(l->hosts, set->hosts, n * sizeof(*l->hosts));
		}
	}
	l->n_hosts = n;
	for (unsigned i = 0; i < n; i++)
		need_host(l, i);
	if (!l->pending)
		deliver(l);
}

/* At most DNS_CACHE_START_BATCH per call (each opens a socket); the kick
 * timer comes back for more in the next loop iteration. */
static void start_some(struct dns_cache *c)
{
	unsigned started = 0;

	while (!TAILQ_EMPTY(&c->queue) && c->st.inflight < c->max_inflight) {
		if (started++ == DNS_CACHE_START_BATCH) {
			kick(c);
			return;
		}
		struct dns_lookup *l = TAILQ_FIRST(&c->queue);
		int r;

		unlink_lookup(c, l);
		l->running = true;
		TAILQ_INSERT_HEAD(&c->running, l, link);
		c->st.inflight++;
		r = dns_resolve_mx_only(c->r, l->domain, mx_answer, l);
		if (r < 0) {
			struct mx_set *fail = calloc(1, sizeof(*fail));

			log_debug("dns %s: cannot start the MX lookup: %s", l->domain,
				  strerror(-r));
			unlink_lookup(c, l);
			c->st.lookups++;
			if (fail) {
				fail->status = MX_ERROR;
				snprintf(fail->domain, sizeof(fail->domain), "%s", l->domain);
				snprintf(fail->error, sizeof(fail->error),
					 "cannot start the MX lookup: %s", strerror(-r));
				l->cb(l->arg, fail);
			}
			free(fail);
			lookup_free(l);
			continue;
		}
		l->mx_asked = true;
	}
}

void dns_cache_stats(const struct dns_cache *c, struct dns_cache_stats *out)
{
	*out = c->st;
	out->hosts = strmap_count(c->hosts);
}
