// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loads and checks mxgate.conf. inih splits the file into sections and
 * key = value pairs; our reader (config_reader.c) feeds it one bounded
 * line at a time and so knows the line of every pair and every section
 * header; each pair goes to config_keys.c. The first error stops the load
 * and becomes one line: FILE:LINE: KEY: what; fix.
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_parse.h"

/*
 * Debian's inih makes its compile-time limits run-time variables; where
 * they exist we raise the line limit to ours and turn off ";" inline
 * comments (a reply text may hold " ; "). Elsewhere the reader still
 * refuses lines longer than inih can take.
 */
#pragma weak ini_max_line
#pragma weak ini_allow_inline_comments

int cfg_fail(struct cfg_parse *p, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return -1;
	p->failed = true;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%d: ", file, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", file);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static void set_defaults(struct mxg_config *cfg)
{
	cfg->gate = MXG_GATE_TC;
	cfg->probe_interval_ms = MXG_DEFAULT_PROBE_INTERVAL_MS;
	cfg->probe_timeout_ms = MXG_DEFAULT_PROBE_TIMEOUT_MS;
	cfg->rise = MXG_DEFAULT_RISE;
	cfg->fall = MXG_DEFAULT_FALL;
	cfg->quorum = 1;
	cfg->state_ttl_ms = MXG_DEFAULT_STATE_TTL_MS;
	cfg->recovery_grace_ms = MXG_DEFAULT_RECOVERY_GRACE_MS;
	cfg->reject_grace_ms = MXG_DEFAULT_REJECT_GRACE_MS;
	cfg->dns_grace_ms = MXG_DEFAULT_DNS_GRACE_MS;
	cfg->reply = MXG_DEFAULT_REPLY;
	snprintf(cfg->reply_text, sizeof(cfg->reply_text), "%s", MXG_DEFAULT_REPLY_TEXT);
	cfg->offender_threshold = MXG_DEFAULT_OFFENDER_THRESHOLD;
	cfg->offender_window_ms = MXG_DEFAULT_OFFENDER_WINDOW_MS;
	cfg->pass_ttl_ms = MXG_DEFAULT_PASS_TTL_MS;
	cfg->pass_max_ms = MXG_DEFAULT_PASS_MAX_MS;
	cfg->greylist_delay_ms = MXG_DEFAULT_GREYLIST_DELAY_MS;
	cfg->greylist_window_ms = MXG_DEFAULT_GREYLIST_WINDOW_MS;
	cfg->greylist_table_size = MXG_DEFAULT_GREYLIST_TABLE_SIZE;
	cfg->greylist_limit_network = MXG_DEFAULT_GREYLIST_LIMIT_NETWORK;
	cfg->greylist_limit_64 = MXG_DEFAULT_GREYLIST_LIMIT_64;
	cfg->pass_table_size = MXG_PASS_TABLE_SIZE_MAX;
	cfg->pass_limit_network = MXG_DEFAULT_PASS_LIMIT_NETWORK;
	cfg->pass_limit_64 = MXG_DEFAULT_PASS_LIMIT_64;
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", MXG_DEFAULT_STATE_DIR);
	cfg->state_backend = MXG_STATE_LOCAL;
	snprintf(cfg->redis_prefix, sizeof(cfg->redis_prefix), "%s", MXG_DEFAULT_REDIS_PREFIX);
	snprintf(cfg->pass_recipients[0], MXG_PASS_RCPT_MAX, "postmaster");
	snprintf(cfg->pass_recipients[1], MXG_PASS_RCPT_MAX, "abuse");
	cfg->n_pass_recipients = 2;
	snprintf(cfg->user, sizeof(cfg->user), "%s", MXG_DEFAULT_USER);
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", MXG_DEFAULT_PIN_DIR);
	snprintf(cfg->control_socket, sizeof(cfg->control_socket), "%s",
		 MXG_DEFAULT_CONTROL_SOCKET);
	snprintf(cfg->nft_family, sizeof(cfg->nft_family), "inet");
	cfg->max_connections = MXG_DEFAULT_MAX_CONNECTIONS;
	cfg->max_connections_per_client = MXG_DEFAULT_MAX_CONNECTIONS_PER_CLIENT;
	cfg->max_commands = MXG_DEFAULT_MAX_COMMANDS;
	cfg->idle_timeout_ms = MXG_DEFAULT_IDLE_TIMEOUT_MS;
	cfg->max_connections_per_network = MXG_DEFAULT_MAX_CONNECTIONS_PER_NETWORK;
	cfg->session_timeout_ms = MXG_DEFAULT_SESSION_TIMEOUT_MS;
	snprintf(cfg->policy_group, sizeof(cfg->policy_group), "%s", MXG_DEFAULT_POLICY_GROUP);
	cfg->probe_tls = MXG_DEFAULT_PROBE_TLS;
}

static int parse(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;
	int r;

	if (&ini_max_line)
		ini_max_line = CFG_LINE_MAX + 3; /* "\r\n\0" */
	if (&ini_allow_inline_comments)
		ini_allow_inline_comments = false;
	p->cur_ov = -1;
	set_defaults(c);
	snprintf(c->path, sizeof(c->path), "%s", p->name);

	r = ini_parse_stream(cfg_reader, p, cfg_handler, p);
	if (r > 0 && (!p->failed || r < p->line)) {
		/* inih's own complaint: a line it could not split. */
		p->failed = false;
		return cfg_fail(
		    p, p->name, r,
		    "syntax error; write \"key = value\", \"[domain NAME]\" or a # comment");
	}
	if (r == -2)
		return cfg_fail(p, p->name, 0, "out of memory");
	if (p->failed)
		return -1;

	return cfg_check(p);
}

static int load(struct cfg_parse *p, struct mxg_config *cfg, char *err, size_t errlen)
{
	int r;

	memset(cfg, 0, sizeof(*cfg));
	p->cfg = cfg;
	p->err = err;
	p->errlen = errlen;
	r = parse(p);
	free(p->origins);
	for (size_t i = 0; i < p->n_ovs; i++)
		free(p->ovs[i].d.reply_text); /* those not moved to a domain */
	free(p->ovs);
	for (size_t i = 0; i < p->n_kept; i++)
		free(p->kept[i]);
	free(p->kept);
	if (r) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

int config_load(const char *path, struct mxg_config *cfg, char *err, size_t errlen)
{
	struct cfg_parse p = {.name = path};
	int r;

	p.fp = fopen(path, "re");
	if (!p.fp) {
		memset(cfg, 0, sizeof(*cfg));
		snprintf(err, errlen,
			 "%s: cannot open: %s; check the path or give one with -c FILE", path,
			 strerror(errno));
		return -1;
	}
	r = load(&p, cfg, err, errlen);
	fclose(p.fp);
	return r;
}

int config_load_string(const char *name, const char *text, struct mxg_config *cfg, char *err,
		       size_t errlen)
{
	struct cfg_parse p = {.name = name, .text = text};

	return load(&p, cfg, err, errlen);
}

void config_free(struct mxg_config *cfg)
{
	for (size_t i = 0; cfg->domains && i < cfg->n_domains; i++)
		free(cfg->domains[i].reply_text);
	free(cfg->domains);
	cfg->domains = NULL;
	cfg->n_domains = 0;
	free(cfg->final_domains);
	cfg->final_domains = NULL;
	cfg->n_final_domains = 0;
}
