#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl overlay list, reset, prune and commit, and the overlay usage
# in netdiskctl status, on loopback: list in text and JSON (parsed by
# python3), attached with its address or last seen (the file's time, set
# when the last session ends); reset refused while attached, --force
# disconnecting only that identity while another one's I/O goes on;
# prune by age, old-base overlays included; commit writes an image equal
# to what the client reads, the base unchanged, an existing file refused;
# bad input named with a non-zero exit.
. "$(dirname "$0")/functions.sh"

requires python3

tap_plan 64

mkdir -m 700 "$T/clients" || bail_out "cannot make $T/clients"
make_key "$ND_KEY" || bail_out "netdiskctl genkey failed"
for k in alice bob carol; do
	make_key "$T/clients/$k.key" || bail_out "netdiskctl genkey failed"
done
mkdir "$T/ovl" "$T/ovl-h" || bail_out "cannot make the overlay folders"
random_file "$T/base.img" $((4 * 1048576))
base_sha=$(sha_of "$T/base.img")
ctl() { netdiskctl "$@" -s "$ND_CTL"; }
# py EXPR <JSON: EXPR over the parsed JSON in j, printed.
py() { python3 -c "import json,sys; j=json.load(sys.stdin); print($1)"; }

conf=$T/netdisk.conf
# conf_v GENERATION
conf_v() {
	write_conf "$conf" "clients_dir=$T/clients"
	add_export "$conf" gold "path=$T/base.img" "overlay_dir=$T/ovl" \
	    "clients=alice bob" overlay_hold=0 overlay_quota=2M \
	    "base_generation=$1"
	add_export "$conf" held "path=$T/base.img" "overlay_dir=$T/ovl-h" \
	    clients=carol overlay_hold=600
	add_export "$conf" plain
}
truncate -s 1M "$T/plain.img"
conf_v 1
start_netdiskd "$conf"

rd() { id_read "$@"; }	# NAME EXPORT OFF LEN OUT
wr() { id_write "$@"; }	# NAME EXPORT OFF IN
random_file "$T/a" 65536
random_file "$T/b" 65536
wr alice gold 0 "$T/a" || bail_out "alice's write failed"
wr alice gold $((1048576 + 4096)) "$T/b" || bail_out "alice's write failed"
wr bob gold 131072 "$T/b" || bail_out "bob's write failed"

# list
ctl overlay list gold >"$T/out"
tap_is "overlay list gold" $? 0
tap_like "... a line for alice, last seen, 192K allocated, current base" \
    "$(grep '^alice:' "$T/out")" \
    '^alice: last seen [0-9-]+T[0-9:]+Z; 196608 bytes allocated .* of 4194304; base generation 1 \(current\)'
tap_like "... and one for bob" "$(grep '^bob:' "$T/out")" \
    '^bob: last seen .* 65536 bytes allocated'
ctl overlay list --json gold >"$T/json" || bail_out "overlay list --json failed"
tap_is "list --json parses: 2 overlays, alice and bob" \
    "$(py '" ".join(o["client"] for o in j["overlays"])' <"$T/json")" \
    "alice bob"
tap_is "... alice: allocated, size, base, not attached" \
    "$(py '[(o["allocated"], o["size"], o["base"], o["attached"], o["kept"])
        for o in j["overlays"] if o["client"] == "alice"][0]' <"$T/json")" \
    "(196608, 4194304, 'current', False, False)"

# Last seen is when the last session ended, even one that only read.
touch -d '3 days ago' "$T/ovl/bob.ovl"
rd bob gold 0 4096 "$T/back" || bail_out "bob's read failed"
now=$(date +%s)
tap_ok "a read-only session's end sets bob's last seen to now" \
    test "$(ctl overlay list --json gold |
    py '[o["last_seen_epoch"] for o in j["overlays"] if o["client"] == "bob"][0]')" \
    -ge $((now - 60))

# Attached: list and status show it.
steady -r -k "$(key bob)" -m 1 -f "$T/stop-b" "$(uri gold)" \
    >"$T/b.out" 2>"$T/b.err" &
pb=$!
track_pid $pb
wait_grep 'connected' "$T/b.out" 10 || bail_out "bob's client did not connect"
sleep 1
ctl overlay list gold >"$T/out"
tap_like "list: bob attached, from 127.0.0.1" "$(grep '^bob:' "$T/out")" \
    '^bob: attached, 1 session from 127\.0\.0\.1;'
tap_is "list --json: bob attached, 1 session, its address" \
    "$(ctl overlay list --json gold | py '[(o["attached"], o["sessions"],
        o["address"]) for o in j["overlays"] if o["client"] == "bob"][0]')" \
    "(True, 1, '127.0.0.1')"
