#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl status and restart against what is really connected; the
# control socket's permissions; errors of the control commands.
. "$(dirname "$0")/functions.sh"

requires jq
requires socat
requires setpriv
tap_plan 44

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
export NETDISK_KEYFILE=$ND_KEY
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" a size=8M
add_export "$T/netdisk.conf" b size=8M
truncate -s 8M "$T/ro.img"
add_export "$T/netdisk.conf" ro readonly=yes
start_netdiskd "$T/netdisk.conf"
st() { netdiskctl status -s "$ND_CTL" "$@"; }
# jqx FILTER: of the last status --json, in $T/st
jqx() { jq -c "$1" "$T/st"; }

tap_ok "the control socket is a socket" test -S "$ND_CTL"
tap_is "... of mode 0660" "$(stat -c %a "$ND_CTL")" 660
tap_ok "status: exit 0" st
tap_like "status names every export with path, size and mode" \
    "$(grep '^export' "$T/out" | tr '\n' '|')" \
    "^export \"a\": $T/a.img, 8388608 bytes \\(8.0 MiB\\), read-write\\|export \"b\": .*\\|export \"ro\": $T/ro.img, 8388608 bytes \\(8.0 MiB\\), read-only\\|$"
tap_is "... and no clients yet" "$(grep -c '^  no clients$' "$T/out")" 3

# Counters: exact requests and bytes.
head -c 65536 /dev/urandom >"$T/blk"
netdiskctl write "$(uri a)" 0 <"$T/blk" && netdiskctl read "$(uri a)" 4096 4096 >/dev/null &&
    netdiskctl read "$(uri a)" 0 8192 >/dev/null
netdiskctl read "$(uri ro)" 0 4096 >/dev/null
badclient -k "$ND_KEY" "$(uri ro)" req-readonly >"$T/bad.out" 2>&1 ||
    tap_diag_file "$T/bad.out"
st --json >"$T/st" 2>"$T/err"
tap_is "status --json is one valid JSON object" "$(jq -r type "$T/st")" object
tap_is "a counts 1 write of 65536 bytes and 2 reads of 12288" \
    "$(jqx '.exports[0] | [.write_requests, .write_bytes, .read_requests, .read_bytes, .errors]')" \
    "[1,65536,2,12288,0]"
tap_is "ro counts the 4 refused write requests as errors, no write" \
    "$(jqx '.exports[2] | [.write_requests, .write_bytes, .errors]')" \
    "[0,0,4]"

# Clients: a steady writer on a, bench with 2 connections on b.
steady -k "$ND_KEY" -f "$T/stop" "$(uri a)" >"$T/a.out" 2>"$T/a.err" &
pa=$!
netdiskctl bench --conns 2 --time 30 "$(uri b)" >"$T/bench.out" 2>"$T/bench.err" &
pb=$!
track_pid $pa $pb
wait_grep 'authenticated: export "a"' "$ND_LOG" 10
wait_grep 'authenticated: export "b"' "$ND_LOG" 10 2
sleep 0.5
st --json >"$T/st" 2>"$T/err"
now=$(date +%s)
id_a=$(grep -o 'authenticated: export "a" client [0-9a-f]*' "$ND_LOG" | tail -1 | awk '{print $NF}')
id_b=$(grep -o 'authenticated: export "b" client [0-9a-f]*' "$ND_LOG" | tail -1 | awk '{print $NF}')
tap_is "a: one client, one connection, from 127.0.0.1, the id in the log" \
    "$(jqx '.exports[0].clients | map([.client_id, .address, .connections])')" \
    "[[\"$id_a\",\"127.0.0.1\",1]]"
tap_is "b: one client with two connections" \
    "$(jqx '.exports[1].clients | map([.client_id, .address, .connections])')" \
    "[[\"$id_b\",\"127.0.0.1\",2]]"
since=$(jq -r '.exports[1].clients[0].since | fromdateiso8601' "$T/st")
tap_ok "... connected since a moment ago ($since, now $now)" \
    test $((now - since)) -ge 0 -a $((now - since)) -le 15
tap_is "ro: no clients" "$(jqx '.exports[2].clients')" "[]"
st >"$T/text" 2>"$T/err"
tap_like "the text report shows b's client" "$(cat "$T/text")" \
    "  client $id_b from 127\\.0\\.0\\.1, 2 connections, since [0-9-]+T[0-9:]+Z"
tap_like "... and a's" "$(cat "$T/text")" \
    "  client $id_a from 127\\.0\\.0\\.1, 1 connection, since "
b_reads=$(jqx '.exports[1].read_requests')
tap_ok "b's counters grow while bench runs ($b_reads)" test "$b_reads" -gt 0

