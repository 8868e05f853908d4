# SPDX-License-Identifier: ISC
# guest-trickle.sh - the guest side of t/kernel/trickle.sh (busybox sh)
#
# t/trickle (as /usr/bin/trickle) answers every connection with a
# ServerHello one byte a second.  An attach against it fails within the
# connect deadline (10 s) with a timeout and leaves no device; a device
# whose netdiskd is killed and replaced by a trickler while it
# reconnects is detached within 10 s, and rmmod with such a device
# attached returns within 10 s.  t/liar (/usr/bin/liar) completes the
# handshake with the export's identity but other block sizes or max
# payload: a device that reconnects to it announcing a smaller max
# payload or another preferred block size does not resume (dead, with
# the reason in the kernel log).  Every attach line has its detach line.
# Results as guest-lib.sh describes.

. /guest-lib.sh

TPORT=26548
TR=""

# alive PID: running, not a zombie.
alive() {
	test -e "/proc/$1" && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

not_alive() {
	! alive "$1"
}

# reap PID SECONDS: wait for a background job for at most SECONDS; its
# status in $st, 124 if it was still running.
reap() {
	if wait_until "$2" not_alive "$1"; then
		wait "$1"
		st=$?
	else
		st=124
	fi
}

# start_trickle PORT: the trickler on PORT, its output in trickle.log.
start_trickle() {
	: >$W/trickle.log
	trickle "$1" 1000 >>$W/trickle.log 2>&1 &
	TR=$!
	wait_until 5 grep -q listening $W/trickle.log ||
	    bail "trickle does not listen on port $1"
}

# stop_trickle: kill it (its connections close): whatever hung returns.
stop_trickle() {
	test -n "$TR" && kill "$TR" 2>/dev/null
	wait "$TR" 2>/dev/null
	TR=""
}

trickled() {
	grep -q accepted $W/trickle.log
}

dead0() {
	test "$(attr netdisk0 state)" = dead
}

# liar_case WHAT MIN PREF MAX LOG: netdisk0 attached to netdiskd, which
# is killed and replaced by a liar announcing MIN PREF MAX; the device
# must go dead with the kernel log line LOG (an ERE).
liar_case() {
	start_server
	run netdiskctl attach -k key --dead-timeout 120 $URI/demo
	is "attach /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
	log_mark
	kill_server KILL
	: >$W/liar.log
	liar $W/key $PORT demo $W/demo.img 67108864 "$2" "$3" "$4" \
	    >>$W/liar.log 2>&1 &
	LIAR=$!
	wait_until 5 grep -q listening $W/liar.log ||
	    bail "liar does not listen on port $PORT"
	check "a reconnect announcing $1: the device does not resume (dead)" \
	    wait_until 15 dead0 ||
	    diag "state $(attr netdisk0 state)" "$(cat $W/liar.log)"
	like "... the kernel log says why" "$(log_since)" "$5"
	run netdiskctl detach netdisk0
	check "... detach" test $st = 0 || show
	kill $LIAR 2>/dev/null
	wait $LIAR 2>/dev/null
}

# add ARGS: write "address=127.0.0.1 export=demo key=KEY ARGS" to the
# module's add file in the background; its PID in $ADD.
add() {
	echo "address=127.0.0.1 export=demo key=$(cat key) $*" \
	    >/sys/bus/netdisk/add 2>$W/add.err &
	ADD=$!
}

# under SECONDS ELAPSED: ELAPSED < SECONDS
under() {
	awk -v a="$2" -v b="$1" 'BEGIN { exit !(a < b) }'
}

# failed_within SECONDS: the job reaped in $st failed, in $el < SECONDS.
failed_within() {
	test $st != 124 && test $st != 0 && under "$1" "$el"
}

# done_within SECONDS: the job reaped in $st succeeded, in $el < SECONDS.
done_within() {
	test $st = 0 && under "$1" "$el"
}

# reconnect_to_trickler: netdisk0 attached to netdiskd, which is killed
# and replaced by a trickler that the reconnect then talks to.
reconnect_to_trickler() {
	run netdiskctl attach -k key --dead-timeout 120 $URI/demo
	is "attach /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
	kill_server KILL
	start_trickle $PORT
	check "... netdiskd killed, the reconnect reaches the trickler" \
	    wait_until 15 trickled
	sleep 2		# inside the handshake, a few bytes received
}

setup 64M
run modprobe netdisk
check "modprobe netdisk" test $st = 0 || show

# ---- attach against a trickler
start_trickle $TPORT
log_mark
t0=$(now)
add port=$TPORT
reap $ADD 30
el=$(since "$t0")
check "attach against a trickled ServerHello fails within 12 s ($el s)" \
    failed_within 12
if test $st = 124; then
	stop_trickle
	reap $ADD 150
	diag "the attach returned $(since "$t0") s after it began, once the trickler was killed"
fi
like "... with a timeout in the kernel log" "$(log_since)" \
    "127.0.0.1:$TPORT/demo: timed out"
is "... no device left" "$(ndevs)" 0
stop_trickle

# ---- detach during a trickled reconnect
reconnect_to_trickler
t0=$(now)
netdiskctl detach netdisk0 >$W/detach.out 2>&1 &
D=$!
reap $D 30
el=$(since "$t0")
check "detach while the reconnect's ServerHello trickles: within 10 s ($el s)" \
    done_within 10
if test $st = 124; then
	stop_trickle
	reap $D 150
	diag "the detach returned $(since "$t0") s after it began, once the trickler was killed"
fi
is "... no device left" "$(ndevs)" 0
stop_trickle

# ---- reconnects that announce other values
liar_case "max_payload 64 KiB (was 1 MiB)" 512 4096 65536 \
    "netdisk0: export max payload shrank from 1048576 to 65536 bytes, below the 1048576 the queue sends, not resuming"
liar_case "pref_block 8192 (was 4096)" 512 8192 1048576 \
    "netdisk0: export preferred block size changed from 4096 to 8192, not resuming"

# ---- rmmod during a trickled reconnect
start_server
reconnect_to_trickler
t0=$(now)
rmmod netdisk >$W/rmmod.out 2>&1 &
R=$!
reap $R 30
el=$(since "$t0")
check "rmmod while the reconnect's ServerHello trickles: within 10 s ($el s)" \
    done_within 10
if test $st = 124; then
	stop_trickle
	reap $R 150
	diag "rmmod returned $(since "$t0") s after it began, once the trickler was killed"
fi
check "... the module is gone" test ! -d /sys/module/netdisk
stop_trickle

is "every attach line has its detach line" "$(attach_balance)" ""
finish
