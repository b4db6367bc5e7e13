// SPDX-License-Identifier: GPL-2.0-only
/*
 * The served domains of the config: from domains and domains_file, merged,
 * normalised (lower case, no trailing dot), checked for duplicates, sorted
 * for lookup; and the [domain NAME] sections that override reply,
 * reply_text, recovery_grace and reject_grace for one of them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_parse.h"
#include "config_values.h"

#define DOMAINS_FILE_LINE_MAX 512 /* characters; a name is at most 253 */
/* bytes: MXG_MAX_DOMAINS names of 60 characters with room for comments */
#define DOMAINS_FILE_MAX (64 * 1024 * 1024)

size_t config_max_domains = MXG_MAX_DOMAINS;

/* The key that made file a source of domains, for messages. */
static const char *source_key(const struct cfg_parse *p, const char *file)
{
	return file == p->name		      ? "domains"
	       : file == p->cfg->domains_file ? "domains_file"
					      : "domains_from";
}

int cfg_add_domain(struct cfg_parse *p, const char *name, const char *file, int line)
{
	struct mxg_config *c = p->cfg;
	const char *key = source_key(p, file);
	char why[256];

	if (c->n_domains == p->cap_domains) {
		size_t cap = p->cap_domains ? p->cap_domains * 2 : 16;
		struct mxg_domain_config *d;
		struct cfg_origin *o;

		if (c->n_domains >= config_max_domains)
			return cfg_fail(p, file, line,
					"%s: more than %zu domains; mxgate serves at most %zu", key,
					config_max_domains, config_max_domains);
		d = realloc(c->domains, cap * sizeof(*d));
		if (d)
			c->domains = d;
		o = realloc(p->origins, cap * sizeof(*o));
		if (o)
			p->origins = o;
		if (!d || !o)
			return cfg_fail(p, file, line, "%s: out of memory", key);
		p->cap_domains = cap;
	}
	struct mxg_domain_config *d = &c->domains[c->n_domains];

	memset(d, 0, sizeof(*d));
	if (cv_hostname(name, d->name, why, sizeof(why)))
		return cfg_fail(p, file, line, "%s: %s", key, why);
	d->reply = MXG_REPLY_INHERIT;
	d->recovery_grace_ms = -1;
	d->reject_grace_ms = -1;
	p->origins[c->n_domains].file = file;
	p->origins[c->n_domains].line = line;
	c->n_domains++;
	return 0;
}

/* The whole file in memory, bounded: a device, a FIFO or a huge file is
 * refused before a byte is parsed (/dev/zero would otherwise be read for
 * ever). Returns the length, or -1 after cfg_fail. */
