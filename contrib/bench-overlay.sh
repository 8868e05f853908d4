#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make bench, second part: the boot storm.  Many thin clients read one
# base image through an overlay export, each with its own client identity
# (its own key, so its own overlay): does netdiskd read the base from
# storage once and serve everyone else from the page cache, and what do
# 1, 8 and 32 clients get together?  The same runs against a plain
# read-only export of the same file are the peer, for a ratio.
#
# Runs from a built tree, as contrib/bench.sh does.  It
#   1. makes a temporary directory with a base image of random data
#      (BENCH_SIZE, 1 GiB) and a scratch copy of it, 32 client keys (a
#      clients_dir), and starts netdiskd (-f, 127.0.0.1, a free port) with
#        gold   an overlay export of the base (persistent overlays,
#               clients = *)
#        plain  a plain read-only export of the same base (clients = *)
#        rw     a plain read-write export of the scratch copy
#        wgold  another overlay export of the base (for writes)
#   2. for each export of the pair (gold, plain) and each client count N
#      of BENCH_CLIENTS (1 8 32) runs N "netdiskctl bench" at once, each
#      with the key of another identity, one connection each:
#        cold: 1 MiB sequential reads, queue depth 8; every client starts
#              at offset 0 (a boot: all read the same blocks), the page
#              cache dropped before the run
#              (echo 3 > /proc/sys/vm/drop_caches, after sync)
#        warm: 4 KiB random reads, queue depth 32, the base in the cache
#      and records, from /proc/PID/io of netdiskd, read_bytes (what it
#      read from storage) against the bytes the clients were served;
#   3. writes, one client: 1 MiB sequential and 4 KiB random (each a
#      first write into a 64 KiB overlay chunk: the chunk is copied from
#      the base first) into a fresh overlay, against the plain export rw,
#      each twice (rw, wgold, wgold, rw);
#   4. prints the table.
#
# Aggregate throughput is the sum of each client's own (bytes over its
# own run time); the clients start within a fraction of a second of each
# other.  Dropping the page cache needs root; without it the cold runs
# are warm and say so.
#
# Environment: BENCH_TIME seconds per run (10), BENCH_SIZE (1G),
# BENCH_CLIENTS client counts ("1 8 32"), BENCH_KEEP=1 keeps the
# directory, NETDISKD and NETDISKCTL the programs (default: those of the
# current directory, which make bench sets to the build directory).

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=bench-overlay.sh
BENCH_CLIENTS=${BENCH_CLIENTS:-1 8 32}
# shellcheck source=bench-lib.sh
. "$srcdir/contrib/bench-lib.sh"

command -v jq >/dev/null || die "jq not found (contrib/deps.sh --bench installs it)"
maxn=0
for n in $BENCH_CLIENTS; do
	case $n in '' | *[!0-9]*) die "BENCH_CLIENTS: \"$n\" is not a number" ;; esac
	[ "$n" -ge 1 ] && [ "$n" -le 256 ] ||
	    die "BENCH_CLIENTS: $n is not in 1..256"
	[ "$n" -gt "$maxn" ] && maxn=$n
done

# ------------------------------------------------------------ the files

size_bytes=$(numfmt --from=iec "$BENCH_SIZE")
note "creating a $BENCH_SIZE base of random data and a copy in $dir"
truncate -s "$size_bytes" "$dir/base.img"
dd if=/dev/urandom of="$dir/base.img" bs=1M count=$((size_bytes >> 20)) \
    conv=notrunc,fsync iflag=fullblock status=none
cp --sparse=never "$dir/base.img" "$dir/scratch.img"
sync "$dir/scratch.img"
mkdir -m 700 "$dir/clients"
for i in $(seq "$maxn"); do
	make_key "$dir/clients/c$i.key" >/dev/null
done
mkdir "$dir/ovl" "$dir/wovl"

