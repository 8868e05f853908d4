#!/bin/bash
# SPDX-License-Identifier: ISC
# fetch-kernels.sh - fetch the Debian cloud kernels that the kernel tests boot
#
# Host packages the kernel tests need (installed below when one is missing,
# with apt-get, as root):
#   qemu-system-x86 busybox-static cpio kmod xz-utils zstd make gcc-12
#   libelf1 libssl3 zlib1g pahole dmsetup
# gcc-12 is the compiler both Debian series are built with (the headers'
# CONFIG_CC_VERSION_TEXT); should a newer package want another gcc-N, that
# gcc-N is installed too.  pahole is what linux-kbuild-6.12 uses for BTF.
# dmsetup goes into the guests of t/kernel/faults.sh.
#
# Usage: fetch-kernels.sh [SERIES...]        SERIES: 6.1, 6.12 (default: both)
#
# For each series this finds the newest linux-image-*-cloud-amd64 with
# apt-cache, downloads the image, its headers and the packages the headers
# need (linux-headers-*-common, linux-kbuild-*) into the cache, and unpacks
# them there with dpkg -x.  A kernel already unpacked is reused.  Prints one
# line per series on stdout:
#   SERIES VERSION VMLINUZ KDIR MODDIR
# VMLINUZ boots under QEMU, KDIR builds out-of-tree modules on this host
# (make -C KDIR M=DIR modules), MODDIR is the kernel's /lib/modules/VERSION
# with modules.dep.
#
# Environment: NETDISK_KCACHE   cache folder (default /var/cache/netdisk-ktest)
#              NETDISK_OFFLINE  if set, use what the cache holds, ask no mirror

set -u
export LC_ALL=C DEBIAN_FRONTEND=noninteractive

KCACHE=${NETDISK_KCACHE:-/var/cache/netdisk-ktest}
HOST_PKGS="qemu-system-x86 busybox-static cpio kmod xz-utils zstd make gcc-12
	libelf1 libssl3 zlib1g pahole dmsetup"
updated=no
ver=""

msg() {
	echo "fetch-kernels: $*" >&2
}

die() {
	msg "$*"
	exit 1
}

# apt_update: refresh the package lists, once per run.
apt_update() {
	test $updated = yes && return 0
	updated=yes
	msg "apt-get update"
	apt-get -q update >&2 || msg "apt-get update failed"
}

# lists_present: 0 if apt has package lists at all.
lists_present() {
	ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1
}

# install_pkgs PKG...: install those not installed yet.
install_pkgs() {
	local p missing=""

	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
		    grep -q ' installed$' || missing="$missing $p"
	done
	test -z "$missing" && return 0
	test -n "${NETDISK_OFFLINE:-}" && die "missing packages:$missing"
	test "$(id -u)" = 0 || die "missing packages (run as root):$missing"
	lists_present || apt_update
	msg "apt-get install$missing"
	# shellcheck disable=SC2086
	apt-get -q install -y --no-install-recommends $missing >&2 && return 0
	apt_update
	# shellcheck disable=SC2086
	apt-get -q install -y --no-install-recommends $missing >&2 ||
	    die "cannot install:$missing"
}

