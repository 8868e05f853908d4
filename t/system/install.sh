#!/bin/bash
# SPDX-License-Identifier: ISC
# make install DESTDIR=... from the build tree: every file lands where
# configure said and nothing else does; the systemd units pass
# systemd-analyze verify, the OpenRC scripts sh -n (and shellcheck), the
# sysusers.d and tmpfiles.d files create the user and the socket directory
# in a scratch root, and the installed netdisk.conf passes netdiskd -n
# with that user.  A second install keeps an edited netdisk.conf, and
# make uninstall removes every file but an edited config file.
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"

requires make
test -f "$top_builddir/Makefile" || bail_out "no Makefile in $top_builddir"

# make in the build tree, not part of the make check that runs this test.
bmake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$top_builddir" "$@"
}

# mvar NAME: the value of a variable of the build tree's Makefile.
mvar() {
	printf 'nd-print-var:\n\t@echo $(%s)\n' "$1" |
	    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make -s -C "$top_builddir" -f Makefile -f - nd-print-var
}

for v in sbindir sysconfdir mandir systemdsystemunitdir sysusersdir \
    tmpfilesdir openrcdir initramfstoolsdir dracutdir udevrulesdir pkgdatadir \
    dist_man_MANS; do
	eval "$v=\$(mvar $v)" || bail_out "cannot read $v from the Makefile"
done

D=$T/dest
# The files make install must install, one path a line, sorted.
{
	echo "$sbindir/netdiskd"
	echo "$sbindir/netdiskctl"
	for m in $dist_man_MANS; do
		echo "$mandir/man${m##*.}/${m##*/}"
	done
	echo "$sysconfdir/netdisk.conf"
	echo "$sysconfdir/netdisktab"
	if test "$systemdsystemunitdir" != no; then
		echo "$systemdsystemunitdir/netdiskd.service"
		echo "$systemdsystemunitdir/netdisk-attach.service"
	fi
	test "$sysusersdir" = no || echo "$sysusersdir/netdisk.conf"
	test "$tmpfilesdir" = no || echo "$tmpfilesdir/netdisk.conf"
	if test "$openrcdir" != no; then
		echo "$openrcdir/netdiskd"
		echo "$openrcdir/netdisk-attach"
	fi
	if test "$initramfstoolsdir" != no; then
		echo "$initramfstoolsdir/hooks/netdisk"
		echo "$initramfstoolsdir/scripts/local-top/netdisk"
	fi
	if test "$dracutdir" != no; then
		for f in module-setup.sh parse-netdisk.sh netdisk-root.sh; do
			echo "$dracutdir/modules.d/30netdisk/$f"
		done
	fi
	test "$udevrulesdir" = no || echo "$udevrulesdir/60-netdisk.rules"
	if test "$initramfstoolsdir" != no || test "$dracutdir" != no; then
		echo "$pkgdatadir/netdisk-build.sh"
		echo "$pkgdatadir/netdisk-boot.sh"
	fi
} | sort >"$T/expected"

installed() {
	(cd "$D" && find . ! -type d | sed 's/^\.//' | sort)
}

tap_plan 33

# ---------------------------------------------------------------- install
tap_ok "make install DESTDIR=..." bmake install DESTDIR="$D" ||
    bail_out "make install failed"
installed >"$T/got"
tap_ok "exactly the expected files are installed" \
    diff -u "$T/expected" "$T/got"
tap_ok "the programs are executable" \
    test -x "$D$sbindir/netdiskd" -a -x "$D$sbindir/netdiskctl"
tap_ok "netdisk.conf is the shipped one" \
    cmp "$top_srcdir/etc/netdisk.conf" "$D$sysconfdir/netdisk.conf"
tap_ok "netdisktab is the shipped one" \
    cmp "$top_srcdir/etc/netdisktab" "$D$sysconfdir/netdisktab"
tap_is "the config files are mode 644" \
    "$(stat -c %a "$D$sysconfdir/netdisk.conf" "$D$sysconfdir/netdisktab" | tr '\n' ' ')" \
    "644 644 "

# ---------------------------------------------------------------- units
# systemd-analyze verify checks the syntax, that every Exec command
# exists and that every man: page of Documentation= opens.  The units
# name the installed paths, which are under $D here: a copy of each unit
# with $D put before them is verified, against the installed man pages.
if test "$systemdsystemunitdir" = no; then
	for i in 1 2 3 4; do
		tap_skip "systemd units" "configured --without-systemdsystemunitdir"
	done
elif ! command -v systemd-analyze >/dev/null 2>&1; then
	for i in 1 2 3 4; do
		tap_skip "systemd units" "systemd-analyze not found"
	done
else
	mkdir "$T/units"
	for u in netdiskd.service netdisk-attach.service; do
		sed -e "s|$sbindir/|$D$sbindir/|g" \
		    -e "s|$sysconfdir/|$D$sysconfdir/|g" \
		    "$D$systemdsystemunitdir/$u" >"$T/units/$u"
	done
	for u in netdiskd.service netdisk-attach.service; do
		tap_ok "$u passes systemd-analyze verify" \
		    env MANPATH="$D$mandir" SYSTEMD_LOG_COLOR=0 \
		    systemd-analyze verify "$T/units/$u"
		tap_is "... without a word" "$(cat "$T/out" "$T/err")" ""
	done
