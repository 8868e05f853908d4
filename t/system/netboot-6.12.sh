#!/bin/bash
# SPDX-License-Identifier: ISC
# netboot-6.12.sh - t/system/netboot.sh with the kernel series 6.12:
# make check lists one test per series (Makefile.am, NETBOOT_TESTS).
# Guest a boots with an initramfs made by mkinitramfs, guest b with one
# made by dracut (the other series the other way round;
# NETDISK_NETBOOT_INITRD chooses a's).  Skipped when
# NETDISK_KERNEL_SERIES leaves 6.12 out.
s=6.12
case " ${NETDISK_KERNEL_SERIES:-6.1 6.12} " in
*" $s "*) ;;
*)
	echo "1..0 # SKIP series $s is not in NETDISK_KERNEL_SERIES"
	exit 0
	;;
esac
NETDISK_NETBOOT_INITRD=${NETDISK_NETBOOT_INITRD:-initramfs-tools} NETDISK_NETBOOT_SERIES=$s \
    exec "$(dirname "$0")/netboot.sh"
