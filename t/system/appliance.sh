#!/bin/bash
# SPDX-License-Identifier: ISC
# appliance.sh - the netdisk appliance (docs/appliance.md): two images
# built by contrib/appliance/build.sh (what `make appliance` runs), with
# an SSH key of this test's; the first boots under QEMU (TCG) with a blank
# data disk.  From the host, through QEMU's user-mode port forwarding to
# 127.0.0.1, the test follows the console's message: it fetches the key
# with the SSH command shown there and uses the example export with
# netdiskctl info, write, read and copy.  Over SSH it checks what listens
# and the firewall, adds an export to /etc/netdisk.conf and reloads while
# a client of the example export runs, and restarts the new export.  Then
# the appliance reboots, powers off, and the second image boots with the
# same data disk: the key, the SSH host key, the configuration and the
# data of both exports are the same each time.
#
# Needs root (build.sh: a loop device), vmdb2, debootstrap,
# dpkg-buildpackage, QEMU, ssh and a Debian mirror (the image's packages;
# the Debian root is cached for 7 days).  Skipped with
# NETDISK_KERNEL_TESTS=0 (contrib/check.sh runs it in its werror build
# only) and in a sanitizer build.
# Environment: NETDISK_APPLIANCE_LIMIT (seconds for each QEMU run,
# default 900), NETDISK_APPLIANCE_NICE (QEMU's nice, default -10, as for
# the boot test: a systemd guest under TCG stalls when other work shares
# its CPU), and build.sh's NETDISK_APPLIANCE_*.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=../kernel/lib.sh
. "$top_srcdir/t/kernel/lib.sh"

limit=${NETDISK_APPLIANCE_LIMIT:-900}
qemu_nice=${NETDISK_APPLIANCE_NICE:--10}
test "${NETDISK_KERNEL_TESTS:-1}" != 0 ||
    kt_skip "NETDISK_KERNEL_TESTS=0 (QEMU guests run in one build only)"
grep -q -- '--enable-sanitizers' "$top_builddir/config.status" 2>/dev/null &&
    kt_skip "a sanitizer build (the appliance is tested in the others)"
test "$(id -u)" = 0 || kt_skip "needs root (a loop device for the image)"
for t in vmdb2 debootstrap dpkg-buildpackage qemu-system-x86_64 ssh ssh-keygen; do
	command -v "$t" >/dev/null 2>&1 || kt_skip "$t not found (contrib/deps.sh)"
done
command -v steady >/dev/null 2>&1 || kt_skip "t/steady is not built"
read -r -a KT_SERIES <<<"${NETDISK_APPLIANCE_SERIES:-6.12}"
kt_start mkfs.ext4 e2fsck
line=$(awk -v s="${KT_SERIES[0]}" '$1 == s' "$T/kernels")
test -n "$line" ||
    kt_skip "no kernel of series ${KT_SERIES[0]} (fetch-kernels.sh: $(tail -n 1 "$T/fetch.err"))"
read -r series kver vmlinuz kdir moddir <<<"$line"

# ---------------------------------------------------------------- build
ssh-keygen -q -t ed25519 -N '' -C "appliance.sh" -f "$T/id" ||
    bail_out "ssh-keygen failed"
# build N: image N, with this test's SSH key.
build() {
	local t0 st

	t0=$(kt_now)
	"$top_srcdir/contrib/appliance/build.sh" -b "$top_builddir" \
	    -o "$T/system$1.img" -k "$T/id.pub" >"$T/build$1.log" 2>&1
	st=$?
	tap_is "build.sh builds image $1" $st 0 || {
		tap_diag_file "$T/build$1.log" 30
		test ! -f "$T/system$1.img.log" ||
		    grep -v DEBUG "$T/system$1.img.log" | tail -20 | sed 's/^/# /'
		bail_out "no image"
	}
	tap_diag "image $1: $(kt_elapsed "$t0") s; $(tail -1 "$T/build$1.log")"
}
build 1
build 2
truncate -s 2G "$T/data.img"
# The client guest's netdisk.ko (its initramfs needs the appliance's key).
kt_build "$series" "$kver" "$kdir"

# ---------------------------------------------------------------- guests
# Four ports: netdiskd's and SSH's forwarded, the two ends of the socket
# network (UDP).
ports=()
while test ${#ports[@]} -lt 4; do
	p=$(free_port) || bail_out "no free port"
	case " ${ports[*]} " in *" $p "*) continue ;; esac
	ports+=("$p")
