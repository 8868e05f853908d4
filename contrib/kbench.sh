#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# make bench-kernel: netdisk.ko against the kernel's own nbd driver, inside
# one QEMU guest per kernel series, same image, same workloads.
#
# Usage: contrib/kbench.sh [SERIES...]     SERIES: 6.1, 6.12 (default: 6.12);
#                                          "6.1 6.12" as one word works too
#
# For each series it
#   1. fetches the Debian cloud kernel (t/kernel/fetch-kernels.sh),
#   2. builds netdisk.ko for it as the kernel tests do (t/kernel/lib.sh:
#      in NETDISK_BUILDDIR/t/kernel/build-SERIES, from a copy of kernel/,
#      include/ and t/vectors/; the source tree is only read),
#   3. builds an initramfs (t/kernel/lib.sh, mkinitramfs.sh) with netdiskd and
#      netdiskctl, nbd-server and nbd-client (Debian's packages; nbd-client
#      is unpacked from its .deb with apt-get download and dpkg -x unless
#      it is installed here), fio, nbd.ko and the crypto modules, and has
#      /init load aesni-intel, ghash-clmulni-intel and gcm before anything
#      else, as udev does on a real machine (the CPU's modalias): without
#      that, 6.1 builds gcm(aes) from aes-generic,
#   4. boots ONE guest (t/kernel/run-guest.sh, bounded with -t) whose
#      script uses the kernel tests' guest helpers (t/kernel/guest-lib.sh)
#      and
#        - writes a 512 MiB image of random data into a tmpfs,
#        - serves it with netdiskd (127.0.0.1, a fresh key) and with
#          nbd-server (127.0.0.1, plaintext), read-only both,
#        - attaches /dev/netdisk0 (netdiskctl attach --conns 2) and
#          /dev/nbd0 (nbd-client -C 2),
#        - runs fio on each device, 4 KiB random read at queue depth 32,
#          then 1 MiB sequential read at queue depth 4 (libaio, direct=1,
#          BENCH_TIME seconds each after 2 s of ramp), four runs per
#          workload alternating netdisk, nbd, netdisk, nbd so that a drift
#          of the emulation speed falls on both, dropping the caches
#          before each,
#   5. measures, after the runs, the kernel's own AES-256-GCM in the same
#      boot (tcrypt's AEAD speed test, 8192-byte blocks, each way),
#   6. prints a table: workload, netdisk, nbd (mean of the two runs each),
#      the ratio netdisk / nbd, the median completion latencies; the
#      crypto ceiling (the most netdisk.ko could read were AES-GCM its
#      only cost: one seal and one open per byte on the guest's vCPUs)
#      and netdisk against the lower of nbd and the ceiling; every
#      single run and the exact fio command lines.
#
# Why the comparison is fair:
# - Both block devices live in the same guest, at the same time, and read
#   the same file (one image in the guest's memory, served by both servers
#   from the same page cache) over the same loopback interface.
# - Both drivers are blk-mq drivers that pipeline requests over TCP with
#   the same number of connections (2) and the same number of hardware
#   queues (one per connection; the guest has 2 vCPUs; both drivers send
#   a request on the connection of the submitting CPU's queue): the same
#   fio job (one process, same block size, queue depth, engine, pattern,
#   duration, same random sequence) runs against each.  Both carry the same largest
#   request: nbd.ko on 6.1 defaults to max_sectors_kb 128 and would cut
#   each 1 MiB read in eight, so the guest gives /dev/nbd0 the
#   max_sectors_kb of /dev/netdisk0 (1024).  The table shows the queue
#   settings and connection counts the guest really had.
# - Both servers are userspace daemons on the same 2 vCPUs: netdiskd
#   (AES-256-GCM, the kernel's gcm(aes) on the client side) and
#   nbd-server, the NBD reference server (plaintext).  So the ratio is
#   what netdisk's encryption and implementation cost against the
#   in-kernel NBD client that encrypts nothing.
# - Both run under the same emulator (QEMU TCG, no KVM), which slows every
#   instruction down, AES-NI and PCLMULQDQ included: AES-GCM costs far more
#   relative to copying than on real hardware, so the 1 MiB figures favour
#   nbd more than a real machine would.  Absolute figures mean little;
#   compare ratios, and repeat: runs under TCG vary by tens of percent,
#   and more when the host is busy (its load average is printed).
#
# Environment: BENCH_TIME seconds per run (15), NETDISK_BUILDDIR the build
# directory with src/netdiskd/netdiskd and src/netdiskctl/netdiskctl (default: the current
# directory if it has them, else the top of the source tree),
# BENCH_KEEP=1 keeps the temporary directory (console logs, initramfs),
# NETDISK_KCACHE and NETDISK_OFFLINE as for t/kernel/fetch-kernels.sh.

