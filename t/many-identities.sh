#!/bin/bash
# SPDX-License-Identifier: ISC
# 1,000 client identities (a clients_dir of NAME.key files): the first and
# the last identity both attach an export with "clients = *", one not on
# a short list is closed like a key nobody has, and the time to the
# ServerHello does not depend on which key it was.  Then the same with
# protocol version 3 (server_key, hellos with a key hint) after a
# reload.  The times and the server's CPU per bogus hello
# (/proc/PID/stat) are printed for both versions, not asserted: the
# machine may be busy.
. "$(dirname "$0")/functions.sh"

requires badclient

# ND_IDENTITIES=1 t/many-identities.sh: the same figures with 1 identity.
N=${ND_IDENTITIES:-1000}
ROUNDS=30
BOGUS_ROUNDS=300	# for the server's CPU time, counted in clock ticks

tap_plan 13

ulimit -n 4096 2>/dev/null
make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
mkdir -m 700 "$T/clients" || bail_out "cannot make $T/clients"
# N keys, as c0001.key ... c1000.key.
random_keys "$T/keys" $N
(umask 077
awk -v dir="$T/clients" '{ f = sprintf("%s/c%04d.key", dir, NR)
    print > f; close(f) }' "$T/keys"
od -An -tx1 -v -N 32 /dev/urandom | tr -d ' \n' >"$T/nobody.key")
write_conf "$T/netdisk.conf" "clients_dir=$T/clients"
add_export "$T/netdisk.conf" all size=1M "clients=*"
add_export "$T/netdisk.conf" few size=1M "clients=c0001"
start_netdiskd "$T/netdisk.conf"
first=$T/clients/c0001.key
last=$T/clients/c$(printf '%04d' $N).key

# time_hellos EXPORT KEYFILE NAME [BADCLIENT OPTIONS]
time_hellos() {
	badclient -n $ROUNDS -k "$2" "${@:4}" "$(uri "$1")" hello-time \
	    >"$T/$3.out" 2>"$T/$3.err"
}
# Server CPU time in clock ticks (user + system).
server_ticks() {
	awk '{ print $14 + $15 }' "/proc/$ND_PID/stat"
}

tap_ok "the first identity attaches ($ROUNDS handshakes)" \
    time_hellos all "$first" first
tap_like "every hello under the first key was answered" \
    "$(cat "$T/first.out")" " $ROUNDS answered, 0 closed" ||
    tap_diag_file "$T/first.err"
tap_ok "the last identity attaches ($ROUNDS handshakes)" \
    time_hellos all "$last" last
if test $N -gt 1; then
	tap_status "the last identity is refused on an export that does not list it" \
	    4 netdiskctl info -k "$last" "$(uri few)"
else
	tap_skip "the last identity is refused on an export that does not list it" \
	    "one identity only"
fi
t0=$(server_ticks)
ROUNDS=$BOGUS_ROUNDS time_hellos all "$T/nobody.key" nobody
t1=$(server_ticks)
tap_like "every hello under a key nobody has was closed" \
    "$(cat "$T/nobody.out")" " 0 answered, $BOGUS_ROUNDS closed" ||
    tap_diag_file "$T/nobody.err"
tap_ok "netdiskctl status" netdiskctl status -s "$ND_CTL"
tap_like "... counts $N identities" "$(cat "$T/out")" "client identities: $N"
# cpu_per_hello TICKS: the server's CPU per hello of ROUNDS, in ms.
cpu_per_hello() {
	awk -v t="$1" -v hz="$(getconf CLK_TCK)" -v n=$BOGUS_ROUNDS \
	    'BEGIN { printf "%.3f ms (%d ticks for %d)", t * 1000 / hz / n, t, n }'
}
tap_diag "v2, $N identities, first: $(sed 's/.*: //' "$T/first.out")" \
    "v2, $N identities, last: $(sed 's/.*: //' "$T/last.out")" \
    "v2, $N identities, unknown key: $(sed 's/.*: //' "$T/nobody.out")" \
    "v2, server CPU per bogus hello: $(cpu_per_hello $((t1 - t0)))"

# Version 3: the same identities, found by the key hint.
netdiskctl genkey --server -o "$T/server.key" >"$T/server.pub" 2>"$T/err" ||
    bail_out "netdiskctl genkey --server failed"
pub=$(cat "$T/server.pub")
write_conf "$T/netdisk.conf" "clients_dir=$T/clients" \
    "server_key=$T/server.key"
add_export "$T/netdisk.conf" all size=1M "clients=*"
add_export "$T/netdisk.conf" few size=1M "clients=c0001"
tap_ok "reload with server_key" netdiskctl reload -s "$ND_CTL"
tap_ok "v3: the first identity attaches ($ROUNDS handshakes)" \
    time_hellos all "$first" first3 -S "$pub"
tap_ok "v3: the last identity attaches ($ROUNDS handshakes)" \
    time_hellos all "$last" last3 -S "$pub"
t0=$(server_ticks)
ROUNDS=$BOGUS_ROUNDS time_hellos all "$T/nobody.key" nobody3 -S "$pub"
t1=$(server_ticks)
tap_like "v3: every hello under a key nobody has was closed" \
    "$(cat "$T/nobody3.out")" " 0 answered, $BOGUS_ROUNDS closed" ||
    tap_diag_file "$T/nobody3.err"
t2=$(server_ticks)
ROUNDS=$BOGUS_ROUNDS time_hellos all "$T/nobody.key" nobody2
t3=$(server_ticks)
tap_like "v2 still served beside v3: bogus hellos closed" \
    "$(cat "$T/nobody2.out")" " 0 answered, $BOGUS_ROUNDS closed"
tap_diag "v3, $N identities, first: $(sed 's/.*: //' "$T/first3.out")" \
    "v3, $N identities, last: $(sed 's/.*: //' "$T/last3.out")" \
    "v3, $N identities, unknown key: $(sed 's/.*: //' "$T/nobody3.out")" \
    "v3, server CPU per bogus hello: $(cpu_per_hello $((t1 - t0)))" \
    "v2 (same run, after v3), server CPU per bogus hello: $(cpu_per_hello $((t3 - t2)))"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
