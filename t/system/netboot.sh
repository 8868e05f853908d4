#!/bin/bash
# SPDX-License-Identifier: ISC
# netboot.sh - network boot with initramfs-tools (docs/netboot.md): a
# Debian 12 root file system with systemd and initramfs-tools
# (debootstrap, cached by t/system/systemd-rootfs.sh), the kernel of one
# series of t/kernel/fetch-kernels.sh with its modules and netdisk.ko, the
# hook and boot script of etc/initramfs-tools installed as the Debian
# package puts them, an initramfs made by mkinitramfs in a chroot into
# that root, and the root as an ext4 image served by netdiskd on the
# host's loopback.  QEMU (TCG, user-mode network: the guest reaches the
# host's 127.0.0.1 as 10.0.2.2) boots it with
#   root=/dev/netdisk0 netdisk=netdisk://10.0.2.2:PORT/root ip=dhcp
# as two machines of one overlay export (the second with
# root=LABEL=netboot, the file system's label), with netdiskd restarted
# under them and a reboot in place, and once from a virtio disk (the
# lower half, "the server" on, says how).
#
# Needs root (chroot, mkinitramfs), debootstrap and a Debian mirror the
# first time (skipped when the root cannot be built, e.g. offline),
# mkfs.ext4 with -d.  make check runs it once per series
# (t/system/netboot-6.1.sh, netboot-6.12.sh); each series boots both
# initramfs flavours, guest a with one, guest b with the other.
# Environment: NETDISK_NETBOOT_INITRD (guest a's: initramfs-tools, the default, or
# dracut: t/system/netboot-initrd.sh), NETDISK_NETBOOT_SERIES (default
# 6.12), NETDISK_NETBOOT_LIMIT (seconds for each QEMU run, default 900),
# NETDISK_CACHE (the
# root's cache folder, default /var/cache/netdisk-ktest), and those of
# t/kernel/lib.sh.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
NETDISK_KERNEL_SERIES=${NETDISK_NETBOOT_SERIES:-6.12}
# shellcheck source=netboot-initrd.sh
. "$top_srcdir/t/system/netboot-initrd.sh"
# shellcheck source=../kernel/lib.sh
. "$top_srcdir/t/kernel/lib.sh"

limit=${NETDISK_NETBOOT_LIMIT:-900}
s=${KT_SERIES[0]}
test "$(id -u)" = 0 || kt_skip "needs root (chroot, $nbi_tool)"
for t in debootstrap mkfs.ext4 chroot unshare depmod; do
	command -v "$t" >/dev/null 2>&1 || kt_skip "$t not found"
done
kt_start
line=$(awk -v s="$s" '$1 == s' "$T/kernels")
test -n "$line" || kt_skip "no kernel of series $s (fetch-kernels.sh: $(tail -n 1 "$T/fetch.err"))"
read -r _ ver vmlinuz kdir moddir <<<"$line"

# ---------------------------------------------------------------- the root
# The Debian packages of the shared libraries netdiskctl uses, as the
# host's dpkg names them (the guest's root is the same release), so that
# a new library of the build reaches the root.
lib_packages() {
	local p

	for p in $(ldd "$top_builddir/src/netdiskctl/netdiskctl" |
	    awk '$3 ~ /^\// { print $3 }'); do
		dpkg -S "$p" 2>/dev/null || dpkg -S "$(readlink -f "$p")"
	done | cut -d: -f1 | sort -u
}

# cached_root: the path of the cached root of $nbi_tool, made if missing.
cached_root() {
	local c=${NETDISK_CACHE:-/var/cache/netdisk-ktest}/$(nbi_rootfs_name)
	local libs

	libs=$(lib_packages) && test -n "$libs" || {
		echo "cannot find the packages of netdiskctl's libraries" \
		    >"$T/rootfs.log"
		return 1
	}
	# shellcheck disable=SC2046,SC2086
	"$top_srcdir/t/system/systemd-rootfs.sh" "$c" $(nbi_packages) udev \
	    e2fsprogs kmod $libs >"$T/rootfs.log" 2>&1 || return 1
	echo "$c"
}
t0=$(kt_now)
rootfs=$(cached_root) ||
    kt_skip "no Debian root file system (offline?): $(tail -n 1 "$T/rootfs.log")"
