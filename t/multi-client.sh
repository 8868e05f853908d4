#!/bin/bash
# SPDX-License-Identifier: ISC
# Several clients on several exports at once: on each of three exports a
# writer puts its own random pattern into the first half while a reader
# (attached read-only, so it shares the export with the writer) checks the
# second half; six netdiskctl processes in all, at the same time.  Then
# everything is verified with sha256.
. "$(dirname "$0")/functions.sh"

mib=1048576
half=$((8 * mib))
exports="a b c"

tap_plan 23

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
write_conf "$T/netdisk.conf"
for e in $exports; do
	random_file "$T/$e.second" "$half"
	truncate -s "$half" "$T/$e.img"
	cat "$T/$e.second" >>"$T/$e.img"
	add_export "$T/netdisk.conf" "$e" size=16M
	random_file "$T/$e.data" "$half"
done
start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY

# Round 1: a writer and a reader on every export, all at once.
netdiskctl write "$(uri a)" 0 <"$T/a.data" 2>"$T/wa.err" & wa=$!
netdiskctl copy --no-progress --qd 8 "$T/b.data" "$(uri b)" 2>"$T/wb.err" & wb=$!
netdiskctl write --fua "$(uri c)" 0 <"$T/c.data" 2>"$T/wc.err" & wc=$!
for e in $exports; do
	netdiskctl read "$(uri "$e")" "$half" "$half" >"$T/r$e.out" 2>"$T/r$e.err" &
	eval "r$e=\$!"
done
track_pid "$wa $wb $wc $ra $rb $rc"
alive=0
for p in $wa $wb $wc $ra $rb $rc; do
	pid_alive "$p" && alive=$((alive + 1))
done
tap_diag "$alive of 6 clients running at the same moment"

wait_pid_status $wa; tap_is "writer on a (write) exits 0" $? 0 || tap_diag_file "$T/wa.err"
wait_pid_status $wb; tap_is "writer on b (copy --qd 8) exits 0" $? 0 || tap_diag_file "$T/wb.err"
wait_pid_status $wc; tap_is "writer on c (write --fua) exits 0" $? 0 || tap_diag_file "$T/wc.err"
for e in $exports; do
	eval "p=\$r$e"
	wait_pid_status "$p"
	tap_is "reader on $e exits 0" $? 0 || tap_diag_file "$T/r$e.err"
	tap_is "reader on $e got the second half intact" "$(sha_of "$T/r$e.out")" \
	    "$(sha_of "$T/$e.second")"
done
tap_ok "the log shows six clients authenticated" \
    test "$(grep -c 'authenticated: export' "$ND_LOG")" -ge 6

# Round 2: read everything back, again all at once.
for e in $exports; do
	netdiskctl read "$(uri "$e")" 0 "$half" >"$T/$e.back" 2>"$T/$e.err" &
	eval "p$e=\$!"
	netdiskctl copy --no-progress "$(uri "$e")" "$T/$e.whole" 2>"$T/c$e.err" &
	eval "c$e=\$!"
done
track_pid "$pa $pb $pc $ca $cb $cc"
for e in $exports; do
	eval "p=\$p$e c=\$c$e"
	wait_pid_status "$p"
	tap_is "read back of $e exits 0" $? 0 || tap_diag_file "$T/$e.err"
	tap_is "export $e holds its own pattern" "$(sha_of "$T/$e.back")" \
	    "$(sha_of "$T/$e.data")"
	wait_pid_status "$c"
	tap_is "copy of the whole of $e exits 0" $? 0 || tap_diag_file "$T/c$e.err"
	tap_is "the whole of $e is pattern + untouched second half" \
	    "$(sha_of "$T/$e.whole")" \
	    "$(cat "$T/$e.data" "$T/$e.second" | sha256sum | cut -d' ' -f1)"
done

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
