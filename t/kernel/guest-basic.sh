# SPDX-License-Identifier: ISC
# guest-basic.sh - the guest side of t/kernel/basic.sh (busybox sh)
#
# The protocol test vectors in the kernel; KeyUpdates every 3 records
# (rekey_limit=3) with data intact; attach with modprobe parameters and
# with netdiskctl (list, list --json, detach); netdiskctl attach loading
# the module itself (with the options of /etc/modprobe.d; not installed,
# not root: the messages); each device as the server
# describes its export; ext4 written, checked and read back through a
# fresh attach, detach refused while it is mounted (netdiskctl and the
# remove file); a read-only
# export; refused attaches (wrong key, unknown export, busy, refused,
# unreachable) with their messages and no device left; netdisktab:
# attach -a (noauto and attached entries left out), attach NAME, the
# names in sysfs, list and the kernel log, detach -a (a mounted device
# left attached, then detached with --force; devices attached by URI left
# alone), a bad table refused with FILE:LINE, bad names refused
# by the module; overlay exports (guest-overlay.sh): two devices of one
# export with different client keys, ext4 on each, each keeps its own
# files across detach and attach, the base unchanged, an ephemeral
# overlay empty again; protocol version 3 (server_pub in the add line):
# refused by a netdiskd without server_key, and with server_key: I/O, a
# reconnect to a netdiskd restarted with min_version = 3, a v2 attach
# refused by it, a wrong server_pub, bad server_pub values; the keys
# nowhere in the kernel log, sysfs or /proc; every attach line with its
# detach line.
# Results as guest-lib.sh describes.

. /guest-lib.sh

# device_as_announced DEV EXPORT LABEL: capacity, read-only flag, block
# sizes, largest request, write cache, FUA, discard and write zeroes of DEV
# as "netdiskctl info EXPORT" reported them.
device_as_announced() {
	local q=/sys/block/$1/queue flags want got

	flags=" $(sed -n 's/^flags: //p' "$W/info.$2") "
	want="size=$(info_field "$2" size)"
	want="$want ro=$(test "$(info_field "$2" readonly)" = yes && echo 1 || echo 0)"
	want="$want lbs=$(info_field "$2" block_size)"
	want="$want pbs=$(info_field "$2" preferred_block_size)"
	want="$want max_kb=$(($(info_field "$2" max_payload) / 1024))"
	case $flags in
	*" flush "*) want="$want cache=write back" ;;
	*) want="$want cache=write through" ;;
	esac
	case $flags in
	*" flush "*) case $flags in *" fua "*) want="$want fua=1" ;; *) want="$want fua=0" ;; esac ;;
	*) want="$want fua=0" ;;
	esac
	case $flags in *" trim "*) want="$want discard=yes" ;; *) want="$want discard=no" ;; esac
	case $flags in
	*" write_zeroes "*) want="$want zeroes=yes" ;;
	*) want="$want zeroes=no" ;;
	esac
	got="size=$(blockdev --getsize64 "/dev/$1") ro=$(cat "/sys/block/$1/ro")"
	got="$got lbs=$(cat $q/logical_block_size) pbs=$(cat $q/physical_block_size)"
	got="$got max_kb=$(cat $q/max_hw_sectors_kb) cache=$(cat $q/write_cache)"
	got="$got fua=$(cat $q/fua)"
	got="$got discard=$(test "$(cat $q/discard_max_hw_bytes)" -gt 0 && echo yes || echo no)"
	got="$got zeroes=$(test "$(cat $q/write_zeroes_max_bytes)" -gt 0 && echo yes || echo no)"
	is "$3: /dev/$1 is the export as the server announced it" "$got" "$want"
}

# sha_dev DEV OFFSET_MIB LENGTH_MIB: sha256 of a range of a block device,
# read with O_DIRECT (not for files: tmpfs has no O_DIRECT before 6.6).
sha_dev() {
	dd if="$1" bs=1M skip="$2" count="$3" iflag=direct 2>/dev/null |
	    sha256sum | cut -d' ' -f1
}

