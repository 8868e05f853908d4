#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make bench-kernel-cache: netdisk.ko's client cache (cache=SIZE) against
# no cache, in one QEMU guest per kernel series.  Not a test: figures.
#
# Usage: contrib/kbench-cache.sh [SERIES...]   SERIES: 6.1, 6.12 (default 6.12)
#
# For each series it builds netdisk.ko and an initramfs as the kernel
# tests do (t/kernel/lib.sh), boots ONE guest (2 vCPUs, 1 GiB) that
#   - writes a 64 MiB image of random data into its tmpfs, served
#     read-only by netdiskd on 127.0.0.1,
#   - attaches it twice, 2 connections each: /dev/netdisk0 without a cache,
#     /dev/netdisk1 with --cache 128M (the whole working set fits),
#   - reads the 64 MiB once through netdisk1 to fill its cache (the
#     cache's hits and misses are printed),
#   - then, ROUNDS times, alternating the devices so that a drift of the
#     emulation's speed falls on both: repeated O_DIRECT passes of the
#     64 MiB (dd bs=1M iflag=direct) for BENCH_TIME seconds, and fio 4 KiB
#     random O_DIRECT reads over the 64 MiB at queue depth 16 (libaio)
#     for BENCH_TIME seconds,
#   - prints MiB/s and IOPS of each run, the means and the ratio
#     cache / no cache, and the cache's hit ratio over the measured runs.
# Both devices are the same export over the same loopback in the same
# guest at the same time; only cache= differs.  Under TCG absolute
# figures mean little (every instruction is emulated, the copy from the
# cache too); compare the ratio.
#
# Figures (2026-12-04, BENCH_TIME=10 ROUNDS=2, a 2-core host running
# two or three other QEMU guests, load 4-6; means of the runs):
#   series  dd passes, no cache / cache      fio 4 KiB qd 16, no cache / cache
#   6.1       7.1 / 417.1 MiB/s  (58.7x)        308 / 11790 IOPS  (38.3x)
#   6.12      6.4 / 406.4 MiB/s  (63.3x)        636 / 27358 IOPS  (43.0x)
#   6.12      7.6 / 384.0 MiB/s  (50.4x)        470 / 18460 IOPS  (39.3x)  an earlier run
# hit ratio over the measured runs 1.0000 (2.38 and 2.63 million hits, 0
# misses), no eviction.  Without the cache every request crosses the
# emulated loopback, AES-GCM and netdiskd; with it a hit is a copy in
# queue_rq, in the reading task (no kblockd hop).
#
# Environment: BENCH_TIME seconds per run (10), ROUNDS (2),
# NETDISK_BUILDDIR (default: the current directory if it has the
# programs, else the source tree), BENCH_KEEP=1 keeps the temporary
# directory, NETDISK_KCACHE and NETDISK_OFFLINE as for fetch-kernels.sh.

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -eu
export LC_ALL=C
# shellcheck source=kbench-lib.sh
. "$(dirname "$0")/kbench-lib.sh"
BENCH_TIME=${BENCH_TIME:-10}
ROUNDS=${ROUNDS:-2}

die() {
	echo "kbench-cache.sh: $*" >&2
	exit 1
}

msg() {
	echo "kbench-cache.sh: $*" >&2
}

read -r -a series <<<"${*:-6.12}"
for v in "$BENCH_TIME" "$ROUNDS"; do
	case $v in
	'' | *[!0-9]* | 0) die "BENCH_TIME and ROUNDS must be positive numbers" ;;
	esac
done
for p in "$NETDISK_BUILDDIR/src/netdiskd/netdiskd" \
    "$NETDISK_BUILDDIR/src/netdiskctl/netdiskctl"; do
	[ -x "$p" ] || die "$p not found: run make first (or set NETDISK_BUILDDIR)"
done
command -v fio >/dev/null || die "fio not found (contrib/deps.sh --bench)"

kb_workdir netdisk-kbench-cache

msg "fetching the kernels: ${series[*]}"
"$KT_SRC/fetch-kernels.sh" "${series[@]}" >"$dir/kernels" ||
	die "t/kernel/fetch-kernels.sh failed"

