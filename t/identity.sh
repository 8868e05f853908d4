#!/bin/bash
# SPDX-License-Identifier: ISC
# Client identities: each identity's key opens the exports that list it
# and no other, refused like a wrong key; the shared key keeps working;
# status shows who is connected; a reload that changes or removes an
# identity's key, or takes an identity off an export's list, disconnects
# that client only and refuses it from then on; two identities with one
# key are refused.
. "$(dirname "$0")/functions.sh"

requires jq

tap_plan 39

mkdir -m 700 "$T/clients" || bail_out "cannot make $T/clients"
for k in "$ND_KEY" "$T/clients/alice.key" "$T/clients/bob.key" \
    "$T/carol.key" "$T/wrong.key"; do
	make_key "$k" || bail_out "netdiskctl genkey -o $k failed"
done
conf=$T/netdisk.conf
# conf_v BOTH_CLIENTS [CAROL]: the file, with "both"'s clients list, and
# carol's section (and clab for her) unless CAROL is "no".
conf_v() {
	write_conf "$conf" "clients_dir=$T/clients"
	if test "${2:-yes}" = yes; then
		printf '[client carol]\nkeyfile = %s\n\n' "$T/carol.key" >>"$conf"
		add_export "$conf" clab size=1M clients=carol
	else
		add_export "$conf" clab size=1M clients=bob
	fi
	add_export "$conf" shared size=1M
	add_export "$conf" alab size=1M clients=alice
	add_export "$conf" blab size=1M clients=bob
	add_export "$conf" both size=1M "clients=$1"
}
conf_v "alice bob carol"
start_netdiskd "$conf"

tap_status "the wrong key is refused: exit 4" 4 \
    netdiskctl info -k "$T/wrong.key" "$(uri blab)"
wrong_err=$(cat "$T/err")
tap_status "alice's key opens alab" 0 \
    netdiskctl info -k "$T/clients/alice.key" "$(uri alab)"
tap_status "bob's key opens blab" 0 \
    netdiskctl info -k "$T/clients/bob.key" "$(uri blab)"
tap_status "carol's key (a [client] section) opens both" 0 \
    netdiskctl info -k "$T/carol.key" "$(uri both)"
tap_status "alice's key does not open blab: exit 4" 4 \
    netdiskctl info -k "$T/clients/alice.key" "$(uri blab)"
tap_is "... with the same message as a wrong key" "$(cat "$T/err")" \
    "$wrong_err"
tap_status "bob's key does not open alab: exit 4" 4 \
    netdiskctl info -k "$T/clients/bob.key" "$(uri alab)"
tap_status "alice's key does not open the shared export: exit 4" 4 \
    netdiskctl info -k "$T/clients/alice.key" "$(uri shared)"
tap_status "the shared key opens the shared export" 0 \
    netdiskctl info -k "$ND_KEY" "$(uri shared)"
tap_status "the shared key does not open an export with clients: exit 4" 4 \
    netdiskctl info -k "$ND_KEY" "$(uri blab)"
tap_is "... with the same message as a wrong key" \
    "$(sed "s|/alab|/blab|" "$T/err")" "$wrong_err"
tap_ok "the log tells the real reason, naming the identity" \
    grep -q 'authentication failed: key not valid for export "blab" (client "alice")' \
    "$ND_LOG"
tap_ok "the log names the identity of an authenticated client" \
    grep -Eq ': authenticated: export "alab" client [0-9a-f]{32} identity "alice"$' \
    "$ND_LOG"

# Long-lived clients, each on an export of its own (a read-write export
# serves one client id): alice and carol do not reconnect; bob and the
# shared key would, and it would show.
steady -k "$T/clients/alice.key" -f "$T/stop" "$(uri alab)" \
    >"$T/alice.out" 2>"$T/alice.err" &
pa=$!
steady -k "$T/carol.key" -f "$T/stop" "$(uri clab)" \
    >"$T/carol.out" 2>"$T/carol.err" &
pc=$!
steady -r -k "$T/clients/bob.key" -f "$T/stop" "$(uri blab)" \
    >"$T/bob.out" 2>"$T/bob.err" &
