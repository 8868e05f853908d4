#!/bin/bash
# SPDX-License-Identifier: ISC
# SIGTERM while writes are in flight: netdiskd exits 0 and every write a
# client saw acknowledged is in the backing file.
. "$(dirname "$0")/functions.sh"

kib=1024
chunk=$((512 * kib))
nchunks=32
nexp=5

tap_plan $((nexp + 6))

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
write_conf "$T/netdisk.conf"
for i in $(seq $nexp); do
	truncate -s 16M "$T/e$i.img"
	add_export "$T/netdisk.conf" "e$i" size=16M
done
truncate -s 64M "$T/ebig.img"
add_export "$T/netdisk.conf" ebig size=64M
# A session that is surely open at the SIGTERM, whichever of the others
# have ended by then.
truncate -s 8M "$T/held.img"
add_export "$T/netdisk.conf" held size=8M
start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY

# writer N: writes chunk after chunk to export eN until one fails; logs
# "CHUNK STATUS" per write.
writer() {
	local n=$1 k st

	for k in $(seq 0 $((nchunks - 1))); do
		dd if="$T/data$n" bs=$chunk skip="$k" count=1 status=none |
		    netdiskctl write "$(uri "e$n")" $((k * chunk)) 2>>"$T/w$n.err"
		st=$?
		echo "$k $st" >>"$T/w$n.log"
		test $st -eq 0 || break
	done
}

for i in $(seq $nexp); do
	random_file "$T/data$i" $((nchunks * chunk))
done
random_file "$T/databig" $((64 * 1024 * kib))
pids=""
for i in $(seq $nexp); do
	writer "$i" &
	pids="$pids $!"
done
netdiskctl copy --no-progress --qd 16 "$T/databig" "$(uri ebig)" 2>"$T/big.err" &
big=$!
steady -k "$ND_KEY" -f "$T/stop" "$(uri held)" >"$T/held.out" 2>"$T/held.err" &
held=$!
track_pid "$pids $big $held"
wait_grep '^connected:' "$T/held.out" 10 ||
    bail_out "steady did not connect to export held"

# Let every writer get a few writes acknowledged, then shut the daemon
# down under them and under the copy.
wait_log 'authenticated: export "ebig"' 10
for i in $(seq 100); do
	n=0
	for j in $(seq $nexp); do
		test "$(cat "$T/w$j.log" 2>/dev/null | wc -l)" -ge 2 && n=$((n + 1))
	done
	test $n -eq $nexp && break
	sleep 0.05
done
pid_alive $big && tap_diag "the copy is still running at SIGTERM"
stop_netdiskd TERM
tap_is "netdiskd exits 0 on SIGTERM with writes in flight" $? 0

for p in $pids; do
	wait_pid_status "$p" 30
done
wait_pid_status $big 30
bigst=$?

total=0
for i in $(seq $nexp); do
	acked=0 lost=""
	while read -r k st; do
		test "$st" -eq 0 || continue
		acked=$((acked + 1))
		if test "$(sha_of "$T/e$i.img" $((k * chunk)) $chunk)" != \
		    "$(sha_of "$T/data$i" $((k * chunk)) $chunk)"; then
			lost="$lost $k"
		fi
	done <"$T/w$i.log"
	total=$((total + acked))
	tap_is "export e$i: all $acked acknowledged writes are in the backing file" \
	    "$lost" ""
done
tap_diag "$total acknowledged writes before the shutdown"
tap_ok "some writes were acknowledged before the shutdown" test $total -gt 0

bad=""
for i in $(seq $nexp); do
	st=$(tail -n 1 "$T/w$i.log" | cut -d' ' -f2)
	case $st in
	0|3|9|10) ;;
	*) bad="$bad e$i:$st" ;;
	esac
done
tap_is "interrupted writers failed cleanly (exit 3, 9 or 10, no signal)" "$bad" ""

if test $bigst -eq 0; then
	tap_is "the copy was acknowledged and is in the backing file" \
	    "$(sha_of "$T/ebig.img")" "$(sha_of "$T/databig")"
else
	tap_like "the interrupted copy failed cleanly (status $bigst)" "$bigst" '^(3|9|10)$'
fi
tap_ok "the daemon logged the shutdown of open connections" \
    grep -q 'closed: server shutting down' "$ND_LOG"
tap_status "nothing listens after the exit: exit 3" 3 netdiskctl info "$(uri e1)"