fi
u=$D$systemdsystemunitdir/netdiskd.service
if test -f "$u"; then
	tap_ok "netdiskd.service runs $sbindir/netdiskd -f on $sysconfdir/netdisk.conf" \
	    grep -qx "ExecStart=$sbindir/netdiskd -f -c $sysconfdir/netdisk.conf" "$u"
else
	tap_skip "netdiskd.service ExecStart" "no systemd units installed"
fi

# ---------------------------------------------------------------- OpenRC
if test "$openrcdir" = no; then
	for i in 1 2 3; do
		tap_skip "OpenRC scripts" "configured --without-openrcdir"
	done
else
	for s in netdiskd netdisk-attach; do
		tap_ok "OpenRC $s: sh -n, and openrc-run on the first line" \
		    sh -c 'sh -n "$1" && test "$(head -n 1 "$1")" = "#!/sbin/openrc-run"' \
		    sh "$D$openrcdir/$s"
	done
	# SC2034: OpenRC reads command, pidfile, description ...
	if command -v shellcheck >/dev/null 2>&1; then
		tap_ok "shellcheck on the OpenRC scripts" shellcheck -s sh -e SC2034 \
		    "$D$openrcdir/netdiskd" "$D$openrcdir/netdisk-attach"
	else
		tap_skip "shellcheck on the OpenRC scripts" "shellcheck not found"
	fi
fi

# ---------------------------------------------------------------- initramfs
if test "$initramfstoolsdir" = no; then
	for i in 1 2 3; do
		tap_skip "initramfs-tools files" "configured --without-initramfs-tools-dir"
	done
else
	h=$D$initramfstoolsdir/hooks/netdisk
	s=$D$initramfstoolsdir/scripts/local-top/netdisk
	tap_ok "initramfs-tools hook and boot script: executable, sh -n" \
	    sh -c 'test -x "$1" && test -x "$2" && sh -n "$1" && sh -n "$2"' sh "$h" "$s"
	tap_ok "... the hook copies $sbindir/netdiskctl, reads $sysconfdir/netdisk/initramfs.conf" \
	    sh -c 'grep -q "^copy_exec $2/netdiskctl /sbin\$" "$1" &&
	    grep -q "^conf=$3/netdisk/initramfs.conf\$" "$1" &&
	    grep -q "^nd_libdir=$4\$" "$1"' sh "$h" "$sbindir" "$sysconfdir" "$pkgdatadir"
	if command -v shellcheck >/dev/null 2>&1; then
		tap_ok "shellcheck on the initramfs-tools files" shellcheck -s sh "$h" "$s" \
		    "$D$pkgdatadir/netdisk-build.sh" "$D$pkgdatadir/netdisk-boot.sh"
	else
		tap_skip "shellcheck on the initramfs-tools files" "shellcheck not found"
	fi
fi
if test "$dracutdir" = no; then
	for i in 1 2 3; do
		tap_skip "dracut module" "configured --without-dracut-dir"
	done
else
	m=$D$dracutdir/modules.d/30netdisk
	tap_ok "dracut module: executable files, bash -n / sh -n" \
	    sh -c 'test -x "$1/module-setup.sh" && test -x "$1/parse-netdisk.sh" &&
	    test -x "$1/netdisk-root.sh" && bash -n "$1/module-setup.sh" &&
	    sh -n "$1/parse-netdisk.sh" && sh -n "$1/netdisk-root.sh"' sh "$m"
	tap_ok "... module-setup.sh uses $sbindir/netdiskctl, $sysconfdir/netdisk/initramfs.conf, $pkgdatadir" \
	    sh -c 'grep -q "^	inst_binary $2/netdiskctl /sbin/netdiskctl\$" "$1" &&
	    grep -q "^nd_conf=$3/netdisk/initramfs.conf\$" "$1" &&
	    grep -q "^nd_libdir=$4\$" "$1"' sh "$m/module-setup.sh" "$sbindir" "$sysconfdir" "$pkgdatadir"
	if command -v shellcheck >/dev/null 2>&1; then
		tap_ok "shellcheck on the dracut module" sh -c 'shellcheck -s bash "$1/module-setup.sh" &&
		    shellcheck -s sh "$1/parse-netdisk.sh" "$1/netdisk-root.sh"' sh "$m"
	else
		tap_skip "shellcheck on the dracut module" "shellcheck not found"
	fi
fi

# ---------------------------------------------------------------- user
# A scratch root with a copy of this system's user database: sysusers.d
# adds the netdisk user there and tmpfiles.d creates /run/netdisk.
R=$T/root
mkdir -p "$R/etc"
for f in passwd group shadow gshadow; do
	test -f "/etc/$f" && cp "/etc/$f" "$R/etc/$f"
