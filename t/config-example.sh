#!/bin/bash
# SPDX-License-Identifier: ISC
# netdisk.conf.example is a valid configuration (and serves its demo
# export); a broken configuration gets every error as FILE:LINE: message.
. "$(dirname "$0")/functions.sh"

example="$top_srcdir/netdisk.conf.example"
test -f "$example" || bail_out "$example is missing"

tap_plan 21

# The example uses paths relative to its own directory: demo/...
mkdir "$T/ex" "$T/ex/demo"
cp "$example" "$T/ex/netdisk.conf"
make_key "$T/ex/demo/netdisk.key" || bail_out "netdiskctl genkey -o failed"

(cd / && netdiskd -n -c "$T/ex/netdisk.conf") >"$T/out" 2>"$T/err"
tap_is "the example passes netdiskd -n (from another directory)" "$?" 0 ||
    tap_diag_file "$T/err"
tap_is "... and says configuration OK" "$(cat "$T/out")" "configuration OK"
tap_is "... with nothing on stderr" "$(cat "$T/err")" ""

# Run it for real, on free ports.
nbd_port=$(free_port)
sed -e "s/^port = .*/port = $ND_PORT/" \
    -e "s/^nbd_listen = 127.0.0.1:.*/nbd_listen = 127.0.0.1:$nbd_port/" \
    "$T/ex/netdisk.conf" >"$T/ex/run.conf"
tap_ok "the example's port line was found" grep -q "^port = $ND_PORT\$" "$T/ex/run.conf"
tap_ok "... and its nbd_listen line" \
    grep -q "^nbd_listen = 127.0.0.1:$nbd_port\$" "$T/ex/run.conf"
cd / && start_netdiskd "$T/ex/run.conf" && cd - >/dev/null
netdiskctl info --json -k "$T/ex/demo/netdisk.key" "$(uri demo)" >"$T/info" 2>"$T/err"
tap_is "the example serves its demo export" "$?" 0 || tap_diag_file "$T/err"
tap_is "... of 1 GiB" "$(json_field size <"$T/info")" 1073741824
tap_ok "... in a sparse image created in demo/" \
    test "$(allocated "$T/ex/demo/demo.img")" -lt 1073741824
if command -v qemu-img >/dev/null 2>&1; then
	qemu-img info --output=json "nbd://127.0.0.1:$nbd_port/demo" \
	    >"$T/qinfo" 2>"$T/err"
	tap_is "the demo export is served to NBD clients (qemu-img info)" \
	    "$?" 0 || tap_diag_file "$T/err"
	tap_like "... of 1 GiB" "$(cat "$T/qinfo")" '"virtual-size": 1073741824'
else
	tap_skip "the demo export is served to NBD clients" "no qemu-img"
	tap_skip "... of 1 GiB" "no qemu-img"
fi
tap_ok "netdiskd on the example exits 0 on SIGTERM" stop_netdiskd

# A broken configuration: every error, each with its file and line.
cat >"$T/broken.conf" <<CONF
# a configuration with six errors
[global]
listen = 127.0.0.1:$ND_PORT
keyfile = ex/demo/netdisk.key
max_connections = lots
frobnicate = 1

[a]
path = a.img
size = 10X
readonly = perhaps

[b]
size = 1M

[a]
path = a2.img
CONF
netdiskd -n -c "$T/broken.conf" >"$T/out" 2>"$T/broken.err"
tap_is "a broken configuration: netdiskd -n exits 1" "$?" 1
tap_is "... and does not say configuration OK" "$(cat "$T/out")" ""
f="$T/broken.conf"
tap_is "... every stderr line is FILE:LINE: message" \
    "$(grep -cvE "^$f:[0-9]+: .+" "$T/broken.err")" 0
tap_ok "line 5: max_connections \"lots\"" grep -q "^$f:5: .*max_connections.*lots" "$T/broken.err"
tap_ok "line 6: unknown key frobnicate" grep -q "^$f:6: .*frobnicate" "$T/broken.err"
tap_ok "line 10: size \"10X\" is not a size" grep -q "^$f:10: .*size \"10X\" is not a size" "$T/broken.err"
tap_ok "line 11: readonly \"perhaps\"" grep -q "^$f:11: .*readonly.*perhaps" "$T/broken.err"
tap_ok "line 13: export b has no path" grep -q "^$f:13: .*\"b\".*path" "$T/broken.err"
tap_ok "line 16: export a is defined twice" grep -q "^$f:16: .*\"a\".*duplicate" "$T/broken.err"
netdiskd -f -c "$T/broken.conf" >"$T/out" 2>"$T/err2"
tap_is "netdiskd -f refuses to start on it (exit 1)" "$?" 1
tap_diag_file "$T/broken.err"