printf 'BENCH_TIME=%s\nROUNDS=%s\n' "$BENCH_TIME" "$ROUNDS" >"$dir/bench.env"

# The guest's /test.sh.  Result lines on the second serial port:
#   dd DEVICE ROUND MIB SECONDS | fio DEVICE ROUND STATUS IOPS
#   cache KEY VALUE | error MESSAGE | done
cat >"$dir/guest.sh" <<'GUEST'
. /guest-lib.sh
. /bench.env
W=/bench

fail() {
	say "error $*"
	say "done"
	exit 1
}

cattr() {
	cat /sys/block/netdisk1/netdisk/cache_$1
}

# passes DEV: O_DIRECT passes of the 64 MiB for BENCH_TIME seconds.
passes() {
	local t0=$(now) n=0 t

	while :; do
		dd if=/dev/$1 of=/dev/null bs=1M count=64 iflag=direct 2>/dev/null ||
		    fail "dd $1"
		n=$((n + 1))
		t=$(since "$t0")
		awk -v t="$t" -v b="$BENCH_TIME" 'BEGIN { exit !(t >= b) }' && break
	done
	echo "$((n * 64)) $t"
}

randread() {
	fio --name=rr --filename=/dev/$1 --rw=randread --bs=4k --size=64M \
	    --iodepth=16 --ioengine=libaio --direct=1 --time_based \
	    --runtime="$BENCH_TIME" --output-format=terse --terse-version=3 \
	    >$W/fio.out 2>$W/fio.err
	echo "$? $(grep '^3;' $W/fio.out | cut -d';' -f8)"
}

mkdir -p $W && mount -t tmpfs -o size=80m tmpfs $W || fail "tmpfs"
cd $W || fail "cd"
dd if=/dev/urandom of=data.img bs=1M count=64 2>/dev/null || fail "image"
netdiskctl genkey -o key >/dev/null || fail "genkey"
{
	conf_global 127.0.0.1
	printf '[data]\npath = data.img\nreadonly = yes\n'
} >netdisk.conf
start_server
modprobe -q aesni_intel 2>/dev/null
netdiskctl attach -k key --conns 2 $URI/data >attach0 2>&1 ||
    fail "attach: $(cat attach0)"
netdiskctl attach -k key --conns 2 --cache 128M $URI/data >attach1 2>&1 ||
    fail "attach --cache: $(cat attach1)"
test "$(cattr state)" = on || fail "netdisk1's cache is $(cattr state): $(cattr reason)"
say "cache state $(cattr state) $(cattr reason | tr ' ' _)"
dd if=/dev/netdisk1 of=/dev/null bs=1M iflag=direct 2>/dev/null
say "cache fill_hits $(cattr hits)"
say "cache fill_misses $(cattr misses)"
say "cache used $(cattr used)"
h0=$(cattr hits) m0=$(cattr misses)
r=1
while test $r -le "$ROUNDS"; do
	for d in netdisk0 netdisk1; do
		say "dd $d $r $(passes $d)"
	done
	for d in netdisk1 netdisk0; do
		say "fio $d $r $(randread $d)"
	done
	r=$((r + 1))
done
say "cache hits $(($(cattr hits) - h0))"
say "cache misses $(($(cattr misses) - m0))"
say "cache evictions $(cattr evictions)"
netdiskctl detach netdisk1 && netdiskctl detach netdisk0 || say "error detach"
finish
GUEST

loadavg() {
	cut -d' ' -f1 /proc/loadavg
}

