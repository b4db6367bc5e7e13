/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mxgated's controller: one event loop that resolves every served domain's
 * MX set on its TTL (domains.c), probes every primary address once per
 * round (rounds.c), feeds the per-domain state machine (domain_state.c),
 * writes the verdicts to the gate backend and the responder each round
 * (publish.c), supervises the responder (ctl_responder.h), answers the control
 * socket (status.c) and handles signals (controller.c).
 *
 * Data flows one way: DNS and probes -> domain states -> gate + responder.
 */
#ifndef MXG_CONTROLLER_H
#define MXG_CONTROLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "config.h"
#include "config_wire.h"
#include "ctl_dns_wheel.h"
#include "ctl_job.h"
#include "control.h"
#include "dns.h"
#include "dns_cache.h"
#include "domain_state.h"
#include "event.h"
#include "gate.h"
#include "pass_db.h"
#include "probe.h"

#define CTL_PROBE_RESULTS PROBE_RESULTS
#define CTL_DNS_RETRY_MS 2000		 /* after a failed MX lookup, doubled */
#define CTL_DNS_RETRY_FIRST_MAX_MS 30000 /* at most, while a domain has no answer */
#define CTL_DNS_RETRY_MAX_MS 300000	 /* at most, within dns_grace */
/* DNS answers that change a verdict are published together, at most this
 * long after the first: 100,000 answers at start-up are a few dozen
 * publications, not 100,000 (each one walks every domain). */
#define CTL_PUBLISH_DELAY_MS 200
/* Blocks from this size on come from mmap and go back at free()
 * (main_mxgated.c): a fixed threshold, not glibc's sliding one. */
#define MXG_MMAP_THRESHOLD (256 * 1024)
/* `mxgate metrics` lists each domain's state up to this many domains;
 * beyond, only the counts by state (mxgate_domains). */
#define CTL_METRICS_DOMAINS_MAX 1000
/* After an rtnetlink link/tc event, wait this long for the burst to end
 * (a `tc qdisc del` sends several) before checking our filter. */
#define CTL_LINKS_SETTLE_MS 100

struct controller;
struct policy_server;
struct ctl_offenders;

struct ctl_passes;
struct ctl_responder;
struct mnl_socket;

/* What a domain contributes to its gate addresses' counts (ctl_changes.c):
 * kept so that a change removes exactly what was added. */
struct ctl_acct {
	struct mxs *set;	     /* a reference to the set counted; NULL: none */
	enum mxg_domain_state state; /* the state counted */
	bool counted;
};

/* A reload's answer, applied over several loop iterations (ctl_reload.c):
 * unpacked, then each new domain matched to the one served, then all
 * switched at once (ctl_reload_apply), then evaluated in slices. */
enum ctl_reload_phase { CTL_RELOAD_IDLE, CTL_RELOAD_UNPACK, CTL_RELOAD_MATCH };
struct ctl_reload_run {
	enum ctl_reload_phase phase;
	char *buf; /* the helper's answer, until unpacked */
	struct config_unpacker u;
	struct mxg_config *ncfg;
	struct ctl_domain **nd; /* per ncfg->domains: the domain kept, NULL: new */
	size_t next;
	struct ev_timer timer;
};

struct ctl_domain {
	struct controller *c;
	const struct mxg_domain_config *dcfg; /* into c->cfg->domains */
	struct domain_state ds;
	struct ctl_dns_entry dns_due;	    /* on c->dnsw until its next lookup */
	struct dns_lookup *lookup;	    /* queued or running; NULL */
	uint8_t dns_fails;		    /* failed lookups in a row (backoff) */
	uint64_t dns_next_ms;		    /* when the next lookup is due */
	uint64_t keep_gen;		    /* reload: still configured (c->reload_gen) */
	TAILQ_ENTRY(ctl_domain) dirty_link; /* on c->dirty: its gate entry changed */
	bool dirty;
	struct ctl_acct acct;
	/* Its primary addresses in the index (ctl_paddr.c), as ds.addrs. */
	struct ctl_dep *deps;
	size_t n_deps;
	/* Rounds (rounds.c): on c->feed when this round's results must be
	 * fed to it, on c->unsettled when every round's must (not settled:
	 * ds_settled). fed_round: c->cnt.rounds when it was last fed or
	 * caught up; a settled domain skipped since is caught up with
	 * ds_replay_ok before any new input (ctl_domain_catch_up). */
	TAILQ_ENTRY(ctl_domain) feed_link;
	TAILQ_ENTRY(ctl_domain) unsettled_link;
	bool in_feed, unsettled;
	uint64_t fed_round;
};
TAILQ_HEAD(ctl_domain_list, ctl_domain);

