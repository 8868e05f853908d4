#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# gen-vectors.sh VTXT [PREFIX]: print a C header with every "name = hex"
# line of protocol test vectors (t/vectors/v2.txt, v3.txt) as
#   static const u8 PREFIX_name[] = { ... };
# for kernel/selftest.c; PREFIX defaults to ndv.  Comments (#) and blank
# lines are skipped; any other line is an error, so a malformed file fails
# the build.

set -eu
case $# in
1) prefix=ndv ;;
2) prefix=$2 ;;
*) echo "usage: gen-vectors.sh VTXT [PREFIX]" >&2; exit 2 ;;
esac
case $prefix in
[a-z]*[a-z0-9]) ;;
*) echo "gen-vectors.sh: bad prefix \"$prefix\"" >&2; exit 2 ;;
esac

awk -v src="$1" -v p="$prefix" '
BEGIN {
	guard = toupper(p) "_VECTORS_H"
	n = split(src, part, "/")
	print "/* SPDX-License-Identifier: GPL-2.0 */"
	printf "/* Generated from t/vectors/%s by kernel/gen-vectors.sh: do not edit. */\n", part[n]
	print "#ifndef " guard
	print "#define " guard
	print ""
}
/^[ \t]*#/ || NF == 0 { next }
NF == 3 && $2 == "=" && $1 ~ /^[a-z][a-z0-9_]*$/ && \
    $3 ~ /^([0-9a-f][0-9a-f])+$/ {
	printf "static const u8 %s_%s[] = {", p, $1
	n = length($3) / 2
	for (i = 0; i < n; i++) {
		printf "%s0x%s,", (i % 12 == 0) ? "\n\t" : " ", \
		    substr($3, 2 * i + 1, 2)
	}
	printf "\n};\n\n"
	next
}
{
	printf "%s:%d: not \"name = hex\"\n", src, NR > "/dev/stderr"
	bad = 1
	exit 1
}
END {
	if (!bad)
		print "#endif /* " guard " */"
}
' "$1"
