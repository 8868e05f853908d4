#!/bin/bash
# SPDX-License-Identifier: ISC
# Real NBD clients against netdiskd's NBD listener: qemu-img (info,
# convert up and down, compare), nbdinfo (--list, --map of a sparse
# file), nbdcopy both ways, fio's nbd engine with crc32c verification;
# a read-only export refuses writes, an unknown or nbd = no export is
# refused with the client's "no such export" message; meanwhile the
# netdisk protocol keeps working and the daemon stays up.
# shellcheck source=functions.sh
. "$(dirname "$0")/functions.sh"
# shellcheck source=nbd/nbd.sh
. "$top_srcdir/t/nbd/nbd.sh"

requires qemu-img
requires nbdinfo
requires nbdcopy

mib=1048576
size=$((64 * mib))
zeros="0 5 17 18 40 63"		# MiB-sized regions of the image left zero

tap_plan 45

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
random_file "$T/image" "$size"
for z in $zeros; do
	dd if=/dev/zero of="$T/image" bs=$mib seek="$z" count=1 conv=notrunc \
	    status=none
done
want=$(sha_of "$T/image")
# sparse: data in [1M, 2M), [5M, 5.5M) and [15M, 16M) only.
truncate -s 16M "$T/sparse.img"
for seek_bs in 1:1M 10:512K 15:1M; do
	dd if=/dev/urandom of="$T/sparse.img" bs="${seek_bs#*:}" \
	    seek="${seek_bs%%:*}" count=1 conv=notrunc status=none
done
random_file "$T/ro.img" $((8 * mib))
ro_sha=$(sha_of "$T/ro.img")

nbd_write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=64M nbd=plain "description=qemu target"
add_export "$T/netdisk.conf" copy size=64M nbd=plain \
    "description=nbdcopy target"
add_export "$T/netdisk.conf" sparse nbd=plain
add_export "$T/netdisk.conf" scratch size=16M nbd=plain "description=for fio"
add_export "$T/netdisk.conf" ro readonly=yes nbd=plain \
    "description=read-only image"
add_export "$T/netdisk.conf" hidden size=8M nbd=no "description=netdisk only"
nbd_start "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY

# ---------------------------------------------------------------- qemu-img

tap_ok "qemu-img info $(nbd_uri disk)" \
    qemu-img info --output=json "$(nbd_uri disk)"
tap_is "... virtual-size is the export's" \
    "$(json_field virtual-size <"$T/out")" "$size"
tap_is "... format raw" "$(json_field format <"$T/out")" '"raw"'

tap_ok "qemu-img convert the image up to the export" \
    qemu-img convert -n -f raw -O raw "$T/image" "$(nbd_uri disk)"
tap_is "... the backing file is the image" "$(sha_of "$T/disk.img")" "$want"
tap_ok "qemu-img convert the export down to a file" \
    qemu-img convert -f raw -O raw "$(nbd_uri disk)" "$T/down.raw"
tap_is "... the file is the image" "$(sha_of "$T/down.raw")" "$want"
tap_ok "qemu-img compare: the image and the export are identical" \
    qemu-img compare -f raw -F raw "$T/image" "$(nbd_uri disk)"
cp "$T/image" "$T/image2"
printf 'x' | dd of="$T/image2" bs=1 seek=$((33 * mib + 7)) conv=notrunc \
    status=none
tap_status "qemu-img compare: a changed byte is found (exit 1)" 1 \
    qemu-img compare -f raw -F raw "$T/image2" "$(nbd_uri disk)"
tap_like "... at its offset" "$(cat "$T/out")" "offset $((33 * mib))"

# ---------------------------------------------------------------- nbdinfo

tap_ok "nbdinfo --list" nbdinfo --list "$(nbd_uri)"
# NAME|DESCRIPTION, a line an export, sorted.
listed=$(awk '/^export="/ { if (n != "") print n "|" d
	n = substr($0, 9, length($0) - 10); d = "" }
	/^\tdescription: / { d = substr($0, 15) }
	END { if (n != "") print n "|" d }' "$T/out" | sort | tr '\n' ' ')
tap_is "... the nbd exports with their descriptions, not the nbd = no one" \
    "$listed" "copy|nbdcopy target disk|qemu target ro|read-only image \
scratch|for fio sparse| "

tap_ok "nbdinfo --map of the sparse export" nbdinfo --map "$(nbd_uri sparse)"
# offset length type, adjacent extents of one type merged.
map=$(awk '$1 ~ /^[0-9]+$/ {
	if (n && $3 == ty && o + n == $1) { n += $2; next }
	if (n) print o, n, ty
	o = $1; n = $2; ty = $3 }
	END { if (n) print o, n, ty }' "$T/out" | tr '\n' ',')
if fs_supports_holes "$T"; then
	tap_is "... holes (3) and data (0) as in the backing file" "$map" \
	    "0 1048576 3,1048576 1048576 0,2097152 3145728 3,5242880 524288 0,\
5767168 9961472 3,15728640 1048576 0,"
else
	tap_skip "... holes (3) and data (0) as in the backing file" \
	    "$T does not keep holes"
fi

# ---------------------------------------------------------------- nbdcopy

