# SPDX-License-Identifier: ISC
# guest-resilience.sh - the guest side of t/kernel/resilience.sh (busybox sh)
#
# fio --verify=crc32c random read/write over 4 connections; a reload
# that changes another export and netdiskctl restart of it while fio
# verifies (the other device reconnects, fio sees nothing); an export
# added by a reload, grown by the next (the device grows), its trim
# turned off by a third (the device stops discarding); netdiskd
# killed with SIGKILL during a verified fio write and restarted 3 s later
# (no I/O error, the data verify); the server gone past dead_timeout (EIO,
# nothing hangs, the device stays until detached); scale 1 -> 4 -> 2
# connections while fio verifies, values refused, scale while netdiskd
# restarts; detach during I/O and with a mounted filesystem; rmmod; every
# attach line with its detach line.
# The guest has 4 CPUs, so 4 connections have a hardware queue each.
# Results as guest-lib.sh describes.

. /guest-lib.sh

FIO="fio --name=nd --filename=/dev/netdisk0 --direct=1 --ioengine=libaio
	--bs=4k --iodepth=16 --eta=never --output=$W/fio.out"
# 4 jobs, 8 MiB each, side by side (overlapping jobs would fail verify)
FIO4="--numjobs=4 --size=8M --offset_increment=8M --group_reporting"
VERIFY="--verify=crc32c --verify_fatal=1 --do_verify=1"

# attach ARGS...: netdiskctl attach -k key ARGS $URI/demo, as /dev/netdisk0.
attach() {
	run netdiskctl attach -k key "$@" $URI/demo
	is "netdiskctl attach $*: /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
}

setup
run modprobe netdisk
check "modprobe netdisk" test $st = 0 || show

# ---- fio over 4 connections
n0=$(grep -c 'authenticated: export "demo"' netdiskd.log)
attach --conns 4
is "... 4 connections, 4 hardware queues, connected" \
    "$(attr netdisk0 connections) $(ls /sys/block/netdisk0/mq | wc -l) $(attr netdisk0 state)" \
    "4 4 connected"
is "... netdiskd authenticated 4 connections" \
    "$(($(grep -c 'authenticated: export "demo"' netdiskd.log) - n0))" 4
t0=$(now)
# shellcheck disable=SC2086
$FIO $FIO4 $VERIFY --rw=randrw >$W/fio.log 2>&1
st=$?
check "fio --verify=crc32c randrw, 4 jobs over 4 connections ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag

# ---- reload and restart with kernel clients: demo keeps its sessions
# with fio verifying across a SIGHUP that changes ro (which restarts, its
# client reconnecting by itself), then netdiskctl restart ro.
run netdiskctl attach -k key --ro --conns 2 $URI/ro
is "attach ro read-only, 2 connections: /dev/netdisk1" "$st $out" "0 /dev/netdisk1" || show
rd0=$(attr netdisk0 reconnects)
rr0=$(attr netdisk1 reconnects)
w0=$(written_kib netdisk0)
t0=$(now)
# shellcheck disable=SC2086
$FIO $FIO4 $VERIFY --rw=randrw >$W/fio.log 2>&1 &
fpid=$!
wait_until 60 written_at_least netdisk0 $((w0 + 2048))
check "fio is verifying demo when ro's settings change and SIGHUP arrives" \
    alive $fpid
echo "max_clients = 8" >>$W/netdisk.conf
kill -HUP "$SRV"
check "... netdiskd reloads" \
    wait_until 20 grep -q 'configuration reloaded' $W/netdiskd.log
check "... ro restarts, demo is untouched" \
    test "$(grep -c 'export "ro": reconfigured' $W/netdiskd.log)" = 1 -a \
    "$(grep -c 'export "demo": reconfigured' $W/netdiskd.log)" = 0
wait_until 30 test "$(attr netdisk1 reconnects)" -ge "$((rr0 + 2))"
wait_until 10 connected netdisk1
is "... ro's client reconnects by itself, both connections" \
    "$(attr netdisk1 state) $(($(attr netdisk1 reconnects) - rr0))" "connected 2"
reap $fpid 120
check "... fio on demo ends without an error, data verified ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
is "... demo's connections never dropped" \
    "$(attr netdisk0 state) $(($(attr netdisk0 reconnects) - rd0))" "connected 0"
is "... ro's data read through the reconnected device" \
    "$(dd if=/dev/netdisk1 bs=64k 2>/dev/null | sha256sum | cut -d' ' -f1)" "$ro_sha"
