# SPDX-License-Identifier: ISC
# guest-faults.sh - the guest side of t/kernel/faults.sh (busybox sh)
#
# netdiskd's export "dm" is a device-mapper device over a 96 MiB brd
# ramdisk, whose table the script swaps under a client's I/O:
#
#   stall   dmsetup suspend for STALL s, longer than the request timeout
#           (io_timeout lowered to IO_TIMEOUT ms), during a verified fio
#           write with FUA (O_SYNC) requests; then resume.  fio verifies,
#           the requests timed out (the connections were reset).  Then the
#           stale-write check: under a second stall, 40 MiB of 1 MiB FUA
#           writes fill netdiskd's per-session budget and a 4 KiB write A
#           to block X queues behind them; the stall outlasts the timeout,
#           the requests are sent again; after the resume and A's
#           completion, B goes to X, is flushed, and X must read B, through
#           netdisk.ko and on the store itself: no copy of A that netdiskd
#           held for a broken connection may land after B.  The detach
#           afterwards must leave no kernel warning (run-guest.sh fails the
#           run on one).  Done with 4 connections on the 4 CPUs (no I/O
#           scheduler) and with one (mq-deadline).
#   delay   a dm-delay table of 1.5 s, under the request timeout: verified
#           fio, no connection reset.
#   error   a dm-error table over the store's end: FUA writes there fail
#           with EIO in fio, a read of it too, a plain write's flush
#           fails; no reset, no oops.
#   flakey  dm-flakey, up 1 s and down 1 s: fio's FUA writes fail with EIO.
#
# A case announces itself with a "# case: ..." line before its detach, so
# a guest that a kernel warning stops shows which case it was in.

. /guest-lib.sh

STORE=ndstore
SECTORS=196608				# 96 MiB
IO_TIMEOUT=4000				# ms
STALL=10				# s, more than two request timeouts
XBLK=$((80 * 256))			# block X of the stale-write check (4 KiB)
DMS="dmsetup --noudevsync --noudevrules"

FIO="fio --filename=/dev/netdisk0 --direct=1 --ioengine=libaio --eta=never
	--thread --output=$W/fio.out"
VERIFY="--verify=crc32c --verify_fatal=1 --do_verify=1"

# table NAME TABLE: load TABLE into the device-mapper device and switch to
# it (suspend, resume).
table() {
	$DMS load "$1" --table "$2" &&
	    $DMS suspend "$1" && $DMS resume "$1"
}

linear() {
	table $STORE "0 $SECTORS linear /dev/ram0 0"
}

# attach_dm CONNS: /dev/netdisk0 on the export dm, io_timeout lowered.
attach_dm() {
	run netdiskctl attach -k key --conns "$1" $URI/dm
	is "attach dm with $1 connection(s): /dev/netdisk0" "$st $out" "0 /dev/netdisk0" ||
	    { show; bail "cannot attach"; }
	echo $IO_TIMEOUT >/sys/block/netdisk0/queue/io_timeout
	is "... io_timeout lowered to $IO_TIMEOUT ms" \
	    "$(cat /sys/block/netdisk0/queue/io_timeout)" $IO_TIMEOUT
}

# detach_dm CASE: announce, detach, check.
detach_dm() {
	say "# case: $1: detach"
	run timeout 30 netdiskctl detach netdisk0
	check "$1: detach" test $st = 0 -a ! -e /sys/block/netdisk0 || show
}

# sha_of FILE DEV BLOCK: sha256 of a 4 KiB file, or of block BLOCK of DEV.
sha_file() {
	sha256sum <"$1" | cut -d' ' -f1
}

sha_blk() {
	dd if="$1" bs=4k skip="$2" count=1 iflag=direct 2>/dev/null |
	    sha256sum | cut -d' ' -f1
}

