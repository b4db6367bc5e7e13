/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The configuration of mxgated, /etc/mxgate/mxgate.conf (INI). Keys and
 * defaults are documented in docs/mxgate.conf.example and mxgate.conf(5).
 * Durations are stored in milliseconds.
 */
#ifndef MXG_CONFIG_H
#define MXG_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "mxg_limits.h"
#include "reply_mode.h"

#define MXG_DEFAULT_CONFIG "/etc/mxgate/mxgate.conf"
#define MXG_DEFAULT_PIN_DIR "/sys/fs/bpf/mxgate"
#define MXG_DEFAULT_CONTROL_SOCKET "/run/mxgate/control.sock"

/*
 * Defaults, set once here (config.c applies them before the file is read)
 * and explained in docs/mxgate.conf.example.
 */
#define MXG_DEFAULT_PROBE_INTERVAL_MS 10000 /* 10 s between probe rounds */
#define MXG_DEFAULT_PROBE_TIMEOUT_MS 5000   /* 5 s deadline per probe */
#define MXG_DEFAULT_RISE 3		    /* good rounds before gating */
#define MXG_DEFAULT_FALL 1		    /* bad rounds before opening */
#define MXG_DEFAULT_STATE_TTL_MS 30000	    /* 30 s life of a gate entry */
/* greylist: a 451 a sender queues and retries, never a bounce; reject
 * (551) is an administrator's explicit choice (docs/reject-vs-defer.md). */
#define MXG_DEFAULT_REPLY MXG_REPLY_GREYLIST
#define MXG_DEFAULT_REPLY_TEXT REPLY_DEFAULT_TEXT
#define MXG_DEFAULT_USER "nobody"
#define MXG_DEFAULT_PROBE_TLS 1		   /* PROBE_TLS_OPPORTUNISTIC (probe.h) */
#define MXG_DEFAULT_POLICY_GROUP "postfix" /* the unix policy socket's group */
/* policy_listen = unix: the policy socket beside the control socket */
#define MXG_DEFAULT_POLICY_SOCKET "/run/mxgate/policy.sock"

/* A primary that just came back must hold for a minute before gating:
 * senders that queued mail during the outage get to retry here first. */
#define MXG_DEFAULT_RECOVERY_GRACE_MS 60000
/* reply = reject answers 451 for this long after a round in which a
 * primary failed: senders remember a failed primary and send their next
 * mail to the backup although the primary is back. Exim's default retry
 * rule (F,2h,15m) skips a failed host for 15 minutes; OpenSMTPD keeps a
 * failed route disabled for 15 s x penalty^2, at most an hour
 * (DELAY_ROUTE_MAX). An hour covers both (docs/reject-vs-defer.md). */
#define MXG_DEFAULT_REJECT_GRACE_MS (60ULL * 60 * 1000)
/* Keep the last good DNS answer for an hour when DNS fails (well below
 * the usual MX TTLs' worst case, long enough to ride out an outage). */
#define MXG_DEFAULT_DNS_GRACE_MS 3600000
/* More than 5 sessions a minute from one client (IPv6: /64), for reject
 * domains only, -> 550 (docs/responder.md, "Offenders"). */
#define MXG_DEFAULT_OFFENDER_THRESHOLD 5
#define MXG_DEFAULT_OFFENDER_WINDOW_MS 60000
/* Passes and greylisting (docs/responder.md, "Passes"). */
#define MXG_DEFAULT_PASS_TTL_MS (24ULL * 3600 * 1000)	  /* a pass lasts a day ... */
#define MXG_DEFAULT_PASS_MAX_MS (7ULL * 24 * 3600 * 1000) /* ... renewed up to a week */
#define MXG_DEFAULT_GREYLIST_DELAY_MS                                                              \
	(5ULL * 60 * 1000) /* postgrey's 5 min: docs/reject-vs-defer.md */
#define MXG_DEFAULT_GREYLIST_WINDOW_MS (4ULL * 3600 * 1000) /* forget a tuple after 4 h */
/* Table sizes and per-network limits (docs/responder.md, "Flood-proof
 * tables"): one IPv4 /24 or IPv6 /48 may hold 1/16 of the greylist table,
 * one IPv6 /64 (one host, usually) 1/64; passes are per address, so a /64
 * gets 64 of them and a /24 or /48 1,024 of the kernel map's 16,384. */
