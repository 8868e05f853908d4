#!/bin/bash
# SPDX-License-Identifier: ISC
# Sticky store errors: once a write or sync of an export's backing store
# fails, every later FLUSH and FUA write of that export fails with EIO
# until "netdiskctl restart EXPORT", whoever sends them.  A read-only
# session's FLUSH syncs nothing, so it cannot swallow the error (Linux
# reports a writeback error once per open file).  ENOSPC fails only the
# request that met it.  t/storefault.so makes the store fail.
. "$(dirname "$0")/functions.sh"

requires badclient
requires_storefault

tap_plan 37

sf="$T/sf"
mkdir "$sf"
make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=4M
add_export "$T/netdisk.conf" other size=4M
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
LD_PRELOAD=$shim STOREFAULT_FILE="$T/disk.img" STOREFAULT_DIR="$sf" \
    start_netdiskd "$T/netdisk.conf"
export NETDISK_KEYFILE=$ND_KEY
u=$(uri disk)
o=$(uri other)
st() { netdiskctl status -s "$ND_CTL" "$@"; }

random_file "$T/a" 1048576
random_file "$T/b" 65536

# --- A sync error, and a read-only client's FLUSH before the writer's.
tap_ok "the writer writes 1 MiB" netdiskctl write "$u" 0 <"$T/a"
touch "$sf/syncfail"
tap_ok "a read-only session's FLUSH answers OK" \
    badclient -k "$ND_KEY" "$u" ro-flush
tap_ok "... without syncing: the pending sync error is still there" \
    test -e "$sf/syncfail"
tap_status "the writer's FLUSH fails (exit 10)" 10 netdiskctl flush "$u"
tap_like "... with an I/O error" "$(cat "$T/err")" 'I/O error|Input/output'
tap_ok "the error was reported by the store once" test ! -e "$sf/syncfail"
tap_status "a later FLUSH from another session fails too" 10 \
    netdiskctl flush "$u"
tap_status "a FUA write fails" 10 netdiskctl write --fua "$u" 0 <"$T/b"
tap_ok "FLUSH, FUA WRITE and FUA WRITE_ZEROES fail; plain I/O works" \
    badclient -k "$ND_KEY" "$u" failed-export
tap_ok "a plain write still works" netdiskctl write "$u" 65536 <"$T/b"
netdiskctl read "$u" 65536 65536 >"$T/back" 2>"$T/err"
tap_is "... and reads back" "$(sha_of "$T/back")" "$(sha_of "$T/b")"

tap_ok "status works" st
tap_like "status shows the export failed, with the error" \
    "$(grep -A3 '^export "disk"' "$T/out")" \
    'failed since [0-9T:Z-]+: flush: Input/output error'
tap_ok "status --json works" st --json
tap_like "status --json: errno 5, operation flush" "$(cat "$T/out")" \
    '"name":"disk"[^}]*"failed":\{"errno":5,"error":"Input/output error","operation":"flush","since":"[0-9T:Z-]+"\}'
tap_like "status --json: the other export is healthy" "$(cat "$T/out")" \
    '"name":"other"[^}]*"failed":null'
tap_is "the daemon logged the failure once" \
    "$(grep -c 'export "disk": failed:' "$ND_LOG")" 1

tap_ok "the other export still flushes" netdiskctl flush "$o"
tap_ok "... and takes FUA writes" netdiskctl write --fua "$o" 0 <"$T/b"

# --- restart reopens the store and clears the state.
tap_ok "netdiskctl restart disk" netdiskctl restart -s "$ND_CTL" disk
tap_ok "FLUSH works again" netdiskctl flush "$u"
tap_ok "a FUA write works again" netdiskctl write --fua "$u" 0 <"$T/b"
st --json >"$T/json"
tap_like "status --json: disk no longer failed" "$(cat "$T/json")" \
    '"name":"disk"[^}]*"failed":null'

# --- A reload replaces the export: the old store's last sync fails, and
# the new one (a fresh open file, which would not see the error) fails.
tap_ok "a write before the reload" netdiskctl write "$u" 0 <"$T/b"
touch "$sf/syncfail"
sed -i "s|^path = $T/disk.img\$|&\ndescription = changed|" "$T/netdisk.conf"
tap_ok "reload with the export changed" netdiskctl reload -s "$ND_CTL"
tap_ok "... the old store's close-time sync met the error" \
    test ! -e "$sf/syncfail"
tap_status "FLUSH of the reloaded export fails" 10 netdiskctl flush "$u"
tap_ok "restart clears it" netdiskctl restart -s "$ND_CTL" disk
tap_ok "FLUSH works after the restart" netdiskctl flush "$u"

# --- ENOSPC fails the request and nothing else.
touch "$sf/enospc"
tap_status "a write meeting ENOSPC fails (exit 10)" 10 \
    netdiskctl write "$u" 131072 <"$T/b"
tap_like "... with ENOSPC" "$(cat "$T/err")" 'space'
tap_status "a FUA write meeting ENOSPC fails" 10 \
    netdiskctl write --fua "$u" 131072 <"$T/b"
rm -f "$sf/enospc"
tap_ok "after ENOSPC, FLUSH works" netdiskctl flush "$u"
tap_ok "... and so does a FUA write" netdiskctl write --fua "$u" 131072 <"$T/b"

# --- An I/O error on a write fails the export too.
touch "$sf/eio"
tap_status "a write meeting EIO fails" 10 netdiskctl write "$u" 0 <"$T/b"
rm -f "$sf/eio"
tap_status "... and the next FLUSH fails although the store is well again" \
    10 netdiskctl flush "$u"
st --json >"$T/json"
tap_like "status --json: failed by a write error" "$(cat "$T/json")" \
    '"name":"disk"[^}]*"failed":\{"errno":5,"error":"Input/output error","operation":"write"'