tap_diag "the Debian root: $(kt_elapsed "$t0") s"

kt_build "$s" "$ver" "$kdir" || { kt_end; exit; }

R=$T/root
key=/etc/netdisk/root.key
# root_setup ROOT CACHED: the guest's root in ROOT, from the cached one.
root_setup() {
	local R=$1 rootfs=$2

	cp -a "$rootfs" "$R" &&
	    mkdir -p "$R/lib/modules" "$R/etc/netdisk" "$R/var/lib" &&
	    cp -a "$moddir" "$R/lib/modules/" &&
	    install -D -m 644 "$kt_ko" "$R/lib/modules/$ver/updates/netdisk.ko" &&
	    depmod -b "$R" "$ver" &&
	    cp "${vmlinuz%/*}/config-$ver" "$R/boot/" &&
	    install -m 755 "$top_builddir/src/netdiskctl/netdiskctl" "$R/usr/sbin/" &&
	    install -m 600 "$ND_KEY" "$R$key" &&
	    nbi_install "$R" &&
	    echo "/dev/netdisk0 / ext4 defaults 0 1" >"$R/etc/fstab" &&
	    echo netboot >"$R/etc/hostname" &&
	    install -m 755 "$top_srcdir/t/system/netboot-guest.sh" "$R/netboot-guest.sh" &&
	    printf '%s\n' '[Unit]' 'Description=netdisk network boot test' \
	    'After=multi-user.target' '[Service]' 'Type=oneshot' \
	    'ExecStart=/bin/sh /netboot-guest.sh' 'StandardOutput=journal' \
	    '[Install]' 'WantedBy=multi-user.target' \
	    >"$R/etc/systemd/system/netboot-test.service" &&
	    ln -s /etc/systemd/system/netboot-test.service \
	    "$R/etc/systemd/system/multi-user.target.wants/"
}
make_key "$ND_KEY" || bail_out "netdiskctl genkey failed"
tap_ok "the guest's root: the cached one, the $ver modules, netdisk.ko, netdiskctl, netdisk's $nbi_tool files" \
    root_setup "$R" "$rootfs" || { tap_diag_file "$T/err"; kt_end; exit; }

nbi_make "$R" "$ver" || { kt_end; exit; }

# The other flavour's initramfs, for guest b: made in a root of its own
# (Debian's dracut and initramfs-tools conflict), it boots the same root
# image, so that each series boots both flavours.
nbi_main=$nbi_tool
case $nbi_main in
initramfs-tools) nbi_tool=dracut ;;
*) nbi_tool=initramfs-tools ;;
esac
mv "$T/initrd.img" "$T/initrd-main.img"
t0=$(kt_now)
rootfs_b=$(cached_root) ||
    kt_skip "no Debian root file system for $nbi_tool (offline?): $(tail -n 1 "$T/rootfs.log")"
tap_diag "the Debian root with $nbi_tool: $(kt_elapsed "$t0") s"
tap_ok "b's initramfs: a root with $nbi_tool, the $ver modules, netdisk.ko, netdiskctl, netdisk's $nbi_tool files" \
    root_setup "$T/root-b" "$rootfs_b" || { tap_diag_file "$T/err"; kt_end; exit; }
nbi_make "$T/root-b" "$ver" || { kt_end; exit; }
rm -rf "$T/root-b"
mv "$T/initrd.img" "$T/initrd-other.img"
mv "$T/initrd-main.img" "$T/initrd.img"
nbi_other=$nbi_tool
nbi_tool=$nbi_main

