#!/bin/sh
# SPDX-License-Identifier: ISC
# systemd-rootfs.sh DIR PACKAGE...: a Debian 12 root file system with
# systemd and the given packages (the dependencies of netdisk's
# packages), for t/system/package.sh to boot with systemd-nspawn.  Made with
# debootstrap from the machine's Debian mirror and kept in DIR (under
# /var/cache/netdisk-ktest by default) until the list of packages
# changes.  It holds netdisk-test.service, which runs /netdisk-test.sh at
# boot when the container has one.  Exit 0 when DIR is ready.
set -e
dir=$1
shift
want="systemd systemd-sysv dbus $*"
mkdir -p "$(dirname "$dir")"
# One builder at a time (test runs of several builds share the cache);
# a debootstrap takes minutes, not half an hour.
exec 9>"$dir.lock"
flock -w 1800 9 || {
	echo "systemd-rootfs.sh: $dir.lock still held after 1800 s" >&2
	exit 1
}
if test -f "$dir/.netdisk-packages" &&
    test "$(cat "$dir/.netdisk-packages")" = "$want"; then
	exit 0
fi
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null |
    head -n 1)
test -n "$mirror" || mirror=$(awk '$1 == "deb" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
test -n "$mirror" || mirror=http://deb.debian.org/debian
rm -rf "$dir.new"
mkdir -p "$dir.new"
debootstrap --variant=minbase --include="$(echo "$want" | tr ' ' ,)" \
    bookworm "$dir.new" "$mirror" >"$dir.new.log" 2>&1 || {
	tail -n 20 "$dir.new.log" >&2
	exit 1
}
cat >"$dir.new/etc/systemd/system/netdisk-test.service" <<'EOT'
[Unit]
Description=netdisk package test
ConditionPathExists=/netdisk-test.sh
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh /netdisk-test.sh
ExecStopPost=/bin/systemctl --no-block poweroff
StandardOutput=journal
TimeoutStartSec=300

[Install]
WantedBy=multi-user.target
EOT
ln -s /etc/systemd/system/netdisk-test.service \
    "$dir.new/etc/systemd/system/multi-user.target.wants/netdisk-test.service"
echo "$want" >"$dir.new/.netdisk-packages"
rm -rf "$dir" "$dir.new.log"
mv "$dir.new" "$dir"