# write_back SEEK_MIB MIB: MIB MiB of random data written to netdisk0 at
# SEEK_MIB with O_DIRECT, read back, and on the server's file; their
# sha256 in $want.
write_back() {
	dd if=/dev/urandom of=data bs=1M count="$2" 2>/dev/null
	want=$(sha256sum <data | cut -d' ' -f1)
	run dd if=data of=/dev/netdisk0 bs=1M seek="$1" oflag=direct
	check "... $2 MiB written with O_DIRECT" test $st = 0 || show
	is "... and read back with O_DIRECT" "$(sha_dev /dev/netdisk0 "$1" "$2")" "$want"
	is "... the server's file holds them" \
	    "$(dd if=demo.img bs=1M skip="$1" count="$2" 2>/dev/null | sha256sum | cut -d' ' -f1)" "$want"
}

setup
demo_size=$(info_field demo size)

# ---- netdiskctl attach loads the module itself (modprobe netdisk), with
# the options of /etc/modprobe.d; not installed, or not root: says so
t0=$(now)
ko=/lib/modules/$(uname -r)/extra/netdisk.ko
mv $ko $W/netdisk.ko.away && depmod -a || bail "cannot take netdisk.ko away"
run netdiskctl attach -k key $URI/demo
is "attach, netdisk.ko not installed: exit 1" "$st" 1
is "... says what to do" "$err" \
    "netdiskctl: netdisk.ko is not installed for the running kernel, $(uname -r): install the netdisk-dkms package, or run \"make -C kernel install\" in the source tree"
check "... no module loaded, no device" \
    test ! -d /sys/module/netdisk -a "$(ndevs)" = 0
mv $W/netdisk.ko.away $ko && depmod -a || bail "cannot put netdisk.ko back"
echo "nobody:x:65534:65534:nobody:/:/bin/sh" >>/etc/passwd
run su -s /bin/sh nobody -c "/usr/sbin/netdiskctl attach -k $W/key $URI/demo"
is "attach as another user than root, module not loaded: exit 1" "$st" 1
is "... says only root can load it" "$err" \
    "netdiskctl: netdisk kernel module not loaded, and only root can load it: run netdiskctl attach as root"
check "... no module loaded" test ! -d /sys/module/netdisk
mkdir -p /etc/modprobe.d
echo "options netdisk dead_timeout=77" >/etc/modprobe.d/netdisk.conf
# MODPROBE_OPTIONS=-n would make modprobe a dry run, were it passed on
log_mark
run env MODPROBE_OPTIONS=-n netdiskctl attach -k key $URI/demo
is "attach, module not loaded: loads it, prints /dev/netdisk0" \
    "$st $out $err" "0 /dev/netdisk0 " || show
is "... module loaded, device connected" \
    "$(test -d /sys/module/netdisk && echo loaded) $(attr netdisk0 state)" \
    "loaded connected"
is "... the option of /etc/modprobe.d applies (dead_timeout=77)" \
    "$(attr netdisk0 dead_timeout)" 77
is "... kernel log: attached" "$(log_since | grep -o 'netdisk0: attached.*')" \
    "netdisk0: attached 127.0.0.1:$PORT/demo"
rm /etc/modprobe.d/netdisk.conf
run netdiskctl attach -k key $URI/ro
is "attach, module loaded: /dev/netdisk1" "$st $out $err" "0 /dev/netdisk1 " || show
run netdiskctl detach netdisk0
check "... detach netdisk0" test $st = 0 || show
run netdiskctl detach netdisk1
check "... detach netdisk1" test $st = 0 || show
run rmmod netdisk
check "... rmmod netdisk" test $st = 0 || show
diag "attach loading the module: $(since "$t0") s"

# ---- the protocol test vectors, in the kernel; then records with a
# KeyUpdate every 3 records each way (rekey_limit=3)
log_mark
run modprobe netdisk selftest=1 rekey_limit=3
check "modprobe netdisk selftest=1 rekey_limit=3" test $st = 0 || show
is "the shared protocol test vectors pass in the kernel" \
    "$(log_since | grep 'netdisk: selftest' | sed 's/^\[[^]]*\] //')" \
    "netdisk: selftest passed"
run netdiskctl attach -k key --conns 2 $URI/demo
is "rekey_limit=3: netdiskctl attach --conns 2: /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
dd if=/dev/urandom of=data bs=64k count=64 2>/dev/null
run dd if=data of=/dev/netdisk0 bs=64k oflag=direct
check "... 4 MiB written (a KeyUpdate every 3 records)" test $st = 0 || show
is "... and read back" "$(sha_dev /dev/netdisk0 0 4)" "$(sha256sum <data | cut -d' ' -f1)"
is "... no reconnect, still connected" \
    "$(attr netdisk0 reconnects) $(attr netdisk0 state)" "0 connected"
