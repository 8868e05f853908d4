#!/bin/bash
# SPDX-License-Identifier: ISC
# Unaligned and out-of-range requests are refused (exit 8); a read-only
# export refuses every kind of write (exit 7) and keeps its data.
. "$(dirname "$0")/functions.sh"

size=$((4 * 1048576))

tap_plan 25

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
random_file "$T/disk.img" "$size"
random_file "$T/ro.img" "$size"
disk_sha=$(sha_of "$T/disk.img")
ro_sha=$(sha_of "$T/ro.img")
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=4M
add_export "$T/netdisk.conf" ro size=4M readonly=yes
start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY
u=$(uri disk)
r=$(uri ro)

head -c 100 /dev/urandom >"$T/d100"
head -c 512 /dev/urandom >"$T/d512"
head -c 1024 /dev/urandom >"$T/d1024"

tap_status "write of 100 bytes (not a multiple of 512): exit 8" 8 \
    netdiskctl write "$u" 0 <"$T/d100"
tap_like "the unaligned write is explained on stderr" "$(cat "$T/err")" '[0-9]'
tap_status "write at an unaligned offset: exit 8" 8 \
    netdiskctl write "$u" 100 <"$T/d512"
# Reads need no alignment: the covering blocks are read and cut.
netdiskctl read "$u" 0 100 >"$T/back" 2>"$T/err"
tap_is "read of an unaligned length returns exactly those bytes (status $?)" \
    "$(sha_of "$T/back")" "$(head -c 100 "$T/disk.img" | sha256sum | cut -d' ' -f1)"
netdiskctl read "$u" 1000 1500 >"$T/back" 2>"$T/err"
tap_is "read at an unaligned offset returns exactly those bytes (status $?)" \
    "$(sha_of "$T/back")" \
    "$(tail -c +1001 "$T/disk.img" | head -c 1500 | sha256sum | cut -d' ' -f1)"
tap_status "unaligned read crossing the end: exit 8" 8 \
    netdiskctl read "$u" $((size - 100)) 101
tap_status "read at the end of the export: exit 8" 8 \
    netdiskctl read "$u" "$size" 512
tap_status "read crossing the end of the export: exit 8" 8 \
    netdiskctl read "$u" $((size - 512)) 1024
tap_status "read far beyond the end: exit 8" 8 netdiskctl read "$u" 1G 512
tap_status "write at the end of the export: exit 8" 8 \
    netdiskctl write "$u" "$size" <"$T/d512"
tap_status "write crossing the end of the export: exit 8" 8 \
    netdiskctl write "$u" $((size - 512)) <"$T/d1024"
tap_status "trim crossing the end of the export: exit 8" 8 \
    netdiskctl trim "$u" $((size - 512)) 1024
tap_status "zero crossing the end of the export: exit 8" 8 \
    netdiskctl zero "$u" $((size - 512)) 1024
tap_is "the refused requests left the export unchanged" \
    "$(sha_of "$T/disk.img")" "$disk_sha"
tap_status "a read of the last block still works" 0 \
    netdiskctl read "$u" $((size - 512)) 512

tap_status "read-only export: write exits 7" 7 netdiskctl write "$r" 0 <"$T/d512"
tap_like "read-only export: message" "$(cat "$T/err")" 'export is read-only'
tap_status "read-only export: write --fua exits 7" 7 \
    netdiskctl write --fua "$r" 4096 <"$T/d1024"
tap_status "read-only export: trim exits 7" 7 netdiskctl trim "$r" 0 1M
tap_status "read-only export: zero exits 7" 7 netdiskctl zero "$r" 1M 1M
tap_is "read-only export: backing file unchanged" "$(sha_of "$T/ro.img")" "$ro_sha"
netdiskctl read "$r" 0 "$size" >"$T/back" 2>"$T/err"
tap_is "read-only export: read works (status $?)" \
    "$(sha_of "$T/back")" "$ro_sha"
netdiskctl info --json "$r" >"$T/info.json" 2>"$T/err"
tap_is "read-only export: info --json says readonly" \
    "$(json_field readonly <"$T/info.json")" true
tap_status "read-only export: flush is allowed" 0 netdiskctl flush "$r"

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
