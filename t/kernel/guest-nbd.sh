# SPDX-License-Identifier: ISC
# guest-nbd.sh - the guest side of t/kernel/nbd.sh (busybox sh)
#
# Debian's nbd-client (/usr/sbin/nbd-client) and the kernel's nbd.ko
# against the host's netdiskd (10.0.2.2, its NBD port in nbdport= on the
# kernel command line) over a virtio-net card on QEMU's user-mode
# network: the export list (disk, raw and ro; not hidden, which has no
# nbd); disk on /dev/nbd0 through netlink with 4 KiB blocks: ext4 made,
# the files of /data copied in, unmounted, disconnected, the caches
# dropped, connected again through the ioctls (-L), e2fsck -fn, every
# file's sha256 as written; raw on /dev/nbd1 over 2 connections: fio
# --verify=crc32c, then /pattern.bin written with O_DIRECT at 40 MiB and
# read back (the host compares raw.img); ro on /dev/nbd2: a read-only
# device whose data is the file's (rosha= on the command line) and whose
# writes fail; unknown exports (nosuch, hidden) refused with no device
# left connected; no I/O error in the kernel log.
# Results as guest-lib.sh describes.

. /guest-lib.sh

HOST=10.0.2.2
MIB=1048576
PAT_OFF=40	# MiB, as in nbd.sh
FIO="fio --name=nbd --filename=/dev/nbd1 --direct=1 --ioengine=libaio
	--bs=16k --iodepth=16 --size=24M --eta=never --output=$W/fio.out"
VERIFY="--verify=crc32c --verify_fatal=1 --do_verify=1"

# param NAME: the value of NAME= on the kernel command line.
param() {
	tr ' ' '\n' </proc/cmdline | sed -n "s/^$1=//p"
}

eth_up() {
	ip -4 addr show dev eth0 2>/dev/null | grep -q 10.0.2.15
}

# connected DEV: nbd.ko has a size for DEV (a connection configured).
nbd_connected() {
	test "$(cat "/sys/block/$1/size" 2>/dev/null)" -gt 0 2>/dev/null
}

nbd_disconnected() {
	! nbd_connected "$1"
}

# nbd_state DEV: what the diagnostics show of a device.
nbd_state() {
	echo "$1: size $(cat "/sys/block/$1/size" 2>/dev/null)," \
	    "pid $(cat "/sys/block/$1/pid" 2>/dev/null)," \
	    "ro $(cat "/sys/block/$1/ro" 2>/dev/null)"
}

# ran_and SECONDS CMD...: the last run exited 0, and CMD succeeds within
# SECONDS.
ran_and() {
	test $st = 0 && wait_until "$@"
}

# refused DEV: the last run failed, and DEV has no connection.
refused() {
	test $st != 0 && nbd_disconnected "$1"
}

# connect DEV EXPORT DESC [OPTION...]: nbd-client to EXPORT on /dev/DEV.
connect() {
	local dev=$1 e=$2 d=$3

	shift 3
	run nbd-client $HOST "$port" "/dev/$dev" -N "$e" "$@"
	check "nbd-client -N $e${*:+ $*} /dev/$dev: $d" ran_and 10 nbd_connected "$dev" ||
	    { show; diag "$(nbd_state "$dev")"; return 1; }
}

# disconnect DEV: nbd-client -d and the device's size back to 0.
disconnect() {
	run nbd-client -d "/dev/$1"
	check "nbd-client -d /dev/$1: disconnected" ran_and 10 nbd_disconnected "$1" ||
	    { show; diag "$(nbd_state "$1")"; }
}

# sha_dev DEV OFFSET_MIB COUNT_MIB: sha256 of a range, read with O_DIRECT.
sha_dev() {
	dd if="$1" bs=1M skip="$2" count="$3" iflag=direct 2>/dev/null |
	    sha256sum | cut -d' ' -f1
}

sha() {
	sha256sum <"$1" | cut -d' ' -f1
}

# files_match: every file of /data is in /mnt/d with its sha256.
files_match() {
	local f bad=""

	for f in /data/*; do
		test "$(sha "$f")" = "$(sha "/mnt/d/${f##*/}" 2>/dev/null)" ||
		    bad="$bad ${f##*/}"
	done
	test -z "$bad" && return 0
	diag "differ or missing:$bad"
	return 1
}

mkdir -p $W /mnt && cd $W || exit 1
echo 30 >/proc/sys/kernel/hung_task_timeout_secs
port=$(param nbdport)
rosha=$(param rosha)
test -n "$port" || bail "no nbdport= on the kernel command line"
modprobe virtio_pci && modprobe virtio_net ||
    bail "cannot load virtio_pci and virtio_net"
wait_until 10 test -e /sys/class/net/eth0 || bail "no eth0"
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
check "eth0 is up with 10.0.2.15 (QEMU's user-mode network)" eth_up ||
    bail "no network"
run modprobe nbd
check "modprobe nbd: /dev/nbd0" test $st = 0 -a -b /dev/nbd0 ||
    { show; bail "no nbd"; }
diag "nbd-client: $(nbd-client -V 2>&1 | head -n 1)"
log_mark