#define MXG_DEFAULT_GREYLIST_TABLE_SIZE 65536 /* tuples, 2.5 MiB */
#define MXG_DEFAULT_GREYLIST_LIMIT_NETWORK 4096
#define MXG_DEFAULT_GREYLIST_LIMIT_64 1024
#define MXG_PASS_TABLE_SIZE_MAX 16384 /* the kernel map's size (MXG_MAX_PASSES) */
#define MXG_DEFAULT_PASS_LIMIT_NETWORK 1024
#define MXG_DEFAULT_PASS_LIMIT_64 64
#define MXG_DEFAULT_STATE_DIR "/var/lib/mxgate"
#define MXG_MAX_REDIS_SENTINELS 8 /* redis_sentinels entries */
#define MXG_REDIS_PREFIX_MAX 64	  /* redis_prefix, NUL included */
#define MXG_REDIS_NAME_MAX 64	  /* redis_master_name, redis_user, NUL included */
#define MXG_DEFAULT_REDIS_PREFIX "mxgate:"
#define MXG_DEFAULT_REDIS_PORT 6379
#define MXG_DEFAULT_SENTINEL_PORT 26379
#define MXG_MAX_PASS_CLIENTS 1024  /* pass_clients entries (LPM trie size) */
#define MXG_MAX_PASS_RECIPIENTS 64 /* pass_recipients entries */
#define MXG_PASS_RCPT_MAX 256	   /* one of them: local@domain, NUL */
/* Responder limits (docs/responder.md, "Bounds"). */
#define MXG_DEFAULT_MAX_CONNECTIONS 1000
#define MXG_DEFAULT_MAX_CONNECTIONS_PER_CLIENT 10
#define MXG_DEFAULT_MAX_COMMANDS 50
#define MXG_DEFAULT_IDLE_TIMEOUT_MS 30000 /* 30 s per command */
/* Sessions from one IPv4 /24 or IPv6 /48: the per-client limit alone is
 * no bound, as one network is many clients (a /24 is 256 addresses, a
 * /48 far more), enough to hold every slot with idle sessions. A tenth
 * of the default max_connections leaves the rest to other networks. */
#define MXG_DEFAULT_MAX_CONNECTIONS_PER_NETWORK 100
/* 60 s for a whole session: a reject dialogue needs a few seconds; a
 * client that keeps one open with NOOPs holds a slot no longer than this. */
#define MXG_DEFAULT_SESSION_TIMEOUT_MS 60000

enum mxg_state_backend {
	MXG_STATE_LOCAL, /* this host's tables only (the default) */
	MXG_STATE_REDIS, /* shared through Redis (docs/fleet.md) */
};

enum mxg_gate_kind {
	MXG_GATE_TC,
	MXG_GATE_NFT,
	MXG_GATE_NONE,
};

/* An address or CIDR network (host bits zero). */
struct mxg_net {
	struct mxg_ip ip;
	uint8_t prefix; /* 0..32 or 0..128 */
};

/* One per served domain (100,000 of them at scale): the name and what a
 * [domain] section overrides; a reply text only when one is set. */
struct mxg_domain_config {
	char name[MXG_NAME_MAX];   /* lower case, no trailing dot */
	int reply;		   /* enum mxg_reply_mode, INHERIT = global */
	int64_t recovery_grace_ms; /* -1 = global */
	int64_t reject_grace_ms;   /* -1 = global */
	char *reply_text;	   /* NULL = global; owned by the config */
};

/* A domain this host is the final destination for, as Postfix says
 * (domains_from = postfix): mail for it is delivered here, not relayed.
 * mxgate does not gate it; with a handoff (docs/responder.md, "Handoff")
 * a steered session's recipients there go to the MTA. */
enum mxg_final_from {
	MXG_FINAL_MYDESTINATION,
	MXG_FINAL_VIRTUAL_MAILBOX,
	MXG_FINAL_VIRTUAL_ALIAS,
};

struct mxg_final_domain {
	char name[MXG_NAME_MAX]; /* lower case, no trailing dot */
	uint8_t from;		 /* enum mxg_final_from: the first parameter naming it */
};

struct mxg_config {
	char path[4096]; /* the file this came from, for messages */

	char self[MXG_MAX_SELF][MXG_NAME_MAX];
	size_t n_self;

	struct mxg_domain_config *domains; /* from domains, domains_file, [domain] */
	size_t n_domains;
	char domains_file[4096];
	bool domains_from_postfix;     /* domains_from = postfix: relay_domains */
	char postfix_config_dir[4096]; /* postconf -c; "" = Postfix's default */
	/* With domains_from = postfix: mydestination, virtual_mailbox_domains
	 * and virtual_alias_domains, sorted, without the served domains and
	 * localhost names. What could not be listed (a mysql: table, a
	 * missing file) is not an error: the first such item is in
	 * final_unlisted, for mxgated -n. */
	struct mxg_final_domain *final_domains;
	size_t n_final_domains;
	char final_unlisted[512];

