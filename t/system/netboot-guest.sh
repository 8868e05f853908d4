#!/bin/sh
# SPDX-License-Identifier: ISC
# netboot-guest.sh - runs in the guest of t/system/netboot.sh at the end
# of each boot (netboot-test.service, after multi-user.target), with the
# root file system on netdisk.  The first boot checks the root and the
# device, writes a file and reboots; the second finds the file and powers
# off.  Result lines (TAP without numbers, "# " comments, "done" at the
# end) go to the second serial port, /dev/ttyS1.

out=/dev/ttyS1
mark=/var/lib/netboot-mark
ok() { echo "ok - $*" >$out; }
notok() { echo "not ok - $*" >$out; }
diag() { echo "$*" | sed 's/^/# /' >$out; }
is() {
	if test "$2" = "$3"; then ok "$1"; else notok "$1"; diag "got [$2] want [$3]"; fi
}

if test -f $mark; then
	boot=2
else
	boot=1
fi
up=$(cut -d' ' -f1 /proc/uptime)
diag "boot $boot: multi-user.target after $up s of uptime"
is "boot $boot: multi-user.target is active" \
    "$(systemctl is-active multi-user.target)" active
is "boot $boot: the root is /dev/netdisk0, ext4, read-write" \
    "$(findmnt -no SOURCE,FSTYPE,OPTIONS / | awk '{ split($3, o, ","); print $1, $2, o[1] }')" \
    "/dev/netdisk0 ext4 rw"
is "boot $boot: the device is the entry \"root\" of the boot script" \
    "$(cat /sys/block/netdisk0/netdisk/name 2>&1)" root
is "boot $boot: no failed unit" "$(systemctl --failed --plain --no-legend | head -n 3)" ""
is "boot $boot: the boot script's message on the console" \
    "$(journalctl -b -k --no-pager 2>/dev/null | grep -c 'netdisk0: attached')" 1
if test $boot = 1; then
	head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >$mark.new &&
	    sync && mv $mark.new $mark && sync
	is "boot 1: wrote $mark" "$(wc -c <$mark)" 32
	diag "mark $(cat $mark)"
	diag "rebooting"
	systemctl reboot
else
	diag "mark $(cat $mark)"
	is "boot 2: $mark holds 32 hex digits" "$(grep -cx '[0-9a-f]\{32\}' $mark)" 1
	echo "done" >$out
	systemctl poweroff
fi
