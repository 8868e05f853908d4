#!/bin/bash
# SPDX-License-Identifier: ISC
# nbd-tester-client, the nbd project's own conformance client (nbd's
# tests/run, built by contrib/nbd-tester.sh), against netdiskd's NBD
# listener, mode by mode as nbd's own test suite runs it: 1 KiB reads and
# writes over the whole export, FUA writes and flushes, writes to a
# read-only export refused, an unknown option refused, unaligned large
# reads, and the integrity replay (pipelined reads, writes and flushes
# checked block by block); the daemon stays up and logs no error.
#
# The tester speaks NBD_OPT_EXPORT_NAME and simple replies only.  The
# first run fetches nbd's source and builds the tester (a minute or two);
# later runs take it from contrib/nbd-tester.sh's cache.  Skipped if the
# source cannot be fetched.
# shellcheck source=functions.sh
. "$(dirname "$0")/functions.sh"
# shellcheck source=nbd/nbd.sh
. "$top_srcdir/t/nbd/nbd.sh"

requires timeout

tester=$(sh "$top_srcdir/contrib/nbd-tester.sh" 2>"$T/tester.err")
case $? in
0) ;;
77)
	echo "1..0 # SKIP nbd-tester-client: $(tail -n 1 "$T/tester.err")"
	exit 0 ;;
*)
	tap_diag_file "$T/tester.err" 40
	bail_out "contrib/nbd-tester.sh could not build nbd-tester-client" ;;
esac
# integrity-test.tr: a log of 68991 requests (reads, writes, flushes) of
# up to 127 KiB over the first 50 MiB; the tester replays it pipelined and
# needs an export that reads zeros at the start.  Its
# integrityhuge-test.tr is not run: 66 of its requests are over 32 MiB
# (up to 47.5 MiB), beyond the 32 MiB netdiskd advertises as its maximum
# payload and the NBD spec's default for clients that, like the tester,
# negotiate no block sizes; netdiskd errors them cleanly, as the spec
# wants, and the tester takes any error reply as a failure.
trace=$(dirname "$tester")/integrity-test.tr

mib=1048576
size=$((64 * mib))
limit=60		# seconds per run of the tester (a hang)

tap_plan 21

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s 64M "$T/disk.img" "$T/disk2.img"
random_file "$T/ro.img" $((8 * mib))
ro_sha=$(sha_of "$T/ro.img")
nbd_write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=64M nbd=plain
add_export "$T/netdisk.conf" disk2 size=64M nbd=plain
add_export "$T/netdisk.conf" ro readonly=yes nbd=plain
add_export "$T/netdisk.conf" hidden size=4M nbd=no
truncate -s 4M "$T/hidden.img"
nbd_start "$T/netdisk.conf"

export NBD_TEST_SILENT=1
# tester ARGS...: nbd-tester-client ARGS... 127.0.0.1 $NBD_PORT, killed
# after $limit seconds.
tester() {
	timeout -k 5 "$limit" "$tester" "$@" 127.0.0.1 "$NBD_PORT"
}

# not_grep TEXT FILE: FILE does not hold TEXT.
not_grep() {
	! grep -qF -- "$1" "$2"
}

# sha_x LENGTH: sha256 of LENGTH bytes "X", what the tester writes.
sha_x() {
	head -c "$1" /dev/zero | tr '\0' X | sha256sum | cut -d' ' -f1
}

# zero_disk: the export's file all zeros again (and sparse).
zero_disk() {
	truncate -s 0 "$T/disk.img" && truncate -s 64M "$T/disk.img" "$T/disk2.img"
}

tap_ok "read 1 KiB blocks over the export" tester -N disk
tap_ok "read 1 KiB blocks over the read-only export" tester -N ro
tap_ok "write 1 KiB blocks over the export" tester -w -N disk
tap_is "... the export's file holds what was written" \
    "$(sha_of "$T/disk.img")" "$(sha_x "$size")"
zero_disk
tap_ok "write with FUA writes and flushes (SEND_FLUSH, SEND_FUA)" \
    tester -w -f -N disk
tap_is "... the export's file holds what was written" \
    "$(sha_of "$T/disk.img")" "$(sha_x "$size")"
tap_ok "writes to the read-only export get an error reply" \
    tester -w -F -N ro
tap_ok "... in transmission (the export was not refused)" \
    not_grep "Test failed, as expected" "$T/err"
tap_is "... and change nothing" "$(sha_of "$T/ro.img")" "$ro_sha"
tap_ok "an unknown export name is refused" tester -F -N nosuch
tap_ok "an export with nbd = no is refused" tester -F -N hidden
tap_ok "an unknown option: NBD_REP_ERR_UNSUP, then NBD_OPT_ABORT" \
    tester -h -N disk
tap_ok "unaligned reads of 1 MiB and more at offsets 1 and 2" \
    tester -o -N disk

zero_disk
tap_ok "integrity replay: pipelined reads, writes and flushes" \
    tester -i -t "$trace" -N disk
# Again, on a zeroed export, while another client writes with FUA and
# flushes over a second export.
zero_disk
tester -w -f -N disk2 >"$T/writer.out" 2>"$T/writer.err" &
writer=$!
track_pid "$writer"
tap_ok "integrity replay again beside a writer on another export" \
    tester -i -t "$trace" -N disk
wait_pid_status "$writer" $((limit + 10))
tap_is "... and the writer succeeds" $? 0 || tap_diag_file "$T/writer.err"
tap_is "... its export's file holds what it wrote" \
    "$(sha_of "$T/disk2.img")" "$(sha_x "$size")"

tap_ok "netdiskd is still running" pid_alive "$ND_PID"
# Every connection closed for an expected reason (the tester ends with
# NBD_CMD_DISC, with NBD_OPT_ABORT after -h, without either after -o; the
# unknown and hidden exports are refused; -F on the read-only export
# closes at its first error reply, maybe while the replies to its other
# pipelined writes are still going out), no error otherwise.
expected='client (disconnected|closed the connection|aborted the negotiation)'
expected="$expected|NBD: unknown export \"(nosuch|hidden)\""
expected="$expected|cannot send a reply: (Connection reset by peer|Broken pipe)"
{
	grep -E ': closed: ' "$ND_LOG" | grep -Ev ": closed: ($expected)\$"
	grep -Ei 'error|fatal|assert|overflow|bug' "$ND_LOG"
} >"$T/log-unexpected"
tap_ok "netdiskd's log has no unexpected error" \
    test ! -s "$T/log-unexpected" || tap_diag_file "$T/log-unexpected"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
