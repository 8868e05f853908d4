#!/bin/bash
# SPDX-License-Identifier: ISC
# nbd.sh - Linux's own NBD client against netdiskd's NBD listener: in a
# guest of each kernel series, Debian's nbd-client (copied from the host
# with its libraries) and the kernel's nbd.ko connect through QEMU's
# user-mode network to a netdiskd running here, on the host (10.0.2.2 in
# the guest is the host's 127.0.0.1), with nbd_listen and three exports
# with "nbd = plain": disk (ext4 made, written, read back after a
# disconnect and a fresh connection, e2fsck -fn), raw (fio --verify over
# two connections, a known pattern written with dd) and ro (read-only:
# the device is read-only, writes fail, the data is the file's), beside
# an export without nbd that nbd-client cannot see or open.  The checks
# in the guest are in guest-nbd.sh; here, after each guest: netdiskd's
# log shows the NBD sessions, the backing files hold what the guest
# wrote (the pattern's sha256 at its offset in raw.img, e2fsck -fn of
# disk.img and every file read out of it with debugfs), ro.img is
# unchanged.  A netdiskd of its own for each series.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

MIB=1048576
PAT_OFF=40	# MiB: where the guest writes the pattern in raw

kt_start nbd-client mkfs.ext4 e2fsck fio
NBD_PORT=$(free_port) || bail_out "no free TCP port"
while test "$NBD_PORT" = "$ND_PORT"; do
	NBD_PORT=$(free_port) || bail_out "no free TCP port"
done
make_key "$ND_KEY" || bail_out "netdiskctl genkey -o $ND_KEY failed"

# The files the guest copies into ext4 on disk, and its pattern for raw.
mkdir -p "$T/data" || bail_out "cannot make $T/data"
random_file "$T/data/f1" $((4 * MIB))
random_file "$T/data/f2" $((MIB + 4097))
random_file "$T/data/f3" 16384
random_file "$T/pattern" $MIB
files=(nbd-client=/usr/sbin/nbd-client mkfs.ext4=/sbin/mkfs.ext4
    e2fsck=/sbin/e2fsck fio "$T/pattern=/pattern.bin")
for f in f1 f2 f3; do
	files+=("$T/data/$f=/data/$f")
done
test -f /etc/mke2fs.conf && files+=(/etc/mke2fs.conf)
KT_MODULES="nbd virtio_pci virtio_net"

# server SERIES: fresh backing files in $T/SERIES, netdisk.conf with the
# NBD listener, netdiskd started with its log in $T/netdiskd-SERIES.log.
server() {
	local d=$T/$1 conf=$T/$1/netdisk.conf

	mkdir -p "$d" || bail_out "cannot make $d"
	random_file "$d/ro.img" $((8 * MIB))
	ro_sha=$(sha_of "$d/ro.img")
	write_conf "$conf" "nbd_listen=127.0.0.1:$NBD_PORT"
	add_export "$conf" disk path="$d/disk.img" size=128M nbd=plain \
	    "description=ext4 from the guest"
	add_export "$conf" raw path="$d/raw.img" size=64M nbd=plain
	add_export "$conf" ro path="$d/ro.img" readonly=yes nbd=plain
	add_export "$conf" hidden path="$d/hidden.img" size=1M
	start_netdiskd "$conf" "$T/netdiskd-$1.log"
	wait_listening "$NBD_PORT" 10 ||
	    bail_out "netdiskd does not listen for NBD on 127.0.0.1:$NBD_PORT"
}

# log_has SERIES DESC N ERE: a TAP line, N lines matching ERE in
# netdiskd's log.
log_has() {
	local n

	n=$(grep -Ec -- "$4" "$T/netdiskd-$1.log")
	if test "$n" = "$3"; then
		tap_pass "$1: $2"
	else
		tap_fail "$1: $2" "$n lines, not $3, match: $4"
		tap_diag_file "$T/netdiskd-$1.log"
	fi
}

# host_checks SERIES: what the guest left in netdiskd's log and files.
host_checks() {
	local s=$1 d=$T/$1 f

	tap_ok "$s: netdiskd exits 0 on SIGTERM" stop_netdiskd
	log_has "$s" "netdiskd's log: 2 NBD sessions of disk (netlink, -L)" 2 \
	    '^netdiskd: 127\.0\.0\.1:[0-9]+: NBD: export "disk"$'
	log_has "$s" "... 2 of raw (nbd-client -C 2)" 2 \
	    '^netdiskd: 127\.0\.0\.1:[0-9]+: NBD: export "raw"$'
	log_has "$s" "... 1 of ro, read-only" 1 \
	    '^netdiskd: 127\.0\.0\.1:[0-9]+: NBD: export "ro" read-only$'
	log_has "$s" "... nosuch refused as unknown" 1 \
	    ': NBD: unknown export "nosuch"$'
	log_has "$s" "... hidden (nbd = no) refused as unknown" 1 \
	    ': NBD: unknown export "hidden"$'
	log_has "$s" "... the 5 sessions ended by the client (NBD_CMD_DISC)" 5 \
	    '^netdiskd: 127\.0\.0\.1:[0-9]+: closed: client disconnected$'
	log_has "$s" "... no warning or error" 0 '[Ww]arn|[Ee]rror|[Ff]atal|[Ff]ailed'
	tap_is "$s: raw.img holds the guest's pattern at $PAT_OFF MiB" \
	    "$(sha_of "$d/raw.img" $((PAT_OFF * MIB)) $MIB)" "$(sha_of "$T/pattern")"
	tap_is "$s: ro.img unchanged" "$(sha_of "$d/ro.img")" "$ro_sha"
	tap_ok "$s: e2fsck -fn disk.img (the guest's ext4, on the host)" \
	    e2fsck -fn "$d/disk.img"
	if ! command -v debugfs >/dev/null 2>&1; then
		tap_skip "$s: the guest's files in disk.img" "no debugfs"
		return
	fi
	for f in f1 f2 f3; do
		rm -f "$T/dump"
		debugfs -R "dump /d/$f $T/dump" "$d/disk.img" >/dev/null 2>&1
		tap_is "$s: disk.img: /d/$f (debugfs) is the file the guest copied" \
		    "$(test -f "$T/dump" && sha_of "$T/dump")" "$(sha_of "$T/data/$f")"
	done
}

series=("${KT_SERIES[@]}")
for s in "${series[@]}"; do
	server "$s"
	KT_SERIES=("$s")
	kt_done=""
	kt_run_all guest-nbd.sh 240 -n -a "nbdport=$NBD_PORT rosha=$ro_sha" -- \
	    "${files[@]}"
	if test -n "$kt_done"; then
		host_checks "$s"
	else
		stop_netdiskd TERM
		tap_fail "$s: the host's checks: no guest ran"
	fi
done
kt_end
