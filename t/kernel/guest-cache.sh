# SPDX-License-Identifier: ISC
# guest-cache.sh - the guest side of t/kernel/cache.sh (busybox sh)
#
# netdisk.ko's client cache (cache=SIZE): bad values refused by modprobe,
# the add file and netdiskctl, with their messages; a read-only export
# read twice with O_DIRECT: the second pass all hits, no read reaches
# netdiskd (its status counters), the data right; LRU eviction within a
# small cache; drop_caches (the shrinker) gives the cache back; a
# netdiskd restart drops it; an exclusive read-write export: written,
# read twice (hits), then overwritten in whole blocks and in a 512-byte
# piece, trimmed and zeroed with O_DIRECT: every read afterwards is the
# new data and equals the server's file (sha256), never what the cache
# held; a read-only session of that writable export: the cache disabled,
# the reason in sysfs, list and the kernel log; every attach line with
# its detach line.  Results as guest-lib.sh describes.

. /guest-lib.sh

BLK=4096
MIB=1048576

# sha_dev DEV OFFSET_MIB LENGTH_MIB: sha256 of a range, read with O_DIRECT.
sha_dev() {
	dd if="/dev/$1" bs=1M skip="$2" count="$3" iflag=direct 2>/dev/null |
	    sha256sum | cut -d' ' -f1
}

# sha_file FILE OFFSET_MIB LENGTH_MIB
sha_file() {
	dd if="$1" bs=1M skip="$2" count="$3" 2>/dev/null |
	    sha256sum | cut -d' ' -f1
}

# srv_reads EXPORT: netdiskd's count of READ requests of the export.
srv_reads() {
	netdiskctl status -s $W/netdiskd.sock --json | tr '{' '\n' |
	    grep "^\"name\":\"$1\"," |
	    sed -n 's/.*"read_requests":\([0-9]*\).*/\1/p'
}

# cattr DEV NAME: the cache attribute cache_NAME.
cattr() {
	attr "$1" "cache_$2"
}

# add_line LINE: LINE written to the add file (the shell's own echo: the
# key is in no process's argv); the status in $st, stderr in $W/add.err.
add_line() {
	echo "$1" 2>$W/add.err >/sys/bus/netdisk/add
	st=$?
}

