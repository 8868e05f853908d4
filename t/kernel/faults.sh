#!/bin/bash
# SPDX-License-Identifier: ISC
# faults.sh - netdisk.ko in a guest of each kernel series, 4 CPUs, with
# netdiskd's store on device-mapper over a ramdisk: a stall longer than
# the request timeout under verified FUA writes, with 4 connections and
# with one (mq-deadline), and no stale write landing after it; dm-delay
# under the timeout; dm-error and dm-flakey surfacing as EIO.  The
# checks are in guest-faults.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start fio dmsetup
KT_MODULES="brd dm-mod dm-delay dm-flakey mq-deadline"
kt_run_all guest-faults.sh 360 -c 4 -- fio "$(command -v dmsetup)"
kt_end