# stall_fio CASE JOBS DEPTH: a verified FUA write, STALL s of suspended
# store in the middle of it.
stall_fio() {
	local c=$1 r0 w0 w1 a t0

	r0=$(attr netdisk0 reconnects)
	w0=$(written_kib netdisk0)
	t0=$(now)
	# shellcheck disable=SC2086
	$FIO --name=stall --rw=randwrite --sync=1 --bs=16k --iodepth="$3" \
	    --numjobs="$2" --size=$((16 / $2))M --offset_increment=$((16 / $2))M \
	    --cpus_allowed=0-3 --cpus_allowed_policy=split --group_reporting \
	    $VERIFY >$W/fio.log 2>&1 &
	fpid=$!
	wait_until 60 written_at_least netdisk0 $((w0 + 1024))
	$DMS suspend $STORE
	w1=$(written_kib netdisk0)
	alive $fpid
	a=$?
	check "$c: fio is writing ($((w1 - w0)) of 16384 KiB) when the store stalls for $STALL s" \
	    test $a = 0 -a $((w1 - w0)) -lt 16384
	sleep $STALL
	$DMS resume $STORE
	reap $fpid 150
	check "$c: fio ends without an error, the data verify ($(since "$t0") s)" \
	    test $st = 0 -a -z "$(fio_errors)" || fio_diag
	check "$c: ... the stall outlasted the request timeout ($(($(attr netdisk0 reconnects) - r0)) reconnects)" \
	    test "$(attr netdisk0 reconnects)" -gt "$r0"
	wait_until 30 connected netdisk0
	is "$c: ... connected again" "$(attr netdisk0 state)" connected
}

# inflight_writes N: at least N writes in flight on netdisk0.
inflight_writes() {
	test "$(awk '{ print $2 }' /sys/block/netdisk0/inflight)" -ge "$1"
}

# stale CASE: the stale-write check (see the top), on CPU 1's connection.
stale() {
	local c=$1 lpid apid r0

	for p in A B C; do
		dd if=/dev/urandom of=$W/$p bs=4k count=1 2>/dev/null
	done
	run dd if=$W/C of=/dev/netdisk0 bs=4k seek=$XBLK oflag=direct conv=notrunc
	check "$c: stale: X written before the stall" test $st = 0 || show
	r0=$(attr netdisk0 reconnects)
	$DMS suspend $STORE
	taskset -c 1 fio --name=load --filename=/dev/netdisk0 --direct=1 \
	    --ioengine=libaio --thread --eta=never --rw=write --sync=1 --bs=1M \
	    --iodepth=40 --offset=32M --size=40M >$W/load.log 2>&1 &
	lpid=$!
	wait_until 30 inflight_writes 36
	diag "$c: stale: $(cut -c 9- /sys/block/netdisk0/inflight | tr -d ' ') writes in flight when A is written"
	taskset -c 1 dd if=$W/A of=/dev/netdisk0 bs=4k seek=$XBLK oflag=direct \
	    conv=notrunc 2>$W/a.err &
	apid=$!
	sleep $STALL
	diag "$c: stale: A $(alive $apid && echo pending || echo 'done') after $STALL s of stall, $(($(attr netdisk0 reconnects) - r0)) reconnects"
	$DMS resume $STORE
	reap $apid 60
	check "$c: stale: write A ends after the resume" test $st = 0 ||
	    diag_file $W/a.err
	run taskset -c 1 dd if=$W/B of=/dev/netdisk0 bs=4k seek=$XBLK \
	    oflag=direct conv=notrunc
	check "$c: stale: then write B" test $st = 0 || show
	reap $lpid 120
	check "$c: stale: the 40 MiB of FUA writes end without an error" \
	    test $st = 0 || diag_file $W/load.log
	check "$c: stale: ... they timed out and were sent again ($(($(attr netdisk0 reconnects) - r0)) reconnects)" \
	    test "$(attr netdisk0 reconnects)" -gt "$r0"
	run sync -d /dev/netdisk0
	check "$c: stale: flush" test $st = 0 || show
	# whatever netdiskd still holds of the broken connections: time to land
	sleep 3
	is "$c: stale: X reads B through netdisk.ko" \
	    "$(sha_blk /dev/netdisk0 $XBLK)" "$(sha_file $W/B)" ||
	    { diag "A is $(sha_file $W/A), C $(sha_file $W/C)"; diag_file $W/netdiskd.log 20; }
	is "$c: stale: X holds B on the store" \
	    "$(sha_blk /dev/mapper/$STORE $XBLK)" "$(sha_file $W/B)"
}

# stall_case CASE CONNS SCHEDULER JOBS DEPTH
stall_case() {
	attach_dm "$2"
	like "$1: I/O scheduler $3" "$(cat /sys/block/netdisk0/queue/scheduler)" "\\[$3\\]"
	stall_fio "$1" "$4" "$5"
	stale "$1"
	detach_dm "$1"
}

# ---- the store: brd, device-mapper, export dm
setup
# mq-deadline: a module on 6.12, which a single-queue device takes by
# default once it is loaded (built in on 6.1)
for m in "brd rd_nr=1 rd_size=$((SECTORS / 2))" dm-mod dm-delay dm-flakey \
    mq-deadline; do
	# shellcheck disable=SC2086
	run modprobe $m
	check "modprobe $m" test $st = 0 || { show; bail "modprobe $m"; }
