#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskd's NBD listener against a hostile NBD client: every NBD mode of
# t/badclient (badclient -L, from 127.0.0.2) must get the refusal or the
# close the NBD protocol asks for, and each session's end must be logged
# with a line that names the problem; meanwhile a good NBD client (nbdsh:
# 64 KiB writes read back and compared, a model of the export compared
# at the end) and a good netdisk client (t/steady) work without an
# error, and netdiskd is still up and serving afterwards.
#
# The handshakes the server closes are logged at most 10 per 10 s (the
# "closed handshakes" rate limit): the ten modes that end one come first,
# the flood of 50 idle connections and an oversized NBD_OPT_EXPORT_NAME
# last, checked with the rest of them or with the summary of the lines
# suppressed (badclient checks that the server closed at once).
# shellcheck source=functions.sh
. "$(dirname "$0")/functions.sh"
# shellcheck source=nbd/nbd.sh
. "$top_srcdir/t/nbd/nbd.sh"

requires badclient
requires steady
requires nbdsh
requires_nbd_python

# MODE ERE: the line netdiskd must log for the session of MODE, in the
# order they run.
P='127\.0\.0\.2:[0-9]+: closed: '
expect=(
	nbd-garbage "${P}bad option magic\$"
	nbd-no-fixed-newstyle "${P}NBD client without fixed newstyle negotiation\$"
	nbd-bad-client-flags "${P}NBD client flags 0x80000000 unknown\$"
	nbd-bad-magic "${P}bad option magic\$"
	nbd-idle "${P}client flags: handshake timed out \(handshake_timeout 2 s\)\$"
	nbd-slow-option "${P}option: handshake timed out \(handshake_timeout 2 s\)\$"
	nbd-option-loop "${P}option[a-z ]*: handshake timed out \(handshake_timeout 2 s\)\$"
	nbd-huge-option "${P}option 7 of 4294967295 bytes \(at most 1048576\)\$"
	nbd-bad-names "${P}NBD: unknown export \"nosuchex\"\$"
	nbd-abort "${P}client aborted the negotiation\$"
	nbd-bad-lengths "${P}client disconnected\$"
	nbd-unknown-cmd "${P}client disconnected\$"
	nbd-out-of-range "${P}client disconnected\$"
	nbd-request-flood "${P}(cannot send a reply|request truncated|client closed the connection)"
	nbd-write-too-big "${P}WRITE of 4294967295 bytes exceeds max_payload 33554432\$"
	nbd-disconnect-midpayload "${P}WRITE payload truncated\$"
	nbd-req-bad-magic "${P}bad NBD request magic\$"
	nbd-export-name-huge "${P}NBD_OPT_EXPORT_NAME of 9000 bytes \(at most 8192\)\$|[0-9]+ more closed handshakes suppressed"
	nbd-flood "${P}client flags: handshake timed out|[0-9]+ more closed handshakes suppressed|127\.0\.0\.2:[0-9]+: connection refused: too many handshakes from this address"
)
modes=$(badclient -L) || bail_out "badclient -L failed"
nmodes=$(echo "$modes" | wc -l)
test "$nmodes" -eq $((${#expect[@]} / 2)) ||
    bail_out "badclient -L lists $nmodes modes, the test knows $((${#expect[@]} / 2))"
for m in $modes; do
	case " ${expect[*]} " in
	*" $m "*) ;;
	*) bail_out "no log line known for badclient's mode $m" ;;
	esac
done

tap_plan $((2 * nmodes + 9))

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
truncate -s 8M "$T/good.img" "$T/victim.img" "$T/steady.img"
nbd_write_conf "$T/netdisk.conf" handshake_timeout=2
add_export "$T/netdisk.conf" good size=8M nbd=plain
add_export "$T/netdisk.conf" victim size=8M nbd=plain
add_export "$T/netdisk.conf" steady size=8M
nbd_start "$T/netdisk.conf"

# The good NBD client: 64 KiB writes at random places, each read back
# and compared, a new connection every 100; the export as it must be at
# the end in $T/good.model.
good_nbd='
import os, random
import nbd
stop, model_file, uri = os.environ["STOP"], os.environ["MODEL"], os.environ["URI"]
blk = 65536
model = bytearray(h.get_size())
rounds = 0
while not os.path.exists(stop):
    off = random.randrange(len(model) // blk) * blk
    data = os.urandom(blk)
    h.pwrite(data, off)
    model[off:off + blk] = data
    if h.pread(blk, off) != data:
        raise SystemExit("round %d: read back at %d differs" % (rounds, off))
    rounds += 1
    if rounds % 100 == 0:
        h.shutdown()
        h = nbd.NBD()
        h.connect_uri(uri)
h.shutdown()
with open(model_file, "wb") as f:
    f.write(model)
print("rounds %d" % rounds)
'
STOP="$T/stop" MODEL="$T/good.model" URI="$(nbd_uri good)" \
    PATH="$NBD_PYPATH" nbdsh -u "$(nbd_uri good)" -c "$good_nbd" \
    >"$T/good.out" 2>"$T/good.err" &
good=$!
track_pid $good
steady -k "$ND_KEY" -f "$T/stop" "$(uri steady)" >"$T/steady.out" \
    2>"$T/steady.err" &
steady=$!
track_pid $steady

# log_since LINE ERE SECONDS: wait until the log has a line after LINE
# that matches ERE.
log_since() {
	local i

	for i in $(seq $(($3 * 10))); do
		tail -n +$(($1 + 1)) "$ND_LOG" | grep -Eq -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

for ((i = 0; i < ${#expect[@]}; i += 2)); do
	m=${expect[i]}
	ere=${expect[i + 1]}
	start=$(wc -l <"$ND_LOG")
	badclient -t 2 -s 127.0.0.2 "$(nbd_uri victim)" "$m" \
	    >"$T/bad.out" 2>"$T/bad.err"
	st=$?
	if test $st -eq 0; then
		tap_pass "attack $m handled"
		sed 's/^/# /' "$T/bad.out"
	else
		tap_fail "attack $m handled (badclient exit $st)"
		tap_diag_file "$T/bad.out"
		tap_diag_file "$T/bad.err"
		tap_diag_file "$ND_LOG" 10
	fi
	# The flood's lines may all be suppressed: the summary comes at the
	# end of the rate limit's 10 s window.
	wait=5
	test "$m" = nbd-flood && wait=12
	if log_since "$start" "$ere" "$wait"; then
		tap_pass "$m: netdiskd logs why the session ended"
	else
		tap_fail "$m: netdiskd logs why the session ended" \
		    "no line matching: $ere"
		tail -n +$((start + 1)) "$ND_LOG" | head -20 | sed 's/^/#   /'
	fi
	if ! pid_alive "$ND_PID"; then
		tap_diag_file "$ND_LOG"
		bail_out "netdiskd died during attack $m"
	fi
done

touch "$T/stop"
wait_pid_status $good 30
tap_is "the good NBD client saw no error" $? 0 ||
    { tap_diag_file "$T/good.err"; tap_diag_file "$T/good.out"; }
rounds=$(sed -n 's/^rounds //p' "$T/good.out")
tap_ok "the good NBD client completed rounds (${rounds:-0})" \
    test "${rounds:-0}" -gt 0
tap_is "the NBD export holds exactly the good client's data" \
    "$(sha_of "$T/good.img")" "$(sha_of "$T/good.model" 2>/dev/null)"
steady_end steady $steady "$T/steady.out" "$T/steady.err" 0
tap_ok "netdiskd still serves NBD clients" \
    env PATH="$NBD_PYPATH" nbdsh -u "$(nbd_uri victim)" \
    -c 'assert h.get_size() == 8 << 20' -c 'h.pread(4096, 0)'
tap_ok "no sanitizer report in the log" \
    sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$ND_LOG'"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
