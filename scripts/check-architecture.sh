#!/bin/sh
# The map of the code and the code agree, and no file grows past one job:
# every userspace/*/*.c is named in docs/architecture.md ("Every file"),
# no userspace/ or bpf/ .c or .h file is over 600 lines (the house's
# limit: a longer file is usually two), and every NAME.c a comment there
# names exists (a file split or renamed leaves none pointing at the old
# one). Prints what is wrong and exits 1.
set -eu
cd "$(dirname "$0")/.."
MAX_LINES=600
rc=0
bad=""
for f in userspace/*/*.c; do
	b=$(basename "$f")
	grep -q "\`$b\`" docs/architecture.md || bad="$bad $f"
done
if [ -n "$bad" ]; then
	echo "check-architecture: docs/architecture.md does not name:" >&2
	for f in $bad; do echo "  $f" >&2; done
	echo "add each to its folder's line under \"Every file\" (what it is for, in a few words)" >&2
	rc=1
fi
long=""
for f in $(find userspace bpf -name '*.[ch]' | sort); do
	n=$(wc -l <"$f")
	[ "$n" -le "$MAX_LINES" ] || long="$long $f:$n"
done
if [ -n "$long" ]; then
	echo "check-architecture: over $MAX_LINES lines:" >&2
	for f in $long; do echo "  ${f%:*} (${f##*:} lines)" >&2; done
	echo "split each along a seam, one job per file (docs/architecture.md)" >&2
	rc=1
fi
# "file.c" is event.h's placeholder for any file.
stale=$(grep -rnoP '(?<![\w./-])[a-z][a-z0-9_]*(?:\.bpf)?\.c\b' userspace bpf --include='*.[ch]' |
	awk -F: -v files="$(ls userspace/*/*.c bpf/*.c | sed 's|.*/||')" '
		BEGIN { n = split(files, a, "\n"); for (i = 1; i <= n; i++) ok[a[i]] = 1; ok["file.c"] = 1 }
		!($3 in ok) { print $1 ":" $2 ": " $3 }')
if [ -n "$stale" ]; then
	echo "check-architecture: comments name files that do not exist:" >&2
	echo "$stale" | sed 's/^/  /' >&2
	echo "name the file that now holds it" >&2
	rc=1
fi
exit $rc
