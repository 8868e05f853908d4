#!/bin/bash
# SPDX-License-Identifier: ISC
# The fuzz targets without libFuzzer: each target's driver build runs its
# seed corpus (t/fuzz/corpus/NAME), its built-in seeds and a fixed number
# of deterministic mutations of them (FUZZ_ITERATIONS, default 2000).
# One TAP line per run; a target that crashes or breaks an invariant
# leaves its input in t/fuzz/crash-NAME under the build directory.
# Long runs with coverage guidance: make fuzz (t/fuzz/libfuzzer.sh).

if test -z "${top_srcdir:-}"; then
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fi
. "$top_srcdir/t/functions.sh"

targets="fuzz_conf fuzz_uri fuzz_hello fuzz_hello3 fuzz_server_hello fuzz_record
	fuzz_request fuzz_tab fuzz_overlay_map fuzz_nbd"
FUZZ_CRASH_DIR=${FUZZ_CRASH_DIR:-$top_builddir/t/fuzz}
export FUZZ_CRASH_DIR

for t in $targets; do
	prog=$top_builddir/t/fuzz/$t
	if ! test -x "$prog"; then
		tap_fail "$t: $prog is not built"
		continue
	fi
	"$prog" --no-plan "$top_srcdir/t/fuzz/corpus/$t" >"$T/out"
	status=$?
	# The driver's lines, numbered in one sequence for all targets.
	while IFS= read -r line; do
		case $line in
		"ok - "*)	tap_pass "${line#ok - }" ;;
		"not ok - "*)	tap_fail "${line#not ok - }" ;;
		*)		echo "$line" ;;
		esac
	done <"$T/out"
	# Status 1 after a "not ok" line is that failure; anything else is a crash.
	if test "$status" -ne 0 &&
	    { test "$status" -ne 1 || ! grep -q '^not ok' "$T/out"; }; then
		tap_fail "$t: exited with status $status" \
		    "the input is in $FUZZ_CRASH_DIR/crash-$t;" \
		    "reproduce with: $prog -n 0 $FUZZ_CRASH_DIR/crash-$t"
	fi
done
tap_plan "$tap_n"
exit $((tap_failed > 0))
