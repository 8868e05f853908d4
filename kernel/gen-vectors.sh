#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# gen-vectors.sh V2TXT: print a C header with every "name = hex" line of
# the protocol test vectors (t/vectors/v2.txt) as
#   static const u8 ndv_name[] = { ... };
# for kernel/selftest.c.  Comments (#) and blank lines are skipped; any
# other line is an error, so a malformed file fails the build.

set -eu
test $# -eq 1 || { echo "usage: gen-vectors.sh V2TXT" >&2; exit 2; }

awk -v src="$1" '
BEGIN {
	print "/* SPDX-License-Identifier: GPL-2.0 */"
	print "/* Generated from t/vectors/v2.txt by kernel/gen-vectors.sh: do not edit. */"
	print "#ifndef ND_VECTORS_H"
	print "#define ND_VECTORS_H"
	print ""
}
/^[ \t]*#/ || NF == 0 { next }
NF == 3 && $2 == "=" && $1 ~ /^[a-z][a-z0-9_]*$/ && \
    $3 ~ /^([0-9a-f][0-9a-f])+$/ {
	printf "static const u8 ndv_%s[] = {", $1
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
		print "#endif /* ND_VECTORS_H */"
}
' "$1"
