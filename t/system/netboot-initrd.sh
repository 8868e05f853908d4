# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# netboot-initrd.sh - sourced by t/system/netboot.sh: the initramfs of the
# network boot test, made inside the guest's root by the tool that
# NETDISK_NETBOOT_INITRD names, "initramfs-tools" (the default) or
# "dracut" (Debian 12's dracut conflicts with initramfs-tools: each has a
# root of its own, cached apart).
#   nbi_rootfs_name     the name of the tool's cached root
#   nbi_packages        the tool's Debian packages in that root
#   nbi_install ROOT    netdisk's files of the tool into ROOT, where the
#                       Debian package puts them, and the tool's settings
#   nbi_make ROOT VERSION
#                       the image, with TAP lines: made without a warning,
#                       mode 600, holding netdiskctl, netdisk.ko, gcm, the
#                       boot scripts and the key (mode 600); then moved
#                       to $T/initrd.img.  Non-zero when it was not made.
# Uses $T, $top_srcdir, $key (the key's path in the root), kt_now,
# kt_elapsed and the tap_* functions.

nbi_tool=${NETDISK_NETBOOT_INITRD:-initramfs-tools}
case $nbi_tool in
initramfs-tools | dracut) ;;
*) bail_out "NETDISK_NETBOOT_INITRD=$nbi_tool: not initramfs-tools or dracut" ;;
esac

nbi_rootfs_name() {
	case $nbi_tool in
	initramfs-tools) echo rootfs-netboot ;;
	dracut) echo rootfs-netboot-dracut ;;
	esac
}

nbi_packages() {
	case $nbi_tool in
	initramfs-tools) echo initramfs-tools ;;
	dracut) echo dracut dracut-network procps ;;
	esac
}

# nbi_gen SRC DEST: a .in file with the paths of the Debian package.
nbi_gen() {
	mkdir -p "${2%/*}" &&
	    sed -e 's|@sbindir@|/usr/sbin|g' -e 's|@sysconfdir@|/etc|g' \
	    -e 's|@pkgdatadir@|/usr/share/netdisk|g' "$1" >"$2" &&
	    chmod 755 "$2"
}

nbi_install() {
	local r=$1 e=$top_srcdir/etc m

	install -D -m 644 "$e/initrd/netdisk-build.sh" "$r/usr/share/netdisk/netdisk-build.sh" &&
	    install -m 644 "$e/initrd/netdisk-boot.sh" "$r/usr/share/netdisk/" &&
	    install -D -m 644 "$e/udev/60-netdisk.rules" "$r/usr/lib/udev/rules.d/60-netdisk.rules" &&
	    echo "KEYFILE=$key" >"$r/etc/netdisk/initramfs.conf" || return 1
	case $nbi_tool in
	initramfs-tools)
		nbi_gen "$e/initramfs-tools/hooks/netdisk.in" \
		    "$r/usr/share/initramfs-tools/hooks/netdisk" &&
		    install -D -m 755 "$e/initramfs-tools/scripts/local-top/netdisk" \
		    "$r/usr/share/initramfs-tools/scripts/local-top/netdisk" &&
		    echo "UMASK=0077" >>"$r/etc/initramfs-tools/initramfs.conf"
		;;
	dracut)
		m=$r/usr/lib/dracut/modules.d/30netdisk
		nbi_gen "$e/dracut/30netdisk/module-setup.sh.in" "$m/module-setup.sh" &&
		    install -m 755 "$e/dracut/30netdisk/parse-netdisk.sh" \
		    "$e/dracut/30netdisk/netdisk-root.sh" "$m/"
		;;
	esac
}

# nbi_chroot ROOT COMMAND...: COMMAND in a chroot into ROOT, in a mount
# namespace of its own (proc, dev); its output in $T/nbi.out and
# $T/nbi.err.
nbi_chroot() {
	unshare -m sh -c 'mount -t proc proc "$1/proc" && mount --bind /dev "$1/dev" &&
	    r=$1 && shift && exec chroot "$r" "$@"' sh "$@" >"$T/nbi.out" 2>"$T/nbi.err"
}

# nbi_build ROOT VERSION: the image as /boot/initrd.img in ROOT; its
# listing (ls -l style) in $T/nbi.out, the paths alone in $T/list.  Not
# host-only: the chroot is not the guest's machine; what the boot does not
# need is left out.
nbi_build() {
	case $nbi_tool in
	initramfs-tools)
		nbi_chroot "$1" mkinitramfs -o /boot/initrd.img "$2" || return 1
		cp "$T/nbi.err" "$T/build.err"
		nbi_chroot "$1" lsinitramfs -l /boot/initrd.img
		;;
	dracut)
		nbi_chroot "$1" dracut --force --no-hostonly --no-hostonly-cmdline \
		    --add netdisk --omit "plymouth i18n btrfs mdraid lvm dm crypt nfs iscsi nbd" \
		    --kver "$2" /boot/initrd.img || return 1
		cp "$T/nbi.err" "$T/build.err"
		nbi_chroot "$1" lsinitrd /boot/initrd.img
		;;
	esac
	sed -e 's/ -> .*//' -e 's/^.* \([^ ]*\)$/\1/' -e 's|^\./||' "$T/nbi.out" >"$T/list"
}

nbi_make() {
	local r=$1 ver=$2 t0 hooks want

	t0=$(kt_now)
	tap_ok "$nbi_tool in the chroot, with netdisk's files" nbi_build "$r" "$ver" ||
	    { tap_diag_file "$T/nbi.err" 20; return 1; }
	tap_diag_file "$T/build.err" 10
	tap_diag "$nbi_tool: $(kt_elapsed "$t0") s, $(du -k "$r/boot/initrd.img" | cut -f1) KiB"
	tap_is "... no warning or error naming netdisk" \
	    "$(grep -i netdisk "$T/build.err" | grep -cE '^[WE]: |[Ww]arn|[Ee]rror|[Ff]ail|FATAL')" 0
	tap_is "... the image is mode 600" "$(stat -c %a "$r/boot/initrd.img")" 600
	case $nbi_tool in
	initramfs-tools)
		hooks='^scripts/local-top/netdisk$'
		want=6
		;;
	dracut)
		hooks='/hooks/cmdline/90-parse-netdisk\.sh$|^(usr/)?sbin/netdiskroot$'
		want=7
		;;
	esac
	tap_is "... it holds netdiskctl, netdisk.ko, gcm, netdisk-boot.sh, the boot scripts, the key" \
	    "$(grep -cE '^(usr/)?sbin/netdiskctl$|/updates/netdisk\.ko$|/crypto/gcm\.ko|^(usr/)?lib/netdisk-boot\.sh$|^etc/netdisk/root\.key$|'"$hooks" "$T/list")" \
	    "$want" || grep -E 'netdisk|gcm' "$T/list" | sed 's/^/# /'
	tap_is "... the key in it is mode 600, root's" \
	    "$(awk '$NF == "etc/netdisk/root.key" { print $1, $3 }' "$T/nbi.out")" "-rw------- root"
	mv "$r/boot/initrd.img" "$T/initrd.img"
}
