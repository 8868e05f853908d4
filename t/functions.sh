# SPDX-License-Identifier: ISC
# Shared helpers for the shell tests; every t/*.sh sources this file.
#
# Under "make check", AM_TESTS_ENVIRONMENT sets top_srcdir, top_builddir and
# PATH.  A test also runs on its own, the build's programs first on PATH:
#   top_builddir=/path/to/build top_srcdir=/path/to/src bash t/io-roundtrip.sh
# ND_KEEP_TMP=1 keeps the test's temporary directory for a post-mortem.
#
# TAP, for Automake's tap-driver.sh:
#   tap_plan N                     the plan, printed first
#   tap_ok DESC CMD...             CMD exits 0
#   tap_status DESC N CMD...       CMD exits N
#                                  (both leave CMD's stdout in $T/out and
#                                  its stderr in $T/err, see tap_run)
#   tap_is DESC GOT EXPECTED       strings are equal
#   tap_like DESC GOT ERE          GOT matches the extended regex ERE
#   tap_pass DESC / tap_fail DESC [DIAG...] / tap_skip DESC REASON
#   tap_diag TEXT... / tap_diag_file FILE [LINES]
#   requires TOOL                  skip the whole test unless TOOL is found
#   bail_out TEXT                  abort the test (counts as an error)
#
# Processes (track_pid and pid_alive: t/daemon.sh):
#   track_pid PID...               killed on exit if still running
#   pid_alive PID                  running and not a zombie
#   wait_pid_status PID [SECONDS]  wait with a time limit (124: killed)
#   wait_grep ERE FILE [SECONDS] [COUNT]   until FILE has COUNT matching lines
#   steady_end NAME PID OUT ERR N  a stopped t/steady client: exit 0, its
#                                  data verified, N reconnects (2 TAP lines)
#
# Client identities (keys in $T/clients/NAME.key):
#   key NAME                       the key file's path
#   id_read NAME EXPORT OFF LEN OUT   netdiskctl read with NAME's key
#   id_write NAME EXPORT OFF IN    netdiskctl write with NAME's key
#
# Data:
#   random_file FILE LENGTH, random_keys FILE N (64 hex digits a line),
#   sha_of FILE [OFFSET LENGTH], sha_zero LENGTH,
#   allocated FILE (bytes on disk), fs_supports_holes DIR,
#   json_field KEY <JSON
#
# The daemon (free_port, make_key, write_conf and add_export are in
# t/daemon.sh, which contrib/bench.sh shares; start_netdiskd wraps its
# netdiskd_start):
#   free_port                      an unused TCP port on 127.0.0.1
#   make_key FILE                  netdiskctl genkey -o FILE
#   write_conf FILE [KEY=VALUE...] [global]: listen on 127.0.0.1:$ND_PORT,
#                                  keyfile $ND_KEY, a pidfile and the control
#                                  socket ($ND_CTL) in $T
#   add_export FILE NAME [KEY=VALUE...]   an export section; path defaults
#                                  to $T/NAME.img
#   start_netdiskd CONF [LOG]      netdiskd -f -c CONF in the background,
#                                  stderr to $ND_LOG; waits until it listens
#                                  on $ND_PORT (bails out with the log's tail
#                                  if it dies or takes over 10 s)
#   stop_netdiskd [SIGNAL]         SIGTERM and wait; returns its exit status
#   wait_log ERE [SECONDS]         wait for a line in the daemon's log
#   uri NAME                       netdisk://127.0.0.1:$ND_PORT/NAME
#
# Each test gets a private temporary directory $T, removed on exit together
# with every daemon and background process the test started.

if test -z "${top_srcdir:-}"; then
	top_srcdir=$(cd "$(dirname "$0")/.." && pwd)
fi
: "${top_builddir:=$top_srcdir}"
PATH="$top_builddir/src/netdiskd:$top_builddir/src/netdiskctl:$top_builddir/t:$PATH"
export top_srcdir top_builddir PATH
LC_ALL=C
export LC_ALL
unset NETDISK_KEYFILE
# shellcheck source=daemon.sh
. "$top_srcdir/t/daemon.sh"

T=$(mktemp -d "${TMPDIR:-/tmp}/netdisk-test.XXXXXX") || {
	echo "Bail out! cannot create a temporary directory"
	exit 1
}

# ---------------------------------------------------------------- TAP

tap_n=0
tap_failed=0

tap_plan() {
	echo "1..$1"
}

tap_diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

tap_pass() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1"
}