# make runs this with $(SHELL), which is /bin/sh.
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -eu
export LC_ALL=C
# shellcheck source=kbench-lib.sh
. "$(dirname "$0")/kbench-lib.sh"
NETDISKD=$NETDISK_BUILDDIR/src/netdiskd/netdiskd
NETDISKCTL=$NETDISK_BUILDDIR/src/netdiskctl/netdiskctl
BENCH_TIME=${BENCH_TIME:-15}
IMAGE_MIB=512
CONNS=2

die() {
	echo "kbench.sh: $*" >&2
	exit 1
}

msg() {
	echo "kbench.sh: $*" >&2
}

read -r -a series <<<"${*:-6.12}"
case $BENCH_TIME in
'' | *[!0-9]*) die "BENCH_TIME=$BENCH_TIME: not a number of seconds" ;;
esac
for p in "$NETDISKD" "$NETDISKCTL"; do
	[ -x "$p" ] || die "$p not found: run make first (or set NETDISK_BUILDDIR)"
done
[ -f "$srcdir/kernel/Kbuild" ] || die "$srcdir/kernel: no module source"

"$srcdir/contrib/deps.sh" --bench >&2 || die "cannot install the benchmark tools"

kb_workdir netdisk-kbench

# ------------------------------------------------------------ the tools

