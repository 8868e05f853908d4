# SPDX-License-Identifier: ISC
# lib.sh - the host side of the kernel tests (basic.sh, resilience.sh, faults.sh...)
#
# Sourced after t/functions.sh.  For each kernel series that
# fetch-kernels.sh provides, a test builds netdisk.ko, makes one initramfs
# with a guest script (guest-*.sh and guest-lib.sh), boots it once with
# run-guest.sh and turns the guest's result lines into TAP, each
# description prefixed with the series:
#
#   kt_start TOOL...            skip unless the kernel tests are wanted here
#                               and TOOLs (needed in the guest) exist; fetch
#                               the kernels
#   kt_run_all GUEST_SCRIPT SECONDS [RUN-GUEST-OPTION...] [-- FILE[=DEST]...]
#                               for each series: build, initramfs (with
#                               netdiskd, netdiskctl and the FILEs), one
#                               guest bounded by SECONDS, its checks as TAP,
#                               then "guest run" (ended in time, no kernel
#                               warning, oops or hung task, every check run)
#   kt_end                      the plan; the exit status
#
# kt_make_module and kt_initramfs print no TAP and need neither $T nor
# t/functions.sh: contrib/kbench.sh builds and boots its guests with them.
#
# A test that needs more of the kernel's modules in the image (for its
# script to modprobe) names them in KT_MODULES before kt_run_all, e.g.
# KT_MODULES="brd dm-mod dm-delay".
#
# The module is built in $top_builddir/t/kernel/build-SERIES from a copy of
# kernel/, include/netdisk_*.h and t/vectors/v{2,3}.txt (the source tree
# stays untouched and may be read-only), with KCFLAGS=-Werror; a lock lets
# tests that run in parallel share it.  The console and result logs of the
# last run stay in $top_builddir/t/kernel/logs/.
#
# Environment:
#   NETDISK_KERNEL_TESTS=0   skip ("1..0 # SKIP"): contrib/check.sh runs the
#                            kernel tests once, in its werror build
#   NETDISK_KERNEL_SERIES    the series to test (default: "6.1 6.12")
#   NETDISK_KCACHE, NETDISK_OFFLINE    see fetch-kernels.sh

KT_SRC=$top_srcdir/t/kernel
KT_OUT=$top_builddir/t/kernel
KT_NAME=$(basename "$0" .sh)
read -r -a KT_SERIES <<<"${NETDISK_KERNEL_SERIES:-6.1 6.12}"
KT_CMDLINE="log_buf_len=4M"

# now / elapsed START: wall clock seconds, one decimal.
kt_now() {
	echo "${EPOCHREALTIME/,/.}"
}

kt_elapsed() {
	awk -v a="$1" -v b="$(kt_now)" 'BEGIN { printf "%.1f", b - a }'
}

kt_skip() {
	echo "1..0 # SKIP $*"
	exit 0
}

# kt_start TOOL...
kt_start() {
	local t

	case ${NETDISK_KERNEL_TESTS:-1} in
	0 | no) kt_skip "kernel tests run in the werror build" ;;
	esac
	test -f "$top_srcdir/kernel/Kbuild" ||
	    kt_skip "no kernel/ in the source tree"
	kt_t0=$(kt_now)
	"$KT_SRC/fetch-kernels.sh" "${KT_SERIES[@]}" >"$T/kernels" 2>"$T/fetch.err"
	kt_fetch_status=$?
	for t in qemu-system-x86_64 busybox cpio "$@"; do
		command -v "$t" >/dev/null 2>&1 ||
		    kt_skip "$t not found (contrib/deps.sh installs it)"
	done
	mkdir -p "$KT_OUT/logs" || bail_out "cannot create $KT_OUT/logs"
	if test $kt_fetch_status != 0; then
		tap_diag "fetch-kernels.sh exited with status $kt_fetch_status"
		tap_diag_file "$T/fetch.err"
	fi
	tap_diag "fetch-kernels.sh: $(kt_elapsed "$kt_t0") s"
}

# kt_guests_lock shared|exclusive: the build tree's guest lock, held on
# the file descriptor kt_lock_fd until kt_guests_unlock.  Each kernel
# test's guest runs under a shared lock, several at a time in a parallel
# make check; the network boot (t/system/netboot.sh), whose systemd
# guests under TCG stall for minutes beside other guests on a 2-core
# machine, takes it exclusive.  What the holder starts inherits the
# descriptor: a process that outlives the guests (netdiskd) is started
# with it closed ("{kt_lock_fd}>&-").  Waits up to an hour.
kt_guests_lock() {
	local t0

	t0=$(kt_now)
	mkdir -p "$KT_OUT"
	exec {kt_lock_fd}>>"$KT_OUT/guests.lock" ||
	    bail_out "cannot open $KT_OUT/guests.lock"
	flock "--$1" -w 3600 "$kt_lock_fd" ||
	    bail_out "no $1 lock on $KT_OUT/guests.lock after 3600 s"
	tap_diag "the guests' lock ($1) after $(kt_elapsed "$t0") s"
}

