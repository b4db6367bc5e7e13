/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * State of one config_load() run, shared by config.c (the load),
 * config_keys.c (the keys), config_check.c (the checks across keys),
 * config_reader.c (the lines of the file) and config_domains.c (the
 * served domains and their [domain] overrides). Internal to the config
 * module.
 */
#ifndef MXG_CONFIG_PARSE_H
#define MXG_CONFIG_PARSE_H

#include <stdbool.h>
#include <stdio.h>

#include "config.h"

#define CFG_LINE_MAX 1024      /* characters on one line; lists continue on indented lines */
#define CFG_N_KEYS 66	       /* entries of config_keys.c's key table */
#define CFG_KEY_DOMAINS_FILE 2 /* its index there */

/* Where a served domain was listed, for "listed twice" messages. */
struct cfg_origin {
	const char *file; /* the config file or cfg->domains_file */
	int line;
};

/* A [domain NAME] section, applied once every domain is known. */
struct cfg_override {
	struct mxg_domain_config d;
	int line;
};

struct cfg_parse {
	struct mxg_config *cfg;
	const char *name; /* the config file, for messages */
	FILE *fp;	  /* the source: a file ... */
	const char *text; /* ... or a string */
	size_t pos;

	int line;		  /* the line inih is on */
	bool continuation;	  /* that line continues the previous key's value */
	bool after_pair;	  /* an indented line now would be a continuation */
	int key_line[CFG_N_KEYS]; /* where each global key was set, 0 = default */

	struct cfg_origin *origins; /* parallel to cfg->domains */
	size_t cap_domains;
	struct cfg_override *ovs;
	size_t n_ovs, cap_ovs;
	long cur_ov; /* index into ovs of the current section, -1 = global */

	int key_line_domains_from; /* where domains_from was set */
	char **kept;		   /* source names of domains (config_postfix.c) */
	size_t n_kept;
	size_t cap_final; /* of cfg->final_domains */

	bool failed;
	char *err; /* the first error, one line */
	size_t errlen;
};

/* Record the first error as "FILE:LINE: text" ("FILE: text" for line 0).
 * Returns -1. */
int cfg_fail(struct cfg_parse *p, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* config_keys.c */
/* The line where a global key was set, 0 if not (or unknown). */
int cfg_key_line(const struct cfg_parse *p, const char *key);
/* inih's handler: one key = value pair (user = p) checked and set, or
 * p's error naming the key and its line; 1 to go on, 0 to stop. */
int cfg_handler(void *user, const char *section, const char *name, const char *value);

/* config_check.c: the checks across keys after the file is read, then
 * cfg_finish_domains. 0 or -1 (cfg_fail). */
int cfg_check(struct cfg_parse *p);

/* config_reader.c: inih's ini_reader over p->fp or p->text (stream = p). */
char *cfg_reader(char *str, int num, void *stream);

/* config_domains.c */
int cfg_add_domain(struct cfg_parse *p, const char *name, const char *file, int line);
int cfg_read_domains_file(struct cfg_parse *p, int line);
int cfg_open_section(struct cfg_parse *p, const char *name);
int cfg_finish_domains(struct cfg_parse *p);

/* config_postfix.c: domains_from = postfix: relay_domains are the served
 * domains (cfg_add_domain); mydestination, virtual_mailbox_domains and
 * virtual_alias_domains the final destinations (cfg->final_domains,
 * unsorted until cfg_finish_final_domains, which runs after
 * cfg_finish_domains and drops the served ones). */
int cfg_read_postfix_domains(struct cfg_parse *p);
int cfg_finish_final_domains(struct cfg_parse *p);
/* The certificate and key of Postfix's smtpd (smtpd_tls_chain_files, else
 * smtpd_tls_cert_file and smtpd_tls_key_file) into cfg->tls_*_file when
 * the tls_* keys are not set; none there leaves them empty. 0 or -1. */
int cfg_read_postfix_tls(struct cfg_parse *p);

/* config_tls.c: tls_cert_file and tls_key_file (or what came from
 * Postfix) are readable, the key is no one else's to read, and it matches
 * the certificate. 0 or -1 (cfg_fail naming the key and its line). */
int cfg_check_tls(struct cfg_parse *p);
/* config_redis.c: state_backend and the redis_* keys together, and the
 * password file no one else may read. 0 or -1 (cfg_fail). */
int cfg_check_redis(struct cfg_parse *p);
/* A copy of name that lives until the load ends (NULL: out of memory). */
const char *cfg_keep_name(struct cfg_parse *p, const char *name);

#endif
