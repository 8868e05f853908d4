# SPDX-License-Identifier: ISC
# guest-requeue.sh - the guest side of t/kernel/requeue.sh (busybox sh)
#
# netdiskd runs with t/storefault.so, so its store can stall.  With one
# connection (mq-deadline) and with two (no scheduler): FUA writes from
# fio --verify while the store stalls past the request timeout (3 s), so
# requests time out, the connection resets and reconnects and the
# requests go out again; fio ends without an error, its data verify, and
# the detach that follows leaves no warning (6.1's mq-deadline warns
# about a request that was not completed exactly once; panic_on_warn
# fails the run).  Then SIGSTOP/SIGCONT and a caught signal (SIGUSR1)
# sent in a loop to an O_DIRECT fio writer: no reconnect, data verify.
# A guest that does not run for 9 s (t/cpustall, as a paused virtual
# machine) fails nothing: a write sent before completes after.  A write
# that the stalled store never answers fails with EIO once dead_timeout
# (5 s) has passed without an answer and one more try timed out, within
# 14 s.
# Results as guest-lib.sh describes.

. /guest-lib.sh

SF=$W/sf
FIO="fio --name=nd --filename=/dev/netdisk0 --direct=1 --ioengine=libaio
	--eta=never --output=$W/fio.out"
VERIFY="--verify=crc32c --verify_fatal=1 --do_verify=1"

alive() {
	test -e "/proc/$1" && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

not_alive() {
	! alive "$1"
}

# stuck_diag: where the I/O of netdisk0 and fio's processes are.
stuck_diag() {
	local d=/sys/kernel/debug/block/netdisk0 f p

	diag "inflight: $(cat /sys/block/netdisk0/inflight 2>/dev/null)"
	for f in $d/hctx*/dispatch $d/hctx*/busy $d/hctx*/state $d/requeue_list; do
		test -r "$f" && diag "$f: $(head -c 600 "$f" | tr '\n' ' ')"
	done
	for p in $(pidof fio); do
		diag "fio $p: $(grep State /proc/$p/status) $(cat /proc/$p/wchan)"
		diag "$(head -n 8 /proc/$p/stack 2>/dev/null | tr '\n' ' ')"
	done
}

# reap PID SECONDS: status in $st, 124 if it had to be killed.
reap() {
	if wait_until "$2" not_alive "$1"; then
		wait "$1"
		st=$?
	else
		stuck_diag
		kill -KILL "$1" 2>/dev/null
		st=124
	fi
}

fio_errors() {
	cat $W/fio.out $W/fio.log 2>/dev/null | grep -E 'err= *[1-9]|verify|error'
}

fio_diag() {
	diag "fio exit $st"
	diag_file $W/fio.log 10
	diag_file $W/fio.out 30
}

# stall_run CONNS SCHEDULER: FUA writes through a store stall.
stall_run() {
	run netdiskctl attach -k key --conns "$1" $URI/demo
	is "attach, $1 connection(s): /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
	sched=$(cat /sys/block/netdisk0/queue/scheduler)
	# 6.12's mq-deadline is a module, not in the guest: none there
	case $2:$sched in
	mq-deadline:*mq-deadline*) like "... scheduler $2" "$sched" "\\[$2\\]" ;;
	mq-deadline:*) diag "no mq-deadline in this kernel, scheduler: $sched" ;;
	*) like "... scheduler $2" "$sched" "\\[$2\\]" ;;
	esac
	echo 3000 >/sys/block/netdisk0/queue/io_timeout
	is "... io_timeout 3000 ms" "$(cat /sys/block/netdisk0/queue/io_timeout)" 3000
	log_mark
	w0=$(written_kib netdisk0)
	t0=$(now)
	# shellcheck disable=SC2086
	$FIO $VERIFY --sync=1 --bs=4k --iodepth=32 --rw=randwrite --size=8M \
	    >$W/fio.log 2>&1 &
	fpid=$!
	wait_until 60 written_at_least netdisk0 $((w0 + 512))
	touch $SF/stall
	wait_until 20 test -e $SF/stalled
	check "... fio writes with FUA ($(($(written_kib netdisk0) - w0)) KiB) when the store stalls" \
	    test -e $SF/stalled && alive $fpid
	sleep 8
	rm -f $SF/stall
	reap $fpid 120
	check "... fio ends without an error, data verified ($(since "$t0") s)" \
	    test $st = 0 -a -z "$(fio_errors)" || fio_diag
	log_since >$W/klog
	check "... requests timed out and were sent again" \
	    grep -q 'netdisk0: connection [0-9]*: request timed out' $W/klog ||
	    diag_file $W/klog
	run timeout 30 netdiskctl detach netdisk0
	check "... detach, no warning" test $st = 0 -a ! -e /sys/block/netdisk0 ||
	    show
}

setup 128M
kill_server TERM
mkdir -p $SF
export LD_PRELOAD=/usr/lib/storefault.so STOREFAULT_FILE=$W/demo.img \
    STOREFAULT_DIR=$SF
start_server
unset LD_PRELOAD STOREFAULT_FILE STOREFAULT_DIR
run modprobe netdisk
check "modprobe netdisk" test $st = 0 || show

stall_run 1 mq-deadline
stall_run 2 none