# ---------------------------------------------------------------- the server
# The root image is the base of an overlay export with two client
# identities, a and b; one QEMU run after the other, -smp 1 each:
#   a   boots (netdiskd killed and restarted 5 s after the attach), runs a
#       write+fsync+O_DIRECT read loop while netdiskd is killed and
#       restarted again, writes a mark, "systemctl reboot": the same QEMU
#       boots again (netdisk.ko's reboot notifier ended the first session
#       with DISCONNECT, so the attach is not busy), finds the mark,
#       "systemctl poweroff" (timed to QEMU's exit);
#   b   with the other flavour's initramfs and root=LABEL=netboot: boots,
#       writes its file, does not see a's mark, reboots in place, finds
#       its file, powers off;
#   the same image on a virtio disk (snapshot=on): the ratio of the boot
#       times.
# The root as an ext4 image, the base of the overlay export "root"; two
# client identities: a (the key the hook put in the initramfs) and b (a
# key of its own, in a cpio archive put before b's initramfs, as early
# microcode is, and named by the option key= of netdisk=).  fstab names the root by label: the same image also
# boots from a virtio disk.
echo "LABEL=netboot / ext4 defaults 0 1" >"$R/etc/fstab"
truncate -s 2G "$T/root.img"
tap_ok "mkfs.ext4 -d: the root as an image" \
    mkfs.ext4 -q -F -L netboot -d "$R" "$T/root.img"
rm -rf "$R"
base_sha=$(sha256sum <"$T/root.img" | cut -d' ' -f1)
mkdir -m 700 "$T/clients" "$T/ovl" "$T/kb" "$T/kb/etc" "$T/kb/etc/netdisk" &&
    install -m 600 "$ND_KEY" "$T/clients/a.key" &&
    make_key "$T/clients/b.key" && make_key "$T/global.key" &&
    install -m 600 "$T/clients/b.key" "$T/kb/etc/netdisk/b.key" ||
    bail_out "cannot make the identities' keys"
(cd "$T/kb" && find . | cpio -o -H newc -R 0:0 --quiet) >"$T/b.cpio" &&
    cat "$T/b.cpio" "$T/initrd-other.img" >"$T/initrd-b.img" ||
    bail_out "cannot make b's initramfs"
conf=$T/netdisk.conf
write_conf "$conf" -keyfile "keyfile=$T/global.key" "clients_dir=$T/clients"
add_export "$conf" root path="$T/root.img" overlay_dir="$T/ovl" "clients=a b"
start_netdiskd "$conf"

