# SPDX-License-Identifier: ISC
# guest-signals.sh - the guest side of t/kernel/signals.sh (busybox sh)
#
# Signals to processes doing O_DIRECT I/O on /dev/netdisk0 (2 connections
# on the 2 CPUs, no I/O scheduler: requests go out from the submitter's
# own context) are not connection failures:
#   - SIGSTOP and SIGCONT every 0.1 s to a verified fio write (--thread,
#     one process, 16 MiB in flight per connection);
#   - caught signals: t/sigwriter's 8 jobs write 4 MiB blocks with a
#     SIGALRM handler and a timer firing every 200 us, plus SIGUSR1 from
#     here in a loop (started once sigwriter's ready file says every job
#     has its handler), then check every block.
# Meanwhile netdiskd is stopped (SIGSTOP) for 1.5 s of every 2.5 s, well
# under the request timeout: the client's socket fills, so the senders
# wait in sendmsg when the signals arrive.  In each case the device's
# reconnects counter stays 0, the kernel log has no lost connection,
# failed send or timeout, the I/O ends without an error and the data
# verify.  Results as guest-lib.sh describes.

. /guest-lib.sh

FIO="fio --name=sig --filename=/dev/netdisk0 --direct=1 --ioengine=libaio
	--thread --eta=never --output=$W/fio.out"
VERIFY="--verify=crc32c --verify_fatal=1 --do_verify=1"

# no_reset CASE R0: reconnects still R0, nothing lost in the kernel log.
no_reset() {
	is "$1: reconnects counter unchanged, connected" \
	    "$(($(attr netdisk0 reconnects) - $2)) $(attr netdisk0 state)" "0 connected"
	log_since >$W/klog
	check "$1: ... no lost connection or failed send in the kernel log" \
	    test -z "$(grep -E 'netdisk0: (connection [0-9]+ lost|connection [0-9]+: send failed|.*timed out)' $W/klog)" ||
	    diag_file $W/klog 20
}

# pauser: netdiskd stopped 1.5 s of every 2.5 s while $W/pausing exists;
# left running.
pauser() {
	while test -e $W/pausing; do
		kill -STOP "$SRV"
		sleep 1.5
		kill -CONT "$SRV"
		sleep 1
	done
}

pauser_start() {
	: >$W/pausing
	pauser &
	pauser_pid=$!
}

pauser_stop() {
	rm -f $W/pausing
	reap $pauser_pid 10
	kill -CONT "$SRV"
}

setup
run modprobe netdisk
check "modprobe netdisk" test $st = 0 || show
run netdiskctl attach -k key --conns 2 $URI/demo
is "attach demo, 2 connections: /dev/netdisk0" "$st $out" "0 /dev/netdisk0" ||
    { show; bail "cannot attach"; }
like "I/O scheduler none" "$(cat /sys/block/netdisk0/queue/scheduler)" '\[none\]'

# ---- SIGSTOP/SIGCONT
c="SIGSTOP/SIGCONT"
log_mark
r0=$(attr netdisk0 reconnects)
t0=$(now)
# shellcheck disable=SC2086
pauser_start
$FIO --rw=randwrite --bs=1M --iodepth=16 --numjobs=2 --size=32M \
    --offset_increment=32M --cpus_allowed=0-1 --cpus_allowed_policy=split \
    --group_reporting $VERIFY >$W/fio.log 2>&1 &
fpid=$!
n=0
while alive $fpid && test $n -lt 600; do
	kill -STOP $fpid 2>/dev/null
	sleep 0.1
	kill -CONT $fpid 2>/dev/null
	sleep 0.1
	n=$((n + 1))
done
kill -CONT $fpid 2>/dev/null
reap $fpid 60
pauser_stop
check "$c: $n stops of a verified fio write: no error, the data verify ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" -a $n -ge 5 || fio_diag
no_reset "$c" "$r0"

# ---- caught signals
c="SIGALRM/SIGUSR1"
log_mark
r0=$(attr netdisk0 reconnects)
t0=$(now)
pauser_start
rm -f $W/sw.ready
sigwriter -j 8 -b 4096 -t 15 -u 200 -r $W/sw.ready /dev/netdisk0 64 64 \
    >$W/sw.out 2>$W/sw.err &
spid=$!
wait_until 30 test -e $W/sw.ready
check "$c: sigwriter's jobs catch signals (ready file within 30 s)" \
    test -e $W/sw.ready || diag_file $W/sw.err
n=0
while alive $spid && test $n -lt 3000; do
	kill -USR1 -$spid 2>/dev/null
	sleep 0.01
	n=$((n + 1))
done
reap $spid 90
pauser_stop
sig=$(sed -n 's/.* writes, \([0-9]*\) signals.*/\1/p' $W/sw.out)
check "$c: sigwriter's O_DIRECT writes end without an error, every block verified ($(since "$t0") s)" \
    test $st = 0 || { diag_file $W/sw.out; diag_file $W/sw.err; }
diag "$(cat $W/sw.out)"
check "$c: ... with signals arriving (${sig:-no} caught)" test "${sig:-0}" -ge 1000
no_reset "$c" "$r0"

run timeout 30 netdiskctl detach netdisk0
check "detach" test $st = 0 -a ! -e /sys/block/netdisk0 || show
run timeout 30 rmmod netdisk
check "rmmod netdisk" test $st = 0 || show
bad=$(attach_balance)
is "every attached line of the kernel log has its detached line" "$bad" ""
dmesg | grep -E 'netdisk[0-9]*:' | sed 's/^/  /' >$W/klog
diag "netdisk lines of the kernel log:"
diag_file $W/klog 30
finish