done
p_nd=${ports[0]} p_ssh=${ports[1]} p_app=${ports[2]} p_cli=${ports[3]}
U=netdisk://127.0.0.1:$p_nd
kt_guests_lock exclusive

# boot N IMAGE: QEMU in the background (its PID in qemu[N]), the console
# in $T/console.N.
boot() {
	: >"$T/console.$1"
	nice -n "$qemu_nice" timeout -k 5 "$limit" qemu-system-x86_64 \
	    -accel tcg -cpu max -m 512 -smp 1 -nodefaults -nographic \
	    -drive "file=$2,format=raw,if=virtio" \
	    -drive "file=$T/data.img,format=raw,if=virtio" \
	    -netdev "user,id=n0,hostfwd=tcp:127.0.0.1:$p_nd-:26547,hostfwd=tcp:127.0.0.1:$p_ssh-:22" \
	    -device virtio-net-pci,netdev=n0 \
	    -netdev "socket,id=n1,udp=127.0.0.1:$p_cli,localaddr=127.0.0.1:$p_app" \
	    -device virtio-net-pci,netdev=n1,mac=52:54:00:4e:44:01 \
	    -serial "file:$T/console.$1" </dev/null >"$T/qemu.$1" 2>&1 &
	qemu[$1]=$!
	track_pid $!
	boot_t0=$(kt_now)
}

# banner N COUNT: until the console of run N shows the COUNTth message of
# netdisk-banner.service (0), or QEMU ends or 600 s pass (1).
banner() {
	local i

	for ((i = 0; i < 1200; i++)); do
		test "$(grep -ac 'banner.sh\[[0-9]*\]:   configuration:' "$T/console.$1")" -ge "$2" &&
		    return 0
		kill -0 "${qemu[$1]}" 2>/dev/null || return 1
		sleep 0.5
	done
	return 1
}

# poweroff N DESC: systemctl poweroff over SSH; one TAP line: QEMU of run
# N ends with status 0 within 120 s.
poweroff() {
	on systemctl poweroff
	wait_pid_status "${qemu[$1]}" 120
	tap_is "$2" $? 0
}

# said N WHAT: the last value of the console message's line "WHAT:".
said() {
	sed -n "s/.*banner.sh\[[0-9]*\]:   $2: *//p" "$T/console.$1" | tail -1 | tr -d '\r'
}

on() {
	ssh -n -q -p "$p_ssh" -i "$T/id" -o BatchMode=yes -o ConnectTimeout=20 \
	    -o StrictHostKeyChecking=accept-new \
	    -o UserKnownHostsFile="$T/known_hosts" root@127.0.0.1 "$@"
}

# fetch_key FILE N: the key, with the command the console of run N shows
# ("ssh root@ADDRESS COMMAND >netdisk.key"), through the forwarded port.
fetch_key() {
	local cmd

	cmd=$(said "$2" "the key")
	cmd=${cmd#ssh root@* }
	cmd=${cmd% >netdisk.key}
	on "$cmd" >"$1" && chmod 600 "$1"
}

console_diag() {
	tap_diag "console of run $1, the end:"
	grep -av '^\[ *[0-9.]*\] ' "$T/console.$1" | tail -40 | sed 's/^/# /'
}

# ---------------------------------------------------------------- first boot
boot 1 "$T/system1.img"
banner 1 1
tap_is "first boot: the console says where the appliance serves" $? 0 || {
	console_diag 1
	bail_out "the appliance did not come up"
}
tap_diag "first boot to serving (the message): $(kt_elapsed "$boot_t0") s"
tap_ok "the blank data disk was prepared" \
    grep -aq 'making the data file system on the blank disk /dev/vdb' "$T/console.1"
tap_is "the console names the example export" "$(said 1 example)" \
    "netdisk://10.0.2.15/example"
tap_like "the console tells how to fetch the key" "$(said 1 "the key")" \
    '^ssh root@10\.0\.2\.15 cat /etc/netdisk/netdisk\.key >netdisk\.key$'
tap_ok "the key, fetched as the console says" fetch_key "$T/key" 1
tap_ok "... is 64 hex digits" grep -Eqx '[0-9a-f]{64}' "$T/key"

k=(-k "$T/key")
netdiskctl info "${k[@]}" "$U/example" >"$T/info" 2>&1
tap_is "netdiskctl info of the example export" $? 0 || tap_diag_file "$T/info"
tap_ok "... 64 MiB, writable" sh -c \
    'grep -qx "size: 67108864 (64 MiB)" "$1" && grep -qx "readonly: no" "$1"' sh "$T/info"
random_file "$T/mark" 1048576
tap_ok "netdiskctl write 1 MiB at 48 MiB" netdiskctl write "${k[@]}" "$U/example" 50331648 <"$T/mark"
netdiskctl read "${k[@]}" "$U/example" 50331648 1048576 >"$T/back"
tap_is "netdiskctl read gives it back" "$(sha_of "$T/back")" "$(sha_of "$T/mark")"
netdiskctl copy "${k[@]}" --no-progress "$U/example" "$T/copy.img" >"$T/copy.log" 2>&1
tap_is "netdiskctl copy of the whole export" $? 0 || tap_diag_file "$T/copy.log"
tap_is "... holds it at 48 MiB" "$(sha_of "$T/copy.img" 50331648 1048576)" "$(sha_of "$T/mark")"
random_keys "$T/wrong" 1
tap_ok "a wrong key gets nothing" sh -c '! netdiskctl info -k "$1" "$2" >/dev/null 2>&1' \
    sh "$T/wrong" "$U/example"

# Listening on other addresses than loopback: SSH and netdiskd only.
on ss -Htln >"$T/tcp" && on ss -Huln >"$T/udp"
tap_is "over SSH: the listening sockets" $? 0
outside() {
	awk '{ a = $4; p = a; sub(/.*:/, "", p); sub(/:[^:]*$/, "", a)
	       if (a !~ /^(127\.|\[::1\]|.*%lo$)/) print p }' "$1" | sort -nu | xargs
}
tap_is "TCP beyond loopback: only SSH and netdiskd" "$(outside "$T/tcp")" "22 26547" ||
    tap_diag_file "$T/tcp"
