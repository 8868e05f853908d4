#!/bin/bash
# SPDX-License-Identifier: ISC
# TRIM and WRITE_ZEROES: the ranges read back as zeros, their neighbours
# keep their data, and a trimmed range becomes a hole in the backing file.
. "$(dirname "$0")/functions.sh"

mib=1048576
size=$((4 * mib))

tap_plan 16

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s 4M "$T/disk.img"
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=4M
start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY
u=$(uri disk)

# expect_zero FILE OFFSET LENGTH: the model of the export gets zeros.
expect_zero() {
	dd if=/dev/zero of="$1" bs=512 seek=$(($2 / 512)) count=$(($3 / 512)) \
	    conv=notrunc status=none
}

random_file "$T/model" "$size"
tap_status "fill the export with random data" 0 netdiskctl write "$u" 0 <"$T/model"
sync "$T/disk.img"
before=$(allocated "$T/disk.img")

# TRIM 512 KiB at 1 MiB.
toff=$mib tlen=$((512 * 1024))
tap_status "trim 512K at 1M" 0 netdiskctl trim "$u" "$toff" "$tlen"
expect_zero "$T/model" "$toff" "$tlen"
netdiskctl read "$u" "$toff" "$tlen" >"$T/back" 2>"$T/err"
tap_is "the trimmed range reads back as zeros" "$(sha_of "$T/back")" "$(sha_zero "$tlen")"
netdiskctl read "$u" $((toff - 4096)) $((tlen + 8192)) >"$T/back" 2>"$T/err"
tap_is "the blocks around the trimmed range are intact" "$(sha_of "$T/back")" \
    "$(sha_of "$T/model" $((toff - 4096)) $((tlen + 8192)))"
if fs_supports_holes "$T"; then
	sync "$T/disk.img"
	after=$(allocated "$T/disk.img")
	tap_ok "the backing file has a hole after trim ($before -> $after bytes allocated)" \
	    test $((before - after)) -ge "$tlen"
else
	tap_skip "the backing file has a hole after trim" "$T cannot punch holes"
fi

# WRITE_ZEROES of an odd-sized range at an odd (512-aligned) offset.
zoff=$((2 * mib + 512)) zlen=$((64 * 1024 + 1536))
tap_status "zero 65.5K at 2M+512" 0 netdiskctl zero "$u" "$zoff" "$zlen"
expect_zero "$T/model" "$zoff" "$zlen"
netdiskctl read "$u" "$zoff" "$zlen" >"$T/back" 2>"$T/err"
tap_is "the zeroed range reads back as zeros" "$(sha_of "$T/back")" "$(sha_zero "$zlen")"
netdiskctl read "$u" $((zoff - 512)) 512 >"$T/back" 2>"$T/err"
tap_is "the block before the zeroed range is intact" "$(sha_of "$T/back")" \
    "$(sha_of "$T/model" $((zoff - 512)) 512)"
netdiskctl read "$u" $((zoff + zlen)) 512 >"$T/back" 2>"$T/err"
tap_is "the block after the zeroed range is intact" "$(sha_of "$T/back")" \
    "$(sha_of "$T/model" $((zoff + zlen)) 512)"

# A single block at the very end, and a range larger than max_payload.
tap_status "trim the last block" 0 netdiskctl trim "$u" $((size - 512)) 512
expect_zero "$T/model" $((size - 512)) 512
tap_status "zero 1.5M (more than max_payload) at 0" 0 \
    netdiskctl zero "$u" 0 $((mib + mib / 2))
expect_zero "$T/model" 0 $((mib + mib / 2))
netdiskctl read "$u" 0 "$size" >"$T/back" 2>"$T/err"
tap_is "the whole export matches the model" "$(sha_of "$T/back")" "$(sha_of "$T/model")"
tap_is "the backing file matches the model" "$(sha_of "$T/disk.img")" "$(sha_of "$T/model")"

tap_status "trim the whole export" 0 netdiskctl trim "$u" 0 "$size"
netdiskctl read "$u" 0 "$size" >"$T/back" 2>"$T/err"
tap_is "the whole export reads as zeros" "$(sha_of "$T/back")" "$(sha_zero "$size")"

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
