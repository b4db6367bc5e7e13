// SPDX-License-Identifier: GPL-2.0-only
/*
 * domains_from = postfix: which domains Postfix relays and which it is the
 * final destination for, from one `postconf [-c postfix_config_dir] -x -h
 * mydestination virtual_mailbox_domains virtual_alias_domains
 * relay_domains` (one line each, in that order, $parameters expanded).
 *
 * relay_domains are the served domains, as a backup MX is configured in
 * Postfix's STANDARD_CONFIGURATION_README ("Configuring Postfix as primary
 * or backup MX host for a remote site"). The other three are domains this
 * host delivers itself (cfg->final_domains): never gated, and, on a gated
 * address, mail for them can only arrive through the handoff to the MTA
 * (mxgated -n warns when none is configured).
 *
 * Items are separated by white space or commas and are:
 *   - a domain name;
 *   - /file/name: a file of more such items (# comments);
 *   - hash:, lmdb:, btree:, cdb:, dbm:, sdbm: or texthash: TABLE: the keys
 *     of the table, read from its source file (TABLE itself, beside the
 *     TABLE.db, TABLE.lmdb... that postmap made from it, as
 *     `postmap -s` would dump them).
 * Table keys that are not domains (user@domain) and ".domain" patterns
 * (subdomains, which only an explicit name can be gated for) are skipped.
 * Other lookup types (mysql:, ldap:, pcre:, ...) cannot be listed: in
 * relay_domains an error that says so; in the final destinations the first
 * such item is noted (cfg->final_unlisted) for mxgated -n and the rest is
 * read: what mxgate does not know of a final destination changes no reply
 * (an unknown domain is handed off or deferred like one not served). Read
 * at start and on every SIGHUP.
 *
 * With no tls_cert_file or tls_key_file in mxgate.conf, the responder's
 * STARTTLS uses smtpd's own certificate: smtpd_tls_chain_files, else
 * smtpd_tls_cert_file and smtpd_tls_key_file (the responder stands in for
 * this host's smtpd on port 25, so it shows the same certificate).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config_parse.h"
#include "config_values.h"

#define POSTCONF_OUT_MAX (4u << 20) /* octets of the four values */
#define POSTCONF_N_PARAMS 4
#define POSTCONF_TIMEOUT_MS 10000
#define TABLE_LINE_MAX 4096 /* a postmap source line */

extern char **environ;

/* Run argv, capture stdout (at most max octets) and the first line of
 * stderr. 0, or -1 with why filled. */
static int run_capture(char *const argv[], char **out, size_t max, char *why, size_t len)
{
	int opipe[2] = {-1, -1}, epipe[2] = {-1, -1}, status, ret = -1;
	posix_spawn_file_actions_t fa;
	char *buf = NULL, ebuf[512] = "";
	size_t n = 0, en = 0;
	pid_t pid = -1;

	*out = NULL;
	if (pipe2(opipe, O_CLOEXEC) < 0 || pipe2(epipe, O_CLOEXEC) < 0) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, opipe[1], 1);
	posix_spawn_file_actions_adddup2(&fa, epipe[1], 2);
	errno = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(opipe[1]);
	close(epipe[1]);
	opipe[1] = epipe[1] = -1;
	if (errno) {
		snprintf(why, len, "cannot run %s: %s; is Postfix installed?", argv[0],
			 strerror(errno));
		pid = -1;
		goto out;
	}
	buf = malloc(max + 1);
	if (!buf) {
		snprintf(why, len, "out of memory");
		goto out;
	}
	for (bool o_open = true, e_open = true; o_open || e_open;) {
		struct pollfd p[2] = {{.fd = o_open ? opipe[0] : -1, .events = POLLIN},
				      {.fd = e_open ? epipe[0] : -1, .events = POLLIN}};
		int r = poll(p, 2, POSTCONF_TIMEOUT_MS);
		ssize_t k;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(why, len, "%s did not finish within %d s", argv[0],
				 POSTCONF_TIMEOUT_MS / 1000);
			goto out;
		}
		if (p[0].revents) {
			k = read(opipe[0], buf + n, max - n);
			if (k <= 0) {
				o_open = false;
			} else if ((n += (size_t)k) == max) {
				snprintf(why, len, "%s: more than %zu octets of output", argv[0],
					 max);
				goto out;
			}
		}
		if (p[1].revents) {
			k = read(epipe[0], ebuf + en, sizeof(ebuf) - 1 - en);
			if (k <= 0)
				e_open = false;
			else
				en += (size_t)k;
			if (en == sizeof(ebuf) - 1)
				e_open = false;
		}
	}
	ebuf[en] = '\0';
	ebuf[strcspn(ebuf, "\n")] = '\0';
	if (waitpid(pid, &status, 0) < 0) {
		snprintf(why, len, "waitpid: %s", strerror(errno));
		pid = -1;
		goto out;
	}
	pid = -1;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		snprintf(why, len, "%s failed: %.300s", argv[0], ebuf[0] ? ebuf : "no message");
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	ret = 0;
out:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	for (int i = 0; i < 2; i++) {
		if (opipe[i] >= 0)
			close(opipe[i]);
		if (epipe[i] >= 0)
			close(epipe[i]);
	}
	free(buf);
	return ret;
}