ND_PORT=$(free_port) || die "no free TCP port"
ND_KEY=$dir/netdisk.key
ND_CTL=$dir/netdiskd.sock
ND_LOG=$dir/netdiskd.log
make_key "$ND_KEY" >/dev/null
conf=$dir/netdisk.conf
write_conf "$conf" "clients_dir=$dir/clients" \
    "max_handshakes_per_address=$((maxn + 8))"
add_export "$conf" gold "path=$dir/base.img" "overlay_dir=$dir/ovl" "clients=*"
add_export "$conf" plain "path=$dir/base.img" readonly=yes "clients=*"
add_export "$conf" rw "path=$dir/scratch.img" "clients=*"
add_export "$conf" wgold "path=$dir/base.img" "overlay_dir=$dir/wovl" "clients=*"
netdiskd_start "$conf" || {
	cat "$ND_LOG" >&2
	die "netdiskd does not listen on 127.0.0.1:$ND_PORT"
}

# ------------------------------------------------------------ the runs

# read_bytes: what netdiskd has read from storage so far.
read_bytes() {
	sed -n 's/^read_bytes: //p' "/proc/$ND_PID/io"
}

cold=yes
drop_cache() {
	sync
	if ! { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		[ $cold = no ] ||
		    note "cannot drop the page cache (not root?): the cold runs are warm"
		cold=no
	fi
}

# clients EXPORT N MODE BS QD [EXTRA]: N netdiskctl bench at once, client
# i with key ci; prints "BYTES_PER_S IOPS MIN_BPS MAX_BPS SERVED_BYTES".
clients() {
	local export=$1 n=$2 mode=$3 bs=$4 qd=$5 extra=${6:-} i pids=""

	for i in $(seq "$n"); do
		# shellcheck disable=SC2086
		"$NETDISKCTL" bench -k "$dir/clients/c$i.key" --rw "$mode" \
		    --bs "$bs" --qd "$qd" --conns 1 --time "$BENCH_TIME" \
		    --json $extra "netdisk://127.0.0.1:$ND_PORT/$export" \
		    >"$dir/r.$i.json" 2>"$dir/r.$i.err" &
		pids="$pids $!"
	done
	i=0
	for p in $pids; do
		i=$((i + 1))
		wait "$p" || {
			cat "$dir/r.$i.err" >&2
			die "netdiskctl bench (client c$i, $export, $mode $bs) failed"
		}
	done
	for i in $(seq "$n"); do
		cat "$dir/r.$i.json"
	done | jq -s -r '
	    [.[] | .ios * .bs / .seconds] as $r |
	    "\($r | add) \([.[] | .iops] | add) \($r | min) \($r | max) \([.[] | .ios * .bs] | add)"'
}

results=()
# run LABEL EXPORT N MODE BS QD CACHE [EXTRA]: one row; CACHE is cold
# (dropped first) or warm.
run() {
	local label=$1 export=$2 n=$3 mode=$4 bs=$5 qd=$6 cache=$7 extra=${8:-}
	local r0 r1 out

	# the dirty pages of a previous run written back first: a run
	# should not pay for the one before
	sync
	[ "$cache" = cold ] && drop_cache
	note "$label, $n client(s): $export..."
	r0=$(read_bytes)
	out=$(clients "$export" "$n" "$mode" "$bs" "$qd" "$extra")
	r1=$(read_bytes)
	results+=("$label|$n|$export|$out $((r1 - r0))")
}

warm_base() {
	cat "$dir/base.img" >/dev/null
}

# pair LABEL N MODE BS QD CACHE FIRST SECOND: the row for both exports,
# FIRST first.
pair() {
	run "$1" "$7" "$2" "$3" "$4" "$5" "$6"
	run "$1" "$8" "$2" "$3" "$4" "$5" "$6"
}

# Order matters on a machine this size (a run pays for the writeback or
# the storage state the one before left), so the two exports take turns
# going first, and the first cold run follows a cold read of the base
# like every other cold run.
drop_cache
warm_base
k=0
for n in $BENCH_CLIENTS; do
	if [ $((k % 2)) = 0 ]; then set -- gold plain; else set -- plain gold; fi
	pair "1 MiB seq read qd 8, cold" "$n" read 1M 8 cold "$@"
	k=$((k + 1))
done
warm_base
for n in $BENCH_CLIENTS; do
	if [ $((k % 2)) = 0 ]; then set -- gold plain; else set -- plain gold; fi
	pair "4 KiB rand read qd 32, warm" "$n" randread 4K 32 warm "$@"
	k=$((k + 1))
done
# Writes, one client, each twice (rw wgold wgold rw): each wgold run on a
# fresh overlay (every first write into a chunk allocates it, a 4 KiB one
# copies the 64 KiB chunk from the base first); rw is a full copy of the
# base, so its writes land on allocated blocks.
wgold() {
	rm -f "$dir/wovl"/*.ovl
	run "$1" wgold 1 "$2" "$3" "$4" warm --destructive
}
for w in "1 MiB seq write qd 8|write|1M|8" "4 KiB rand write qd 32|randwrite|4K|32"; do
	IFS='|' read -r label mode bs qd <<<"$w"
	run "$label" rw 1 "$mode" "$bs" "$qd" warm --destructive
	wgold "$label" "$mode" "$bs" "$qd"
	wgold "$label" "$mode" "$bs" "$qd"
	run "$label" rw 1 "$mode" "$bs" "$qd" warm --destructive
done

# ------------------------------------------------------------ the table

echo
printf 'base %s of random data, %s s per run, 127.0.0.1, one connection per client\n' \
    "$BENCH_SIZE" "$BENCH_TIME"
printf 'each client its own identity (key); gold: overlay export of the base;\n'
printf 'plain: read-only export of the same file; wgold/rw: the writes (fresh overlay / plain)\n'
printf 'cold: page cache dropped before the run (%s)\n' \
    "$([ $cold = yes ] && echo done || echo NOT possible here: runs were warm)"
printf 'storage: read_bytes of netdiskd (/proc/PID/io) during the run;\nserved: bytes the clients read (wrote, in the write rows)\n\n'
printf '%-28s %3s %-6s %12s %18s %10s %10s %8s\n' workload N export \
    aggregate "per client min-max" storage served served/storage
for r in "${results[@]}"; do
	IFS='|' read -r label n export vals <<<"$r"
	read -r bps iops min max served stor <<<"$vals"
	awk -v l="$label" -v n="$n" -v e="$export" -v bps="$bps" -v iops="$iops" \
	    -v mn="$min" -v mx="$max" -v sv="$served" -v st="$stor" 'BEGIN {
		m = 1048576
		if (l ~ /4 KiB/)
			a = sprintf("%.0f IOPS", iops)
		else
			a = sprintf("%.0f MiB/s", bps / m)
		printf "%-28s %3d %-6s %12s %8.0f-%-4.0f MiB/s %7.0f MiB %7.0f MiB %8s\n",
		    l, n, e, a, mn / m, mx / m, st / m, sv / m,
		    (st >= m && l !~ /write/ ? sprintf("%.1f", sv / st) : "-") }'
done
echo
printf 'ratio overlay / plain (aggregate; the mean of the runs of each):\n'
for r in "${results[@]}"; do
	IFS='|' read -r label n export vals <<<"$r"
	printf '%s|%s|%s|%s\n' "$label" "$n" "$export" "${vals%% *}"
done | awk -F'|' '
	{ k = $1 "|" $2; s[k, $3] += $4; c[k, $3]++; if (!(k in seen)) { seen[k] = 1; o[++m] = k } }
	END {
		for (i = 1; i <= m; i++) {
			k = o[i]; split(k, f, "|")
			a = (c[k, "gold"] ? s[k, "gold"] / c[k, "gold"] : s[k, "wgold"] / c[k, "wgold"])
			b = (c[k, "plain"] ? s[k, "plain"] / c[k, "plain"] : s[k, "rw"] / c[k, "rw"])
			printf "  %-28s %3d clients: %.2f\n", f[1], f[2], (b > 0 ? a / b : 0)
		}
	}'