# pkg_installed PKG: 0 if dpkg has PKG installed.
pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# nbd_client: nbd-client and the libraries it needs that this host lacks,
# as mkinitramfs.sh FILE=DEST arguments in nbdc_files; its version in
# nbdc_version.  Installed here, it is used as it is; otherwise its .deb
# (and those of its missing libraries) are unpacked in $dir, which spares
# the host the package's init script and configuration.
nbd_client() {
	local p want root f rel

	p=$(PATH=$PATH:/usr/sbin:/sbin command -v nbd-client || true)
	if [ -n "$p" ] && pkg_installed nbd-client; then
		nbdc_files=("$p=/sbin/nbd-client")
		nbdc_version=$(dpkg-query -W -f='${Version}' nbd-client)
		return 0
	fi
	[ -z "${NETDISK_OFFLINE:-}" ] ||
		die "nbd-client is not installed and NETDISK_OFFLINE is set"
	want=nbd-client
	for p in $(apt-cache depends nbd-client |
	    sed -n 's/^ *Depends: \(lib[^ <>]*\)$/\1/p'); do
		pkg_installed "$p" || want="$want $p"
	done
	mkdir -p "$dir/nbd-client/deb"
	msg "apt-get download $want"
	# shellcheck disable=SC2086
	(cd "$dir/nbd-client/deb" &&
	    apt-get -q download -o APT::Sandbox::User=root $want >&2) ||
		die "cannot download $want"
	root=$dir/nbd-client/root
	for f in "$dir"/nbd-client/deb/*.deb; do
		dpkg -x "$f" "$root" || die "dpkg -x $f failed"
	done
	nbdc_version=$(dpkg-deb -f "$dir"/nbd-client/deb/nbd-client_*.deb Version)
	for f in "$root/sbin/nbd-client" "$root/usr/sbin/nbd-client"; do
		if [ -x "$f" ]; then
			nbdc_files=("$f=/sbin/nbd-client")
		fi
	done
	[ -n "${nbdc_files[*]:-}" ] || die "no nbd-client in its package"
	# the libraries where the guest's ld.so looks, beside the others
	while read -r f; do
		rel=${f#"$root"/}
		nbdc_files+=("$f=/${rel#usr/}")
	done < <(find "$root" -name '*.so.*' \( -type f -o -type l \))
}

nbdc_files=()
nbd_client
nbds_version=$(dpkg-query -W -f='${Version}' nbd-server)
nbdc_version=${nbdc_version#*:}
nbds_version=${nbds_version#*:}

msg "fetching the kernels: ${series[*]}"
"$KT_SRC/fetch-kernels.sh" "${series[@]}" >"$dir/kernels" ||
	die "t/kernel/fetch-kernels.sh failed"

# ------------------------------------------------------------ the guest

# The fio jobs; DEV becomes the device.  Two seconds of ramp before each
# measured run keep fio's start out of the figures.  terse output: field 5 the error,
# 7 read KiB/s, 8 read IOPS, then the completion latency percentiles.
fio_common="--ioengine=libaio --direct=1 --numjobs=1 --time_based --ramp_time=2 --runtime=$BENCH_TIME --output-format=terse --terse-version=3"
FIO_RANDREAD="fio --name=randread-4k --rw=randread --bs=4k --iodepth=32 $fio_common --filename=DEV"
FIO_SEQREAD="fio --name=read-1m --rw=read --bs=1M --iodepth=4 $fio_common --filename=DEV"

cat >"$dir/kbench.env" <<EOF
IMAGE_MIB=$IMAGE_MIB
CONNS=$CONNS
FIO_RANDREAD='$FIO_RANDREAD'
FIO_SEQREAD='$FIO_SEQREAD'
EOF

# The guest's /test.sh (busybox sh, sourced by /init in /tmp).  Result
# lines go to the second serial port (run-guest.sh -r), where kernel
# messages cannot split them:
#   info KEY VALUE...                  facts about the guest
#   fio WORKLOAD DEVICE ROUND STATUS TERSE-LINE
#   error MESSAGE                      the guest could not go on
#   done
cat >"$dir/guest.sh" <<'GUEST'
# kbench guest script, written by contrib/kbench.sh; say, now, wait_until,
# conf_global and start_server are the kernel tests' (/guest-lib.sh)
. /guest-lib.sh
. /kbench.env
W=/bench
set -f

fail() {
	say "error $*"
	say "done"
	exit 1
}

# listening PORTHEX: something listens on that TCP port.
listening() {
	grep -q ":$1 00000000:0000 0A" /proc/net/tcp
}

# conns_to PORTHEX: established client connections to that port.
conns_to() {
	awk -v p=":$1" '$4 == "01" && substr($3, length($3) - 4) == p { n++ }
	    END { print n + 0 }' /proc/net/tcp
}

sectors_are() {
	test "$(cat /sys/block/$1/size 2>/dev/null)" = "$2"
}

image() {
	mkdir -p $W && mount -t tmpfs -o size=$((IMAGE_MIB + 16))m tmpfs $W ||
	    fail "cannot mount a tmpfs on $W"
	t0=$(now)
	dd if=/dev/urandom of=$W/data.img bs=1M count=$IMAGE_MIB iflag=fullblock 2>/dev/null ||
	    fail "cannot write the image"
	test "$(wc -c <$W/data.img)" = $((IMAGE_MIB * 1048576)) ||
	    fail "the image is $(wc -c <$W/data.img) bytes"
	say "info image_seconds $(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')"
	say "info mem_available_mib $(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)"
}

servers() {
	netdiskctl genkey -o $W/key >/dev/null || fail "netdiskctl genkey"
	{
		conf_global 127.0.0.1
		cat <<EOF
[data]
path = data.img
readonly = yes
EOF
	} >$W/netdisk.conf
	start_server
	cat >$W/nbd-server.conf <<EOF
[generic]
	listenaddr = 127.0.0.1
	port = 10809
	allowlist = false
[data]
	exportname = $W/data.img
	readonly = true
EOF
	nbd-server -C $W/nbd-server.conf -p $W/nbd-server.pid >$W/nbd-server.log 2>&1 ||
	    fail "nbd-server: $(cat $W/nbd-server.log)"
	wait_until 10 listening 2A39 || fail "nbd-server does not listen"
}

attach() {
	sectors=$((IMAGE_MIB * 2048))
	modprobe netdisk || fail "modprobe netdisk"
	netdiskctl attach -k $W/key --conns $CONNS $URI/data \
	    >$W/attach.out 2>&1 || fail "netdiskctl attach: $(cat $W/attach.out)"
	wait_until 10 sectors_are netdisk0 $sectors ||
	    fail "/dev/netdisk0 is not $sectors sectors"
	modprobe nbd nbds_max=1 || fail "modprobe nbd"
	nbdc_conns=$CONNS
	if ! nbd-client -N data -C $CONNS 127.0.0.1 10809 /dev/nbd0 \
	    >$W/nbd-client.out 2>&1; then
		nbdc_conns=1
		nbd-client -N data 127.0.0.1 10809 /dev/nbd0 >>$W/nbd-client.out 2>&1 ||
		    fail "nbd-client: $(cat $W/nbd-client.out)"
	fi
	wait_until 10 sectors_are nbd0 $sectors || fail "/dev/nbd0 is not $sectors sectors"
	say "info nbd_client_conns $nbdc_conns"
	# the same largest request on both (nbd.ko on 6.1 caps it at 128 KiB)
	q=/sys/block/nbd0/queue/max_sectors_kb
	want=$(cat /sys/block/netdisk0/queue/max_sectors_kb)
	was=$(cat $q)
	if test "$was" != "$want"; then
		echo "$want" >$q || fail "cannot set $q to $want"
		say "info max_sectors_kb nbd0 $was $want"
	fi
}

facts() {
	say "info kernel $(uname -r)"
	say "info cpus $(grep -c '^processor' /proc/cpuinfo)"
	f=""
	for x in aes pclmulqdq avx avx2 vaes vpclmulqdq; do
		grep -qw $x /proc/cpuinfo && f="$f $x"
	done
	say "info cpu_flags$f"
	# every gcm(aes) the kernel has now: the highest priority is the one
	# netdisk.ko got; refcnt > 1 means in use
	awk -F' *: ' '/^name/ { n = $2 } /^driver/ { d = $2 }
	    /^priority/ { p = $2 } /^refcnt/ { r = $2 }
	    /^$/ { if (n == "gcm(aes)") print "info gcm " d, p, r; n = "" }
	    END { if (n == "gcm(aes)") print "info gcm " d, p, r }' /proc/crypto |
	while read -r l; do say "$l"; done
	say "info conns netdisk0 $(cat /sys/block/netdisk0/netdisk/connections) $(conns_to 67B3)"
	say "info conns nbd0 - $(conns_to 2A39)"
	for d in netdisk0 nbd0; do
		say "info queue $d $(ls /sys/block/$d/mq | wc -l) $(cat /sys/block/$d/queue/max_sectors_kb) $(cat /sys/block/$d/queue/nr_requests)"
	done
}

# bench WORKLOAD FIO-TEMPLATE: four runs, alternating the devices.
bench() {
	for round in 1 2; do
		for dev in netdisk0 nbd0; do
			sync
			echo 3 >/proc/sys/vm/drop_caches
			cmd=$(echo "$2" | sed "s#=DEV#=/dev/$dev#")
			$cmd >$W/fio.out 2>$W/fio.err
			st=$?
			test -s $W/fio.err && say "info fio_stderr $1 $dev $(head -c 300 $W/fio.err | tr '\n' ' ')"
			say "fio $1 $dev $round $st $(grep '^3;' $W/fio.out | head -n 1)"
		done
	done
}

# ceiling: the kernel's own gcm(aes) in this boot, tcrypt's AEAD speed
# test (mode 211: 1 s per key and block size, each way); tcrypt refuses
# to stay loaded by design.  One line per direction, 256-bit key,
# 8192-byte blocks: "info tcrypt encryption|decryption DRIVER BYTES SECONDS".
ceiling() {
	dmesg -c >/dev/null
	modprobe tcrypt mode=211 sec=1 >/dev/null 2>&1
	dmesg | awk '/testing speed of gcm\(aes\) / {
		d = $0; sub(/.*\(/, "", d); sub(/\).*/, "", d)
		dir = ($0 ~ /decryption/ ? "decryption" : "encryption"); on = 1; next }
	    /testing speed of/ { on = 0 }
	    on && /256 bit key, 8192 byte blocks/ {
		b = $0; sub(/.*\(/, "", b); sub(/ bytes.*/, "", b)
		n = $0; sub(/.* in /, "", n); sub(/ seconds.*/, "", n)
		print "info tcrypt " dir, d, b, n }' |
	while read -r l; do say "$l"; done
}

