#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl with nbd:// URIs: info, read, write, copy and bench over
# netdiskd's NBD listener without a key; copies between NBD and netdisk
# exports, and to and from another NBD server (qemu-nbd); the errors
# name the problem (unknown export, not an NBD server, read-only, attach).
. "$(dirname "$0")/functions.sh"
. "$top_srcdir/t/nbd/nbd.sh"

mib=1048576

tap_plan 29

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
random_file "$T/image" $((16 * mib))
dd if=/dev/zero of="$T/image" bs=$mib seek=5 count=2 conv=notrunc \
    status=none
want=$(sha_of "$T/image")
truncate -s 16M "$T/disk.img" "$T/other.img"
random_file "$T/ro.img" $((4 * mib))
nbd_write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=16M nbd=plain
add_export "$T/netdisk.conf" other size=16M
add_export "$T/netdisk.conf" ro readonly=yes nbd=plain
add_export "$T/netdisk.conf" hidden size=1M
nbd_start "$T/netdisk.conf"
unset NETDISK_KEYFILE

netdiskctl info --json "$(nbd_uri disk)" >"$T/info" 2>"$T/err"
tap_is "info nbd://: no key needed" "$?" 0 || tap_diag_file "$T/err"
tap_is "... the size" "$(json_field size <"$T/info")" $((16 * mib))
tap_is "... writable" "$(json_field readonly <"$T/info")" false

tap_status "write nbd://: the image at offset 0" 0 \
    netdiskctl write "$(nbd_uri disk)" 0 <"$T/image"
tap_is "... the backing file has it" "$(sha_of "$T/disk.img")" "$want"
netdiskctl read "$(nbd_uri disk)" 1M 3M >"$T/part" 2>"$T/err"
tap_is "read nbd:// 3 MiB at 1 MiB" "$(sha_of "$T/part")" \
    "$(sha_of "$T/image" $mib $((3 * mib)))"

tap_status "copy nbd:// to a file" 0 \
    netdiskctl copy --no-progress "$(nbd_uri disk)" "$T/down"
tap_is "... bit for bit" "$(sha_of "$T/down")" "$want"
tap_status "copy nbd:// to netdisk:// (the netdisk export, with the key)" 0 \
    netdiskctl copy --no-progress -k "$ND_KEY" "$(nbd_uri disk)" \
    "$(uri other)"
tap_is "... bit for bit" "$(sha_of "$T/other.img")" "$want"
truncate -s 0 "$T/disk.img"
truncate -s 16M "$T/disk.img"
tap_status "copy netdisk:// to nbd://" 0 \
    netdiskctl copy --no-progress -k "$ND_KEY" "$(uri other)" \
    "$(nbd_uri disk)"
tap_is "... bit for bit" "$(sha_of "$T/disk.img")" "$want"

netdiskctl bench --rw randwrite --bs 4K --qd 16 --time 1 --destructive \
    "$(nbd_uri disk)" >"$T/bench" 2>"$T/err"
tap_is "bench nbd:// (random writes)" "$?" 0 ||
    tap_diag_file "$T/err"
tap_like "... with no errors" "$(cat "$T/bench")" \
    '^rw=randwrite bs=4096 qd=16 conns=1 time=[0-9.]+s: [1-9][0-9]* IOPS'

netdiskctl info "$(nbd_uri nosuch)" >/dev/null 2>"$T/err"
tap_is "an unknown NBD export: exit 4" "$?" 4
tap_like "... the message names it" "$(cat "$T/err")" \
    'no NBD export "nosuch"'
netdiskctl info "$(nbd_uri hidden)" >/dev/null 2>"$T/err"
tap_is "an export without nbd: the same" "$?" 4
netdiskctl info "nbd://127.0.0.1:$ND_PORT/disk" >/dev/null 2>"$T/err"
tap_is "nbd:// to netdisk's own port: exit 9" "$?" 9
tap_like "... not an NBD server" "$(cat "$T/err")" "not an NBD server"
netdiskctl write "$(nbd_uri ro)" 0 </dev/zero >/dev/null 2>"$T/err" &
wait $!
tap_is "a write to a read-only NBD export: exit 7" "$?" 7
netdiskctl attach "$(nbd_uri disk)" >/dev/null 2>"$T/err"
tap_is "attach nbd://: refused, exit 2" "$?" 2
tap_like "... pointing at nbd-client" "$(cat "$T/err")" "nbd-client"

# Another NBD server: qemu-nbd, the same client commands.
if ! command -v qemu-nbd >/dev/null 2>&1; then
	for i in 1 2 3 4; do
		tap_skip "qemu-nbd check $i" "no qemu-nbd"
	done
	exit 0
fi
qport=$(free_port) || bail_out "no free TCP port"
truncate -s 16M "$T/q.img"
qemu-nbd -f raw -b 127.0.0.1 -p "$qport" -x q -t -e 4 "$T/q.img" \
    >"$T/qemu-nbd.log" 2>&1 &
track_pid $!
wait_listening "$qport" 10 || bail_out "qemu-nbd does not listen"
tap_status "copy netdisk:// to qemu-nbd's export" 0 \
    netdiskctl copy --no-progress -k "$ND_KEY" "$(uri other)" \
    "nbd://127.0.0.1:$qport/q"
tap_is "... bit for bit" "$(sha_of "$T/q.img")" "$want"
netdiskctl read "nbd://127.0.0.1:$qport/q" 0 16M >"$T/qread" 2>"$T/err"
tap_is "read qemu-nbd's export" "$(sha_of "$T/qread")" "$want"
# A server of one client at a time (qemu-nbd without -e): the copy's
# extra connection for block status gives up after 5 s and reads all.
q1port=$(free_port) || bail_out "no free TCP port"
qemu-nbd -f raw -r -b 127.0.0.1 -p "$q1port" -x q -t "$T/q.img" \
    >"$T/qemu-nbd1.log" 2>&1 &
track_pid $!
wait_listening "$q1port" 10 || bail_out "qemu-nbd (one client) does not listen"
tap_status "copy from a one-client NBD server (qemu-nbd -e 1)" 0 \
    timeout 60 netdiskctl copy --no-progress "nbd://127.0.0.1:$q1port/q" \
    "$T/q1down"
tap_is "... bit for bit" "$(sha_of "$T/q1down")" "$want"
tap_ok "netdiskd is still up" pid_alive "$ND_PID"
