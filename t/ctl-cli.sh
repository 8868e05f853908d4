#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl: usage errors, exit codes, genkey, bench output.
. "$(dirname "$0")/functions.sh"

tap_plan 26

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=8M
start_netdiskd "$T/netdisk.conf"

# Usage.
tap_status "no arguments: usage, exit 2" 2 netdiskctl
tap_like "no arguments: usage on stderr" "$(cat "$T/err")" '[Uu]sage'
tap_status "unknown subcommand: exit 2" 2 netdiskctl frobnicate
tap_like "unknown subcommand is named" "$(cat "$T/err")" 'frobnicate'

# genkey.
tap_status "genkey to stdout" 0 netdiskctl genkey
k1=$(cat "$T/out")
tap_like "genkey prints 64 hex digits" "$k1" '^[0-9a-f]{64}$'
tap_is "genkey prints one line of 65 bytes" "$(wc -lc <"$T/out" | tr -s ' ' | sed 's/^ //')" "1 65"
netdiskctl genkey >"$T/out2" 2>/dev/null
tap_ok "two keys differ" test "$k1" != "$(cat "$T/out2")"
(umask 000 && netdiskctl genkey -o "$T/new.key") >"$T/out" 2>"$T/err"
tap_is "genkey -o exits 0 (umask 000)" "$?" 0
tap_is "genkey -o creates the file mode 0600 whatever the umask" \
    "$(stat -c %a "$T/new.key" 2>&1)" 600
tap_like "genkey -o writes 64 hex digits" "$(cat "$T/new.key")" '^[0-9a-f]{64}$'
before=$(sha_of "$T/new.key")
netdiskctl genkey -o "$T/new.key" >"$T/out" 2>"$T/genkey.err"
st=$?
tap_ok "genkey -o refuses to overwrite an existing file (exit $st)" test $st -ne 0
tap_is "the existing key file is unchanged" "$(sha_of "$T/new.key")" "$before"
tap_like "the refusal names the file" "$(cat "$T/genkey.err")" "new\\.key"

# URIs and connections.
tap_status "bad URI: exit 2" 2 netdiskctl info -k "$ND_KEY" http://127.0.0.1/disk
tap_like "bad URI: message names the URI" "$(cat "$T/err")" 'http://127\.0\.0\.1/disk'
tap_status "URI without an export: exit 2" 2 \
    netdiskctl info -k "$ND_KEY" "netdisk://127.0.0.1:$ND_PORT/"
refused=$(free_port)
tap_status "connection refused: exit 3" 3 \
    netdiskctl info -k "$ND_KEY" "netdisk://127.0.0.1:$refused/disk"
tap_like "connection refused: message" "$(cat "$T/err")" \
    "127\\.0\\.0\\.1:$refused: connection refused"
NETDISK_KEYFILE=$ND_KEY tap_status "NETDISK_KEYFILE supplies the key" 0 \
    netdiskctl info "$(uri disk)"

# bench.
tap_status "bench --rw randwrite without --destructive: exit 2" 2 \
    netdiskctl bench -k "$ND_KEY" "$(uri disk)" --rw randwrite --time 1
tap_status "bench --rw write without --destructive: exit 2" 2 \
    netdiskctl bench -k "$ND_KEY" "$(uri disk)" --rw write --time 1
tap_status "bench --rw randread --json --time 1" 0 \
    netdiskctl bench -k "$ND_KEY" "$(uri disk)" --rw randread --json --time 1
json=$(cat "$T/out")
tap_like "bench --json has iops, mbps and lat_p50_us" \
    "$(echo "$json" | json_field iops) $(echo "$json" | json_field mbps) $(echo "$json" | json_field lat_p50_us)" \
    '^[0-9.e+]+ [0-9.e+]+ [0-9.e+]+$'
if command -v jq >/dev/null 2>&1; then
	tap_ok "bench --json output is valid JSON" \
	    jq -e 'has("iops") and has("mbps") and has("lat_p50_us")' "$T/out"
else
	tap_skip "bench --json output is valid JSON" "jq not found"
fi

tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
