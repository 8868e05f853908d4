#!/bin/bash
# SPDX-License-Identifier: ISC
# run-guest.sh - boot one kernel test guest under QEMU and judge the run
#
# Usage: run-guest.sh [-t SECONDS] [-l LOGFILE] [-r FILE] [-c CPUS]
#            [-m MIB] [-n | -N NETDEV] [-a CMDLINE] [-H] [-v] VMLINUZ INITRAMFS
#
#   -t SECONDS  hard limit for the whole boot, test and power-off (120)
#   -l LOGFILE  keep the serial console log there (default: a temporary file)
#   -r FILE     a second serial port, the guest's /dev/ttyS1, into FILE: a
#               channel for test results that kernel messages cannot split
#   -c CPUS     virtual CPUs (2)
#   -m MIB      the guest's RAM (1024)
#   -n          a network card (virtio-net, QEMU's user-mode network):
#               the guest reaches the host's 127.0.0.1 as 10.0.2.2
#               (the test script loads virtio_net and sets the address)
#   -N NETDEV   a network card on QEMU's -netdev NETDEV instead, e.g.
#               socket,udp=127.0.0.1:PORT,localaddr=127.0.0.1:PORT (a
#               network shared with another guest over the host's loopback)
#   -a CMDLINE  more kernel command line (also $NETDISK_KTEST_CMDLINE, for
#               every guest)
#   -H          hardened: hung_task_panic=1, a hung-task timeout of 20 s,
#               slub_debug=FZPU, and kfence.sample_interval=1 when the
#               kernel has KFENCE (CONFIG_KFENCE=y in the config-VERSION
#               beside vmlinuz-VERSION)
#   -v          print the whole console log afterwards
#
# QEMU emulates the CPU (TCG, no KVM): -cpu max, 1 GiB (-m), 2 CPUs (-c), no
# network card (the guest has loopback only) unless -n, the console on ttyS0
# into the log.
# The kernel runs with panic=-1 panic_on_warn=1 oops=panic, so a warning or
# an oops ends the guest at once (-no-reboot).
#
# Exit status: the guest test's status, as /init printed it in its end
# marker (see mkinitramfs.sh); 1 if the console log shows a kernel problem
# (WARNING:, BUG:, Oops, lockdep, hung task, panic...) whatever the test
# said; 124 on timeout; 125 if the guest ended without an end marker.  On
# any failure the last 60 lines of the console log go to stderr.  A kernel
# that crashes before starting /init is booted once more (see below).

set -u
export LC_ALL=C

END_MARKER="NETDISK-KTEST-END"
PROBLEMS='WARNING:|BUG:|kernel BUG at|BUG [^ ]+ \((Not t|T)ainted\)|Oops|lockdep|possible circular locking|hung_task|blocked for more than|Kernel panic|general protection fault|UBSAN:|KASAN:|refcount_t:|list_add corruption|list_del corruption'
limit=120
log=""
results=""
cpus=2
mem=1024
nic=(-nic none)
append=""
verbose=no
hardened=no

usage() {
	echo "usage: run-guest.sh [-t SECONDS] [-l LOGFILE] [-r FILE] [-c CPUS]" \
	    "[-m MIB] [-n | -N NETDEV] [-a CMDLINE] [-H] [-v] VMLINUZ INITRAMFS" >&2
	exit 2
}

# fail STATUS MESSAGE: report with the end of the console log.
fail() {
	echo "run-guest: $2" >&2
	if test -s "$log"; then
		echo "run-guest: last 60 lines of the console log ($log):" >&2
		tail -n 60 "$log" | tr -d '\r' >&2
	fi
	exit "$1"
}

while getopts t:l:r:c:m:nN:a:Hv opt; do
	case $opt in
	t) limit=$OPTARG ;;
	l) log=$OPTARG ;;
	r) results=$OPTARG ;;
	c) cpus=$OPTARG ;;
	m) mem=$OPTARG ;;
	n) nic=(-netdev user,id=n0 -device virtio-net-pci,netdev=n0) ;;
	N) nic=(-netdev "$OPTARG,id=n0" -device virtio-net-pci,netdev=n0) ;;
	a) append="$append $OPTARG" ;;
	H) hardened=yes ;;
	v) verbose=yes ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
