#!/bin/bash
# The probe knows whom it spoke to. The primary's Postfix
# offers STARTTLS with a certificate from a CA made here; probe_tls =
# verify with probe_tls_ca = that CA: a certificate for mx1.example.test
# gates, one for another name (or one the system trust store does not
# know) counts the primary as down (tls-failed) and the domain opens, and
# the sender that tries the backup is not bounced. opportunistic talks
# TLS without failing on the name.
set -u
. "$MXG_SRC/tests/lib/mxgated.sh"

mxg_scene 150
tap_plan 13
tn_postfix_start snd sender

T=$TN_DIR/tls
mkdir -p "$T"
ossl() { openssl "$@" >>"$T/openssl.log" 2>&1; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-keyout "$T/ca.key" -out "$T/ca.crt" -subj "/CN=mxgate test CA" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign"
for n in mx1.example.test wrong.example.test; do
	ossl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$T/$n.key" -out "$T/$n.csr" -subj "/CN=$n"
	printf 'subjectAltName=DNS:%s\n' "$n" >"$T/$n.ext"
	ossl x509 -req -in "$T/$n.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
		-days 2 -out "$T/$n.crt" -extfile "$T/$n.ext"
done
chmod 0644 "$T"/*
tap_ok "test CA and certificates made" test -s "$T/mx1.example.test.crt" -a -s "$T/wrong.example.test.crt"

use_cert() { # use_cert NAME: p1 offers STARTTLS with that certificate
	tn_postconf p1 "smtpd_tls_security_level = may" \
		"smtpd_tls_cert_file = $T/$1.crt" "smtpd_tls_key_file = $T/$1.key"
}
probe() { # probe ARGS...: mxgate probe from the edge; prints its output
	tn_exec edge "$MXGATE" probe example.test --self mx2.example.test \
		--resolver "$TN_DNS_IP" --timeout 3s "$@" 2>&1
}

use_cert mx1.example.test
out=$(probe --tls verify --tls-ca "$T/ca.crt")
tap_like "$out" "verdict: gate " "verify, certificate for mx1.example.test from the test CA: gate" ||
	tap_diag "$out"
out=$(probe --tls verify)
tap_like "$out" "tls-failed .*(unable to get local issuer|self.signed|certificate)" \
	"verify against the system store (the test CA is not in it): tls-failed"
tap_like "$out" "verdict: open " "and the verdict is open"

use_cert wrong.example.test
out=$(probe --tls verify --tls-ca "$T/ca.crt")
tap_like "$out" "tls-failed .*hostname mismatch" "verify, certificate for another name: tls-failed (hostname mismatch)"
tap_like "$out" "verdict: open " "and the verdict is open"
t0=$(mxg_ms)
out=$(probe --tls opportunistic)
took=$(($(mxg_ms) - t0))
tap_like "$out" "verdict: gate " "opportunistic: TLS without the name check, gate"

# The daemon, verify mode. Its probe_timeout must let a TLS handshake
# finish, or the result is `timeout`, not `tls-failed`: scaled by what one
# whole probe with TLS just took here (${took} ms; about 0.2 s on a quiet
# host, 1.5 s and more under emulation), at least the standard 1 s.
pt=$((took * 3 > 1000 ? took * 3 : 1000))
wait_s=$((10 + 4 * pt / 1000))
tap_diag "one TLS probe took ${took} ms: probe_interval = probe_timeout = ${pt} ms"
use_cert mx1.example.test
mxg_config probe_tls=verify probe_tls_ca=$T/ca.crt probe_interval=${pt}ms probe_timeout=${pt}ms \
	state_ttl=$((2 * pt + 2000))ms
mxg_start
tap_ok "mxgated, probe_tls = verify: gated with the right certificate" \
	mxg_wait_state example.test gated "$wait_s"
use_cert wrong.example.test
tap_ok "the primary shows a certificate for another name: open" mxg_wait_state example.test open "$wait_s"
probes=$(mxg_status | jq -c '[.domains[0].probes[] | .result]')
tap_like "$probes" 'tls-failed' "status: probe result tls-failed ($probes)"

tn_block_host snd p1
tap_ok "the sender's Postfix takes a message" tn_postfix_send snd a@sender.test tls@example.test
tap_ok "it reaches the backup" tn_mail_wait edge 1 30 tls@example.test
tap_is "$(tn_bounces snd)" 0 "no bounce"