# report SERIES VERSION RESULTS LOAD0 LOAD1: the table, on stdout.
report() {
	awk -v s="$1" -v ver="$2" -v t="$BENCH_TIME" -v l0="$4" -v l1="$5" \
	    -f /dev/fd/3 "$3" 3<<'AWK'
$1 == "cache" { c[$2] = $3; if ($2 == "state") why = $4 }
$1 == "dd" { mib[$2] += $4; sec[$2] += $5; runs[$2] = runs[$2] sprintf(" %.0f", $4 / $5) }
$1 == "fio" && $4 == 0 { iops[$2] += $5; n[$2]++; fr[$2] = fr[$2] " " $5 }
$1 == "fio" && $4 != 0 { bad = bad " fio/" $2 "/" $3 }
END {
	gsub(/_/, " ", why)
	a = sec["netdisk0"] ? mib["netdisk0"] / sec["netdisk0"] : 0
	b = sec["netdisk1"] ? mib["netdisk1"] / sec["netdisk1"] : 0
	ia = n["netdisk0"] ? iops["netdisk0"] / n["netdisk0"] : 0
	ib = n["netdisk1"] ? iops["netdisk1"] / n["netdisk1"] : 0
	hm = c["hits"] + c["misses"]
	printf "netdisk.ko client cache, Linux %s (series %s), QEMU TCG, 2 vCPUs, 1 GiB\n", ver, s
	printf "host load average %s before, %s after\n", l0, l1
	printf "64 MiB read-only export of random data, netdiskd on 127.0.0.1, 2 connections per device\n"
	printf "netdisk0: no cache; netdisk1: --cache 128M (%s: %s), filled by one read first\n", c["state"], why
	printf "fill pass: %d misses, %d hits (blocks); cache_used %d bytes\n\n", c["fill_misses"], c["fill_hits"], c["used"]
	printf "%-44s %12s %12s %7s\n", "workload (" t " s a run)", "no cache", "cache", "ratio"
	printf "%-44s %8.1f MiB/s %6.1f MiB/s %7.2f\n", "repeated O_DIRECT passes, dd bs=1M", a, b, a ? b / a : 0
	printf "%-44s %8.0f IOPS %7.0f IOPS %7.2f\n", "4 KiB random O_DIRECT reads, fio qd 16", ia, ib, ia ? ib / ia : 0
	printf "\nmeasured runs of netdisk1: %d hits, %d misses: hit ratio %.4f; evictions %d\n",
	    c["hits"], c["misses"], hm ? c["hits"] / hm : 0, c["evictions"]
	printf "single runs, MiB/s: no cache%s; cache%s\n", runs["netdisk0"], runs["netdisk1"]
	printf "single runs, IOPS:  no cache%s; cache%s\n", fr["netdisk0"], fr["netdisk1"]
	if (bad != "") printf "FAILED runs:%s\n", bad
}
AWK
}

run_series() {
	local s=$1 ver=$2 vmlinuz=$3 kdir=$4 moddir=$5
	local img=$dir/initrd-$s.gz res=$dir/results-$s rs=0 load0

	msg "$s: building netdisk.ko against $ver"
	kt_make_module "$KT_OUT/build-$s" "$kdir" "$dir/build-$s.log" ||
		{ tail -n 30 "$dir/build-$s.log" >&2; return 1; }
	kt_initramfs "$img" "$ver" "$moddir" "$KT_OUT/build-$s/kernel/netdisk.ko" \
	    "$dir/guest.sh" -m aesni-intel -m ghash-clmulni-intel -m gcm -- \
	    "$dir/bench.env=/bench.env" "$(command -v fio)=/usr/bin/fio" ||
		{ msg "$s: mkinitramfs.sh failed"; return 1; }
	msg "$s: guest running ($ROUNDS rounds of 4 runs of $BENCH_TIME s)"
	load0=$(loadavg)
	"$KT_SRC/run-guest.sh" -t $((240 + ROUNDS * 4 * (BENCH_TIME + 15))) \
	    -l "$dir/console-$s.log" -r "$res" -c 2 "$vmlinuz" "$img" || rs=$?
	tr -d '\r' <"$res" >"$res.txt"
	if grep -Eq '^(error|not ok -) ' "$res.txt" || [ $rs != 0 ] ||
	    ! grep -q '^done$' "$res.txt"; then
		msg "$s: the guest failed (status $rs): $(grep -E '^(error|not ok)' "$res.txt" || true)"
		return 1
	fi
	echo
	report "$s" "$ver" "$res.txt" "$load0" "$(loadavg)"
}

kt_for_series "$dir/kernels" run_series "${series[@]}"
