#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make bench: netdisk against plaintext NBD servers, on this machine, same
# data, same workloads, one client for every server.
#
# Runs from a built tree (make bench runs it in the build directory and
# builds nothing itself).  It
#   1. installs what it needs and is missing (contrib/deps.sh --bench:
#      fio, nbd-server, nbdkit, jq),
#   2. makes a temporary directory with a 1 GiB image full of random data
#      (so reads hit real data, not holes) and a scratch image for writes,
#   3. starts, on 127.0.0.1 and the same two images: netdiskd, with its
#      netdisk listener (AES-256-GCM) and its NBD listener (plain, and TLS
#      with a PSK); nbd-server; nbdkit's file plugin,
#   4. measures each workload against each server, one after the other:
#        4 KiB random read, queue depth 32
#        1 MiB sequential read, queue depth 8
#        1 MiB sequential write, queue depth 8 (scratch image)
#      with ONE client for every server, netdiskctl bench (netdisk://,
#      nbd:// and nbds://: the same pipelined engine, one connection), and
#      fio's nbd engine (libnbd) as a second opinion on the plaintext NBD
#      servers, nbdcopy on all of them for the sequential read,
#   5. prints a table: throughput, the ratio to the best plaintext NBD
#      server measured with the same client, the server's CPU time per
#      request and per MiB (utime + stime of the server's process and its
#      reaped children, from /proc/PID/stat, over the run),
#   6. measures how netdiskd scales: its memory per idle authenticated
#      session (VmRSS before and after t/idleconns opens BENCH_IDLE of
#      them, each a client of its own), and the aggregate throughput of
#      1 to 64 netdiskctl processes reading 64 KiB blocks at random, 4 in
#      flight each, from one export at once (a second table).
#
# Why this is a fair comparison:
# - No kernel module can be loaded here, so the clients run in userspace.
#   A row's ratio compares servers under the same client: a client that
#   saturates its own core (fio's nbd engine does at about 40k IOPS of 4
#   KiB reads) measures itself, so the CPU time each server spends per
#   request is printed beside the throughput.
# - Every server serves the same files from the same filesystem through
#   the page cache (the data image is read once before the runs), over
#   the same loopback interface, on the same two cores, one at a time.
#   The scratch image is restored and synced before each write run.
# - nbd-server is the reference NBD server that Debian ships, nbdkit's
#   file plugin the other common one; neither encrypts.
# - The machines here have 2 cores shared by client and server; absolute
#   figures are not those of real hardware, the ratios are the point.
#
# Environment: BENCH_TIME seconds per run (10), BENCH_SIZE image size
# (1G), BENCH_IDLE idle sessions (1000), BENCH_KEEP=1 keeps the temporary directory, NETDISKD and
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

command -v nbdkit >/dev/null 2>&1 || die "nbdkit is missing"
[ -x "$IDLECONNS" ] || die "$IDLECONNS not found: make bench builds it"

bench_stop_others() {
	if [ -f "$dir/nbd-server.pid" ]; then
		kill -TERM "$(cat "$dir/nbd-server.pid")" 2>/dev/null || true
	fi
	if [ -f "$dir/nbdkit.pid" ]; then
		kill -TERM "$(cat "$dir/nbdkit.pid")" 2>/dev/null || true
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
ndnbd_port=$(free_port) || die "no free TCP port"
[ "$ndnbd_port" != "$ND_PORT" ] || ndnbd_port=$(free_port)
# A PSK for the NBD listener's TLS (fio's libnbd reads the same file).
printf 'bench:%s\n' "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    >"$dir/nbd.psk"
chmod 600 "$dir/nbd.psk"
write_conf "$dir/netdisk.conf" "nbd_listen=127.0.0.1:$ndnbd_port" \
    "nbd_tls_psk=$dir/nbd.psk" "max_connections=$((BENCH_IDLE + 100))"
add_export "$dir/netdisk.conf" data readonly=yes nbd=plain
add_export "$dir/netdisk.conf" scratch nbd=plain
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
nbd_server_pid=$(cat "$dir/nbd-server.pid")

# nbdkit's file plugin: one export, the file named by the export name
# (dir=), so data and scratch are both served.
kit_port=$(free_port) || die "no free TCP port"
nbdkit --exit-with-parent -P "$dir/nbdkit.pid" -i 127.0.0.1 -p "$kit_port" \
    file dir="$dir" >"$dir/nbdkit.log" 2>&1 &
wait_listening "$kit_port" || die "nbdkit does not listen on 127.0.0.1:$kit_port"
for _ in $(seq 50); do [ -s "$dir/nbdkit.pid" ] && break; sleep 0.1; done
kit_pid=$(cat "$dir/nbdkit.pid")

# ------------------------------------------------------------ the runs

# The CPU time of PID and its reaped children, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat"
}
hz=$(getconf CLK_TCK)

