// SPDX-License-Identifier: GPL-2.0-only
/*
 * The keys of mxgate.conf: their table (type, bounds, whether a
 * [domain NAME] section may set them, whether they are lists) and one
 * key = value pair as inih hands it over, checked and set, with the
 * error naming the key and its line. config.c runs the load around it.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_parse.h"
#include "config_pass.h"
#include "config_values.h"

#define DAY_MS (24ULL * 3600 * 1000)

enum key_type {
	K_SELF,
	K_DOMAINS,
	K_DOMAINS_FILE,
	K_ADDRESSES,
	K_INTERFACES,
	K_GATE,
	K_DURATION,
	K_UINT,
	K_REPLY,
	K_REPLY_TEXT,
	K_RESOLVER,
	K_HELO,
	K_USER,
	K_PATH,
	K_NFT_TABLE,
	K_NFT_SET,
	K_POLICY,
	K_OFFENDER_SET,
	K_POLICY_GROUP,
	K_PROBE_TLS,
	K_POLICY_REMOTE,
	K_POLICY_LOCAL_INET,
	K_OFFENDER_NFT_SET,
	K_DOMAINS_FROM,
	K_PASS_CLIENTS,
	K_PASS_RECIPIENTS,
	K_HANDOFF,
	K_HANDOFF_PROTOCOL,
	K_STATE_BACKEND,
	K_REDIS,
	K_REDIS_SENTINELS,
	K_REDIS_NAME,
	K_REDIS_PREFIX,
};

struct key {
	const char *name;
	enum key_type type;
	size_t off; /* the field in struct mxg_config */
	uint64_t min, max;
	bool in_domain; /* may appear in a [domain NAME] section */
	bool list;	/* space separated, may continue on indented lines */
};

