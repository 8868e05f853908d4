#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskd as a service: readiness notification (the sd_notify protocol)
# and privileges: the listeners and the control socket are set up as
# root, then it runs as the configured user and group, and reload and
# restart work under them.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"

requires socat
requires jq
if test "$(id -u)" != 0; then
	echo "1..0 # SKIP needs root to change user"
	exit 0
fi
tap_plan 21

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
export NETDISK_KEYFILE=$ND_KEY

# Readiness: READY=1 once clients can connect, RELOADING=1 and READY=1
# around a reload, STOPPING=1 at the end.
socat -u UNIX-RECV:"$T/notify.sock" STDOUT >"$T/notify.out" 2>"$T/socat.err" &
track_pid $!
for i in $(seq 50); do test -S "$T/notify.sock" && break; sleep 0.1; done
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" a size=8M
NOTIFY_SOCKET=$T/notify.sock netdiskd -f -c "$T/netdisk.conf" >>"$ND_LOG" 2>&1 &
ND_PID=$!
nd_pids="$nd_pids $ND_PID"
tap_ok "READY=1 arrives" wait_grep '^READY=1$' "$T/notify.out" 10
tap_ok "... when the port already accepts connections" port_listening "$ND_PORT"
tap_ok "... with MAINPID, the daemon's pid" grep -qx "MAINPID=$ND_PID" "$T/notify.out"
tap_ok "... and a STATUS line" grep -qx 'STATUS=serving 1 export' "$T/notify.out"
add_export "$T/netdisk.conf" b size=8M
kill -HUP "$ND_PID"
tap_ok "SIGHUP: RELOADING=1" wait_grep '^RELOADING=1$' "$T/notify.out" 10
tap_ok "... with MONOTONIC_USEC" grep -Eq '^MONOTONIC_USEC=[0-9]+$' "$T/notify.out"
tap_ok "... then READY=1 again" wait_grep '^STATUS=serving 2 exports$' "$T/notify.out" 10
stop_netdiskd
tap_is "SIGTERM: netdiskd exits 0" $? 0
tap_ok "... after STOPPING=1" grep -qx 'STOPPING=1' "$T/notify.out"

# Privileges: user nobody, group nogroup.
chmod 755 "$T"
user=nobody group=nogroup
uid=$(id -u $user) gid=$(getent group $group | cut -d: -f3)
touch "$T/a.img" "$T/b.img" "$T/c.img"
chown $user:$group "$T/a.img" "$T/b.img" "$T/c.img" "$ND_KEY"
# netdiskd creates the socket's directory for the service user (as
# tmpfiles.d makes /run/netdisk), so that it can remove the socket when
# it stops.
ND_CTL=$T/run/netdiskd.sock
write_conf "$T/netdisk.conf" user=$user group=$group
add_export "$T/netdisk.conf" a size=8M
start_netdiskd "$T/netdisk.conf"
tap_is "netdiskd runs as $user:$group" \
    "$(awk '/^Uid:/ {u=$2} /^Gid:/ {g=$2} END {print u ":" g}' /proc/$ND_PID/status)" \
    "$uid:$gid"
tap_is "... with $user's groups only, none of root's" \
    "$(awk '/^Groups:/ {$1=""; print}' /proc/$ND_PID/status | tr ' ' '\n' | grep . | sort -n | tr '\n' ' ')" \
    "$( (id -G $user | tr ' ' '\n'; echo "$gid") | sort -nu | tr '\n' ' ')"
tap_is "... and no capabilities" \
    "$(awk '/^CapEff:/ {print $2}' /proc/$ND_PID/status)" 0000000000000000
tap_is "the control socket belongs to $user:$group, mode 0660" \
    "$(stat -c '%U:%G %a' "$ND_CTL")" "$user:$group 660"
tap_is "... in a directory netdiskd made for them, mode 0750" \
    "$(stat -c '%U:%G %a' "$T/run")" "$user:$group 750"
head -c 4096 /dev/urandom >"$T/blk"
tap_ok "a client writes to a" netdiskctl write "$(uri a)" 0 <"$T/blk"
add_export "$T/netdisk.conf" b size=8M
tap_ok "netdiskctl reload under $user: exit 0" netdiskctl reload -s "$ND_CTL"
tap_ok "... the new export b is served" netdiskctl info "$(uri b)"
tap_ok "netdiskctl restart a under $user: exit 0" \
    netdiskctl restart -s "$ND_CTL" a
netdiskctl read "$(uri a)" 0 4096 >"$T/back"
tap_is "... a serves its data after the restart" "$(sha_of "$T/back")" \
    "$(sha_of "$T/blk")"
stop_netdiskd
tap_is "netdiskd exits 0" $? 0
tap_ok "... and removed its control socket as $user" test ! -e "$ND_CTL"
