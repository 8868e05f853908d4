#!/bin/bash
# SPDX-License-Identifier: ISC
# licence.sh - every source file names the licence its folder has
# (LICENSE), and LICENSE, COPYING and debian/copyright are there.
#
# The licence by folder:
#   kernel/     GPL-2.0-only
#   include/    GPL-2.0-only OR MIT   (parentheses around it are allowed)
#   elsewhere   ISC
#
# A source file names it in its first comment line, which is its first
# line, or its second after a #! line:
#   /* SPDX-License-Identifier: ISC */     C (a kernel .c file may use //)
#   # SPDX-License-Identifier: ISC         shell, make, Automake, Autoconf
#
# The source files are the files git tracks (in a tree without .git, as
# in make distcheck: the files below the top, leaving out build-aux/,
# m4/, autom4te.cache/, build*/, netdisk-*/, t/kernel/build-*/ and the
# outputs of configure and of Kbuild) that are:
#   *.c *.h                    C sources and headers
#   *.sh *.am *.ac *.mk        shell scripts, Automake and Autoconf input,
#                              make fragments (t/fuzz/local.mk)
#   Kbuild, kernel/Makefile, kernel/dkms.conf, debian/rules, .ci/run
#   every file under etc/      the service scripts and units (*.in) and
#                              the configuration files
# Not checked: prose (README, LICENSE, COPYING, docs/, t/kernel/README,
# the man pages), data (t/vectors/, the fuzz corpora and dictionaries),
# netdisk.conf.example, the debian/ files other than rules, .gitignore.
# A failing check lists the files at fault and what each one says.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/.." && pwd)}"
# shellcheck source=functions.sh
. "$top_srcdir/t/functions.sh"

cd "$top_srcdir" || bail_out "cannot cd to $top_srcdir"

# is_source PATH: 0 if PATH is a source file (the list above).
is_source() {
	case $1 in
	*.c | *.h | *.sh | *.am | *.ac | *.mk) return 0 ;;
	Kbuild | */Kbuild | kernel/Makefile | kernel/dkms.conf) return 0 ;;
	debian/rules | .ci/run | etc/*) return 0 ;;
	esac
	return 1
}

# all_files: the candidate files, one a line, relative to the top.
all_files() {
	if test -e .git && git ls-files >"$T/git" 2>/dev/null; then
		cat "$T/git"
		return
	fi
	find . \( -path ./build-aux -o -path ./m4 -o -path ./autom4te.cache \
	    -o -path './build*' -o -path './netdisk-*' \
	    -o -path './t/kernel/build-*' -o -name .deps \) -prune -o \
	    -type f ! -name config.h ! -name nd_vectors.h ! -name '*.mod.c' \
	    -print | sed 's|^\./||'
}

# licence_of PATH: the licence the file's folder requires.
licence_of() {
	case $1 in
	kernel/*) echo "GPL-2.0-only" ;;
	include/*) echo "GPL-2.0-only OR MIT" ;;
	*) echo "ISC" ;;
	esac
}

# spdx_line FILE: its first comment line (the second after a #! line).
spdx_line() {
	local l1 l2

	{
		IFS= read -r l1
		IFS= read -r l2
	} <"$1"
	case $l1 in
	'#!'*) printf '%s\n' "$l2" ;;
	*) printf '%s\n' "$l1" ;;
	esac
}

# spdx_of FILE: the licence expression its first comment line states in
# the comment syntax of its kind of file; nothing if it states none.
spdx_of() {
	local line expr

	line=$(spdx_line "$1")
	case $1 in
	*.c | *.h)
		expr=$(printf '%s\n' "$line" | sed -nE \
		    -e 's|^/\* SPDX-License-Identifier: (.*[^ ]) *\*/$|\1|p' \
		    -e 's|^// SPDX-License-Identifier: (.*[^ ]) *$|\1|p') ;;
	*)
		expr=$(printf '%s\n' "$line" | sed -nE \
		    's|^# SPDX-License-Identifier: (.*[^ ]) *$|\1|p') ;;
	esac
	case $expr in
	'('*')') expr=${expr#(} expr=${expr%)} ;;
	esac
	printf '%s\n' "$expr"
}

tap_plan 11

# ---------------------------------------------------------------- texts

tap_ok "LICENSE names the licence of kernel/, include/ and the rest" \
    sh -c 'grep -q "^  kernel/ *GPL-2.0-only\$" LICENSE &&
    grep -q "^  include/ *GPL-2.0-only OR MIT\$" LICENSE &&
    grep -q "everything else: ISC" LICENSE'
tap_ok "COPYING holds the ISC, MIT and GPL version 2 texts" \
    sh -c 'grep -q "^1\\. ISC License" COPYING &&
    grep -q "Permission to use, copy, modify, and/or distribute this software" COPYING &&
    grep -q "^2\\. MIT License" COPYING &&
    grep -q "Permission is hereby granted, free of charge" COPYING &&
    grep -q "^[[:space:]]*GNU GENERAL PUBLIC LICENSE\$" COPYING &&
    grep -q "^[[:space:]]*Version 2, June 1991\$" COPYING &&
    grep -q "END OF TERMS AND CONDITIONS" COPYING'
tap_ok "debian/copyright: a stanza for kernel/, include/ and the rest" \
    sh -c 'grep -q "^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/" debian/copyright &&
    grep -A2 "^Files: \\*\$" debian/copyright | grep -q "^License: ISC\$" &&
    grep -A2 "^Files: kernel/\\*\$" debian/copyright | grep -q "^License: GPL-2\$" &&
    grep -A2 "^Files: include/\\*\$" debian/copyright | grep -q "^License: GPL-2 or Expat\$" &&
    grep -q "^License: ISC\$" debian/copyright'

# ---------------------------------------------------------------- sources

all_files | sort -u >"$T/files"
: >"$T/sources"
while IFS= read -r f; do
	test -f "$f" && is_source "$f" && echo "$f" >>"$T/sources"
done <"$T/files"
n=$(wc -l <"$T/sources")
tap_like "the source files are found ($n)" "$n" '^[1-9][0-9]{2,}$'

# One line per source file: GROUP, FILE, WANTED, FOUND.
while IFS= read -r f; do
	case $f in
	src/* | include/* | kernel/* | t/* | contrib/* | etc/*) g=${f%%/*} ;;
	*) g=top ;;
	esac
	printf '%s\t%s\t%s\t%s\n' "$g" "$f" "$(licence_of "$f")" "$(spdx_of "$f")"
done <"$T/sources" >"$T/found"

# check GROUP DESC: every file of GROUP states the licence it should.
check() {
	local g=$1 desc=$2 bad count

	count=$(awk -F'\t' -v g="$g" '$1 == g' "$T/found" | wc -l)
	bad=$(awk -F'\t' -v g="$g" '$1 == g && $3 != $4 {
		if ($4 == "") printf "%s: no SPDX-License-Identifier line (wants %s)\n", $2, $3
		else printf "%s: says \"%s\", wants \"%s\"\n", $2, $4, $3
	    }' "$T/found")
	if test -z "$bad"; then
		tap_pass "$desc ($count files)"
	else
		tap_fail "$desc ($count files)" \
		    "$(printf '%s\n' "$bad" | wc -l) files at fault:" "$bad"
	fi
}

check top "the build files, debian/rules and .ci/run: ISC"
check contrib "contrib/: ISC"
check etc "etc/: ISC"
check t "t/: ISC"
check src "src/: ISC"
check include "include/: GPL-2.0-only OR MIT"
check kernel "kernel/: GPL-2.0-only"
