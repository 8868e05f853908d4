# SPDX-License-Identifier: ISC
# guest-lib.sh - the shared part of the kernel tests' guest scripts
#
# guest-basic.sh and guest-resilience.sh source this file (as
# /guest-lib.sh) in a guest that mkinitramfs.sh built: busybox sh, kmod,
# netdisk.ko, netdiskd, netdiskctl and the tools the script needs.
#
# Results: one line each on the guest's second serial port (/dev/ttyS1,
# run-guest.sh -r), where no kernel message can split a line, with a copy
# on the console among the kernel's messages:
#   ok - DESC          a check that passed (the host numbers the checks
#   not ok - DESC      a check that failed  and puts the kernel series first)
#   # TEXT             a diagnostic
#   done               the script got to its end
# A script ends with finish; it exits non-zero only when it cannot go on
# (bail), failed checks are reported line by line.
#
# Checks:   check DESC CMD...   CMD exits 0
#           is DESC GOT WANT    the strings are equal
#           like DESC GOT ERE   GOT matches the extended regex ERE
#           run CMD...          status in $st, stdout in $out, stderr in $err
# Server:   setup               keys, netdisk.conf, images; netdiskd started
#           conf_global LISTEN, start_server, kill_server SIGNAL, info_field EXPORT FIELD
# Devices:  ndevs, attr DEV FILE, wait_until SECONDS CMD..., written_kib DEV,
#           written_at_least DEV KIB, connected DEV
# Jobs:     alive PID, not_alive PID, reap PID SECONDS (status in $st)
# fio:      fio_errors, fio_diag (its output in $W/fio.out, stdout and
#           stderr in $W/fio.log)
# Kernel log: log_mark, log_since, attach_balance
# Keys:     key_leaks WHERE (0: the key is nowhere in the kernel log,
#           sysfs, /proc/*/cmdline or /proc/*/environ)

PORT=26547
URI=netdisk://127.0.0.1:$PORT
W=/tmp/nd
SRV=""

if test -c /dev/ttyS1 && (: >/dev/ttyS1) 2>/dev/null; then
	exec 3>/dev/ttyS1
else
	exec 3>&1
fi

# say LINE: a result line on both channels.
say() {
	printf '%s\n' "$1" >&3
	printf 'KTEST %s\n' "$1"
}

ok() {
	say "ok - $*"
}

notok() {
	say "not ok - $*"
}

diag() {
	local l

	printf '%s\n' "$@" | while IFS= read -r l; do
		say "#   $l"
	done
}

# diag_file FILE [LINES]: its last lines.
diag_file() {
	test -s "$1" || return 0
	say "#   --- $1 (last ${2:-15} lines):"
	tail -n "${2:-15}" "$1" | while IFS= read -r l; do
		say "#     $l"
	done
}

bail() {
	notok "$*"
	finish 1
}

# finish [STATUS]: the end of the script.
finish() {
	test -n "$SRV" && kill "$SRV" 2>/dev/null
	say "done"
	exec 3>&-
	exit "${1:-0}"
}

check() {
	local d=$1

	shift
	if "$@"; then
		ok "$d"
	else
		notok "$d"
		return 1
	fi
}

is() {
	if test "x$2" = "x$3"; then
		ok "$1"
	else
		notok "$1"
		diag "got:      '$2'" "expected: '$3'"
		return 1
	fi
}

like() {
	if printf '%s\n' "$2" | grep -Eq -- "$3"; then
		ok "$1"
	else
		notok "$1"
		diag "got:      '$2'" "expected to match: $3"
		return 1
	fi
}

# run CMD...: status in $st, stdout in $out, stderr in $err.
run() {
	"$@" >$W/run.out 2>$W/run.err
	st=$?
	out=$(cat $W/run.out)
	err=$(cat $W/run.err)
}

# show: the last run's results, as diagnostics.
show() {
	diag "exit $st, stdout [$out], stderr [$err]"
}

# now: seconds since boot, with decimals.
now() {
	cut -d' ' -f1 /proc/uptime
}

# since T0: seconds since T0 (from now), one decimal.
since() {
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'
}

# wait_until SECONDS CMD...: poll CMD every 0.2 s; 1 if it never succeeds.
wait_until() {
	local n=$(($1 * 5))

	shift
	while ! "$@"; do
		n=$((n - 1))
		test $n -gt 0 || return 1
		sleep 0.2
	done
}

