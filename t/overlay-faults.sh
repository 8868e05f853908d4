#!/bin/bash
# SPDX-License-Identifier: ISC
# A fault in one identity's overlay is that identity's alone: a sync or
# write error of alice's overlay file fails her attachment (her FLUSH and
# FUA writes get EIO while it lasts, the log names her overlay file,
# netdiskctl status shows it on her client) and bob, on the same overlay
# export, keeps reading, writing and flushing.  Her next fresh attach
# reopens the overlay and starts healthy.  Her quota running out fails only
# her request; her corrupt overlay refuses her, naming the file, and bob
# is still served.  t/storefault.so makes alice's overlay file fail.
. "$(dirname "$0")/functions.sh"

requires badclient
requires_storefault

tap_plan 29

sf="$T/sf"
mkdir "$sf" "$T/ovl" || bail_out "cannot make the folders"
client_keys alice bob
random_file "$T/base.img" $((4 * 1048576))
base_sha=$(sha_of "$T/base.img")

conf=$T/netdisk.conf
write_conf "$conf" "clients_dir=$T/clients"
add_export "$conf" gold "path=$T/base.img" "overlay_dir=$T/ovl" \
    "clients=alice bob" overlay_hold=60 overlay_quota=2M overlay_chunk=64K
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
LD_PRELOAD=$shim STOREFAULT_FILE="$T/ovl/alice.ovl" STOREFAULT_DIR="$sf" \
    start_netdiskd "$conf"
u=$(uri gold)
wr() { netdiskctl write -k "$(key "$1")" "$u" "$2" <"$3"; }
rd() { netdiskctl read -k "$(key "$1")" "$u" "$2" "$3" >"$4"; }
random_file "$T/a" 65536
random_file "$T/b" 65536

wr alice 0 "$T/a" || bail_out "alice's first write failed"
wr bob 0 "$T/b" || bail_out "bob's first write failed"

# --- A sync error of alice's overlay: hers, and sticky while attached.
# badclient's client id (fixed) attaches first: the attach of another
# client id reopens (and syncs) the overlay.
tap_ok "alice attaches from badclient's client id" \
    badclient -k "$(key alice)" "$u" req-errors
touch "$sf/syncfail"
tap_ok "alice: FLUSH meets the sync error, FLUSH and FUA fail after it" \
    badclient -k "$(key alice)" "$u" failed-export
tap_ok "... the error was reported by her overlay file" \
    test ! -e "$sf/syncfail"
tap_ok "... her reconnect (same client id, within the hold) still fails" \
    badclient -k "$(key alice)" "$u" failed-export
tap_ok "bob flushes" netdiskctl flush -k "$(key bob)" "$u"
tap_ok "bob writes with FUA" \
    netdiskctl write --fua -k "$(key bob)" "$u" 65536 <"$T/b"
rd bob 0 65536 "$T/back"
tap_is "bob reads his data" "$(sha_of "$T/back")" "$(sha_of "$T/b")"
tap_ok "the log names alice's overlay file" \
    grep -q "export \"gold\": client \"alice\": overlay $T/ovl/alice.ovl failed: flush" \
    "$ND_LOG"
tap_is "... once" "$(grep -c 'client "alice": overlay [^:]* failed:' \
    "$ND_LOG")" 1
tap_is "the export itself did not fail" \
    "$(grep -c 'export "gold": failed:' "$ND_LOG")" 0

# --- A fresh attach of alice reopens her overlay: healthy again.
tap_ok "alice's fresh attach flushes" netdiskctl flush -k "$(key alice)" "$u"
rd alice 0 65536 "$T/back"
tap_is "... and reads her data (req-errors zeroed the first 4K)" \
    "$(sha_of "$T/back" 4096 61440)" "$(sha_of "$T/a" 4096 61440)"

# --- A write error while both are attached: netdiskctl status.
steady -k "$(key alice)" -m 1 -f "$T/stop" "$u" >"$T/sa.out" \
    2>"$T/sa.err" &
pa=$!
track_pid $pa
steady -k "$(key bob)" -m 1 -f "$T/stop" "$u" >"$T/sb.out" 2>"$T/sb.err" &
pb=$!
track_pid $pb
wait_grep 'connected' "$T/sa.out" 10 || bail_out "alice's client did not connect"
wait_grep 'connected' "$T/sb.out" 10 || bail_out "bob's client did not connect"
touch "$sf/eio"
tap_ok "alice's overlay fails a write" \
    wait_log 'client "alice": overlay [^:]* failed: write' 10
rm -f "$sf/eio"
netdiskctl status -s "$ND_CTL" >"$T/st" 2>&1
tap_like "status: alice's client failed, naming the overlay" \
    "$(grep -A1 'identity "alice"' "$T/st")" \
    "overlay $T/ovl/alice.ovl failed since [0-9T:Z-]+: write: Input/output error"
tap_is "status: bob's client did not" \
    "$(grep -A1 'identity "bob"' "$T/st" | grep -c failed)" 0
tap_is "status: the export did not" "$(grep -c '^  failed' "$T/st")" 0
netdiskctl status --json -s "$ND_CTL" >"$T/json" 2>&1
tap_like "status --json: alice's failure" "$(cat "$T/json")" \
    '"identity":"alice"[^]]*"failed":\{"errno":5,"error":"Input/output error","operation":"write","since":"[0-9T:Z-]+","overlay":"[^"]*alice.ovl"\}'
tap_like "status --json: bob healthy" "$(cat "$T/json")" \
    '"identity":"bob"[^}]*"failed":null'
touch "$T/stop"
wait_pid_status $pa 30
wait_pid_status $pb 30
tap_is "bob's client exits 0" $? 0 || tap_diag_file "$T/sb.err"
tap_like "bob: no failure" "$(tail -1 "$T/sb.out")" \
    '^steady: [1-9][0-9]* writes, [0-9]+ reads, [1-9][0-9]* verified, 0 failures'

# --- The quota: only the request that meets it.
random_file "$T/big" $((3 * 1048576))
random_file "$T/m" 1048576
tap_status "alice writes 3M past her 2M quota: exit 10" 10 \
    wr alice 0 "$T/big"
tap_like "... no space left" "$(cat "$T/err")" 'space'
tap_ok "bob writes 1M (within his quota)" wr bob 0 "$T/m"
tap_ok "bob flushes" netdiskctl flush -k "$(key bob)" "$u"

# --- A corrupt overlay refuses alice, naming the file; bob goes on.
printf 'garbage!' | dd of="$T/ovl/alice.ovl" bs=1 seek=100 conv=notrunc \
    status=none
tap_status "alice's corrupt overlay: refused, exit 10" 10 \
    rd alice 0 4096 "$T/back"
tap_ok "... the log names the file" \
    grep -q "client \"alice\": refused: .*$T/ovl/alice.ovl" "$ND_LOG"
rd bob 0 1048576 "$T/back"
tap_is "bob reads meanwhile" "$(sha_of "$T/back")" "$(sha_of "$T/m")"
tap_ok "bob writes with FUA" \
    netdiskctl write --fua -k "$(key bob)" "$u" 65536 <"$T/a"
tap_is "the base file never changed" "$(sha_of "$T/base.img")" "$base_sha"