/* One parameter being read. */
struct pf_src {
	struct cfg_parse *p;
	const char *param; /* "relay_domains", "mydestination", ... */
	int final;	   /* -1: relay_domains (served); else enum mxg_final_from */
};

/* Something an item cannot give: an error for relay_domains (the served
 * domains must be exactly what Postfix relays), a note otherwise. Returns
 * what the caller returns. */
static int trouble(struct pf_src *s, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int trouble(struct pf_src *s, const char *file, int line, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (s->final < 0)
		return cfg_fail(s->p, file, line, "domains_from: %s", msg);
	if (!s->p->cfg->final_unlisted[0])
		snprintf(s->p->cfg->final_unlisted, sizeof(s->p->cfg->final_unlisted), "%.500s",
			 msg);
	return 0;
}

static int add_final(struct pf_src *s, const char *name, const char *src, int line)
{
	struct cfg_parse *p = s->p;
	struct mxg_config *c = p->cfg;
	struct mxg_final_domain *d;
	char why[256];

	if (c->n_final_domains == p->cap_final) {
		size_t cap = p->cap_final ? p->cap_final * 2 : 16;

		if (c->n_final_domains >= config_max_domains)
			return trouble(s, src, line,
				       "%s: more than %zu domains; the rest is not read", s->param,
				       config_max_domains);
		d = realloc(c->final_domains, cap * sizeof(*d));
		if (!d)
			return cfg_fail(p, src, line, "domains_from: out of memory");
		c->final_domains = d;
		p->cap_final = cap;
	}
	d = &c->final_domains[c->n_final_domains];
	memset(d, 0, sizeof(*d));
	if (cv_hostname(name, d->name, why, sizeof(why)))
		return trouble(s, src, line, "%s item %.100s: %s", s->param, name, why);
	d->from = (uint8_t)s->final;
	c->n_final_domains++;
	return 0;
}

static int add_item(struct pf_src *s, const char *item, const char *src, int line, int depth);

/* A /file/name of list items: white space or commas, # comments. */
static int read_list_file(struct pf_src *s, const char *path, int depth)
{
	char line[TABLE_LINE_MAX + 2];
	struct cfg_parse *p = s->p;
	const char *src = cfg_keep_name(p, path);
	int n = 0, err = 0;
	FILE *f;

	if (!src)
		return cfg_fail(p, p->name, 0, "out of memory");
	f = fopen(path, "re");
	if (!f)
		return trouble(s, p->name, p->key_line_domains_from,
			       "%s names %s: cannot open: %s; fix %s in Postfix's main.cf",
			       s->param, path, strerror(errno), s->param);
	while (!err && fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok;

		n++;
		line[strcspn(line, "#")] = '\0';
		for (tok = strtok_r(line, " \t\r\n,", &save); tok && !err;
		     tok = strtok_r(NULL, " \t\r\n,", &save))
			err = add_item(s, tok, src, n, depth + 1);
	}
	fclose(f);
	return err;
}

/* A postmap source file: "key value" lines, # comment lines, indented
 * lines continue the previous one (their words are values, not keys). */
static int read_table(struct pf_src *s, const char *spec, const char *path)
{
	char line[TABLE_LINE_MAX + 2], key[TABLE_LINE_MAX + 2];
	struct cfg_parse *p = s->p;
	const char *src = cfg_keep_name(p, path);
	int n = 0, err = 0;
	FILE *f;

	if (!src)
		return cfg_fail(p, p->name, 0, "out of memory");
	f = fopen(path, "re");
	if (!f)
		return trouble(s, p->name, p->key_line_domains_from,
			       "%s names %s: cannot open its source file %s: %s; mxgate reads "
			       "the file postmap made the table from",
			       s->param, spec, path, strerror(errno));
	while (!err && fgets(line, sizeof(line), f)) {
		size_t k;

		n++;
		if (line[0] == '#' || isspace((unsigned char)line[0]))
			continue;
		k = strcspn(line, " \t\r\n");
		if (!k)
			continue;
		memcpy(key, line, k);
		key[k] = '\0';
		/* user@domain keys are recipients (relay_recipient_maps,
		 * virtual_alias_maps), not domains. */
		if (strchr(key, '@'))
			continue;
		err = add_item(s, key, src, n, 99);
	}
	fclose(f);
	return err;
}

static const char *const table_types[] = {"hash", "lmdb", "btree",    "cdb",
					  "dbm",  "sdbm", "texthash", NULL};

static int add_item(struct pf_src *s, const char *item, const char *src, int line, int depth)
{
	const char *colon = strchr(item, ':');

	if (!item[0])
		return 0;
	if (item[0] == '.')
		return 0; /* a subdomain pattern: no name to gate */
	if (item[0] == '!')
		return trouble(s, src, line,
			       "%s item %.100s: exclusions are not supported; list the served "
			       "domains explicitly",
			       s->param, item);
	if (item[0] == '/') {
		if (depth > 4)
			return trouble(s, src, line, "%.200s: files nest too deep", item);
		return read_list_file(s, item, depth);
	}
	if (colon) {
		size_t tl = (size_t)(colon - item);

		for (size_t i = 0; table_types[i]; i++)
			if (strlen(table_types[i]) == tl && !strncmp(item, table_types[i], tl))
				return depth > 4 ? trouble(s, src, line,
							   "%.200s: tables nest too deep", item)
						 : read_table(s, item, colon + 1);
		return trouble(s, src, line,
			       "%s item %.100s: mxgate cannot list the keys of a %.*s: table%s",
			       s->param, item, (int)tl, item,
			       s->final < 0 ? "; keep the relay domains in a hash:, lmdb: or "
					      "texthash: table, a file or main.cf, or use "
					      "domains_file"
					    : "");
	}
	if (s->final >= 0)
		return add_final(s, item, src, line);
	return cfg_add_domain(s->p, item, src, line);
}

/* The parameters asked, in postconf's output order. */
static const struct {
	const char *name, *src;
	int final;
} params[POSTCONF_N_PARAMS] = {
    {"mydestination", "postconf mydestination", MXG_FINAL_MYDESTINATION},
    {"virtual_mailbox_domains", "postconf virtual_mailbox_domains", MXG_FINAL_VIRTUAL_MAILBOX},
    {"virtual_alias_domains", "postconf virtual_alias_domains", MXG_FINAL_VIRTUAL_ALIAS},
    {"relay_domains", "postconf relay_domains", -1},
};

int cfg_read_postfix_domains(struct cfg_parse *p)
{
	const char *dir = p->cfg->postfix_config_dir;
	char *argv[6 + POSTCONF_N_PARAMS], *out = NULL, *line, *next, why[700];
	size_t before = p->cfg->n_domains;
	int a = 0, err = 0, i;

	argv[a++] = (char *)"postconf";
	if (dir[0]) {
		argv[a++] = (char *)"-c";
		argv[a++] = (char *)dir;
	}
	argv[a++] = (char *)"-x";
	argv[a++] = (char *)"-h";
	for (i = 0; i < POSTCONF_N_PARAMS; i++)
		argv[a++] = (char *)params[i].name;
	argv[a] = NULL;
	p->cfg->final_unlisted[0] = '\0';
	if (run_capture(argv, &out, POSTCONF_OUT_MAX, why, sizeof(why)))
		return cfg_fail(p, p->name, p->key_line_domains_from, "domains_from: %s", why);
	/* One line per parameter, in the order asked. */
	for (i = 0, line = out; i < POSTCONF_N_PARAMS && line && !err; i++, line = next) {
		struct pf_src s = {.p = p, .param = params[i].name, .final = params[i].final};
		char *save = NULL, *tok;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (tok = strtok_r(line, " \t\r,", &save); tok && !err;
		     tok = strtok_r(NULL, " \t\r,", &save))
			err = add_item(&s, tok, params[i].src, 0, 0);
	}
	free(out);
	if (!err && i < POSTCONF_N_PARAMS)
		err = cfg_fail(p, p->name, p->key_line_domains_from,
			       "domains_from: postconf gave %d values for %d parameters; is this "
			       "Postfix's postconf?",
			       i, POSTCONF_N_PARAMS);
	if (!err && p->cfg->n_domains == before)
		err = cfg_fail(p, p->name, p->key_line_domains_from,
			       "domains_from: Postfix's relay_domains (postconf%s%s -h "
			       "relay_domains) lists no domain; set relay_domains in main.cf",
			       dir[0] ? " -c " : "", dir);
	return err;
}

/* Whether a PEM file holds a block of this kind ("CERTIFICATE", "PRIVATE
 * KEY"): which file of smtpd_tls_chain_files is the key and which the
 * chain. -errno when it cannot be read. */
static int pem_has(const char *path, const char *kind)
{
	char line[TABLE_LINE_MAX + 2];
	int found = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, "-----BEGIN ", 11) && strstr(line, kind) != NULL;
	fclose(f);
	return found;
}