tap_is "UDP beyond loopback: only the DHCP client" "$(outside "$T/udp")" "68" ||
    tap_diag_file "$T/udp"
tap_like "the firewall drops what it does not let in" \
    "$(on nft list chain inet filter input 2>&1 | grep -o 'policy [a-z]*')" '^policy drop$'
tap_is "no failed unit; time synchronisation and log rotation on" \
    "$(on 'systemctl --failed --no-legend --plain | wc -l; systemctl is-active systemd-timesyncd logrotate.timer' | xargs)" \
    "0 active active"
sleep 20
tap_diag "idle memory in use (free -m, 20 s after the message): $(on free -m | awk '$1 == "Mem:" { print $3 " MiB of " $2 }')"

# ---------------------------------------------------------------- reload
stop=$T/steady.stop
steady -m 16 -k "$T/key" -f "$stop" "$U/example" >"$T/steady.out" 2>"$T/steady.err" &
sp=$!
track_pid $sp
wait_grep '^connected:' "$T/steady.out" 60 ||
    tap_diag "the client of the example export did not connect"
on "printf '%s\n' '' '[second]' 'path = /srv/netdisk/images/second.img' 'size = 32M' \
    'description = added by appliance.sh' >>/etc/netdisk.conf"
tap_is "an export added to /etc/netdisk.conf over SSH" $? 0
tap_ok "netdiskctl reload over SSH" on netdiskctl reload
tap_ok "the new export is served" sh -c \
    'netdiskctl info -k "$1" "$2" | grep -qx "size: 33554432 (32 MiB)"' sh "$T/key" "$U/second"
random_file "$T/mark2" 65536
tap_ok "... and takes a write" netdiskctl write "${k[@]}" "$U/second" 4096 <"$T/mark2"
tap_ok "netdiskctl restart second over SSH" on netdiskctl restart second
netdiskctl read "${k[@]}" "$U/second" 4096 65536 >"$T/back2"
tap_is "... it serves its data again" "$(sha_of "$T/back2")" "$(sha_of "$T/mark2")"
sleep 2
touch "$stop"
steady_end "the example export (through reload and restart)" "$sp" \
    "$T/steady.out" "$T/steady.err" 0

# The appliance's address on the socket network, from the data disk, for
# the next boots.
on "printf '%s\n' '[Match]' 'MACAddress=52:54:00:4e:44:01' '[Network]' \
    'Address=10.77.0.1/24' >/srv/netdisk/etc/network/10-lab.network"
tap_is "a systemd.network file on the data disk, over SSH" $? 0

