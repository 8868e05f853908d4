# SPDX-License-Identifier: ISC
# guest-appliance.sh - the client guest of t/system/appliance.sh (busybox sh)
#
# A guest with netdisk.ko whose only network card is on a QEMU socket
# network (UDP over the host's loopback) that it shares with the
# appliance, 10.77.0.1 (run-guest.sh -N).  It attaches the appliance's
# export "second" (the key in /appliance.key) with a dead timeout of 900 s,
# makes ext4 on it, mounts it and writes files, each with fsync, its
# checksum noted.  It says "# client: writing" and goes on writing while
# the host powers the appliance off and boots it again: the device loses
# its connection and gets it back, the writes wait and none fails.  After
# a few more files: every file reads back as written (caches dropped),
# e2fsck -fn is clean, the device detaches, the attach lines balance.
# Results as guest-lib.sh describes.

. /guest-lib.sh

APPLIANCE=10.77.0.1
U=netdisk://$APPLIANCE/second
K=/appliance.key

eth_up() {
	ip -4 addr show dev eth0 2>/dev/null | grep -q 10.77.0.2
}

not_connected() {
	! connected netdisk0
}

# writer: a file of 64 KiB each round, written with fsync; its checksum
# in $W/sums, a failure in $W/failed; until $W/stop exists.
writer() {
	local i=0

	while test ! -e $W/stop; do
		i=$((i + 1))
		if dd if=/dev/urandom of=/mnt/a/f$i bs=16k count=4 conv=fsync \
		    2>>$W/dd.err; then
			sha256sum /mnt/a/f$i >>$W/sums
		else
			echo "f$i" >>$W/failed
		fi
		echo $i >$W/count
		sleep 0.5
	done
}

files() {
	cat $W/count 2>/dev/null || echo 0
}

files_at_least() {
	test "$(files)" -ge "$1"
}

serves() {
	netdiskctl info -k $K $U >/dev/null 2>&1
}

mkdir -p $W /mnt/a && cd $W || exit 1
modprobe -q aesni_intel 2>/dev/null
modprobe virtio_pci && modprobe virtio_net ||
    bail "cannot load virtio_pci and virtio_net"
wait_until 10 test -e /sys/class/net/eth0 || bail "no eth0"
ip link set eth0 up && ip addr add 10.77.0.2/24 dev eth0
check "eth0 is up with 10.77.0.2 (the socket network)" eth_up || bail "no network"
check "the appliance serves its export second over the socket network" \
    wait_until 300 serves || bail "no appliance"

log_mark
run netdiskctl attach -k $K --dead-timeout 900 $U
check "attach $U" test $st = 0 -a "$out" = /dev/netdisk0 || { show; bail "no device"; }
run mkfs.ext4 -q -F /dev/netdisk0
check "mkfs.ext4 /dev/netdisk0" test $st = 0 || show
run mount /dev/netdisk0 /mnt/a
check "mount it" test $st = 0 || { show; bail "not mounted"; }

r0=$(attr netdisk0 reconnects)
writer &
wpid=$!
wait_until 60 files_at_least 5
diag "client: writing"
check "the device loses the appliance (powered off)" wait_until 600 not_connected
diag "client: the appliance is gone after $(files) files"
check "... and gets it back (booted again)" wait_until 900 connected netdisk0
n=$(files)
diag "client: connected again after $n files"
check "the writes go on after the reconnection" wait_until 120 files_at_least $((n + 5))
: >$W/stop
reap $wpid 120
check "the writer ends" test "$st" = 0
like "netdisk0 reconnected" "$(($(attr netdisk0 reconnects) - r0))" '^[1-9][0-9]*$'
check "no write failed ($(files) files of 64 KiB, each with fsync)" test ! -s $W/failed ||
    { diag_file $W/failed; diag_file $W/dd.err; }

sync
echo 3 >/proc/sys/vm/drop_caches
run sha256sum -c $W/sums
check "every file reads back as written ($(wc -l <$W/sums) checksums)" test $st = 0 ||
    diag_file $W/run.out
run umount /mnt/a
check "umount" test $st = 0 || show
run e2fsck -fn /dev/netdisk0
check "e2fsck -fn: clean" test $st = 0 || { show; diag_file $W/run.out; }
run netdiskctl detach netdisk0
check "detach" test $st = 0 || show
is "attach and detach lines balance" "$(attach_balance)" ""
finish