/* One primary address of one domain, linked into the address's list of
 * dependants (ctl_paddr.c). */
struct ctl_paddr;
struct ctl_dep {
	TAILQ_ENTRY(ctl_dep) link;
	struct ctl_domain *cd;
	struct ctl_paddr *pa;
	size_t addr; /* index into cd->ds.addrs */
};
TAILQ_HEAD(ctl_dep_list, ctl_dep);

/* A primary address, probed once a round whatever the number of domains
 * naming it, and the domains that do (its dependants). */
struct ctl_paddr {
	struct ctl_paddr *hnext; /* hash chain */
	struct mxg_ip ip;
	struct ctl_dep_list deps;
	size_t n_deps;
	struct ctl_dep *pick; /* whose postmaster the next probe asks */
	bool probed;	      /* last, last_code: the last round's result */
	enum probe_result last;
	int last_code;
	size_t slot; /* 1 + its index in the running round's table; 0: none */
	/* The quorum's verdict last written for it (ctl_quorum.c). */
	uint64_t q_pub_ms; /* when; 0: never */
	bool q_up;
};

/* A domain's published view before an input is fed, to tell what changed. */
struct ctl_snap {
	enum mxg_domain_state state;
	enum mxg_reason reason;
	const char *primary;
	uint64_t since_ms;
	const struct mxs *set;
};

/* A self address named in some MX set (ctl_changes.c): how many domains
 * name it, and of the domains served on it, how many are not gated. */
struct ctl_self_addr {
	struct mxg_ip ip;
	size_t n_sets;	 /* domains whose set has it as a self address */
	size_t n_served; /* of them, known (not unknown): served on it */
	size_t n_open;	 /* of those, not gated */
};

struct ctl_gate_addr {
	struct mxg_ip ip;
	bool gated;
	unsigned n_domains;
};

struct ctl_counters {
	uint64_t rounds;
	uint64_t probes[CTL_PROBE_RESULTS];
	uint64_t transitions; /* domain state changes */
	uint64_t responder_restarts;
	uint64_t responder_tables_full; /* domain tables written in full */
	uint64_t responder_tables_same; /* SAMEs written instead (no change) */
	uint64_t gate_errors;
	uint64_t gate_reattached; /* tc filters found removed and attached again */
	uint64_t dns_answers;
	uint64_t dns_failures;
	uint64_t dns_forged_before; /* forged answers seen by resolvers since replaced */
	uint64_t reloads;
	uint64_t reloads_refused;
};

struct probe_slot {
	struct controller *c;
	struct ctl_paddr *pa; /* NULL once no domain names it any more */
	size_t idx;
	bool reported;
	char *rcpt_domain; /* this round's RCPT TO:<postmaster@...> domain */
	char *mx_name;	   /* its MX host at this address: the TLS name */
};

#define CTL_PROBE_BATCH 64 /* probes started per loop iteration */

struct ctl_round {
	struct ev_timer timer;
	struct ev_timer start_timer; /* starts the next batch of probes */
	size_t next_start;	     /* the next slot to start */
	bool running;
	bool starting;
	bool feeding; /* probes done; results being fed (feed_timer) */
	bool due;     /* the next round waits for the feed to end */
	struct ev_timer feed_timer;
	uint64_t prev_ms; /* when the round before the last completed */
	struct ds_probe_result *res;
	struct probe_slot *slots;
	size_t n;
	size_t pending;
	uint64_t started_ms;
	uint64_t last_ms; /* when the last round completed */
	uint64_t last_took_ms;
};

struct controller {
	struct ev_loop *loop;
	const char *config_path;
	struct mxg_config *cfg;
	struct ds_params params;