# Each run prints "IOPS BYTES_PER_SECOND P50_US".
# ctl_run URI MODE BS QD: netdiskctl bench.
ctl_run() {
	local extra="" key=""

	case $2 in *write) extra=--destructive ;; esac
	case $1 in netdisk://*) key="-k $ND_KEY" ;; esac
	# shellcheck disable=SC2086
	"$NETDISKCTL" bench $key --rw "$2" --bs "$3" --qd "$4" --conns 1 \
	    --time "$BENCH_TIME" --json $extra "$1" >"$dir/run.json" \
	    2>"$dir/run.err" || {
		cat "$dir/run.err" >&2
		die "netdiskctl bench --rw $2 $1 failed"
	}
	jq -r '"\(.iops) \(.iops * .bs) \(.lat_p50_us)"' "$dir/run.json"
}

# fio_run URI MODE BS QD: fio's nbd engine (completion latency).
fio_run() {
	local dirn=read

	case $2 in *write) dirn=write ;; esac
	fio --name="nbd-$2" --ioengine=nbd --uri="$1" --rw="$2" --bs="$3" \
	    --iodepth="$4" --time_based --runtime="$BENCH_TIME" \
	    --output-format=json --output="$dir/run.json" \
	    >"$dir/run.out" 2>&1 || {
		cat "$dir/run.out" >&2
		die "fio --rw=$2 $1 failed"
	}
	jq -r ".jobs[0].$dirn | \"\\(.iops) \\(.bw_bytes) \\(.clat_ns.percentile[\"50.000000\"] / 1000)\"" \
	    "$dir/run.json"
}

# nbdcopy_run URI: libnbd's nbdcopy reads the whole image to null: with
# 1 MiB requests, 8 in flight, one connection (the one client here that
# speaks TLS to NBD servers); no latency figure.
nbdcopy_run() {
	local t0 t1

	t0=$(date +%s.%N)
	nbdcopy --connections=1 --threads=1 --requests=8 --request-size=1048576 \
	    --no-extents "$1" null: >"$dir/run.out" 2>&1 || {
		cat "$dir/run.out" >&2
		die "nbdcopy $1 null: failed"
	}
	t1=$(date +%s.%N)
	awk -v s="$size_bytes" -v t0="$t0" -v t1="$t1" \
	    'BEGIN { printf "%f %f 0\n", s / 1048576 / (t1 - t0), s / (t1 - t0) }'
}

# The servers: NAME PID URI-PREFIX (the export name follows).
servers=(
	"netdiskd netdisk $ND_PID netdisk://127.0.0.1:$ND_PORT/"
	"netdiskd NBD $ND_PID nbd://127.0.0.1:$ndnbd_port/"
	"netdiskd NBD+TLS $ND_PID nbds://bench@127.0.0.1:$ndnbd_port/"
	"nbd-server $nbd_server_pid nbd://127.0.0.1:$nbd_port/"
	"nbdkit-file $kit_pid nbd://127.0.0.1:$kit_port/"
)

