#!/bin/bash
# SPDX-License-Identifier: ISC
# badserver.sh - netdisk.ko against a malicious server (t/badserver) in a
# guest of each kernel series: handles out of range, duplicate and stale;
# READ replies short, long or cut by a close; ESHUTDOWN forever; no reply;
# KeyUpdate and empty-record floods; changed and invalid ServerHellos on
# reconnect; a trickled ServerHello during detach and rmmod.  Each case:
# EIO within dead_timeout or the data read back as written, no protocol
# violation by the client, detach and rmmod within 10 s.  The guests run
# with hung_task_panic=1, slub_debug=FZPU and KFENCE where the kernel has
# it (run-guest.sh -H).  NETDISK_BADSERVER_CASES (comma-separated case
# names of guest-badserver.sh) runs some cases only.
# The checks are in guest-badserver.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start
test -x "$top_builddir/t/badserver" ||
    bail_out "$top_builddir/t/badserver is missing (make t/badserver)"
opts=(-H)
case ${NETDISK_BADSERVER_CASES:-} in
*[!a-z0-9,-]*) bail_out "NETDISK_BADSERVER_CASES: \"$NETDISK_BADSERVER_CASES\" is not a comma-separated list of case names" ;;
?*) opts+=(-a "BADSERVER_CASES=$NETDISK_BADSERVER_CASES") ;;
esac
kt_run_all guest-badserver.sh 420 "${opts[@]}" -- \
    "$top_builddir/t/badserver=/usr/bin/badserver"
kt_end