# ---------------------------------------------------------------- the guests
con=$KT_OUT/logs/netboot-$s.console
res=$KT_OUT/logs/netboot-$s.results
declare -A pid rs secs
# guest NAME CMDLINE INITRD [QEMU-OPTION...]: QEMU in the background, in
# a subshell ($pid[NAME]) that writes QEMU's status, its seconds and the
# time it ended to $T/end.NAME; its console in $con.NAME, its result
# lines in $res.NAME.  The time the guest's kernel says "reboot: Power
# down" goes to $T/down.NAME.  A QEMU still running 10 s after that
# (seen under TCG with -smp 1: the vCPU keeps running after the ACPI
# power off) is stopped, and its status counts as 0.
# Guests beside other QEMU guests were seen stuck for 20 to 100 s, mostly
# in clear_page (docs/netboot.md, Tests).  What it costs can be cut: the
# first write to a page of guest RAM is a page fault of QEMU's on the
# host, and the test machines took 16 s to fault in 1 GiB; so QEMU faults
# all of it in before the guest starts (-mem-prealloc), and the guests
# clear fewer pages (init_on_alloc=0) more quickly (no ERMS: under TCG
# "rep stosb" goes one byte at a time).  The ratio of boot times
# compares guests with the same settings.
# Even alone, a guest stalled for 20 to 45 s ("BUG: soft lockup") while
# one other test ran on the 2 CPUs (the same guests passed with none):
# QEMU runs at nice -10 (NETDISK_NETBOOT_NICE), ahead of the other
# tests of a parallel make check, which get the CPUs it leaves.
qemu_nice=${NETDISK_NETBOOT_NICE:--10}
guest() {
	local n=$1 cmdline=$2 initrd=$3 t0

	down_seen() {
		if ! test -f "$T/down.$n" &&
		    grep -aq 'reboot: Power down' "$con.$n"; then
			kt_now >"$T/down.$n"
		fi
	}

	shift 3
	: >"$con.$n"
	: >"$res.$n"
	t0=$(kt_now)
	(
		nice -n "$qemu_nice" timeout -k 5 "$limit" qemu-system-x86_64 -accel tcg -cpu max,-erms \
		    -m 1024 -mem-prealloc -smp 1 -nodefaults -nographic \
		    -netdev user,id=n0 -device virtio-net-pci,netdev=n0 \
		    -serial "file:$con.$n" -serial "file:$res.$n" "$@" \
		    -kernel "$vmlinuz" -initrd "$initrd" \
		    -append "console=ttyS0 panic=5 init_on_alloc=0 $cmdline" \
		    </dev/null >"$T/qemu.$n" 2>&1 &
		q=$!
		while kill -0 $q 2>/dev/null; do
			down_seen
			if test -f "$T/down.$n" && awk -v d="$(cat "$T/down.$n")" \
			    -v now="$(kt_now)" 'BEGIN { exit !(now - d > 10) }'; then
				echo "QEMU still ran 10 s after the guest's power down: stopped" >>"$T/qemu.$n"
				kill $q
				break
			fi
			sleep 0.5
		done
		wait $q
		st=$?
		down_seen
		grep -q 'after the guest.s power down: stopped' "$T/qemu.$n" && st=0
		echo "$st $(kt_elapsed "$t0") $(kt_now)" >"$T/end.$n"
	) &
	pid[$n]=$!
	track_pid $!
}
# await NAME FILE REGEX SECONDS: until a line of FILE matches REGEX (0),
# or the guest NAME ends, or SECONDS pass (1).  A guest whose kernel
# panicked or that drops to the initramfs shell, or a that starts a third
# boot, is stopped: panic=5 would boot it again and again.
await() {
	local end=$(($(date +%s) + $4))

	until tr -d '\r' <"$2" | grep -aqE -- "$3"; do
		if ! pid_alive "${pid[$1]}" || test "$(date +%s)" -ge $end; then
			return 1
		fi
		if grep -aqE 'Kernel panic|\(initramfs\)' "$con.$1" ||
		    test "$(grep -ac 'reboot: Restarting system' "$con.$1")" -gt 1; then
			tap_diag "$s: $1 panicked, dropped to the initramfs shell or booted a third time: stopped"
			pkill -P "${pid[$1]}" timeout
			return 1
		fi
		sleep 0.2
	done
}
# restart_netdiskd WHY: SIGKILL, 2 s without a server, the same
# configuration and port again.
restart_netdiskd() {
	kill -KILL "$ND_PID" && wait "$ND_PID" 2>/dev/null
	sleep 2
	echo "---- netdiskd restarted: $1" >>"$ND_LOG"
	start_netdiskd "$conf" {kt_lock_fd}>&-
	restarts="$restarts, $1"
}
# finish NAME: wait for the guest; QEMU's status in rs[NAME], its seconds
# in secs[NAME], the time it ended in end_at.
finish() {
	local line

	wait "${pid[$1]}"
	line=$(cat "$T/end.$1" 2>/dev/null)
	read -r "rs[$1]" "secs[$1]" end_at <<<"${line:-255 ? 0}"
}
problems='WARNING:|BUG:|Oops|Kernel panic|hung_task'
# report NAME WHAT: the run's result lines as TAP, and the run.
report() {
	local n=$1

	tr -d '\r' <"$res.$n" >"$T/results.$n"
	kt_results "$s" "$T/results.$n"
	if test "${rs[$n]}" = 0 && test $kt_done = yes; then
		tap_pass "$s: $n: $2 (${secs[$n]} s)"
	else
		tap_fail "$s: $n: $2" \
		    "qemu exited with status ${rs[$n]} after ${secs[$n]} s (124: timeout)" \
		    "the guest script $(test $kt_done = yes && echo "got to its end" ||
		    echo "stopped after $kt_checks checks")" "console log: $con.$n"
		tap_diag_file "$T/qemu.$n"
		tr -d '\r' <"$con.$n" >"$T/con"
		tap_diag_file "$T/con" 60
	fi
	if ! tap_is "$s: $n: no kernel warning, oops or BUG on the console" \
	    "$(grep -acE "$problems" "$con.$n")" 0; then
		# what the kernel said, and what led to it
		tr -d '\r' <"$con.$n" | grep -aE -B 8 -A 40 -m 3 "$problems" |
		    head -n 150 | sed 's/^/#   /'
	fi
}
# mounted_at NAME WHICH: the same, the uptime when the root was mounted.
mounted_at() {
	test -f "$res.$1" && tr -d '\r' <"$res.$1" | sed -n 's/^# .*: the root mounted after \([0-9.]*\) s of uptime$/\1/p' |
	    sed -n "${2}p"
}
# ratio A B: A / B, two decimals (A and B awk expressions).
ratio() {
	awk "BEGIN { printf \"%.2f\", ($1) / ($2) }"
}
# uptime_at NAME WHICH: the uptime of the guest's WHICH boot at
# multi-user.target, from its result lines.
uptime_at() {
	test -f "$res.$1" && tr -d '\r' <"$res.$1" | sed -n 's/^# .*: multi-user.target after \([0-9.]*\) s of uptime$/\1/p' |
	    sed -n "${2}p"
}