run netdiskctl status -s $W/netdiskd.sock --json
echo "$out" | grep -q '"name":"demo".*"connections":4.*"name":"ro".*"connections":2'
g=$?
check "netdiskctl status: demo has one client with 4 connections, ro one with 2" \
    test $st = 0 -a $g = 0 || show
run netdiskctl restart -s $W/netdiskd.sock ro
check "netdiskctl restart ro" test $st = 0 || show
wait_until 30 test "$(attr netdisk1 reconnects)" -ge "$((rr0 + 4))"
wait_until 10 connected netdisk1
is "... ro's client reconnects again, demo's stays" \
    "$(attr netdisk1 state) $(($(attr netdisk1 reconnects) - rr0)) $(($(attr netdisk0 reconnects) - rd0))" \
    "connected 4 0"
run netdiskctl detach netdisk1
check "detach ro" test $st = 0 || show

# ---- an export added by a reload, then grown by another: the device
# grows with it
printf '[grow]\npath = grow.img\nsize = 20M\n' >>$W/netdisk.conf
kill -HUP "$SRV"
wait_until 20 test "$(grep -c 'configuration reloaded' $W/netdiskd.log)" -ge 2
run netdiskctl attach -k key --conns 2 $URI/grow
is "a reload adds export grow: attached as /dev/netdisk1" "$st $out" "0 /dev/netdisk1" || show
is "... of 20 MiB" "$(cat /sys/block/netdisk1/size)" 40960
log_mark
sed -i 's/^size = 20M$/size = 40M/' $W/netdisk.conf
kill -HUP "$SRV"
wait_until 30 test "$(cat /sys/block/netdisk1/size)" = 81920
wait_until 10 connected netdisk1
is "... a reload grows it to 40 MiB: the device follows, connected" \
    "$(cat /sys/block/netdisk1/size) $(attr netdisk1 state)" "81920 connected"
log_since >$W/klog
check "... the kernel log says so" \
    grep -q 'netdisk1: export grew to 41943040 bytes' $W/klog || diag_file $W/klog
dd if=/dev/urandom of=$W/blk bs=1M count=1 2>/dev/null
run dd if=$W/blk of=/dev/netdisk1 bs=1M seek=32 oflag=direct
check "... the new space takes a write" test $st = 0 || show
is "... and reads it back" \
    "$(dd if=/dev/netdisk1 bs=1M skip=32 count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" \
    "$(sha256sum <$W/blk | cut -d' ' -f1)"
d0=$(cat /sys/block/netdisk1/queue/discard_max_bytes)
log_mark
echo "trim = no" >>$W/netdisk.conf
kill -HUP "$SRV"
wait_until 30 test "$(cat /sys/block/netdisk1/queue/discard_max_bytes)" = 0
wait_until 10 connected netdisk1
check "a reload sets trim = no: the device stops discarding ($d0 -> $(cat /sys/block/netdisk1/queue/discard_max_bytes) bytes), connected" \
    test "$d0" -gt 0 -a "$(cat /sys/block/netdisk1/queue/discard_max_bytes)" = 0 -a \
    "$(attr netdisk1 state)" = connected
log_since >$W/klog
check "... the kernel log says so" \
    grep -q 'netdisk1: export features changed: trim off, write zeroes on, flush on, fua on' $W/klog ||
    diag_file $W/klog
run netdiskctl detach netdisk1
check "detach grow" test $st = 0 || show

# ---- SIGKILL during a verified write, restart 3 s later
log_mark
w0=$(written_kib netdisk0)
t0=$(now)
# shellcheck disable=SC2086
$FIO $FIO4 $VERIFY --rw=randwrite >$W/fio.log 2>&1 &
fpid=$!
wait_until 60 written_at_least netdisk0 $((w0 + 4096))
w1=$(written_kib netdisk0)
alive $fpid
a=$?
check "fio is writing ($((w1 - w0)) of 32768 KiB written) when netdiskd gets SIGKILL" \
    test $((w1 - w0)) -ge 4096 -a $((w1 - w0)) -lt 32768 -a $a = 0
kill_server KILL
sleep 3
start_server
reap $fpid 120
check "fio finishes without an I/O error and the data verify ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
wait_until 10 connected netdisk0
is "... all 4 connections back" \
    "$(attr netdisk0 state) $(attr netdisk0 connections)" "connected 4"
check "... reconnects counted ($(attr netdisk0 reconnects))" \
    test "$(attr netdisk0 reconnects)" -ge 4
