#!/bin/bash
# gate = nft in the administrator's maps (nft_table, nft_set): the scenarios
# of tests/lib/nft_daemon.sh.
set -u
[ -f "$MXG_SRC/tests/lib/testnet.sh" ] || { echo "1..0 # SKIP testnet library not merged yet"; exit 0; }
. "$MXG_SRC/tests/lib/nft_daemon.sh"
nft_daemon_scenario admin