#define F(field) offsetof(struct mxg_config, field)
static const struct key keys[CFG_N_KEYS] = {
    {"self", K_SELF, 0, 0, 0, false, true},
    {"domains", K_DOMAINS, 0, 0, 0, false, true},
    {"domains_file", K_DOMAINS_FILE, F(domains_file), 0, 0, false, false},
    {"addresses", K_ADDRESSES, 0, 0, 0, false, true},
    {"interfaces", K_INTERFACES, 0, 0, 0, false, true},
    {"gate", K_GATE, 0, 0, 0, false, false},
    {"probe_interval", K_DURATION, F(probe_interval_ms), 1000, 3600 * 1000, false, false},
    {"probe_timeout", K_DURATION, F(probe_timeout_ms), 100, 300 * 1000, false, false},
    {"rise", K_UINT, F(rise), 1, 100, false, false},
    {"fall", K_UINT, F(fall), 1, 100, false, false},
    {"quorum", K_UINT, F(quorum), 1, MXG_QUORUM_MAX, false, false},
    {"state_ttl", K_DURATION, F(state_ttl_ms), 1000, DAY_MS, false, false},
    {"recovery_grace", K_DURATION, F(recovery_grace_ms), 0, 7 * DAY_MS, true, false},
    {"reject_grace", K_DURATION, F(reject_grace_ms), 0, 7 * DAY_MS, true, false},
    {"dns_grace", K_DURATION, F(dns_grace_ms), 0, 7 * DAY_MS, false, false},
    {"reply", K_REPLY, 0, 0, 0, true, false},
    {"reply_text", K_REPLY_TEXT, F(reply_text), 0, 0, true, false},
    {"offender_threshold", K_UINT, F(offender_threshold), 0, 1000000, false, false},
    {"offender_window", K_DURATION, F(offender_window_ms), 1000, 7 * DAY_MS, false, false},
    {"offender_set", K_OFFENDER_SET, 0, 0, 0, false, false},
    {"offender_nft_set", K_OFFENDER_NFT_SET, 0, 0, 0, false, false},
    {"resolver", K_RESOLVER, 0, 0, 0, false, false},
    {"helo_name", K_HELO, F(helo_name), 0, 0, false, false},
    {"user", K_USER, F(user), 0, 0, false, false},
    {"pin_dir", K_PATH, F(pin_dir), 0, sizeof(((struct mxg_config *)0)->pin_dir), false, false},
    {"control_socket", K_PATH, F(control_socket), 0,
     sizeof(((struct mxg_config *)0)->control_socket), false, false},
    {"nft_table", K_NFT_TABLE, 0, 0, 0, false, false},
    {"nft_set", K_NFT_SET, F(nft_set), 0, 0, false, false},
    {"policy_listen", K_POLICY, 0, 0, 0, false, false},
    {"policy_group", K_POLICY_GROUP, F(policy_group), 0, 0, false, false},
    {"probe_tls", K_PROBE_TLS, 0, 0, 0, false, false},
    {"probe_tls_ca", K_PATH, F(probe_tls_ca), 0, sizeof(((struct mxg_config *)0)->probe_tls_ca),
     false, false},
    {"policy_allow_remote", K_POLICY_REMOTE, 0, 0, 0, false, false},
    {"policy_allow_local_inet", K_POLICY_LOCAL_INET, 0, 0, 0, false, false},
    {"max_connections", K_UINT, F(max_connections), 1, 1000000, false, false},
    {"max_connections_per_client", K_UINT, F(max_connections_per_client), 1, 1000000, false, false},
    {"max_commands", K_UINT, F(max_commands), 1, 10000, false, false},
    {"idle_timeout", K_DURATION, F(idle_timeout_ms), 1000, 3600 * 1000, false, false},
    {"max_connections_per_network", K_UINT, F(max_connections_per_network), 1, 1000000, false,
     false},
    {"session_timeout", K_DURATION, F(session_timeout_ms), 1000, 3600 * 1000, false, false},
    {"domains_from", K_DOMAINS_FROM, 0, 0, 0, false, false},
    {"postfix_config_dir", K_PATH, F(postfix_config_dir), 0,
     sizeof(((struct mxg_config *)0)->postfix_config_dir), false, false},
    {"pass_clients", K_PASS_CLIENTS, 0, 0, 0, false, true},
    {"pass_recipients", K_PASS_RECIPIENTS, 0, 0, 0, false, true},
    {"pass_ttl", K_DURATION, F(pass_ttl_ms), 1000, 366 * DAY_MS, false, false},
    {"pass_max", K_DURATION, F(pass_max_ms), 1000, 366 * DAY_MS, false, false},
    {"greylist_delay", K_DURATION, F(greylist_delay_ms), 1000, DAY_MS, false, false},
    {"greylist_window", K_DURATION, F(greylist_window_ms), 2000, 7 * DAY_MS, false, false},
    {"greylist_table_size", K_UINT, F(greylist_table_size), 1024, 4194304, false, false},
    {"greylist_limit_network", K_UINT, F(greylist_limit_network), 1, 4194304, false, false},
    {"greylist_limit_64", K_UINT, F(greylist_limit_64), 1, 4194304, false, false},
    {"pass_table_size", K_UINT, F(pass_table_size), 16, MXG_PASS_TABLE_SIZE_MAX, false, false},
    {"pass_limit_network", K_UINT, F(pass_limit_network), 1, MXG_PASS_TABLE_SIZE_MAX, false, false},
    {"pass_limit_64", K_UINT, F(pass_limit_64), 1, MXG_PASS_TABLE_SIZE_MAX, false, false},
    {"state_dir", K_PATH, F(state_dir), 0, sizeof(((struct mxg_config *)0)->state_dir), false,
     false},
    {"handoff", K_HANDOFF, 0, 0, 0, false, false},
    {"handoff_protocol", K_HANDOFF_PROTOCOL, 0, 0, 0, false, false},
    {"tls_cert_file", K_PATH, F(tls_cert_file), 0, sizeof(((struct mxg_config *)0)->tls_cert_file),
     false, false},
    {"tls_key_file", K_PATH, F(tls_key_file), 0, sizeof(((struct mxg_config *)0)->tls_key_file),
     false, false},
    {"state_backend", K_STATE_BACKEND, 0, 0, 0, false, false},
    {"redis", K_REDIS, 0, 0, 0, false, false},
    {"redis_sentinels", K_REDIS_SENTINELS, 0, 0, 0, false, true},
    {"redis_master_name", K_REDIS_NAME, F(redis_master_name), 0, 0, false, false},
    {"redis_user", K_REDIS_NAME, F(redis_user), 0, 0, false, false},
    {"redis_password_file", K_PATH, F(redis_password_file), 0,
     sizeof(((struct mxg_config *)0)->redis_password_file), false, false},
    {"redis_prefix", K_REDIS_PREFIX, 0, 0, 0, false, false},
};