ctl status >"$T/out"
tap_like "status shows bob's overlay usage and quota" "$(cat "$T/out")" \
    'overlay: [0-9]+ bytes allocated \([^)]*\) of a 2\.0 MiB quota'
tap_is "status --json: bob's overlay quota" \
    "$(ctl status --json | py '[c["overlay"]["quota"] for e in j["exports"]
        for c in e["clients"] if c["identity"] == "bob"][0]')" 2097152
tap_ok "status --json: bob's allocated bytes, at least his 64K" \
    test "$(ctl status --json | py '[c["overlay"]["allocated"]
        for e in j["exports"] for c in e["clients"]
        if c["identity"] == "bob"][0]')" -ge 65536

# reset: refused while attached; --force disconnects that client only.
steady -k "$(key alice)" -m 1 -f "$T/stop-a" "$(uri gold)" \
    >"$T/a.out" 2>"$T/a.err" &
pa=$!
track_pid $pa
wait_grep 'connected' "$T/a.out" 10 || bail_out "alice's client did not connect"
tap_status "reset of attached alice: busy, exit 5" 5 \
    ctl overlay reset gold alice
tap_like "... naming her and --force" "$(ctl overlay reset gold alice 2>&1)" \
    'client "alice" is attached \(1 session\).*--force'
tap_ok "... her overlay is still there" test -f "$T/ovl/alice.ovl"
tap_ok "reset --force gold alice" ctl overlay reset --force gold alice
wait_pid_status $pa 20
tap_is "alice's client was disconnected (exit 1)" $? 1
tap_ok "... logged why" grep -q 'overlay reset --force' "$ND_LOG"
tap_ok "... her overlay file is gone" test ! -e "$T/ovl/alice.ovl"
rd alice gold 0 65536 "$T/back"
tap_is "alice's next attach starts clean: the base" "$(sha_of "$T/back")" \
    "$(sha_of "$T/base.img" 0 65536)"
sleep 1
touch "$T/stop-b"
steady_end "bob (during alice's reset)" $pb "$T/b.out" "$T/b.err" 0

# commit
netdiskctl trim -k "$(key bob)" "$(uri gold)" 2097152 1048576 ||
    bail_out "bob's trim failed"
rd bob gold 0 $((4 * 1048576)) "$T/bob.seen" || bail_out "bob's read failed"
tap_ok "commit gold bob to a new image" \
    ctl overlay commit gold bob "$T/golden.img"
tap_is "... the image is what bob reads" "$(sha_of "$T/golden.img")" \
    "$(sha_of "$T/bob.seen")"
tap_is "... the base unchanged" "$(sha_of "$T/base.img")" "$base_sha"
tap_is "... no temporary file left" "$(ls "$T" | grep -c 'golden.img.tmp')" 0
if fs_supports_holes "$T"; then
	tap_ok "... sparse where bob trimmed (under 3.5M on disk)" \
	    test "$(allocated "$T/golden.img")" -lt $((3584 * 1024))
else
	tap_skip "... sparse: no holes on this filesystem"
fi
cp "$T/golden.img" "$T/golden.copy"
tap_status "commit to an existing file: exit 2" 2 \
    ctl overlay commit gold bob "$T/golden.img"
tap_like "... naming it" \
    "$(ctl overlay commit gold bob "$T/golden.img" 2>&1)" "golden.img exists"
tap_is "... the file unchanged" "$(sha_of "$T/golden.img")" \
    "$(sha_of "$T/golden.copy")"
tap_status "a relative path to an existing file: exit 2" 2 \
    sh -c "cd '$T' && exec netdiskctl overlay commit -s '$ND_CTL' gold bob \
    golden.img"
# raw LINE: LINE sent to the control socket, the answer printed.
raw() {
	python3 -c 'import socket,sys
s = socket.socket(socket.AF_UNIX); s.settimeout(30); s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode()); b = b""
while True:
    d = s.recv(65536)
    if not d: break
    b += d
sys.stdout.write(b.decode())' "$ND_CTL" "$1"
}
tap_like "netdiskd itself refuses an existing file" \
    "$(raw "overlay commit gold bob $T/golden.img")" "^error exists"
tap_like "... and a relative path" \
    "$(raw "overlay commit gold bob golden.img")" "^error request"
raw "overlay commit gold bob $T/golden3.img" >"$T/raw"
tap_is "a commit's answer: progress from 0 of 4M first, then ok" \
    "$(head -n 1 "$T/raw") $(grep -v '^progress ' "$T/raw" | head -n 1)" \
    "progress 0 4194304 ok"
