# SPDX-License-Identifier: ISC
# bench-lib.sh - what contrib/bench.sh and contrib/bench-overlay.sh share:
# the programs and defaults, die and note, a temporary directory, the
# tests' netdiskd helpers (t/daemon.sh) and the cleanup at exit.
#
# Sourced by bash under "set -eu" with srcdir (the source tree) and
# BENCH_NAME (the script's name, for messages and the directory) set.  A
# script that starts more than netdiskd defines bench_stop_others, which
# the cleanup calls first.  BENCH_KEEP=1 keeps the directory.

NETDISKD=${NETDISKD:-$PWD/src/netdiskd/netdiskd}
NETDISKCTL=${NETDISKCTL:-$PWD/src/netdiskctl/netdiskctl}
BENCH_TIME=${BENCH_TIME:-10}
BENCH_SIZE=${BENCH_SIZE:-1G}
BENCH_IDLE=${BENCH_IDLE:-1000}
IDLECONNS=${IDLECONNS:-$PWD/t/idleconns}

die() {
	echo "$BENCH_NAME: $*" >&2
	exit 1
}

note() {
	echo "$BENCH_NAME: $*" >&2
}

for p in "$NETDISKD" "$NETDISKCTL"; do
	[ -x "$p" ] || die "$p not found: run make (or make bench) first"
done

dir=$(mktemp -d "${TMPDIR:-/tmp}/netdisk-${BENCH_NAME%.sh}.XXXXXX")
# shellcheck disable=SC2034  # t/daemon.sh uses them
T=$dir
# shellcheck source=../t/daemon.sh
. "$srcdir/t/daemon.sh"
# shellcheck disable=SC2034
ND_NETDISKD=$NETDISKD
# shellcheck disable=SC2034
ND_NETDISKCTL=$NETDISKCTL

bench_stop_others() {
	:
}

bench_cleanup() {
	bench_stop_others
	nd_kill_all
	if [ -n "${BENCH_KEEP:-}" ]; then
		note "kept $dir"
	else
		rm -rf "$dir"
	fi
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM HUP