tap_ok "nbdcopy the image up (multi-conn)" \
    nbdcopy "$T/image" "$(nbd_uri copy)"
tap_is "... the backing file is the image" "$(sha_of "$T/copy.img")" "$want"
tap_ok "nbdcopy the export down" nbdcopy "$(nbd_uri copy)" "$T/down2.raw"
tap_is "... the file is the image" "$(sha_of "$T/down2.raw")" "$want"
tap_ok "nbdcopy --connections=1 --request-size=32M (the maximum) down" \
    nbdcopy --connections=1 --request-size=$((32 * mib)) \
    "$(nbd_uri copy)" "$T/down3.raw"
tap_is "... the file is the image" "$(sha_of "$T/down3.raw")" "$want"

# ---------------------------------------------------------------- fio

# fio's nbd engine (fio built with libnbd) on one export while netdiskctl
# reads another one over the netdisk protocol.
if command -v fio >/dev/null 2>&1 &&
    fio --enghelp=nbd 2>/dev/null | grep -q uri; then
	# fio saves a verify state in its working directory unless told not
	# to: none, and that directory is $T, never the build tree.
	(cd "$T" && exec fio --name=nbd --ioengine=nbd \
	    --uri="$(nbd_uri scratch)" --rw=randrw --bs=4k --size=16M \
	    --iodepth=8 --verify=crc32c --verify_fatal=1 \
	    --verify_state_save=0 --output-format=json \
	    --output="$T/fio.json") >"$T/fio.err" 2>&1 &
	fio_pid=$!
	track_pid "$fio_pid"
else
	fio_pid=""
fi
tap_ok "meanwhile netdiskctl reads the read-only export over netdisk" \
    netdiskctl read "$(uri ro)" 0 $((8 * mib))
tap_is "... its data" "$(sha256sum <"$T/out" | cut -d' ' -f1)" "$ro_sha"
if test -n "$fio_pid"; then
	wait_pid_status "$fio_pid" 30
	tap_is "fio --ioengine=nbd --rw=randrw --verify=crc32c exits 0" $? 0 ||
	    tap_diag_file "$T/fio.err"
	tr -d ' \n\t' <"$T/fio.json" >"$T/fio.flat"
	read_b=$(grep -o '"read":{"io_bytes":[0-9]*' "$T/fio.flat" |
	    head -1 | grep -o '[0-9]*$')
	write_b=$(grep -o '"write":{"io_bytes":[0-9]*' "$T/fio.flat" |
	    head -1 | grep -o '[0-9]*$')
	tap_ok "... wrote, and read back more than it wrote (the verify)" \
	    test "${write_b:-0}" -gt 0 -a "${read_b:-0}" -ge "${write_b:-0}"
	tap_is "... no error" "$(json_field error <"$T/fio.json")" 0
	tap_is "... and no file of fio's left behind (make distcheck)" \
	    "$(ls -- *verify.state "$T"/*verify.state 2>/dev/null)" ""
else
	for d in "fio --ioengine=nbd exits 0" "... reads back" "... no error" \
	    "... and no file of fio's left behind (make distcheck)"; do
		tap_skip "$d" "fio with its nbd engine not found"
	done
fi

# ---------------------------------------------------------------- refusals

# fails CMD...: CMD exits non-zero (and is not killed by a signal).
fails() {
	local st

	"$@"
	st=$?
	test "$st" -ne 0 && test "$st" -lt 128
}

head -c $((8 * mib)) "$T/image" >"$T/image8"
tap_ok "qemu-img convert to the read-only export fails" \
    fails qemu-img convert -n -f raw -O raw "$T/image8" "$(nbd_uri ro)"
tap_like "... saying why" "$(cat "$T/err")" \
    'ermission denied|read-only|[Rr]ead only'
tap_ok "nbdcopy to the read-only export fails" \
    fails nbdcopy "$T/image8" "$(nbd_uri ro)"
tap_is "... its file is unchanged" "$(sha_of "$T/ro.img")" "$ro_sha"

for name in nosuch hidden; do
	tap_ok "qemu-img info of the export \"$name\" fails" \
	    fails qemu-img info "$(nbd_uri "$name")"
	tap_like "... Requested export not available" "$(cat "$T/err")" \
	    'Requested export not available'
	tap_ok "nbdinfo of the export \"$name\" fails" \
	    fails nbdinfo "$(nbd_uri "$name")"
	tap_like "... no such export (NBD_REP_ERR_UNKNOWN)" "$(cat "$T/err")" \
	    "has no export named '$name'|No such file or directory"
done

# ---------------------------------------------------------------- after

tap_ok "netdiskd is still running" pid_alive "$ND_PID"
tap_ok "netdiskctl reads the export over netdisk once the NBD clients left" \
    netdiskctl read "$(uri disk)" 0 "$size"
tap_is "... the image" "$(sha256sum <"$T/out" | cut -d' ' -f1)" "$want"
tap_ok "the log names the NBD connections" \
    sh -c "grep -i nbd '$ND_LOG' | grep -q '\"copy\"'"
tap_ok "no sanitizer report in the log" \
    sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$ND_LOG'"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
