#!/bin/bash
# SPDX-License-Identifier: ISC
# Protocol version 3 end to end: netdiskctl genkey --server and pubkey;
# netdiskd with server_key serves version 3 clients (--server-key HEX,
# FILE or NETDISK_SERVER_KEY; shared keys and client identities) and
# still version 2 clients; a wrong server public key is refused exactly
# like a wrong key; min_version = 3 refuses version 2 clients with a
# version reject; without server_key a version 3 client is refused and
# never falls back to version 2.
. "$(dirname "$0")/functions.sh"

tap_plan 27

mkdir -m 700 "$T/clients" || bail_out "cannot make $T/clients"
for k in "$ND_KEY" "$T/clients/alice.key" "$T/wrong.key"; do
	make_key "$k" || bail_out "netdiskctl genkey -o $k failed"
done

tap_ok "genkey --server -o FILE" \
    netdiskctl genkey --server -o "$T/server.key"
pub=$(cat "$T/out")
tap_like "... prints the public key" "$pub" '^[0-9a-f]{64}$'
tap_ok "pubkey FILE" netdiskctl pubkey "$T/server.key"
tap_is "... prints the same public key" "$(cat "$T/out")" "$pub"
tap_status "genkey --server without -o: usage error" 2 \
    netdiskctl genkey --server
echo "$pub" >"$T/server.pub"
chmod 644 "$T/server.pub"
netdiskctl genkey --server -o "$T/other.key" >/dev/null 2>&1 ||
    bail_out "genkey --server failed"
other=$(netdiskctl pubkey "$T/other.key")

conf=$T/netdisk.conf
# conf_v GLOBAL...: the file with these [global] lines.
conf_v() {
	write_conf "$conf" "clients_dir=$T/clients" "$@"
	add_export "$conf" shared size=1M
	add_export "$conf" alab size=1M clients=alice
}
conf_v min_version=3
tap_status "min_version = 3 without server_key: netdiskd -n refuses" 1 \
    netdiskd -n -c "$conf"
tap_like "... saying why" "$(cat "$T/err")" "min_version 3 needs server_key"
conf_v "server_key=$T/server.key"
start_netdiskd "$conf"

tap_status "v3 with --server-key HEX" 0 \
    netdiskctl info -k "$ND_KEY" --server-key "$pub" "$(uri shared)"
tap_status "v3 with --server-key FILE" 0 \
    netdiskctl info -k "$ND_KEY" --server-key "$T/server.pub" "$(uri shared)"
tap_status "v3 with NETDISK_SERVER_KEY" 0 \
    env NETDISK_SERVER_KEY="$pub" netdiskctl info -k "$ND_KEY" "$(uri shared)"
tap_status "v3: alice's identity key opens alab" 0 \
    netdiskctl info -k "$T/clients/alice.key" --server-key "$pub" "$(uri alab)"
tap_ok "... and the log names her identity" grep -Eq \
    ': authenticated: export "alab" client [0-9a-f]{32} identity "alice"$' \
    "$ND_LOG"
random_file "$T/data" 65536
netdiskctl write -k "$ND_KEY" --server-key "$pub" "$(uri shared)" 0 \
    <"$T/data" >/dev/null 2>&1
tap_ok "v3: read back what was written" \
    netdiskctl read -k "$ND_KEY" --server-key "$pub" "$(uri shared)" 0 65536
tap_is "... the same bytes" "$(sha_of "$T/out")" "$(sha_of "$T/data")"
tap_status "v2 clients are still served" 0 \
    netdiskctl info -k "$ND_KEY" "$(uri shared)"

tap_status "v3 with a wrong key: exit 4" 4 \
    netdiskctl info -k "$T/wrong.key" --server-key "$pub" "$(uri shared)"
wrong_err=$(cat "$T/err")
tap_status "v3 with a wrong server public key: exit 4" 4 \
    netdiskctl info -k "$ND_KEY" --server-key "$other" "$(uri shared)"
tap_is "... with the same message as a wrong key" "$(cat "$T/err")" \
    "$wrong_err"
tap_ok "the log says a v3 hello failed" grep -q \
    'no key authenticates the version 3 hello' "$ND_LOG"
tap_ok "the server's private key is not in the log" \
    bash -c "! grep -qi '$(cat "$T/server.key")' '$ND_LOG'"

conf_v "server_key=$T/server.key" min_version=3
tap_ok "reload with min_version = 3" netdiskctl reload -s "$ND_CTL"
tap_status "a v2 client is refused: exit 9" 9 \
    netdiskctl info -k "$ND_KEY" "$(uri shared)"
tap_like "... told that the server needs its public key" "$(cat "$T/err")" \
    'versions 3-3 only: it needs its public key \(--server-key\)'
tap_status "v3 clients are still served" 0 \
    netdiskctl info -k "$ND_KEY" --server-key "$pub" "$(uri shared)"

conf_v
tap_ok "reload without server_key" netdiskctl reload -s "$ND_CTL"
tap_status "a v3 client is refused (no fallback to v2): exit 9" 9 \
    netdiskctl info -k "$ND_KEY" --server-key "$pub" "$(uri shared)"
tap_like "... told that the server has no static key" "$(cat "$T/err")" \
    'versions 2-2: it has no static key'
