#!/bin/bash
# SPDX-License-Identifier: ISC
# A read-write export belongs to one client at a time; a read-only export
# serves many.
. "$(dirname "$0")/functions.sh"

requires jq

tap_plan 19

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s 8M "$T/rw.img"
random_file "$T/ro.img" $((8 * 1048576))
ro_sha=$(sha_of "$T/ro.img")
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" rw size=8M
add_export "$T/netdisk.conf" ro size=8M readonly=yes
start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY

# The holder: a client writing and verifying until told to stop.
steady -k "$ND_KEY" -f "$T/stop" "$(uri rw)" >"$T/holder.out" 2>"$T/holder.err" &
holder=$!
track_pid $holder
wait_log 'authenticated: export "rw"' 10
tap_ok "a client holds the read-write export" pid_alive $holder

head -c 4096 /dev/urandom >"$T/blk"
tap_status "a second writer gets exit 5" 5 netdiskctl write "$(uri rw)" 0 <"$T/blk"
tap_like "... with the busy message" "$(cat "$T/err")" \
    "127\\.0\\.0\\.1:$ND_PORT: export busy \\(in use by another client\\)"
tap_status "a second client cannot trim either: exit 5" 5 \
    netdiskctl trim "$(uri rw)" 0 4096
netdiskctl read "$(uri rw)" 0 4096 >"$T/back" 2>"$T/err"
tap_is "a reader (attached read-only) shares the held export" "$?" 0
tap_ok "the log says who holds the export" \
    grep -Eq 'export "rw" busy: held by client [0-9a-f]{32}' "$ND_LOG"
tap_ok "the holder is still running while refused" pid_alive $holder

touch "$T/stop"
wait_pid_status $holder 30
tap_is "the holder exits 0, its data verified" $? 0 || tap_diag_file "$T/holder.err"

# The export is released when the holder's connections close; the daemon
# notices that a moment after the client exits.
tries=0
until netdiskctl info "$(uri rw)" >"$T/out" 2>"$T/err" || test $tries -ge 30; do
	tries=$((tries + 1))
	sleep 0.1
done
tap_ok "the export is free again after the holder exits ($tries retries)" \
    test $tries -lt 30
tap_status "a new client writes" 0 netdiskctl write "$(uri rw)" 4096 <"$T/blk"
netdiskctl read "$(uri rw)" 4096 4096 >"$T/back" 2>"$T/err"
tap_is "... and reads its data back" "$(sha_of "$T/back")" "$(sha_of "$T/blk")"
tap_status "one client may use several connections (bench --conns 3)" 0 \
    netdiskctl bench "$(uri rw)" --rw randwrite --destructive --conns 3 --time 1

# Read-only: three concurrent readers.
pids=""
n0=$(grep -c 'authenticated: export "ro"' "$ND_LOG")
for i in 1 2 3; do
	netdiskctl bench "$(uri ro)" --rw randread --time 5 --qd 4 \
	    >"$T/ro$i.out" 2>"$T/ro$i.err" &
	pids="$pids $!"
done
track_pid $pids
wait_grep 'authenticated: export "ro"' "$ND_LOG" 15 $((n0 + 3))
clients=$(netdiskctl status -s "$ND_CTL" --json |
    jq '.exports[] | select(.name == "ro") | .clients | length')
tap_is "three benches read the read-only export at once (status: 3 clients)" \
    "$clients" 3
netdiskctl read "$(uri ro)" 1M 1M >"$T/back" 2>"$T/err"
tap_is "a fourth reader of the read-only export is served meanwhile" \
    "$(sha_of "$T/back")" "$(sha_of "$T/ro.img" 1048576 1048576)"
i=0
for p in $pids; do
	i=$((i + 1))
	wait_pid_status "$p" 30
	tap_is "read-only bench $i exits 0" $? 0 || tap_diag_file "$T/ro$i.err"
done
tap_is "the read-only export is unchanged" "$(sha_of "$T/ro.img")" "$ro_sha"

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
