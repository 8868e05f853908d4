#!/bin/sh
# SPDX-License-Identifier: ISC
# systemd-guest.sh - runs at boot inside the systemd-nspawn container of
# t/system/package.sh (as /netdisk-test.sh, by netdisk-test.service): installs
# the packages from /debs with dpkg, their maintainer scripts and units
# under a real systemd, and checks the service as an administrator would
# use it.  Results as TAP lines without numbers in /out/tap.

out=/out/tap
: >$out
ok() { echo "ok - $*" >>$out; }
notok() { echo "not ok - $*" >>$out; }
diag() { echo "$*" | sed 's/^/# /' >>$out; }
# check DESC CMD...: CMD exits 0.
check() {
	d=$1
	shift
	if "$@" >/out/cmd 2>&1; then ok "$d"; else notok "$d"; diag "$(tail -n 5 /out/cmd)"; fi
}
# is DESC GOT WANT
is() {
	if test "$2" = "$3"; then ok "$1"; else notok "$1"; diag "got [$2] want [$3]"; fi
}
wait_for() {
	n=$1
	shift
	while test "$n" -gt 0; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
		n=$((n - 1))
	done
	return 1
}
mainpid() { systemctl show -p MainPID --value netdiskd; }
active() { test "$(systemctl is-active "$1")" = active; }

check "dpkg -i netdiskd netdisk-client" dpkg -i /debs/netdiskd_*.deb /debs/netdisk-client_*.deb
check "netdiskd.service is running after the install" wait_for 50 active netdiskd
check "... and ready: Type=notify status" sh -c \
    'systemctl show -p StatusText --value netdiskd | grep -qx "serving 0 exports"'
pid=$(mainpid)
uid=$(id -u netdisk)
is "... as the user netdisk" "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")" "$uid"
is "... without capabilities, no new privileges" \
    "$(awk '/^CapEff:/ {c=$2} /^NoNewPrivs:/ {n=$2} END {print c, n}' "/proc/$pid/status")" \
    "0000000000000000 1"
check "the user netdisk is in the group disk" sh -c 'id -nG netdisk | grep -qw disk'
is "the control socket, owned by netdisk:netdisk, mode 0660" \
    "$(stat -c '%F %a %U:%G' /run/netdisk/netdiskd.sock)" "socket 660 netdisk:netdisk"
check "netdiskctl status answers" netdiskctl status

# An export under /srv/netdisk, made writable with a drop-in.
mkdir -p /etc/netdisk /srv/netdisk /etc/systemd/system/netdiskd.service.d
netdiskctl genkey -o /etc/netdisk/netdisk.key >/dev/null
chown netdisk:netdisk /etc/netdisk/netdisk.key /srv/netdisk
printf '[Service]\nReadWritePaths=/srv/netdisk\n' \
    >/etc/systemd/system/netdiskd.service.d/paths.conf
sed -i '/^\[global\]/a keyfile = /etc/netdisk/netdisk.key' /etc/netdisk.conf
systemctl daemon-reload
# A drop-in's paths take effect when the service starts (README).
check "systemctl restart netdiskd with the drop-in" systemctl restart netdiskd
printf '[t]\npath = /srv/netdisk/t.img\nsize = 64M\n' >>/etc/netdisk.conf
check "netdiskctl reload adds the export" netdiskctl reload
check "... it is served" netdiskctl info -k /etc/netdisk/netdisk.key netdisk://127.0.0.1/t
head -c 1048576 /dev/urandom >/tmp/blk
netdiskctl write -k /etc/netdisk/netdisk.key netdisk://127.0.0.1/t 0 </tmp/blk
netdiskctl read -k /etc/netdisk/netdisk.key netdisk://127.0.0.1/t 0 1048576 >/tmp/back
is "data written through the service reads back" "$(sha256sum </tmp/back)" "$(sha256sum </tmp/blk)"
cp /etc/netdisk.conf /tmp/good.conf
echo nonsense >>/etc/netdisk.conf
netdiskctl reload >/out/cmd 2>&1
is "netdiskctl reload refuses a broken file (exit 11)" "$?" 11
systemctl reload netdiskd
check "systemctl reload with it: the service stays up" active netdiskd
check "... and says why in the journal" sh -c \
    'sleep 1; journalctl -u netdiskd --no-pager | grep -q "reload failed: keeping the running configuration"'
cp /tmp/good.conf /etc/netdisk.conf
check "netdiskctl restart t" netdiskctl restart t
check "systemctl restart netdiskd" systemctl restart netdiskd
netdiskctl read -k /etc/netdisk/netdisk.key netdisk://127.0.0.1/t 0 1048576 >/tmp/back
is "... the data is still there" "$(sha256sum </tmp/back)" "$(sha256sum </tmp/blk)"
check "netdisk-attach.service starts on an empty netdisktab" systemctl start netdisk-attach
check "... and stops" systemctl stop netdisk-attach
check "systemctl stop netdiskd" systemctl stop netdiskd
is "... it stopped cleanly, never restarted" \
    "$(systemctl show -p Result --value netdiskd) $(systemctl show -p NRestarts --value netdiskd)" \
    "success 0"
check "... and removed its control socket" test ! -e /run/netdisk/netdiskd.sock
journalctl -u netdiskd --no-pager | tail -n 15 | sed 's/^/# journal: /' >>$out
echo "# done" >>$out