done
users=no
if test "$sysusersdir" = no || ! command -v systemd-sysusers >/dev/null 2>&1; then
	for i in 1 2 3; do
		tap_skip "sysusers.d/netdisk.conf" "no sysusers.d file or no systemd-sysusers"
	done
else
	tap_ok "systemd-sysusers --root creates the user" \
	    systemd-sysusers --root="$R" "$D$sysusersdir/netdisk.conf" && users=yes
	tap_like "... netdisk, with a group of its own" \
	    "$(grep '^netdisk:' "$R/etc/passwd")" \
	    "^netdisk:x:[0-9]+:$(grep '^netdisk:' "$R/etc/group" | cut -d: -f3):"
	tap_like "... in the group disk" "$(grep '^disk:' "$R/etc/group")" \
	    '[:,]netdisk(,|$)'
fi
if test "$tmpfilesdir" = no || test $users = no ||
    ! command -v systemd-tmpfiles >/dev/null 2>&1; then
	tap_skip "tmpfiles.d/netdisk.conf" "no tmpfiles.d file, user or systemd-tmpfiles"
else
	systemd-tmpfiles --root="$R" --create "$D$tmpfilesdir/netdisk.conf" \
	    >"$T/out" 2>&1
	id=$(grep '^netdisk:' "$R/etc/passwd" | cut -d: -f3,4)
	tap_is "systemd-tmpfiles --root creates /run/netdisk 0750 netdisk:netdisk" \
	    "$(stat -c '%F %a %u:%g' "$R/run/netdisk" 2>&1)" "directory 750 $id" ||
	    tap_diag_file "$T/out"
fi

# netdiskd -n as if the user existed: in a mount namespace of its own,
# the scratch root's user database is bound over /etc/passwd and
# /etc/group.
as_installed() {
	if getent passwd netdisk >/dev/null && getent group netdisk >/dev/null; then
		"$@"
	else
		unshare -m sh -c 'mount --bind "$1/etc/passwd" /etc/passwd &&
		    mount --bind "$1/etc/group" /etc/group && shift && exec "$@"' \
		    sh "$R" "$@"
	fi
}
can_check=no
if test $users = yes && as_installed true 2>/dev/null; then
	can_check=yes
elif getent passwd netdisk >/dev/null && getent group netdisk >/dev/null; then
	can_check=yes
fi
if test $can_check = no; then
	tap_skip "the installed netdisk.conf passes netdiskd -n" \
	    "no user netdisk here, and unshare -m cannot make one"
	tap_skip "... with its keys, example export and keyfile uncommented" "as above"
else
	tap_ok "the installed netdisk.conf passes netdiskd -n" \
	    as_installed "$D$sbindir/netdiskd" -n -c "$D$sysconfdir/netdisk.conf"
	# What the comments tell an administrator to do: uncomment the
	# keyfile and the example export (their paths moved into $T), and
	# every key given with its default.
	make_key "$T/netdisk.key" || bail_out "netdiskctl genkey failed"
	sed -e "s|^;keyfile = /etc/netdisk/netdisk.key\$|keyfile = $T/netdisk.key|" \
	    -e '/^;keyfile = \/etc\/netdisk\/home.key$/b' \
	    -e 's/^;\([a-z_]* = \)/\1/' -e 's/^;\[home\]$/[home]/' \
	    -e "s|^path = /srv/netdisk/|path = $T/|" \
	    "$D$sysconfdir/netdisk.conf" >"$T/edited.conf"
	if grep -q '^\[home\]' "$T/edited.conf" &&
	    grep -q '^keyfile = ' "$T/edited.conf"; then
		tap_ok "... with its keys, example export and keyfile uncommented" \
		    as_installed "$D$sbindir/netdiskd" -n -c "$T/edited.conf"
	else
		tap_fail "... with its keys, example export and keyfile uncommented" \
		    "no [home] or keyfile line to uncomment in netdisk.conf"
	fi
fi

# ---------------------------------------------------------------- uninstall
tap_ok "make uninstall DESTDIR=..." bmake uninstall DESTDIR="$D"
tap_is "... leaves no file behind" "$(installed)" ""

# An edited netdisk.conf survives make install and make uninstall.
bmake install DESTDIR="$D" >"$T/out" 2>&1 || bail_out "make install failed"
echo "log_level = debug" >>"$D$sysconfdir/netdisk.conf"
cp "$D$sysconfdir/netdisk.conf" "$T/edited-copy"
tap_ok "make install again keeps an edited netdisk.conf" \
    bmake install DESTDIR="$D"
cp "$T/out" "$T/install2.out"
tap_ok "... unchanged" cmp "$T/edited-copy" "$D$sysconfdir/netdisk.conf"
tap_ok "... and says so" \
    grep -q "keeping the existing $D$sysconfdir/netdisk.conf" "$T/install2.out"
tap_ok "make uninstall DESTDIR=... again" bmake uninstall DESTDIR="$D"
tap_is "... keeps only the edited netdisk.conf" "$(installed)" \
    "$sysconfdir/netdisk.conf"