pb=$!
steady -r -k "$ND_KEY" -f "$T/stop" "$(uri shared)" \
    >"$T/shared.out" 2>"$T/shared.err" &
ps=$!
track_pid $pa $pb $pc $ps
for f in alice bob carol shared; do
	wait_grep 'connected: ' "$T/$f.out" 10
done
sleep 1
netdiskctl status -s "$ND_CTL" --json >"$T/st1" 2>"$T/err"
tap_is "status --json: the identity of each export's client" \
    "$(jq -c '[.exports[] | {(.name): [.clients[].identity]}] | add' "$T/st1")" \
    '{"clab":["carol"],"shared":[null],"alab":["alice"],"blab":["bob"],"both":[]}'
tap_is "status --json: 3 identities configured" \
    "$(jq '.identities' "$T/st1")" 3
tap_ok "netdiskctl status" netdiskctl status -s "$ND_CTL"
tap_like "... shows the identities" "$(cat "$T/out")" \
    "client [0-9a-f]{32} identity \"alice\" from 127\\.0\\.0\\.1"
tap_like "... and how many there are" "$(cat "$T/out")" "client identities: 3"

# Reload 1: alice's key changes.
cp "$T/clients/alice.key" "$T/alice-old.key"
make_key "$T/alice-new.key" && mv "$T/alice-new.key" "$T/clients/alice.key"
tap_ok "reload with a new key for alice" netdiskctl reload -s "$ND_CTL"
tap_ok "alice's session is disconnected" \
    wait_log 'client "alice": access revoked: disconnecting' 10
wait_pid_status $pa 15
tap_is "alice's client loses its connection (exit 1)" $? 1
tap_status "alice's old key is refused from now on: exit 4" 4 \
    netdiskctl info -k "$T/alice-old.key" "$(uri both)"
tap_is "... like a wrong key" "$(sed "s|/both|/blab|" "$T/err")" "$wrong_err"
tap_status "her new key opens both (she may use it)" 0 \
    netdiskctl info -k "$T/clients/alice.key" "$(uri both)"
steady -k "$T/clients/alice.key" -f "$T/stop" "$(uri both)" \
    >"$T/alice2.out" 2>"$T/alice2.err" &
pa=$!
track_pid $pa
wait_grep 'connected: ' "$T/alice2.out" 10

# Reload 2: alice is taken off both's list, carol is removed.
conf_v "bob" no
tap_ok "reload: alice off both's list, carol removed" \
    netdiskctl reload -s "$ND_CTL"
wait_pid_status $pa 15
tap_is "alice's client loses its connection (exit 1)" $? 1
wait_pid_status $pc 15
tap_is "carol's client loses its connection (exit 1)" $? 1
tap_is "the log says so for both" \
    "$(grep -Ec 'client "(alice|carol)": access revoked: disconnecting' "$ND_LOG")" 3
tap_status "alice's key no longer opens both: exit 4" 4 \
    netdiskctl info -k "$T/clients/alice.key" "$(uri both)"
tap_status "... but still alab" 0 \
    netdiskctl info -k "$T/clients/alice.key" "$(uri alab)"
tap_status "carol's key opens nothing: exit 4" 4 \
    netdiskctl info -k "$T/carol.key" "$(uri both)"
tap_is "... like a wrong key" "$(sed "s|/both|/blab|" "$T/err")" "$wrong_err"

# Two identities with one key: refused, the running configuration kept.
cp "$T/clients/bob.key" "$T/clients/bobby.key"
tap_status "a second identity with bob's key: reload refused (exit 11)" 11 \
    netdiskctl reload -s "$ND_CTL"
tap_like "... the error names both and the rule" "$(cat "$T/err")" \
    "client \"bobby\": keyfile \"$T/clients/bobby.key\": the same key as client \"bob\" \\(line [0-9]+\\): the key decides who the client is"
rm "$T/clients/bobby.key"

touch "$T/stop"
# Never disconnected by the reloads:
steady_end bob $pb "$T/bob.out" "$T/bob.err" 0
steady_end "the shared key" $ps "$T/shared.out" "$T/shared.err" 0
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
