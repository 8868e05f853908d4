#!/bin/bash
# SPDX-License-Identifier: ISC
# Writes read back identically at several sizes and offsets; info reports
# the export as configured.
. "$(dirname "$0")/functions.sh"

size=$((8 * 1048576))
lengths="512 4096 $((65536 + 512)) 1048576 $((3 * 1048576))"

tap_plan $((5 * 4 * 3 + 10))

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s "$size" "$T/disk.img"
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=8M
start_netdiskd "$T/netdisk.conf"
u=$(uri disk)
export NETDISK_KEYFILE=$ND_KEY

netdiskctl info --json "$u" >"$T/info.json" 2>"$T/err"
tap_is "info --json exits 0" "$?" 0
tap_is "info --json: size is the configured size" \
    "$(json_field size <"$T/info.json")" "$size"
tap_is "info --json: readonly is false" \
    "$(json_field readonly <"$T/info.json")" false
tap_is "info --json: block_size is 512" \
    "$(json_field block_size <"$T/info.json")" 512
tap_is "info --json: export is the name asked for" \
    "$(json_field export <"$T/info.json")" '"disk"'
tap_is "info --json: max_payload is 1 MiB" \
    "$(json_field max_payload <"$T/info.json")" 1048576
netdiskctl info "$u" >"$T/info.txt" 2>"$T/err"
tap_is "info (text) exits 0" "$?" 0
tap_ok "info (text): export line" grep -qx "export: disk" "$T/info.txt"
tap_like "info (text): size and readonly" \
    "$(grep -E '^(size|readonly|block_size):' "$T/info.txt" | tr '\n' '|')" \
    "^size: $size \\([^)]*\\)\\|readonly: no\\|block_size: 512\\|$"

for len in $lengths; do
	for off in 0 512 $((1048576 - 512)) $((size - len)); do
		random_file "$T/data" "$len"
		want=$(sha_of "$T/data")
		tap_status "write $len bytes at $off" 0 \
		    netdiskctl write "$u" "$off" <"$T/data"
		netdiskctl read "$u" "$off" "$len" >"$T/back" 2>"$T/err"
		st=$?
		tap_is "read $len bytes at $off returns them (status $st)" \
		    "$(sha_of "$T/back")" "$want"
		tap_is "the backing file holds them at $off" \
		    "$(sha_of "$T/disk.img" "$off" "$len")" "$want"
	done
done

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
