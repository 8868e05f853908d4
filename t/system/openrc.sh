#!/bin/bash
# SPDX-License-Identifier: ISC
# The OpenRC script of netdiskd, run for real by openrc-run: start, a
# reload through netdiskctl (a bad file refused with its errors), the
# restart of one export, status, stop.  OpenRC's state directory is a
# directory of the test's, bind-mounted over /run/openrc in a mount
# namespace of each command, so the host's services are not touched.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"

requires openrc-run
requires unshare
if test "$(id -u)" != 0; then
	echo "1..0 # SKIP needs root for a mount namespace"
	exit 0
fi
if ! test -d /run/openrc; then
	echo "1..0 # SKIP /run/openrc missing (openrc not set up)"
	exit 0
fi
tap_plan 22

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
export NETDISK_KEYFILE=$ND_KEY
# The scripts find both programs in one sbindir, as installed.
sbindir=$T/sbin
mkdir -p "$sbindir"
ln -s "$(command -v netdiskd)" "$(command -v netdiskctl)" "$sbindir/" ||
	bail_out "cannot link the programs into $sbindir"
mkdir -p "$T/init.d" "$T/conf.d" "$T/svcdir"
for d in daemons exclusive failed hotplugged inactive options scheduled \
    started starting stopping tmp wasinactive; do
	mkdir "$T/svcdir/$d"
done
echo default >"$T/svcdir/softlevel"
S=$T/init.d/netdiskd
sed -e "s|@sbindir@|$sbindir|g" -e "s|@sysconfdir@|$T|g" \
    "$top_srcdir/etc/openrc/netdiskd.in" >"$S"
chmod 755 "$S"
# OpenRC reads the settings from conf.d beside init.d.
cat >"$T/conf.d/netdiskd" <<EOC
NETDISKD_CONFIG=$T/netdisk.conf
NETDISKD_PIDFILE=$T/netdiskd.pid
NETDISK_SOCKET=$ND_CTL
EOC
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" a size=8M

# orc COMMAND [SCRIPT]: openrc-run on the script ($S), with the test's
# state directory.
orc() {
	unshare -m sh -c 'mount --bind "$0" /run/openrc && exec "$1" "$2"' \
	    "$T/svcdir" "${2:-$S}" "$1"
}

tap_ok "start" orc start
tap_ok "... netdiskd listens" port_listening "$ND_PORT"
ND_PID=$(cat "$T/netdiskd.pid" 2>/dev/null)
nd_pids="$nd_pids $ND_PID"
tap_ok "... and wrote its pidfile" pid_alive "$ND_PID"
head -c 65536 /dev/urandom >"$T/blk"
tap_ok "a client writes to export a" netdiskctl write "$(uri a)" 0 <"$T/blk"
tap_like "status" "$(orc status 2>&1)" "status: started"

add_export "$T/netdisk.conf" b size=8M
tap_ok "reload with a new export" orc reload
tap_like "... netdiskctl's answer is shown" "$(cat "$T/out")" \
    "configuration reloaded"
tap_ok "... b is served" netdiskctl info "$(uri b)"
cp "$T/netdisk.conf" "$T/good.conf"
echo "nonsense" >>"$T/netdisk.conf"
tap_status "reload with a broken file fails (netdiskctl's exit 11)" 11 orc reload
tap_like "... showing the error with FILE:LINE" "$(cat "$T/out" "$T/err")" \
    "$T/netdisk.conf:[0-9]+: expected \"key = value\""
tap_status "checkconfig fails on it too" 1 orc checkconfig
cp "$T/good.conf" "$T/netdisk.conf"

tap_ok "restart of one export with netdiskctl" \
    netdiskctl restart -s "$ND_CTL" a
netdiskctl read "$(uri a)" 0 65536 >"$T/back"
tap_is "... a serves its data afterwards" "$(sha_of "$T/back")" \
    "$(sha_of "$T/blk")"

tap_ok "stop" orc stop
gone() {
	local i

	for i in $(seq 100); do
		pid_alive "$1" || return 0
		sleep 0.1
	done
	return 1
}
tap_ok "... netdiskd is gone" gone "$ND_PID"
tap_ok "... and so is its control socket" test ! -e "$ND_CTL"
tap_like "status after stop" "$(orc status 2>&1)" "status: stopped"

# netdisk-attach with the shipped table (nothing to attach, no module
# needed), then with a broken one.
A=$T/init.d/netdisk-attach
sed -e "s|@sbindir@|$sbindir|g" -e "s|@sysconfdir@|$T|g" \
    "$top_srcdir/etc/openrc/netdisk-attach.in" >"$A"
chmod 755 "$A"
cp "$top_srcdir/etc/netdisktab" "$T/netdisktab"
tap_ok "netdisk-attach start with the shipped netdisktab" orc start "$A"
tap_like "... started" "$(orc status "$A" 2>&1)" "status: started"
tap_ok "netdisk-attach stop" orc stop "$A"
echo "home netdisk://127.0.0.1/home relative.key" >>"$T/netdisktab"
tap_status "netdisk-attach start with a broken netdisktab fails" 1 orc start "$A"
tap_like "... naming the line" "$(cat "$T/out" "$T/err")" "$T/netdisktab:[0-9]+: "