static int key_index(const char *name)
{
	for (int i = 0; i < CFG_N_KEYS; i++)
		if (!strcmp(keys[i].name, name))
			return i;
	return -1;
}

int cfg_key_line(const struct cfg_parse *p, const char *key)
{
	int i = key_index(key);

	return i < 0 ? 0 : p->key_line[i];
}

/* One element of a list key; duplicates are refused. */
static int set_list_item(struct cfg_parse *p, const struct key *k, const char *v, char *why,
			 size_t len)
{
	struct mxg_config *c = p->cfg;
	char name[MXG_NAME_MAX];
	struct mxg_ip ip;
	size_t i;

	switch (k->type) {
	case K_SELF:
		if (cv_hostname(v, name, why, len))
			return -1;
		for (i = 0; i < c->n_self && strcmp(c->self[i], name); i++)
			;
		if (i < c->n_self)
			goto twice;
		if (c->n_self == MXG_MAX_SELF)
			goto full;
		memcpy(c->self[c->n_self++], name, sizeof(name));
		return 0;
	case K_DOMAINS:
		return cfg_add_domain(p, v, p->name, p->line);
	case K_ADDRESSES:
		if (mxg_ip_parse(v, &ip)) {
			snprintf(why, len,
				 "\"%.64s\" is not an IP address; write IPv4 or IPv6 addresses "
				 "separated by spaces",
				 v);
			return -1;
		}
		for (i = 0; i < c->n_addresses && !mxg_ip_equal(&c->addresses[i], &ip); i++)
			;
		if (i < c->n_addresses)
			goto twice;
		if (c->n_addresses == MXG_MAX_ADDRESSES)
			goto full;
		c->addresses[c->n_addresses++] = ip;
		return 0;
	case K_PASS_CLIENTS:
		return cfg_add_pass_client(c, v, why, len);
	case K_PASS_RECIPIENTS:
		return cfg_add_pass_recipient(c, v, why, len);
	case K_REDIS_SENTINELS: {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (cv_redis_addr(v, false, MXG_DEFAULT_SENTINEL_PORT, &ss, &sl, why, len))
			return -1;
		for (i = 0;
		     i < c->n_redis_sentinels && memcmp(&c->redis_sentinels[i], &ss, sizeof(ss));
		     i++)
			;
		if (i < c->n_redis_sentinels)
			goto twice;
		if (c->n_redis_sentinels == MXG_MAX_REDIS_SENTINELS)
			goto full;
		c->redis_sentinels[c->n_redis_sentinels++] = ss;
		return 0;
	}
	case K_INTERFACES:
		if (cv_ifname(v, why, len))
			return -1;
		for (i = 0; i < c->n_interfaces && strcmp(c->interfaces[i], v); i++)
			;
		if (i < c->n_interfaces)
			goto twice;
		if (c->n_interfaces == MXG_MAX_INTERFACES)
			goto full;
		snprintf(c->interfaces[c->n_interfaces++], sizeof(c->interfaces[0]), "%s", v);
		return 0;
	default:
		return -1;
	}
twice:
	snprintf(why, len, "%.64s is listed twice; remove one", v);
	return -1;
full : {
	int max = k->type == K_SELF		 ? MXG_MAX_SELF
		  : k->type == K_ADDRESSES	 ? MXG_MAX_ADDRESSES
		  : k->type == K_REDIS_SENTINELS ? MXG_MAX_REDIS_SENTINELS
						 : MXG_MAX_INTERFACES;

	snprintf(why, len, "more than %d entries; mxgate takes at most %d", max, max);
}
	return -1;
}

