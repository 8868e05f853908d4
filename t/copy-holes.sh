#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl copy skips the holes of a source that answers block status
# (docs/protocol.md, "Block status"): a 64 MiB sparse export with 4 MiB of
# data, over netdisk:// and over netdiskd's NBD listener, to a file and to
# another export full of old data; bit for bit, and the server reads
# little more than the data (its statistics).  Also from qemu-nbd (its
# base:allocation), whose trace counts the bytes it read; a client that
# does not ask never sees ND_FLAG_BLOCK_STATUS.
. "$(dirname "$0")/functions.sh"
. "$top_srcdir/t/nbd/nbd.sh"

requires jq

mib=1048576
size=$((64 * mib))
data=$((4 * mib))
most=$((6 * mib))	# read bytes allowed for 4 MiB of data

tap_plan 23

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s 64M "$T/src.img"
# 4 MiB of data, in 512 KiB units: 1 MiB at 3 MiB, 2 MiB at 20 MiB,
# 512 KiB at 40 MiB and at 63.5 MiB (the end).
for at in 6:2 40:4 80:1 127:1; do
	dd if=/dev/urandom of="$T/src.img" bs=512K seek="${at%:*}" \
	    count="${at#*:}" conv=notrunc status=none
done
want=$(sha_of "$T/src.img")
nbd_write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" src size=64M nbd=plain
add_export "$T/netdisk.conf" dst size=64M nbd=plain
nbd_start "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY

tap_is "the source holds 4 MiB of data" \
    "$(($(tr -d '\0' <"$T/src.img" | wc -c) > 3 * mib))" 1

# read_bytes EXPORT: what netdiskd has read for it so far.
read_bytes() {
	netdiskctl status -s "$ND_CTL" --json |
	    jq -r ".exports[] | select(.name == \"$1\") | .read_bytes"
}

# old_data: the destination export full of random data, so that holes
# must be written as zeroes.
old_data() {
	head -c "$size" /dev/urandom >"$T/dst.img"
}

# copy_case NAME SRC DST OUT: copy, then the copy is the source, and the
# source's export read at most $most bytes.  Three TAP lines.
copy_case() {
	local name=$1 src=$2 dst=$3 out=$4 before after

	before=$(read_bytes src)
	tap_status "$name" 0 netdiskctl copy --no-progress "$src" "$dst"
	tap_is "... bit for bit" "$(sha_of "$out")" "$want"
	after=$(read_bytes src)
	tap_ok "... the server read $((after - before)) bytes of $size" \
	    test $((after - before)) -ge "$data" -a $((after - before)) -le "$most"
}

copy_case "copy netdisk:// to a file" "$(uri src)" "$T/down" "$T/down"
if fs_supports_holes "$T"; then
	sync "$T/down"
	tap_ok "... which keeps the holes ($(allocated "$T/down") bytes allocated)" \
	    test "$(allocated "$T/down")" -le $((8 * mib))
else
	tap_skip "... which keeps the holes" "$T does not keep holes"
fi
old_data
copy_case "copy netdisk:// to netdisk:// (old data in the destination)" \
    "$(uri src)" "$(uri dst)" "$T/dst.img"
rm -f "$T/down"
copy_case "copy nbd:// to a file" "$(nbd_uri src)" "$T/down" "$T/down"
old_data
copy_case "copy nbd:// to nbd:// (old data in the destination)" \
    "$(nbd_uri src)" "$(nbd_uri dst)" "$T/dst.img"
old_data
copy_case "copy nbd:// to netdisk://" "$(nbd_uri src)" "$(uri dst)" \
    "$T/dst.img"

# A client that does not ask: netdiskctl info refuses a ServerHello with
# a flag that answers an option it did not send, so it would fail here.
tap_status "info does not ask for block status, and is not told" 0 \
    netdiskctl info --json "$(uri src)"
tap_ok "... and the copies above left no errors in the statistics" \
    test "$(netdiskctl status -s "$ND_CTL" --json |
        jq '[.exports[].errors] | add')" = 0

# qemu-nbd: another server with base:allocation.  Its trace of simple
# replies counts what it read (the query connection's replies are
# structured, the data connection's simple).
if ! command -v qemu-nbd >/dev/null 2>&1; then
	for i in 1 2 3; do
		tap_skip "qemu-nbd check $i" "no qemu-nbd"
	done
	exit 0
fi
qport=$(free_port) || bail_out "no free TCP port"
cp --sparse=always "$T/src.img" "$T/q.img"
qemu-nbd -f raw -r -b 127.0.0.1 -p "$qport" -x q -t -e 4 \
    -T nbd_co_send_simple_reply "$T/q.img" >"$T/qemu-nbd.log" 2>&1 &
track_pid $!
wait_listening "$qport" 10 || bail_out "qemu-nbd does not listen"
rm -f "$T/down"
tap_status "copy qemu-nbd's export to a file" 0 \
    netdiskctl copy --no-progress "nbd://127.0.0.1:$qport/q" "$T/down"
tap_is "... bit for bit" "$(sha_of "$T/down")" "$want"
qread=$(awk -F'len = ' '/nbd_co_send_simple_reply/ { s += $2 } END { print s + 0 }' \
    "$T/qemu-nbd.log")
if grep -q nbd_co_send_simple_reply "$T/qemu-nbd.log"; then
	tap_ok "... qemu-nbd read $qread bytes of $size" \
	    test "$qread" -ge "$data" -a "$qread" -le "$most"
else
	tap_skip "... qemu-nbd read few bytes" "qemu-nbd has no trace log"
fi