nd=netdisk=netdisk://10.0.2.2:$ND_PORT/root
restarts=""
# No other test's guest runs beside these (kt_guests_lock), and they run
# one after the other.
kt_guests_lock exclusive
t_all=$(kt_now)
guest a "root=/dev/netdisk0 rw $nd ip=dhcp netboot.role=a" "$T/initrd.img"
# netdiskd killed while a boots: a few seconds after the attach, about
# when the initramfs hands over to systemd.
if await a "$con.a" 'attached as /dev/netdisk0' 600; then
	sleep 5
	restart_netdiskd "5 s after a's attach"
fi
# ... and while a runs its write loop.
if await a "$res.a" '^# loop start' 600; then
	sleep 5
	restart_netdiskd "during a's write loop"
fi
log_at_reboot=0
await a "$res.a" '^# rebooting' 600 && log_at_reboot=$(wc -l <"$ND_LOG")
poweroff_secs=""
if await a "$res.a" '^# powering off' 600; then
	t_off=$(kt_now)
	finish a
	test -f "$T/down.a" && poweroff_secs=$(awk -v a="$t_off" -v b="$(cat "$T/down.a")" \
	    'BEGIN { printf "%.1f", b - a }')
	tap_diag "$s: a: QEMU ended $(awk -v a="$t_off" -v b="$end_at" 'BEGIN { printf "%.1f", b - a }') s after systemctl poweroff"
else
	finish a
fi
# b, after a: a's mark is in a's overlay when b looks for it.
guest b "root=LABEL=netboot rw $nd,key=/etc/netdisk/b.key ip=dhcp netboot.role=b" \
    "$T/initrd-b.img"
finish b
# The local disk, for the ratio of boot times (one series is enough for
# the figure: NETDISK_NETBOOT_LOCAL, default the 6.12 one).
case " ${NETDISK_NETBOOT_LOCAL:-6.12} " in
*" $s "*)
	guest local "root=/dev/vda rw netboot.role=local" "$T/initrd.img" \
	    -drive "file=$T/root.img,format=raw,if=virtio,snapshot=on" -no-reboot
	finish local
	;;
esac
kill -TERM "$ND_PID"
wait "$ND_PID" 2>/dev/null
kt_guests_unlock
tap_diag "$s: netdiskd restarted${restarts#,}; the guests took $(kt_elapsed "$t_all") s"