	struct ctl_domain **domains;
	size_t n_domains;

	struct dns_resolver *dns;
	struct dns_cache *dnsc;	   /* the lookup queue and host cache over dns */
	struct ctl_dns_wheel dnsw; /* when each domain's next lookup is due */
	struct prober *prober;
	bool prober_stale; /* probe_timeout or helo_name changed: renew */

	const struct gate_ops *gops;
	struct gate *gate;
	bool gate_failing;	     /* log the first error of a run only */
	struct mnl_socket *links_nl; /* rtnetlink link + tc events (ctl_links.c) */
	struct ev_timer links_timer;

	struct ctl_responder *resp;	  /* ctl_responder.h */
	struct ctl_offenders *offenders;  /* the list; an nft set with offender_set */
	struct ctl_passes *passes;	  /* greylisting and passes (ctl_passes.c) */
	struct fleet *fleet;		  /* state_backend = redis (ctl_fleet.c); NULL */
	struct ctl_quorum *quorum;	  /* verdicts exchanged (ctl_quorum.c); NULL */
	struct ev_timer state_timer;	  /* saves the state file (ctl_state.c) */
	struct ctl_job state_job;	  /* the save running, if any */
	struct ctl_job reload_job;	  /* SIGHUP's helper (ctl_reload.c) */
	bool reload_again;		  /* SIGHUP during a reload: one more */
	struct ctl_reload_run reload_run; /* its answer, applied in steps */
	uint64_t reload_gen;		  /* the reload whose domains are being matched */
	size_t eval_next;		  /* after a reload: next domain to evaluate */
	struct ev_timer eval_timer;	  /* evaluates the next slice */
	bool state_failing;		  /* the last save failed: logged once */
	bool state_job_empty;		  /* the save running started with empty tables */
	bool state_saved_empty;		  /* the file holds empty tables, as the loop does */
	struct ctl_unserved *unserved;	  /* recipient domains seen, not served */
	struct ev_timer trim_timer;	  /* ctl_trim.c */
	int trim_fd;			  /* /proc/self/statm, or -1 */
	uint64_t trim_every_ms;		  /* the interval, as the last trim says */

	struct ctl_gate_addr addrs[MXG_MAX_ADDRESSES];
	size_t n_addrs;

	struct ctl_round round;
	struct ev_timer publish_timer; /* ctl_publish_soon */

	/* What changed since the last publish, and the counts that decide
	 * the gate addresses without a walk over the domains (ctl_changes.c). */
	struct ctl_domain_list dirty;
	size_t n_dirty;
	struct ev_timer dirty_timer; /* writes the rest of c->dirty */
	uint64_t table_gen;	     /* bumped when the responder's table changes */
	struct ctl_self_addr *self_addrs;
	size_t n_self_addrs, cap_self_addrs;
	size_t n_everywhere, n_everywhere_open; /* served on every address */
	size_t n_open;				/* domains not gated, all */
	/* Primary addresses by hash (ctl_paddr.c); rounds' work lists. */
	struct ctl_paddr **pa_buckets;
	size_t pa_nbuckets, n_paddrs;
	struct ctl_domain_list feed, unsettled;
	size_t n_unsettled;
	bool index_failed; /* out of memory indexing a domain: rounds retry */
	/* The expiry refresh: a slice of the domains every tick (publish.c). */
	struct ev_timer refresh_timer;
	size_t refresh_next;
	bool sync_pending; /* a domains_sync is under way */
	int gate_async_fd; /* -1: the backend's writes are done when they return */
	struct ev_timer gate_async_timer;
	int sigfd;
	struct control *control;
	struct policy_server *policy; /* NULL unless policy_listen */
	/* This host's addresses as of the last publish (ctl_host.c): never
	 * an offender, for the policy service or from a responder report. */
	struct mxg_ip host_addrs[MXG_MAX_HOST_ADDRESSES];
	size_t n_host_addrs;
	bool host_addrs_failing; /* getifaddrs failed: logged once, list kept */
	bool host_addrs_full;	 /* more than fit: logged once */
	struct ctl_counters cnt;
	uint64_t started_ms;
	bool stopping;
	bool failed; /* ctl_fatal: controller_run returns an error */
};

