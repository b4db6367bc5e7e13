#!/bin/sh
# Installs every Debian package that mxgate's build, tests, demo and
# benchmarks need. Idempotent and quiet: does nothing when all are present.
set -eu

PACKAGES="
make gcc clang clang-format llvm pkg-config libc6-dev linux-libc-dev
libbpf-dev bpftool libelf-dev zlib1g-dev
libnftnl-dev libmnl-dev libldns-dev ldnsutils libinih-dev libcmocka-dev
libcap-dev libseccomp-dev libclang-rt-14-dev libssl-dev openssl ca-certificates
iproute2 nftables nsd postfix swaks libnet-ssleay-perl libio-socket-ssl-perl iperf3 jq procps psmisc
perl libtest-harness-perl libio-socket-inet6-perl man-db groff-base python3 util-linux
coreutils python3-prometheus-client systemd
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root: sh scripts/install-deps.sh" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Postfix asks how to configure itself; the tests write their own configs.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "install-deps: installing:$missing" >&2
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