# tap_skip DESC REASON
tap_skip() {
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1 # SKIP $2"
}

# tap_fail DESC [DIAG...]
tap_fail() {
	local desc=$1

	shift
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $desc"
	if test $# -gt 0; then
		tap_diag "$@"
	fi
}

# Show the last lines of a file as diagnostics.
tap_diag_file() {
	if test -s "$1"; then
		echo "# --- $(basename "$1") (last ${2:-20} lines):"
		tail -n "${2:-20}" "$1" | sed 's/^/#   /'
	fi
}

# tap_run CMD...: run CMD; its status in $tap_st, its output in $T/out and
# $T/err (replaced only once it finished, so CMD may read the previous ones).
tap_run() {
	"$@" >"$T/.out.new" 2>"$T/.err.new"
	tap_st=$?
	mv -f "$T/.out.new" "$T/out"
	mv -f "$T/.err.new" "$T/err"
}

tap_ok() {
	local desc=$1

	shift
	tap_run "$@"
	if test "$tap_st" -eq 0; then
		tap_pass "$desc"
	else
		tap_fail "$desc" "command failed with status $tap_st: $*"
		tap_diag_file "$T/out"
		tap_diag_file "$T/err"
		return 1
	fi
}

# tap_status DESC EXPECTED CMD...: CMD must exit with status EXPECTED.
tap_status() {
	local desc=$1 want=$2 got

	shift 2
	tap_run "$@"
	got=$tap_st
	if test "$got" = "$want"; then
		tap_pass "$desc"
	else
		tap_fail "$desc" "expected exit status $want, got $got: $*"
		tap_diag_file "$T/out"
		tap_diag_file "$T/err"
		return 1
	fi
}

tap_is() {
	if test "x$2" = "x$3"; then
		tap_pass "$1"
	else
		tap_fail "$1" "got:      '$2'" "expected: '$3'"
		return 1
	fi
}

tap_like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		tap_pass "$1"
	else
		tap_fail "$1" "got:      '$2'" "expected to match: $3"
		return 1
	fi
}

bail_out() {
	echo "Bail out! $*"
	exit 1
}

requires() {
	if ! command -v "$1" >/dev/null 2>&1; then
		echo "1..0 # SKIP $1 not found"
		exit 0
	fi
}

# requires_storefault: $shim is t/storefault.so, or the test is skipped.
requires_storefault() {
	shim="$top_builddir/t/storefault.so"
	if ! test -f "$shim"; then
		echo "1..0 # SKIP $shim not built (make t/storefault.so)"
		exit 0
	fi
}

# ---------------------------------------------------------------- cleanup

nd_cleanup() {
	nd_kill_all
	if test -n "${ND_KEEP_TMP:-}"; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
}

trap 'nd_cleanup' EXIT
trap 'exit 1' INT TERM HUP

# ---------------------------------------------------------------- files

# sha256 of a whole file, or of LENGTH bytes at OFFSET (both multiples of 512).
sha_of() {
	if test $# -eq 1; then
		sha256sum <"$1" | cut -d' ' -f1
	else
		dd if="$1" bs=512 skip=$(($2 / 512)) count=$(($3 / 512)) \
		    status=none | sha256sum | cut -d' ' -f1
	fi
}

# sha256 of LENGTH zero bytes.
sha_zero() {
	head -c "$1" /dev/zero | sha256sum | cut -d' ' -f1
}

# random_file FILE LENGTH
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

# random_keys FILE N: N random keys of 64 hex digits, one a line; bails
# out if it cannot make them.
random_keys() {
	od -An -tx1 -v -N $((32 * $2)) /dev/urandom | tr -d ' \n' |
	    fold -w 64 >"$1" && echo >>"$1"
	test "$(wc -l <"$1")" -eq "$2" || bail_out "cannot make $2 keys"
}

# Allocated bytes of FILE.
allocated() {
	echo $(($(stat -c '%b * %B' "$1")))
}

# 0 if the filesystem holding DIR keeps holes and can punch them.
fs_supports_holes() {
	local f="$1/.holeprobe" ok=1

	rm -f "$f"
	if head -c 1048576 /dev/urandom >"$f" && sync "$f" 2>/dev/null &&
	    test "$(allocated "$f")" -ge 1048576 &&
	    fallocate -p -o 0 -l 1048576 "$f" 2>/dev/null &&
	    test "$(allocated "$f")" -lt 524288; then
		rm -f "$f"
		truncate -s 1M "$f" && test "$(allocated "$f")" -lt 524288 && ok=0
	fi
	rm -f "$f"
	return $ok
}

