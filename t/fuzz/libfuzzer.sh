#!/bin/sh
# SPDX-License-Identifier: ISC
# make fuzz: builds every fuzz target with clang's libFuzzer, AddressSanitizer
# and UndefinedBehaviorSanitizer, and runs each for FUZZ_SECONDS seconds.
#
# Needs clang and its libFuzzer runtime; on Debian 12 the packages
# clang-14 and libclang-rt-14-dev (libclang_rt.fuzzer-x86_64.a).
#
# Environment (make fuzz passes the configured values):
#   top_srcdir, top_builddir   source and build trees (config.h is in the build tree)
#   FUZZ_SECONDS               per target, default 60
#   FUZZ_TARGETS               which targets, default all
#   FUZZ_CC                    the compiler, default clang
#   FUZZ_FLAGS                 more libFuzzer flags, e.g. "-jobs=2 -workers=2"
#   INIH_CFLAGS INIH_LIBS LIBBSD_CFLAGS LIBBSD_LIBS MBEDTLS_LIBS
#   LIBCRYPTO_CFLAGS LIBCRYPTO_LIBS
#
# Output in $top_builddir/t/fuzz/lf/: the binaries, NAME.log, the corpus
# each run grew (corpus/NAME; the seeds in t/fuzz/corpus/NAME are only
# read) and NAME-crash-*, NAME-leak-*, NAME-timeout-* files for inputs
# that failed.
# A failing input reproduces with: t/fuzz/lf/NAME FILE
# Exit status 1 if any target failed.
set -u

: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=.}"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_TARGETS:=fuzz_conf fuzz_uri fuzz_hello fuzz_hello3 fuzz_server_hello fuzz_record fuzz_request fuzz_tab fuzz_overlay_map fuzz_nbd}"
: "${FUZZ_CC:=clang}"
: "${FUZZ_FLAGS:=}"
: "${INIH_CFLAGS=$(pkg-config --cflags inih 2>/dev/null)}"
: "${INIH_LIBS=$(pkg-config --libs inih 2>/dev/null)}"
: "${LIBBSD_CFLAGS=$(pkg-config --cflags libbsd-overlay 2>/dev/null)}"
: "${LIBBSD_LIBS=$(pkg-config --libs libbsd-overlay 2>/dev/null)}"
: "${MBEDTLS_LIBS=-lmbedcrypto}"
: "${LIBCRYPTO_CFLAGS=$(pkg-config --cflags libcrypto 2>/dev/null)}"
: "${LIBCRYPTO_LIBS=$(pkg-config --libs libcrypto 2>/dev/null)}"

src=$top_srcdir
lf=$top_builddir/t/fuzz/lf
# The library sources the targets need (the parsers and what they call).
lib_sources="crypto crypto_mbedtls crypto_openssl aesgcm_x86 sockio handshake record util uri key conf request tab nbd_wire log"
# The daemon units the targets need (src/netdiskd).
daemon_sources="overlay_map"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
cflags="-std=gnu11 -g -O1 -fno-omit-frame-pointer $san
	-Wall -Wextra -Wno-unused-parameter
	-I$top_builddir -I$src/include -I$src/src/lib -I$src/src/netdiskd
	-I$src/t/fuzz
	$LIBBSD_CFLAGS $INIH_CFLAGS $LIBCRYPTO_CFLAGS"
libs="$INIH_LIBS $LIBBSD_LIBS $MBEDTLS_LIBS $LIBCRYPTO_LIBS -pthread"

UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export UBSAN_OPTIONS

die() {
	echo "libfuzzer.sh: $*" >&2
	exit 2
}

command -v "$FUZZ_CC" >/dev/null 2>&1 ||
	die "$FUZZ_CC not found (Debian: apt-get install clang-14 libclang-rt-14-dev)"
test -f "$top_builddir/config.h" ||
	die "$top_builddir/config.h not found: run configure first"
mkdir -p "$lf/obj" || die "cannot create $lf"

# compile OUT SRC: instrumented for coverage, no main.
compile() {
	echo "  CC       $1"
	# shellcheck disable=SC2086
	"$FUZZ_CC" $cflags -fsanitize=fuzzer-no-link -c -o "$1" "$2" ||
		die "compiling $2 failed"
}

objs=
for s in $lib_sources $daemon_sources fuzz_util; do
	case $s in
	fuzz_util) in=$src/t/fuzz/$s.c ;;
	overlay_map) in=$src/src/netdiskd/$s.c ;;
	*) in=$src/src/lib/$s.c ;;
	esac
	compile "$lf/obj/$s.o" "$in"
	objs="$objs $lf/obj/$s.o"
done

failed=
for t in $FUZZ_TARGETS; do
	test -f "$src/t/fuzz/$t.c" || die "no target $t"
	compile "$lf/obj/$t.o" "$src/t/fuzz/$t.c"
	echo "  CCLD     $lf/$t"
	# shellcheck disable=SC2086
	"$FUZZ_CC" $cflags -fsanitize=fuzzer -o "$lf/$t" "$lf/obj/$t.o" \
	    $objs $libs || die "linking $t failed"
done

for t in $FUZZ_TARGETS; do
	mkdir -p "$lf/corpus/$t"
	dict=
	test -f "$src/t/fuzz/$t.dict" && dict=-dict=$src/t/fuzz/$t.dict
	echo "  FUZZ     $t for ${FUZZ_SECONDS}s (log: $lf/$t.log)"
	# shellcheck disable=SC2086
	"$lf/$t" -max_total_time="$FUZZ_SECONDS" -timeout=20 \
	    -print_final_stats=1 -artifact_prefix="$lf/$t-" $dict $FUZZ_FLAGS \
	    "$lf/corpus/$t" "$src/t/fuzz/corpus/$t" >"$lf/$t.log" 2>&1
	status=$?
	grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' \
	    "$lf/$t.log" | sed 's/^/           /'
	if test $status -ne 0; then
		echo "  FAIL     $t (exit status $status):"
		grep -E 'ERROR|SUMMARY|invariant broken|Test unit written|artifact' \
		    "$lf/$t.log" | sed 's/^/           /'
		failed="$failed $t"
	fi
done

if test -n "$failed"; then
	echo "fuzz: failed:$failed (see $lf/*.log)"
	exit 1
fi
echo "fuzz: no failures in $FUZZ_SECONDS s per target"