results=()
# one CLIENT LABEL MODE BS QD SERVER-LINE: a run, with the server's CPU.
one() {
	local client=$1 label=$2 mode=$3 bs=$4 qd=$5 srv=$6 name pid uri
	local export=data r t0 t1 suffix=""

	read -r name pid uri <<<"$srv"
	case $name in netdiskd) read -r _ name pid uri <<<"$srv"
	    name="netdiskd/$name" ;; esac
	case $mode in *write) export=scratch; reset_scratch ;; esac
	# nbdkit's file plugin serves the files of $dir by their names.
	[ "$name" = nbdkit-file ] && export=$export.img
	# Only netdiskctl speaks netdisk's protocol.  fio has no TLS for
	# NBD (libnbd refuses its PSK file in a URI); nbdcopy measures the
	# sequential read only.
	case $client:$uri:$mode in
	fio:nbds://*|fio:netdisk://*) return 0 ;;
	nbdcopy:netdisk://*|nbdcopy:*:randread|nbdcopy:*:write) return 0 ;;
	esac
	case $uri in nbds://*) suffix="?tls-psk-file=$dir/nbd.psk" ;; esac
	note "$label: $client -> $name..."
	t0=$(cpu_ticks "$pid")
	case $client in
	netdiskctl) r=$(ctl_run "$uri$export$suffix" "$mode" "$bs" "$qd") ;;
	fio) r=$(fio_run "$uri$export$suffix" "$mode" "$bs" "$qd") ;;
	nbdcopy) r=$(nbdcopy_run "$uri$export$suffix") ;;
	esac
	sleep 0.5	# nbd-server's child is reaped: its time is counted
	t1=$(cpu_ticks "$pid")
	results+=("$label|$client|$name|$r|$(((t1 - t0)))")
}

run() {
	local label=$1 mode=$2 bs=$3 qd=$4 client srv

	for client in netdiskctl fio nbdcopy; do
		for srv in "${servers[@]}"; do
			one "$client" "$label" "$mode" "$bs" "$qd" "$srv"
		done
	done
}

run "4 KiB random read, qd 32" randread 4K 32
run "1 MiB sequential read, qd 8" read 1M 8
run "1 MiB sequential write, qd 8" write 1M 8

# ------------------------------------------------------------ the table

echo
printf 'image %s of random data, %s s per run, 127.0.0.1, 1 connection\n' \
    "$BENCH_SIZE" "$BENCH_TIME"
printf 'netdiskd/netdisk: AES-256-GCM; netdiskd/NBD: plaintext; NBD+TLS: TLS 1.2 PSK\n'
printf 'peers: nbd-server %s, nbdkit %s (file plugin), both plaintext NBD\n' \
    "$(nbd-server -V 2>&1 | sed -n 's/.*version //p' | head -n 1)" \
    "$(nbdkit --version 2>/dev/null | awk '{ print $2 }')"
printf 'ratio: to the best plaintext peer (nbd-server, nbdkit) with the same client\n'
printf 'cpu: the server process, utime + stime, per request and per MiB\n\n'
printf '%-29s %-10s %-17s %12s %6s %10s %10s %8s\n' workload client server \
    throughput ratio "cpu us/req" "cpu ms/MiB" "p50 us"
for r in "${results[@]}"; do
	IFS='|' read -r label client name res ticks <<<"$r"
	read -r iops bw lat <<<"$res"
	best=0
	for p in "${results[@]}"; do
		IFS='|' read -r l2 c2 n2 res2 _ <<<"$p"
		[ "$l2" = "$label" ] && [ "$c2" = "$client" ] || continue
		case $n2 in nbd-server|nbdkit-file) ;; *) continue ;; esac
		read -r i2 _ _ <<<"$res2"
		best=$(awk -v a="$best" -v b="$i2" 'BEGIN { print (b > a ? b : a) }')
	done
	awk -v l="$label" -v c="$client" -v n="$name" -v iops="$iops" \
	    -v bw="$bw" -v lat="$lat" -v best="$best" -v ticks="$ticks" \
	    -v hz="$hz" -v t="$BENCH_TIME" -v size="$size_bytes" \
	    -v bs="$(case $label in 4*) echo 4096 ;; *) echo 1048576 ;; esac)" \
	    'BEGIN {
		mib = bw * t / 1048576; cpu = ticks / hz
		if (c == "nbdcopy")	# the whole image, not t seconds
			mib = size / 1048576
		req = (bs > 0 ? mib * 1048576 / bs : iops * t)
		if (l ~ /4 KiB/)
			tp = sprintf("%.0f IOPS", iops)
		else
			tp = sprintf("%.0f MiB/s", bw / 1048576)
		printf "%-29s %-10s %-17s %12s %6.2f %10.1f %10.1f %8.0f\n",
		    l, c, n, tp, (best > 0 ? iops / best : 0),
		    (req > 0 ? cpu * 1e6 / req : 0),
		    (mib > 0 ? cpu * 1e3 / mib : 0), lat }'
