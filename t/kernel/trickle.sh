#!/bin/bash
# SPDX-License-Identifier: ISC
# trickle.sh - netdisk.ko against a server that trickles its ServerHello
# one byte a second (t/trickle), in a guest of each kernel series: an
# attach fails within the connect deadline (ND_CONNECT_TIMEOUT, 10 s)
# instead of hanging; a device whose server comes back as a trickler
# while it reconnects is detached, and the module removed with a device
# in that state, within 10 s each; a reconnect to a server (t/liar) that
# announces a smaller max payload or another preferred block size leaves
# the device dead, with the reason in the kernel log.  The checks are in
# guest-trickle.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start
for p in trickle liar; do
	test -x "$top_builddir/t/$p" || kt_skip "t/$p is not built"
done
kt_run_all guest-trickle.sh 240 -- "$top_builddir/t/trickle=/usr/bin/trickle" \
    "$top_builddir/t/liar=/usr/bin/liar"
kt_end
