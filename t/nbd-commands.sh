#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskd's NBD listener, command by command, through libnbd's Python
# module (python3-libnbd) and raw sockets (t/nbd/*.py): the transmission
# flags and block sizes, every command and command flag, the error
# replies, structured and simple replies, the option haggling (LIST,
# INFO, GO, LIST_META_CONTEXT, ABORT, EXPORT_NAME) and the exclusive use
# of a read-write export by one address.
#
# The scripts' checks are counted as they come, so the plan is printed
# last.
# shellcheck source=functions.sh
. "$(dirname "$0")/functions.sh"
# shellcheck source=nbd/nbd.sh
. "$top_srcdir/t/nbd/nbd.sh"

requires_nbd_python

mib=1048576
size=$((64 * mib))
desc_disk="scratch disk of nbd-commands"
desc_ro="read-only image"

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
# disk: sparse, data in [1M, 2M) and [5M, 5.5M) only (commands.py).
truncate -s 64M "$T/disk.img"
dd if=/dev/urandom of="$T/disk.img" bs=1M seek=1 count=1 conv=notrunc \
    status=none
dd if=/dev/urandom of="$T/disk.img" bs=512K seek=10 count=1 conv=notrunc \
    status=none
random_file "$T/ro.img" $((8 * mib))
ro_sha=$(sha_of "$T/ro.img")
if fs_supports_holes "$T"; then holes=yes; else holes=no; fi

nbd_write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=64M nbd=plain "description=$desc_disk"
add_export "$T/netdisk.conf" ro readonly=yes nbd=plain "description=$desc_ro"
add_export "$T/netdisk.conf" other size=4M nbd=plain
add_export "$T/netdisk.conf" hidden size=4M nbd=no "description=netdisk only"
add_export "$T/netdisk.conf" legacy size=4M
nbd_start "$T/netdisk.conf"

# nbdsh itself, the way a person uses it.
if command -v nbdsh >/dev/null 2>&1; then
	PATH=$NBD_PYPATH tap_ok "nbdsh -u $(nbd_uri disk): size, flags" \
	    nbdsh -u "$(nbd_uri disk)" \
	    -c "assert h.get_size() == $size, h.get_size()" \
	    -c 'assert h.can_multi_conn() and not h.is_read_only()' \
	    -c 'assert h.pread(512, 0) == bytes(512)'
	PATH=$NBD_PYPATH tap_ok "nbdsh --opt-mode: opt_list, then opt_go" \
	    nbdsh --opt-mode -u "$(nbd_uri ro)" \
	    -c 'l = []' \
	    -c 'h.opt_list(lambda n, d: l.append((n, d)) or 0)' \
	    -c "assert sorted(l) == [('disk', '$desc_disk'), ('other', ''),
		('ro', '$desc_ro')], l" \
	    -c 'h.opt_go()' \
	    -c 'assert h.is_read_only()'
	if test $holes = yes; then
		PATH=$NBD_PYPATH tap_ok "nbdsh --base-allocation: block status" \
		    nbdsh --base-allocation -u "$(nbd_uri disk)" \
		    -c 'e = []' \
		    -c "h.block_status($((2 * mib)), 0,
			lambda c, o, x, err: e.extend(x) or 0)" \
		    -c "assert e[:4] == [$mib, 3, $mib, 0], e"
	else
		tap_skip "nbdsh --base-allocation: block status" \
		    "$T does not keep holes"
	fi
else
	for d in "nbdsh -u: size, flags" "nbdsh --opt-mode" \
	    "nbdsh --base-allocation"; do
		tap_skip "$d" "nbdsh not found"
	done
fi

nbd_py commands.py --port "$NBD_PORT" --export disk --path "$T/disk.img" \
    --size "$size" --desc "$desc_disk" --ro ro --ro-path "$T/ro.img" \
    --holes "$holes"
nbd_py options.py --port "$NBD_PORT" \
    --list "disk=$desc_disk" "ro=$desc_ro" "other=" \
    --ro ro --hidden hidden legacy --export disk --size "$size"
nbd_py raw.py --port "$NBD_PORT" --export disk --path "$T/disk.img" \
    --size "$size" --ro ro --list "disk=$desc_disk" "ro=$desc_ro" "other=" \
    --hidden hidden legacy

tap_is "the read-only export's file is unchanged" "$(sha_of "$T/ro.img")" \
    "$ro_sha"
tap_is "the backing file kept its size" "$(stat -c %s "$T/disk.img")" "$size"
tap_ok "netdiskd is still running" pid_alive "$ND_PID"
tap_ok "the log names the NBD connections to \"disk\"" \
    sh -c "grep -i nbd '$ND_LOG' | grep -q '\"disk\"'"
tap_ok "... and the client at 127.0.0.2" grep -q '127\.0\.0\.2' "$ND_LOG"
tap_ok "no sanitizer report in the log" \
    sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$ND_LOG'"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
tap_plan "$tap_n"
