#!/bin/bash
# SPDX-License-Identifier: ISC
# basic.sh - netdisk.ko in a guest of each kernel series: the protocol test
# vectors in the kernel, KeyUpdates every 3 records, attach with modprobe
# parameters and with netdiskctl (list, detach), netdiskctl attach
# loading the module itself (not installed, not root: the messages),
# size, read-only flag and queue limits as the server announces them,
# ext4 (mkfs, files, e2fsck
# -fn, sha256 after a fresh attach), a read-only export, refused attaches
# and their messages, netdisktab (attach -a, attach NAME, detach -a, a
# bad table, names in sysfs), overlay exports (two devices of one export
# with different client keys, ext4 and files on each, kept apart across
# detach and attach, the base unchanged; an ephemeral overlay back to the
# base), protocol version 3 (server_pub: refused
# without fallback by a netdiskd without server_key, I/O, a
# reconnect to a netdiskd with min_version = 3, a v2 attach refused, a
# wrong or bad server_pub), the keys nowhere in the kernel log, sysfs or
# /proc, attach/detach lines balanced.
# The checks are in guest-basic.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start mkfs.ext4 e2fsck
files=(mkfs.ext4=/sbin/mkfs.ext4 e2fsck=/sbin/e2fsck
    "$here/guest-overlay.sh=/guest-overlay.sh"
    "$top_srcdir/t/vectors/v3.txt=/v3.txt")
test -f /etc/mke2fs.conf && files+=(/etc/mke2fs.conf)
kt_run_all guest-basic.sh 300 -- "${files[@]}"
kt_end
