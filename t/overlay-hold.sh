#!/bin/bash
# SPDX-License-Identifier: ISC
# overlay_hold is a deadline: once an identity's last session ended, its
# attachment is released when the hold is over, with no other connection
# to trigger it.  An ephemeral overlay file is then gone, a persistent one
# kept (and its data read back by the next attach).  A reconnect within
# the hold keeping the old base is t/overlay.sh's.
. "$(dirname "$0")/functions.sh"

tap_plan 9

client_keys carol dave
mkdir "$T/ovl-e" "$T/ovl-p" || bail_out "cannot make the overlay folders"
random_file "$T/base.img" $((4 * 1048576))

hold=2
conf=$T/netdisk.conf
write_conf "$conf" "clients_dir=$T/clients"
add_export "$conf" eph "path=$T/base.img" "overlay_dir=$T/ovl-e" \
    overlay=ephemeral clients=carol overlay_hold=$hold
add_export "$conf" pers "path=$T/base.img" "overlay_dir=$T/ovl-p" \
    clients=dave overlay_hold=$hold
start_netdiskd "$conf"
random_file "$T/a" 65536

# gone_within SECONDS FILE: FILE disappears within SECONDS.
gone_within() {
	local i

	for i in $(seq $(($1 * 10))); do
		test -e "$2" || return 0
		sleep 0.1
	done
	return 1
}

netdiskctl write -k "$(key carol)" "$(uri eph)" 0 <"$T/a" ||
    bail_out "carol's write failed"
netdiskctl write -k "$(key dave)" "$(uri pers)" 0 <"$T/a" ||
    bail_out "dave's write failed"
tap_ok "carol's ephemeral overlay is held after her session ended" \
    test -e "$T/ovl-e/carol.ovl"
start=$(date +%s)
tap_ok "... and gone within the hold + 3 s, with no new connection" \
    gone_within $((hold + 3)) "$T/ovl-e/carol.ovl"
tap_ok "... not before the hold was over" \
    test $(($(date +%s) - start)) -ge $((hold - 1))
tap_ok "the release is logged" \
    wait_log 'export "eph": client "carol": overlay closed \(hold over\)' 2
tap_ok "dave's persistent overlay is released too" \
    wait_log 'export "pers": client "dave": overlay closed \(hold over\)' 5
tap_ok "... its file kept" test -f "$T/ovl-p/dave.ovl"
netdiskctl read -k "$(key dave)" "$(uri pers)" 0 65536 >"$T/back"
tap_is "... and his data read back by his next attach" \
    "$(sha_of "$T/back")" "$(sha_of "$T/a")"
netdiskctl read -k "$(key carol)" "$(uri eph)" 0 65536 >"$T/back"
tap_is "carol's next attach reads the base" "$(sha_of "$T/back")" \
    "$(sha_of "$T/base.img" 0 65536)"
tap_ok "netdiskd logged no warning" \
    test "$(grep -c -i 'warn\|error' "$ND_LOG")" -eq 0