test $# = 2 || usage
kernel=$1 initrd=$2
test -f "$kernel" || fail 125 "$kernel: no such file"
test -f "$initrd" || fail 125 "$initrd: no such file"
test -n "${NETDISK_KTEST_CMDLINE:-}" && append="$append $NETDISK_KTEST_CMDLINE"
if test $hardened = yes; then
	append="$append hung_task_panic=1 sysctl.kernel.hung_task_timeout_secs=20 slub_debug=FZPU"
	config=$(dirname "$kernel")/config-$(basename "$kernel" | sed 's/^vmlinuz-//')
	grep -qx 'CONFIG_KFENCE=y' "$config" 2>/dev/null &&
	    append="$append kfence.sample_interval=1"
fi
command -v qemu-system-x86_64 >/dev/null ||
    fail 125 "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
if test -z "$log"; then
	log=$(mktemp "${TMPDIR:-/tmp}/run-guest.XXXXXX") || exit 125
	trap 'rm -f "$log" "$log.crashed-boot"' EXIT
fi
: >"$log"
serial2=()
if test -n "$results"; then
	: >"$results" || fail 125 "cannot write $results"
	serial2=(-serial "file:$results")
fi

# problems: the lines of the console log that report a kernel problem
# (numbered), not counting the kernel command line's echoes (-H puts
# hung_task_panic there).
CMDLINE_LINES='[Cc]ommand line: |Unknown kernel command line parameters'
problems() {
	grep -aEn "$PROBLEMS" "$log" | grep -avE "$CMDLINE_LINES" | tr -d '\r'
}

# boot: one run of the guest; qemu's status in qemu_status.
boot() {
	: >"$log"
	test -z "$results" || : >"$results"
	timeout -k 5 "$limit" qemu-system-x86_64 \
	    -accel tcg -cpu max -m "$mem" -smp "$cpus" \
	    -nodefaults -nographic -no-reboot "${nic[@]}" \
	    -serial "file:$log" "${serial2[@]}" \
	    -kernel "$kernel" -initrd "$initrd" \
	    -append "console=ttyS0 panic=-1 panic_on_warn=1 oops=panic$append" \
	    </dev/null >"$log.qemu" 2>&1
	qemu_status=$?
	qemu_out=$(cat "$log.qemu")
	rm -f "$log.qemu"
}

boot
# A kernel that crashed before it started /init ran no test code (the
# modules under test are loaded by the guest's script): the emulator's
# doing (seen: an int3 Oops in a static-key update under TCG on a loaded
# host).  Reported, its log kept as LOG.crashed-boot, and booted once
# more; a second such crash, and every other problem, count as they are.
if problems | grep -q . &&
    ! grep -aq 'Run /init as init process' "$log"; then
	echo "run-guest: the kernel crashed before starting /init, no test" \
	    "code ran; booting once more:" >&2
	grep -aEn "$PROBLEMS|RIP:" "$log" | grep -avE "$CMDLINE_LINES" |
	    tr -d '\r' | head -n 5 >&2
	cp "$log" "$log.crashed-boot"
	boot
fi

test $verbose = yes && tr -d '\r' <"$log"
if problems | grep -q .; then
	echo "run-guest: kernel problems in the console log:" >&2
	problems | head -n 20 >&2
	fail 1 "the kernel reported a problem"
fi
test $qemu_status = 124 || test $qemu_status = 137 &&
    fail 124 "timed out after $limit s"
status=$(grep -aEo "^$END_MARKER status=[0-9]+" "$log" | tail -n 1 |
    sed 's/.*=//')
if test -z "$status"; then
	test -n "$qemu_out" && echo "$qemu_out" >&2
	fail 125 "no end marker (qemu exited with status $qemu_status)"
fi
test "$status" = 0 || fail "$status" "the guest test exited with status $status"
exit 0
