#!/bin/bash
# SPDX-License-Identifier: ISC
# swap.sh - swap on /dev/netdisk0 under memory pressure: a guest of each
# kernel series with 192 MiB of RAM (run-guest.sh -m 192 -H: hung-task
# panic after 20 s, slub_debug) swaps on a netdisk device whose netdiskd
# runs here, on the host, reached through QEMU's user-mode network
# (10.0.2.2 in the guest is the host's 127.0.0.1), while t/memhog writes
# and reads back 64 MiB more than the guest's memory.  The server is off
# the guest on purpose: a server in the guest would store the swapped
# pages in the guest's own memory (no disk there) and would itself
# allocate under the pressure it is meant to relieve, which nbd and NFS
# swap do not support either (netdisk(4), SWAP).  The checks are in
# guest-swap.sh.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start
test -x "$top_builddir/t/memhog" ||
    kt_skip "t/memhog not built (make check builds it)"
make_key "$ND_KEY" || bail_out "netdiskctl genkey -o $ND_KEY failed"
conf=$T/netdisk.conf
write_conf "$conf"
add_export "$conf" swap size=512M
start_netdiskd "$conf"
KT_MODULES="virtio_pci virtio_net"
kt_run_all guest-swap.sh 420 -m 192 -n -H -a "ndport=$ND_PORT" -- \
    "$top_builddir/t/memhog=/usr/bin/memhog" "$ND_KEY=/swap.key"
if grep -q "error\|warn" "$ND_LOG"; then
	tap_diag "netdiskd's log:"
	tap_diag_file "$ND_LOG" 20
fi
kt_end