# ---- signals to an O_DIRECT writer.  Each round stops netdiskd for a
# moment, so that 32 MiB of writes in flight fill the socket and a sender
# waits for room, then signals fio, then lets netdiskd go on.
run netdiskctl attach -k key --conns 2 $URI/demo
is "attach, 2 connections: /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
log_mark
t0=$(now)
# shellcheck disable=SC2086
$FIO --verify=crc32c --do_verify=0 --bs=1M --iodepth=32 --rw=write --size=120M \
    >$W/fio.log 2>&1 &
fpid=$!
wait_until 30 written_at_least netdisk0 1024
# SIGUSR1 (fio prints its status) to the job processes only: in fio's
# main process it interrupts the helper thread's select(), and fio aborts
n=0
while alive $fpid && test $n -lt 100; do
	pids=$(pidof fio)
	jobs=$(echo "$pids" | tr ' ' '\n' | grep -vx "$fpid")
	kill -STOP "$SRV"
	sleep 0.2
	# shellcheck disable=SC2086
	kill -STOP $pids 2>/dev/null
	# shellcheck disable=SC2086
	kill -CONT $pids 2>/dev/null
	# shellcheck disable=SC2086
	kill -USR1 $jobs 2>/dev/null
	kill -CONT "$SRV"
	n=$((n + 1))
done
check "fio was writing for $n SIGSTOP/SIGCONT/SIGUSR1 rounds" test $n -ge 10
reap $fpid 120
check "... fio ends without an error ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
# the data are verified afterwards, with no signal: fio's verify phase
# under these signals sometimes hung in user space (its job process in
# futex_wait, /sys/block/netdisk0/inflight "0 0", the hardware queues'
# dispatch lists empty), with the old and the new netdisk.ko alike
t0=$(now)
# shellcheck disable=SC2086
run timeout 60 $FIO --verify=crc32c --verify_only=1 --bs=1M --iodepth=32 \
    --rw=write --size=120M
check "... the data verify ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
is "... no reconnect" "$(attr netdisk0 reconnects)" 0
log_since >$W/klog
check "... no connection lost" \
    test -z "$(grep 'netdisk0: connection' $W/klog)" || diag_file $W/klog
run timeout 30 netdiskctl detach netdisk0
check "... detach" test $st = 0 || show

# ---- the guest does not run for longer than dead_timeout, as a virtual
# machine that its host pauses: t/cpustall takes every CPU for 9 s (timers
# fire meanwhile, no kernel thread runs).  A write sent before it is
# answered 1.5 s after it (the store's stall ends then): the request's
# timeout is handled when the guest runs again, its answer not there yet.
# The server did not get dead_timeout to answer; the write completes.
run netdiskctl attach -k key --conns 1 --dead-timeout 5 $URI/demo
is "attach, dead_timeout 5: /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
echo 3000 >/sys/block/netdisk0/queue/io_timeout
head -c 4096 /dev/urandom >$W/block
log_mark
touch $SF/stall
t0=$(now)
timeout 60 dd if=$W/block of=/dev/netdisk0 bs=4k seek=7 oflag=direct \
    2>$W/dd.err &
dpid=$!
wait_until 20 test -e $SF/stalled
check "a write waits for the stalled store" test -e $SF/stalled
(sleep 10.5; rm -f $SF/stall) &
run cpustall 9
check "... the guest stalls 9 s (dead_timeout 5 s, request timeout 3 s)" \
    test $st = 0 || show
reap $dpid 30
check "... the write completes after the stall ($(since "$t0") s)" \
    test $st = 0 || diag_file $W/dd.err
run dd if=/dev/netdisk0 of=$W/back bs=4k skip=7 count=1 iflag=direct
check "... and reads back as written" cmp -s $W/block $W/back || show
log_since >$W/klog
check "... no I/O error, no request given up in the kernel log" \
    test -z "$(grep -i 'I/O error\|giving up' $W/klog)" || diag_file $W/klog
run timeout 30 netdiskctl detach netdisk0
check "... detach" test $st = 0 || show

# ---- a store that never answers: EIO after dead_timeout, no D state
run netdiskctl attach -k key --conns 1 --dead-timeout 5 $URI/demo
is "attach, dead_timeout 5: /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
echo 3000 >/sys/block/netdisk0/queue/io_timeout
touch $SF/stall
t0=$(now)
# below the guest's 30 s hung task timeout
run timeout 25 dd if=$W/key of=/dev/netdisk0 bs=4k count=1 conv=sync oflag=direct
t1=$(since "$t0")
check "a write the stalled store never answers fails ($t1 s)" \
    test $st != 0 -a $st -lt 124 || show
like "... with EIO" "$err" "Input/output error"
check "... after dead_timeout (5 s) and one more try (3 s), within 5 s + 2 request timeouts (3 s) + 3 s for reconnects" \
    awk -v t="$t1" 'BEGIN { exit !(t >= 7.5 && t <= 14) }'
rm -f $SF/stall
run timeout 30 netdiskctl detach netdisk0
check "... detach" test $st = 0 || show

run timeout 30 rmmod netdisk
check "rmmod netdisk" test $st = 0 || show
is "every attached line of the kernel log has its detached line" \
    "$(attach_balance)" ""
finish
