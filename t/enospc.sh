#!/bin/bash
# SPDX-License-Identifier: ISC
# A sparse backing file on a full file system (a 2 MiB tmpfs under a
# 4 MiB export): a write that finds no space fails with ENOSPC, and that
# is all: FLUSH and FUA writes go on working, the export does not fail,
# another export is untouched, and once space is freed (a TRIM) writes
# work again.  The real kernel's ENOSPC, no shim.  Needs root (mount).
. "$(dirname "$0")/functions.sh"

mnt="$T/small"
mkdir "$mnt"
if test "$(id -u)" -ne 0 ||
    ! mount -t tmpfs -o size=2M netdisk-test "$mnt" 2>/dev/null; then
	echo "1..0 # SKIP needs root to mount a small tmpfs"
	exit 0
fi
trap 'test -n "$ND_PID" && stop_netdiskd; umount "$mnt"; nd_cleanup' EXIT

tap_plan 12

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" small size=4M "path=$mnt/small.img"
add_export "$T/netdisk.conf" other size=4M
start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY
u=$(uri small)
random_file "$T/a" $((3 * 1048576))
random_file "$T/b" 65536

tap_status "3 MiB into 2 MiB of space: exit 10" 10 netdiskctl write "$u" 0 <"$T/a"
tap_like "... No space left" "$(cat "$T/err")" 'space'
tap_ok "FLUSH still works" netdiskctl flush "$u"
tap_status "a FUA write into the full file system fails too" 10 \
    netdiskctl write --fua "$u" $((3 * 1048576)) <"$T/b"
tap_ok "... and FLUSH still works after it" netdiskctl flush "$u"
netdiskctl status -s "$ND_CTL" --json >"$T/json"
tap_like "status: the export has not failed" "$(cat "$T/json")" \
    '"name":"small"[^}]*"failed":null'
tap_ok "the other export takes a FUA write" \
    netdiskctl write --fua "$(uri other)" 0 <"$T/b"
tap_ok "TRIM frees the space" netdiskctl trim "$u" 0 4M
tap_ok "a FUA write works again" netdiskctl write --fua "$u" 0 <"$T/b"
netdiskctl read "$u" 0 65536 >"$T/back" 2>"$T/err"
tap_is "... and reads back" "$(sha_of "$T/back")" "$(sha_of "$T/b")"
tap_ok "FLUSH works" netdiskctl flush "$u"
tap_is "no failure was logged" \
    "$(grep -c 'export "small": failed:' "$ND_LOG")" 0