image
servers
attach
facts
bench randread "$FIO_RANDREAD"
bench seqread "$FIO_SEQREAD"
netdiskctl detach netdisk0 || say "info netdiskctl detach failed"
nbd-client -d /dev/nbd0 >/dev/null 2>&1 || say "info nbd-client -d failed"
kill "$(cat $W/nbd-server.pid)" 2>/dev/null
ceiling
finish
GUEST

# ------------------------------------------------------------ per series

loadavg() {
	cut -d' ' -f1 /proc/loadavg
}

# run_series SERIES VERSION VMLINUZ KDIR MODDIR: build, boot, report.
run_series() {
	local s=$1 ver=$2 vmlinuz=$3 kdir=$4 moddir=$5
	local img=$dir/initrd-$s.gz res=$dir/results-$s con=$dir/console-$s.log
	local limit rs load0

	msg "$s: building netdisk.ko against $ver"
	if ! kt_make_module "$KT_OUT/build-$s" "$kdir" "$dir/build-$s.log"; then
		tail -n 30 "$dir/build-$s.log" >&2
		msg "$s: netdisk.ko does not build"
		return 1
	fi
	msg "$s: initramfs"
	kt_initramfs "$img" "$ver" "$moddir" "$KT_OUT/build-$s/kernel/netdisk.ko" \
	    "$dir/guest.sh" -m aesni-intel -m ghash-clmulni-intel -m gcm -i nbd \
	    -i tcrypt -- \
	    "$dir/kbench.env=/kbench.env" \
	    "$(command -v nbd-server)=/usr/bin/nbd-server" \
	    "$(command -v fio)=/usr/bin/fio" "${nbdc_files[@]}" ||
		{ msg "$s: mkinitramfs.sh failed"; return 1; }
	# boot, image, attach: about a minute; each run: BENCH_TIME plus fio's
	# start (a few seconds under TCG); a generous margin for a busy host
	limit=$((300 + 8 * (BENCH_TIME + 20) + 300))	# tcrypt: 96 s, more under load
	msg "$s: guest running (8 runs of $BENCH_TIME s, at most $limit s)"
	load0=$(loadavg)
	rs=0
	"$KT_SRC/run-guest.sh" -t "$limit" -l "$con" -r "$res" -c "$CONNS" \
	    "$vmlinuz" "$img" || rs=$?
	tr -d '\r' <"$res" >"$res.txt"
	# error: kbench's own fail; not ok: guest-lib.sh's bail (start_server)
	if grep -Eq '^(error|not ok -) ' "$res.txt"; then
		msg "$s: the guest failed: $(sed -En 's/^(error|not ok -) //p' "$res.txt")"
		return 1
	fi
	if [ $rs != 0 ] || ! grep -q '^done$' "$res.txt"; then
		msg "$s: the guest failed (run-guest.sh status $rs)"
		return 1
	fi
	report "$s" "$ver" "$res.txt" "$load0" "$(loadavg)"
}

