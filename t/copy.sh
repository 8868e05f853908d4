#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl copy: a 64 MiB image up to an export and back down again,
# bit for bit; zeros come back as holes; a too-small export is refused.
. "$(dirname "$0")/functions.sh"

mib=1048576
size=$((64 * mib))
zeros="0 5 17 18 40 63"		# MiB-sized regions left all zero

tap_plan 14

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
random_file "$T/image" "$size"
for z in $zeros; do
	dd if=/dev/zero of="$T/image" bs=$mib seek="$z" count=1 conv=notrunc \
	    status=none
done
want=$(sha_of "$T/image")
truncate -s 64M "$T/big.img"
truncate -s 32M "$T/small.img"
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" big size=64M
add_export "$T/netdisk.conf" small size=32M
start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY

tap_status "copy the image up to the export" 0 \
    netdiskctl copy --no-progress "$T/image" "$(uri big)"
tap_is "the export's backing file is the image" "$(sha_of "$T/big.img")" "$want"

tap_status "copy the export down to a file" 0 \
    netdiskctl copy --no-progress "$(uri big)" "$T/down"
tap_is "the downloaded file is the image" "$(sha_of "$T/down")" "$want"
tap_is "the downloaded file has the export's size" "$(stat -c %s "$T/down")" "$size"
# holes_in FILE MIB...: how many of the MiB-sized regions hold no extent.
holes_in() {
	local f=$1 z n holes=0

	shift
	for z in "$@"; do
		n=$(filefrag -e -b1 "$f" | awk -F'[ .:]+' \
		    -v s=$((z * mib)) -v e=$(((z + 1) * mib)) \
		    '$2 ~ /^[0-9]+$/ && $3 < e && $4 + 1 > s { c++ }
		    END { print c + 0 }')
		test "$n" = 0 && holes=$((holes + 1))
	done
	echo $holes
}

if fs_supports_holes "$T"; then
	sync "$T/down"
	alloc=$(allocated "$T/down")
	tap_ok "the downloaded file is sparse ($alloc bytes allocated of $size)" \
	    test "$alloc" -lt "$size"
	if command -v filefrag >/dev/null 2>&1; then
		tap_is "every all-zero MiB is a hole in the downloaded file" \
		    "$(holes_in "$T/down" $zeros)" "$(echo $zeros | wc -w)"
	else
		tap_skip "every all-zero MiB is a hole in the downloaded file" \
		    "filefrag not found"
	fi
else
	tap_skip "the downloaded file is sparse" "$T does not keep holes"
	tap_skip "every all-zero MiB is a hole in the downloaded file" \
	    "$T does not keep holes"
fi

tap_status "copy down again with --bs 64K --qd 16" 0 \
    netdiskctl copy --no-progress --bs 64K --qd 16 "$(uri big)" "$T/down2"
tap_is "... identical" "$(sha_of "$T/down2")" "$want"

small_before=$(sha_of "$T/small.img")
tap_status "copy to a too-small export is refused: exit 8" 8 \
    netdiskctl copy --no-progress "$T/image" "$(uri small)"
tap_like "... with a message naming the sizes or the range" "$(cat "$T/err")" \
    '[0-9]|range|size|large|small'
tap_is "... before writing anything" "$(sha_of "$T/small.img")" "$small_before"

tap_status "copy --progress works too" 0 \
    netdiskctl copy --progress --bs 1M "$T/image" "$(uri big)"

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