static int set_list(struct cfg_parse *p, const struct key *k, const char *value, char *why,
		    size_t len)
{
	char buf[CFG_LINE_MAX + 1], *save = NULL;

	/* The key replaces the default list (postmaster abuse). */
	if (k->type == K_PASS_RECIPIENTS && !p->continuation)
		p->cfg->n_pass_recipients = 0;
	snprintf(buf, sizeof(buf), "%s", value);
	for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
		if (set_list_item(p, k, t, why, len))
			return -1;
	return 0;
}

static const char *const gate_names[] = {"tc", "nft", "none", NULL};
/* enum probe_tls_mode order */
static const char *const probe_tls_names[] = {"off", "opportunistic", "verify", NULL};
static const char *const reply_names[] = {"reject", "defer", "greylist", NULL};
static const char *const bool_names[] = {"no", "yes", NULL};
static const char *const handoff_protocol_names[] = {"proxy", "xclient", NULL};
static const char *const state_backend_names[] = {"local", "redis", NULL}; /* enum order */

/* "[FAMILY] TABLE SET": the last word is the set, the rest the table. */
static int set_offender_nft_set(struct mxg_config *c, const char *v, char *why, size_t len)
{
	char tab[80];
	const char *sp = strrchr(v, ' '), *tb = strrchr(v, '\t');
	size_t tl;

	if (tb && (!sp || tb > sp))
		sp = tb;
	if (!sp || (size_t)(sp - v) >= sizeof(tab)) {
		snprintf(
		    why, len,
		    "expected \"[FAMILY] TABLE SET\", for example \"inet filter "
		    "mxgate_offenders\" (the sets SET4 and SET6 in the administrator's table)");
		return -1;
	}
	tl = (size_t)(sp - v);
	while (tl && (v[tl - 1] == ' ' || v[tl - 1] == '\t'))
		tl--;
	snprintf(tab, sizeof(tab), "%.*s", (int)tl, v);
	snprintf(c->offender_nft_family, sizeof(c->offender_nft_family), "inet");
	if (cv_nft_table(tab, c->offender_nft_family, c->offender_nft_table, why, len) ||
	    cv_nft_name(sp + 1, why, len))
		return -1;
	/* SET4 and SET6 must still be nft names. */
	if (strlen(sp + 1) + 1 >= sizeof(c->offender_nft_set)) {
		snprintf(why, len, "the set name is too long; use at most %zu characters",
			 sizeof(c->offender_nft_set) - 2);
		return -1;
	}
	return cv_copy(c->offender_nft_set, sizeof(c->offender_nft_set), sp + 1, why, len);
}

/* The [domain] field of a duration key that a section may override. */
static int64_t *ov_duration(struct mxg_domain_config *d, const struct key *k)
{
	return k->off == F(reject_grace_ms) ? &d->reject_grace_ms : &d->recovery_grace_ms;
}