kt_guests_unlock() {
	exec {kt_lock_fd}>&-
}

# kt_copy SRC DIR: SRC into DIR unless the same file is there; a changed
# file gets a new time stamp, so that make rebuilds what depends on it.
kt_copy() {
	cmp -s "$1" "$2/${1##*/}" || install -m 644 "$1" "$2/"
}

# kt_sync_source DIR: the module's source into DIR/kernel, DIR/include and
# DIR/t/vectors, the layout kernel/Kbuild expects.
kt_sync_source() {
	local d=$1 f n

	mkdir -p "$d/kernel" "$d/include" "$d/t/vectors" || return 1
	for f in "$top_srcdir"/kernel/*; do
		n=${f##*/}
		case $n in
		nd_vectors*.h | *.mod.c) continue ;;
		Kbuild | Makefile | dkms.conf | *.sh | *.c | *.h) ;;
		*) continue ;;
		esac
		kt_copy "$f" "$d/kernel" || return 1
	done
	for f in "$d"/kernel/*.c "$d"/kernel/*.h; do
		n=${f##*/}
		case $n in
		nd_vectors*.h | *.mod.c | '*.c' | '*.h') continue ;;
		esac
		test -f "$top_srcdir/kernel/$n" || rm -f "$f"
	done
	for f in "$top_srcdir"/include/netdisk_*.h; do
		kt_copy "$f" "$d/include" || return 1
	done
	kt_copy "$top_srcdir/t/vectors/v2.txt" "$d/t/vectors" &&
	    kt_copy "$top_srcdir/t/vectors/v3.txt" "$d/t/vectors"
}

# kt_make_module DIR KDIR LOG: netdisk.ko in DIR/kernel for the kernel
# headers in KDIR, built from a copy of the sources (kt_sync_source) with
# KCFLAGS=-Werror; make's output in LOG.  A lock (DIR.lock) lets tests
# that run in parallel share DIR.  No TAP: contrib/kbench.sh uses it too.
kt_make_module() {
	mkdir -p "$1" || return 1
	# Not the flags of a "make check" around us (jobserver, variables
	# given on its command line).
	{
		flock 9 &&
		    kt_sync_source "$1" &&
		    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES \
		    make -C "$1/kernel" KDIR="$2" KCFLAGS=-Werror
	} 9>"$1.lock" >"$3" 2>&1
}

# kt_for_series KERNELS FUNCTION SERIES...: FUNCTION SERIES VERSION
# VMLINUZ KDIR MODDIR (a line of fetch-kernels.sh's output KERNELS) for
# each SERIES, a message for one not fetched; 0 if every call returned 0.
# No TAP: contrib/kbench.sh and kbench-cache.sh use it.
kt_for_series() {
	local kernels=$1 fn=$2 s line rc=0

	shift 2
	for s in "$@"; do
		line=$(awk -v s="$s" '$1 == s' "$kernels")
		if test -z "$line"; then
			echo "${0##*/}: $s: no kernel fetched" >&2
			rc=1
			continue
		fi
		# shellcheck disable=SC2086
		"$fn" $line || rc=1
	done
	return $rc
}

# kt_initramfs IMAGE VERSION MODDIR KO GUEST_SCRIPT [MKINITRAMFS-OPTION...]
#     [-- FILE[=DEST]...]: the guest's initramfs (mkinitramfs.sh) with the
# kernel's crypto modules, netdisk.ko, GUEST_SCRIPT as /test.sh,
# guest-lib.sh, netdiskd and netdiskctl of $top_builddir, and the FILEs.
# No TAP: contrib/kbench.sh uses it too.
kt_initramfs() {
	local img=$1 ver=$2 moddir=$3 ko=$4 guest=$5 opts=()

	shift 5
	while test $# -gt 0 && test "$1" != --; do
		opts+=("$1")
		shift
	done
	test $# -gt 0 && shift
	"$KT_SRC/mkinitramfs.sh" -d kernel/crypto -d kernel/arch/x86/crypto \
	    -d kernel/lib/crypto "${opts[@]}" -k "$ko" "$img" "$ver" "$moddir" \
	    "$guest" "$KT_SRC/guest-lib.sh=/guest-lib.sh" \
	    "$top_builddir/src/netdiskd/netdiskd=/usr/sbin/netdiskd" \
	    "$top_builddir/src/netdiskctl/netdiskctl=/usr/sbin/netdiskctl" \
	    "$@"
}

