#!/bin/sh
# SPDX-License-Identifier: ISC
# The source layout: no include circles, and each product folder sees only
# what it may use.
#
# A unit is a file without its extension (src/netdiskd/session stands for
# session.c and session.h).  Unit A uses unit B when A.c or A.h has
# #include "B.h".  A quoted include is looked up the way the build does:
# the including file's own folder first, then the folders its product may
# use:
#   include/          nothing else
#   src/lib/          include/
#   src/netdiskd/     src/lib/, include/
#   src/netdiskctl/   src/lib/, include/
#   kernel/           include/
# A quoted include found nowhere on that list is an error (a daemon header
# used by the library, say); the "uses" graph must have no cycle (checked
# with tsort).  So that no circle hides behind a shared header, every
# function a unit's .c file exports (not static) is declared in that unit's
# own header: conn.c's functions in conn.h, not in a header of all.
. "${top_srcdir:-$(dirname "$0")/..}/t/functions.sh"

tap_plan 4

S=$top_srcdir

# search_path DIR: the folders a file in DIR looks up quoted includes in.
search_path() {
	case $1 in
	include) echo include ;;
	src/lib) echo src/lib include ;;
	src/netdiskd) echo src/netdiskd src/lib include ;;
	src/netdiskctl) echo src/netdiskctl src/lib include ;;
	kernel) echo kernel include ;;
	esac
}

# Print "USER USED" for each quoted include of every source file, and
# "unresolved FILE NAME" for one not found.  config.h (configure's) and
# the kernel's generated nd_vectors.h and nd_vectors_v3.h are not units
# of the tree.
edges() {
	for dir in include src/lib src/netdiskd src/netdiskctl kernel; do
		for f in "$S/$dir"/*.[ch]; do
			test -f "$f" || continue
			user=$dir/$(basename "$f" | sed 's/\.[ch]$//')
			sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
			while read -r name; do
				case $name in config.h|nd_vectors.h|nd_vectors_v3.h) continue ;; esac
				found=
				for d in $(search_path "$dir"); do
					if test -f "$S/$d/$name"; then
						found=$d/${name%.h}
						break
					fi
				done
				if test -z "$found"; then
					echo "unresolved $dir/$(basename "$f") $name"
				elif test "$found" != "$user"; then
					echo "$user $found"
				fi
			done
		done
	done
}

edges >"$T/edges"
tap_ok "the graph has edges (the sources were found)" test -s "$T/edges"

grep '^unresolved ' "$T/edges" >"$T/unresolved"
if test -s "$T/unresolved"; then
	tap_fail "every quoted include is in the file's folder or one its product may use"
	tap_diag_file "$T/unresolved"
else
	tap_pass "every quoted include is in the file's folder or one its product may use"
fi

grep -v '^unresolved ' "$T/edges" | sort -u >"$T/graph"
if tsort "$T/graph" >/dev/null 2>"$T/tsort"; then
	tap_pass "no include circle"
else
	tap_fail "no include circle"
	tap_diag_file "$T/tsort"
fi

# The non-static functions a C file defines, one per line, in both styles
# the tree uses: "type\nname(" and "type name(".  A line before the name
# that says static, or is a macro in capitals (INLINE), counts as static.
defined_functions() {
	awk '
	/^[A-Za-z_][A-Za-z0-9_]*\(/ {
		name = $0; sub(/\(.*/, "", name)
		if (prev != "" && prev !~ /^(#|[A-Z_0-9]+( |$))/ &&
		    prev !~ /(^|[ \t])static([ \t]|$)/ &&
		    prev !~ /;[ \t]*$/)
			print name
	}
	/^[A-Za-z_][^;=]*[ *][A-Za-z_][A-Za-z0-9_]*\(/ && !/^(static|typedef)/ &&
	    !/;[ \t]*$/ {
		s = $0; sub(/\(.*/, "", s); n = split(s, w, /[ *]+/)
		if (w[n] != "" && s ~ /[ *]/ &&
		    s !~ /^(return|if|else|while|for|switch)/)
			print w[n]
	}
	{ prev = $0 }' "$1" | sort -u
}

: >"$T/misplaced"
for dir in src/lib src/netdiskd src/netdiskctl kernel; do
	for f in "$S/$dir"/*.c; do
		test -f "$f" || continue
		unit=${f%.c}
		for fn in $(defined_functions "$f"); do
			case $fn in main) continue ;; esac
			grep -q "[^A-Za-z0-9_]$fn(" "$unit.h" 2>/dev/null ||
				echo "$dir/$(basename "$f"): $fn() is not declared in $dir/$(basename "$unit").h" >>"$T/misplaced"
		done
	done
done
if test -s "$T/misplaced"; then
	tap_fail "every exported function is declared in its own unit's header"
	tap_diag_file "$T/misplaced" 200
else
	tap_pass "every exported function is declared in its own unit's header"
fi