log_since >$W/klog
check "... the kernel log shows the connections lost and back" \
    grep -q 'netdisk0: connection [0-9]* reconnected' $W/klog
check "... and no I/O error" \
    test -z "$(grep -E 'I/O error|netdisk0: dead' $W/klog)" || diag_file $W/klog

run netdiskctl detach netdisk0
check "detach" test $st = 0 || show

# ---- scale 1 -> 4 -> 2 connections while fio verifies, then 4 and 2
# again while the server restarts
sessions() {
	grep -c "$1" $W/netdiskd.log
}
# scale_bg N: netdiskctl scale netdisk0 N in the background, as $spid.
scale_bg() {
	timeout 60 netdiskctl scale netdisk0 "$1" >$W/scale.out 2>&1 &
	spid=$!
}
# restart_during_scale N: SIGKILL netdiskd, scale to N, restart it 2 s later.
restart_during_scale() {
	kill_server KILL
	t1=$(now)
	scale_bg "$1"
	sleep 2
	start_server
	reap $spid 70
}
attach --conns 1
is "... 1 connection" "$(attr netdisk0 connections)" 1
log_mark
n0=$(sessions 'authenticated: export "demo"')
c0=$(sessions 'closed: client disconnected')
w0=$(written_kib netdisk0)
t0=$(now)
# shellcheck disable=SC2086
$FIO $FIO4 $VERIFY --rw=randwrite --loops=2 >$W/fio.log 2>&1 &
fpid=$!
wait_until 60 written_at_least netdisk0 $((w0 + 2048))
t1=$(now)
run timeout 60 netdiskctl scale netdisk0 4
is "netdiskctl scale netdisk0 4 while fio verifies ($(since "$t1") s): 4 connections, connected" \
    "$st $(attr netdisk0 connections) $(attr netdisk0 state)" "0 4 connected" || show
is "... netdiskd authenticated 3 more" \
    "$(($(sessions 'authenticated: export "demo"') - n0))" 3
run netdiskctl list
like "... netdiskctl list shows 4" "$out" "connections=4"
w1=$(written_kib netdisk0)
wait_until 60 written_at_least netdisk0 $((w1 + 2048))
t1=$(now)
run timeout 60 netdiskctl scale /dev/netdisk0 2
is "netdiskctl scale /dev/netdisk0 2 ($(since "$t1") s): 2 connections, connected" \
    "$st $(attr netdisk0 connections) $(attr netdisk0 state)" "0 2 connected" || show
check "... netdiskd saw 2 sessions end" \
    wait_until 10 test "$(($(sessions 'closed: client disconnected') - c0))" = 2
run netdiskctl status -s $W/netdiskd.sock --json
echo "$out" | grep -q '"name":"demo".*"connections":2'
g=$?
check "... netdiskctl status: demo's client has 2 connections" \
    test $st = 0 -a $g = 0 || show
check "... fio is still verifying" alive $fpid
for v in 0 99 x; do
	run sh -c "echo $v >/sys/block/netdisk0/netdisk/connections"
	like "writing $v to connections: refused" "$st $err" "^[1-9].*Invalid argument"
done
log_since >$W/klog
check "... the kernel log names the attribute and the value" \
    grep -q 'netdisk0: connections=99 refused' $W/klog
run netdiskctl scale netdisk0 17
like "netdiskctl scale netdisk0 17: refused" "$st $err" "^[1-9].*connections"
run netdiskctl scale netdisk9 2
like "netdiskctl scale netdisk9 2: not attached" "$st $err" "^[1-9].*not attached"
alive $fpid && diag "fio is still verifying when netdiskd restarts"
restart_during_scale 4
is "scale to 4 while netdiskd restarts: done in $(since "$t1") s, 4 connections" \
    "$st $(attr netdisk0 connections)" "0 4" || diag_file $W/scale.out
wait_until 20 connected netdisk0
restart_during_scale 2
is "scale to 2 while netdiskd restarts: done in $(since "$t1") s, 2 connections" \
    "$st $(attr netdisk0 connections)" "0 2" || diag_file $W/scale.out
wait_until 20 connected netdisk0
reap $fpid 300
check "fio ends without an I/O error and the data verify ($(since "$t0") s)" \
    test $st = 0 -a -z "$(fio_errors)" || fio_diag
is "... connected, 2 connections" \
    "$(attr netdisk0 state) $(attr netdisk0 connections)" "connected 2"
log_since >$W/klog
check "... the kernel log shows the changes" \
    grep -q 'netdisk0: 2 connections (were 4)' $W/klog || diag_file $W/klog
