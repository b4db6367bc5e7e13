#!/bin/sh
# Every userspace/*/*.c is named in docs/architecture.md ("Every file"), so
# the map of the code and the code agree. Prints the files it does not
# name and exits 1.
set -eu
cd "$(dirname "$0")/.."
bad=""
for f in userspace/*/*.c; do
	b=$(basename "$f")
	grep -q "\`$b\`" docs/architecture.md || bad="$bad $f"
done
[ -z "$bad" ] && exit 0
echo "check-architecture: docs/architecture.md does not name:" >&2
for f in $bad; do echo "  $f" >&2; done
echo "add each to its folder's line under \"Every file\" (what it is for, in a few words)" >&2
exit 1
