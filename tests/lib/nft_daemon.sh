# The end-to-end scenarios (primary up, down, back, kills) with gate = nft, run by
# tests/integration/62-nft-daemon-own.t and 63-nft-daemon-admin.t:
#   nft_daemon_scenario own|admin
# An administrator's ruleset is loaded before mxgated starts; it must be
# byte-identical (mxgate's table or map elements aside) after start, reload
# and stop. Primary up: 551 through the nft rule; responder killed: Postfix
# greets at once; primary down: mail delivered; mxgated killed: the
# elements expire within state_ttl and mail is delivered.

# shellcheck source=tests/lib/mxgated.sh
. "$MXG_SRC/tests/lib/mxgated.sh"
. "$MXG_SRC/tests/lib/nftgate.sh"

nft_daemon_scenario() {
	local mode=$1 before before_s list rpid t0 took delivered
	mxg_scene 150
	command -v nft >/dev/null || tap_skip_all "nft not installed"
	tap_plan 19

	# (offender_threshold = 0: this test sends many RCPTs from one client.)
	# The administrator's ruleset; in admin mode with the snippet of
	# docs/deployment.md (maps mxg4/mxg6 and the tproxy rules).
	{
		echo 'table inet filter {'
		if [ "$mode" = admin ]; then
			cat <<'EOF2'
	map mxg4 { type ipv4_addr : inet_service; flags timeout; }
	map mxg6 { type ipv6_addr : inet_service; flags timeout; }
	chain mxgate {
		type filter hook prerouting priority mangle; policy accept;
		tcp dport 25 tcp flags & (syn|ack) == syn tproxy ip to 127.0.0.1:ip daddr map @mxg4
		tcp dport 25 tcp flags & (syn|ack) == syn tproxy ip6 to [::1]:ip6 daddr map @mxg6
	}
EOF2
		fi
		cat <<'EOF2'
	set trusted { type ipv4_addr; flags interval; elements = { 10.0.0.0/8, 172.16.0.0/12 } }
	chain input { type filter hook input priority filter; policy accept;
		ip saddr @trusted accept
		tcp dport { 22, 25 } accept
	}
}
table ip nat {
	chain prerouting { type nat hook prerouting priority dstnat; policy accept;
		tcp dport 2525 redirect to :25
	}
}
EOF2
	} | tn_exec edge nft -f - || tap_bail "cannot load the administrator's ruleset"
	before=$(ng_ruleset edge)
	before_s=$(ng_ruleset edge strip)
	list="nft list table inet mxgate"
	if [ "$mode" = admin ]; then
		mxg_config gate=nft interfaces= offender_threshold=0 "nft_table=inet filter" nft_set=mxg
		list="nft list map inet filter mxg4"
	else
		mxg_config gate=nft interfaces= offender_threshold=0
	fi

	mxg_start
	tap_ok "mxgated ($mode nft mode) starts" test -n "$MXG_PID"
	tap_ok "example.test becomes gated" mxg_wait_state example.test gated 8
	# The verdict is in status before its element is in the kernel (the
	# publish goes on its own socket, after the round) and before a
	# starting responder listens: until both, a SYN still reaches Postfix
	# (open, by design). Under emulation that gap was long enough for the
	# first RCPT to get Postfix's 250 on 6.12; so the test waits for both.
	in_map() { tn_exec edge $list 2>/dev/null | grep -q "$TN_IP_edge timeout"; }
	responder_up() { [ "$(mxg_status | jq -r .responder.running)" = true ]; }
	tn_wait 10 in_map
	tn_wait 10 responder_up
	tap_like "$(mxg_rcpt example.test)" '^551 5\.7\.1 .*mx1\.example\.test' "primary up: 551 naming the primary"
	tap_like "$(mxg_rcpt example.test "$TN_IP6_edge")" '^551 5\.7\.1 ' "over IPv6 too"
	tap_like "$(tn_exec edge $list)" "$TN_IP_edge timeout $(tn_nft_dur $((4 * TN_TIME_SCALE)))" "the edge address is an element with timeout state_ttl"
	tap_is "$(ng_ruleset edge strip)" "$before_s" "the administrator's ruleset is unchanged while running"

	kill -HUP "$MXG_PID"
	sleep 2
	tap_like "$(mxg_rcpt example.test)" '^551 ' "after SIGHUP: still 551"
	tap_is "$(ng_ruleset edge strip)" "$before_s" "and the administrator's ruleset is unchanged"

	# The responder dies: tproxy finds no listener, Postfix answers the
	# first connection at once. "At once" is the event itself, not a wall
	# clock bound (swaks alone takes 2 s under emulation): Postfix greets
	# the first try, and the sender's kernel retransmitted no SYN (a SYN
	# dropped or held by a rule would be sent again after 1 s). mxgated is
	# held meanwhile (SIGSTOP), or it restarts the responder before a slow
	# machine has looked (its greeting, not Postfix's, then); the gate's
	# elements stay for state_ttl, so what is seen is the missing listener.
	rpid=$(mxg_status | jq -r .responder.pid)
	kill -STOP "$MXG_PID"
	kill -KILL "$rpid"
	rgone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
	tn_wait 5 rgone "$rpid" || tap_diag "responder $rpid still alive 5 s after SIGKILL"
	synre() { tn_exec snd nstat -asz TcpExtTCPSynRetrans | awk '$1 == "TcpExtTCPSynRetrans" { print $2 }'; }
	syn0=$(synre)
	t0=$(mxg_ms)
	banner=$(mxg_banner)
	took=$(($(mxg_ms) - t0))
	syn1=$(synre)
	tn_exec edge $list | grep -q "$TN_IP_edge" ||
		tap_diag "the gate's element had expired by then (a slow machine): Postfix greets either way"
	kill -CONT "$MXG_PID"
	at_once() { [[ "$banner" == *mxgate-test-backup* ]] && [ "$syn1" = "$syn0" ]; }
	tap_ok "responder killed: Postfix greets the first connection at once (${took}ms, SYNs resent: $((syn1 - syn0)))" at_once ||
		tap_diag "banner: $banner"
	steered() { [ "$(mxg_rcpt example.test | cut -c1-3)" = 551 ]; }
	tap_ok "the responder is restarted and steering resumes" tn_wait 8 steered

	# Primary down: the gate opens, mail is delivered to the backup.
	tn_postfix_stop p1
	tap_ok "primary down: the backup accepts mail" tn_wait 8 mxg_send example.test
	tn_postfix_start p1 primary
	tap_ok "primary back: gated again" tn_wait 15 steered

	# mxgated hangs (SIGSTOP) with its responder alive: only the expiry
	# of the elements can open the gate.
	kill -STOP "$MXG_PID"
	t0=$(mxg_ms)
	delivered=
	while [ $(($(mxg_ms) - t0)) -le $(tn_ms 5500) ]; do # state_ttl + 1.5s
		if mxg_send example.test; then
			delivered=$(($(mxg_ms) - t0))
			break
		fi
		sleep 0.2
	done
	kill -CONT "$MXG_PID"
	tap_ok "mxgated hung, responder alive: mail accepted within state_ttl (${delivered:-never}ms)" \
		test -n "$delivered"
	tap_ok "mxgated continues: gated again" tn_wait 10 steered ||
		tap_diag "$(tail -n 30 "$MXG_LOG"; mxg_status | jq -c .domains)"

	# mxgated killed: nothing removes the elements; they expire.
	kill -KILL "$MXG_PID"
	wait "$MXG_BGPID" 2>/dev/null
	t0=$(mxg_ms)
	MXG_PID=
	delivered=
	while [ $(($(mxg_ms) - t0)) -le $(tn_ms 5000) ]; do # state_ttl + 1s
		if mxg_send example.test; then
			delivered=$(($(mxg_ms) - t0))
			break
		fi
		sleep 0.2
	done
	tap_ok "mxgated killed: mail accepted within state_ttl + 1s (${delivered:-never}ms)" test -n "$delivered"
	# (The responder died with its parent, so mail flowed at once; the
	# elements themselves expire within state_ttl of the last round.)
	no_elements() { ! tn_exec edge $list | grep -q elements; }
	tap_ok "the elements expire by themselves within state_ttl" tn_wait 4.5 no_elements

	# Start again and stop cleanly: nothing of ours is left.
	mxg_start
	tap_ok "gated again after a restart" mxg_wait_state example.test gated 8
	mxg_term
	tap_is "$MXG_RC" 0 "SIGTERM: exit status 0"
	tap_is "$(tn_exec edge nft list ruleset)" "$before" "after stop the ruleset is byte-identical to the one before start"
	tap_done
}