done

# ------------------------------------------------------------ scale

# idle_memory: netdiskd's VmRSS growth per idle session, in bytes, over
# BENCH_IDLE sessions t/idleconns holds open (until its input ends).
idle_memory() {
	local r0 r1 i

	r0=$(awk '/^VmRSS/ { print $2 }' "/proc/$ND_PID/status")
	rm -f "$dir/idle.fifo" && mkfifo "$dir/idle.fifo"
	timeout 600 "$IDLECONNS" -k "$ND_KEY" -n "$BENCH_IDLE" \
	    "netdisk://127.0.0.1:$ND_PORT/data" <"$dir/idle.fifo" \
	    >"$dir/idle.out" 2>&1 &
	exec {idle_fd}<>"$dir/idle.fifo"
	for i in $(seq 1200); do
		grep -q 'sessions open' "$dir/idle.out" && break
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	grep -q 'sessions open' "$dir/idle.out" || {
		cat "$dir/idle.out" >&2
		die "t/idleconns did not open $BENCH_IDLE sessions"
	}
	r1=$(awk '/^VmRSS/ { print $2 }' "/proc/$ND_PID/status")
	exec {idle_fd}>&-
	wait $! || die "t/idleconns failed"
	echo $(((r1 - r0) * 1024 / BENCH_IDLE))
}

# clients N: N netdiskctl processes at once, 64 KiB random reads, qd 4
# each: "MIB_PER_S CPU_TICKS", the bytes they all read over the time from
# the first start to the last end (their start-up counts against them).
clients() {
	local i t0 t1 w0 w1 pids=""

	t0=$(cpu_ticks "$ND_PID")
	w0=$(date +%s.%N)
	for i in $(seq "$1"); do
		"$NETDISKCTL" bench -k "$ND_KEY" --rw randread --bs 64K --qd 4 \
		    --conns 1 --time "$BENCH_TIME" --json \
		    "netdisk://127.0.0.1:$ND_PORT/data" >"$dir/c$i.json" \
		    2>"$dir/c$i.err" &
		pids="$pids $!"
	done
	for i in $pids; do
		wait "$i" || die "netdiskctl bench ($1 clients) failed: $(cat "$dir"/c*.err)"
	done
	w1=$(date +%s.%N)
	t1=$(cpu_ticks "$ND_PID")
	jq -s 'map(.ios * .bs) | add / 1048576' "$dir"/c[0-9]*.json |
	    awk -v t=$((t1 - t0)) -v w0="$w0" -v w1="$w1" \
	    '{ printf "%f %d %f\n", $1 / (w1 - w0), t, $1 }'
	rm -f "$dir"/c[0-9]*.json
}

note "scale: $BENCH_IDLE idle sessions..."
idle_bytes=$(idle_memory)
scale=()
for n in 1 2 4 8 16 32 64; do
	note "scale: $n clients..."
	scale+=("$n $(clients "$n")")
done

echo
printf 'scale: netdiskd, netdisk protocol (AES-256-GCM), export "data"\n'
printf 'idle: %d authenticated sessions (t/idleconns): %.1f KiB of VmRSS each\n' \
    "$BENCH_IDLE" "$(awk -v b="$idle_bytes" 'BEGIN { print b / 1024 }')"
printf 'clients: netdiskctl processes, 64 KiB random reads, qd 4 each, %s s;\n' \
    "$BENCH_TIME"
printf 'throughput: all the bytes read, over the time from the first start to the last end\n' 
printf 'ratio: to the most of any row; cpu: the server, per MiB\n\n'
printf '%-8s %12s %6s %10s\n' clients throughput ratio "cpu ms/MiB"
best=$(printf '%s\n' "${scale[@]}" | awk '$2 > m { m = $2 } END { print m }')
for r in "${scale[@]}"; do
	read -r n mibs ticks total <<<"$r"
	awk -v n="$n" -v m="$mibs" -v best="$best" -v ticks="$ticks" \
	    -v hz="$hz" -v total="$total" 'BEGIN {
		printf "%-8d %7.0f MiB/s %6.2f %10.2f\n", n, m, m / best,
		    (total > 0 ? ticks / hz * 1e3 / total : 0) }'
done
