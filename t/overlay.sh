#!/bin/bash
# SPDX-License-Identifier: ISC
# Overlay exports on loopback: two identities over one base each see
# only their own writes and the base file never changes; a persistent
# overlay survives reconnects and a restart of netdiskd, an ephemeral one
# is empty on the next attach and gone after; trim and write zeroes read
# back zeros; the quota gives ENOSPC; the same identity from a second
# client id is refused as busy; a new base published under a running
# client (a new path and a reload, or the file replaced and netdiskctl
# restart) changes nothing it reads, and the next fresh attach follows
# base_changed (new or refuse); a corrupt overlay is refused with the
# file named in the log; SIGKILL loses no FUA write.
. "$(dirname "$0")/functions.sh"

tap_plan 46

client_keys alice bob carol dave
mkdir "$T/ovl" "$T/ovl-eph" "$T/ovl-q" "$T/ovl-s" ||
    bail_out "cannot make the overlay folders"
random_file "$T/base.img" $((4 * 1048576))
random_file "$T/base2.img" $((4 * 1048576))
base_sha=$(sha_of "$T/base.img")

conf=$T/netdisk.conf
# conf_v GOLD_BASE STRICT_GENERATION
conf_v() {
	write_conf "$conf" "clients_dir=$T/clients"
	add_export "$conf" gold "path=$1" "overlay_dir=$T/ovl" \
	    "clients=alice bob" overlay_hold=3
	add_export "$conf" eph "path=$T/base.img" "overlay_dir=$T/ovl-eph" \
	    overlay=ephemeral clients=carol overlay_hold=0
	add_export "$conf" quota "path=$T/base.img" "overlay_dir=$T/ovl-q" \
	    overlay_quota=256K overlay_chunk=64K clients=dave
	add_export "$conf" strict "path=$T/base.img" "overlay_dir=$T/ovl-s" \
	    base_changed=refuse "base_generation=$2" clients=alice
}
conf_v "$T/base.img" 1
start_netdiskd "$conf"

rd() { id_read "$@"; }	# NAME EXPORT OFF LEN OUT
wr() { id_write "$@"; }	# NAME EXPORT OFF IN
random_file "$T/a" 65536
random_file "$T/b" 65536
random_file "$T/a2" 4096

tap_ok "alice writes 64K at 0" wr alice gold 0 "$T/a"
tap_ok "bob writes 64K at 0" wr bob gold 0 "$T/b"
tap_ok "alice writes 4K at 1M+4K (copying a base chunk)" \
    wr alice gold $((1048576 + 4096)) "$T/a2"
rd alice gold 0 65536 "$T/back"
tap_is "alice reads her own data at 0" "$(sha_of "$T/back")" "$(sha_of "$T/a")"
rd bob gold 0 65536 "$T/back"
tap_is "bob reads his own data at 0" "$(sha_of "$T/back")" "$(sha_of "$T/b")"
rd bob gold 1048576 65536 "$T/back"
tap_is "bob reads the base where alice wrote" "$(sha_of "$T/back")" \
    "$(sha_of "$T/base.img" 1048576 65536)"
rd alice gold 1048576 65536 "$T/back"
dd if="$T/base.img" of="$T/model" bs=4096 skip=256 count=16 status=none
dd if="$T/a2" of="$T/model" bs=4096 seek=1 conv=notrunc status=none
tap_is "alice's partial chunk: her 4K inside the base's 64K" \
    "$(sha_of "$T/back")" "$(sha_of "$T/model")"
tap_status "the shared key cannot open an overlay export: exit 4" 4 \
    netdiskctl info -k "$ND_KEY" "$(uri gold)"
tap_status "bob's key does not open carol's export: exit 4" 4 \
    netdiskctl info -k "$(key bob)" "$(uri eph)"
tap_ok "one overlay file per identity" \
    test -f "$T/ovl/alice.ovl" -a -f "$T/ovl/bob.ovl"

# Trim and write zeroes read back zeros, never base data.
tap_ok "alice trims 64K at 0" \
    netdiskctl trim -k "$(key alice)" "$(uri gold)" 0 65536
rd alice gold 0 65536 "$T/back"
tap_is "... zeros" "$(sha_of "$T/back")" "$(sha_zero 65536)"
tap_ok "alice zeroes 8K at 2M+8K (part of a base chunk)" \
    netdiskctl zero -k "$(key alice)" "$(uri gold)" $((2097152 + 8192)) 8192
rd alice gold 2097152 65536 "$T/back"
dd if="$T/base.img" of="$T/model" bs=4096 skip=512 count=16 status=none
dd if=/dev/zero of="$T/model" bs=4096 seek=2 count=2 conv=notrunc status=none
tap_is "... zeros there, the base around" "$(sha_of "$T/back")" \
    "$(sha_of "$T/model")"
wr alice gold 0 "$T/a" || bail_out "alice's write failed"

# The quota.
random_file "$T/big" $((512 * 1024))
tap_status "dave writes 512K past his 256K quota: exit 10" 10 \
    wr dave quota 0 "$T/big"
tap_like "... no space left" "$(cat "$T/err")" 'space'
tap_ok "dave writes 64K within his quota" wr dave quota 65536 "$T/a"

# Ephemeral: t/steady writes and verifies in one attach; the next attach
# reads the base and the file is gone (overlay_hold = 0).
steady -k "$(key carol)" -m 1 -f "$T/stop-c" "$(uri eph)" \
    >"$T/c.out" 2>"$T/c.err" &
