#!/bin/bash
# mxgated -n checks a config: 0 and "configuration ok" for a good one, 1
# and one "FILE:LINE: KEY: ..." line on stderr for a bad one, 2 for a usage
# error. Needs no root and no network.
set -u
MXGATED="${MXG_OUT:-$PWD/build}/mxgated"
SRC="${MXG_SRC:-$PWD}"
dir=$(mktemp -d /tmp/mxg-02-XXXXXX) || exit 1
trap 'rm -rf "$dir"' EXIT

n=0
fails=0
ok() { # ok COND DESC
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
run() { # run ARGS...: sets rc, out, err (and errs: err without the warning lines about reply = reject)
	"$MXGATED" "$@" >"$dir/out" 2>"$dir/err"
	rc=$?
	out=$(cat "$dir/out")
	err=$(cat "$dir/err")
	errs=$(grep -v ': warning: reply = reject' "$dir/err")
}
is() { # is GOT WANT DESC
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "# got:  '$1'"
		echo "# want: '$2'"
	fi
}
like() { # like GOT REGEX DESC
	if [[ $1 =~ $2 ]]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "# got:  '$1'"
		echo "# want: /$2/"
	fi
}

echo 1..44

cat >"$dir/domains" <<'EOT'
# served from a file
example.net
EOT
cat >"$dir/good.conf" <<'EOT'
# a good configuration
self = mx2.example.org
domains = example.org
domains_file = domains
interfaces = eth0
reply = defer

[domain example.net]
reply = reject
EOT
run -n -c "$dir/good.conf"
is "$rc" 0 "good config: exit 0"
is "$(tail -n 1 "$dir/out")" "mxgated: $dir/good.conf: configuration ok" "good config: says so on stdout"
like "$(head -n 1 "$dir/out")" "^mxgated: kernel: (has what gate = tc needs \\(bpf_sk_assign at tc ingress .*\\); oldest supported: Linux 6\\.1|not checked: .*)$" \
	"and, gate = tc: the kernel has what it needs, the oldest supported kernel named"
like "$err" "^mxgated: $dir/good.conf: warning: reply = reject for 1 domain\\(s\\) \\(example.net\\) bounces \\(551\\)" \
	"good config with a reject domain: warns that reject bounces, naming the domain"
risks=$(grep -c "^mxgated: $dir/good.conf: warning: reply = reject risk: " "$dir/err")
is "$risks" 4 "and names four risks, one line each"
like "$err" "risk: senders with retry memory: .*Exim skips the failed host for ~15 min and OpenSMTPD disables the route" \
	"risk: senders that remember a primary failure (Exim, OpenSMTPD)"
like "$err" "risk: primaries that greylist or defer everyone but their backup" "risk: primaries that defer all but their backup"
like "$err" "risk: per-user conditions at the primary \\(452 mailbox full" "risk: per-user conditions at the primary"
like "$err" "risk: TLS-requiring senders" "risk: senders that require TLS"
like "$(tail -n 1 "$dir/err")" "warning: reply = reject: .*remove reply \\(the default is greylist\\) or set reply = defer" \
	"and says what to do instead"
is "$(wc -l <"$dir/err")" 6 "good config: six warning lines on stderr, nothing else"

printf 'self = mx2.example.org\ndomains = example.org\ninterfaces = eth0\n' >"$dir/default.conf"
run -n -c "$dir/default.conf"
is "$rc:$err" "0:" "no reply key (the default, greylist): exit 0, no warning"

cat >"$dir/defer.conf" <<'EOT'
self = mx2.example.org
domains = example.org
interfaces = eth0
reply = defer
EOT
run -n -c "$dir/defer.conf"
is "$rc" 0 "all domains defer: exit 0"
is "$err" "" "all domains defer: nothing on stderr"

cat >"$dir/bad.conf" <<'EOT'
self = mx2.example.org
domains = example.org
interfaces = eth0
rise = often
EOT
run -n -c "$dir/bad.conf"
is "$rc" 1 "bad value: exit 1"
like "$err" "^mxgated: $dir/bad.conf:4: rise: \"often\" is not a number; " "bad value: file:line: key on stderr"
is "$(wc -l <"$dir/err")" 1 "bad value: one line"
is "$out" "" "bad value: nothing on stdout"

printf 'self = mx2.example.org\ndomains = example.org\ninterfaces = eth0\n[domain example.com]\nreply = defer\n' >"$dir/unserved.conf"
run -n -c "$dir/unserved.conf"
is "$rc" 1 "override of an unserved domain: exit 1"
like "$err" "^mxgated: $dir/unserved.conf:4: \[domain example.com\]: not a served domain" "override of an unserved domain: names the section line"

printf 'domains = example.org\ninterfaces = eth0\n' >"$dir/noself.conf"
run -n -c "$dir/noself.conf"
like "$rc:$err" "^1:mxgated: $dir/noself.conf: self: required key missing; add \"self = " "missing self: exit 1, names the key"

run -n -c "$dir/absent.conf"
like "$rc:$err" "^1:mxgated: $dir/absent.conf: cannot open: No such file or directory" "missing file: exit 1"

# The example config in docs/ is valid as shipped (with its keys set).
run -n -c "$SRC/docs/mxgate.conf.example"
is "$rc:$errs" "0:" "docs/mxgate.conf.example passes the check"

# ... and so is every commented-out key in it, uncommented.
echo example.info >"$dir/more"
mkdir "$dir/postfix" # domains_from = postfix asks this Postfix config; no final
# destinations (mydestination defaults to this machine's name), or -n warns
printf 'compatibility_level = 3.6\nrelay_domains = example.biz\nmydestination =\n' >"$dir/postfix/main.cf"
# tls_cert_file and tls_key_file must name a real certificate and key.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/tls.key" -out "$dir/tls.pem" -days 2 \
	-subj /CN=mx2.example.org 2>/dev/null
chmod 600 "$dir/tls.key"
echo secret >"$dir/redis.password"
chmod 600 "$dir/redis.password"
sed -E -e 's/^#(\[?[a-z0-9_]+( = |[ ]))/\1/' -e "s|^domains_file = .*|domains_file = $dir/more|" \
	-e "s|^tls_cert_file = .*|tls_cert_file = $dir/tls.pem|" -e "s|^tls_key_file = .*|tls_key_file = $dir/tls.key|" \
	-e "s|^postfix_config_dir = .*|postfix_config_dir = $dir/postfix|" \
	-e "s|^redis_password_file = .*|redis_password_file = $dir/redis.password|" \
	-e 's|^redis = |#redis = |' \
	"$SRC/docs/mxgate.conf.example" >"$dir/all.conf"
run -n -c "$dir/all.conf"
is "$rc:$errs" "0:" "docs/mxgate.conf.example with every key uncommented passes"
# redis stays commented: it excludes redis_sentinels.
is "$(grep -oE '^#?[a-z0-9_]+ = ' "$dir/all.conf" | tr -d '#' | sort -u | wc -l)" 66 "the example shows all 66 keys"

# state_backend = redis: where Redis is, and a password no one else reads.
base='self = mx2.example.org\ndomains = example.org\ninterfaces = eth0\nstate_backend = redis\n'
printf "$base" >"$dir/rnone.conf"
run -n -c "$dir/rnone.conf"
like "$rc:$err" "^1:mxgated: $dir/rnone.conf:4: redis: required key missing for state_backend = redis" "state_backend = redis without redis: refused, names the line"
printf "${base}redis = redis.example.org:6379\n" >"$dir/rname.conf"
run -n -c "$dir/rname.conf"
like "$rc:$err" "^1:mxgated: $dir/rname.conf:5: redis: .*is not unix:/PATH or an IP address" "redis as a name (would block the loop): refused"
printf "${base}redis_sentinels = 192.0.2.1 [2001:db8::1]:26380\n" >"$dir/rsent.conf"
run -n -c "$dir/rsent.conf"
like "$rc:$err" "^1:mxgated: $dir/rsent.conf:5: redis_master_name: required key missing" "Sentinels without a master name: refused"
echo secret >"$dir/redis.pw"
chmod 644 "$dir/redis.pw"
printf "${base}redis = unix:/run/redis/redis.sock\nredis_user = mxgate\nredis_password_file = $dir/redis.pw\n" >"$dir/rpw.conf"
run -n -c "$dir/rpw.conf"
like "$rc:$err" "^1:mxgated: $dir/rpw.conf:7: redis_password_file: .*readable by every user on this host \\(mode 0644\\).*chmod o-rwx" "a world-readable Redis password file: refused, says chmod"
chmod 600 "$dir/redis.pw"
run -n -c "$dir/rpw.conf"
is "$rc:$errs" "0:" "the same with mode 0600: accepted"

# The responder's user must exist and must not be root: refused here, not
# by a daemon that would loop restarting a responder that cannot start.
printf 'self = mx2.example.org\ndomains = example.org\ninterfaces = eth0\nuser = root\n' >"$dir/root.conf"
run -n -c "$dir/root.conf"
like "$rc:$err" "^1:mxgated: $dir/root.conf: user: root has uid 0; .*set user = to an unprivileged account" "user = root: refused, says what to do"
printf 'self = mx2.example.org\ndomains = example.org\ninterfaces = eth0\nuser = mxg-no-such-user\n' >"$dir/nouser.conf"
run -n -c "$dir/nouser.conf"
like "$rc:$err" "^1:mxgated: $dir/nouser.conf: user: mxg-no-such-user: no such user; create it" "user that does not exist: refused, says what to do"

# domains_file must be a bounded regular text file: /dev/zero once spun
# mxgated -n at 100% CPU for ever. timeout makes a regression fail, not hang.
chk_domains_file() { # chk_domains_file PATH: rc and err of mxgated -n
	printf 'self = mx2.example.org\ninterfaces = eth0\ndomains_file = %s\n' "$1" >"$dir/df.conf"
	timeout 20 "$MXGATED" -n -c "$dir/df.conf" >"$dir/out" 2>"$dir/err"
	rc=$?
	err=$(cat "$dir/err")
	errs=$(grep -v ': warning: reply = reject' "$dir/err")
}
chk_domains_file /dev/zero
like "$rc:$err" "^1:mxgated: $dir/df.conf:3: domains_file: /dev/zero is not a regular file; name a text file" "domains_file = /dev/zero: refused at once"
mkfifo "$dir/fifo"
chk_domains_file "$dir/fifo"
like "$rc:$err" "^1:mxgated: $dir/df.conf:3: domains_file: $dir/fifo is not a regular file" "domains_file a FIFO: refused without waiting for a writer"
truncate -s 70000000 "$dir/huge" # refused by its size, never read
chk_domains_file "$dir/huge"
like "$rc:$err" "^1:mxgated: $dir/df.conf:3: domains_file: $dir/huge is larger than 67108864 bytes" "domains_file of 70 MB: refused, names the bound"
head -c 3000 /dev/zero | tr '\0' a >"$dir/onelong"
chk_domains_file "$dir/onelong"
like "$rc:$err" "^1:mxgated: $dir/onelong:1: domains_file: line longer than 512 characters" "domains_file without newlines: line too long"
head -c 100 /dev/zero >"$dir/nuls"
chk_domains_file "$dir/nuls"
like "$rc:$err" "^1:mxgated: $dir/nuls:1: domains_file: a NUL byte; this is not a text file" "domains_file of NUL bytes: refused"
printf 'example.net\nexample.com' >"$dir/nonl"
chk_domains_file "$dir/nonl"
is "$rc:$errs" "0:" "domains_file whose last line has no newline: accepted"

run -x
is "$rc" 2 "unknown option: exit 2"
like "$err" "^mxgated: unknown option -x; see mxgated -h" "unknown option: says what to do"
run -c
is "$rc" 2 "-c without a file: exit 2"
run -n extra
is "$rc" 2 "stray argument: exit 2"
run -h
like "$rc:$out" "^0:usage: mxgated \[-c FILE\] \[-f\] \[-d\] \[-n\] \[-h\]" "-h: usage on stdout, exit 0"

sed 's/^interfaces = eth0$/gate = nft/' "$dir/good.conf" >"$dir/nft.conf"
run -n -c "$dir/nft.conf"
like "$(head -n 1 "$dir/out")" "^mxgated: kernel: (has what gate = nft needs \\(nf_tables with tproxy .*\\); oldest supported: Linux 6\\.1|not checked: .*)$" \
	"gate = nft: the kernel has nft tproxy (asked, nothing changed), the oldest supported kernel named"

[ "$fails" = 0 ]
