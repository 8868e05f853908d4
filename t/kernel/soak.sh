#!/bin/bash
# SPDX-License-Identifier: ISC
# soak.sh - netdisk.ko in a guest of each kernel series: SOAK_CYCLES
# (default 20; "make soak" runs 200) SIGKILL-and-restart cycles of
# netdiskd during verified fio writes: no I/O error, no verify failure.
# The checks are in guest-soak.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

cycles=${SOAK_CYCLES:-20}
case $cycles in
'' | *[!0-9]* | 0) bail_out "SOAK_CYCLES=$cycles is not a number of cycles (1 or more)" ;;
esac
kt_start fio
echo "SOAK_CYCLES=$cycles" >"$T/soak.env"
# about 4 s a cycle under TCG on a loaded machine, twice that as a limit
kt_run_all guest-soak.sh $((120 + cycles * 8)) -- fio "$T/soak.env=/soak.env"
kt_end
