#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskd against a hostile client: every attack of t/badclient (its
# connection floods from 127.0.0.2) must be handled as the protocol says,
# while a well-behaved client keeps writing and verifying its data, and
# the daemon must still be serving afterwards.  The trickle attack (a
# hello sent one byte every half second) must be cut off by the one
# deadline of the whole handshake; the replay cache of one key must not
# be flushed by the hellos of another (replay-flood, with the key of the
# export "other").
. "$(dirname "$0")/functions.sh"

requires badclient

modes=$(badclient -l) || bail_out "badclient -l failed"
nmodes=$(echo "$modes" | wc -l)

tap_plan $((nmodes + 7))

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
make_key "$T/other.key" || bail_out "netdiskctl genkey -o failed"
truncate -s 8M "$T/good.img" "$T/victim.img" "$T/good.model" "$T/other.img"
random_file "$T/ro.img" 1048576
ro_sha=$(sha_of "$T/ro.img")
write_conf "$T/netdisk.conf" handshake_timeout=2
add_export "$T/netdisk.conf" good size=8M
add_export "$T/netdisk.conf" victim size=8M
add_export "$T/netdisk.conf" ro size=1M readonly=yes
add_export "$T/netdisk.conf" other size=1M keyfile="$T/other.key"
start_netdiskd "$T/netdisk.conf"

# The well-behaved client: 64 KiB writes, each read back and compared, and
# a model of the whole export to compare with at the end.
good_client() {
	local i=0 off

	while ! test -e "$T/stop"; do
		off=$(((i * 7 % 128) * 65536))
		head -c 65536 /dev/urandom >"$T/g.data"
		if ! netdiskctl write -k "$ND_KEY" "$(uri good)" "$off" \
		    <"$T/g.data" 2>>"$T/good.err"; then
			echo "write $i at $off failed" >>"$T/good.fail"
			return 1
		fi
		dd if="$T/g.data" of="$T/good.model" bs=65536 seek=$((off / 65536)) \
		    conv=notrunc status=none
		if ! netdiskctl read -k "$ND_KEY" "$(uri good)" "$off" 65536 \
		    >"$T/g.back" 2>>"$T/good.err"; then
			echo "read $i at $off failed" >>"$T/good.fail"
			return 1
		fi
		if ! cmp -s "$T/g.data" "$T/g.back"; then
			echo "read $i at $off returned other data" >>"$T/good.fail"
			return 1
		fi
		i=$((i + 1))
		echo $i >"$T/good.count"
	done
}
good_client &
good=$!
track_pid $good

for m in $modes; do
	case $m in
	req-readonly) export=ro ;;
	*) export=victim ;;
	esac
	badclient -t 2 -s 127.0.0.2 -k "$ND_KEY" -K "$T/other.key" \
	    "$(uri $export)" "$m" \
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
	if ! pid_alive "$ND_PID"; then
		tap_diag_file "$ND_LOG"
		bail_out "netdiskd died during attack $m"
	fi
done

touch "$T/stop"
wait_pid_status $good 60
tap_is "the good client saw no error during the attacks" $? 0 ||
    { tap_diag_file "$T/good.fail"; tap_diag_file "$T/good.err"; }
tap_ok "the good client completed rounds ($(cat "$T/good.count" 2>/dev/null) rounds)" \
    test "$(cat "$T/good.count" 2>/dev/null || echo 0)" -gt 0
tap_is "the good export holds exactly the good client's data" \
    "$(sha_of "$T/good.img")" "$(sha_of "$T/good.model")"
tap_is "the read-only export is unchanged" "$(sha_of "$T/ro.img")" "$ro_sha"
tap_status "netdiskd still answers netdiskctl info" 0 \
    netdiskctl info -k "$ND_KEY" "$(uri victim)"
tap_ok "no sanitizer report in the log" \
    sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$ND_LOG'"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
