#!/bin/sh
# SPDX-License-Identifier: ISC
# netdisk-data.service: finds the data file system (label netdisk-data).
# Without one, it makes it on the only blank disk: not the system's, no
# partitions, no signature that blkid knows, and its first MiB zeros.  It
# never formats a disk that holds anything.
set -eu
label=netdisk-data

udevadm settle --timeout=30 || true
if blkid -t LABEL=$label -o device >/dev/null 2>&1; then
	exit 0
fi

sys=$(lsblk -no PKNAME "$(findmnt -no SOURCE /)")
blank=""
for d in $(lsblk -dn -o NAME,TYPE | awk '$2 == "disk" { print $1 }'); do
	[ "$d" != "$sys" ] || continue
	[ "$(cat "/sys/block/$d/ro")" = 0 ] || continue
	[ "$(cat "/sys/block/$d/size")" -gt 2048 ] || continue
	[ "$(lsblk -n -o NAME "/dev/$d" | wc -l)" -eq 1 ] || continue
	blkid -p "/dev/$d" >/dev/null 2>&1 && continue
	cmp -s -n 1048576 "/dev/$d" /dev/zero || continue
	blank="$blank $d"
done

# shellcheck disable=SC2086
set -- $blank
case $# in
0)
	echo "netdisk appliance: no data disk: attach a blank disk, or make" \
	    "a file system labelled $label (docs/appliance.md)"
	exit 1 ;;
1)
	echo "netdisk appliance: making the data file system on the blank" \
	    "disk /dev/$1"
	mkfs.ext4 -q -L $label -m 0 "/dev/$1"
	udevadm settle --timeout=30 || true ;;
*)
	echo "netdisk appliance: several blank disks ($*): make the data" \
	    "file system on the one to use: mkfs.ext4 -L $label /dev/DISK"
	exit 1 ;;
esac
