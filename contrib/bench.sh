#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make bench: netdisk against plain NBD, on this machine, same data, same
# workloads.
#
# Runs from a built tree (make bench runs it in the build directory and
# builds nothing itself).  It
#   1. installs what it needs and is missing (contrib/deps.sh --bench:
#      fio, nbd-server, jq),
#   2. makes a temporary directory with a 1 GiB image full of random data
#      (so reads hit real data, not holes) and a scratch image for writes,
#   3. starts netdiskd (-f, a fresh key, 127.0.0.1, a free port) and
#      nbd-server (plain NBD, no encryption, 127.0.0.1, another free port)
#      on the same two images,
#   4. measures each workload against both, one after the other:
#        4 KiB random read, queue depth 32
#        1 MiB sequential read, queue depth 8
#        1 MiB sequential write, queue depth 8 (scratch image)
#      netdisk with "netdiskctl bench", NBD with fio's nbd ioengine,
#   5. prints a table with both results and the ratio netdisk / NBD.
#
# Why this pair is a fair comparison:
# - No kernel module can be loaded here, so both clients run in userspace:
#   netdiskctl bench on one side, fio's "nbd" ioengine (libnbd) on the
#   other.  Both keep a fixed number of requests in flight on ONE TCP
#   connection, with the same block size, pattern and duration, and count
#   completed requests.  Neither adds FUA or flushes.
# - Both servers serve the same files from the same filesystem through
#   the page cache (the data image is read once before the runs, so both
#   start warm), over the same loopback interface, on the same two cores,
#   one at a time.  The scratch image is restored and synced before each
#   write run, so both write over the same allocated blocks.
# - nbd-server is the reference NBD server that Debian ships; the NBD
#   protocol is the closest plaintext relative of netdisk's (pipelined
#   requests and out-of-order replies over one TCP connection).  So the
#   ratio shows what netdisk's encryption and implementation cost against
#   a server that encrypts nothing.
# - The machines here have 2 cores shared by client and server; absolute
#   figures are not those of real hardware, the ratio is the point.
#
# Environment: BENCH_TIME seconds per run (10), BENCH_SIZE image size
# (1G), BENCH_KEEP=1 keeps the temporary directory, NETDISKD and
# NETDISKCTL the programs (default src/netdiskd/netdiskd, src/netdiskctl/netdiskctl of the
# current directory, which make bench sets to the build directory).
#
# Ports, the key, netdisk.conf and starting netdiskd are the tests' own
# helpers (t/daemon.sh), so the benchmark runs the daemon as they do.

# make runs this with $(SHELL), which is /bin/sh.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -eu
srcdir=$(cd "$(dirname "$0")/.." && pwd)
BENCH_NAME=bench.sh
# shellcheck source=bench-lib.sh
. "$srcdir/contrib/bench-lib.sh"

"$srcdir/contrib/deps.sh" --bench >&2 || die "cannot install the benchmark tools"
fio --enghelp 2>/dev/null | grep -qw nbd ||
	die "this fio has no nbd ioengine (Debian's fio has it)"

bench_stop_others() {
	if [ -f "$dir/nbd-server.pid" ]; then
		kill -TERM "$(cat "$dir/nbd-server.pid")" 2>/dev/null || true
	fi
}

# ------------------------------------------------------------ the images

size_bytes=$(numfmt --from=iec "$BENCH_SIZE")
echo "bench.sh: creating a $BENCH_SIZE image of random data in $dir" >&2
truncate -s "$size_bytes" "$dir/data.img"
dd if=/dev/urandom of="$dir/data.img" bs=1M count=$((size_bytes >> 20)) \
    conv=notrunc,fsync iflag=fullblock status=none
cat "$dir/data.img" >/dev/null		# warm the page cache

# The scratch image: a full copy, so writes land on allocated blocks.
reset_scratch() {
	cp --sparse=never "$dir/data.img" "$dir/scratch.img"
	sync "$dir/scratch.img"
}
reset_scratch

# ------------------------------------------------------------ the servers

ND_PORT=$(free_port) || die "no free TCP port"
ND_KEY=$dir/netdisk.key
ND_CTL=$dir/netdiskd.sock
ND_LOG=$dir/netdiskd.log
make_key "$ND_KEY" >/dev/null
write_conf "$dir/netdisk.conf"
add_export "$dir/netdisk.conf" data readonly=yes
add_export "$dir/netdisk.conf" scratch
netdiskd_start "$dir/netdisk.conf" || {
	cat "$ND_LOG" >&2
	die "netdiskd does not listen on 127.0.0.1:$ND_PORT"
}

nbd_port=$(free_port) || die "no free TCP port"
[ "$nbd_port" != "$ND_PORT" ] || nbd_port=$(free_port)
cat >"$dir/nbd-server.conf" <<EOF
[generic]
	listenaddr = 127.0.0.1
	port = $nbd_port
	allowlist = false

