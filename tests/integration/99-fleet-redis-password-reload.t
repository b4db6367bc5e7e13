#!/bin/bash
# The Redis password is rotated the way administrators do it: the ACL
# user's password changed on the server, the new one written over the same
# redis_password_file, mxgated reloaded (SIGHUP). mxgated reads the file
# again and reconnects with it at once, so the next lost connection (a
# failover, a restart) does not find it holding the old one. A wrong
# password shows at once (disconnected, the SMTP answers unchanged: no
# 5xx); a password file every user can read is refused by mxgated -n and
# by the reload, which keeps the connection it has.
set -u
. "$MXG_SRC/tests/lib/fleet.sh"

mxg_scene 180
tn_on_cleanup mxg_stop
tap_plan 14
fleet_redis
mxg_config reply=greylist greylist_delay=3s greylist_window=60s
rd_conf_lines >>"$MXG_CONF"
mxg_start

redis() { mxg_status | jq -r ".counters.redis.$1"; }
connected_n() { # connected_n N: connected, and N connections made in all
	[ "$(redis connected) $(redis connects)" = "true $1" ]
}
reloads() { grep -c "reloaded $MXG_CONF" "$MXG_LOG"; }
reload() { # SIGHUP, and wait until it is applied (or refused)
	local n
	n=$(($(reloads) + $(grep -c 'reload refused' "$MXG_LOG")))
	kill -HUP "$MXG_PID"
	tn_wait 15 sh -c "[ \$((\$(grep -c 'reloaded $MXG_CONF' '$MXG_LOG') + \$(grep -c 'reload refused' '$MXG_LOG'))) -gt $n ]"
}
new_password() { # on the server, for the ACL user; rd_cli uses it from now on
	rd_admin r1 ACL SETUSER "$RD_USER" resetpass ">$1" >/dev/null
	RD__PASS=$1
}
write_file() { (umask 077 && printf '%s\n' "$1" >"$RD_PASS_FILE"); }
DEFER='^451 4\.7\.1 example\.test: this is a backup MX'
rcpt() { # the reply to RCPT TO from a new sender address each time
	tn_swaks snd --server "$TN_IP_edge" --from a@sender.test --to "u$1@example.test" \
		--quit-after RCPT --timeout 5 2>&1 |
		awk '/-> RCPT TO/ { r = 1; next }
		     r && /^<[-*~ ]+[0-9][0-9][0-9] / { sub(/^<[-*~ ]+/, ""); print; exit }'
}

tap_ok "connected to Redis with the password file's password" tn_wait 10 connected_n 1
# The greylist's 451 below needs the domain gated first (the probe of the
# primary, not Redis, decides that): without this wait the first RCPT
# could reach the real MTA (250) on a slow machine.
tap_ok "gated while the primary is up" mxg_wait_state example.test gated 10

# --- rotated: the server first, then the same file, then SIGHUP
P2=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
new_password "$P2"
write_file "$P2"
tap_ok "SIGHUP: the reload is applied" reload
tap_ok "mxgated reconnected with the new password at once (connects 2)" tn_wait 10 connected_n 2
tap_ok "its log says why" grep -q "the password changed; reconnecting with it" "$MXG_LOG"
# The server drops every connection of the user: only the new password
# gets back in.
rd_admin r1 CLIENT KILL USER "$RD_USER" >/dev/null
tap_ok "after the server dropped it, it gets back in with the new one (connects 3)" \
	tn_wait 10 connected_n 3

# --- a wrong password: shows at once, and changes no SMTP answer
write_file "not-the-password"
reload
down() { [ "$(redis connected)" = false ]; }
tap_ok "a wrong password in the file: disconnected at once after the reload" tn_wait 10 down
tap_ok "the log names the refused AUTH" tn_wait 5 grep -qE "redis .*AUTH: .*(WRONGPASS|invalid)" "$MXG_LOG"
tap_like "$(rcpt 1)" "$DEFER" "meanwhile a new sender still gets the greylist's 451 (never a 5xx)"
write_file "$P2"
reload
tap_ok "the right one back and reloaded: connected again" tn_wait 10 connected_n 4

# --- a file every user can read: mxgated -n and the reload refuse it
chmod 0644 "$RD_PASS_FILE"
out=$("$MXGATED" -n -c "$MXG_CONF" 2>&1)
tap_like "$?:$out" "^1:.*redis_password_file: $RD_PASS_FILE: the Redis password is readable by every user on this host \\(mode 0644\\).*chmod o-rwx" \
	"mxgated -n refuses the password file once it is world-readable"
reload
tap_ok "so does the reload (the old configuration stays)" \
	grep -qE "reload refused: .*redis_password_file: .*readable by every user" "$MXG_LOG"
tap_ok "and the connection it has stays up" connected_n 4
chmod 0600 "$RD_PASS_FILE"
ln -s "$RD_PASS_FILE" "$TN_DIR/redis.pass.link"
sed -i "s|^redis_password_file = .*|redis_password_file = $TN_DIR/redis.pass.link|" "$MXG_CONF"
out=$("$MXGATED" -n -c "$MXG_CONF" 2>&1)
tap_like "$?:$out" "^1:.*redis_password_file: $TN_DIR/redis.pass.link: a symbolic link, which is not followed" \
	"mxgated -n refuses a symbolic link as the password file"
tap_done
