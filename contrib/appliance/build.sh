#!/bin/bash
# SPDX-License-Identifier: ISC
# build.sh [-b BUILDDIR] [-o IMAGE] [-k AUTHORIZED_KEYS] [-s SIZE]
#
# Builds the netdisk appliance (docs/appliance.md): a raw x86-64 disk
# image with Debian 12, the cloud kernel, GRUB and this tree's netdiskd
# and netdisk-client packages.  `make appliance` runs it.
#
#   -b BUILDDIR   a configured build tree of netdisk (default: .); its
#                 "make distdir" is what dpkg-buildpackage builds
#   -o IMAGE      the image (default: BUILDDIR/netdisk-appliance.img)
#   -k FILE       SSH public keys that may log in as root, copied to the
#                 data disk on the first boot (default: none)
#   -s SIZE       the image's size (default: 1G)
#
# Environment: NETDISK_APPLIANCE_MIRROR (default http://deb.debian.org/debian),
# NETDISK_APPLIANCE_SECURITY (default http://deb.debian.org/debian-security),
# NETDISK_APPLIANCE_CACHE (default /var/cache/netdisk-appliance): the
# Debian root before netdisk's packages, kept for 7 days per package list.
#
# Needs root (a loop device for the image), vmdb2, debootstrap,
# dpkg-buildpackage and zerofree (contrib/deps.sh installs them).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
builddir=.
image=""
keys=""
size=1G
while getopts b:o:k:s: opt; do
	case $opt in
	b) builddir=$OPTARG ;;
	o) image=$OPTARG ;;
	k) keys=$OPTARG ;;
	s) size=$OPTARG ;;
	*) sed -n '3,4p' "$0" >&2; exit 2 ;;
	esac
done
builddir=$(cd "$builddir" && pwd)
: "${image:=$builddir/netdisk-appliance.img}"
mirror=${NETDISK_APPLIANCE_MIRROR:-http://deb.debian.org/debian}
security=${NETDISK_APPLIANCE_SECURITY:-http://deb.debian.org/debian-security}
cache=${NETDISK_APPLIANCE_CACHE:-/var/cache/netdisk-appliance}

die() { echo "build.sh: $*" >&2; exit 1; }
say() { echo "build.sh: $*"; }

[ "$(id -u)" -eq 0 ] || die "needs root (the image is built on a loop device)"
for tool in vmdb2 debootstrap dpkg-buildpackage zerofree losetup; do
	command -v "$tool" >/dev/null || die "$tool is missing (run contrib/deps.sh)"
done
[ -f "$builddir/config.status" ] || die "$builddir is not a configured build tree"
[ -z "$keys" ] || [ -s "$keys" ] || die "$keys: no SSH public keys in it"

# What an appliance needs, and nothing else: the kernel and its boot
# loader, systemd with its network, name and time services, SSH, the
# firewall, an editor, log rotation.
packages="linux-image-cloud-amd64 grub-pc systemd-sysv udev
	systemd-resolved systemd-timesyncd openssh-server nftables
	netbase e2fsprogs iproute2 procps nano less logrotate zstd"

T=$(mktemp -d)
loop=""
cleanup() {
	[ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

start=$(date +%s)
# ---------------------------------------------------------------- packages
version=$(sed -n 's/^PACKAGE_VERSION = //p' "$builddir/Makefile")
say "building the packages of netdisk $version"
S=$T/src/netdisk-$version
mkdir -p "$T/src"
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$builddir" distdir \
    distdir="$S" top_distdir="$S" >"$T/distdir.log" 2>&1 ||
	{ tail -20 "$T/distdir.log" >&2; die "make distdir failed"; }
chmod -R u+w "$S"
(cd "$S" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
    DEB_BUILD_OPTIONS="nocheck parallel=$(nproc)" \
    dpkg-buildpackage -us -uc -b) >"$T/deb.log" 2>&1 ||
	{ tail -30 "$T/deb.log" >&2; die "dpkg-buildpackage failed"; }
arch=$(dpkg --print-architecture)
debs="$T/src/netdiskd_${version}_$arch.deb $T/src/netdisk-client_${version}_$arch.deb"
for d in $debs; do
	[ -f "$d" ] || die "dpkg-buildpackage made no $(basename "$d")"
done

# ---------------------------------------------------------------- files
# The appliance's files, with the authorized SSH keys if given.
cp -R "$here/files" "$T/files"
if [ -n "$keys" ]; then
	install -m 644 "$keys" "$T/files/usr/share/netdisk-appliance/authorized_keys"
fi
build_id="netdisk $version, built $(date -u +%Y-%m-%dT%H:%M:%SZ)"

# The cached root is good for one package list, mirror and spec, 7 days.
mkdir -p "$cache"
tag=$(printf '%s\n' "$packages" "$mirror" "$security" |
    cat - "$here/appliance.vmdb" "$here/files/etc/dpkg/dpkg.cfg.d/netdisk-appliance" |
    sha256sum | cut -c1-16)
tarball=$cache/rootfs-$tag.tar.gz
find "$cache" -name 'rootfs-*.tar.gz' -mtime +7 -delete
[ -f "$tarball" ] && say "the Debian root comes from $tarball"

# ---------------------------------------------------------------- image
rm -f "$image"
truncate -s "$size" "$image"
loop=$(losetup -P --show -f "$image")
# shellcheck disable=SC2086
pkglist=$(printf '%s, ' $packages)
pkglist=${pkglist%, }
sed -e "s|@MIRROR@|$mirror|g" -e "s|@SECURITY@|$security|g" \
    -e "s|@FILES@|$T/files|g" -e "s|@SRC@|$here|g" \
    -e "s|@DEBS@|$debs|g" -e "s|@BUILD_ID@|$build_id|g" \
    -e "s|@IMAGE_DEV@|$loop|g" \
    -e "s|@PACKAGES@|$pkglist|g" \
    "$here/appliance.vmdb" >"$T/appliance.vmdb"
say "building $image on $loop"
rm -f "$image.log"
if ! vmdb2 --verbose --image "$loop" --rootfs-tarball "$tarball" \
    --log "$image.log" "$T/appliance.vmdb" >"$T/vmdb2.out" 2>&1; then
	grep -v DEBUG "$image.log" | tail -30 >&2
	die "vmdb2 failed (its log: $image.log)"
fi

# vmdb2 zeroed the unused blocks (zerofree); they are left out of the
# file: a sparse image, and a small one once compressed.
losetup -d "$loop"
loop=""
fallocate --dig-holes "$image"

used=$(du -B1 "$image" | cut -f1)
say "built $image in $(($(date +%s) - start)) s: $build_id"
say "$(stat -c %s "$image") bytes, $used of them allocated"
