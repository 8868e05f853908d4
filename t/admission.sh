#!/bin/bash
# SPDX-License-Identifier: ISC
# Admission under attack: while 1,000 connections trickle hellos one byte
# at a time (from 127.0.0.2-9) and 1,000 stay silent (from
# 127.0.0.10-17), together more than the handshake budget holds, an
# attached client keeps its session and verified I/O, and new clients
# (from 127.0.0.1) still attach.  max_connections counts authenticated
# sessions only; connections beyond the handshake caps are closed at
# once, so netdiskd's descriptors stay bounded and its log rate-limited.
. "$(dirname "$0")/functions.sh"

requires badclient
requires steady

ATTACK=1000		# connections of each kind
ADDRS=8			# source addresses of each kind
SECONDS_UNDER=12	# how long the attack lasts
MAX_HS=64		# max_handshakes
PER_ADDR=16		# max_handshakes_per_address

# Room for the attackers' connections (and netdiskd's, if it did not cap).
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
if test "$(ulimit -n)" != unlimited && test "$(ulimit -n)" -lt $((ATTACK + 100)); then
	echo "1..0 # SKIP needs $((ATTACK + 100)) file descriptors, ulimit -n is $(ulimit -n)"
	exit 0
fi

tap_plan 16

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s 8M "$T/good.img" "$T/held.img"
write_conf "$T/netdisk.conf" handshake_timeout=3 max_connections=8 \
    max_handshakes=$MAX_HS max_handshakes_per_address=$PER_ADDR
add_export "$T/netdisk.conf" good size=8M
add_export "$T/netdisk.conf" held size=8M
start_netdiskd "$T/netdisk.conf"

# An attached client: one session for the whole test, every block checked.
steady -m 4 -k "$ND_KEY" -f "$T/stop" "$(uri held)" >"$T/steady.out" \
    2>"$T/steady.err" &
steady_pid=$!
track_pid $steady_pid
wait_grep '^connected' "$T/steady.out" 10 ||
    { tap_diag_file "$T/steady.err"; bail_out "steady did not connect"; }

# attack KIND FIRST: ATTACK connections of a badclient mode from ADDRS
# addresses 127.0.0.FIRST...; their pids in $pids.
attack() {
	local i

	pids=""
	for i in $(seq 0 $((ADDRS - 1))); do
		badclient -t 3 -s 127.0.0.$(($2 + i)) -n $((ATTACK / ADDRS)) \
		    -d $SECONDS_UNDER -k "$ND_KEY" "$(uri good)" "$1" \
		    >"$T/$1.$i.out" 2>"$T/$1.$i.err" &
		pids="$pids $!"
		track_pid $!
	done
}

# wait_attack KIND PIDS: 0 if every badclient of KIND passed.
wait_attack() {
	local pid st=0

	for pid in $2; do
		wait_pid_status $pid 30 || st=1
	done
	cat "$T/$1".*.err >"$T/$1.err"
	cat "$T/$1".*.out >"$T/$1.out"
	return $st
}

attack trickle 2
trickle_pids=$pids
attack fill $((2 + ADDRS))
fill_pids=$pids
sleep 2

# New clients while the attack goes on: each round a fresh handshake for
# a 64 KiB write and another for reading it back.
fds_max=0
rounds=0
end=$((SECONDS + SECONDS_UNDER - 4))
: >"$T/good.fail"
while test $SECONDS -lt $end; do
	off=$(((rounds % 128) * 65536))
	head -c 65536 /dev/urandom >"$T/g.data"
	if ! netdiskctl write -k "$ND_KEY" "$(uri good)" "$off" <"$T/g.data" \
	    2>>"$T/good.err"; then
		echo "write $rounds at $off failed" >>"$T/good.fail"
	elif ! netdiskctl read -k "$ND_KEY" "$(uri good)" "$off" 65536 \
	    >"$T/g.back" 2>>"$T/good.err"; then
		echo "read $rounds at $off failed" >>"$T/good.fail"
	elif ! cmp -s "$T/g.data" "$T/g.back"; then
		echo "read $rounds at $off returned other data" >>"$T/good.fail"
	fi
	rounds=$((rounds + 1))
	n=$(ls /proc/$ND_PID/fd 2>/dev/null | wc -l)
	test "$n" -gt $fds_max && fds_max=$n
	sleep 0.2
done

tap_is "new clients attach and read back what they wrote during the attack ($rounds rounds)" \
    "$(cat "$T/good.fail")" "" || tap_diag_file "$T/good.err"
tap_ok "new clients completed rounds" test $rounds -ge 3

wait_attack trickle "$trickle_pids"
tap_is "no trickling connection outlived the handshake deadline" $? 0 ||
    tap_diag_file "$T/trickle.err"
tap_diag_file "$T/trickle.out"
wait_attack fill "$fill_pids"
tap_is "no silent connection outlived the handshake deadline" $? 0 ||
    tap_diag_file "$T/fill.err"
tap_diag_file "$T/fill.out"

touch "$T/stop"
wait_pid_status $steady_pid 30
tap_is "the attached client kept verified I/O through the attack" $? 0 ||
    { tap_diag_file "$T/steady.out"; tap_diag_file "$T/steady.err"; }
tap_diag "$(tail -n 1 "$T/steady.out")"

# Sessions, handshakes (twice: those cut off for newer ones may still be
# ending), listeners, the exports, the control socket, stdio.
limit=$((8 + 2 * MAX_HS + 32))
tap_ok "netdiskd held at most $limit descriptors ($fds_max)" \
    test "$fds_max" -le $limit
refused=$(grep -c 'connection refused' "$ND_LOG")
tap_ok "refused connections are logged rate-limited ($refused lines)" \
    test "$refused" -le $((3 * SECONDS_UNDER))
lines=$(wc -l <"$ND_LOG")
tap_ok "the log stays short ($lines lines)" \
    test "$lines" -le 200
tap_status "netdiskd still answers netdiskctl info" 0 \
    netdiskctl info -k "$ND_KEY" "$(uri good)"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
tap_ok "no sanitizer report in the log" \
    sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$ND_LOG'"

# A descriptor limit below what the caps need: netdiskd says so at start.
ulimit -n 96
start_netdiskd "$T/netdisk.conf"
tap_ok "netdiskd warns that the caps need more descriptors than it has" \
    grep -q 'need [0-9]* file descriptors, but the limit is 96' "$ND_LOG"
tap_ok "and serves" netdiskctl info -k "$ND_KEY" "$(uri good)"
stop_netdiskd

# max_connections counts sessions: a client beyond it is told so.
write_conf "$T/one.conf" max_connections=1
add_export "$T/one.conf" good size=8M
add_export "$T/one.conf" held size=8M
start_netdiskd "$T/one.conf"
steady -k "$ND_KEY" -f "$T/stop.one" "$(uri held)" >"$T/one.out" \
    2>"$T/one.err" &
track_pid $!
one_pid=$!
wait_grep '^connected' "$T/one.out" 10 ||
    { tap_diag_file "$T/one.err"; bail_out "steady did not connect"; }
tap_status "with max_connections 1 taken, another client is refused" 6 \
    netdiskctl info -k "$ND_KEY" "$(uri good)"
tap_like "and told why" "$(cat "$T/err")" "too many clients"
touch "$T/stop.one"
wait_pid_status $one_pid 30
tap_ok "the session that holds the place was not disturbed" \
    test $? -eq 0
stop_netdiskd
