#!/bin/bash
# SPDX-License-Identifier: ISC
# netboot.sh - network boot with initramfs-tools (docs/netboot.md): a
# Debian 12 root file system with systemd and initramfs-tools
# (debootstrap, cached by t/system/systemd-rootfs.sh), the kernel of one
# series of t/kernel/fetch-kernels.sh with its modules and netdisk.ko, the
# hook and boot script of etc/initramfs-tools installed as the Debian
# package puts them, an initramfs made by mkinitramfs in a chroot into
# that root, and the root as an ext4 image served by netdiskd on the
# host's loopback.  QEMU (TCG, user-mode network: the guest reaches the
# host's 127.0.0.1 as 10.0.2.2) boots it with
#   root=/dev/netdisk0 netdisk=netdisk://10.0.2.2:PORT/root ip=dhcp
# once to multi-user.target, where t/system/netboot-guest.sh checks the
# root, writes a file and reboots (the same QEMU: the kernel, initramfs
# and attach again, with a new client id), then finds the file and
# powers off.
#
# Needs root (chroot, mkinitramfs), debootstrap and a Debian mirror the
# first time (skipped when the root cannot be built, e.g. offline),
# mkfs.ext4 with -d.  Not in the default "make check" yet: run it with
#   /work/wt/notes/qemu-run make check TESTS=t/system/netboot.sh
# Environment: NETDISK_NETBOOT_INITRD (initramfs-tools, the default, or
# dracut: t/system/netboot-initrd.sh), NETDISK_NETBOOT_SERIES (default 6.12), NETDISK_NETBOOT_LIMIT
# (seconds for the whole QEMU run, default 900), NETDISK_CACHE (the
# root's cache folder, default /var/cache/netdisk-ktest), and those of
# t/kernel/lib.sh.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
NETDISK_KERNEL_SERIES=${NETDISK_NETBOOT_SERIES:-6.12}
# shellcheck source=netboot-initrd.sh
. "$top_srcdir/t/system/netboot-initrd.sh"
# shellcheck source=../kernel/lib.sh
. "$top_srcdir/t/kernel/lib.sh"

limit=${NETDISK_NETBOOT_LIMIT:-900}
s=${KT_SERIES[0]}
test "$(id -u)" = 0 || kt_skip "needs root (chroot, $nbi_tool)"
for t in debootstrap mkfs.ext4 chroot unshare depmod; do
	command -v "$t" >/dev/null 2>&1 || kt_skip "$t not found"
done
kt_start
line=$(awk -v s="$s" '$1 == s' "$T/kernels")
test -n "$line" || kt_skip "no kernel of series $s (fetch-kernels.sh: $(tail -n 1 "$T/fetch.err"))"
read -r _ ver vmlinuz kdir moddir <<<"$line"

# ---------------------------------------------------------------- the root
rootfs=${NETDISK_CACHE:-/var/cache/netdisk-ktest}/$(nbi_rootfs_name)
t0=$(kt_now)
# shellcheck disable=SC2046
"$top_srcdir/t/system/systemd-rootfs.sh" "$rootfs" $(nbi_packages) udev \
    e2fsprogs kmod libbsd0 libc6 libinih1 libmbedcrypto7 libssl3 \
    >"$T/rootfs.log" 2>&1 ||
    kt_skip "no Debian root file system (offline?): $(tail -n 1 "$T/rootfs.log")"
tap_diag "the Debian root: $(kt_elapsed "$t0") s"

kt_build "$s" "$ver" "$kdir" || { kt_end; exit; }