check "... and no I/O error" \
    test -z "$(grep -E 'I/O error|netdisk0: dead' $W/klog)" || diag_file $W/klog
run netdiskctl detach netdisk0
check "detach" test $st = 0 || show

# ---- the server gone past dead_timeout
attach --conns 4 --dead-timeout 5
is "... dead_timeout 5" "$(attr netdisk0 dead_timeout)" 5
log_mark
w0=$(written_kib netdisk0)
# shellcheck disable=SC2086
$FIO $FIO4 $VERIFY --rw=randwrite >$W/fio.log 2>&1 &
fpid=$!
wait_until 60 written_at_least netdisk0 $((w0 + 2048))
check "fio is writing when netdiskd gets SIGKILL for good" alive $fpid
kill_server KILL
t0=$(now)
reap $fpid 60
t1=$(since "$t0")
fio_errors | grep -q 'Input/output error'
g=$?
check "fio fails with EIO ($t1 s after SIGKILL)" test $st != 0 -a $st -lt 124 -a $g = 0 ||
    fio_diag
check "... after dead_timeout (5 s), within 30 s" \
    awk -v t="$t1" 'BEGIN { exit !(t >= 4.5 && t <= 30) }'
is "... the device is dead" "$(attr netdisk0 state)" dead
t0=$(now)
run timeout 20 dd if=/dev/netdisk0 of=/dev/null bs=4k count=1 iflag=direct
t1=$(since "$t0")
fast=$(awk -v t="$t1" 'BEGIN { print (t <= 5) ? "yes" : "no" }')
check "... new I/O fails at once ($t1 s)" \
    test $st != 0 -a $st -lt 124 -a $fast = yes || show
like "... with EIO" "$err" "Input/output error"
log_since >$W/klog
like "... the kernel log says why" "$(grep -E 'netdisk0: (connection [0-9]+: server not back|dead)' $W/klog | head -n 2)" \
    "server not back within 5 s"
t0=$(now)
run timeout 30 netdiskctl detach netdisk0
check "... a dead device detaches ($(since "$t0") s)" \
    test $st = 0 -a ! -e /sys/block/netdisk0 || show
start_server

# ---- detach during I/O
attach --conns 4
w0=$(written_kib netdisk0)
# shellcheck disable=SC2086
$FIO $FIO4 --rw=randrw --time_based --runtime=120 >$W/fio.log 2>&1 &
fpid=$!
wait_until 60 written_at_least netdisk0 $((w0 + 2048))
check "fio is running when netdisk0 is detached" alive $fpid
t0=$(now)
run timeout 30 netdiskctl detach netdisk0
check "detach during fio ($(since "$t0") s)" \
    test $st = 0 -a ! -e /sys/block/netdisk0 || show
reap $fpid 30
check "... fio's I/O fails, fio ends ($(since "$t0") s)" test $st != 0 -a $st -lt 124 ||
    fio_diag

attach --conns 2
run mkfs.ext4 -q -F /dev/netdisk0
check "mkfs.ext4" test $st = 0 || show
mkdir -p /mnt
run mount -t ext4 /dev/netdisk0 /mnt
check "mount" test $st = 0 || show
dd if=/dev/zero of=/mnt/big bs=64k count=4000 2>/dev/null &
dpid=$!
wait_until 30 test -s /mnt/big
sleep 1
run timeout 30 netdiskctl detach netdisk0
is "detach with ext4 mounted and a writer: refused (exit 5), still attached" \
    "$st $(test -e /sys/block/netdisk0 && echo yes)" "5 yes" || show
t0=$(now)
run timeout 30 netdiskctl detach --force netdisk0
check "detach --force with ext4 mounted and a writer ($(since "$t0") s)" \
    test $st = 0 -a ! -e /sys/block/netdisk0 || show
reap $dpid 30
check "... the writer ends" test $st -lt 124
run timeout 30 umount /mnt
check "... umount afterwards" test $st = 0 || show

# ---- unload
is "no device left" "$(ndevs)" 0
run timeout 30 rmmod netdisk
check "rmmod netdisk" test $st = 0 -a ! -d /sys/module/netdisk || show
bad=$(attach_balance)
is "every attached line of the kernel log has its detached line" "$bad" ""
dmesg | grep -E 'netdisk[0-9]*:' | grep -v 'taint' | sed 's/^/  /' >$W/klog
diag "netdisk lines of the kernel log:"
diag_file $W/klog 60
finish
