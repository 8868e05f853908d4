#!/bin/bash
# SPDX-License-Identifier: ISC
# requeue.sh - netdisk.ko in a guest of each kernel series, 2 CPUs: FUA
# writes that time out while netdiskd's store stalls (t/storefault.so), with
# one connection (mq-deadline) and with two (no scheduler); every request
# is completed exactly once (detach: no mq-deadline statistics warning);
# signals to an O_DIRECT writer are not failures; a write never answered
# fails with EIO after dead_timeout, but not a write the guest did not
# read the answer of because it did not run (t/cpustall).  The checks are in
# guest-requeue.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start fio
test -f "$top_builddir/t/storefault.so" ||
    make -C "$top_builddir" t/storefault.so >/dev/null 2>&1 ||
    bail_out "cannot build t/storefault.so"
test -x "$top_builddir/t/cpustall" ||
    make -C "$top_builddir" t/cpustall >/dev/null 2>&1 ||
    bail_out "cannot build t/cpustall"
kt_run_all guest-requeue.sh 300 -- fio \
    "$top_builddir/t/storefault.so=/usr/lib/storefault.so" \
    "$top_builddir/t/cpustall=/usr/bin/cpustall"
kt_end