	struct mxg_ip addresses[MXG_MAX_ADDRESSES]; /* empty: resolve self */
	size_t n_addresses;

	char interfaces[MXG_MAX_INTERFACES][16]; /* IFNAMSIZ */
	size_t n_interfaces;

	enum mxg_gate_kind gate;

	uint64_t probe_interval_ms;
	uint64_t probe_timeout_ms;
	unsigned rise;
	unsigned fall;
	/* Gate only while this many edges of the fleet (this one included)
	 * saw a primary up: docs/fleet.md. 1 = this edge alone. */
	unsigned quorum;
	uint64_t state_ttl_ms;
	uint64_t recovery_grace_ms;
	uint64_t reject_grace_ms;
	uint64_t dns_grace_ms;

	enum mxg_reply_mode reply;
	char reply_text[MXG_REPLY_TEXT_MAX]; /* %d domain, %p primary host */

	unsigned offender_threshold; /* 0 = never escalate */
	uint64_t offender_window_ms;
	/* Offenders to an nft set (off by default): mxgate's own sets
	 * offenders4/6 in table inet mxgate, or, with offender_nft_set =
	 * "[FAMILY] TABLE SET", the administrator's SET4/SET6 in TABLE. */
	bool offender_set;
	char offender_nft_family[8]; /* "inet", "ip" or "ip6" */
	char offender_nft_table[64]; /* "" = own table */
	char offender_nft_set[64];

	struct sockaddr_storage resolver; /* port 53 unless given */
	socklen_t resolver_len;		  /* 0 = from /etc/resolv.conf */

	char helo_name[MXG_NAME_MAX];
	char user[64];
	/* user as config_check_host found it: a responder (re)start uses
	 * these and looks nothing up in the loop (NSS may be LDAP, slow). */
	bool user_found;
	uid_t user_uid;
	gid_t user_gid;
	char pin_dir[4096];
	char control_socket[108]; /* sun_path */
	char nft_family[8];	  /* "inet" (default), "ip" or "ip6": nft_table's */
	char nft_table[64];	  /* "" = own table inet mxgate */
	char nft_set[64];
	char policy_listen[256]; /* "" = off */
	/* policy_listen parsed: AF_INET/AF_INET6 (inet:) or AF_UNIX (unix:) */
	struct sockaddr_storage policy_addr;
	socklen_t policy_addr_len;    /* 0 = off */
	int probe_tls;		      /* enum probe_tls_mode */
	char probe_tls_ca[4096];      /* "" = the system trust store */
	char policy_group[64];	      /* unix: socket's group (mode 0660); "postfix" */
	bool policy_allow_remote;     /* inet: on a non-loopback address allowed */
	bool policy_allow_local_inet; /* inet: on loopback allowed (every local user) */
	/* The MTA's handoff listener (docs/responder.md, "Handoff"): "" =
	 * none; unix:PATH or inet:LOOPBACK:PORT, parsed into handoff_addr. */
	char handoff[256];
	struct sockaddr_storage handoff_addr;
	socklen_t handoff_addr_len; /* 0 = no handoff */
	int handoff_protocol;	    /* 0 proxy (PROXY v2), 1 xclient */

	/* Allowlists and passes (docs/responder.md, "Passes"). */
	struct mxg_net pass_clients[MXG_MAX_PASS_CLIENTS];
	size_t n_pass_clients;
	char pass_recipients[MXG_MAX_PASS_RECIPIENTS][MXG_PASS_RCPT_MAX]; /* lower case */
	size_t n_pass_recipients;
	uint64_t pass_ttl_ms;
	uint64_t pass_max_ms;
	uint64_t greylist_delay_ms;
	uint64_t greylist_window_ms;
	unsigned greylist_table_size;	 /* tuples (read at start) */
	unsigned greylist_limit_network; /* tuples per IPv4 /24, IPv6 /48 */
	unsigned greylist_limit_64;	 /* tuples per IPv6 /64 */
	unsigned pass_table_size;	 /* passes (read at start) */
	unsigned pass_limit_network;	 /* passes per IPv4 /24, IPv6 /48 */
	unsigned pass_limit_64;		 /* passes per IPv6 /64 */
	char state_dir[4096];