[data]
	exportname = $dir/data.img
	readonly = true

[scratch]
	exportname = $dir/scratch.img
EOF
nbd-server -C "$dir/nbd-server.conf" -p "$dir/nbd-server.pid" \
    >"$dir/nbd-server.log" 2>&1 || {
	cat "$dir/nbd-server.log" >&2
	die "nbd-server did not start"
}
wait_listening "$nbd_port" || die "nbd-server does not listen on 127.0.0.1:$nbd_port"

# ------------------------------------------------------------ the runs

# netdisk_run EXPORT MODE BS QD: prints "IOPS BYTES_PER_SECOND P50_US".
netdisk_run() {
	local extra=""

	case $2 in
	*write) extra=--destructive ;;
	esac
	# shellcheck disable=SC2086
	"$NETDISKCTL" bench -k "$ND_KEY" --rw "$2" --bs "$3" \
	    --qd "$4" --conns 1 --time "$BENCH_TIME" --json $extra \
	    "netdisk://127.0.0.1:$ND_PORT/$1" >"$dir/nd-$2.json" \
	    2>"$dir/nd-$2.err" || {
		cat "$dir/nd-$2.err" >&2
		die "netdiskctl bench --rw $2 failed"
	}
	jq -r '"\(.iops) \(.iops * .bs) \(.lat_p50_us)"' "$dir/nd-$2.json"
}

# nbd_run EXPORT MODE BS QD: prints "IOPS BYTES_PER_SECOND P50_US"
# (completion latency: from submission to reply, as netdiskctl measures).
nbd_run() {
	local dirn=read

	case $2 in
	*write) dirn="write" ;;
	esac
	fio --name="nbd-$2" --ioengine=nbd \
	    --uri="nbd://127.0.0.1:$nbd_port/$1" --rw="$2" --bs="$3" \
	    --iodepth="$4" --time_based --runtime="$BENCH_TIME" \
	    --output-format=json --output="$dir/nbd-$2.json" \
	    >"$dir/nbd-$2.out" 2>&1 || {
		cat "$dir/nbd-$2.out" >&2
		die "fio --rw=$2 against nbd-server failed"
	}
	jq -r ".jobs[0].$dirn | \"\\(.iops) \\(.bw_bytes) \\(.clat_ns.percentile[\"50.000000\"] / 1000)\"" \
	    "$dir/nbd-$2.json"
}

results=()
# run LABEL EXPORT MODE BS QD UNIT
run() {
	local label=$1 export=$2 mode=$3 bs=$4 qd=$5 unit=$6 nd nbd

	case $mode in *write) reset_scratch ;; esac
	echo "bench.sh: $label: netdisk..." >&2
	nd=$(netdisk_run "$export" "$mode" "$bs" "$qd")
	case $mode in *write) reset_scratch ;; esac
	echo "bench.sh: $label: nbd-server..." >&2
	nbd=$(nbd_run "$export" "$mode" "$bs" "$qd")
	results+=("$label|$unit|$nd|$nbd")
}

run "4 KiB random read, qd 32" data randread 4K 32 iops
run "1 MiB sequential read, qd 8" data read 1M 8 mib
run "1 MiB sequential write, qd 8" scratch write 1M 8 mib

# ------------------------------------------------------------ the table

echo
printf 'image %s of random data, %s s per run, 127.0.0.1, 1 connection\n' \
    "$BENCH_SIZE" "$BENCH_TIME"
printf 'netdisk: netdiskctl bench -> netdiskd (AES-256-GCM)\n'
printf 'peer:    fio ioengine=nbd (libnbd) -> nbd-server %s (plaintext NBD)\n\n' \
    "$(nbd-server -V 2>&1 | sed -n 's/.*version //p' | head -n 1)"
printf '%-30s %16s %16s %6s   %s\n' workload netdisk nbd-server ratio \
    "p50 latency netdisk / nbd-server"
for r in "${results[@]}"; do
	IFS='|' read -r label unit nd nbd <<<"$r"
	read -r nd_iops nd_bw nd_lat <<<"$nd"
	read -r nbd_iops nbd_bw nbd_lat <<<"$nbd"
	if [ "$unit" = iops ]; then
		set -- "$nd_iops" "$nbd_iops" 1 IOPS
	else
		set -- "$nd_bw" "$nbd_bw" 1048576 MiB/s
	fi
	awk -v l="$label" -v a="$1" -v b="$2" -v d="$3" -v u="$4" \
	    -v la="$nd_lat" -v lb="$nbd_lat" 'BEGIN {
		printf "%-30s %10.0f %-5s %10.0f %-5s %6.2f   %.0f us / %.0f us\n",
		    l, a / d, u, b / d, u, (b > 0 ? a / b : 0), la, lb }'
done