# series_re SERIES: the ERE of that series' cloud image package names
# (6.1: linux-image-6.1.0-56-cloud-amd64, 6.12: linux-image-6.12.117+deb12-...).
series_re() {
	local s=${1//./\\.}

	echo "^linux-image-$s\.[0-9]+(-[0-9]+|\+deb[0-9]+)-cloud-amd64\$"
}

# candidate PKG: the version apt would fetch, empty if none.
candidate() {
	apt-cache policy "$1" 2>/dev/null |
	    sed -n 's/^  Candidate: //p' | grep -v '^(none)$'
}

# newest_image SERIES: the newest image package of SERIES that has a candidate.
newest_image() {
	local p

	for p in $(apt-cache pkgnames linux-image-"$1". |
	    grep -E "$(series_re "$1")" | sort -rV); do
		if test -n "$(candidate "$p")"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# cached_version SERIES: the newest kernel of SERIES already unpacked.
cached_version() {
	local d

	for d in $(printf '%s\n' "$KCACHE"/*/.done | sort -rV); do
		test -f "$d" || continue
		d=$(basename "$(dirname "$d")")
		if echo "linux-image-$d" | grep -Eq "$(series_re "$1")"; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

# header_deps VERSION PKGVER: the headers package and the linux-headers-* /
# linux-kbuild-* packages it depends on, each pinned to PKGVER.
header_deps() {
	local h="linux-headers-$1" p

	echo "$h=$2"
	for p in $(apt-cache depends "$h" |
	    sed -n 's/^ *|\{0,1\}Depends: \(linux-\(headers\|kbuild\)-[^ ]*\)$/\1/p' |
	    sort -u); do
		echo "$p=$2"
	done
}

# download DIR PKG=VER...: into DIR, skipping files already there.
download() {
	local dir=$1 pv want=""

	shift
	mkdir -p "$dir" || return 1
	for pv in "$@"; do
		ls "$dir/${pv%%=*}_${pv#*=}_"*.deb >/dev/null 2>&1 ||
		    want="$want $pv"
	done
	test -z "$want" && return 0
	msg "apt-get download$want"
	# shellcheck disable=SC2086
	(cd "$dir" && apt-get -q download -o APT::Sandbox::User=root $want >&2)
}

# moddir_of ROOT VERSION: where the package put /lib/modules/VERSION.
moddir_of() {
	local d

	for d in "$1/lib/modules/$2" "$1/usr/lib/modules/$2"; do
		test -d "$d" && { echo "$d"; return 0; }
	done
	return 1
}

# fix_tree ROOT VERSION: make the unpacked headers usable from the cache.
# The flavour Makefile includes the -common tree by absolute path, and the
# build/source links point to /usr/src; all are rewritten into ROOT.
fix_tree() {
	local root=$1 ver=$2 kdir="$1/usr/src/linux-headers-$2" mod common

	mod=$(moddir_of "$root" "$ver") || return 1
	test -f "$kdir/Makefile" || return 1
	sed -i "s#^include /usr/src/#include $root/usr/src/#" "$kdir/Makefile"
	common=$(sed -n "s#^include \\($root/usr/src/[^/]*\\)/Makefile\$#\\1#p" \
	    "$kdir/Makefile")
	test -d "$common" || return 1
	ln -sfn "$kdir" "$mod/build"
	ln -sfn "$common" "$mod/source"
	depmod -b "$root" "$ver"
}

# want_compiler KDIR: install the gcc-N the headers were configured with.
want_compiler() {
	local cc

	cc=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\([^ ]*\) .*/\1/p' "$1/.config")
	cc=${cc##*-linux-gnu-}
	case $cc in
	gcc-[0-9]*) command -v "x86_64-linux-gnu-$cc" >/dev/null ||
	    install_pkgs "$cc" ;;
	*) msg "$1: unexpected compiler \"$cc\"" ;;
	esac
}

# unpack VERSION: dpkg -x the packages in $KCACHE/VERSION/deb into
# $KCACHE/VERSION (fix_tree writes absolute paths, so in place).
unpack() {
	local root="$KCACHE/$1" d

	rm -f "$root/.done"
	find "$root" -mindepth 1 -maxdepth 1 ! -name deb -exec rm -rf {} +
	for d in "$root"/deb/*.deb; do
		dpkg -x "$d" "$root" || return 1
	done
	fix_tree "$root" "$1" || return 1
	touch "$root/.done"
}

# try_fetch SERIES: make sure the newest kernel of SERIES that the package
# lists know is unpacked; set $ver.
try_fetch() {
	local img pkgver

	img=$(newest_image "$1") || return 1
	ver=${img#linux-image-}
	test -f "$KCACHE/$ver/.done" && return 0
	pkgver=$(candidate "$img")
	# shellcheck disable=SC2046
	download "$KCACHE/$ver/deb" "$img=$pkgver" \
	    $(header_deps "$ver" "$pkgver") || return 1
	msg "unpacking $ver"
	if ! unpack "$ver"; then
		rm -rf "${KCACHE:?}/$ver"
		return 1
	fi
	prune "$1" "$ver"
}

# fetch SERIES: set $ver to the kernel of SERIES to test, fetched and
# unpacked.  Stale package lists (a superseded security update is gone from
# the mirror) get one apt-get update and a second try; without a mirror, the
# newest kernel in the cache will do.
fetch() {
	ver=""
	if test -z "${NETDISK_OFFLINE:-}"; then
		try_fetch "$1" && return 0
		apt_update
		try_fetch "$1" && return 0
	fi
	ver=$(cached_version "$1")
}

# prune SERIES VERSION: drop the other kernels of SERIES from the cache.
prune() {
	local d v

	for d in "$KCACHE"/*/; do
		v=$(basename "$d")
		test "$v" = "$2" && continue
		echo "linux-image-$v" | grep -Eq "$(series_re "$1")" || continue
		msg "removing $v from the cache"
		rm -rf "${KCACHE:?}/$v"
	done
}

# report SERIES VERSION: the output line.
report() {
	local root="$KCACHE/$2" mod kdir="$KCACHE/$2/usr/src/linux-headers-$2"

	mod=$(moddir_of "$root" "$2") || return 1
	want_compiler "$kdir"
	echo "$1 $2 $root/boot/vmlinuz-$2 $kdir $mod"
}

main() {
	local s rc=0

	test $# -gt 0 || set -- 6.1 6.12
	# shellcheck disable=SC2086
	install_pkgs $HOST_PKGS
	mkdir -p "$KCACHE" || die "cannot create $KCACHE"
	# One fetch at a time; a cache that is not ours to write is only read.
	if { exec 9>>"$KCACHE/.lock"; } 2>/dev/null || exec 9<"$KCACHE/.lock"; then
		flock 9 || die "cannot lock $KCACHE/.lock"
	fi
	if test -z "${NETDISK_OFFLINE:-}" && ! lists_present; then
		apt_update
	fi
	for s in "$@"; do
		fetch "$s"
		if test -z "$ver"; then
			msg "no usable $s cloud kernel"
			rc=1
			continue
		fi
		report "$s" "$ver" || { msg "$ver: bad cache entry"; rc=1; }
	done
	return $rc
}

main "$@"