static ssize_t slurp_domains_file(struct cfg_parse *p, int line, const char *path, char **out)
{
	struct stat st;
	ssize_t got = 0, r;
	char *buf = NULL;
	int fd;

	*out = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return cfg_fail(p, p->name, line,
				"domains_file: cannot open %s: %s; create it (one domain per line) "
				"or fix the path",
				path, strerror(errno));
	if (fstat(fd, &st) < 0) {
		cfg_fail(p, p->name, line, "domains_file: %s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_fail(p, p->name, line,
			 "domains_file: %s is not a regular file; name a text file with one "
			 "domain per line",
			 path);
		goto fail;
	}
	if (st.st_size > DOMAINS_FILE_MAX) {
		cfg_fail(p, p->name, line,
			 "domains_file: %s is larger than %d bytes; mxgate serves at most %d "
			 "domains, one per line",
			 path, DOMAINS_FILE_MAX, MXG_MAX_DOMAINS);
		goto fail;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		cfg_fail(p, p->name, line, "domains_file: out of memory");
		goto fail;
	}
	/* Read at most what fstat said (plus one byte to see it grow). */
	while (got <= st.st_size) {
		r = read(fd, buf + got, (size_t)(st.st_size + 1 - got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cfg_fail(p, p->name, line, "domains_file: cannot read %s: %s", path,
				 strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += r;
	}
	if (got > st.st_size) {
		cfg_fail(p, p->name, line,
			 "domains_file: %s grew while being read; write it to a temporary file "
			 "and rename it into place",
			 path);
		goto fail;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	return got;
fail:
	free(buf);
	close(fd);
	return -1;
}

const char *cfg_keep_name(struct cfg_parse *p, const char *name)
{
	char **k = realloc(p->kept, (p->n_kept + 1) * sizeof(*k));

	if (!k)
		return NULL;
	p->kept = k;
	k[p->n_kept] = strdup(name);
	return k[p->n_kept] ? k[p->n_kept++] : NULL;
}

/* One domain per line; blank lines and # comments are skipped. */
int cfg_read_domains_file(struct cfg_parse *p, int line)
{
	const char *path = p->cfg->domains_file;
	char buf[DOMAINS_FILE_LINE_MAX + 1];
	char *text;
	ssize_t size = slurp_domains_file(p, line, path, &text);
	size_t pos = 0;
	int n = 0, err = 0;

	if (size < 0)
		return -1;
	while (!err && pos < (size_t)size) {
		const char *nl = memchr(text + pos, '\n', (size_t)size - pos);
		size_t len = (nl ? (size_t)(nl - text) : (size_t)size) - pos;
		char *s = buf, *end;

		n++;
		if (len > DOMAINS_FILE_LINE_MAX) {
			err = cfg_fail(p, path, n,
				       "domains_file: line longer than %d characters; write one "
				       "domain per line",
				       DOMAINS_FILE_LINE_MAX);
			break;
		}
		if (memchr(text + pos, '\0', len)) {
			err = cfg_fail(p, path, n,
				       "domains_file: a NUL byte; this is not a text file");
			break;
		}
		memcpy(buf, text + pos, len);
		buf[len] = '\0';
		pos += len + 1;
		s[strcspn(s, "#")] = '\0';
		s += strspn(s, " \t\r");
		end = s + strcspn(s, " \t\r");
		if (!*s)
			continue;
		if (end[strspn(end, " \t\r")])
			err =
			    cfg_fail(p, path, n,
				     "domains_file: more than one word; write one domain per line");
		else {
			*end = '\0';
			err = cfg_add_domain(p, s, path, n);
		}
	}
	free(text);
	return err;
}

/* Called by the reader for each "[...]" line, with the text inside. */
int cfg_open_section(struct cfg_parse *p, const char *name)
{
	struct cfg_override *ov;
	char dom[MXG_NAME_MAX], why[256];
	const char *arg;

	name += strspn(name, " \t");
	arg = name + strcspn(name, " \t");
	if (strncmp(name, "domain", 6) || arg != name + 6 || !arg[strspn(arg, " \t")])
		return cfg_fail(p, p->name, p->line,
				"[%.64s]: unknown section; the only section is [domain NAME], and "
				"global keys go above the first section",
				name);
	arg += strspn(arg, " \t");
	char trimmed[MXG_NAME_MAX + 2];
	size_t len = strcspn(arg, " \t");

	if (arg[len + strspn(arg + len, " \t")] || len >= sizeof(trimmed))
		return cfg_fail(p, p->name, p->line,
				"[domain %.64s]: not a domain name; write [domain example.org]",
				arg);
	memcpy(trimmed, arg, len);
	trimmed[len] = '\0';
	if (cv_hostname(trimmed, dom, why, sizeof(why)))
		return cfg_fail(p, p->name, p->line, "[domain %.64s]: %s", trimmed, why);
	for (size_t i = 0; i < p->n_ovs; i++)
		if (!strcmp(p->ovs[i].d.name, dom))
			return cfg_fail(p, p->name, p->line,
					"[domain %s]: section repeated (first on line %d); merge "
					"them",
					dom, p->ovs[i].line);
	if (p->n_ovs == p->cap_ovs) {
		size_t cap = p->cap_ovs ? p->cap_ovs * 2 : 8;

		if (p->n_ovs >= config_max_domains)
			return cfg_fail(p, p->name, p->line, "[domain %s]: too many sections", dom);
		ov = realloc(p->ovs, cap * sizeof(*ov));
		if (!ov)
			return cfg_fail(p, p->name, p->line, "out of memory");
		p->ovs = ov;
		p->cap_ovs = cap;
	}
	ov = &p->ovs[p->n_ovs];
	memset(ov, 0, sizeof(*ov));
	memcpy(ov->d.name, dom, sizeof(dom));
	ov->d.reply = MXG_REPLY_INHERIT;
	ov->d.recovery_grace_ms = -1;
	ov->d.reject_grace_ms = -1;
	ov->line = p->line;
	p->cur_ov = (long)p->n_ovs++;
	return 0;
}

static int cmp_domain(const void *a, const void *b)
{
	return strcmp(((const struct mxg_domain_config *)a)->name,
		      ((const struct mxg_domain_config *)b)->name);
}

struct keyed {
	const char *name;
	size_t i; /* position in listing order */
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x->i > y->i) - (x->i < y->i);
}

static int apply_overrides(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;

	for (size_t i = 0; i < p->n_ovs; i++) {
		struct cfg_override *ov = &p->ovs[i];
		struct mxg_domain_config *d =
		    bsearch(&ov->d, c->domains, c->n_domains, sizeof(*d), cmp_domain);

		if (!d)
			return cfg_fail(p, p->name, ov->line,
					"[domain %s]: not a served domain; add it to domains or "
					"domains_file, or remove the section",
					ov->d.name);
		*d = ov->d;
		ov->d.reply_text = NULL; /* the domain owns it now */
	}
	return 0;
}

/* Sort for lookup, refuse duplicates, apply the [domain] overrides. */
int cfg_finish_domains(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;
	size_t n = c->n_domains;
	struct mxg_domain_config *sorted = NULL;
	struct keyed *k = NULL;
	int err = 0;

	/* "domains =" is refused as empty, so this is an empty domains_file. */
	if (!n)
		return cfg_fail(p, p->name, p->key_line[CFG_KEY_DOMAINS_FILE],
				"domains_file: %s lists no domains; add one per line",
				c->domains_file);
	k = calloc(n, sizeof(*k));
	sorted = calloc(n, sizeof(*sorted));
	if (!k || !sorted) {
		err = cfg_fail(p, p->name, 0, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		k[i] = (struct keyed){c->domains[i].name, i};
	/* Listing order breaks ties, so the later listing is the duplicate. */
	qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i + 1 < n; i++) {
		const struct cfg_origin *first = &p->origins[k[i].i],
					*dup = &p->origins[k[i + 1].i];

		if (strcmp(k[i].name, k[i + 1].name))
			continue;
		char at[64] = "";

		if (first->line > 0)
			snprintf(at, sizeof(at), ":%d", first->line);
		err = cfg_fail(p, dup->file, dup->line,
			       "%s: %s is listed twice (also at %s%s); remove one",
			       source_key(p, dup->file), k[i].name, first->file, at);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		sorted[i] = c->domains[k[i].i];
	free(c->domains);
	c->domains = sorted;
	sorted = NULL;
	err = apply_overrides(p);
out:
	free(k);
	free(sorted);
	return err;
}

static void normalise(const char *name, char out[MXG_NAME_MAX])
{
	size_t n = strnlen(name, MXG_NAME_MAX);

	if (n && name[n - 1] == '.')
		n--;
	if (n >= MXG_NAME_MAX) /* too long to be served: matches nothing */
		n = 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[n] = '\0';
}

const struct mxg_domain_config *config_find_domain(const struct mxg_config *cfg, const char *name)
{
	struct mxg_domain_config key = {0};

	normalise(name, key.name);
	if (!key.name[0] || !cfg->n_domains)
		return NULL;
	return bsearch(&key, cfg->domains, cfg->n_domains, sizeof(key), cmp_domain);
}

static int cmp_final(const void *a, const void *b)
{
	return strcmp(((const struct mxg_final_domain *)a)->name,
		      ((const struct mxg_final_domain *)b)->name);
}

const struct mxg_final_domain *config_find_final_domain(const struct mxg_config *cfg,
							const char *name)
{
	struct mxg_final_domain key = {0};

	normalise(name, key.name);
	if (!key.name[0] || !cfg->n_final_domains)
		return NULL;
	return bsearch(&key, cfg->final_domains, cfg->n_final_domains, sizeof(key), cmp_final);
}

/* Sorted, one of each, none served, no localhost names: mail for
 * localhost never comes from outside. The first parameter naming a
 * domain is kept (Postfix's own order of address classes). */
int cfg_finish_final_domains(struct cfg_parse *p)
{
	struct mxg_config *c = p->cfg;
	size_t n = 0;

	for (size_t i = 0; i < c->n_final_domains; i++) {
		const char *name = c->final_domains[i].name;

		if (!strcmp(name, "localhost") || !strncmp(name, "localhost.", 10) ||
		    config_find_domain(c, name))
			continue;
		c->final_domains[n++] = c->final_domains[i];
	}
	/* qsort is not stable: order by name, then by the parameter. Not
	 * with none: final_domains is NULL then (UBSan: nonnull argument). */
	if (n)
		qsort(c->final_domains, n, sizeof(*c->final_domains), cmp_final);
	c->n_final_domains = 0;
	for (size_t i = 0; i < n; i++) {
		struct mxg_final_domain *last =
		    c->n_final_domains ? &c->final_domains[c->n_final_domains - 1] : NULL;

		if (last && !strcmp(last->name, c->final_domains[i].name)) {
			if (c->final_domains[i].from < last->from)
				last->from = c->final_domains[i].from;
			continue;
		}
		c->final_domains[c->n_final_domains++] = c->final_domains[i];
	}
	return 0;
}

const char *config_final_from_name(unsigned from)
{
	switch (from) {
	case MXG_FINAL_MYDESTINATION:
		return "mydestination";
	case MXG_FINAL_VIRTUAL_MAILBOX:
		return "virtual_mailbox_domains";
	case MXG_FINAL_VIRTUAL_ALIAS:
		return "virtual_alias_domains";
	}
	return "?";
}

enum mxg_reply_mode config_domain_reply(const struct mxg_config *cfg,
					const struct mxg_domain_config *d)
{
	return d && d->reply != MXG_REPLY_INHERIT ? (enum mxg_reply_mode)d->reply : cfg->reply;
}

const char *config_domain_reply_text(const struct mxg_config *cfg,
				     const struct mxg_domain_config *d)
{
	return d && d->reply_text ? d->reply_text : cfg->reply_text;
}

uint64_t config_domain_recovery_grace(const struct mxg_config *cfg,
				      const struct mxg_domain_config *d)
{
	return d && d->recovery_grace_ms >= 0 ? (uint64_t)d->recovery_grace_ms
					      : cfg->recovery_grace_ms;
}

uint64_t config_domain_reject_grace(const struct mxg_config *cfg, const struct mxg_domain_config *d)
{
	if (config_domain_reply(cfg, d) != MXG_REPLY_REJECT)
		return 0;
	return d && d->reject_grace_ms >= 0 ? (uint64_t)d->reject_grace_ms : cfg->reject_grace_ms;
}
