#!/bin/bash
# SPDX-License-Identifier: ISC
# Authentication: a wrong key and an unknown export look the same to the
# client; per-export keys; allow lists; the log tells the real reason and
# never shows a key.
. "$(dirname "$0")/functions.sh"

tap_plan 23

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
make_key "$T/wrong.key" || bail_out "netdiskctl genkey -o failed"
make_key "$T/private.key" || bail_out "netdiskctl genkey -o failed"
for e in disk private only2 loop8; do
	truncate -s 1M "$T/$e.img"
done
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=1M
add_export "$T/netdisk.conf" private size=1M "keyfile=$T/private.key"
add_export "$T/netdisk.conf" only2 size=1M allow=127.0.0.2/32
add_export "$T/netdisk.conf" loop8 size=1M allow=127.0.0.0/8
start_netdiskd "$T/netdisk.conf"

authmsg="127\\.0\\.0\\.1:$ND_PORT: authentication failed \\(wrong key or no such export\\)"

tap_status "the configured key opens an export" 0 \
    netdiskctl info -k "$ND_KEY" "$(uri disk)"

tap_status "unknown export: exit 4" 4 \
    netdiskctl info -k "$ND_KEY" "$(uri nosuch)"
unknown_err=$(cat "$T/err")
tap_like "unknown export: message" "$unknown_err" "$authmsg"

tap_status "wrong key: exit 4" 4 netdiskctl info -k "$T/wrong.key" "$(uri disk)"
wrong_err=$(cat "$T/err")
tap_like "wrong key: message" "$wrong_err" "$authmsg"
tap_is "wrong key and unknown export give the same message" \
    "$wrong_err" "$unknown_err"
tap_status "wrong key and unknown export: exit 4" 4 \
    netdiskctl info -k "$T/wrong.key" "$(uri nosuch)"
tap_is "... with the same message" "$(cat "$T/err")" "$unknown_err"

tap_status "per-export key opens its export" 0 \
    netdiskctl info -k "$T/private.key" "$(uri private)"
tap_status "the global key does not open an export with its own key: exit 4" 4 \
    netdiskctl info -k "$ND_KEY" "$(uri private)"
tap_is "... with the same message as a wrong key" "$(cat "$T/err")" "$wrong_err"
tap_status "a per-export key does not open another export: exit 4" 4 \
    netdiskctl info -k "$T/private.key" "$(uri disk)"

tap_status "allow 127.0.0.2/32 refuses 127.0.0.1: exit 6" 6 \
    netdiskctl info -k "$ND_KEY" "$(uri only2)"
tap_like "... with a message on stderr" "$(cat "$T/err")" "127\\.0\\.0\\.1:$ND_PORT: "
tap_status "allow 127.0.0.0/8 admits 127.0.0.1" 0 \
    netdiskctl info -k "$ND_KEY" "$(uri loop8)"
printf 'hello, allowed world\n' | dd conv=sync bs=512 status=none >"$T/blk"
tap_status "... and serves writes" 0 \
    netdiskctl write -k "$ND_KEY" "$(uri loop8)" 0 <"$T/blk"

tap_ok "the log names the unknown export" \
    grep -q 'authentication failed: unknown export "nosuch"' "$ND_LOG"
tap_ok "the log says no key authenticates a wrong-key hello" \
    grep -q 'authentication failed: no key authenticates the hello' "$ND_LOG"
tap_ok "the log says the global key is not valid for the private export" \
    grep -q 'authentication failed: key not valid for export "private"' "$ND_LOG"
tap_ok "the log says the address is not allowed" \
    grep -q 'export "only2": address not allowed' "$ND_LOG"
tap_ok "the log has the authenticated line with a 32-hex client id" \
    grep -Eq '127\.0\.0\.1:[0-9]+: authenticated: export "disk" client [0-9a-f]{32}$' "$ND_LOG"
leaks=""
for k in "$ND_KEY" "$T/wrong.key" "$T/private.key"; do
	hex=$(cat "$k")
	if grep -qiF "$hex" "$ND_LOG" || grep -qiF "${hex:0:16}" "$ND_LOG"; then
		leaks="$leaks $(basename "$k")"
	fi
done
tap_is "the log never shows a key" "$leaks" ""

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