# kt_build SERIES VERSION KDIR: netdisk.ko for that kernel in $kt_ko; one
# TAP line.
kt_build() {
	local d="$KT_OUT/build-$1" t0 rc

	kt_ko=""
	t0=$(kt_now)
	kt_make_module "$d" "$3" "$T/build-$1.log"
	rc=$?
	if test $rc = 0 && ! grep -v '^make' "$T/build-$1.log" |
	    grep -Eq 'warning:|WARNING:'; then
		kt_ko=$d/kernel/netdisk.ko
		tap_pass "$1: netdisk.ko builds against $2 without warnings ($(kt_elapsed "$t0") s)"
	else
		tap_fail "$1: netdisk.ko builds against $2 without warnings" \
		    "make exited with status $rc"
		tap_diag_file "$T/build-$1.log" 40
		return 1
	fi
}

# kt_results SERIES FILE: the guest's result lines as TAP; sets kt_done
# (yes if the guest script got to its end) and kt_checks.
kt_results() {
	local line

	kt_done=no
	kt_checks=0
	while IFS= read -r line; do
		line=${line%$'\r'}
		case $line in
		"ok - "*)
			tap_pass "$1: ${line#ok - }"
			kt_checks=$((kt_checks + 1)) ;;
		"not ok - "*)
			tap_fail "$1: ${line#not ok - }"
			kt_checks=$((kt_checks + 1)) ;;
		"#"*) echo "$line" ;;
		done) kt_done=yes ;;
		esac
	done <"$2"
}

# kt_series SERIES VERSION VMLINUZ KDIR MODDIR: one series, as kt_run_all.
kt_series() {
	local s=$1 ver=$2 vmlinuz=$3 kdir=$4 moddir=$5 t0 rs failed0
	local img="$T/initrd-$s.gz" con="$KT_OUT/logs/$KT_NAME-$s.console"
	local res="$KT_OUT/logs/$KT_NAME-$s.results" m mods=()

	kt_build "$s" "$ver" "$kdir" || return
	for m in ${KT_MODULES:-}; do
		mods+=(-i "$m")
	done
	t0=$(kt_now)
	if ! kt_initramfs "$img" "$ver" "$moddir" "$kt_ko" "$KT_SRC/$kt_guest" \
	    "${mods[@]}" -- "${kt_files[@]}" 2>"$T/mkinitramfs.err"; then
		tap_fail "$s: initramfs"
		tap_diag_file "$T/mkinitramfs.err"
		return
	fi
	tap_diag "$s: initramfs $(du -m "$img" | cut -f1) MB in $(kt_elapsed "$t0") s"
	kt_guests_lock shared
	t0=$(kt_now)
	failed0=$tap_failed
	"$KT_SRC/run-guest.sh" -t "$kt_limit" -l "$con" -r "$res" \
	    -a "$KT_CMDLINE" "${kt_opts[@]}" "$vmlinuz" "$img" 2>"$T/guest.err"
	rs=$?
	kt_guests_unlock
	grep -A5 'booting once more' "$T/guest.err" | sed "s/^/# $s: /"
	kt_results "$s" "$res"
	if test $rs = 0 && test $kt_done = yes; then
		tap_pass "$s: guest run: $kt_checks checks, ended in time, no kernel warning, oops or hung task ($(kt_elapsed "$t0") s)"
	else
		tap_fail "$s: guest run: $kt_checks checks, ended in time, no kernel warning, oops or hung task" \
		    "run-guest.sh exited with status $rs after $(kt_elapsed "$t0") s" \
		    "the guest script $(test $kt_done = yes && echo "got to its end" ||
		    echo "stopped after $kt_checks checks")" \
		    "console log: $con"
		tap_diag_file "$T/guest.err" 80
	fi
	if test $tap_failed != "$failed0" && test $rs = 0; then
		tap_diag "$s: the kernel's last messages ($con):"
		grep -av '^KTEST ' "$con" | tr -d '\r' >"$T/kmsg"
		tap_diag_file "$T/kmsg" 40
	fi
}

# kt_run_all GUEST_SCRIPT SECONDS [RUN-GUEST-OPTION...] [-- FILE[=DEST]...]
kt_run_all() {
	local line

	kt_guest=$1 kt_limit=$2
	shift 2
	kt_opts=()
	while test $# -gt 0 && test "$1" != --; do
		kt_opts+=("$1")
		shift
	done
	test $# -gt 0 && shift
	kt_files=("$@")
	for s in "${KT_SERIES[@]}"; do
		line=$(awk -v s="$s" '$1 == s' "$T/kernels")
		if test -z "$line"; then
			tap_fail "$s: no kernel fetched"
			continue
		fi
		# shellcheck disable=SC2086
		kt_series $line
	done
}

kt_end() {
	tap_diag "total: $(kt_elapsed "$kt_t0") s"
	tap_plan "$tap_n"
	test "$tap_failed" = 0
}