pc=$!
track_pid $pc
sleep 2
touch "$T/stop-c"
steady_end carol $pc "$T/c.out" "$T/c.err" 0
rd carol eph 0 1048576 "$T/back"
tap_is "the next attach of an ephemeral overlay reads the base" \
    "$(sha_of "$T/back")" "$(sha_of "$T/base.img" 0 1048576)"
tap_ok "... and its file is gone once its session ended" \
    test ! -e "$T/ovl-eph/carol.ovl"

# Busy, and a new base under a running client.
steady -r -k "$(key bob)" -m 1 -f "$T/stop-b" "$(uri gold)" \
    >"$T/b.out" 2>"$T/b.err" &
pb=$!
track_pid $pb
wait_grep 'connected' "$T/b.out" 10
tap_status "bob's key from a second client id: busy, exit 5" 5 \
    wr bob gold 0 "$T/b"
tap_ok "... logged naming the identity" \
    grep -q 'export "gold" busy: client "bob" attached from client id' "$ND_LOG"
conf_v "$T/base2.img" 1
netdiskctl reload -s "$ND_CTL" >"$T/out" 2>&1
tap_ok "gold now has the new base: bob's session closes" \
    wait_log 'closed: export reconfigured' 10
tap_ok "bob's client reconnects" \
    wait_grep 'connected' "$T/b.out" 15 2
sleep 2
touch "$T/stop-b"
steady_end bob $pb "$T/b.out" "$T/b.err" 1
tap_ok "the reconnect kept bob's overlay on the old base" \
    test "$(ls "$T/ovl" | grep -c '^bob\.ovl\.')" -eq 0

rd alice gold 1048576 65536 "$T/back"
tap_is "alice's next fresh attach reads the new base" "$(sha_of "$T/back")" \
    "$(sha_of "$T/base2.img" 1048576 65536)"
tap_ok "... her old overlay kept aside, logged" \
    grep -q 'client "alice": .*kept as .*alice\.ovl\.[0-9]*T[0-9]*Z' "$ND_LOG"
tap_ok "... the file is there" \
    test "$(ls "$T/ovl" | grep -c '^alice\.ovl\.')" -eq 1

# base_changed = refuse.
tap_ok "alice writes to strict" wr alice strict 0 "$T/a"
conf_v "$T/base2.img" 2
netdiskctl reload -s "$ND_CTL" >"$T/out" 2>&1
wait_log 'configuration reloaded' 10
tap_status "strict's base generation changed: alice refused, exit 10" 10 \
    rd alice strict 0 4096 "$T/back"
tap_ok "... logged with the reason" \
    grep -q 'export "strict": client "alice": refused: .*generation.*base_changed = refuse' \
    "$ND_LOG"

# A new base by replacing the file and "netdiskctl restart".
steady -r -k "$(key bob)" -m 1 -f "$T/stop-b2" "$(uri gold)" \
    >"$T/b2.out" 2>"$T/b2.err" &
pb=$!
track_pid $pb
wait_grep 'connected' "$T/b2.out" 10
asides=$(ls "$T/ovl" | grep -c '^bob\.ovl\.')
random_file "$T/base3.img" $((4 * 1048576))
mv "$T/base3.img" "$T/base2.img"
tap_ok "netdiskctl restart gold with the file replaced" \
    netdiskctl restart -s "$ND_CTL" gold
tap_ok "bob's client reconnects" wait_grep 'connected' "$T/b2.out" 15 2
sleep 2
touch "$T/stop-b2"
steady_end "bob (restart)" $pb "$T/b2.out" "$T/b2.err" 1
tap_is "the reconnect set nothing aside: same overlay, old base" \
    "$(ls "$T/ovl" | grep -c '^bob\.ovl\.')" "$asides"

tap_is "the base files never changed" "$(sha_of "$T/base.img")" "$base_sha"

# A restart of netdiskd keeps persistent overlays.
wr alice gold 0 "$T/a" || bail_out "alice's write failed"
stop_netdiskd || bail_out "netdiskd did not stop"
start_netdiskd "$conf"
rd alice gold 0 65536 "$T/back"
tap_is "alice's data survives a restart of netdiskd" "$(sha_of "$T/back")" \
    "$(sha_of "$T/a")"

# SIGKILL after FUA writes: nothing acknowledged is lost.
lost=0
for i in 1 2 3; do
	random_file "$T/k$i" 65536
	wr alice gold $((i * 65536 + 512)) "$T/k$i" ||
	    bail_out "alice's write $i failed"
	netdiskctl flush -k "$(key alice)" "$(uri gold)" ||
	    bail_out "alice's flush $i failed"
	stop_netdiskd KILL
	start_netdiskd "$conf"
	for j in $(seq "$i"); do
		rd alice gold $((j * 65536 + 512)) 65536 "$T/back"
		test "$(sha_of "$T/back")" = "$(sha_of "$T/k$j")" ||
		    lost=$((lost + 1))
	done
done
tap_is "3 SIGKILLs after flushed writes: nothing lost" "$lost" 0

# A corrupt overlay is refused, naming the file.
stop_netdiskd || bail_out "netdiskd did not stop"
printf 'garbage!' | dd of="$T/ovl/bob.ovl" bs=1 seek=100 conv=notrunc \
    status=none
start_netdiskd "$conf"
tap_status "bob's corrupt overlay: refused, exit 10" 10 \
    rd bob gold 0 4096 "$T/back"
tap_ok "... the log names the file" \
    grep -q "client \"bob\": refused: .*$T/ovl/bob.ovl" "$ND_LOG"
rd alice gold 0 65536 "$T/back"
tap_is "alice is served meanwhile" "$(sha_of "$T/back")" "$(sha_of "$T/a")"
tap_is "the base files never changed (end)" "$(sha_of "$T/base.img")" \
    "$base_sha"