# restart b: reopens the file (replaced meanwhile), disconnects b's
# clients, leaves a alone.
random_file "$T/b.new" $((8 * 1048576))
mv "$T/b.new" "$T/b.img"
opened_a=$(jqx '.exports[0].opened')
tap_ok "restart b: exit 0" netdiskctl restart -s "$ND_CTL" b
tap_is "... says so" "$(cat "$T/out")" 'export "b" restarted'
tap_ok "b's sessions are closed as restarted" \
    wait_grep 'closed: export restarted' "$ND_LOG" 10 2
wait_pid_status $pb 30
tap_is "bench on b fails: its connections were closed" $? 10
sleep 0.5
st --json >"$T/st" 2>"$T/err"
tap_is "b: no clients, counters start again" \
    "$(jqx '.exports[1] | [(.clients | length), .read_requests, .write_requests]')" "[0,0,0]"
tap_is "a: still its one client, export not reopened" \
    "$(jqx '.exports[0] | [(.clients | length), .opened]')" "[1,$opened_a]"
netdiskctl read "$(uri b)" 0 1048576 >"$T/b.back" 2>"$T/err"
tap_is "b now serves the new file" "$(sha_of "$T/b.back")" \
    "$(sha_of "$T/b.img" 0 1048576)"

tap_status "restart of an unknown export: exit 4" 4 \
    netdiskctl restart -s "$ND_CTL" nosuch
tap_is "... names it" "$(cat "$T/err")" 'no export "nosuch"'
rm "$T/b.img" && mkdir "$T/b.img"
tap_status "restart of b whose file became a directory: exit 10" 10 \
    netdiskctl restart -s "$ND_CTL" b
tap_like "... says why" "$(cat "$T/err")" "export \"b\".*$T/b.img"
tap_ok "... and the running b still serves" \
    netdiskctl read "$(uri b)" 0 4096
rmdir "$T/b.img"

# Errors of the commands themselves.
tap_status "status without a daemon: exit 3" 3 \
    netdiskctl status -s "$T/none.sock"
tap_like "... names the socket" "$(cat "$T/err")" \
    "^netdiskctl: cannot reach netdiskd at $T/none.sock: No such file or directory"
tap_status "restart without an export name: exit 2" 2 \
    netdiskctl restart -s "$ND_CTL"
tap_status "reload takes no operand: exit 2" 2 \
    netdiskctl reload -s "$ND_CTL" extra

# What else may arrive on the socket.
printf 'bogus\n' | socat -t 5 - UNIX-CONNECT:"$ND_CTL" >"$T/raw" 2>&1
tap_is "an unknown request gets an error naming it" "$(cat "$T/raw")" \
    "$(printf 'error request\nunknown request "bogus"')"
printf 'restart a\\nb\033\n' | socat -t 5 - UNIX-CONNECT:"$ND_CTL" >"$T/raw" 2>&1
tap_is "a strange export name is quoted safely" "$(cat "$T/raw")" \
    "$(printf 'error no-export\nno export "a\\\\nb\\033"')"
head -c 8000 /dev/zero | tr '\0' x | socat -t 5 - UNIX-CONNECT:"$ND_CTL" >"$T/raw" 2>&1
tap_is "an overlong line is dropped without an answer" "$(cat "$T/raw")" ""
nsock() { ls -l "/proc/$ND_PID/fd" | grep -c socket; }
base=$(nsock)
for i in $(seq 10); do
	socat -t 10 UNIX-CONNECT:"$ND_CTL" EXEC:'sleep 8' &
	track_pid $!
done
sleep 0.5
t0=$(date +%s%N)
tap_ok "10 silent control clients do not hold up the clients of exports" \
    netdiskctl read "$(uri ro)" 0 4096
t1=$(date +%s%N)
# Blocking on them would take their 2 s timeout, 8 at a time.
tap_ok "... (served in $(( (t1 - t0) / 1000000 )) ms, before their 2 s timeout)" \
    test $(( (t1 - t0) / 1000000 )) -lt 1800
tap_ok "status still works, once the silent ones time out" st
for i in $(seq 100); do
	test "$(nsock)" = "$base" && break
	sleep 0.1
done
tap_is "... all of them are dropped (at most 8 at a time, 2 s each)" \
    "$(nsock)" "$base"

# Permissions: mode 0660 root:root lets group root in, nobody else.
chmod 711 "$T"
tap_status "a user outside the socket's group cannot connect: exit 3" 3 \
    setpriv --reuid=65534 --regid=65534 --clear-groups \
    netdiskctl status -s "$ND_CTL"
tap_like "... permission denied" "$(cat "$T/err")" "Permission denied"
tap_ok "a member of the socket's group can" \
    setpriv --reuid=65534 --regid=0 --clear-groups \
    netdiskctl status -s "$ND_CTL"

touch "$T/stop"
wait_pid_status $pa 30
tap_is "a's client ran through all this without a failure" $? 0 ||
    tap_diag_file "$T/a.err"
stop_netdiskd
tap_is "netdiskd exits 0" $? 0
tap_ok "... and removes its control socket" test ! -e "$ND_CTL"
