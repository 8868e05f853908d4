#!/bin/bash
# trickle.sh - netdisk.ko against a server that trickles its ServerHello
# one byte a second (t/trickle), in a guest of each kernel series: an
# attach fails within the connect deadline (ND_CONNECT_TIMEOUT, 10 s)
# instead of hanging; a device whose server comes back as a trickler
# while it reconnects is detached, and the module removed with a device
# in that state, within 10 s each.  The checks are in guest-trickle.sh;
# lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start
test -x "$top_builddir/t/trickle" || kt_skip "t/trickle is not built"
kt_run_all guest-trickle.sh 240 -- "$top_builddir/t/trickle=/usr/bin/trickle"
kt_end