tap_is "... the image is what bob reads" "$(sha_of "$T/golden3.img")" \
    "$(sha_of "$T/bob.seen")"
tap_like "an unknown overlay request gets an error" \
    "$(raw "overlay frob gold")" '^error request'
steady -r -k "$(key bob)" -m 1 -f "$T/stop-b2" "$(uri gold)" \
    >"$T/b2.out" 2>"$T/b2.err" &
pb=$!
track_pid $pb
wait_grep 'connected' "$T/b2.out" 10 || bail_out "bob's client did not connect"
tap_status "commit while bob is attached: busy, exit 5" 5 \
    ctl overlay commit gold bob "$T/golden2.img"
tap_ok "... no image made" test ! -e "$T/golden2.img"
sleep 1
touch "$T/stop-b2"
steady_end "bob (during the refused commit)" $pb "$T/b2.out" "$T/b2.err" 0

# A held overlay (overlay_hold) is committed as the client last saw it.
random_file "$T/c" $((256 * 1024))
wr carol held 65536 "$T/c" || bail_out "carol's write failed"
rd carol held 0 $((4 * 1048576)) "$T/carol.seen" ||
    bail_out "carol's read failed"
ctl overlay list held >"$T/out"
tap_like "list: carol's overlay held after her session" "$(cat "$T/out")" \
    '^carol: held, last seen'
tap_ok "commit held carol" ctl overlay commit held carol "$T/carol.img"
tap_is "... the image is what carol reads" "$(sha_of "$T/carol.img")" \
    "$(sha_of "$T/carol.seen")"

# Bad input.
tap_status "list of an unknown export: exit 4" 4 ctl overlay list nosuch
tap_like "... named" "$(ctl overlay list nosuch 2>&1)" 'no export "nosuch"'
tap_status "list of a plain export: exit 4" 4 ctl overlay list plain
tap_like "... says it is not an overlay export" \
    "$(ctl overlay list plain 2>&1)" '"plain" is not an overlay export'
tap_status "reset of a client without an overlay: exit 4" 4 \
    ctl overlay reset gold zed
tap_like "... named" "$(ctl overlay reset gold zed 2>&1)" \
    'client "zed" has no overlay'
tap_status "commit of a client without an overlay: exit 4" 4 \
    ctl overlay commit gold zed "$T/zed.img"
tap_status "a bad client name: exit 2" 2 ctl overlay reset gold ../x
tap_status "prune without --older-than: exit 2" 2 ctl overlay prune gold
tap_status "prune --older-than 3x: exit 2" 2 \
    ctl overlay prune gold --older-than 3x
tap_like "... naming the value" \
    "$(ctl overlay prune gold --older-than 3x 2>&1)" '"3x" is not a number'
tap_status "an unknown action: exit 2" 2 ctl overlay frob gold

# prune: a new base generation keeps bob's overlay aside (base_changed=new).
conf_v 2
ctl reload >/dev/null || bail_out "reload failed"
rd bob gold 0 4096 "$T/back" || bail_out "bob's read failed"
ctl overlay list --json gold >"$T/json"
tap_is "list: bob's old overlay kept, on the old base" \
    "$(py '[(o["base"], o["base_generation"]) for o in j["overlays"]
        if o["client"] == "bob" and o["kept"]][0]' <"$T/json")" "('old', 1)"
tap_is "... his new one on the current base" \
    "$(py '[(o["base"], o["base_generation"]) for o in j["overlays"]
        if o["client"] == "bob" and not o["kept"]][0]' <"$T/json")" \
    "('current', 2)"
kept=$(ls "$T/ovl" | grep '^bob\.ovl\.')
touch -d '10 days ago' "$T/ovl/$kept"
touch -d '4 days ago' "$T/ovl/alice.ovl"
ctl overlay prune gold --older-than 5 >"$T/out"
tap_is "prune --older-than 5" $? 0
tap_like "... names what it removed: bob's old-base overlay" \
    "$(cat "$T/out")" "removed $T/ovl/$kept \\(client \"bob\", kept on an old base"
tap_ok "... it is gone" test ! -e "$T/ovl/$kept"
tap_ok "... alice's (4 days) and bob's (now) stay" \
    test -f "$T/ovl/alice.ovl" -a -f "$T/ovl/bob.ovl"
ctl overlay prune gold --older-than 3 >"$T/out"
tap_is "prune --older-than 3" $? 0
tap_ok "... removes alice's" test ! -e "$T/ovl/alice.ovl"
tap_ok "... not bob's" test -f "$T/ovl/bob.ovl"

tap_is "the base never changed" "$(sha_of "$T/base.img")" "$base_sha"
