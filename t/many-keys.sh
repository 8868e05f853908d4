#!/bin/bash
# SPDX-License-Identifier: ISC
# 1,000 exports, each with a key of its own: the first and the last
# export's clients both attach, a hello under a key nobody has is closed,
# and the time to the ServerHello does not depend on which key it was
# (every key is tried for every hello: docs/protocol.md 6.2, step 5).
# The times are printed, not asserted: the machine may be busy.
. "$(dirname "$0")/functions.sh"

requires badclient

N=1000
ROUNDS=30

tap_plan 6

ulimit -n 4096 2>/dev/null
random_keys "$T/keys" $N
write_conf "$T/netdisk.conf" -keyfile
chmod 600 "$T/netdisk.conf"
awk -v dir="$T" '{ name = sprintf("e%04d", NR)
    printf "[%s]\npath = %s/%s.img\nsize = 1M\nkey = %s\n\n", name, dir, name, $0 }' \
    "$T/keys" >>"$T/netdisk.conf"
(cd "$T" && eval truncate -s 1M "e{0001..$(printf '%04d' $N)}.img") ||
    bail_out "cannot make the backing files"
(umask 077
sed -n 1p "$T/keys" >"$T/first.key"
sed -n ${N}p "$T/keys" >"$T/last.key"
od -An -tx1 -v -N 32 /dev/urandom | tr -d ' \n' >"$T/nobody.key")
start_netdiskd "$T/netdisk.conf"

time_hellos() {
	badclient -n $ROUNDS -k "$2" "$(uri "$1")" hello-time >"$T/$3.out" \
	    2>"$T/$3.err"
}

tap_ok "the first export's key attaches ($ROUNDS handshakes)" \
    time_hellos e0001 "$T/first.key" first
tap_like "every hello under the first key was answered" \
    "$(cat "$T/first.out")" " $ROUNDS answered, 0 closed" ||
    tap_diag_file "$T/first.err"
tap_ok "the last export's key attaches ($ROUNDS handshakes)" \
    time_hellos "e$(printf '%04d' $N)" "$T/last.key" last
tap_like "every hello under the last key was answered" \
    "$(cat "$T/last.out")" " $ROUNDS answered, 0 closed" ||
    tap_diag_file "$T/last.err"
time_hellos e0001 "$T/nobody.key" nobody
tap_like "every hello under a key nobody has was closed" \
    "$(cat "$T/nobody.out")" " 0 answered, $ROUNDS closed" ||
    tap_diag_file "$T/nobody.err"
tap_diag "$N keys, first: $(sed 's/.*: //' "$T/first.out")" \
    "$N keys, last: $(sed 's/.*: //' "$T/last.out")" \
    "$N keys, unknown key: $(sed 's/.*: //' "$T/nobody.out")"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