/* Set up everything (gate, control socket, responder, first lookups).
 * On error logs what failed and returns negative errno. */
int controller_start(struct controller *c, const char *config_path, struct mxg_config *cfg);
/* Run until SIGTERM/SIGINT; then detach and clean up. 0 or negative errno. */
int controller_run(struct controller *c);
/* Stop the responder, close the gate (detach = true on a clean stop),
 * remove the control socket, free everything. */
void controller_stop(struct controller *c, bool detach);
/* ev_timer_start, or ctl_fatal naming the timer. */
void ctl_timer_start(struct controller *c, struct ev_timer *t, uint64_t delay_ms, const char *name);

/* ctl_policy.c: the Postfix policy service on policy_listen (if set). */
int ctl_policy_start(struct controller *c);
void ctl_policy_stop(struct controller *c);
/* This host's addresses (ctl_host.c), from publish's one getifaddrs a
 * publish; err: its errno (ifa NULL), the list is kept. */
struct ifaddrs;
void ctl_host_refresh(struct controller *c, const struct ifaddrs *ifa, int err);
/* Loopback or one of this host's addresses as of the last refresh. */
/* ctl_oom.c: the OOM kills in our cgroup so far (memory.events); 0, or
 * -1 when unknown (no cgroup v2, no memory controller). */
int ctl_oom_kills(uint64_t *out);

/* 0 if the directory of sock (a socket mxgated makes) is root's alone,
 * else a negative errno and one line in err naming key. missing_ok: the
 * directory itself may not exist yet. */
int ctl_socket_dir_check(const char *key, const char *sock, bool missing_ok, char *err,
			 size_t errlen);
bool ctl_ip_is_host(const struct controller *c, const struct mxg_ip *ip);

/* ctl_metrics.c: the "metrics" request, Prometheus text. */
void ctl_metrics(const struct controller *c, struct sbuf *out);

/* domains.c */
struct ctl_domain *ctl_domain_new(struct controller *c, const struct mxg_domain_config *dcfg);
void ctl_domain_free(struct ctl_domain *cd);
/* The served domain of that name (lower case, no trailing dot), by binary
 * search: c->domains is sorted by name. NULL when not served. */
struct ctl_domain *ctl_find_domain(const struct controller *c, const char *name);
void ctl_dns_schedule(struct ctl_domain *cd, uint64_t delay_ms);
/* c->dnsw's callback: cd's lookup is due (domains.c). */
void ctl_dns_due(void *arg, struct ctl_dns_entry *e);
void ctl_log_change(struct ctl_domain *cd, enum mxg_domain_state old_state,
		    enum mxg_reason old_reason);
/* The reply the domain gives now, for the responder's table and the
 * policy service alike: its configured reply, except defer (451) while a
 * reject domain is in its reject grace. */
enum mxg_reply_mode ctl_domain_reply(const struct controller *c, const struct ctl_domain *cd);
#define CTL_RELOAD_STEP 4096 /* domains unpacked, matched or evaluated per iteration */
#define CTL_RELOAD_MIN 256   /* at least; more until the iteration's budget is spent */
/* A new reload's matching starts: c->reload_gen names it. */
void ctl_reload_match_begin(struct controller *c);
/* nd[i] for ncfg->domains[from .. to): the domain served under that name
 * (marked kept), or NULL for a new one. */
void ctl_reload_match(struct controller *c, const struct mxg_config *ncfg, size_t from, size_t to,
		      struct ctl_domain **nd);
/* Every domain matched: switch to ncfg (the controller's from now on) in
 * one step; takes nd. The domains are evaluated under it in slices
 * (ctl_eval_timer_cb), then published. */
int ctl_reload_apply(struct controller *c, struct mxg_config *ncfg, struct ctl_domain **nd);
void ctl_eval_timer_cb(struct ev_loop *loop, void *arg);
/* ctl_reload.c: SIGHUP; the file is loaded and checked by a helper
 * process, applied when its answer comes (ctl_reload_apply). */