run netdiskctl detach netdisk0
check "... detach" test $st = 0 || show
run rmmod netdisk
check "rmmod netdisk" test $st = 0 || show

# ---- attach with modprobe parameters
log_mark
run modprobe netdisk address=127.0.0.1 port=$PORT export=demo key="$(cat bad.key)"
check "modprobe with the wrong key fails" test $st != 0
like "... modprobe says the key was rejected" "$err" "Key was rejected by service"
like "... the kernel log says why" "$(log_since | grep 'netdisk: 127')" \
    "netdisk: 127\\.0\\.0\\.1:$PORT/demo: authentication failed \\(wrong key or no such export\\)"
check "... no module left loaded, no device" \
    test ! -d /sys/module/netdisk -a "$(ndevs)" = 0

log_mark
run modprobe netdisk address=127.0.0.1 port=$PORT export=demo key="$(cat key)" conns=2
check "modprobe netdisk address= port= export= key= conns=2 attaches" \
    test $st = 0 -a -b /dev/netdisk0 || show
is "... kernel log: attached" "$(log_since | grep -o 'netdisk0: attached.*')" \
    "netdisk0: attached 127.0.0.1:$PORT/demo"
is "... sysfs: server, export, state, connections" \
    "$(attr netdisk0 server) $(attr netdisk0 export) $(attr netdisk0 state) $(attr netdisk0 connections)" \
    "127.0.0.1:$PORT demo connected 2"
device_as_announced netdisk0 demo "modprobe attach"
check "... the key parameter is not in sysfs" \
    test ! -e /sys/module/netdisk/parameters/key
write_back 8 4
check "no key in the kernel log, sysfs, /proc/*/cmdline or environ (modprobe attach)" \
    key_leaks "modprobe attach"
log_mark
run rmmod netdisk
check "rmmod netdisk detaches the modprobe device" \
    test $st = 0 -a ! -e /sys/block/netdisk0 -a ! -d /sys/module/netdisk || show
is "... kernel log: detached" "$(log_since | grep -o 'netdisk0: detached.*')" \
    "netdisk0: detached"

# ---- attach with netdiskctl
run modprobe netdisk
check "modprobe netdisk (no device)" test $st = 0 -a "$(ndevs)" = 0 || show
run netdiskctl attach -k key $URI/demo
is "netdiskctl attach prints /dev/netdisk0" "$st $out" "0 /dev/netdisk0" || show
device_as_announced netdisk0 demo "netdiskctl attach"
conns=$(attr netdisk0 connections)
is "... one connection per CPU by default" "$conns" "$(grep -c '^processor' /proc/cpuinfo)"
run netdiskctl list
is "netdiskctl list shows it" "$out" \
    "/dev/netdisk0 server=127.0.0.1:$PORT export=demo state=connected connections=$conns size=$demo_size reconnects=0"
run netdiskctl list --json
is "netdiskctl list --json" "$out" \
    "[{\"device\":\"/dev/netdisk0\",\"server\":\"127.0.0.1:$PORT\",\"export\":\"demo\",\"state\":\"connected\",\"connections\":$conns,\"size\":$demo_size,\"reconnects\":0,\"name\":null,\"cache\":{\"state\":\"off\",\"reason\":\"not asked for (cache=0)\",\"size\":0,\"used\":0,\"hits\":0,\"misses\":0,\"evictions\":0,\"invalidations\":0}}]"
is "... data written by the modprobe device are there" "$(sha_dev /dev/netdisk0 8 4)" "$want"

# ---- reconnects rewrite no kernel code: the device holds a SOCK_MEMALLOC
# socket from attach to detach, so the static key memalloc_socks_key does
# not flip (text_poke_bp on every CPU) each time a connection goes and
# comes.  A kprobe on arch_jump_label_transform_queue records each jump
# site rewritten, with its struct jump_entry: the key's address is that
# of the entry's key field (offset 8) plus the offset it holds, low two
# bits cleared.
TR=/sys/kernel/tracing
mount -t tracefs nodev $TR 2>/dev/null
mkey=$(awk '$3 == "memalloc_socks_key" { print "0x" $1 }' /proc/kallsyms)
echo "p:ndtest/jl arch_jump_label_transform_queue entry=%di:x64 keyoff=+8(%di):s64" \
    >>$TR/kprobe_events 2>$W/kp.err
check "a kprobe on arch_jump_label_transform_queue; memalloc_socks_key at $mkey" \
    test -d $TR/events/ndtest/jl -a -n "$mkey" || diag_file $W/kp.err
