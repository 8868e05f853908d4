#!/bin/sh
# SPDX-License-Identifier: ISC
# netboot-guest.sh - runs in the guests of t/system/netboot.sh at the end
# of each boot (netboot-test.service, after multi-user.target).  The
# guest's role is netboot.role= on the kernel command line:
#   a      the root on netdisk, client identity "a" of the overlay export.
#          First boot: the checks below, then a write+fsync+read loop
#          while the host kills and restarts netdiskd ("# loop start"),
#          then a mark file and "systemctl reboot" (the same QEMU boots
#          again).  Second boot: finds the mark, powers off ("#
#          powering off").
#   b      the root on netdisk, identity "b" of the same export, with
#          the other initramfs flavour, booted after a: first boot:
#          writes its own file, does not see a's mark, "systemctl
#          reboot".  Second boot: finds its file, still not a's mark,
#          powers off.
#   local  the same root image on a virtio disk (the ratio of the boot
#          times): checks the root and powers off.
# Result lines (TAP without numbers, "# " comments, "done" at the end of
# the role's last boot) go to the second serial port, /dev/ttyS1.

out=/dev/ttyS1
mark=/var/lib/netboot-mark
bfile=/var/lib/netboot-b
ok() { echo "ok - $*" >$out; }
notok() { echo "not ok - $*" >$out; }
diag() { echo "$*" | sed 's/^/# /' >$out; }
is() {
	if test "$2" = "$3"; then ok "$1"; else notok "$1"; diag "got [$2] want [$3]"; fi
}
uptime_s() { cut -d' ' -f1 /proc/uptime; }
reconnects() { cat /sys/block/netdisk0/netdisk/reconnects 2>/dev/null; }
# I/O errors, file system errors, a dead device, in this boot's kernel log
kerrors() {
	journalctl -b -k --no-pager 2>/dev/null |
	    grep -ciE 'I/O error|EXT4-fs error|EXT4-fs warning|dead, I/O fails|giving up on a request|Remounting filesystem read-only'
}

role=
# shellcheck disable=SC2013
for x in $(cat /proc/cmdline); do
	case $x in
	netboot.role=*) role=${x#netboot.role=} ;;
	esac
done

# common DEVICE: what every boot checks.
common() {
	diag "$what: multi-user.target after $(uptime_s) s of uptime"
	diag "$what: the root mounted after $(journalctl -b -k -o short-monotonic --no-pager 2>/dev/null |
	    grep -m 1 "EXT4-fs (${1#/dev/}): mounted" | sed 's/^\[ *\([0-9.]*\)\].*/\1/') s of uptime"
	is "$what: multi-user.target is active" \
	    "$(systemctl is-active multi-user.target)" active
	is "$what: the root is $1, ext4, read-write" \
	    "$(findmnt -no SOURCE,FSTYPE,OPTIONS / | awk '{ split($3, o, ","); print $1, $2, o[1] }')" \
	    "$1 ext4 rw"
	is "$what: no failed unit" "$(systemctl --failed --plain --no-legend | head -n 3)" ""
	is "$what: no I/O or file system error in the kernel log" "$(kerrors)" 0
}

# netdisk: the checks of a boot from netdisk.
netdisk() {
	common /dev/netdisk0
	is "$what: the device is the entry \"root\" of the boot script" \
	    "$(cat /sys/block/netdisk0/netdisk/name 2>&1)" root
	is "$what: the boot script's message on the console" \
	    "$(journalctl -b -k --no-pager 2>/dev/null | grep -c 'netdisk0: attached')" 1
	is "$what: /dev/disk/by-label/netboot and by-uuid name it (60-netdisk.rules)" \
	    "$(readlink -f /dev/disk/by-label/netboot) $(readlink -f "/dev/disk/by-uuid/$(blkid -s UUID -o value /dev/netdisk0)")" \
	    "/dev/netdisk0 /dev/netdisk0"
}

# loop SECONDS: write, fsync and read back (O_DIRECT) 256 KiB again and
# again, while the host restarts netdiskd.
loop() {
	end=$(($(uptime_s | cut -d. -f1) + $1))
	n=0
	bad=0
	r0=$(reconnects)
	diag "loop start"
	while test "$(uptime_s | cut -d. -f1)" -lt $end; do
		if dd if=/dev/urandom of=/var/tmp/loop bs=64k count=4 conv=fsync \
		    status=none 2>>/var/tmp/loop.err &&
		    a=$(sha256sum </var/tmp/loop) &&
		    b=$(dd if=/var/tmp/loop bs=64k iflag=direct status=none \
		    2>>/var/tmp/loop.err | sha256sum) && test "$a" = "$b"; then
			:
		else
			bad=$((bad + 1))
		fi
		n=$((n + 1))
	done
	diag "loop: $n rounds, $bad failed, reconnects $r0 -> $(reconnects)"
	is "boot 1: $n rounds of write, fsync, O_DIRECT read while netdiskd restarts: none failed" \
	    "$bad" 0
	test -s /var/tmp/loop.err && diag "$(head -n 5 /var/tmp/loop.err)"
	is "boot 1: the device reconnected during the loop" \
	    "$(test "$(reconnects)" -gt "$r0" && echo yes)" yes
	is "boot 1: after the loop: no I/O or file system error in the kernel log" "$(kerrors)" 0
	is "boot 1: after the loop: the root is still read-write" \
	    "$(findmnt -no OPTIONS / | cut -d, -f1)" rw
}

case $role in
a)
	if test -f $mark; then
		what="a, boot 2"
		netdisk
		diag "mark $(cat $mark)"
		is "$what: $mark holds 32 hex digits" "$(grep -cx '[0-9a-f]\{32\}' $mark)" 1
		echo "done" >$out
		diag "powering off"
		systemctl poweroff
	else
		what="a, boot 1"
		netdisk
		is "$what: the device reconnected after netdiskd's restart during the boot" \
		    "$(test "$(reconnects)" -ge 1 && echo yes)" yes
		loop 20
		head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >$mark.new &&
		    sync && mv $mark.new $mark && sync
		is "$what: wrote $mark" "$(wc -c <$mark)" 32
		diag "mark $(cat $mark)"
		diag "rebooting"
		systemctl reboot
	fi
	;;
b)
	if test -f $bfile; then
		what="b, boot 2"
		netdisk
		diag "bmark $(cat $bfile)"
		is "$what: $bfile holds 32 hex digits" "$(grep -cx '[0-9a-f]\{32\}' $bfile)" 1
		is "$what: a's mark is not in b's overlay" "$(test -e $mark && echo yes)" ""
		echo "done" >$out
		diag "powering off"
		systemctl poweroff
	else
		what="b, boot 1"
		netdisk
		head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >$bfile.new &&
		    sync && mv $bfile.new $bfile && sync
		is "$what: wrote $bfile" "$(wc -c <$bfile)" 32
		is "$what: a's mark is not in b's overlay" "$(test -e $mark && echo yes)" ""
		diag "bmark $(cat $bfile)"
		diag "rebooting"
		systemctl reboot
	fi
	;;
local)
	what="local disk"
	common /dev/vda
	echo "done" >$out
	diag "powering off"
	systemctl poweroff
	;;
*)
	notok "netboot.role=$role on the kernel command line: a, b or local"
	systemctl poweroff
	;;
esac
