#!/bin/bash
# SPDX-License-Identifier: ISC
# Reloads and restarts with NBD clients connected: netdiskctl restart of
# an export ends its NBD sessions (the requests they read answered) and
# leaves those of the other exports alone; a reload that changes an
# export's nbd setting ends its sessions, and nbd = no takes it out of the
# list; a reload that changes nothing of an export keeps its sessions.
. "$(dirname "$0")/functions.sh"
. "$top_srcdir/t/nbd/nbd.sh"

requires_nbd_python

tap_plan 13

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s 8M "$T/a.img" "$T/b.img"
conf() {
	nbd_write_conf "$T/netdisk.conf"
	add_export "$T/netdisk.conf" a size=8M nbd=plain
	add_export "$T/netdisk.conf" b size=8M "nbd=$1"
}
conf plain
nbd_start "$T/netdisk.conf"

# hold NAME: an NBD client of export NAME that writes and reads back 4 KiB
# every 50 ms until its connection ends or $T/stop-NAME appears; its last
# line says which, and how many rounds it did.
hold() {
	STOP="$T/stop-$1" URI="$(nbd_uri "$1")" "$NBD_PYTHON" -c '
import os, time, nbd
h = nbd.NBD()
h.connect_uri(os.environ["URI"])
n = 0
try:
    while not os.path.exists(os.environ["STOP"]):
        buf = os.urandom(4096)
        h.pwrite(buf, (n % 64) * 4096)
        assert h.pread(4096, (n % 64) * 4096) == buf
        n += 1
        time.sleep(0.05)
    h.shutdown()
    print("stopped", n, flush=True)
except nbd.Error as e:
    print("ended", n, e.string, flush=True)
' >"$T/hold-$1.out" 2>&1 &
	track_pid $!
	eval "hold_$1=\$!"
}
rounds() {
	awk '{ print $2 }' "$T/hold-$1.out" 2>/dev/null
}

hold a
hold b
sleep 1
netdiskctl restart -s "$ND_CTL" b >"$T/out" 2>"$T/err"
tap_is "netdiskctl restart b with NBD clients of a and b" "$?" 0 ||
    tap_diag_file "$T/err"
wait_pid_status "$hold_b" 20
tap_like "... b's NBD session ended" "$(cat "$T/hold-b.out")" '^ended '
tap_ok "... its end logged: export restarted" \
    wait_log ': closed: export restarted' 10
tap_ok "... a's NBD client goes on" pid_alive "$hold_a"

hold b
sleep 1
conf plain
kill -HUP "$ND_PID"
tap_ok "a reload that changes neither export" \
    wait_log 'configuration reloaded' 10
sleep 1
tap_ok "... keeps b's NBD session" pid_alive "$hold_b"

n=$(grep -c 'configuration reloaded' "$ND_LOG")
conf no
kill -HUP "$ND_PID"
tap_ok "a reload that sets b's nbd = no" \
    wait_log 'configuration reloaded' 10 $((n + 1))
wait_pid_status "$hold_b" 20
tap_like "... ends b's NBD session" "$(cat "$T/hold-b.out")" '^ended '
nbdinfo --list "$(nbd_uri)" >"$T/list" 2>&1
tap_ok "... b is no longer in the list" sh -c "! grep -q 'export=\"b\"' '$T/list'"
tap_ok "... a still is" grep -q 'export="a"' "$T/list"

touch "$T/stop-a"
wait_pid_status "$hold_a" 20
tap_like "a's NBD client went on through it all" "$(cat "$T/hold-a.out")" \
    '^stopped [1-9][0-9]*$'
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