	/* Shared state (docs/fleet.md): with state_backend = redis, greylist
	 * tuples, passes and offenders are shared with the other edges
	 * through Redis, at redis (an address, never a name: resolving it
	 * would block the loop) or the master the Sentinels name. Only the
	 * password file's path is here: the config reaches the responder,
	 * the password only the controller. */
	int state_backend; /* enum mxg_state_backend */
	char redis[256];   /* "" = none; unix:PATH or ADDRESS:PORT */
	struct sockaddr_storage redis_addr;
	socklen_t redis_addr_len; /* 0 = none */
	struct sockaddr_storage redis_sentinels[MXG_MAX_REDIS_SENTINELS];
	size_t n_redis_sentinels;
	char redis_master_name[MXG_REDIS_NAME_MAX];
	char redis_user[MXG_REDIS_NAME_MAX];
	char redis_password_file[4096];
	char redis_prefix[MXG_REDIS_PREFIX_MAX];

	/* Responder limits: docs/responder.md ("Bounds") and
	 * mxgate.conf(5). */
	unsigned max_connections;	      /* total concurrent sessions */
	unsigned max_connections_per_client;  /* per address (IPv6: /64) */
	unsigned max_commands;		      /* per session */
	uint64_t idle_timeout_ms;	      /* per command wait */
	unsigned max_connections_per_network; /* per IPv4 /24, IPv6 /48 */
	uint64_t session_timeout_ms;	      /* a whole session, from accept */

	/* STARTTLS in the responder (docs/responder.md, "TLS"): a PEM
	 * certificate chain and its key ("" = no STARTTLS). The key may be in
	 * the chain file: tls_key_file then names the same file. With
	 * domains_from = postfix and neither key set, taken from Postfix. */
	char tls_cert_file[4096];
	char tls_key_file[4096];
	char tls_from[64]; /* "" = the tls_* keys, else the Postfix parameter */
	/* The files' identity when checked (inode, size, mtime): a renewed
	 * certificate at the same path restarts the responder on SIGHUP. */
	uint64_t tls_stamp;
};

/*
 * Load and validate path into cfg (which the caller zeroes or frees).
 * On error returns -1 and writes one line to err naming the file, the line
 * and the key, e.g. "/etc/mxgate/mxgate.conf:12: rise: not a number: x".
 */
int config_load(const char *path, struct mxg_config *cfg, char *err, size_t errlen);
/* Same, from a string (tests, fuzzing); name is used in messages. */
int config_load_string(const char *name, const char *text, struct mxg_config *cfg, char *err,
		       size_t errlen);
void config_free(struct mxg_config *cfg);
/* What the file cannot say by itself but the host can (config_host.c):
 * user names an existing account that is not root (its uid and gid kept
 * in cfg for the responder). mxgated -n, start-up
 * and SIGHUP call it; a refused user keeps the previous configuration,
 * instead of a responder that never starts. path: for the message. */
int config_check_host(const char *path, struct mxg_config *cfg, char *err, size_t errlen);

/* "500ms", "10s", "5m", "1h", "2d"; a bare number is seconds. 0, -EINVAL
 * (syntax) or -ERANGE (over MXG_DURATION_MAX_MS). */
#define MXG_DURATION_MAX_MS (366ULL * 24 * 3600 * 1000) /* a year */
int config_parse_duration(const char *s, uint64_t *ms);

/* The most domains a config may list: MXG_MAX_DOMAINS (tests lower it). */
extern size_t config_max_domains;

/* Per-domain effective settings (override or global). cfg->domains is
 * sorted by name; find takes any case and an optional trailing dot and
 * returns NULL for a domain that is not served. */
const struct mxg_domain_config *config_find_domain(const struct mxg_config *cfg, const char *name);
/* A final destination of this host (domains_from = postfix), or NULL;
 * any case, optional trailing dot. */
const struct mxg_final_domain *config_find_final_domain(const struct mxg_config *cfg,
							const char *name);
/* "mydestination", "virtual_mailbox_domains" or "virtual_alias_domains". */
const char *config_final_from_name(unsigned from);
enum mxg_reply_mode config_domain_reply(const struct mxg_config *cfg,
					const struct mxg_domain_config *d);
const char *config_domain_reply_text(const struct mxg_config *cfg,
				     const struct mxg_domain_config *d);
uint64_t config_domain_recovery_grace(const struct mxg_config *cfg,
				      const struct mxg_domain_config *d);
/* The domain's reject_grace, or 0 when its reply is not reject: the time
 * it answers 451 instead of 551 after a round in which a primary failed. */
uint64_t config_domain_reject_grace(const struct mxg_config *cfg,
				    const struct mxg_domain_config *d);

/* The Redis password: the first line of path (redis_password_file), which
 * must be a regular file no other user can read or write. 0, or -1 with
 * "what is wrong; what to do" in why. The controller reads it at start
 * and reload; it never goes into struct mxg_config (the responder gets a
 * copy of that). */
int config_redis_password(const char *path, char *out, size_t outlen, char *why, size_t len);

#endif
