#!/bin/bash
# SPDX-License-Identifier: ISC
# The man pages: mandoc -T lint is clean on every page, each program's
# usage matches the SYNOPSIS of its page, and the lists the pages keep
# (netdiskctl's subcommands and exit codes, netdisk.conf's keys,
# netdiskd's signals and default paths) match the sources.
. "$(dirname "$0")/functions.sh"

requires mandoc

D=$top_srcdir/docs
S=$top_srcdir/src/lib
PAGES=$(ls "$D"/*.[1-9] "$top_srcdir/kernel/netdisk.4")

tap_plan $(($(echo "$PAGES" | wc -l) + 13))

# ---------------------------------------------------------------- helpers

# Lower case, one space between words, none at the ends.
norm() {
	tr '[:upper:]' '[:lower:]' | sed 's/[[:space:]][[:space:]]*/ /g; s/^ //; s/ $//'
}

# synopsis PAGE: the SYNOPSIS as rendered, one form per line, normalised.
synopsis() {
	mandoc -T ascii -O width=1000 "$1" | sed 's/.\x08//g' |
	    sed -n '/^SYNOPSIS$/,/^[A-Z]/p' | sed '1d;$d' | grep -v '^ *$' |
	    norm
}

# usage_forms PROG: the forms of a usage message on stdin (lines starting
# with "usage: PROG" or "PROG" after blanks), normalised, "usage:" dropped.
usage_forms() {
	sed -n "s/^usage: *\\($1 \\)/\\1/p; t; s/^[[:space:]]*\\($1 \\)/\\1/p" |
	    norm | grep -vx "$1 command \\[args\\]"
}

# section PAGE NAME: the mdoc source of section .Sh NAME (or .Ss NAME).
section() {
	awk -v name="$2" '
	    $1 == ".Sh" || $1 == ".Ss" {
		s = $0; sub(/^\.S[hs] */, "", s)
		if (on && ($1 == ".Sh" || s != name)) exit
		if (s == name) { on = 1; next }
	    }
	    on' "$1"
}

# items: the first word after ".It Cm", ".It Ic" or ".It" of the
# top-level items of an mdoc list on stdin.
items() {
	awk -v macro="$1" '
	    $1 == ".Bl" { depth++; next }
	    $1 == ".El" { depth--; next }
	    depth == 1 && $1 == ".It" {
		if (macro == "") print $2
		else if ($2 == macro) print $3
	    }'
}

# same_sets DESC NAME_A FILE_A NAME_B FILE_B: both files hold the same
# lines, in any order; the diagnostics list the lines only one has.
same_sets() {
	local only_a only_b

	only_a=$(sort -u "$3" | comm -23 - <(sort -u "$5"))
	only_b=$(sort -u "$5" | comm -13 <(sort -u "$3") -)
	if test -n "$only_a$only_b"; then
		tap_fail "$1" \
		    ${only_a:+"only in $2:" "$(echo "$only_a" | sed 's/^/    /')"} \
		    ${only_b:+"only in $4:" "$(echo "$only_b" | sed 's/^/    /')"}
	elif ! test -s "$3"; then
		tap_fail "$1" "nothing found in $2"
	else
		tap_pass "$1"
	fi
}

# ---------------------------------------------------------------- lint

for page in $PAGES; do
	mandoc -T lint -W warning "$page" >"$T/lint" 2>&1
	st=$?
	if test $st -eq 0 && ! test -s "$T/lint"; then
		tap_pass "mandoc -T lint -W warning: ${page#"$top_srcdir"/}"
	else
		tap_fail "mandoc -T lint -W warning: ${page#"$top_srcdir"/}" \
		    "mandoc exited $st"
		tap_diag_file "$T/lint" 40
	fi
done

# ---------------------------------------------------------------- netdiskd

tap_ok "netdiskd -h exits 0" netdiskd -h
usage_forms netdiskd <"$T/out" >"$T/nd.usage"
synopsis "$D/netdiskd.8" >"$T/nd.man"
same_sets "netdiskd -h prints the SYNOPSIS of netdiskd(8)" \
    "netdiskd -h" "$T/nd.usage" "netdiskd.8" "$T/nd.man"