# report SERIES VERSION RESULTS LOAD0 LOAD1: the table, on stdout.
report() {
	local res=$3 gcm

	gcm=$(awk '$1 == "info" && $2 == "gcm" && $4 > p { p = $4; d = $3 }
	    END { print d }' "$res")
	case $gcm in
	*aesni* | *vaes* | *avx*) ;;
	*) msg "$1: gcm(aes) is \"$gcm\", not an AES-NI driver" ;;
	esac
	echo
	awk -v s="$1" -v ver="$2" -v l0="$4" -v l1="$5" -v t="$BENCH_TIME" \
	    -v mib="$IMAGE_MIB" -v gcm="$gcm" -v nbdc="$nbdc_version" \
	    -v nbds="$nbds_version" -f /dev/fd/3 "$res" 3<<'AWK' || return 1
function mean(w, d) { return (n[w, d] ? sum[w, d] / n[w, d] : 0) }
function p50(w, d) { return (n[w, d] ? lat[w, d] / n[w, d] : 0) }
function num(w, v) { return sprintf(w == "randread" ? "%.0f" : "%.1f", v) }
$1 == "info" && $2 == "cpus" { cpus = $3 }
$1 == "info" && $2 == "cpu_flags" { $1 = $2 = ""; flags = substr($0, 3) }
$1 == "info" && $2 == "image_seconds" { imgs = $3 }
$1 == "info" && $2 == "gcm" {
	ngcm++; gd[ngcm] = $3; gp[ngcm] = $4; gr[ngcm] = $5
	if ($4 > gp[best]) best = ngcm
}
$1 == "info" && $2 == "conns" { conns[$3] = $5 }
$1 == "info" && $2 == "queue" { q[$3] = sprintf("%s hw queues, max_sectors_kb %s, nr_requests %s", $4, $5, $6) }
$1 == "info" && $2 == "nbd_client_conns" { nbdcc = $3 }
$1 == "info" && $2 == "max_sectors_kb" { msk[$3] = sprintf(" (set from its default %s)", $4) }
$1 == "info" && $2 == "tcrypt" && $6 > 0 { rate[$3] = $5 / $6 / 1e6; tdrv[$3] = $4 }
$1 == "fio" {
	w = $2; d = ($3 == "nbd0" ? "nbd" : "netdisk")
	nf = split($6, f, ";")
	if ($5 != 0 || nf < 40 || f[5] != 0) { bad = bad " " w "/" d "/" $4; next }
	v = (w == "randread" ? f[8] : f[7] / 1024)
	for (i = 18; i <= 37; i++)
		if (f[i] ~ /^50\.0+%=/) { sub(/.*=/, "", f[i]); lat[w, d] += f[i] }
	sum[w, d] += v; n[w, d]++
	runs[w] = runs[w] (runs[w] == "" ? "" : ", ") num(w, v)
}
END {
	printf "netdisk.ko vs nbd.ko, Linux %s (series %s)\n", ver, s
	printf "guest:   QEMU TCG (no KVM), %s vCPUs (%s), 1 GiB; host load average %s before, %s after\n",
	    cpus, flags, l0, l1
	printf "image:   %d MiB of random data in the guest's tmpfs (written in %s s); %d s per run\n",
	    mib, imgs, t
	printf "netdisk: /dev/netdisk0, netdisk.ko -> netdiskd on 127.0.0.1, %s TCP connections, AES-256-GCM\n",
	    conns["netdisk0"]
	printf "         gcm(aes): %s (priority %s, refcnt %s), the highest priority, so netdisk.ko's\n",
	    gd[best], gp[best], gr[best]
	for (i = 1; i <= ngcm; i++)
		if (i != best)
			printf "                   also %s (priority %s, refcnt %s)\n", gd[i], gp[i], gr[i]
	printf "         %s\n", q["netdisk0"]
	printf "nbd:     /dev/nbd0, nbd.ko (nbd-client %s%s) -> nbd-server %s on 127.0.0.1, %s TCP connections, plaintext\n",
	    nbdc, (nbdcc > 1 ? ", -C " nbdcc : ", no -C"), nbds, conns["nbd0"]
	printf "         %s%s\n\n", q["nbd0"], msk["nbd0"]
	printf "%-28s %14s %14s %6s   %s\n", "workload", "netdisk", "nbd", "ratio",
	    "p50 latency netdisk / nbd"
	split("randread seqread", ws, " ")
	label["randread"] = "4 KiB random read, qd 32"; unit["randread"] = "IOPS"
	label["seqread"] = "1 MiB sequential read, qd 4"; unit["seqread"] = "MiB/s"
	for (i = 1; i <= 2; i++) {
		w = ws[i]; a = mean(w, "netdisk"); b = mean(w, "nbd")
		printf "%-28s %8s %-5s %8s %-5s %6.2f   %.0f us / %.0f us\n", label[w],
		    num(w, a), unit[w], num(w, b), unit[w],
		    (b > 0 ? a / b : 0), p50(w, "netdisk"), p50(w, "nbd")
	}
	if (rate["encryption"] > 0 && rate["decryption"] > 0) {
		# per byte read, the server seals once and netdisk.ko opens
		# once, on 2 vCPUs: were AES-GCM the only cost, the most
		# netdisk.ko could read
		cmb = 2 / (1 / rate["encryption"] + 1 / rate["decryption"])
		ceil["seqread"] = cmb * 1e6 / 1048576
		ceil["randread"] = cmb * 1e6 / 4096
		printf "\ncrypto ceiling: the kernel's gcm(aes) in this boot (tcrypt mode 211, 256-bit key,\n"
		printf "8192-byte blocks): %s encrypts %.1f MB/s, %s decrypts %.1f MB/s per vCPU;\n",
		    tdrv["encryption"], rate["encryption"], tdrv["decryption"], rate["decryption"]
		printf "one seal and one open per byte on %s vCPUs: %.1f MB/s, if encryption were the only cost\n",
		    cpus, cmb
		printf "(netdiskd seals with its own code, not the kernel's: an estimate)\n\n"
		printf "%-28s %14s %14s %6s\n", "workload", "netdisk", "ceiling", "goal"
		for (i = 1; i <= 2; i++) {
			w = ws[i]; a = mean(w, "netdisk"); b = mean(w, "nbd")
			low = (ceil[w] < b ? ceil[w] : b)
			printf "%-28s %8s %-5s %8s %-5s %6.2f   (netdisk / the lower of nbd and the ceiling)\n",
			    label[w], num(w, a), unit[w], num(w, ceil[w]), unit[w],
			    (low > 0 ? a / low : 0)
		}
	} else
		printf "\ncrypto ceiling: tcrypt gave no gcm(aes) figures in this boot\n"
	printf "\nsingle runs, in order (netdisk, nbd, netdisk, nbd):\n"
	for (i = 1; i <= 2; i++)
		printf "  %-28s %s %s\n", label[ws[i]], runs[ws[i]], unit[ws[i]]
	if (bad != "")
		printf "FAILED runs (not counted):%s\n", bad
}
AWK
	echo
	echo "fio command lines:"
	for t in "$FIO_RANDREAD" "$FIO_SEQREAD"; do
		echo "  ${t/=DEV/=/dev/netdisk0}"
		echo "  ${t/=DEV/=/dev/nbd0}"
	done
	sed -n 's/^info fio_stderr /fio stderr: /p' "$res" >&2
	# every run ended well
	[ "$(grep -cE '^fio [a-z]+ [a-z0-9]+ [12] 0 3;' "$res")" = 8 ]
}

kt_for_series "$dir/kernels" run_series "${series[@]}"