void ctl_reload(struct controller *c);
void ctl_reload_init(struct controller *c); /* once, before the loop runs */
void ctl_reload_stop(struct controller *c);
void ctl_set_params(struct controller *c);
/* The configured resolver, or the first of /etc/resolv.conf. */
struct dns_resolver *ctl_resolver_new(struct controller *c, const struct mxg_config *cfg);
/* DNS answers dropped as forged (wrong ID or question case), all resolvers. */
uint64_t ctl_dns_forged(const struct controller *c);

/* ctl_links.c: re-attach a gate someone removed; what status reports. */
int ctl_links_start(struct controller *c);
void ctl_links_stop(struct controller *c);
void ctl_gate_check(struct controller *c);
struct ifaddrs;
/* Whether a new connection to a gated address really reaches the
 * responder, and if not, why (status, metrics). */
enum ctl_steer {
	CTL_STEER_YES,
	CTL_STEER_NO_RESPONDER, /* no responder ready: the program finds no socket */
	CTL_STEER_NO_FILTER,	/* our tc filter is not on the address's interface */
	CTL_STEER_FILTER_AHEAD, /* another tool's tc filter runs before ours there */
};
enum ctl_steer ctl_addr_steer(const struct controller *c, const struct mxg_ip *ip,
			      const struct ifaddrs *ifa);
/* A token for JSON ("steered", "no-responder", "no-filter",
 * "filter-ahead") and a
 * sentence for the text status. */
const char *ctl_steer_token(enum ctl_steer s);
const char *ctl_steer_text(enum ctl_steer s);

/* ctl_trim.c: free heap pages back to the system, often while that gives
 * back much, rarely while it gives back little. */
void ctl_trim_start(struct controller *c);
void ctl_trim_soon(struct controller *c); /* a burst ahead (a reload) */
void ctl_trim_stop(struct controller *c);

/* rounds.c */
/* Domains fed a round's results per loop iteration: at start-up, when
 * every domain is unsettled and changes state (and logs it), one costs
 * 30-100 us of CPU, so 1,024 were 40-100 ms iterations at 100,000
 * domains. At most CTL_FEED_BATCH, fewer once the iteration's budget is
 * spent (EV_BUDGET_NS), CTL_FEED_MIN at least. */
#define CTL_FEED_BATCH 1024
#define CTL_FEED_MIN 64
void ctl_round_timer(struct ev_loop *loop, void *arg);
void ctl_round_feed_cb(struct ev_loop *loop, void *arg);
/* Before any new input to cd: replay the rounds it skipped while settled. */
void ctl_domain_catch_up(struct ctl_domain *cd);
/* After any input to cd: on or off c->unsettled as ds_settled says. */
void ctl_domain_settle(struct ctl_domain *cd);

/* ctl_paddr.c: the index of primary addresses. */
/* cd->deps as cd->ds.addrs says (after a DNS answer); 0 or -ENOMEM (the
 * domain is then left out of the index: on c->unsettled, fed every round). */
int ctl_paddr_update(struct ctl_domain *cd);
void ctl_paddr_drop(struct ctl_domain *cd);
/* Call fn for every indexed address. */
void ctl_paddr_each(struct controller *c, void (*fn)(void *arg, struct ctl_paddr *pa), void *arg);
void ctl_paddr_free(struct controller *c);
void ctl_round_start_cb(struct ev_loop *loop, void *arg);
void ctl_round_abort(struct controller *c);

/* publish.c: gate addresses, gate backend, responder table. */
#define CTL_PUBLISH_BATCH 2048	/* changed domains written per loop iteration */
#define CTL_REFRESH_TICK_MS 250 /* the expiry refresh writes a slice this often */
#define CTL_REFRESH_MAX 8192	/* domains per slice at most */
/* The domain map's entries live this long at least (state_ttl when
 * longer): the tc program does not read that map, so its entries need
 * not die with the gate's; written again within 3/5 of it. */
#define CTL_DOMAIN_ENTRY_TTL_MS (10 * 60 * 1000ull)
void ctl_publish(struct controller *c);
void ctl_publish_start(struct controller *c); /* the refresh timer */
void ctl_refresh_timer_cb(struct ev_loop *loop, void *arg);
void ctl_dirty_timer_cb(struct ev_loop *loop, void *arg);
/* The backend's unawaited writes (gate_ops.async_fd): their answers read
 * when readable, and at least every CTL_GATE_ASYNC_TICK_MS (timeouts). */
