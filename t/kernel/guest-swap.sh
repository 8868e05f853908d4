# SPDX-License-Identifier: ISC
# guest-swap.sh - the guest side of t/kernel/swap.sh (busybox sh)
#
# A guest of 192 MiB (run-guest.sh -m 192 -n -H) whose only swap is
# /dev/netdisk0, attached with 2 connections to the host's netdiskd
# (10.0.2.2, the port in ndport= on the kernel command line, the key in
# /swap.key) over a virtio-net card: mkswap, swapon, then t/memhog writes
# MemTotal + 64 MiB (about 1.8 times the free memory) page by page and
# reads every page back, checking every word: most pages go out to swap
# and come back.  It must end within 300 s with every page intact; no OOM
# kill, no reconnect, lost connection or timeout of netdisk0; swap used
# (pswpout and pswpin at least the 64 MiB beyond MemTotal); swapoff;
# detach; attach lines balanced.  A hung task (20 s) or a warning ends
# the guest (run-guest.sh -H).  While the hog runs, a line of swap
# counters goes to the kernel log every 5 s, and the blocked tasks and
# memory (sysrq w, m) once if nothing moves for 20 s.
# Results as guest-lib.sh describes.

. /guest-lib.sh

HOST=10.0.2.2
HOG_OVER=64	# MiB the hog has beyond MemTotal
HOG_LIMIT=300	# seconds for the whole hog (99-143 s seen, -m 192, loaded host)

# vmstat_mib FIELD: a page counter of /proc/vmstat, in MiB.
vmstat_mib() {
	awk -v f="$1" '$1 == f { print int($2 * 4 / 1024) }' /proc/vmstat
}

meminfo_mib() {
	awk -v f="$1:" '$1 == f { print int($2 / 1024) }' /proc/meminfo
}

# monitor: every 5 s a line in the kernel log (the console) with the
# swap counters, free memory and netdisk0's requests in flight; after 20 s
# without a page swapped in or out, the blocked tasks and the memory
# (sysrq w, m), once.  Runs while $W/monitoring exists.
monitor() {
	local last="" cur same=0

	while test -e $W/monitoring; do
		sleep 5
		cur="$(vmstat_mib pswpout)/$(vmstat_mib pswpin)"
		echo "swap monitor: out/in $cur MiB, free $(meminfo_mib MemFree) MiB, in flight $(cat /sys/block/netdisk0/inflight)" >/dev/kmsg
		if test "$cur" = "$last"; then
			same=$((same + 1))
		else
			same=0
		fi
		if test $same = 4; then
			echo w >/proc/sysrq-trigger
			echo m >/proc/sysrq-trigger
		fi
		last=$cur
	done
}

# netstat FIELD: a TcpExt counter of /proc/net/netstat.
netstat() {
	awk -v f="$1" '$1 == "TcpExt:" && !n { for (i = 2; i <= NF; i++) c[i] = $i; n = 1; next }
	    $1 == "TcpExt:" { for (i in c) if (c[i] == f) print $i }' /proc/net/netstat
}

eth_up() {
	ip -4 addr show dev eth0 2>/dev/null | grep -q 10.0.2.15
}

mkdir -p $W && cd $W || exit 1
modprobe -q aesni_intel 2>/dev/null
port=$(sed -n 's/.*ndport=\([0-9]*\).*/\1/p' /proc/cmdline)
test -n "$port" || bail "no ndport= on the kernel command line"
modprobe virtio_pci && modprobe virtio_net ||
    bail "cannot load virtio_pci and virtio_net"
wait_until 10 test -e /sys/class/net/eth0 || bail "no eth0"
ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0
# swap readahead up to 32 pages (the default, 8, makes the hog's reads
# latency-bound: one round trip to the host per 32 KiB)
echo 5 >/proc/sys/vm/page-cluster
check "eth0 is up with 10.0.2.15 (QEMU's user-mode network)" eth_up ||
    bail "no network"

swapoff -a 2>/dev/null
run netdiskctl attach -k /swap.key --conns 2 "netdisk://$HOST:$port/swap"
check "attach the host's export swap (512 MiB) over the network" \
    test $st = 0 -a "$out" = /dev/netdisk0 || { show; bail "no device"; }
run mkswap /dev/netdisk0
check "mkswap /dev/netdisk0" test $st = 0 || show
run swapon /dev/netdisk0
check "swapon /dev/netdisk0" test $st = 0 || { show; bail "no swap"; }
is "/proc/swaps: /dev/netdisk0 is the only swap" \
    "$(awk 'NR > 1 { print $1 }' /proc/swaps)" /dev/netdisk0

total=$(meminfo_mib MemTotal)
hog=$((total + HOG_OVER))
over=$((hog - total))
diag "MemTotal $total MiB, MemFree $(meminfo_mib MemFree) MiB; memhog of $hog MiB"
r0=$(attr netdisk0 reconnects)
out0=$(vmstat_mib pswpout)
in0=$(vmstat_mib pswpin)
log_mark
: >$W/monitoring
monitor &
mpid=$!
t0=$(now)
# timeout(1), not reap: a polling loop of the shell under this pressure
# keeps no time
timeout -s KILL $HOG_LIMIT memhog -p 2 "$hog" >$W/hog.out 2>&1
hog_st=$?
secs=$(since "$t0")
rm -f $W/monitoring
reap $mpid 10
check "memhog: $hog MiB written, read back through swap on netdisk0, every page intact ($secs s)" \
    test $hog_st = 0 || diag "memhog exit $hog_st (137: killed, still running after $HOG_LIMIT s)"
diag "$(cat $W/hog.out)"
swpout=$(($(vmstat_mib pswpout) - out0))
swpin=$(($(vmstat_mib pswpin) - in0))
diag "swapped out $swpout MiB, in $swpin MiB; $(grep netdisk0 /proc/swaps)"
diag "packets from the reserves dropped for a socket without SOCK_MEMALLOC (TcpExt PFMemallocDrop): $(netstat PFMemallocDrop)"
check "swap used: $swpout MiB out (at least the $over MiB beyond MemTotal), $swpin MiB in" \
    test "$swpout" -ge "$over" -a "$swpin" -ge "$over"
log_since >$W/klog
is "no OOM kill" "$(grep -ciE 'out of memory|oom-kill|invoked oom-killer' $W/klog)" 0 ||
    diag_file $W/klog 30
is "netdisk0 stayed connected: no reconnect" \
    "$(($(attr netdisk0 reconnects) - r0)) $(attr netdisk0 state)" "0 connected"
check "... no lost connection, failed send or timeout in the kernel log" \
    test -z "$(grep -E 'netdisk0: (connection [0-9]+ lost|connection [0-9]+: send failed|.*timed out)' $W/klog)" ||
    diag_file $W/klog 20

t0=$(now)
run timeout 120 swapoff /dev/netdisk0
check "swapoff /dev/netdisk0 ($(since "$t0") s)" test $st = 0 || show
run timeout 30 netdiskctl detach netdisk0
check "detach" test $st = 0 -a ! -e /sys/block/netdisk0 || show
bad=$(attach_balance)
is "every attached line of the kernel log has its detached line" "$bad" ""
finish