R=$T/root
key=/etc/netdisk/root.key
# root_setup: the guest's root in $R, from the cached one.
root_setup() {
	cp -a "$rootfs" "$R" &&
	    mkdir -p "$R/lib/modules" "$R/etc/netdisk" "$R/var/lib" &&
	    cp -a "$moddir" "$R/lib/modules/" &&
	    install -D -m 644 "$kt_ko" "$R/lib/modules/$ver/updates/netdisk.ko" &&
	    depmod -b "$R" "$ver" &&
	    cp "${vmlinuz%/*}/config-$ver" "$R/boot/" &&
	    install -m 755 "$top_builddir/src/netdiskctl/netdiskctl" "$R/usr/sbin/" &&
	    install -m 600 "$ND_KEY" "$R$key" &&
	    nbi_install "$R" &&
	    echo "/dev/netdisk0 / ext4 defaults 0 1" >"$R/etc/fstab" &&
	    echo netboot >"$R/etc/hostname" &&
	    install -m 755 "$top_srcdir/t/system/netboot-guest.sh" "$R/netboot-guest.sh" &&
	    printf '%s\n' '[Unit]' 'Description=netdisk network boot test' \
	    'After=multi-user.target' '[Service]' 'Type=oneshot' \
	    'ExecStart=/bin/sh /netboot-guest.sh' 'StandardOutput=journal' \
	    '[Install]' 'WantedBy=multi-user.target' \
	    >"$R/etc/systemd/system/netboot-test.service" &&
	    ln -s /etc/systemd/system/netboot-test.service \
	    "$R/etc/systemd/system/multi-user.target.wants/"
}
make_key "$ND_KEY" || bail_out "netdiskctl genkey failed"
tap_ok "the guest's root: the cached one, the $ver modules, netdisk.ko, netdiskctl, netdisk's $nbi_tool files" \
    root_setup || { tap_diag_file "$T/err"; kt_end; exit; }

nbi_make "$R" "$ver" || { kt_end; exit; }

# ---------------------------------------------------------------- the server
truncate -s 2G "$T/root.img"
tap_ok "mkfs.ext4 -d: the root as an image" \
    mkfs.ext4 -q -F -L netboot -d "$R" "$T/root.img"
rm -rf "$R"
conf=$T/netdisk.conf
write_conf "$conf"
add_export "$conf" root path="$T/root.img"
start_netdiskd "$conf"

# ---------------------------------------------------------------- the boot
# boot N: QEMU run N; its console in $con.N, its result lines in $res.N,
# its status in $rs.  -no-reboot: the guest's reboot ends the run, and
# QEMU's exit closes the connections of the guest's device (see the notes
# in docs/netboot.md on rebooting in place).
con=$KT_OUT/logs/netboot-$s.console
res=$KT_OUT/logs/netboot-$s.results
boot() {
	: >"$con.$1"
	: >"$res.$1"
	timeout -k 5 "$limit" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2 \
	    -nodefaults -nographic -no-reboot \
	    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
	    -serial "file:$con.$1" -serial "file:$res.$1" \
	    -kernel "$vmlinuz" -initrd "$T/initrd.img" \
	    -append "console=ttyS0 panic=5 root=/dev/netdisk0 rw netdisk=netdisk://10.0.2.2:$ND_PORT/root ip=dhcp" \
	    </dev/null >"$T/qemu.out" 2>&1
	rs=$?
}
# boot_report N SECONDS: the run's TAP lines (after kt_results).
boot_report() {
	local n=$1 secs=$2 want=reboots end=rebooting

	if test "$n" = 2; then
		want="powers off"
		end=done
	fi
	if test $rs = 0 && grep -qx "# $end\|$end" "$T/results.$n"; then
		tap_pass "$s: boot $n from netdisk reaches multi-user.target and $want ($secs s)"
	else
		tap_fail "$s: boot $n from netdisk reaches multi-user.target and $want" \
		    "qemu exited with status $rs after $secs s (124: timeout)" \
		    "console log: $con.$n"
		tap_diag_file "$T/qemu.out"
		tr -d '\r' <"$con.$n" >"$T/con"
		tap_diag_file "$T/con" 60
	fi
	tap_is "$s: boot $n: no kernel warning, oops or BUG on the console" \
	    "$(grep -acE 'WARNING:|BUG:|Oops|Kernel panic|hung_task' "$con.$n")" 0
	tap_is "$s: boot $n: the boot script attached /dev/netdisk0" \
	    "$(grep -ac 'netdisk: netdisk://10.0.2.2:[0-9]*/root attached as /dev/netdisk0' "$con.$n")" 1
}
for n in 1 2; do
	t0=$(kt_now)
	boot $n
	secs=$(kt_elapsed "$t0")
	tr -d '\r' <"$res.$n" >"$T/results.$n"
	kt_results "$s" "$T/results.$n"
	boot_report $n "$secs"
	test $rs = 0 || break
done
tap_is "$s: the mark written before the reboot read back after it" \
    "$(cat "$T/results.1" "$T/results.2" 2>/dev/null | grep '^# mark ' | sort | uniq -c | awk '{ print $1 }')" 2
kt_end
