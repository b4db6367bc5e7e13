// SPDX-License-Identifier: GPL-2.0-only
/* Prometheus text exposition helpers; see prom.h. */
#include "prom.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

void prom_family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_u64(FILE *f, const char *name, const char *labels, uint64_t v)
{
	if (labels && *labels)
		fprintf(f, "%s{%s} %" PRIu64 "\n", name, labels, v);
	else
		fprintf(f, "%s %" PRIu64 "\n", name, v);
}

void prom_double(FILE *f, const char *name, const char *labels, double v)
{
	if (labels && *labels)
		fprintf(f, "%s{%s} %.3f\n", name, labels, v);
	else
		fprintf(f, "%s %.3f\n", name, v);
}

const char *prom_labels(char *buf, size_t len, int n, ...)
{
	size_t o = 0;
	va_list ap;

	if (!len)
		return buf;
	buf[0] = '\0';
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		const char *k = va_arg(ap, const char *);
		const char *v = va_arg(ap, const char *);
		int w = snprintf(buf + o, len - o, "%s%s=\"", i ? "," : "", k);

		if (w < 0 || (size_t)w >= len - o)
			goto full;
		o += (size_t)w;
		for (; *v; v++) {
			const char *esc = *v == '\\'   ? "\\\\"
					  : *v == '"'  ? "\\\""
					  : *v == '\n' ? "\\n"
						       : NULL;
			size_t need = esc ? 2 : 1;

			if (o + need + 2 >= len)
				goto full;
			if (esc)
				memcpy(buf + o, esc, 2);
			else
				buf[o] = *v;
			o += need;
		}
		buf[o++] = '"';
		buf[o] = '\0';
	}
	va_end(ap);
	return buf;
full:
	va_end(ap);
	buf[0] = '\0'; /* a sample without labels beats a broken line */
	return buf;
}
