#!/bin/bash
# SPDX-License-Identifier: ISC
# smoke.sh - boot each test kernel under QEMU and check the guest basics:
# the kernel release, loopback up and answering, and "modprobe nbd" giving
# /dev/nbd0.  One TAP test per kernel series, with the time the guest took.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"

SERIES=(6.1 6.12)

case ${NETDISK_KERNEL_TESTS:-1} in
0 | no)
	echo "1..0 # SKIP kernel tests run in the werror build"
	exit 0 ;;
esac

# guest_script VERSION: the test the guest runs.
guest_script() {
	cat <<EOF
set -e
release=\$(uname -r)
test "\$release" = "$1" || { echo "uname -r: \$release, expected $1"; exit 1; }
test \$((\$(cat /sys/class/net/lo/flags) & 1)) = 1 || { echo "lo is down"; exit 1; }
ping -c 1 -W 5 127.0.0.1 >/dev/null || { echo "no answer from 127.0.0.1"; exit 1; }
ping -c 1 -W 5 ::1 >/dev/null || { echo "no answer from ::1"; exit 1; }
modprobe nbd
test -b /dev/nbd0 || { echo "no /dev/nbd0 after modprobe nbd"; exit 1; }
echo "smoke: all checks passed"
EOF
}

# now: seconds since the epoch, with decimals.
now() {
	echo "${EPOCHREALTIME/,/.}"
}

# elapsed START: seconds since START, one decimal.
elapsed() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
}

# smoke SERIES VERSION VMLINUZ MODDIR
smoke() {
	local series=$1 ver=$2 vmlinuz=$3 moddir=$4 t0 t_img t_boot

	guest_script "$ver" >"$T/test-$series.sh"
	t0=$(now)
	if ! "$here/mkinitramfs.sh" -i nbd "$T/initrd-$series.gz" "$ver" \
	    "$moddir" "$T/test-$series.sh" 2>"$T/mkinitramfs.err"; then
		tap_fail "$series ($ver): initramfs"
		tap_diag_file "$T/mkinitramfs.err"
		return
	fi
	t_img=$(elapsed "$t0")
	t0=$(now)
	if "$here/run-guest.sh" -t 60 -l "$T/console-$series.log" \
	    "$vmlinuz" "$T/initrd-$series.gz" 2>"$T/guest.err"; then
		t_boot=$(elapsed "$t0")
		tap_pass "$series ($ver): boots, loopback, nbd (guest $t_boot s)"
		tap_diag "$series: initramfs $t_img s, boot + test + power-off $t_boot s"
	else
		tap_fail "$series ($ver): boots, loopback, nbd" \
		    "run-guest.sh exited with status $? after $(elapsed "$t0") s"
		tap_diag_file "$T/guest.err" 80
	fi
}

t_start=$(now)
"$here/fetch-kernels.sh" "${SERIES[@]}" >"$T/kernels" 2>"$T/fetch.err"
fetch_status=$?
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
	echo "1..0 # SKIP qemu-system-x86_64 is not installed and could not be installed"
	exit 0
fi
tap_plan "${#SERIES[@]}"
if test $fetch_status != 0; then
	tap_diag "fetch-kernels.sh exited with status $fetch_status"
	tap_diag_file "$T/fetch.err"
fi
tap_diag "fetch-kernels.sh: $(elapsed "$t_start") s"
for s in "${SERIES[@]}"; do
	line=$(awk -v s="$s" '$1 == s' "$T/kernels")
	if test -z "$line"; then
		tap_fail "$s: no kernel fetched"
		continue
	fi
	# shellcheck disable=SC2086
	set -- $line
	smoke "$1" "$2" "$3" "$5"
done
tap_diag "total: $(elapsed "$t_start") s"
test $tap_failed = 0
