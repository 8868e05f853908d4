# SPDX-License-Identifier: ISC
# shellcheck shell=bash
# kbench-lib.sh - sourced by contrib/kbench.sh and contrib/kbench-cache.sh
# (bash, set -eu): srcdir (the source tree), NETDISK_BUILDDIR (given, else
# the current directory if it has src/netdiskd/netdiskd, else the source
# tree), top_srcdir and top_builddir for the kernel tests' host helpers,
# t/kernel/lib.sh, which it sources (kt_make_module, kt_initramfs,
# kt_for_series), and kb_workdir.

srcdir=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${NETDISK_BUILDDIR:-}" ]; then
	if [ -x "$PWD/src/netdiskd/netdiskd" ]; then
		NETDISK_BUILDDIR=$PWD
	else
		NETDISK_BUILDDIR=$srcdir
	fi
fi
top_srcdir=$srcdir
top_builddir=$NETDISK_BUILDDIR
# shellcheck source=../t/kernel/lib.sh
. "$srcdir/t/kernel/lib.sh"

# kb_workdir NAME: a fresh temporary directory in $dir, removed at exit
# unless BENCH_KEEP is set (then its path is printed).
kb_workdir() {
	dir=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
	trap kb_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

kb_cleanup() {
	if [ -n "${BENCH_KEEP:-}" ]; then
		echo "${0##*/}: kept $dir" >&2
	else
		rm -rf "$dir"
	fi
}
