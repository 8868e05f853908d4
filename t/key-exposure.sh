#!/bin/bash
# SPDX-License-Identifier: ISC
# Keys others could read or change: a key file must be owned by root or
# by the user netdiskd runs as; a key written inline in a netdisk.conf
# that group or others can read gets a warning (netdiskd -n, the log and
# netdiskctl reload), never the key itself.
. "$(dirname "$0")/functions.sh"

tap_plan 14

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
key=$(cat "$ND_KEY")

# --- Key file owners.
if test "$(id -u)" -ne 0 || ! getent passwd nobody >/dev/null; then
	for i in 1 2 3 4; do
		tap_skip "key file owner check" "needs root and user nobody"
	done
else
	cp "$ND_KEY" "$T/nobody.key"
	chown nobody "$T/nobody.key"
	write_conf "$T/owner.conf" -keyfile "keyfile=$T/nobody.key"
	add_export "$T/owner.conf" disk size=1M
	tap_status "a key file owned by nobody: netdiskd -n exits 1" 1 \
	    netdiskd -n -c "$T/owner.conf"
	line=$(grep -n '^keyfile' "$T/owner.conf" | cut -d: -f1)
	tap_is "... naming the file and its owner" "$(cat "$T/err")" \
	    "$T/owner.conf:$line: [global]: keyfile \"$T/nobody.key\": owned by nobody (uid $(id -u nobody)), not by root or netdiskd's user (root)"
	write_conf "$T/owner.conf" -keyfile "keyfile=$T/nobody.key" user=nobody
	add_export "$T/owner.conf" disk size=1M
	tap_status "... accepted when netdiskd runs as nobody" 0 \
	    netdiskd -n -c "$T/owner.conf"
	chown root "$T/nobody.key"
	write_conf "$T/owner.conf" -keyfile "keyfile=$T/nobody.key" user=nobody
	add_export "$T/owner.conf" disk size=1M
	tap_status "... and when owned by root" 0 netdiskd -n -c "$T/owner.conf"
fi

# --- Inline keys.
write_conf "$T/netdisk.conf" -keyfile "key=$key"
add_export "$T/netdisk.conf" disk size=1M
chmod 644 "$T/netdisk.conf"
line=$(grep -n '^key = ' "$T/netdisk.conf" | cut -d: -f1)
warning="$T/netdisk.conf:$line: [global]: warning: the key is written in the file, which group or others can read (mode 0644): use keyfile, or chmod 600 $T/netdisk.conf"
tap_status "inline key in a file of mode 0644: netdiskd -n exits 0" 0 \
    netdiskd -n -c "$T/netdisk.conf"
tap_is "... and says configuration OK" "$(cat "$T/out")" "configuration OK"
tap_is "... with the warning on stderr" "$(cat "$T/err")" "$warning"
start_netdiskd "$T/netdisk.conf"
tap_ok "netdiskd logs the warning at start-up" \
    grep -qxF "netdiskd: $warning" "$ND_LOG"
tap_ok "netdiskctl reload works" netdiskctl reload -s "$ND_CTL"
tap_like "... and prints the warning" "$(cat "$T/err" "$T/out")" \
    "^$T/netdisk.conf:$line: \[global\]: warning: the key is written"
tap_is "the key never reaches the log" "$(grep -cF "$key" "$ND_LOG")" 0
stop_netdiskd
chmod 640 "$T/netdisk.conf"
tap_ok "mode 0640 warns too" \
    sh -c "netdiskd -n -c '$T/netdisk.conf' 2>&1 | grep -q 'mode 0640'"
chmod 600 "$T/netdisk.conf"
tap_status "mode 0600: netdiskd -n exits 0" 0 netdiskd -n -c "$T/netdisk.conf"
tap_is "... without a warning" "$(cat "$T/err")" ""