/* smtpd_tls_chain_files: each file holds keys each followed by its chain,
 * or a key file is followed by its chain file (postconf(5)). mxgate serves
 * one key: the first file when it holds both, else the first as key and
 * the second as chain. */
static int postfix_chain(struct cfg_parse *p, char *list)
{
	struct mxg_config *c = p->cfg;
	char *save = NULL, *first = strtok_r(list, " \t,", &save);
	char *second = first ? strtok_r(NULL, " \t,", &save) : NULL;
	int cert = first ? pem_has(first, "CERTIFICATE") : 0;

	if (!first)
		return 0;
	if (cert < 0)
		return cfg_fail(p, p->name, p->key_line_domains_from,
				"domains_from: Postfix's smtpd_tls_chain_files names %.300s: "
				"cannot read it: %s; fix it in main.cf, or set tls_cert_file and "
				"tls_key_file",
				first, strerror(-cert));
	if (cert || !second)
		second = first;
	if (snprintf(c->tls_key_file, sizeof(c->tls_key_file), "%s", first) >=
		(int)sizeof(c->tls_key_file) ||
	    snprintf(c->tls_cert_file, sizeof(c->tls_cert_file), "%s", second) >=
		(int)sizeof(c->tls_cert_file))
		return cfg_fail(p, p->name, p->key_line_domains_from,
				"domains_from: Postfix's smtpd_tls_chain_files: a path is too "
				"long; set tls_cert_file and tls_key_file");
	snprintf(c->tls_from, sizeof(c->tls_from), "smtpd_tls_chain_files");
	return 0;
}