# memalloc_flips: the sites of memalloc_socks_key rewritten, in the trace
memalloc_flips() {
	local line e o n=0

	while read -r line; do
		case $line in
		*entry=*keyoff=*) ;;
		*) continue ;;
		esac
		e=${line##*entry=}
		e=${e%% *}
		o=${line##*keyoff=}
		o=${o%% *}
		test $(((e + 8 + o) & ~3)) = $((mkey)) && n=$((n + 1))
	done <$TR/trace
	echo $n
}
# all_back N: netdisk0 reconnected N times in all and connected
all_back() {
	test "$(attr netdisk0 reconnects)" -ge "$1" && connected netdisk0
}
: >$TR/trace
echo 1 >$TR/events/ndtest/jl/enable
r=0
for i in 1 2 3; do
	kill_server TERM
	start_server
	r=$((r + conns))
	wait_until 30 all_back $r || break
done
echo 0 >$TR/events/ndtest/jl/enable
is "netdiskd restarted 3 times: $conns connection(s) back each time" \
    "$(attr netdisk0 reconnects) $(attr netdisk0 state)" "$r connected"
is "... and no site of memalloc_socks_key was rewritten meanwhile" \
    "$(memalloc_flips)" 0 || diag "$(grep -c 'jl:' $TR/trace) jump sites rewritten in all"
echo '-:ndtest/jl' >>$TR/kprobe_events
is "... the data are still there" "$(sha_dev /dev/netdisk0 8 4)" "$want"

# ---- ext4: write, check, read back through a fresh attach
run mkfs.ext4 -q -F /dev/netdisk0
check "mkfs.ext4 /dev/netdisk0" test $st = 0 || show
mkdir -p /mnt
run mount -t ext4 /dev/netdisk0 /mnt
check "mount" test $st = 0 || show
mkdir -p /mnt/small /mnt/big/deep
for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	dd if=/dev/urandom of=/mnt/small/f$n bs=$((n * 409 + 1)) count=1 2>/dev/null
done
for n in 1 2 3 4; do
	dd if=/dev/urandom of=/mnt/big/deep/g$n bs=64k count=$((n * 24 + 1)) 2>/dev/null
done
dd if=/dev/urandom of=/mnt/big/odd bs=1000001 count=3 2>/dev/null
(cd /mnt && find . -type f | sort | xargs sha256sum) >sums
nfiles=$(wc -l <sums)
log_mark
run netdiskctl detach /dev/netdisk0
is "detach while mounted: refused, exit 5" "$st" 5
is "... message" "$err" "netdiskctl: /dev/netdisk0: in use (a mounted file system, swap or another device on it), not detached; unmount it first, or detach --force"
is "... still attached; the kernel log says why" \
    "$(test -e /sys/block/netdisk0 && echo yes) $(log_since | grep -o 'netdisk0: in use.*')" \
    "yes netdisk0: in use (mounted, swap or held by another device), not detached"
echo netdisk0 2>$W/rm.err >/sys/bus/netdisk/remove
like "... a write of netdisk0 to /sys/bus/netdisk/remove fails: EBUSY" \
    "$(cat $W/rm.err)" "Device or resource busy"
check "... the file system still works" sh -c "echo more >/mnt/more && sync"
rm -f /mnt/more
run umount /mnt
check "umount after writing $nfiles files" test $st = 0 -a "$nfiles" = 25 || show
run netdiskctl detach /dev/netdisk0
check "detach" test $st = 0 -a ! -e /sys/block/netdisk0 || show
run netdiskctl detach /dev/netdisk0
is "detach again: exit 2" "$st" 2
is "... message" "$err" "netdiskctl: /dev/netdisk0: not attached"
run netdiskctl attach -k key $URI/demo
is "attach again (nothing cached in the guest)" "$st $out" "0 /dev/netdisk0" || show
run e2fsck -fn /dev/netdisk0
check "e2fsck -fn: clean" test $st = 0 || { show; diag_file $W/run.out; }
run mount -t ext4 /dev/netdisk0 /mnt
check "mount again" test $st = 0 || show
run sh -c "cd /mnt && sha256sum -c $W/sums"
check "sha256 of every file unchanged" test $st = 0 || diag_file $W/run.out
is "... and no file more or less" "$(find /mnt -type f | wc -l)" "$nfiles"
run umount /mnt
check "umount" test $st = 0 || show

# ---- a read-only export
run netdiskctl attach -k key $URI/ro
is "netdiskctl attach of the read-only export: /dev/netdisk1" "$st $out" "0 /dev/netdisk1" || show
device_as_announced netdisk1 ro "read-only export"
is "... the device is read-only" "$(cat /sys/block/netdisk1/ro) $(blockdev --getro /dev/netdisk1)" "1 1"
is "... its content is the server's file" \
    "$(dd if=/dev/netdisk1 bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" "$ro_sha"
run dd if=/dev/zero of=/dev/netdisk1 bs=4k count=1 oflag=direct
check "... a write is refused" test $st != 0 || show
like "... with EPERM, EROFS or EACCES" "$err" \
    "Operation not permitted|Read-only file system|Permission denied"
is "... the server's file is unchanged" "$(sha256sum <ro.img | cut -d' ' -f1)" "$ro_sha"

# a read-only client of the read-write export, over IPv6, the key file
# from NETDISK_KEYFILE
NETDISK_KEYFILE=$W/key run netdiskctl attach --ro "netdisk://[::1]/demo"
is "netdiskctl attach --ro of demo over IPv6: /dev/netdisk2" "$st $out" "0 /dev/netdisk2" || show
is "... server [::1]:$PORT, read-only" \
    "$(attr netdisk2 server) $(cat /sys/block/netdisk2/ro)" "[::1]:$PORT 1"
run dd if=/dev/zero of=/dev/netdisk2 bs=4k count=1 oflag=direct
check "... a write is refused" test $st != 0 || show
run mount -t ext4 -o ro /dev/netdisk2 /mnt
check "... the ext4 written through netdisk0 mounts read-only" test $st = 0 || show
run sh -c "cd /mnt && sha256sum -c $W/sums"
check "... every file reads back" test $st = 0 || diag_file $W/run.out
umount /mnt

# ---- refused attaches: the message, no device left
msg="netdiskctl: 127.0.0.1:$PORT: authentication failed (wrong key or no such export)"
log_mark
run netdiskctl attach -k bad.key $URI/demo
is "wrong key: exit 4" "$st" 4
is "... message" "$err" "$msg"
is "... no device, no output" "$(ndevs) $out" "3 "
like "... kernel log" "$(log_since | grep 'netdisk: ')" \
    "netdisk: 127\\.0\\.0\\.1:$PORT/demo: authentication failed \\(wrong key or no such export\\)"
log_mark
run netdiskctl attach -k key $URI/nosuch
is "unknown export: exit 4" "$st" 4
is "... message" "$err" "$msg"
is "... no device" "$(ndevs)" 3
like "... kernel log" "$(log_since | grep 'netdisk: ')" \
    "netdisk: 127\\.0\\.0\\.1:$PORT/nosuch: authentication failed \\(wrong key or no such export\\)"
# the control file itself (the shell's echo: no process has the key in
# its arguments)
log_mark
echo "address=127.0.0.1 export=demo key=$(cat bad.key)" 2>$W/add.err >/sys/bus/netdisk/add
st=$?
check "wrong key written to /sys/bus/netdisk/add: the write fails" test $st != 0
like "... with EKEYREJECTED" "$(cat $W/add.err)" "Key was rejected by service"
is "... no device" "$(ndevs)" 3
log_mark
run netdiskctl attach -k key $URI/demo
is "second read-write client of demo: exit 5" "$st" 5
is "... message" "$err" "netdiskctl: 127.0.0.1:$PORT: export busy (in use by another client)"
is "... no device" "$(ndevs)" 3
like "... kernel log" "$(log_since | grep 'netdisk: ')" "/demo: export busy"
run netdiskctl attach -k key netdisk://127.0.0.1:1/demo
is "connection refused: exit 3" "$st" 3
is "... message" "$err" "netdiskctl: 127.0.0.1:1: connection refused"
is "... no device" "$(ndevs)" 3
run timeout 60 netdiskctl attach -k key netdisk://10.99.0.1/demo
is "unreachable server: exit 3" "$st" 3
like "... message" "$err" "^netdiskctl: 10\\.99\\.0\\.1:$PORT: server unreachable"
is "... no device" "$(ndevs)" 3

check "no key in the kernel log, sysfs, /proc/*/cmdline or environ (3 devices)" \
    key_leaks "3 devices attached"

# an attach that waits for a stopped server: its process shows no key
run netdiskctl detach netdisk1
check "detach netdisk1" test $st = 0 -a ! -e /sys/block/netdisk1 || show
kill -STOP "$SRV"
netdiskctl attach -k key --ro --conns 2 netdisk://localhost/ro >$W/bg.out 2>$W/bg.err &
apid=$!
sleep 2
check "an attach to a stopped server waits in the kernel" test -d /proc/$apid
check "... meanwhile no key in /proc/*/cmdline or environ or the kernel log" \
    key_leaks "attach in progress" nosys
kill -CONT "$SRV"
wait $apid
st=$?
is "... and succeeds once the server runs: /dev/netdisk1" "$st $(cat $W/bg.out)" "0 /dev/netdisk1" ||
    diag_file $W/bg.err
is "... 2 connections, read-only" \
    "$(attr netdisk1 connections) $(cat /sys/block/netdisk1/ro)" "2 1"

# ---- detach everything, unload
for d in netdisk2 /dev/netdisk1 0; do
	run netdiskctl detach $d
	check "netdiskctl detach $d" test $st = 0 || show
done
run netdiskctl list
is "no device left" "$(ndevs) $st [$out]" "0 0 []"

# ---- netdisktab: attach -a, attach NAME, detach -a
mkdir -p /etc
cat >/etc/netdisktab <<EOF
# the devices of the test
disk   netdisk://127.0.0.1:$PORT/demo  $W/key  conns=2
media  netdisk://[::1]:$PORT/ro        $W/key  ro,dead_timeout=30
spare  netdisk://localhost/ro          $W/key  noauto   # by name only
EOF
log_mark
run netdiskctl attach -a
is "netdiskctl attach -a: disk and media attached, spare (noauto) not" \
    "$st $out" "0 disk: attached /dev/netdisk0
media: attached /dev/netdisk1" || show
is "... two devices, named in sysfs" \
    "$(ndevs) $(attr netdisk0 name) $(attr netdisk1 name)" "2 disk media"
is "... the entries' options: conns=2; ro, dead_timeout=30" \
    "$(attr netdisk0 connections) $(cat /sys/block/netdisk0/ro) $(attr netdisk1 server) $(cat /sys/block/netdisk1/ro) $(attr netdisk1 dead_timeout)" \
    "2 0 [::1]:$PORT 1 30"
is "... kernel log: attached, with the names" \
    "$(log_since | grep -o 'netdisk[0-9]: attached.*')" \
    "netdisk0: attached 127.0.0.1:$PORT/demo name=disk
netdisk1: attached [::1]:$PORT/ro name=media"
is "... disk reads the server's file" "$(sha_dev /dev/netdisk0 8 4)" \
    "$(dd if=demo.img bs=1M skip=8 count=4 2>/dev/null | sha256sum | cut -d' ' -f1)"
is "... media reads the read-only export" \
    "$(dd if=/dev/netdisk1 bs=64k iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)" \
    "$ro_sha"
run netdiskctl list
like "... netdiskctl list shows disk's name" "$out" \
    "^/dev/netdisk0 server=127\\.0\\.0\\.1:$PORT export=demo .* name=disk\$"
like "... and media's" "$out" \
    "^/dev/netdisk1 server=\\[::1\\]:$PORT export=ro .* name=media\$"
log_mark
run netdiskctl attach -a
is "attach -a again: nothing new, a note for each" "$st $out" \
    "0 disk: already attached as /dev/netdisk0
media: already attached as /dev/netdisk1" || show
is "... still two devices, no attach in the kernel log" \
    "$(ndevs) $(log_since | grep -c 'attached')" "2 0"
run netdiskctl attach spare
is "netdiskctl attach spare (noauto, by name)" "$st $out" \
    "0 spare: attached /dev/netdisk2" || show
is "... named spare, read-only, the module's default connections" \
    "$(attr netdisk2 name) $(cat /sys/block/netdisk2/ro) $(attr netdisk2 connections)" \
    "spare 1 $(grep -c '^processor' /proc/cpuinfo)"
run netdiskctl attach -k key $URI/ro
is "a device attached by URI: /dev/netdisk3, no name" \
    "$st $out [$(attr netdisk3 name)]" "0 /dev/netdisk3 []" || show
run mount -t ext4 -o ro /dev/netdisk0 /mnt
check "mount disk's ext4 read-only" test $st = 0 || show
log_mark
run netdiskctl detach -a
is "netdiskctl detach -a with disk mounted: media and spare detached, exit 5" \
    "$st $out" "5 media: detached /dev/netdisk1
spare: detached /dev/netdisk2" || show
is "... disk left attached, and why" "$err" \
    "netdiskctl: disk: /dev/netdisk0: in use (a mounted file system, swap or another device on it), not detached; unmount it first, or detach --force"
is "... kernel log" "$(log_since | grep -o 'netdisk0: in use.*')" \
    "netdisk0: in use (mounted, swap or held by another device), not detached"
run sh -c "cd /mnt && sha256sum -c $W/sums"
check "... every file still reads back" test $st = 0 || diag_file $W/run.out
log_mark
run netdiskctl detach -a --force
is "detach -a --force: disk detached while mounted" "$st $out" \
    "0 disk: detached /dev/netdisk0" || show
is "... kernel log: in use, detached by force" \
    "$(log_since | grep -o 'netdisk0: .*')" "netdisk0: in use, detaching by force
netdisk0: detached"
run umount /mnt
check "... the file system unmounts" test $st = 0 || show
is "... the device attached by URI left alone" \
    "$(ndevs) $(attr netdisk3 export)" "1 ro"
run netdiskctl detach netdisk3
check "netdiskctl detach netdisk3" test $st = 0 -a "$(ndevs)" = 0 || show
run netdiskctl detach -a
is "detach -a with nothing attached: exit 0, silent" "$st [$out$err]" "0 []"

# a bad table: every bad line, nothing attached
cat >$W/bad.tab <<EOF
disk   netdisk://127.0.0.1:$PORT/demo  $W/key  conns=2
media  netdisk://127.0.0.1:$PORT/ro    key     conns=0
disk   netdisk://127.0.0.1:$PORT/ro    $W/key  ro,fast
EOF
run netdiskctl attach -a -t $W/bad.tab
is "attach -a of a bad table: exit 11" "$st" 11
is "... FILE:LINE for every error, nothing attached" "$err" \
    "$W/bad.tab:2: entry \"media\": keyfile \"key\" is not an absolute path
$W/bad.tab:2: entry \"media\": conns \"0\" is not in 1..16
$W/bad.tab:3: entry \"disk\": duplicate name (first at line 1)
$W/bad.tab:3: entry \"disk\": unknown option \"fast\" (use conns=N, ro, dead_timeout=S, noauto, server_key=KEY or cache=SIZE)
netdiskctl: nothing attached"
is "... no device" "$(ndevs) [$out]" "0 []"
run netdiskctl attach -t $W/bad.tab disk
is "attach NAME of a good entry of a bad table: exit 11, no device" \
    "$st $(ndevs)" "11 0"

# names the module refuses (the shell's echo: the key in no process's
# arguments)
for name in a/b abcdefghijklmnopqrstuvwxyz012345 ""; do
	log_mark
	echo "address=127.0.0.1 port=$PORT export=ro key=$(cat key) name=$name" \
	    2>$W/add.err >/sys/bus/netdisk/add
	st=$?
	like "name=\"$name\" written to /sys/bus/netdisk/add: EINVAL" \
	    "$st $(cat $W/add.err)" "^[1-9][0-9]* .*Invalid argument"
	like "... the kernel log says why" \
	    "$(log_since | grep 'netdisk: add: name')" \
	    "netdisk: add: name must have 1 to 31 characters of A-Z a-z 0-9 \\. _ -"
done
is "... no device" "$(ndevs)" 0

# ---- overlay exports: two identities, ext4 on each, detach and attach
# again; an ephemeral overlay (guest-overlay.sh)
. /guest-overlay.sh

# ---- protocol version 3: the server's static key (the key pair of
# t/vectors/v3.txt) pinned with netdiskctl attach --server-key (server_pub=
# in the add line), and with server_pub= written by the shell
t3=$(now)
vec() {
	sed -n "s/^$1 = //p" /v3.txt
}
# v3_conf [MIN_VERSION]: netdisk.conf with server_key (and min_version)
v3_conf() {
	{
		conf_global "127.0.0.1, [::1]"
		echo "server_key = server.key"
		test -n "$1" && echo "min_version = $1"
		sed -n '/^\[demo\]/,$p' netdisk.conf
	} >netdisk.conf.new && mv netdisk.conf.new netdisk.conf
}
# add_line LINE: written to /sys/bus/netdisk/add by the shell's echo (no
# process has the key in its arguments); status in $st, error in add.err
add_line() {
	echo "$1" 2>$W/add.err >/sys/bus/netdisk/add
	st=$?
}
(umask 077 && vec server_static_priv >server.key)
cat server.key >>keys.pat
spub=$(vec server_static_pub)
netdiskctl pubkey server.key >server.pub
is "v3: netdiskctl pubkey of the vectors' server key" "$(cat server.pub)" "$spub"
log_mark
add_line "address=127.0.0.1 port=$PORT export=ro key=$(cat key) server_pub=$spub"
like "v3 to a netdiskd without server_key: EPROTONOSUPPORT, no fallback to v2" \
    "$st $(ndevs) $(cat $W/add.err)" "^[1-9][0-9]* 0 .*Protocol not supported"
like "... the kernel log says why" "$(log_since | grep 'netdisk')" \
    "protocol version 3 refused: server speaks 2\\.\\.2 \\(the server has no static key; with server_pub, version 3 only\\)"
kill_server TERM
v3_conf
start_server
log_mark
run netdiskctl attach -k key --server-key server.pub --conns 2 $URI/demo
is "v3: netdiskctl attach --server-key to a netdiskd with server_key: netdisk0" \
    "$st $out $(ndevs)" "0 /dev/netdisk0 1" || show
is "... sysfs: server_pub" "$(attr netdisk0 server_pub)" "$spub"
is "... kernel log: attached, protocol 3" \
    "$(log_since | grep -o 'netdisk0: attached.*')" \
    "netdisk0: attached 127.0.0.1:$PORT/demo protocol 3"
write_back 16 1
# netdiskd restarted with min_version = 3: a reconnect can only be v3
kill_server TERM
v3_conf 3
start_server
check "... netdiskd restarted with min_version = 3: both connections back" \
    wait_until 30 all_back 1 || diag "reconnects $(attr netdisk0 reconnects) state $(attr netdisk0 state)"
is "... the data read back after the reconnect" "$(sha_dev /dev/netdisk0 16 1)" "$want"
write_back 20 1
log_mark
run netdiskctl attach -k key --ro $URI/ro
check "min_version = 3: a v2 attach (no server key) fails, no device" \
    test $st != 0 -a "$(ndevs)" = 1
diag "netdiskctl: $err"
like "... the kernel log says the server needs version 3" \
    "$(log_since | grep 'netdisk')" \
    "protocol version 2 refused: server speaks 3\\.\\.3 \\(the server needs version 3"
log_mark
add_line "address=127.0.0.1 port=$PORT export=ro key=$(cat key) server_pub=$(vec client_eph_pub)"
like "another valid key as server_pub: the write fails with EKEYREJECTED" \
    "$st $(cat $W/add.err)" "^[1-9][0-9]* .*Key was rejected by service"
like "... the kernel log names server_pub" "$(log_since | grep 'netdisk: 127')" \
    "netdisk: 127\\.0\\.0\\.1:$PORT/ro: authentication failed \\(wrong key, no such export or wrong server_pub\\)"
is "... no device" "$(ndevs)" 1
z=0000000000000000000000000000000000000000000000000000000000000000
for c in "$z:is not a valid X25519 public key (a low-order point, such as all zeros)" \
    "$(echo $z | tr 0 g):is not hexadecimal" "abc:has 3 characters, not 64 hex digits"; do
	log_mark
	add_line "address=127.0.0.1 port=$PORT export=ro key=$(cat key) server_pub=${c%%:*}"
	like "server_pub=${c%%:*}: EINVAL" "$st $(cat $W/add.err)" \
	    "^[1-9][0-9]* .*Invalid argument"
	is "... the kernel log says why" \
	    "$(log_since | grep -o 'netdisk: add: server_pub.*')" \
	    "netdisk: add: server_pub ${c#*:}"
done
is "... no device" "$(ndevs)" 1
run netdiskctl detach netdisk0
check "detach the v3 device" test $st = 0 -a "$(ndevs)" = 0 || show
diag "protocol version 3 checks: $(since "$t3") s"

run rmmod netdisk
check "rmmod netdisk" test $st = 0 -a ! -d /sys/module/netdisk || show
check "no key in the kernel log, sysfs, /proc/*/cmdline or environ (the end)" \
    key_leaks "the end"
bad=$(attach_balance)
is "every attached line of the kernel log has its detached line" "$bad" ""
diag "netdisk lines of the kernel log:"
dmesg | grep -E 'netdisk[0-9]*:' | grep -v 'taint' | sed 's/^/  /' >$W/klog
diag_file $W/klog 40
finish
