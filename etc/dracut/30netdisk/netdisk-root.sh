#!/bin/sh
# SPDX-License-Identifier: ISC
# netdisk's dracut netroot handler, /sbin/netdiskroot NETIF NETROOT
# NEWROOT: run by dracut's /sbin/netroot once the network module has
# brought an interface up, it attaches the export of netroot=netdisk:...
# (set by parse-netdisk.sh from netdisk=) as the netdisktab entry "root",
# trying again until timeout= (/lib/netdisk-boot.sh, shared with
# the initramfs-tools boot script).  The kernel keeps the device through
# switch_root: nothing of this script has to survive it.

# shellcheck source=/dev/null
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin

# Called by /lib/netdisk-boot.sh.
# shellcheck disable=SC2317
nd_fail() {
	die "netdisk: $*"
	exit 1
}

# shellcheck disable=SC2317
nd_warn() {
	warn "$*"
}

case $2 in
netdisk:*) ;;
*) exit 0 ;;
esac
# Once only: netroot runs for every interface that comes up.
[ -e /tmp/netdisk.attached ] && exit 0
# shellcheck source=/dev/null
. /lib/netdisk-boot.sh
nd_parse "${2#netdisk:}" "$(getarg netdisk.key=)" "$(getarg netdisk.timeout=)"
# shellcheck disable=SC2154
info "netdisk: attaching $nd_uri on $1"
nd_attach_root
: >/tmp/netdisk.attached
# On the console once: the initqueue's stderr goes there and to the
# journal (info's kernel log line is below Debian's console log level).
# shellcheck disable=SC2154
echo "netdisk: $nd_uri attached as $nd_dev" >&2
exit 0