# ---------------------------------------------------------------- daemon

# client_keys NAME...: $ND_KEY, and a key per client identity NAME in
# $T/clients (mode 700, for clients_dir); key NAME prints its path.
client_keys() {
	local k

	mkdir -m 700 "$T/clients" || bail_out "cannot make $T/clients"
	make_key "$ND_KEY" || bail_out "netdiskctl genkey -o $ND_KEY failed"
	for k in "$@"; do
		make_key "$T/clients/$k.key" ||
		    bail_out "netdiskctl genkey -o $T/clients/$k.key failed"
	done
}

key() {
	echo "$T/clients/$1.key"
}

ND_PORT=$(free_port) || bail_out "no free TCP port"
ND_KEY="$T/netdisk.key"
ND_LOG="$T/netdiskd.log"
ND_CTL="$T/netdiskd.sock"

uri() {
	echo "netdisk://127.0.0.1:$ND_PORT/$1"
}

# start_netdiskd CONF [LOG]: bails out if it does not come up within 10 s.
start_netdiskd() {
	local conf=$1 st=0

	ND_LOG=${2:-$ND_LOG}
	netdiskd_start "$conf" || st=$?
	case $st in
	0) return 0 ;;
	1)
		echo "# netdiskd exited with status $nd_exit during start-up"
		tap_diag_file "$ND_LOG"
		bail_out "netdiskd -f -c $conf did not start" ;;
	esac
	tap_diag_file "$ND_LOG"
	bail_out "netdiskd is not listening on port $ND_PORT after 10 s"
}

# stop_netdiskd [SIGNAL]: signal the daemon (TERM), wait up to 15 s and
# return its exit status (124 if it had to be killed).
stop_netdiskd() {
	local sig=${1:-TERM} i st

	test -n "$ND_PID" || return 1
	kill "-$sig" "$ND_PID" || return 1
	for i in $(seq 150); do
		pid_alive "$ND_PID" || break
		sleep 0.1
	done
	if pid_alive "$ND_PID"; then
		echo "# netdiskd did not exit within 15 s of SIG$sig"
		kill -KILL "$ND_PID"
		wait "$ND_PID" 2>/dev/null
		st=124
	else
		wait "$ND_PID"
		st=$?
	fi
	nd_pids=$(echo "$nd_pids" | sed "s/ $ND_PID\b//")
	ND_PID=""
	if test $st -ne 0; then
		tap_diag_file "$ND_LOG"
	fi
	return $st
}

# wait_log ERE [SECONDS]: wait until the daemon's log has a matching line.
wait_log() {
	local i

	for i in $(seq $((${2:-10} * 10))); do
		grep -Eq -- "$1" "$ND_LOG" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_grep ERE FILE [SECONDS] [COUNT]: wait until FILE has COUNT (1)
# lines matching ERE.
wait_grep() {
	local i n

	for i in $(seq $((${3:-10} * 10))); do
		n=$(grep -Ec -- "$1" "$2" 2>/dev/null)
		test "${n:-0}" -ge "${4:-1}" && return 0
		sleep 0.1
	done
	return 1
}

# wait_pid_status PID: like wait, but gives up (124) after ${2:-60} s.
wait_pid_status() {
	local i

	for i in $(seq $((${2:-60} * 10))); do
		pid_alive "$1" || break
		sleep 0.1
	done
	if pid_alive "$1"; then
		kill -KILL "$1"
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# steady_end NAME PID OUT ERR RECONNECTS: wait for a t/steady client told
# to stop (its stop file exists); two TAP lines: it exits 0, and its
# summary has data verified, no failure and RECONNECTS reconnects.
steady_end() {
	wait_pid_status "$2" 30
	tap_is "$1's client exits 0" $? 0 || tap_diag_file "$4"
	tap_like "$1: no failure, $5 reconnects, data verified" \
	    "$(tail -1 "$3")" "^steady: [1-9][0-9]* writes, [0-9]+ reads, \
[1-9][0-9]* verified, 0 failures, $5 reconnects\$"
}

id_read() {
	netdiskctl read -k "$(key "$1")" "$(uri "$2")" "$3" "$4" >"$5"
}

id_write() {
	netdiskctl write -k "$(key "$1")" "$(uri "$2")" "$3" <"$4"
}

# A text from JSON on stdin: json_field KEY -> the raw value of "KEY".
json_field() {
	tr -d ' \n\t' | grep -o "\"$1\":[^,}]*" | head -n 1 | cut -d: -f2-
}