# ---------------------------------------------------------------- the checks
report a "boots from netdisk twice with $nbi_main's initramfs (a reboot in place), powers off"
report b "boots from netdisk twice with $nbi_other's initramfs (a reboot in place), powers off"
test -n "${pid[local]:-}" && report local "boots from the image on a virtio disk, powers off"
tap_is "$s: a: the mark written before the reboot read back after it" \
    "$(grep '^# mark ' "$T/results.a" 2>/dev/null | sort | uniq -c | awk '{ print $1 }')" 2
tap_is "$s: a: the boot script attached /dev/netdisk0 at each boot" \
    "$(grep -ac 'netdisk: netdisk://10.0.2.2:[0-9]*/root attached as /dev/netdisk0' "$con.a")" 2
tap_is "$s: a: netdisk.ko disconnected at the reboot and at the power off" \
    "$(tr -d '\r' <"$con.a" | grep -ac 'netdisk0: system going down: 1 of 1 connections disconnected, 0 requests unanswered')" 2
tap_is "$s: b: the mark written before the reboot read back after it" \
    "$(grep '^# bmark ' "$T/results.b" 2>/dev/null | sort | uniq -c | awk '{ print $1 }')" 2
tap_is "$s: b: netdisk.ko disconnected at the reboot and at the power off" \
    "$(tr -d '\r' <"$con.b" | grep -ac 'netdisk0: system going down: 1 of 1 connections disconnected, 0 requests unanswered')" 2
# The server's side of the reboot: a's first session ended by its
# DISCONNECT, and the second boot's attach was never refused as busy.
tail -n +"$((log_at_reboot + 1))" "$ND_LOG" >"$T/log.reboot"
peer_a=$(head -n "$log_at_reboot" "$ND_LOG" |
    grep 'authenticated: export "root" .* identity "a"' | tail -n 1 | awk '{ print $2 }')
closed_at=$(grep -nF "$peer_a closed: client disconnected" "$T/log.reboot" | head -n 1 | cut -d: -f1)
auth_at=$(grep -n 'authenticated: export "root" .* identity "a"' "$T/log.reboot" | head -n 1 | cut -d: -f1)
tap_is "$s: netdiskd: a's first session ended with DISCONNECT before its second boot's session" \
    "$(test -n "$closed_at" && test -n "$auth_at" && test "$closed_at" -lt "$auth_at" && echo yes)" yes ||
    tap_diag_file "$T/log.reboot"
tap_is "$s: netdiskd: no attach refused as busy, no session closed without DISCONNECT" \
    "$(grep -cE 'busy: held by|closed: client closed the connection' "$ND_LOG")" 0 ||
    grep -E 'busy: held by|closed: client closed' "$ND_LOG" | head -n 5 | sed 's/^/# /'
tap_like "$s: poweroff: from a's systemctl poweroff to the kernel's power down within 60 s" \
    "${poweroff_secs:-none}" '^([0-9]|[1-5][0-9])\.[0-9]$'
tap_is "$s: the base image is unchanged" \
    "$(sha256sum <"$T/root.img" | cut -d' ' -f1)" "$base_sha"
tap_ok "$s: an overlay for each identity" test -f "$T/ovl/a.ovl" -a -f "$T/ovl/b.ovl"
up_nd=$(uptime_at a 2)
up_local=$(uptime_at local 1)
mnt_nd=$(mounted_at a 2)
mnt_local=$(mounted_at local 1)
if test -n "$up_nd" && test -n "$up_local" && test -n "$mnt_nd" && test -n "$mnt_local"; then
	tap_diag "$s: boot to multi-user.target (uptime; one guest at a time, -smp 1): netdisk $up_nd s, local virtio disk $up_local s, ratio $(ratio "$up_nd" "$up_local");" \
	    "from the root's mount to multi-user.target: netdisk $(ratio "$up_nd - $mnt_nd" 1) s, local $(ratio "$up_local - $mnt_local" 1) s, ratio $(ratio "$up_nd - $mnt_nd" "$up_local - $mnt_local")"
fi
tap_diag "$s: a's first boot (with the restart) $(uptime_at a 1) s, b $(uptime_at b 1) s; poweroff ${poweroff_secs:-?} s"
kt_end