#define CTL_GATE_ASYNC_TICK_MS 1000
int ctl_gate_async_start(struct controller *c);
void ctl_gate_async_stop(struct controller *c);
void ctl_gate_async_timer_cb(struct ev_loop *loop, void *arg);

/* ctl_changes.c: what a publish must write, and the address counts. */
/* Before an input is fed to cd (catches it up first: rounds.c). */
void ctl_snap_take(struct ctl_domain *cd, struct ctl_snap *s);
/* After an input was fed to cd: log a state change, queue its gate entry,
 * count it for its addresses, mark the responder's table changed. true
 * when state or reason changed. */
bool ctl_domain_changed(struct ctl_domain *cd, const struct ctl_snap *s);
/* A domain that appears (counted) or goes (uncounted, off the queue). */
void ctl_domain_track(struct ctl_domain *cd);
void ctl_domain_untrack(struct ctl_domain *cd);
/* `self` changed: every domain counted again. */
void ctl_recount(struct controller *c);
void ctl_changes_free(struct controller *c);
/* Publish within CTL_PUBLISH_DELAY_MS (coalesces bursts of changes). */
void ctl_publish_soon(struct controller *c);
void ctl_publish_timer_cb(struct ev_loop *loop, void *arg);

/* ctl_unserved.c: recipient domains the responder saw and mxgate does
 * not serve (a bounded list, the most recently seen kept). */
struct ctl_unserved;
struct json_writer;
void ctl_unserved_add(struct controller *c, const char *domain, uint64_t now_ms);
void ctl_unserved_free(struct controller *c);
void ctl_unserved_text(const struct controller *c, struct sbuf *o, uint64_t now_ms);
void ctl_unserved_json(const struct controller *c, struct json_writer *w, uint64_t now_ms);

/* ctl_offenders.c: offenders to an nft set (offender_set = yes). */
int ctl_offenders_start(struct controller *c);
/* clean: a clean stop (own table deleted unless the nft gate owns it). */
void ctl_offenders_stop(struct controller *c, bool clean);
/* A client the responder answered 550 as an offender at when_ms. */
void ctl_offender_add(struct controller *c, const struct mxg_ip *ip, uint64_t when_ms);
/* The "offenders" request: one line per live offender. */
void ctl_offenders_list(const struct controller *c, struct sbuf *out);

/* ctl_passes.c: passed clients (greylisting, pass_recipients). */
int ctl_passes_start(struct controller *c);
void ctl_passes_stop(struct controller *c);
/* Pass (or renew) ip for reason (enum mxg_pass_reason); logs why. */
void ctl_pass_add(struct controller *c, const struct mxg_ip *ip, unsigned reason);
/* Drop expired passes; rewrite all to a newly opened gate. Each round. */
void ctl_passes_sweep(struct controller *c);
bool ctl_pass_live(const struct controller *c, const struct mxg_ip *ip);
/* What status and metrics show of greylisting, passes and allowlists. */
struct ctl_pass_stats {
	uint64_t tuples;      /* greylist tuples within the window */
	uint64_t tuples_seen; /* tuple reports (responder and policy) */
	uint64_t early;	      /* of them, back before greylist_delay */
	uint64_t greylisted;  /* responder RCPTs answered 451 as greylisted */
	uint64_t passes;      /* live passes */
	uint64_t passed[2];   /* passes given: greylist, recipient */
	uint64_t renewed, evicted;
	/* Flood-proof tables: tuples not remembered (network at its limit)
	 * or pushed out of a full bucket; passes not given. */
	uint64_t tuples_dropped_network, tuples_dropped_64, tuples_evicted;
	uint64_t passes_dropped_network, passes_dropped_64, passes_dropped_full;
	uint64_t hits_clients;	  /* policy DUNNO: pass_clients */
	uint64_t hits_recipients; /* policy DUNNO + responder 451: pass_recipients */
	uint64_t hits_passed;	  /* policy DUNNO: a passed client delivering */
};
void ctl_passes_stats(const struct controller *c, struct ctl_pass_stats *st);

