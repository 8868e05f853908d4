#!/bin/bash
# SPDX-License-Identifier: ISC
# signals.sh - netdisk.ko in a guest of each kernel series: SIGSTOP/SIGCONT
# and caught signals (t/sigwriter) sent in a loop to O_DIRECT writers on
# /dev/netdisk0 do not reset a connection, and the data verify.  The
# checks are in guest-signals.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start fio
test -x "$top_builddir/t/sigwriter" ||
    kt_skip "t/sigwriter not built (make check builds it)"
kt_run_all guest-signals.sh 240 -- fio \
    "$top_builddir/t/sigwriter=/usr/bin/sigwriter"
kt_end