# ---- the export list
run nbd-client -l $HOST "$port"
is "nbd-client -l: the exports with nbd (disk raw ro, not hidden)" \
    "$(echo "$out" | grep -v '^Negotiation' | cut -d: -f1 | sort | tr '\n' ' ')" \
    "disk raw ro " || show
like "... with disk's description" "$out" '^disk: ext4 from the guest$'

# ---- disk: ext4 through netlink, read back through the ioctls
connect nbd0 disk "netlink, 4 KiB blocks" -b 4096 || bail "no /dev/nbd0"
is "... 128 MiB, 4096-byte logical blocks, writable" \
    "$(blockdev --getsize64 /dev/nbd0) $(cat /sys/block/nbd0/queue/logical_block_size) $(blockdev --getro /dev/nbd0)" \
    "$((128 * MIB)) 4096 0"
diag "$(nbd_state nbd0); nbd-client -c: $(nbd-client -c /dev/nbd0 2>&1)"
t0=$(now)
run mkfs.ext4 -q -F /dev/nbd0
check "mkfs.ext4 /dev/nbd0 ($(since "$t0") s)" test $st = 0 || show
run mount -t ext4 /dev/nbd0 /mnt
check "mount" test $st = 0 || { show; bail "no file system"; }
mkdir /mnt/d
t0=$(now)
run cp /data/f1 /data/f2 /data/f3 /mnt/d/
sync
check "copy $(ls /data | wc -l) files ($(du -sk /data | cut -f1) KiB) into it, sync ($(since "$t0") s)" \
    test $st = 0 || show
run umount /mnt
check "umount" test $st = 0 || show
disconnect nbd0
echo 3 >/proc/sys/vm/drop_caches
connect nbd0 disk "the ioctls (-L), 4 KiB blocks" -b 4096 -L ||
    bail "no /dev/nbd0"
pid=$(cat /sys/block/nbd0/pid 2>/dev/null)
check "... nbd-client stays in NBD_DO_IT (/sys/block/nbd0/pid ${pid:-missing})" \
    alive "${pid:-0}"
run e2fsck -fn /dev/nbd0
check "e2fsck -fn: clean" test $st = 0 || { show; diag_file $W/run.out; }
run mount -t ext4 /dev/nbd0 /mnt
check "mount again" test $st = 0 || show
check "every file read back with its sha256" files_match
run umount /mnt
check "umount" test $st = 0 || show
disconnect nbd0
test -n "$pid" && wait_until 10 not_alive "$pid"
check "... nbd-client of -L exited" not_alive "${pid:-0}"

# ---- raw: fio over 2 connections, a pattern for the host
connect nbd1 raw "netlink, 2 connections" -C 2 || bail "no /dev/nbd1"
is "... 64 MiB, 2 hardware queues" \
    "$(blockdev --getsize64 /dev/nbd1) $(ls /sys/block/nbd1/mq | wc -l)" \
    "$((64 * MIB)) 2"
t0=$(now)
# shellcheck disable=SC2086
$FIO $VERIFY --rw=randwrite >$W/fio.log 2>&1
st=$?
check "fio --verify=crc32c randwrite 24 MiB, O_DIRECT ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
run dd if=/pattern.bin of=/dev/nbd1 bs=1M seek=$PAT_OFF count=1 oflag=direct conv=fsync
check "dd /pattern.bin at $PAT_OFF MiB, O_DIRECT" test $st = 0 || show
is "... read back with O_DIRECT" "$(sha_dev /dev/nbd1 $PAT_OFF 1)" \
    "$(sha /pattern.bin)"
disconnect nbd1

# ---- ro: a read-only device
connect nbd2 ro "read-only export" || bail "no /dev/nbd2"
is "... 8 MiB, read-only" \
    "$(blockdev --getsize64 /dev/nbd2) $(blockdev --getro /dev/nbd2)" \
    "$((8 * MIB)) 1"
is "... the data is ro.img's (sha256)" "$(sha_dev /dev/nbd2 0 8)" "$rosha"
run dd if=/dev/zero of=/dev/nbd2 bs=4096 count=1 oflag=direct
like "... a write fails" "$st $err" \
    '^[1-9][0-9]* .*(Operation not permitted|Read-only|Permission denied)' ||
    show
diag "dd's error: $err"
run mkfs.ext4 -q -F /dev/nbd2
check "... mkfs.ext4 fails" test $st != 0 || show
disconnect nbd2

# ---- exports NBD does not see
for e in nosuch hidden; do
	run nbd-client $HOST "$port" /dev/nbd3 -N "$e"
	check "nbd-client -N $e: refused, /dev/nbd3 not connected" \
	    refused nbd3 || show
	diag "nbd-client -N $e: exit $st: $(echo "$err" | tr '\n' ' ')"
done

log_since >$W/klog
check "no I/O error or nbd failure in the kernel log" \
    test -z "$(grep -Ei 'I/O error|EXT4-fs (error|warning)|timed out|Receive control failed|Dead connection|Send control failed|Unexpected reply' $W/klog)" ||
    diag_file $W/klog 30
diag "nbd's kernel log lines:" "$(grep -i nbd $W/klog | head -n 20)"
finish
