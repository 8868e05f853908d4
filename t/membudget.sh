#!/bin/bash
# SPDX-License-Identifier: ISC
# The memory budget of request payloads (max_request_memory): several
# clients pipeline large writes while the store is stalled, so netdiskd
# holds every payload it reads.  With a small budget the daemon's peak
# RSS stays near the budget and the status report's peak within it; with
# a budget too large to matter (the old behaviour) the peak goes far
# above, which shows the bound is what keeps memory down.  The data of
# both runs verifies.
. "$(dirname "$0")/functions.sh"

requires_storefault

nclients=3
mib=1048576
src_len=$((33 * mib))		# each client's data
bs=1048064			# 1 MiB - 512: not page-aligned, so every
				# WRITE goes to a worker (and stalls there)
budget_mib=8
# What the daemon may hold besides the budget: per session its record
# buffers (two of about 1 MiB), and slack for the allocator.
bound_mib=$((budget_mib + nclients * 3 + 16))

tap_plan 14

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
export NETDISK_KEYFILE=$ND_KEY
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
sf="$T/sf"
mkdir "$sf"
files=""
for i in $(seq $nclients); do
	random_file "$T/src$i" $src_len
	files="$files${files:+:}$T/e$i.img"
done

# Under AddressSanitizer the RSS says little (shadow memory, quarantine).
asan=no
if ldd "$(command -v netdiskd)" 2>/dev/null | grep -q libasan; then
	asan=yes
fi

wait_file() {
	local i

	for i in $(seq 100); do
		test -e "$1" && return 0
		sleep 0.1
	done
	return 1
}

# rss_ok DESC TEST...: an RSS check, skipped under AddressSanitizer.
rss_ok() {
	local desc=$1

	shift
	if test $asan = yes; then
		tap_skip "$desc" "AddressSanitizer build"
	else
		tap_ok "$desc" "$@"
	fi
}

kib_of() {
	awk -v k="$1:" '$1 == k { print $2 }' "/proc/$ND_PID/status"
}

# The request memory in use, once it has not changed for 0.6 s.
settled_used() {
	local i same=0 last=-1 used

	for i in $(seq 100); do
		used=$(netdiskctl status -s "$ND_CTL" --json | json_field used)
		if test "$used" = "$last" && test "$used" -gt 0; then
			same=$((same + 1))
			test $same -ge 3 && break
		else
			same=0
		fi
		last=$used
		sleep 0.2
	done
	echo "$used"
}

# run BUDGET: the clients' copies with the store stalled until the
# daemon has read all it will; sets hwm (KiB), base (KiB), peak, used.
run() {
	local i pids="" failed=0

	rm -f "$T"/e*.img "$sf"/*
	write_conf "$T/netdisk.conf" "max_request_memory=$1"
	for i in $(seq $nclients); do
		add_export "$T/netdisk.conf" "e$i" size=40M
	done
	LD_PRELOAD=$shim STOREFAULT_FILE="$files" STOREFAULT_DIR="$sf" \
	    start_netdiskd "$T/netdisk.conf"
	base=$(kib_of VmRSS)
	touch "$sf/stall"
	for i in $(seq $nclients); do
		netdiskctl copy --no-progress --qd 32 --bs $bs "$T/src$i" \
		    "$(uri e$i)" 2>"$T/copy$i.err" &
		pids="$pids $!"
		track_pid $!
	done
	wait_file "$sf/stalled" || true
	used=$(settled_used)
	rm -f "$sf/stall"
	for i in $pids; do
		wait_pid_status "$i" 60 || failed=$((failed + 1))
	done
	hwm=$(kib_of VmHWM)
	peak=$(netdiskctl status -s "$ND_CTL" --json | json_field peak)
	stop_netdiskd
	copies_failed=$failed
	verified=0
	for i in $(seq $nclients); do
		cmp -s -n $src_len "$T/e$i.img" "$T/src$i" &&
		    verified=$((verified + 1))
	done
	tap_diag "max_request_memory $1: base RSS $((base / 1024)) MiB," \
	    "held $((used / mib)) MiB while stalled, peak $((peak / mib)) MiB," \
	    "peak RSS $((hwm / 1024)) MiB"
}

run ${budget_mib}M
tap_is "budget ${budget_mib}M: every copy succeeded" "$copies_failed" 0
tap_is "... and its data verifies" "$verified" $nclients
tap_ok "... the daemon held payloads while the store stalled" \
    test "$used" -gt 0
tap_ok "... at most the budget ($used bytes)" \
    test "$used" -le $((budget_mib * mib))
tap_ok "... the peak in the status report is within the budget ($peak)" \
    test "$peak" -le $((budget_mib * mib))
rss_ok "... peak RSS $((hwm / 1024)) MiB <= base + $bound_mib MiB" \
    test $((hwm - base)) -le $((bound_mib * 1024))
small_hwm=$((hwm - base))

run 4G
tap_is "budget 4G: every copy succeeded" "$copies_failed" 0
tap_is "... and its data verifies" "$verified" $nclients
tap_ok "... the daemon held more than the small budget ($used bytes)" \
    test "$used" -gt $((budget_mib * mib))
rss_ok "... peak RSS $((hwm / 1024)) MiB > base + $bound_mib MiB" \
    test $((hwm - base)) -gt $((bound_mib * 1024))
rss_ok "... far above the run with the small budget" \
    test $((hwm - base)) -gt $((2 * small_hwm))

# A reader waiting for memory leaves the line when the daemon stops.
write_conf "$T/netdisk.conf" max_request_memory=1M
add_export "$T/netdisk.conf" e1 size=40M
LD_PRELOAD=$shim STOREFAULT_FILE="$files" STOREFAULT_DIR="$sf" \
    start_netdiskd "$T/netdisk.conf"
touch "$sf/stall"
netdiskctl copy --no-progress --qd 32 --bs $bs "$T/src1" "$(uri e1)" \
    2>/dev/null &
track_pid $!
wait_file "$sf/stalled" || true
sleep 0.5
tap_like "status shows a reader waiting" \
    "$(netdiskctl status -s "$ND_CTL")" 'request memory: .* 1 reader waiting'
kill -TERM "$ND_PID"
sleep 0.5
rm -f "$sf/stall"
# It may be gone already: wait for it, rather than signal it again.
wait_pid_status "$ND_PID" 15
tap_is "netdiskd stops with a reader waiting and a write stalled" $? 0
ND_PID=""
tap_ok "... having logged no error" sh -c "! grep -i 'fatal\|abort' '$ND_LOG'"
