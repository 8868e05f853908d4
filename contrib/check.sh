#!/usr/bin/env bash
# SPDX-License-Identifier: ISC
# The whole check, as CI runs it (.ci/run):
#   1. build/werror: configure --enable-werror, make check
#   2. build/asan:   configure --enable-werror --enable-sanitizers, make check
#   3. build/werror: make distcheck
# The kernel tests (t/kernel: QEMU guests, several minutes) run once, in
# step 1; steps 2 and 3 set NETDISK_KERNEL_TESTS=0, which makes them skip.
# Prints the log of every failing test, then "N passed, M failed" as the
# last line: the PASS and FAIL (+ ERROR, XPASS) counts of the three test
# runs added up, plus one failure for each step that failed without
# running its tests (configure or compile errors).  Exits non-zero on any
# failure.
set -u
cd "$(dirname "$0")/.." || exit 1
passed=0
failed=0
last_failed=0
bad_steps=""

say() { printf '\n=== check.sh: %s\n' "$*"; }

# Counts "# PASS: N" style lines of an Automake test summary.
count() {	# FILE
	local p f
	p=$(awk '/^# (PASS|XFAIL):/ { n += $3 } END { print n + 0 }' "$1")
	f=$(awk '/^# (FAIL|ERROR|XPASS):/ { n += $3 } END { print n + 0 }' "$1")
	passed=$((passed + p))
	failed=$((failed + f))
	last_failed=$f
	echo "check.sh: $1: $p passed, $f failed"
}

# The .log of every test under the DIRs that did not pass, a line each.
failed_logs() {	# DIR...
	local trs
	find "$@" -name '*.trs' 2>/dev/null | sort | while read -r trs; do
		grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs" &&
		    echo "${trs%.trs}.log"
	done
}

# Prints the .log of every test under DIR that did not pass.
show_failures() {	# DIR
	local log
	failed_logs "$1" | while read -r log; do
		printf '\n----- %s\n' "$log"
		cat "$log"
		printf -- '----- end of %s\n' "$log"
	done
}

# The failed checks of every test under the DIRs that did not pass, with
# the comment lines after each, at most 40 lines a test: repeated in the
# summary, where the end of a long output still shows them.
failure_digest() {	# DIR...
	local log
	failed_logs "$@" | while read -r log; do
		echo "--- $log:"
		awk '/^not ok / { show = 1; print; next }
		    /^ok / { show = 0; next }
		    /^(ERROR: |Bail out!)/ { print; next }
		    show && /^#/ { print }' "$log" | head -n 40
	done
}

# Records a failed step; it adds one failure unless told 0 (when the
# failing tests of that step are already counted).
step_failed() {	# NAME [1|0]
	echo "check.sh: FAILED: $1"
	bad_steps="$bad_steps
  $1"
	[ "${2:-1}" = 1 ] && failed=$((failed + 1))
	return 0
}

# make check in build/NAME with the given configure options.
build_and_check() {	# NAME CONFIGURE-OPTIONS...
	local dir=build/$1
	shift
	say "$dir: configure $*"
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! (cd "$dir" && ../../configure "$@" >configure.out 2>&1); then
		cat "$dir/configure.out"
		step_failed "$dir: configure"
		return 1
	fi
	say "$dir: make -j2 check"
	if (cd "$dir" && make -j2 check); then
		count "$dir/test-suite.log"
		return 0
	fi
	if [ -f "$dir/test-suite.log" ]; then
		count "$dir/test-suite.log"
		show_failures "$dir"
		step_failed "$dir: make check" $((last_failed > 0 ? 0 : 1))
	else
		step_failed "$dir: make check (build failed)"
	fi
	return 1
}

# LeakSanitizer needs ptrace; under a tracer (strace, gdb, some sandboxes)
# it aborts every program at exit instead of reporting leaks.  Probe with a
# program that leaks on purpose: if LeakSanitizer does not report that
# leak, it cannot work here, so leak detection is turned off and the rest
# of AddressSanitizer stays on.
lsan_works() {
	local d rc
	d=$(mktemp -d) || return 1
	printf '#include <stdlib.h>\nvoid *volatile p;\nint main(void) { p = malloc(7); p = 0; return 0; }\n' >"$d/leak.c"
	if ! cc -fsanitize=address -o "$d/leak" "$d/leak.c" 2>/dev/null; then
		rm -rf "$d"
		return 1
	fi
	ASAN_OPTIONS=detect_leaks=1 "$d/leak" >"$d/out" 2>&1
	rc=$?
	grep -q 'detected memory leaks' "$d/out" && [ "$rc" -ne 0 ]
	rc=$?
	rm -rf "$d"
	return $rc
}

say "dependencies"
./contrib/deps.sh || step_failed "contrib/deps.sh"

# A VPATH build refuses a source tree configured in place (as
# contrib/quickstart.sh leaves it): clean that build now and rebuild it at
# the end, so src/netdiskd/netdiskd and src/netdiskctl/netdiskctl are there again.
intree=0
if [ -f config.status ]; then
	say "removing the in-tree build (make distclean) for the VPATH builds"
	make distclean >/dev/null 2>&1 || rm -f config.status
	intree=1
fi

say "autogen.sh"
if ! ./autogen.sh; then
	step_failed "autogen.sh"
	echo "$passed passed, $failed failed"
	exit 1
fi

build_and_check werror --enable-werror
werror_ok=$?
export NETDISK_KERNEL_TESTS=0

if lsan_works; then
	leaks=1
else
	echo "check.sh: LeakSanitizer cannot run here (ptrace restricted); leak detection off"
	leaks=0
fi
export ASAN_OPTIONS="detect_leaks=$leaks:abort_on_error=0:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
build_and_check asan --enable-werror --enable-sanitizers
unset ASAN_OPTIONS UBSAN_OPTIONS

if [ "$werror_ok" -eq 0 ]; then
	say "build/werror: make distcheck"
	if (cd build/werror &&
	    make -j2 distcheck AM_COLOR_TESTS=no \
	        DISTCHECK_CONFIGURE_FLAGS=--enable-werror 2>&1 |
	    tee distcheck.out; exit "${PIPESTATUS[0]}"); then
		count build/werror/distcheck.out
	elif grep -q '^# TOTAL:' build/werror/distcheck.out; then
		count build/werror/distcheck.out
		show_failures build/werror/netdisk-*
		step_failed "build/werror: make distcheck" $((last_failed > 0 ? 0 : 1))
	else
		step_failed "build/werror: make distcheck"
	fi
else
	step_failed "build/werror: make distcheck (skipped: the werror build failed)"
fi

if [ "$intree" -eq 1 ]; then
	say "rebuilding the in-tree build"
	{ ./configure && make -j2; } >build/intree.out 2>&1 ||
	    step_failed "in-tree rebuild (see build/intree.out)"
fi

say "summary"
if [ -n "$bad_steps" ]; then
	failure_digest build
	echo "failed steps:$bad_steps"
fi
echo "$passed passed, $failed failed"
[ -z "$bad_steps" ] && [ "$failed" -eq 0 ]
