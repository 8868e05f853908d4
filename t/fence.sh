#!/bin/bash
# Fencing: a request read on a session that has since broken never
# executes after the client could have resent it.  netdiskd runs under
# t/storefault.so, whose stall holds the export's store; t/fenceclient
# drops a connection with a write stalled and more queued behind it, then
# reconnects with the same client id.
. "$(dirname "$0")/functions.sh"

bs=4096
queued=8	# fenceclient's QUEUED

test -f "$top_builddir/t/storefault.so" || {
	echo "1..0 # SKIP t/storefault.so not built (make t/storefault.so)"
	exit 0
}
tap_plan 6

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
mkdir "$T/fault" || bail_out "mkdir $T/fault"
conf=$T/netdisk.conf
write_conf "$conf"
add_export "$conf" f size=1M
truncate -s 1M "$T/f.img"
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
LD_PRELOAD=$top_builddir/t/storefault.so STOREFAULT_FILE=$T/f.img \
STOREFAULT_DIR=$T/fault start_netdiskd "$conf"

# The old session: A to block 0 stalled, $queued writes queued, dropped.
# The new one, same client id: B to block 0 once admitted.
tap_run fenceclient -k "$ND_KEY" -d "$T/fault" stale "$(uri f)"
sed "s/^/# /" "$T/out"
tap_is "fenceclient ran through (status 0)" "$tap_st" 0 ||
	tap_diag_file "$T/err"
tap_is "a reconnect is refused while the broken session's write runs" \
    "$(sed -n 's/^reconnect while stalled: //p' "$T/out")" refused
tap_is "the new session's write of B is acknowledged and reads back" \
    "$(sed -n 's/^write B: //p; s/^read back: //p' "$T/out" | tr '\n' ' ')" \
    "ok B "
rm -f "$T/fault/stall"

# Stopping the daemon finishes whatever it still had: then look at the file.
stop_netdiskd
tap_is "netdiskd exits 0" $? 0
fenceclient pattern B >"$T/b" || bail_out "fenceclient pattern B failed"
tap_is "block 0 holds B: the stale write A did not land after it" \
    "$(sha_of "$T/f.img" 0 $bs)" "$(sha_of "$T/b")"
tap_is "the writes queued on the broken session never ran" \
    "$(sha_of "$T/f.img" $bs $((queued * bs)))" \
    "$(sha_zero $((queued * bs)))"