# attach_dev OPTIONS... URI: netdiskctl attach; the device's name in $dev.
attach_dev() {
	run netdiskctl attach -k $W/key "$@"
	dev=${out#/dev/}
	check "attach $*" test $st = 0 || { show; bail "attach $*"; }
}

bad_values() {
	log_mark
	run modprobe netdisk cache=10X
	check "modprobe netdisk cache=10X fails" test $st != 0
	like "... the kernel log names the value" "$(log_since)" \
	    'netdisk: cache=10X is not a size \(use 0, 64M, 1G\)'
	log_mark
	run modprobe netdisk cache=2T
	check "modprobe netdisk cache=2T fails" test $st != 0
	like "... out of range, the range named" "$(log_since)" \
	    'netdisk: cache=2199023255552 refused: use 0 \(off\) or 1048576 to 1099511627776 bytes \(1M to 1T\)'
	log_mark
	run modprobe netdisk cache=900G
	check "modprobe netdisk cache=900G fails (1 GiB of memory)" test $st != 0
	like "... more than half of the memory" "$(log_since)" \
	    "netdisk: cache=966367641600 refused: more than half of this machine's memory \\([0-9]+ MiB\\)"
	modprobe netdisk || bail "modprobe netdisk"
	log_mark
	add_line "address=127.0.0.1 export=ro key=$(cat $W/key) cache=512K"
	check "add line with cache=512K: the write fails" test $st != 0
	like "... the kernel log says why" "$(log_since)" \
	    'netdisk: add: cache=524288 refused: use 0 \(off\) or 1048576'
	add_line "address=127.0.0.1 export=ro key=$(cat $W/key) cache=64Q"
	like "add line with cache=64Q: EINVAL" "$st $(cat $W/add.err)" \
	    '^[1-9].*Invalid argument'
	run netdiskctl attach -k $W/key --cache 100000 $URI/ro
	is "netdiskctl attach --cache 100000: exit 2, the message" "$st $err" \
	    '2 netdiskctl: --cache: "100000" is not 0 or a size from 1M to 1T (use 64M, 1G)'
	is "no device made by the bad values" "$(ndevs)" 0
}

# The read-only export: 20 MiB + 12 KiB, 5123 blocks.
read_only() {
	local blocks=5123 h0 m0 h1 m1 r1

	log_mark
	attach_dev --cache 64M $URI/ro
	is "ro export, cache=64M: on, the size" \
	    "$(cattr $dev state) $(cattr $dev size)" "on 67108864"
	is "... the reason" "$(cattr $dev reason)" "read-only export"
	like "... the kernel log" "$(log_since)" \
	    "$dev: cache of 64 MiB on: read-only export"
	h0=$(cattr $dev hits) m0=$(cattr $dev misses)
	is "first O_DIRECT pass: the export's data" \
	    "$(sha_dev $dev 0 21)" "$ro_sha"
	h1=$(cattr $dev hits) m1=$(cattr $dev misses)
	check "... misses counted ($((m1 - m0)) blocks, $((h1 - h0)) hits)" \
	    test $((m1 - m0)) -gt $((blocks / 2))
	is "... the cache holds every block" "$(cattr $dev used)" \
	    $((blocks * BLK))
	r1=$(srv_reads ro)
	is "second O_DIRECT pass: the same data" "$(sha_dev $dev 0 21)" \
	    "$ro_sha"
	is "... hits: every block; misses: none" \
	    "$(($(cattr $dev hits) - h1)) $(($(cattr $dev misses) - m1))" \
	    "$blocks 0"
	is "... netdiskd saw no READ" "$(srv_reads ro)" "$r1"
	diag "ro: hits $(cattr $dev hits) misses $(cattr $dev misses) server reads $r1"
	run netdiskctl list
	like "netdiskctl list shows the cache's figures" "$out" \
	    "^/dev/$dev .* reconnects=0 cache=on cache_size=67108864 cache_used=$((blocks * BLK)) cache_hits=[0-9]+ cache_misses=[0-9]+ cache_evictions=0 cache_invalidations=0\$"
	run netdiskctl list --json
	like "... and list --json" "$out" \
	    "\"cache\":\\{\"state\":\"on\",\"reason\":\"read-only export\",\"size\":67108864,\"used\":$((blocks * BLK)),\"hits\":[0-9]+,"
}

# The shrinker: drop_caches frees the cache's pages.
shrinker() {
	local u0=$(cattr $dev used) e0=$(cattr $dev evictions)

	sync
	echo 2 >/proc/sys/vm/drop_caches
	check "drop_caches: the shrinker freed the cache ($u0 -> $(cattr $dev used) bytes)" \
	    test "$(cattr $dev used)" -lt "$u0"
	check "... counted as evictions" test "$(cattr $dev evictions)" -gt "$e0"
	is "... the data read again" "$(sha_dev $dev 0 21)" "$ro_sha"
}

# A netdiskd restart: the lost connection drops the cache.
restart() {
	check "before the restart the cache holds data" \
	    test "$(cattr $dev used)" -gt 0
	kill_server KILL
	start_server
	wait_until 20 connected $dev
	check "netdiskd restarted: reconnected" connected $dev
	is "... the cache was dropped" "$(cattr $dev used)" 0
	is "... the data read again" "$(sha_dev $dev 0 21)" "$ro_sha"
}

# A cache of 1 MiB: the least recently used blocks make room.
small() {
	local d0=$dev

	attach_dev --cache 1M $URI/ro
	sha_dev $dev 0 21 >/dev/null
	is "cache=1M: a 21 MiB read keeps 1 MiB" "$(cattr $dev used)" $MIB
	check "... the rest evicted ($(cattr $dev evictions))" \
	    test "$(cattr $dev evictions)" -ge 4600
	is "... the data right" "$(sha_dev $dev 0 21)" "$ro_sha"
	run netdiskctl detach $dev
	check "detach $dev" test $st = 0
	dev=$d0
}

# expect_same DESC: the first 16 MiB of the device, read with O_DIRECT,
# are $W/expect and the server's file.
expect_same() {
	local want

	want=$(sha_file $W/expect 0 16)
	is "$1: the device reads the new data" "$(sha_dev $dev 0 16)" "$want"
	is "... the server's file holds it" "$(sha_file $W/demo.img 0 16)" \
	    "$want"
}

# The read-write export: exclusive, so cached; the client's own writes.
read_write() {
	local h1 i0 z

	log_mark
	attach_dev --cache 64M $URI/demo
	is "read-write export, cache=64M: on" "$(cattr $dev state)" on
	is "... the reason" "$(cattr $dev reason)" \
	    "exclusive read-write: this client holds the export's write claim"
	dd if=/dev/urandom of=$W/expect bs=1M count=16 2>/dev/null
	run dd if=$W/expect of=/dev/$dev bs=1M oflag=direct
	check "16 MiB written with O_DIRECT" test $st = 0 || show
	expect_same "first read"
	h1=$(cattr $dev hits)
	expect_same "second read"
	is "... all from the cache" "$(($(cattr $dev hits) - h1))" 4096
	i0=$(cattr $dev invalidations)
	dd if=/dev/urandom of=$W/patch bs=1M count=1 2>/dev/null
	dd if=$W/patch of=$W/expect bs=1M seek=4 conv=notrunc 2>/dev/null
	run dd if=$W/patch of=/dev/$dev bs=1M seek=4 oflag=direct
	check "1 MiB at 4 MiB overwritten with O_DIRECT" test $st = 0 || show
	expect_same "after the overwrite"
	check "... its blocks invalidated ($(($(cattr $dev invalidations) - i0)))" \
	    test $(($(cattr $dev invalidations) - i0)) -ge 256
	expect_same "read again (cached)"
	dd if=/dev/urandom of=$W/piece bs=512 count=1 2>/dev/null
	dd if=$W/piece of=$W/expect bs=512 seek=$((5 * 2048 + 3)) conv=notrunc \
	    2>/dev/null
	run dd if=$W/piece of=/dev/$dev bs=512 seek=$((5 * 2048 + 3)) oflag=direct
	check "512 bytes at 5 MiB + 1536 written with O_DIRECT" test $st = 0 ||
	    show
	expect_same "after the 512-byte write"
	z=$(sha_file /dev/zero 0 1)
	run blkdiscard-ul -o $((8 * MIB)) -l $MIB /dev/$dev
	check "1 MiB at 8 MiB trimmed" test $st = 0 || show
	is "... the server's file reads zeros there" \
	    "$(sha_file $W/demo.img 8 1)" "$z"
	dd if=/dev/zero of=$W/expect bs=1M seek=8 count=1 conv=notrunc 2>/dev/null
	expect_same "after the trim"
	run blkdiscard-ul -z -o $((10 * MIB)) -l $MIB /dev/$dev
	check "1 MiB at 10 MiB zeroed (BLKZEROOUT)" test $st = 0 || show
	dd if=/dev/zero of=$W/expect bs=1M seek=10 count=1 conv=notrunc 2>/dev/null
	expect_same "after the zeroing"
	diag "rw: $(netdiskctl list | grep "^/dev/$dev ")"
}

# A read-only session of the writable export: someone else may write it.
shared() {
	local rw=$dev

	log_mark
	attach_dev --ro --cache 64M $URI/demo
	is "read-only session of a writable export: the cache disabled" \
	    "$(cattr $dev state)" disabled
	is "... the reason in sysfs" "$(cattr $dev reason)" \
	    "read-only session asked for with ro: the export may be written by another client"
	like "... and in the kernel log" "$(log_since)" \
	    "$dev: cache of 64 MiB disabled: read-only session asked for with ro"
	run netdiskctl list
	like "... and in netdiskctl list" "$(echo "$out" | grep "^/dev/$dev ")" \
	    " cache=disabled\$"
	is "... its data are the writer's" "$(sha_dev $dev 0 16)" \
	    "$(sha_file $W/expect 0 16)"
	is "... nothing cached" "$(cattr $dev used) $(cattr $dev hits)" "0 0"
	run netdiskctl detach $dev
	check "detach $dev" test $st = 0
	dev=$rw
}

setup 64M
bad_values
read_only
shrinker
restart
small
run netdiskctl detach $dev
check "detach $dev" test $st = 0
read_write
shared
run netdiskctl detach $dev
check "detach $dev" test $st = 0
is "no device left" "$(ndevs)" 0
run rmmod netdisk
check "rmmod netdisk" test $st = 0 || show
is "every attach line has its detach line" "$(attach_balance)" ""
finish
