#!/bin/bash
# SPDX-License-Identifier: ISC
# resilience.sh - netdisk.ko in a guest of each kernel series, 4 CPUs:
# fio --verify=crc32c over 4 connections; netdiskd killed with SIGKILL
# during a verified write and restarted 3 s later; scale 1 -> 4 -> 2
# connections during fio --verify; the server gone past
# dead_timeout (EIO, nothing hangs); detach during I/O and while mounted;
# rmmod; attach/detach lines balanced.  The checks are in
# guest-resilience.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start fio mkfs.ext4
files=(fio mkfs.ext4=/sbin/mkfs.ext4)
test -f /etc/mke2fs.conf && files+=(/etc/mke2fs.conf)
kt_run_all guest-resilience.sh 360 -c 4 -- "${files[@]}"
kt_end
