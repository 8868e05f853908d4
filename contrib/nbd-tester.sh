#!/bin/sh
# SPDX-License-Identifier: ISC
# Fetches and builds nbd-tester-client, the nbd project's own conformance
# client (nbd's tests/run), for t/nbd-tester.sh; prints the binary's path.
# integrity-test.tr, the transaction log its -i mode replays, lies beside
# the binary.
#
#   contrib/nbd-tester.sh
#
# The source is Debian's "nbd" source package from trixie (Debian 12's nbd
# 3.24 source is no longer on the mirrors), fetched with apt-get source
# through a private apt configuration in the cache directory: a sources
# list with that one deb-src line, its own package lists, nothing of the
# system's apt configuration changed.  The mirror is the one the system's
# Debian sources use.  The binary is cached per source version in
#   $NBD_TESTER_CACHE   (default /var/cache/netdisk-nbdtester, or
#                        ~/.cache/netdisk-nbdtester if that is not
#                        writable)
# so that later runs neither download nor build anything; the package
# lists are refreshed once a week.
#
# Build dependencies (Debian): build-essential pkg-config dpkg-dev xz-utils
# libglib2.0-dev bison flex.  The tester is built without GnuTLS: its TLS
# modes are of no use against netdiskd's plaintext NBD listener.
#
# Exit status: 0 (the path on stdout), 77 if the source cannot be fetched
# (offline, no such suite on the mirror), 1 on any other error (a build
# error: the log's tail on stderr).
set -eu

suite=trixie
me=contrib/nbd-tester.sh

die() {
	echo "$me: $*" >&2
	exit 1
}

skip() {
	echo "$me: $*" >&2
	exit 77
}

cache_dir() {
	local_dir=${NBD_TESTER_CACHE:-/var/cache/netdisk-nbdtester}
	if mkdir -p "$local_dir" 2>/dev/null && test -w "$local_dir"; then
		echo "$local_dir"
	elif test -z "${NBD_TESTER_CACHE:-}"; then
		local_dir=${XDG_CACHE_HOME:-$HOME/.cache}/netdisk-nbdtester
		mkdir -p "$local_dir" || die "cannot create $local_dir"
		echo "$local_dir"
	else
		die "cannot write to NBD_TESTER_CACHE=$local_dir"
	fi
}

# The Debian mirror the system's apt uses (deb.debian.org if none).
mirror() {
	# shellcheck disable=SC2016 # apt's format, not the shell's
	m=$(apt-get indextargets --format '$(REPO_URI)' \
	    'Origin: Debian' 'Label: Debian' 2>/dev/null | head -n 1)
	echo "${m:-http://deb.debian.org/debian/}"
}

# apt_private CMD ARGS...: apt-get or apt-cache with only our sources list
# and lists; downloads run as the caller (not as _apt, who cannot write
# into a private directory).
apt_private() {
	cmd=$1
	shift
	"$cmd" -q -o Dir::Etc::SourceList="$cache/sources.list" \
	    -o Dir::Etc::SourceParts=/dev/null \
	    -o Dir::State::Lists="$cache/lists" \
	    -o Dir::Cache="$cache/apt" \
	    -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= \
	    -o APT::Sandbox::User=root "$@"
}

# Refresh the private package lists once a week (a stamp of our own: apt
# dates the lists by the mirror's Last-Modified), or keep the stale ones
# if the mirror cannot be reached; then $cache/version is the newest
# version of the nbd source package in them.
refresh() {
	if test -n "$(find "$cache/lists.stamp" -mtime -7 2>/dev/null)" &&
	    test -s "$cache/version"; then
		return 0
	fi
	mkdir -p "$cache/lists/partial" "$cache/apt/archives/partial"
	printf 'deb-src %s %s main\n' "$(mirror)" "$suite" \
	    >"$cache/sources.list.new"
	mv -f "$cache/sources.list.new" "$cache/sources.list"
	# apt-get update exits 0 even when the mirror cannot be reached.
	if apt_private apt-get update >"$cache/update.log" 2>&1 &&
	    ! grep -Eq '^(W|E): (Failed|Some index)' "$cache/update.log"; then
		touch "$cache/lists.stamp"
	else
		cat "$cache/update.log" >&2
		test -n "$(find "$cache/lists" -maxdepth 1 -name '*_Sources*')" ||
		    return 1
		echo "$me: using the package lists of an earlier run" >&2
	fi
	apt_private apt-cache showsrc nbd 2>/dev/null |
	    sed -n 's/^Version: //p' | sort -V | tail -n 1 >"$cache/version.new"
	mv -f "$cache/version.new" "$cache/version"
}

# build SRCDIR OUTDIR: configure nbd and make the tester only.
build() {
	log=$2/build.log
	(
		cd "$1" &&
		./configure --disable-manpages --without-libnl \
		    --without-gnutls &&
		make -C tests/run nbd-tester-client
	) >"$log" 2>&1 || {
		tail -n 40 "$log" >&2
		die "building nbd-tester-client failed (log: $log);" \
		    "are build-essential pkg-config dpkg-dev xz-utils" \
		    "libglib2.0-dev bison flex installed?"
	}
}

command -v apt-get >/dev/null 2>&1 ||
    skip "apt-get not found: cannot fetch nbd's source"
cache=$(cache_dir)
exec 9>"$cache/lock"
flock 9 || die "cannot lock $cache/lock"

refresh || skip "cannot fetch the $suite package lists"
version=$(cat "$cache/version")
test -n "$version" || skip "no nbd source package in $suite"
# 1:3.26.1-6.1 -> 3.26.1-6.1, the name of dpkg-source's files
out=$cache/${version#*:}
if test -x "$out/nbd-tester-client" && test -s "$out/integrity-test.tr"; then
	echo "$out/nbd-tester-client"
	exit 0
fi

command -v dpkg-source >/dev/null 2>&1 ||
    die "dpkg-source not found: install dpkg-dev (apt-get source needs it)"
mkdir -p "$out"
src=$(mktemp -d "$cache/src.XXXXXX")
trap 'rm -rf "$src"' EXIT
(cd "$src" && apt_private apt-get source "nbd=$version") \
    >"$out/source.log" 2>&1 || {
	cat "$out/source.log" >&2
	skip "cannot fetch the source of nbd $version"
}
srcdir=$(find "$src" -mindepth 1 -maxdepth 1 -type d -name 'nbd-*' |
    head -n 1)
test -n "$srcdir" || die "apt-get source nbd=$version unpacked nothing"
build "$srcdir" "$out"
cp "$srcdir/tests/run/integrity-test.tr" "$out/integrity-test.tr.new"
cp "$srcdir/tests/run/nbd-tester-client" "$out/nbd-tester-client.new"
mv -f "$out/integrity-test.tr.new" "$out/integrity-test.tr"
mv -f "$out/nbd-tester-client.new" "$out/nbd-tester-client"
echo "$out/nbd-tester-client"
