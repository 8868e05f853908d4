# SPDX-License-Identifier: ISC
# guest-badserver.sh - the guest side of t/kernel/badserver.sh (busybox sh)
#
# netdisk.ko against t/badserver, one case per mode, each with a fresh
# badserver, module and device (one connection, dead_timeout=5, the
# request timeout lowered to 3 s):
#   1. attach; write 1 MiB of random data at 40 MiB with O_DIRECT (16
#      requests of 64 KiB at once); for the reconnect modes, SIGUSR1 to
#      badserver (every connection dropped); read the MiB back;
#   2. either an I/O error (EIO) within dead_timeout plus 8 s of margin,
#      or the data read back as written: never wrong data, never a hang
#      (the data, and nothing else, from the correct servers: good, and
#      padded, whose records carry zero padding as the protocol allows);
#   3. badserver saw no request its ServerHello forbids and no accepted
#      invalid ServerHello (no VIOLATION line), and it did misbehave;
#   4. detach and rmmod each end within 10 s, any I/O still blocked ends
#      with the detach.
# trickle: SIGUSR1, then detach and rmmod while the reconnect gets its
# ServerHello one byte a second.  No kernel warning, oops or hung task
# (run-guest.sh judges the console log; the hung-task timeout is 20 s and
# the host boots the guest with hung_task_panic=1).  BADSERVER_CASES (on
# the kernel command line, comma-separated case names) runs some cases
# only.  A case that leaves something hung (a detach or rmmod that does
# not end) is reported and ends the run: the remaining cases are named
# as not run.
# Results as guest-lib.sh describes.

. /guest-lib.sh

BPORT=26548
BURI=netdisk://127.0.0.1:$BPORT/bad
DEAD=5			# dead_timeout of every attach, s
IO_TIMEOUT_MS=3000	# the device's request timeout
EIO_LIMIT=$((DEAD + 8))	# an I/O error must come this soon
IO_WAIT=20		# a dd still running then is hung
QUIT=10			# detach and rmmod, s
AT=40			# MiB: where the data goes (above hello-size's 32 MiB)
BS=""

# case LABEL MODE WHAT [BADSERVER-OPTION...]: LABEL is the case's name,
# WHAT an ERE for the line of badserver's log that shows it misbehaved.
CASES="
good good handshake.done
range range out.of.range
dup dup two.replies
stale stale answered.before
short short answered.with.65024
long long answered.with.66048
close-mid close-mid closing.after
keyupdate-flood keyupdate-flood misbehaving
empty-flood empty-flood misbehaving
padded padded padded.records
hello-size hello-size ServerHello:.size.33554432
hello-tiny hello-tiny ServerHello:.*max_payload.512,
hello-huge hello-huge ServerHello:.*max_payload.4294967295
hello-min-block hello-min-block ServerHello:.*min_block.1536
hello-pref-block hello-pref-block ServerHello:.*pref_block.256
hello-flags hello-flags ServerHello:.*flags.0x8
dup-forever dup two.replies -a
close-mid-forever close-mid closing.after -a
shutdown shutdown ESHUTDOWN
silent silent answering.no.request
trickle trickle trickling
"