# The signals netdiskd handles are the ones SIGNALS describes.
grep -ho 'sigaddset([^,]*, *SIG[A-Z0-9]*' "$top_srcdir"/src/netdiskd/*.c |
    sed 's/.*\(SIG[A-Z0-9]*\)$/\1/' | sort -u >"$T/sig.src"
section "$D/netdiskd.8" SIGNALS | awk '$1 == ".It"' |
    grep -o 'SIG[A-Z0-9]*' | sort -u >"$T/sig.man"
same_sets "netdiskd(8) SIGNALS: the signals netdiskd blocks and handles" \
    "src/netdiskd/*.c (sigaddset)" "$T/sig.src" "netdiskd.8" "$T/sig.man"

# The default paths of the sources (those written as plain strings) are
# in FILES.
sed -n 's/^#define[[:space:]]*CONF_\(DEFAULT_PATH\|PIDFILE\|CONTROL_SOCKET\)[[:space:]]*"\(.*\)"$/\2/p' \
    "$S/conf.h" "$S/conf.c" | sort -u >"$T/paths.src"
section "$D/netdiskd.8" FILES | awk '$1 == ".It" && $2 == "Pa" { print $3 }' |
    sort -u >"$T/paths.man"
tap_is "netdiskd(8) FILES names the default paths of src/lib/conf.[ch]" \
    "$(comm -23 "$T/paths.src" "$T/paths.man")$(test -s "$T/paths.src" ||
    echo "no default path found in src/lib/conf.[ch]")" ""

# ---------------------------------------------------------------- netdiskctl

tap_ok "netdiskctl -h exits 0" netdiskctl -h
usage_forms netdiskctl <"$T/out" >"$T/ctl.usage"
synopsis "$D/netdiskctl.8" >"$T/ctl.man"
same_sets "netdiskctl -h prints the SYNOPSIS of netdiskctl(8)" \
    "netdiskctl -h" "$T/ctl.usage" "netdiskctl.8" "$T/ctl.man"

# Every subcommand of the program is described under COMMANDS, and every
# one described there exists.
awk '$2 !~ /^-/ { print $2 }' "$T/ctl.usage" | sort -u >"$T/cmds.usage"
section "$D/netdiskctl.8" COMMANDS | items Cm | sort -u >"$T/cmds.man"
same_sets "netdiskctl(8) COMMANDS describes every subcommand of netdiskctl -h" \
    "netdiskctl -h" "$T/cmds.usage" "netdiskctl.8 COMMANDS" "$T/cmds.man"

# Each documented subcommand runs: --help exits 0 with forms of the page.
bad=""
for cmd in $(cat "$T/cmds.man"); do
	netdiskctl "$cmd" --help >"$T/help" 2>&1
	st=$?
	usage_forms netdiskctl <"$T/help" >"$T/help.forms"
	if test $st -ne 0; then
		bad="$bad$cmd: netdiskctl $cmd --help exited $st"$'\n'
	elif ! test -s "$T/help.forms"; then
		bad="$bad$cmd: no usage line in: $(head -n 1 "$T/help")"$'\n'
	fi
	while read -r form; do
		grep -qxF -- "$form" "$T/ctl.man" ||
			bad="$bad$cmd: not in netdiskctl.8: $form"$'\n'
	done <"$T/help.forms"
done
if test -z "$bad"; then
	tap_pass "netdiskctl CMD --help: every documented subcommand exists and prints forms of netdiskctl(8)"
else
	tap_fail "netdiskctl CMD --help: every documented subcommand exists and prints forms of netdiskctl(8)" \
	    "${bad%$'\n'}"
fi

# The exit codes: enum client_err, and EXIT STATUS.
awk '/^enum client_err[[:space:]]*{/ { on = 1; next } on && /^}/ { exit }
    on' "$S/client.h" | sed -n 's/.*=[[:space:]]*\([0-9][0-9]*\).*/\1/p' |
    sort -u >"$T/exit.src"
section "$D/netdiskctl.8" "EXIT STATUS" | items | sort -u >"$T/exit.man"
same_sets "netdiskctl(8) EXIT STATUS: the codes of enum client_err" \
    "src/lib/client.h" "$T/exit.src" "netdiskctl.8" "$T/exit.man"

# ---------------------------------------------------------------- netdisk.conf

# conf_keys TABLE: the key names of a table of src/lib/conf.c.
conf_keys() {
	awk -v t="$1" 'index($0, t "[] = {") { on = 1; next }
	    on && /^};/ { exit } on' "$S/conf.c" |
	    sed -n 's/^[[:space:]]*{[[:space:]]*"\([^"]*\)".*/\1/p' | sort -u
}

conf_keys global_keys >"$T/global.src"
section "$D/netdisk.conf.5" "The global section" | items Ic | sort -u \
    >"$T/global.man"
same_sets "netdisk.conf(5) documents every key of [global]" \
    "src/lib/conf.c global_keys" "$T/global.src" "netdisk.conf.5" "$T/global.man"
conf_keys export_keys >"$T/export.src"
section "$D/netdisk.conf.5" "Export sections" | items Ic | sort -u \
    >"$T/export.man"
same_sets "netdisk.conf(5) documents every key of an export section" \
    "src/lib/conf.c export_keys" "$T/export.src" "netdisk.conf.5" "$T/export.man"

# Each key has a default or is marked required, and an example.
bad=""
for sec in "The global section" "Export sections"; do
	section "$D/netdisk.conf.5" "$sec" | awk '
	    $1 == ".Bl" { depth++; if (depth == 1) next }
	    $1 == ".El" { depth--; if (depth == 0) { flush(); exit } }
	    depth == 1 && $1 == ".It" { flush(); key = $3; text = ""; next }
	    { text = text " " $0 }
	    function flush() {
		if (key == "") return
		if (text !~ /Default|Required|Optional/)
			print key ": says neither its default nor Required nor Optional"
		if (text !~ /Example/)
			print key ": has no example"
	    }' >"$T/keys.bad"
	bad="$bad$(cat "$T/keys.bad")"
done
tap_is "netdisk.conf(5): every key has a default (or is required) and an example" \
    "$bad" ""

# Pages referred to from the others exist, netdisk(4) in kernel/.
grep -ho '^\.Xr netdisk[a-z.]* [0-9]' "$D"/*.[1-9] "$top_srcdir/kernel/netdisk.4" |
    awk '{ print $2 "." $3 }' | sort -u >"$T/xr"
missing=""
for ref in $(cat "$T/xr"); do
	test -f "$D/$ref" || test -f "$top_srcdir/kernel/$ref" ||
		missing="$missing $ref"
done
tap_is "every netdisk page that a page refers to (.Xr) exists" "$missing" ""