static int set_value(struct cfg_parse *p, const struct key *k, const char *v, char *why, size_t len)
{
	struct mxg_config *c = p->cfg;
	struct mxg_domain_config *ov = p->cur_ov >= 0 ? &p->ovs[p->cur_ov].d : NULL;
	void *field = (char *)c + k->off;
	int e;

	switch (k->type) {
	case K_SELF:
	case K_DOMAINS:
	case K_ADDRESSES:
	case K_INTERFACES:
	case K_PASS_CLIENTS:
	case K_PASS_RECIPIENTS:
	case K_REDIS_SENTINELS:
		return set_list(p, k, v, why, len);
	case K_DOMAINS_FILE:
		if (v[0] != '/' && p->fp) {
			/* Relative to the config file's directory, not to ours. */
			char dir[sizeof(c->domains_file)];

			snprintf(dir, sizeof(dir), "%s", p->name);
			if (snprintf(c->domains_file, sizeof(c->domains_file), "%s/%s",
				     dirname(dir), v) < (int)sizeof(c->domains_file))
				return 0;
			snprintf(why, len, "the path is too long; use a shorter one");
			return -1;
		}
		return cv_copy(c->domains_file, sizeof(c->domains_file), v, why, len);
	case K_DOMAINS_FROM:
		if (strcmp(v, "postfix")) {
			snprintf(why, len, "not \"postfix\" (the only source there is)");
			return -1;
		}
		c->domains_from_postfix = true;
		p->key_line_domains_from = p->line;
		return 0;
	case K_GATE:
		if (cv_enum(v, gate_names, &e, why, len))
			return -1;
		c->gate = (enum mxg_gate_kind)e;
		return 0;
	case K_DURATION:
		if (ov) {
			uint64_t ms;

			if (cv_duration(v, k->min, k->max, &ms, why, len))
				return -1;
			*ov_duration(ov, k) = (int64_t)ms;
			return 0;
		}
		return cv_duration(v, k->min, k->max, field, why, len);
	case K_UINT:
		return cv_uint(v, (unsigned)k->min, (unsigned)k->max, field, why, len);
	case K_REPLY:
		if (cv_enum(v, reply_names, &e, why, len))
			return -1;
		if (ov)
			ov->reply = e;
		else
			c->reply = (enum mxg_reply_mode)e;
		return 0;
	case K_REPLY_TEXT:
		if (cv_reply_text(v, why, len))
			return -1;
		if (!ov)
			return cv_copy(c->reply_text, MXG_REPLY_TEXT_MAX, v, why, len);
		{
			/* Per domain: only overrides pay for a text. */
			char text[MXG_REPLY_TEXT_MAX];

			if (cv_copy(text, sizeof(text), v, why, len))
				return -1;
			free(ov->reply_text);
			ov->reply_text = strdup(text);
			if (!ov->reply_text) {
				snprintf(why, len, "out of memory");
				return -1;
			}
		}
		return 0;
	case K_RESOLVER:
		return cv_resolver(v, &c->resolver, &c->resolver_len, why, len);
	case K_HELO:
		return cv_hostname(v, c->helo_name, why, len);
	case K_USER:
		if (cv_user(v, why, len))
			return -1;
		return cv_copy(c->user, sizeof(c->user), v, why, len);
	case K_PATH:
		if (cv_abs_path(v, k->max, why, len))
			return -1;
		return cv_copy(field, k->max, v, why, len);
	case K_NFT_TABLE:
		return cv_nft_table(v, c->nft_family, c->nft_table, why, len);
	case K_NFT_SET:
		if (cv_nft_name(v, why, len))
			return -1;
		return cv_copy(c->nft_set, sizeof(c->nft_set), v, why, len);
	case K_OFFENDER_SET:
		if (cv_enum(v, bool_names, &e, why, len))
			return -1;
		c->offender_set = e == 1;
		return 0;
	case K_OFFENDER_NFT_SET:
		return set_offender_nft_set(c, v, why, len);
	case K_POLICY:
		/* "unix" alone: the default socket, root:policy_group 0660. */
		if (!strcmp(v, "unix"))
			v = "unix:" MXG_DEFAULT_POLICY_SOCKET;
		if (cv_policy_listen(v, &c->policy_addr, &c->policy_addr_len, why, len))
			return -1;
		return cv_copy(c->policy_listen, sizeof(c->policy_listen), v, why, len);
	case K_PROBE_TLS:
		if (cv_enum(v, probe_tls_names, &e, why, len))
			return -1;
		c->probe_tls = e;
		return 0;
	case K_POLICY_GROUP:
		if (cv_user(v, why, len))
			return -1;
		return cv_copy(c->policy_group, sizeof(c->policy_group), v, why, len);
	case K_POLICY_REMOTE:
		if (cv_enum(v, bool_names, &e, why, len))
			return -1;
		c->policy_allow_remote = e == 1;
		return 0;
	case K_POLICY_LOCAL_INET:
		if (cv_enum(v, bool_names, &e, why, len))
			return -1;
		c->policy_allow_local_inet = e == 1;
		return 0;
	case K_HANDOFF:
		if (cv_handoff(v, &c->handoff_addr, &c->handoff_addr_len, why, len))
			return -1;
		return cv_copy(c->handoff, sizeof(c->handoff), v, why, len);
	case K_HANDOFF_PROTOCOL:
		if (cv_enum(v, handoff_protocol_names, &e, why, len))
			return -1;
		c->handoff_protocol = e;
		return 0;
	case K_STATE_BACKEND:
		if (cv_enum(v, state_backend_names, &e, why, len))
			return -1;
		c->state_backend = e;
		return 0;
	case K_REDIS:
		if (cv_redis_addr(v, true, MXG_DEFAULT_REDIS_PORT, &c->redis_addr,
				  &c->redis_addr_len, why, len))
			return -1;
		return cv_copy(c->redis, sizeof(c->redis), v, why, len);
	case K_REDIS_NAME:
		if (cv_redis_name(v, why, len))
			return -1;
		return cv_copy(field, MXG_REDIS_NAME_MAX, v, why, len);
	case K_REDIS_PREFIX:
		if (cv_redis_prefix(v, why, len))
			return -1;
		return cv_copy(c->redis_prefix, sizeof(c->redis_prefix), v, why, len);
	}
	return -1;
}