done
# no udev: dmsetup mknodes makes /dev/mapper/$STORE
run $DMS create $STORE --table "0 $SECTORS linear /dev/ram0 0"
test $st = 0 && run $DMS mknodes $STORE
check "dmsetup create $STORE (linear over /dev/ram0)" \
    test $st = 0 -a -b /dev/mapper/$STORE || { show; bail "no $STORE"; }
printf '[dm]\npath = /dev/mapper/%s\n' $STORE >>$W/netdisk.conf
kill -HUP "$SRV"
check "netdiskd adds export dm" \
    wait_until 20 grep -q 'configuration reloaded' $W/netdiskd.log ||
    diag_file $W/netdiskd.log
run modprobe netdisk
check "modprobe netdisk" test $st = 0 || show

# ---- stalls: several connections first (a warning ends the guest)
stall_case "4 connections" 4 none 4 16
stall_case "1 connection" 1 mq-deadline 1 64

# ---- delay, error, flakey
attach_dm 2
c="dm-delay 1.5 s"
r0=$(attr netdisk0 reconnects)
table $STORE "0 $SECTORS delay /dev/ram0 0 1500"
t0=$(now)
# shellcheck disable=SC2086
$FIO --name=delay --rw=randwrite --sync=1 --bs=64k --iodepth=8 --numjobs=2 \
    --size=1M --offset_increment=1M --group_reporting $VERIFY >$W/fio.log 2>&1
st=$?
check "$c: fio's FUA writes verify ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
is "$c: ... under the request timeout: no reconnect" \
    "$(($(attr netdisk0 reconnects) - r0))" 0
linear

c="dm-error"
r0=$(attr netdisk0 reconnects)
table $STORE "0 163840 linear /dev/ram0 0
163840 32768 error"
# shellcheck disable=SC2086
$FIO --name=error --rw=write --sync=1 --bs=64k --iodepth=4 --offset=84M \
    --size=4M >$W/fio.log 2>&1
st=$?
fio_errors | grep -q 'Input/output error'
g=$?
check "$c: fio's FUA writes fail with EIO" test $st != 0 -a $g = 0 || fio_diag
run dd if=/dev/netdisk0 of=/dev/null bs=64k skip=$((92 * 16)) count=1 iflag=direct
check "$c: ... a read fails" test $st != 0 || show
like "$c: ... with EIO" "$err" "Input/output error"
run dd if=$W/A of=/dev/netdisk0 bs=4k seek=$((88 * 256)) oflag=direct conv=notrunc
run sync -d /dev/netdisk0
check "$c: ... a plain write's flush fails" test $st != 0 || show
is "$c: ... no reconnect, the device connected" \
    "$(($(attr netdisk0 reconnects) - r0)) $(attr netdisk0 state)" "0 connected"
linear

c="dm-flakey"
run netdiskctl restart -s $W/netdiskd.sock dm
check "$c: netdiskctl restart dm (errors forgotten)" test $st = 0 || show
wait_until 30 connected netdisk0
table $STORE "0 $SECTORS flakey /dev/ram0 0 1 1"
t0=$(now)
# shellcheck disable=SC2086
$FIO --name=flakey --rw=write --sync=1 --bs=64k --iodepth=4 --size=48M \
    --offset=0 --loops=20 >$W/fio.log 2>&1 &
fpid=$!
reap $fpid 60
fio_errors | grep -q 'Input/output error'
g=$?
check "$c: fio's FUA writes fail with EIO ($(since "$t0") s)" \
    test $st != 0 -a $st -lt 124 -a $g = 0 || fio_diag
is "$c: ... the device connected" "$(attr netdisk0 state)" connected
linear
run netdiskctl restart -s $W/netdiskd.sock dm
wait_until 30 connected netdisk0
# shellcheck disable=SC2086
$FIO --name=after --rw=randwrite --bs=64k --iodepth=8 --size=8M \
    $VERIFY >$W/fio.log 2>&1
st=$?
check "after the faults: restart dm, fio verifies" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
detach_dm "dm-delay, dm-error, dm-flakey"

# ---- the end
run timeout 30 rmmod netdisk
check "rmmod netdisk" test $st = 0 || show
bad=$(attach_balance)
is "every attached line of the kernel log has its detached line" "$bad" ""
dmesg | grep -E 'netdisk[0-9]*:' | sed 's/^/  /' >$W/klog
diag "netdisk lines of the kernel log:"
diag_file $W/klog 40
$DMS remove $STORE
finish