/* ctl_state.c: the state file under state_dir (load at start, save
 * every minute and at stop). */
void ctl_state_start(struct controller *c);
void ctl_state_stop(struct controller *c);
/* ctl_offenders.c: for the state file. */
void ctl_offenders_each(const struct controller *c,
			void (*fn)(void *arg, const struct mxg_ip *ip, uint64_t first_ms,
				   uint64_t last_ms, uint64_t expires_ms, uint64_t reports),
			void *arg);
/* Also another edge's (ctl_fleet.c): the expiry kept (clamped to
 * offender_window from now), 0 when not kept. */
uint64_t ctl_offender_restore(struct controller *c, const struct mxg_ip *ip, uint64_t first_ms,
			      uint64_t last_ms, uint64_t expires_ms, uint64_t reports);
/* The listed ip came from another edge: a responder started later is
 * told (ctl_offenders_to_responder, at its READY), as the running one was. */
void ctl_offender_shared(struct controller *c, const struct mxg_ip *ip);
void ctl_offenders_to_responder(struct controller *c);
/* A greylist tuple (responder hash) seen from ip: pass ip when it came
 * back after greylist_delay and within greylist_window. */
void ctl_greylist_seen(struct controller *c, const struct mxg_ip *ip, uint64_t hash);
/* The pure unit (pass_db.h) behind them: the state file, the policy
 * service's counts. NULL before ctl_passes_start. */
struct pass_db *ctl_pass_db(struct controller *c);

/* ctl_passes.c: what another edge of the fleet learnt (ctl_fleet.c),
 * times on our monotonic clock: a tuple first seen, a pass (its table's
 * limits apply; never beyond expires_ms). */
void ctl_greylist_merge(struct controller *c, const struct mxg_ip *client, uint64_t hash,
			uint64_t first_ms);
void ctl_pass_merge(struct controller *c, const struct mxg_ip *ip, unsigned reason, bool proven,
		    uint64_t since_ms, uint64_t expires_ms);

/* ctl_fleet.c: state_backend = redis. Start (nothing with local),
 * stop; a reload: anything of Redis's changed (a new connection), else
 * only the limits. */
struct fleet;
struct pass_entry;
int ctl_fleet_start(struct controller *c);
void ctl_fleet_stop(struct controller *c);
bool ctl_fleet_changed(const struct mxg_config *old, const struct mxg_config *ncfg);
void ctl_fleet_reload(struct controller *c, bool changed);
/* What this edge learnt, for the others: a tuple (responder hash) first
 * seen from ip, a pass given or renewed, an offender. */
void ctl_fleet_tuple(struct controller *c, const struct mxg_ip *ip, uint64_t hash);
void ctl_fleet_pass(struct controller *c, const struct pass_entry *e);
void ctl_fleet_offender(struct controller *c, const struct mxg_ip *ip, uint64_t first_ms,
			uint64_t last_ms, uint64_t expires_ms, uint64_t reports);
/* Status (text, JSON) and metrics. */
void ctl_fleet_text(const struct controller *c, struct sbuf *o);
void ctl_fleet_json(const struct controller *c, struct json_writer *w);
void ctl_fleet_metrics(const struct controller *c, FILE *f);

/* ctl_quorum.c: the quorum's verdicts on the fleet's connection. Started
 * and stopped with it (stop after fleet_free); a reload that keeps it;
 * after every round: write this edge's verdicts, read the others'. */
struct ctl_quorum;
int ctl_quorum_start(struct controller *c);
void ctl_quorum_stop(struct controller *c);
void ctl_quorum_reload(struct controller *c);
void ctl_quorum_round(struct controller *c);
void ctl_quorum_text(const struct controller *c, struct sbuf *o);
void ctl_quorum_json(const struct controller *c, struct json_writer *w);
void ctl_quorum_metrics(const struct controller *c, FILE *f);

/* status.c: the control socket's handler, and its parts (a full status
 * is streamed: ctl_status_start registers that). */
void ctl_status(void *arg, const char *request, struct sbuf *out);
void ctl_status_start(struct controller *c);

#endif
