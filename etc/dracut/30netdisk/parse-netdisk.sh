#!/bin/sh
# SPDX-License-Identifier: ISC
# netdisk's dracut cmdline hook (sourced by dracut's init).  With
# netdisk= on the kernel command line it checks the netdisk settings
# (/lib/netdisk-boot.sh, shared with the initramfs-tools boot script) and
# sets netroot=netdisk:..., so that dracut's network module brings the
# network up (ip=, else DHCP) and then runs the handler /sbin/netdiskroot.
# root= must name the device or a label on it: dracut's rootfs-block
# module waits for it and mounts it.  docs/netboot.md describes the
# command line.

# shellcheck source=/dev/null
type getarg >/dev/null 2>&1 || . /lib/dracut-lib.sh

nd_arg=$(getarg netdisk=)
if [ -n "$nd_arg" ]; then
	nd_fail() {
		die "netdisk: $*"
		exit 1
	}
	# shellcheck source=/dev/null
	. /lib/netdisk-boot.sh
	nd_parse "$nd_arg" "$(getarg netdisk.key=)" "$(getarg netdisk.timeout=)"
	[ -n "${root:-$(getarg root=)}" ] ||
	    nd_fail "no root= on the kernel command line: with dracut, name the" \
	    "device (root=/dev/netdisk0) or a label on it (root=LABEL=...)"
	# shellcheck disable=SC2034
	netroot=netdisk:$nd_arg
fi
