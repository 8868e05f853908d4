#!/bin/bash
# SPDX-License-Identifier: ISC
# Reload (SIGHUP and netdiskctl reload) while clients work: an unchanged
# export keeps its sessions with not one request failed, a changed one
# restarts and its client reconnects to the new settings, new exports
# appear, removed ones close, listen changes leave established sessions
# alone, and a broken file changes nothing.
. "$(dirname "$0")/functions.sh"

tap_plan 36

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
export NETDISK_KEYFILE=$ND_KEY
conf=$T/netdisk.conf
# conf_v N LISTEN: version N of the file (1: a, b 16M; 2: b 32M, c added).
conf_v() {
	write_conf "$conf" -listen "listen = $2"
	add_export "$conf" a size=16M
	if test "$1" = 1; then
		add_export "$conf" b size=16M
	else
		add_export "$conf" b size=32M
		add_export "$conf" c size=8M
	fi
}
conf_v 1 "127.0.0.1:$ND_PORT, 127.0.0.2:$ND_PORT"
start_netdiskd "$conf"

# A through 127.0.0.2 (dropped by the reload), B through 127.0.0.1.
steady -k "$ND_KEY" -f "$T/stop" "netdisk://127.0.0.2:$ND_PORT/a" \
    >"$T/a.out" 2>"$T/a.err" &
pa=$!
steady -r -k "$ND_KEY" -f "$T/stop" "$(uri b)" >"$T/b.out" 2>"$T/b.err" &
pb=$!
track_pid $pa $pb
wait_log 'authenticated: export "a"' 10
wait_log 'authenticated: export "b"' 10
sleep 1
netdiskctl status -s "$ND_CTL" --json >"$T/st1" 2>"$T/err"
tap_is "status before the reload: a and b have one client each" \
    "$(jq -c '[.exports[] | [.name, (.clients | length)]]' "$T/st1")" \
    '[["a",1],["b",1]]'
a_before=$(jq '.exports[0].write_requests' "$T/st1")

# Version 2: b grows, c appears, 127.0.0.2 goes, 127.0.0.3 comes.
conf_v 2 "127.0.0.1:$ND_PORT, 127.0.0.3:$ND_PORT"
kill -HUP "$ND_PID"
tap_ok "SIGHUP: configuration reloaded" wait_log 'configuration reloaded' 10
tap_ok "b is reconfigured" grep -q 'export "b": reconfigured' "$ND_LOG"
tap_ok "b's session is closed as reconfigured" \
    wait_log 'closed: export reconfigured' 10
tap_ok "b's client reconnects and sees the new size" \
    wait_grep 'connected: size 33554432 readonly 0' "$T/b.out" 15
tap_ok "the old listener is closed" \
    grep -q "no longer listening on 127.0.0.2:$ND_PORT" "$ND_LOG"
tap_ok "the new listener is open" \
    grep -q "listening on 127.0.0.3:$ND_PORT" "$ND_LOG"
tap_status "a new connection to the dropped address fails (exit 3)" 3 \
    netdiskctl info "netdisk://127.0.0.2:$ND_PORT/c"
tap_ok "the new export c is served on the new address" \
    netdiskctl info "netdisk://127.0.0.3:$ND_PORT/c"
tap_like "... with its size" "$(cat "$T/out")" "size: 8388608 "
sleep 1
tap_ok "a's client, connected through the dropped address, still runs" \
    pid_alive $pa
netdiskctl status -s "$ND_CTL" --json >"$T/st2" 2>"$T/err"
a_after=$(jq '.exports[] | select(.name == "a") | .write_requests' "$T/st2")
tap_ok "a kept serving writes across the reload ($a_before -> $a_after)" \
    test "$a_after" -gt "$a_before"
tap_is "a's counters were kept (same export, not reopened)" \
    "$(jq -r '.exports[] | select(.name == "a") | .opened' "$T/st2")" \
    "$(jq -r '.exports[] | select(.name == "a") | .opened' "$T/st1")"
tap_is "status after: a, b and c with 1, 1, 0 clients" \
    "$(jq -c '[.exports[] | [.name, (.clients | length), .size]]' "$T/st2")" \
    '[["a",1,16777216],["b",1,33554432],["c",0,8388608]]'
tap_is "status lists the new listeners" \
    "$(jq -c '.listen' "$T/st2")" "[\"127.0.0.1:$ND_PORT\",\"127.0.0.3:$ND_PORT\"]"

# A broken file: nothing changes.
cp "$conf" "$T/good.conf"
printf '[c]\nsize = 10X\n' >>"$conf"
kill -HUP "$ND_PID"
tap_ok "SIGHUP with a broken file: reload failed" \
    wait_log 'reload failed: keeping the running configuration' 10
tap_ok "... the error is logged with FILE:LINE" \
    grep -Eq "$conf:[0-9]+: " "$ND_LOG"
tap_status "netdiskctl reload with the broken file: exit 11" 11 \
    netdiskctl reload -s "$ND_CTL"
tap_like "... prints FILE:LINE errors" "$(cat "$T/err")" \
    "$conf:[0-9]+: (export \"c\": duplicate section|export \"c\": size \"10X\")"
tap_is "... and nothing on stdout" "$(cat "$T/out")" ""
netdiskctl status -s "$ND_CTL" --json >"$T/st3" 2>"$T/err"
tap_is "the running configuration is unchanged" \
    "$(jq -c '[.exports[] | [.name, (.clients | length), .size]]' "$T/st3")" \
    '[["a",1,16777216],["b",1,33554432],["c",0,8388608]]'

# A valid file whose new export cannot be opened: refused as a whole.
cp "$T/good.conf" "$conf"
mkdir "$T/dir.img"
add_export "$conf" d path="$T/dir.img"
tap_status "netdiskctl reload with an export that cannot be opened: exit 11" 11 \
    netdiskctl reload -s "$ND_CTL"
tap_like "... names the export and its path" "$(cat "$T/err")" \
    "export \"d\": $T/dir.img"
tap_status "... d is not served" 4 netdiskctl info "$(uri d)"
tap_ok "... c still is" netdiskctl info "$(uri c)"

# Back to version 1 with netdiskctl reload: c is removed, b shrinks back.
conf_v 1 "127.0.0.1:$ND_PORT"
tap_ok "netdiskctl reload: exit 0" netdiskctl reload -s "$ND_CTL"
tap_like "... says so" "$(cat "$T/out")" "^configuration reloaded$"
tap_ok "c is removed" grep -q 'export "c": removed' "$ND_LOG"
tap_status "c is no longer served (exit 4)" 4 netdiskctl info "$(uri c)"
# b's image keeps its 32M (a file is never shrunk), b serves 16M of it.
tap_ok "b's client reconnects once more, to the old size" \
    wait_grep 'connected: size 16777216 readonly 0' "$T/b.out" 15 2

touch "$T/stop"
steady_end a $pa "$T/a.out" "$T/a.err" 0
steady_end b $pb "$T/b.out" "$T/b.err" 2
tap_is "two sessions closed by the reloads, both b's" \
    "$(grep -c 'closed: export reconfigured' "$ND_LOG")" 2
stop_netdiskd
tap_is "netdiskd exits 0" $? 0
