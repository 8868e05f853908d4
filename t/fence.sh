#!/bin/bash
# SPDX-License-Identifier: ISC
# Fencing: a request read on a session that has since broken never
# executes after the client could have resent it.  netdiskd runs under
# t/storefault.so, whose stall holds the export's store; t/fenceclient
# drops a connection with a write stalled and more queued behind it, then
# reconnects with the same client id and slot; it breaks slot 0 of a
# client while slot 1 has a write stalled; and it ends the stream of a
# connection that handed more writes to the workers than there are.
. "$(dirname "$0")/functions.sh"

bs=4096
queued=8	# fenceclient's QUEUED
many=40		# fenceclient's MANY, from block 10
slot_block=60	# fenceclient's SLOT_BLOCK

test -f "$top_builddir/t/storefault.so" || {
	echo "1..0 # SKIP t/storefault.so not built (make t/storefault.so)"
	exit 0
}
tap_plan 13

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

# Slots 0 and 1 of one client id: breaking slot 0 leaves slot 1 alone.
tap_run fenceclient -k "$ND_KEY" -d "$T/fault" slots "$(uri f)"
sed "s/^/# /" "$T/out"
tap_is "slots: fenceclient ran through (status 0)" "$tap_st" 0 ||
	tap_diag_file "$T/err"
tap_is "slot 0 reconnects at once while slot 1's write is stalled" \
    "$(sed -n 's/^slot 0 reconnect while slot 1 stalled: //p' "$T/out")" \
    admitted
tap_is "slot 1's session goes on: its write is answered and reads back" \
    "$(sed -n 's/^slot 1 write: //p; s/^slot 1 read back: //p' "$T/out" |
	tr '\n' ' ')" "ok C "
tap_is "slot 0's new session writes and reads" \
    "$(sed -n 's/^slot 0 write and read back: //p' "$T/out")" ok
rm -f "$T/fault/stall"

# FUA writes go to the worker threads: more than there are workers (at
# most 32) on a stalled store, then the client ends its stream (replies
# could still go out).  Those the workers started finish; the rest must
# never run.
tap_run fenceclient -k "$ND_KEY" -d "$T/fault" queued "$(uri f)"
tap_is "queued: fenceclient ran through (status 0)" "$tap_st" 0 ||
	tap_diag_file "$T/err"
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
fenceclient pattern C >"$T/c" && fenceclient pattern D >"$T/d" ||
	bail_out "fenceclient pattern failed"
tap_is "slot blocks hold C and D" \
    "$(sha_of "$T/f.img" $((slot_block * bs)) $bs) $(sha_of "$T/f.img" \
	$(((slot_block + 1) * bs)) $bs)" "$(sha_of "$T/c") $(sha_of "$T/d")"
written=0
zero=$(sha_zero $bs)
for b in $(seq 10 $((10 + many - 1))); do
	test "$(sha_of "$T/f.img" $((b * bs)) $bs)" = "$zero" ||
		written=$((written + 1))
done
tap_diag "$written of the $many FUA writes of the ended stream ran"
if test $written -le 32; then
	tap_pass "no more of the $many FUA writes ran than there are workers"
else
	tap_fail "no more of the $many FUA writes ran than there are workers" \
	    "$written of them were written"
fi