int cfg_read_postfix_tls(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;
	const char *dir = c->postfix_config_dir;
	char *argv[10], *out = NULL, *lines[3] = {NULL, NULL, NULL}, why[700];
	int a = 0, err = 0;

	argv[a++] = (char *)"postconf";
	if (dir[0]) {
		argv[a++] = (char *)"-c";
		argv[a++] = (char *)dir;
	}
	argv[a++] = (char *)"-x";
	argv[a++] = (char *)"-h";
	argv[a++] = (char *)"smtpd_tls_chain_files";
	argv[a++] = (char *)"smtpd_tls_cert_file";
	argv[a++] = (char *)"smtpd_tls_key_file";
	argv[a] = NULL;
	if (run_capture(argv, &out, POSTCONF_OUT_MAX, why, sizeof(why)))
		return cfg_fail(p, p->name, p->key_line_domains_from,
				"domains_from: reading Postfix's TLS certificate: %s", why);
	/* One line per parameter, in the order asked; an empty one is "". */
	lines[0] = out;
	for (int i = 1; i < 3 && lines[i - 1]; i++) {
		char *nl = strchr(lines[i - 1], '\n');

		if (nl) {
			*nl = '\0';
			lines[i] = nl + 1;
		}
	}
	for (int i = 0; i < 3; i++)
		if (lines[i])
			lines[i][strcspn(lines[i], "\r\n")] = '\0';
	if (lines[0] && lines[0][strspn(lines[0], " \t,")]) {
		err = postfix_chain(p, lines[0]);
	} else if (lines[1] && lines[1][0]) {
		/* smtpd_tls_key_file defaults to $smtpd_tls_cert_file. */
		const char *key = lines[2] && lines[2][0] ? lines[2] : lines[1];

		if (snprintf(c->tls_cert_file, sizeof(c->tls_cert_file), "%s", lines[1]) >=
			(int)sizeof(c->tls_cert_file) ||
		    snprintf(c->tls_key_file, sizeof(c->tls_key_file), "%s", key) >=
			(int)sizeof(c->tls_key_file))
			err = cfg_fail(p, p->name, p->key_line_domains_from,
				       "domains_from: Postfix's smtpd_tls_cert_file: a path is too "
				       "long; set tls_cert_file and tls_key_file");
		else
			snprintf(c->tls_from, sizeof(c->tls_from),
				 "smtpd_tls_cert_file and smtpd_tls_key_file");
	}
	free(out);
	return err;
}