int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_parse *p = user;
	char why[384];
	int i = key_index(name);

	if (p->failed)
		return 0;
	if (i < 0) {
		for (i = 0; i < CFG_N_KEYS && strcasecmp(keys[i].name, name); i++)
			;
		cfg_fail(p, p->name, p->line,
			 "%.64s: unknown key; %s%s%ssee docs/mxgate.conf.example for the keys",
			 name, i < CFG_N_KEYS ? "did you mean " : "",
			 i < CFG_N_KEYS ? keys[i].name : "", i < CFG_N_KEYS ? "? " : "");
		return 0;
	}
	if (p->continuation && (!keys[i].list || strchr(value, '=')))
		return !cfg_fail(p, p->name, p->line,
				 "%s: the indented line \"%.64s\" continues the value of %s; "
				 "remove its indentation",
				 name, value, name);
	if (p->cur_ov >= 0 && !keys[i].in_domain)
		return !cfg_fail(p, p->name, p->line,
				 "%s: not allowed in [domain %s]; only reply, reply_text, "
				 "recovery_grace and reject_grace are; move it above the first "
				 "section",
				 name, p->ovs[p->cur_ov].d.name);
	if (!value[0] && !p->continuation)
		return !cfg_fail(p, p->name, p->line,
				 "%s: empty value; give a value or remove the line for the default",
				 name);
	if (p->cur_ov < 0 && p->key_line[i] && !p->continuation)
		return !cfg_fail(p, p->name, p->line,
				 "%s: set twice (first on line %d); remove one", name,
				 p->key_line[i]);
	if (p->cur_ov >= 0) {
		const struct mxg_domain_config *d = &p->ovs[p->cur_ov].d;

		if ((keys[i].type == K_REPLY && d->reply != MXG_REPLY_INHERIT) ||
		    (keys[i].type == K_REPLY_TEXT && d->reply_text) ||
		    (keys[i].type == K_DURATION &&
		     *ov_duration(&p->ovs[p->cur_ov].d, &keys[i]) >= 0))
			return !cfg_fail(p, p->name, p->line,
					 "%s: set twice in [domain %s]; remove one", name, d->name);
	} else if (!p->continuation) {
		p->key_line[i] = p->line;
	}
	if (set_value(p, &keys[i], value, why, sizeof(why)))
		return !cfg_fail(p, p->name, p->line, "%s: %s", name, why);
	if (keys[i].type == K_DOMAINS_FILE)
		return !cfg_read_domains_file(p, p->line);
	return 1;
}