# data_intact RUN: the key, the configuration and the data of both
# exports are those of the first boot.
data_intact() {
	fetch_key "$T/key.$1" "$1"
	tap_ok "run $1: the same key" cmp -s "$T/key" "$T/key.$1"
	tap_ok "run $1: SSH with the same host key" on grep -q '^\[second\]' /etc/netdisk.conf
	netdiskctl read "${k[@]}" "$U/example" 50331648 1048576 >"$T/back.$1"
	tap_is "run $1: the example export's data" "$(sha_of "$T/back.$1")" "$(sha_of "$T/mark")"
	netdiskctl read "${k[@]}" "$U/second" 4096 65536 >"$T/back2.$1"
	tap_is "run $1: the second export's data" "$(sha_of "$T/back2.$1")" "$(sha_of "$T/mark2")"
}

# ---------------------------------------------------------------- reboot
boot_t0=$(kt_now)
on systemctl reboot
banner 1 2
tap_is "reboot: the console says it serves again" $? 0 || console_diag 1
tap_diag "reboot to serving: $(kt_elapsed "$boot_t0") s"
tap_is "the data disk was not prepared again" \
    "$(grep -ac 'making the data file system' "$T/console.1")" 1
data_intact 1

# ---------------------------------------------------------------- new image
poweroff 1 "poweroff: QEMU ends"
boot 2 "$T/system2.img"
banner 2 1
tap_is "the second image boots with the same data disk" $? 0 || console_diag 2
tap_diag "second image to serving: $(kt_elapsed "$boot_t0") s"
first=$(grep -a -m1 -o 'banner.sh\[[0-9]*\]: netdisk appliance (.*)' "$T/console.1" | tr -d '\r')
second=$(grep -a -m1 -o 'banner.sh\[[0-9]*\]: netdisk appliance (.*)' "$T/console.2" | tr -d '\r')
tap_ok "... it is the other build (${second#*: })" test -n "$second" -a "${first#*: }" != "${second#*: }"
tap_ok "... nothing on the data disk was made again" sh -c \
    '! grep -aqE "making the data file system|made the server key|wrote the default" "$1"' \
    sh "$T/console.2"
data_intact 2
tap_like "the address from the data disk's network file" \
    "$(on ip -4 -o addr show 2>&1)" ' 10\.77\.0\.1/24 '

# ---------------------------------------------------------------- a kernel client
if test -n "$kt_ko"; then
	files=(mkfs.ext4=/sbin/mkfs.ext4 e2fsck=/sbin/e2fsck "$T/key=/appliance.key")
	test -f /etc/mke2fs.conf && files+=(/etc/mke2fs.conf)
	kt_initramfs "$T/client.gz" "$kver" "$moddir" "$kt_ko" \
	    "$KT_SRC/guest-appliance.sh" -i virtio_pci -i virtio_net -- \
	    "${files[@]}" 2>"$T/mkinitramfs.err" ||
		bail_out "the client's initramfs: $(tail -1 "$T/mkinitramfs.err")"
	con=$KT_OUT/logs/appliance-client.console
	res=$KT_OUT/logs/appliance-client.results
	mkdir -p "$KT_OUT/logs"
	: >"$res"
	t0=$(kt_now)
	"$KT_SRC/run-guest.sh" -t 1500 -c 1 -m 512 -l "$con" -r "$res" \
	    -N "socket,udp=127.0.0.1:$p_app,localaddr=127.0.0.1:$p_cli" \
	    -a "$KT_CMDLINE" "$vmlinuz" "$T/client.gz" 2>"$T/client.err" &
	cpid=$!
	track_pid $cpid
	wait_grep '^# *client: writing' "$res" 900
	tap_is "the client guest writes to the appliance's export" $? 0 ||
	    tap_diag_file "$res"
	poweroff 2 "the appliance powers off under the client"
	boot 3 "$T/system2.img"
	banner 3 1
	tap_is "... and boots again" $? 0 || console_diag 3
	wait "$cpid"
	rs=$?
	kt_results "$series: client" "$res"
	tap_ok "$series: client guest run: $kt_checks checks, ended in time, no kernel warning, oops or hung task ($(kt_elapsed "$t0") s)" \
	    test "$rs" = 0 -a "$kt_done" = yes ||
		{ tap_diag "run-guest.sh: status $rs; console: $con"; tap_diag_file "$T/client.err" 60; }
	poweroff 3 "poweroff: QEMU ends"
else
	poweroff 2 "poweroff: QEMU ends"
fi
kt_guests_unlock

tap_plan "$tap_n"
test "$tap_failed" = 0
