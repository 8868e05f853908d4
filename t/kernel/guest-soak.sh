# SPDX-License-Identifier: ISC
# guest-soak.sh - the guest side of t/kernel/soak.sh (busybox sh)
#
# SOAK_CYCLES (from /soak.env, default 20) SIGKILL-and-restart cycles of
# netdiskd while fio runs verified random writes through netdisk.ko (2
# connections), one fio run after another: each cycle waits until the
# device has written 1 MiB more, kills netdiskd with SIGKILL, restarts
# it half a second later and waits for the device to be connected again.
# Every fio run must end without an I/O error or a verify failure, the
# kernel log must show no I/O error, and the device must detach cleanly.
# Results as guest-lib.sh describes.

. /guest-lib.sh

SOAK_CYCLES=20
test -f /soak.env && . /soak.env

FIO="fio --name=soak --filename=/dev/netdisk0 --direct=1 --ioengine=libaio
	--thread --eta=never --rw=randwrite --bs=64k --iodepth=16 --numjobs=2
	--size=8M --offset_increment=8M --group_reporting
	--verify=crc32c --verify_fatal=1 --do_verify=1"

# fio_loop: fio runs until $W/stop exists; $W/runs holds "RUNS FAILURES",
# the output of a failed run is kept as $W/fio.failed.N.
fio_loop() {
	local n=0 f=0

	while ! test -e $W/stop; do
		# shellcheck disable=SC2086
		$FIO --output=$W/fio.out >$W/fio.log 2>&1
		st=$?
		n=$((n + 1))
		if test $st != 0 || test -n "$(fio_errors)"; then
			f=$((f + 1))
			cat $W/fio.log $W/fio.out >$W/fio.failed.$n 2>/dev/null
		fi
		echo "$n $f" >$W/runs
	done
}

setup
run modprobe netdisk
check "modprobe netdisk" test $st = 0 || show
run netdiskctl attach -k key --conns 2 $URI/demo
is "attach demo, 2 connections: /dev/netdisk0" "$st $out" "0 /dev/netdisk0" ||
    { show; bail "cannot attach"; }

log_mark
r0=$(attr netdisk0 reconnects)
t0=$(now)
rm -f $W/stop
echo "0 0" >$W/runs
fio_loop &
lpid=$!
i=0
stuck=""
while test $i -lt "$SOAK_CYCLES"; do
	w0=$(written_kib netdisk0)
	if ! wait_until 60 written_at_least netdisk0 $((w0 + 1024)); then
		stuck="no progress before cycle $((i + 1))"
		break
	fi
	kill_server KILL
	sleep 0.5
	start_server
	i=$((i + 1))
	if ! wait_until 60 connected netdisk0; then
		stuck="not connected again after cycle $i"
		break
	fi
done
touch $W/stop
reap $lpid 120
read -r runs fails <$W/runs
is "$SOAK_CYCLES SIGKILL/restart cycles of netdiskd under verified fio writes ($(since "$t0") s)" \
    "$i${stuck:+ ($stuck)}" "$SOAK_CYCLES"
check "... the fio loop ends ($runs runs)" test $st -lt 124 -a "$runs" -ge 1
is "... fio runs with an I/O error or a verify failure" "$fails" 0 ||
    for f in $W/fio.failed.*; do
	    diag_file "$f" 20
	    break
    done
check "... the device reconnected ($(($(attr netdisk0 reconnects) - r0)) reconnects)" \
    test "$(attr netdisk0 reconnects)" -ge $((r0 + i))
log_since >$W/klog
check "... no I/O error in the kernel log" \
    test -z "$(grep -E 'I/O error|netdisk0: dead|(READ|WRITE|FLUSH|TRIM|WRITE_ZEROES) .*failed' $W/klog)" || diag_file $W/klog 20

run timeout 30 netdiskctl detach netdisk0
check "detach" test $st = 0 -a ! -e /sys/block/netdisk0 || show
run timeout 30 rmmod netdisk
check "rmmod netdisk" test $st = 0 || show
bad=$(attach_balance)
is "every attached line of the kernel log has its detached line" "$bad" ""
finish