alive() {
	test -e "/proc/$1" && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

not_alive() {
	! alive "$1"
}

# bg NAME CMD...: CMD in the background, stdout and stderr in
# $W/NAME.out and $W/NAME.err; its pid in $bg_pid, its start in $bg_t0.
bg() {
	local n=$1

	shift
	bg_t0=$(now)
	"$@" >$W/$n.out 2>$W/$n.err &
	bg_pid=$!
}

# bg_wait SECONDS: the status of the last bg in $st (124: still running
# after SECONDS), its time so far in $bg_s.
bg_wait() {
	if wait_until "$1" not_alive $bg_pid; then
		wait $bg_pid
		st=$?
	else
		st=124
	fi
	bg_s=$(since $bg_t0)
}

bs_listening() {
	grep -q ":$(printf %04X $BPORT) 00000000:0000 0A" /proc/net/tcp
}

bs_stop() {
	test -n "$BS" && kill "$BS" 2>/dev/null && wait "$BS" 2>/dev/null
	BS=""
}

# dd_phase NAME DD-ARGS...: one dd with O_DIRECT on the device; sets
# io (ok, eio, error or hung), io_s and io_pid.
dd_phase() {
	local n=$1

	shift
	bg "$n" dd bs=1M count=1 "$@"
	io_pid=$bg_pid
	bg_wait $IO_WAIT
	io_s=$bg_s
	if test $st = 0; then
		io=ok
	elif test $st = 124; then
		io=hung
	elif grep -Eq 'Input/output error|I/O error' $W/$n.err; then
		io=eio
	else
		io=error
	fi
}

# outcome: the case's I/O verdict, one check.  A correct server's data
# must come back (good, padded); of another, an EIO in time will do.
outcome() {
	local d="$label: EIO within $EIO_LIMIT s or the data read back as written"

	case $mode in
	good | padded)
		d="$label: the data read back as written"
		if test $wio/$rio = ok/ok && cmp -s $W/pat $W/got; then
			ok "$d (write $wio_s s, read $rio_s s)"
		else
			notok "$d: write $wio ($wio_s s), read $rio ($rio_s s)"
			cmp $W/pat $W/got >$W/cmp.out 2>&1
			diag_file $W/cmp.out 2
			diag_file $W/read.err 3
		fi
		return ;;
	esac

	case $wio/$rio in
	eio/* | ok/eio)
		local s=$wio_s
		test $wio = ok && s=$rio_s
		check "$d: EIO after $s s" awk -v s="$s" -v l=$EIO_LIMIT 'BEGIN { exit !(s <= l) }' ;;
	ok/ok)
		if cmp -s $W/pat $W/got; then
			ok "$d: data verified (write $wio_s s, read $rio_s s)"
		elif test "$mode" = short; then
			short_outcome
		else
			notok "$d: the read returned WRONG DATA"
			diag "$(cmp $W/pat $W/got 2>&1 | head -n 1)"
		fi ;;
	*)
		notok "$d: write $wio ($wio_s s), read $rio ($rio_s s)"
		diag_file $W/write.err 3
		diag_file $W/read.err 3 ;;
	esac
}

# short_outcome: a READ reply shorter than the request.  Replies carry no
# length, so the client takes the next reply's first bytes as the rest of
# the data: a server that holds the key controls its export's data
# anyway (docs/security.md).  What the client must do is notice that the
# stream lost its framing (the next reply's header is garbage), reset the
# connection, complete no other request with those bytes, and read the
# data right once the server behaves.
logged_protocol_error() {
	log_since | grep -q "$dev: connection .*protocol error"
}

short_outcome() {
	check "$label: the misframed stream reset the connection" \
	    wait_until 10 logged_protocol_error
	dd_phase read2 if=/dev/$dev of=$W/got2 skip=$AT iflag=direct
	if test $io = ok && cmp -s $W/pat $W/got2; then
		ok "$label: the read after the reset returns the data as written ($io_s s)"
	else
		notok "$label: the read after the reset: $io, $(cmp $W/pat $W/got2 2>&1 | head -n 1)"
	fi
}

# quit DEV: detach and rmmod, each within $QUIT s; 1 if something hung.
quit() {
	bg detach netdiskctl detach "$1"
	bg_wait $QUIT
	if test $st = 124; then
		notok "$label: detach ends within $QUIT s: still running after $bg_s s"
		bg_wait 60
		diag "detach ended with status $st after $bg_s s"
		test $st = 124 && return 1
	else
		check "$label: detach within $QUIT s ($bg_s s)" \
		    test $st = 0 -a ! -e /sys/block/$1 ||
		    diag "exit $st: $(cat $W/detach.err)"
	fi
	for p in $wpid $rpid; do
		wait_until $QUIT not_alive $p ||
		    { notok "$label: a dd is still blocked $QUIT s after the detach"; return 1; }
	done
	bg rmmod rmmod netdisk
	bg_wait $QUIT
	check "$label: rmmod within $QUIT s ($bg_s s)" \
	    test $st = 0 -a ! -d /sys/module/netdisk || {
		diag "exit $st: $(cat $W/rmmod.err)"
		test $st != 124 || return 1
	}
}

# attach: the device of badserver's export in $dev, "" if none; an
# attach still running after 30 s counts as hung (1).
attach() {
	dev=""
	bg attach netdiskctl attach -k $W/key --conns 1 --dead-timeout $DEAD $BURI
	bg_wait 30
	if test $st = 124; then
		notok "$label: attach: still running after $bg_s s"
		hung=$label
		return 1
	fi
	if test $st != 0; then
		notok "$label: attach (exit $st: $(cat $W/attach.err))"
		return 1
	fi
	dev=$(cat $W/attach.out)
	dev=${dev#/dev/}
	echo $IO_TIMEOUT_MS >/sys/block/$dev/queue/io_timeout
}

# trickled: the detach while a reconnect gets a trickled ServerHello.
trickled() {
	kill -USR1 $BS
	check "$label: the reconnect gets a trickled ServerHello" \
	    wait_until 15 grep -q trickling $W/bs.log || return 0
	sleep 2
}

# run_case LABEL MODE WHAT [OPTION...]
run_case() {
	label=$1 mode=$2 what=$3
	shift 3
	diag "---- $label: $(badserver -l | awk -v m="$mode" '$1 == m { $1 = ""; print }')${1:+ ($*)}"
	log_mark
	modprobe netdisk || bail "$label: modprobe netdisk"
	badserver -k $W/key -p $BPORT "$@" "$mode" 2>$W/bs.log &
	BS=$!
	wait_until 10 bs_listening || { diag_file $W/bs.log; bail "badserver $mode does not listen"; }
	wpid="" rpid="" wio=none rio=none wio_s=0 rio_s=0
	hung=""
	if attach; then
		case $mode in
		trickle) trickled ;;
		*)
			dd_phase write if=$W/pat of=/dev/$dev seek=$AT oflag=direct
			wio=$io wio_s=$io_s wpid=$io_pid
			case $mode in hello-*) kill -USR1 $BS ;; esac
			if test $wio = ok; then
				dd_phase read if=/dev/$dev of=$W/got skip=$AT iflag=direct
				rio=$io rio_s=$io_s rpid=$io_pid
			fi
			outcome ;;
		esac
		quit $dev || hung=$label
	fi
	like "$label: badserver misbehaved" "$(cat $W/bs.log)" "$what" ||
	    diag_file $W/bs.log 20
	is "$label: the client broke no protocol rule (no VIOLATION from badserver)" \
	    "$(grep VIOLATION $W/bs.log)" "" || diag_file $W/bs.log 20
	bs_stop
	log_since | grep -E 'netdisk|WARNING|BUG|blocked|hung' >$W/klog
	diag_file $W/klog 12
	test -z "$hung"
}

# wanted LABEL: in BADSERVER_CASES, or no list.
wanted() {
	test -z "$BADSERVER_CASES" && return 0
	case ",$BADSERVER_CASES," in *",$1,"*) return 0 ;; esac
	return 1
}

mkdir -p $W && cd $W || exit 1
echo 20 >/proc/sys/kernel/hung_task_timeout_secs
# (no "hung_task" in a result line: run-guest.sh looks for it)
diag "hung-task timeout $(cat /proc/sys/kernel/hung_task_timeout_secs) s, panic $(cat /proc/sys/kernel/hung_task_panic)," \
    "slub_debug $(grep -o 'slub_debug=[A-Z]*' /proc/cmdline)," \
    "kfence sample_interval $(cat /sys/module/kfence/parameters/sample_interval 2>/dev/null || echo '(no kfence)')"
modprobe -q aesni_intel 2>/dev/null
netdiskctl genkey -o key || bail "netdiskctl genkey"
dd if=/dev/urandom of=pat bs=1M count=1 2>/dev/null
hung="" stop=""
while read -r c; do
	test -n "$c" || continue
	# shellcheck disable=SC2086
	set -- $c
	wanted "$1" || continue
	if test -n "$stop"; then
		notok "$1: not run (the case \"$stop\" left the kernel hung)"
		continue
	fi
	run_case "$@" || stop=$1
done <<EOF
$CASES
EOF
bad=$(attach_balance)
is "every attached line of the kernel log has its detached line" "$bad" ""
finish