# alive PID: running, not a zombie.
alive() {
	test -e "/proc/$1" && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

not_alive() {
	! alive "$1"
}

# reap PID SECONDS: wait for a background job for at most SECONDS; its
# status in $st (124 if it had to be killed; busybox timeout's status is
# 143 when it kills, so the checks take any status over 123 as a hang).
reap() {
	if wait_until "$2" not_alive "$1"; then
		wait "$1"
		st=$?
	else
		kill -KILL "$1" 2>/dev/null
		st=124
	fi
}

# fio_errors: the error lines of fio's output (--output) and its stdout
# and stderr (fio.log).
fio_errors() {
	cat $W/fio.out $W/fio.log 2>/dev/null | grep -E 'err= *[1-9]|verify|error'
}

# fio_diag: fio's status and output.
fio_diag() {
	diag "fio exit $st"
	diag_file $W/fio.log 10
	diag_file $W/fio.out 30
}

ndevs() {
	ls -d /sys/block/netdisk* 2>/dev/null | wc -l
}

# attr DEV FILE: /sys/block/DEV/netdisk/FILE.
attr() {
	cat "/sys/block/$1/netdisk/$2" 2>/dev/null
}

# written_kib DEV: KiB written to DEV since it appeared.
written_kib() {
	awk '{ print int($7 / 2) }' "/sys/block/$1/stat" 2>/dev/null
}

# connected DEV: the device's state is "connected" (for wait_until).
connected() {
	test "$(attr "$1" state)" = connected
}

# written_at_least DEV KIB
written_at_least() {
	test "$(written_kib "$1")" -ge "$2" 2>/dev/null
}

log_mark() {
	log_mark_n=$(dmesg | wc -l)
}

# log_since: the kernel messages since log_mark.
log_since() {
	dmesg | tail -n +$((log_mark_n + 1))
}

# attach_balance: prints what is wrong with the attach/detach lines of the
# kernel log (nothing if each "netdiskN: attached" has its "netdiskN:
# detached" and no device is attached twice or detached unattached).
attach_balance() {
	dmesg | awk '
	match($0, /netdisk[0-9]+: (attached|detached)/) {
		s = substr($0, RSTART, RLENGTH)
		n = s; sub(/:.*/, "", n)
		if (s ~ /attached$/) {
			if (up[n]) print n ": attached twice"
			up[n] = 1; att++
		} else {
			if (!up[n]) print n ": detached while not attached"
			up[n] = 0; det++
		}
	}
	END {
		for (n in up) if (up[n]) print n ": attached, never detached"
		if (!att) print "no attached lines at all"
	}'
}

server_listening() {
	grep -q ":67B3 00000000:0000 0A" /proc/net/tcp
}

start_server() {
	netdiskd -f -c $W/netdisk.conf >>$W/netdiskd.log 2>&1 &
	SRV=$!
	if ! wait_until 10 server_listening; then
		diag_file $W/netdiskd.log
		bail "netdiskd does not listen on port $PORT"
	fi
}

# kill_server SIGNAL: signal netdiskd and reap it.
kill_server() {
	kill "-$1" "$SRV"
	wait "$SRV" 2>/dev/null
	SRV=""
}

# info_field EXPORT FIELD: a field of "netdiskctl info EXPORT" (the number
# for size).
info_field() {
	sed -n "s/^$2: \\([^ ]*\\).*/\\1/p" "$W/info.$1"
}

# key_leaks WHERE [nosys]: 0 if neither key appears in the kernel log,
# /proc/*/cmdline, /proc/*/environ or (unless nosys) any sysfs file;
# otherwise a diagnostic says where.  grep -f: a key given as an argument
# would be in grep's own cmdline.
key_leaks() {
	local n

	n=$( (dmesg; cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null |
	    tr '\0' '\n') | grep -ci -f $W/keys.pat)
	: >$W/leaks
	if test "$2" != nosys; then
		# not debugfs, tracefs or configfs: trace_pipe and the like block
		find /sys \( -path /sys/kernel/debug -o -path /sys/kernel/tracing \
		    -o -path /sys/kernel/config \) -prune -o -type f -perm -0400 \
		    -print >$W/sysfiles
		timeout 120 xargs grep -li -f $W/keys.pat <$W/sysfiles \
		    >>$W/leaks 2>/dev/null
		test $? -ge 124 && echo "grep timed out" >>$W/leaks
	fi
	test "$n" = 0 && ! test -s $W/leaks && return 0
	diag "$1: $n lines of the kernel log or /proc/*/{cmdline,environ}" \
	    "have a key; sysfs: $(cat $W/leaks)"
	return 1
}

# conf_global LISTEN: the [global] section of a netdisk.conf in $W, on
# stdout: LISTEN on $PORT, the key file "key", the pidfile and control
# socket beside it.
conf_global() {
	cat <<EOF
[global]
listen = $1
port = $PORT
keyfile = key
pidfile = netdiskd.pid
control_socket = netdiskd.sock
EOF
}

# setup [SIZE]: the working folder, two keys, netdisk.conf with the
# exports demo (read-write, SIZE, default 256M) and ro (read-only, 20 MiB
# + 12 KiB of which 4 MiB random), netdiskd, and each export's
# "netdiskctl info" in $W/info.EXPORT.
setup() {
	mkdir -p $W && cd $W || exit 1
	# a task blocked for 30 s is a hang in these short tests
	echo 30 >/proc/sys/kernel/hung_task_timeout_secs
	modprobe -q aesni_intel 2>/dev/null
	netdiskctl genkey -o key || bail "netdiskctl genkey"
	netdiskctl genkey -o bad.key || bail "netdiskctl genkey"
	cat key bad.key >keys.pat
	dd if=/dev/urandom of=ro.img bs=1M count=4 2>/dev/null
	truncate -s $((20 * 1048576 + 12288)) ro.img
	ro_sha=$(sha256sum <ro.img | cut -d' ' -f1)
	{
		conf_global "127.0.0.1, [::1]"
		cat <<EOF
[demo]
path = demo.img
size = ${1:-256M}
[ro]
path = ro.img
readonly = yes
EOF
	} >netdisk.conf
	start_server
	for e in demo ro; do
		netdiskctl info -k key "$URI/$e" >info.$e 2>&1 ||
		    { diag_file info.$e; bail "netdiskctl info $e"; }
	done
	diag "netdiskctl info demo: $(tr '\n' ' ' <info.demo)"
	diag "netdiskctl info ro: $(tr '\n' ' ' <info.ro)"
}
