#!/bin/bash
# SPDX-License-Identifier: ISC
# The Debian packages: dpkg-buildpackage -us -uc -b on a copy of the
# source tree as "make dist" would ship it (make distdir: works from a git
# checkout and from the read-only tree of make distcheck alike) builds
# netdiskd, netdisk-client and netdisk-dkms; each holds its files; netdiskd
# and netdisk-client install into a scratch root with dpkg --root, their
# maintainer scripts included (they honour DPKG_ROOT: the user, the
# socket directory and the unit links land in the scratch root), and
# their units pass systemd-analyze verify there.  netdisk-dkms is only
# unpacked: its postinst would run dkms on this machine.  Then the two
# packages are installed by dpkg in a Debian 12 container booted with
# systemd (systemd-nspawn) and used there (t/system/systemd-guest.sh).
#
# Skipped in a sanitizer build (the packages do not depend on how this
# tree was configured, so the other builds test them) and with
# NETDISK_PACKAGE_TESTS=0 (debian/rules sets it: no package build inside
# the package build).
here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"

if test "${NETDISK_PACKAGE_TESTS:-1}" = 0; then
	echo "1..0 # SKIP NETDISK_PACKAGE_TESTS=0"
	exit 0
fi
if grep -q -- '--enable-sanitizers' "$top_builddir/config.status" 2>/dev/null; then
	echo "1..0 # SKIP a sanitizer build (the packages are tested in the others)"
	exit 0
fi
for tool in dpkg-buildpackage dh dh_dkms dpkg-deb dpkg make; do
	requires "$tool"
done
if test "$(id -u)" -ne 0; then
	echo "1..0 # SKIP dpkg --root --force-script-chrootless needs root"
	exit 0
fi
# dpkg-checkbuilddeps: every Build-Depends is installed (contrib/deps.sh).
if ! (cd "$top_srcdir" && dpkg-checkbuilddeps) >"$T/deps" 2>&1; then
	echo "1..0 # SKIP $(tr '\n' ' ' <"$T/deps") (run contrib/deps.sh)"
	exit 0
fi

nomake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL "$@"
}

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$top_srcdir/kernel/dkms.conf")
S=$T/build/netdisk-$version
mkdir "$T/build"

# Checks of t/system/systemd-guest.sh, under systemd in a container.
NGUEST=23
tap_plan $((28 + NGUEST))

# ---------------------------------------------------------------- build
tap_ok "make distdir: a copy of the source tree" nomake make -C "$top_builddir" \
    distdir distdir="$S" top_distdir="$S" || bail_out "make distdir failed"
# Files copied from the read-only tree of make distcheck stay read-only.
chmod -R u+w "$S"
(cd "$S" && nomake env DEB_BUILD_OPTIONS=nocheck \
    dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
st=$?
tap_is "dpkg-buildpackage -us -uc -b" "$st" 0 || {
	tap_diag_file "$T/build.log" 40
	bail_out "the packages did not build"
}

arch=$(dpkg --print-architecture)
deb_d=$T/build/netdiskd_${version}_$arch.deb
deb_c=$T/build/netdisk-client_${version}_$arch.deb
deb_k=$T/build/netdisk-dkms_${version}_all.deb
tap_ok "it built netdiskd, netdisk-client and netdisk-dkms" \
    test -f "$deb_d" -a -f "$deb_c" -a -f "$deb_k"

# ---------------------------------------------------------------- contents
# has DEB PATH...: every PATH is in the package.
has() {
	local deb=$1 p missing=""

	shift
	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$T/list"
	for p in "$@"; do
		grep -qx -- "$p" "$T/list" || missing="$missing $p"
	done
	test -z "$missing" || { echo "missing:$missing"; cat "$T/list"; return 1; }
}

tap_ok "netdiskd has the daemon, its config, unit, user and man pages" \
    has "$deb_d" /usr/sbin/netdiskd /etc/netdisk.conf \
    /lib/systemd/system/netdiskd.service /usr/lib/sysusers.d/netdisk.conf \
    /usr/lib/tmpfiles.d/netdisk.conf /usr/share/man/man8/netdiskd.8.gz \
    /usr/share/man/man5/netdisk.conf.5.gz
tap_ok "netdisk-client has netdiskctl, netdisktab, the attach unit, the udev rules, the initramfs-tools and dracut files" \
    has "$deb_c" /usr/sbin/netdiskctl /etc/netdisktab \
    /lib/systemd/system/netdisk-attach.service \
    /usr/share/initramfs-tools/hooks/netdisk \
    /usr/share/initramfs-tools/scripts/local-top/netdisk \
    /usr/lib/dracut/modules.d/30netdisk/module-setup.sh \
    /usr/lib/dracut/modules.d/30netdisk/parse-netdisk.sh \
    /usr/lib/dracut/modules.d/30netdisk/netdisk-root.sh \
    /usr/share/netdisk/netdisk-build.sh /usr/share/netdisk/netdisk-boot.sh \
    /usr/lib/udev/rules.d/60-netdisk.rules \
    /usr/share/man/man8/netdiskctl.8.gz /usr/share/man/man5/netdisktab.5.gz
src=/usr/src/netdisk-$version
tap_ok "netdisk-dkms has the module source for DKMS and netdisk(4)" \
    has "$deb_k" "$src/dkms.conf" "$src/Kbuild" "$src/Makefile" \
    "$src/main.c" "$src/compat.h" "$src/gen-vectors.sh" \
    "$src/include/netdisk_proto.h" "$src/t/vectors/v2.txt" \
    /usr/share/man/man4/netdisk.4.gz
tap_ok "no program in netdisk-dkms, no module source elsewhere" sh -c '
    ! dpkg-deb -c "$1" | grep -q /usr/sbin/ &&
    ! dpkg-deb -c "$2" | grep -q /usr/src/ &&
    ! dpkg-deb -c "$3" | grep -q /usr/src/' sh "$deb_k" "$deb_d" "$deb_c"
tap_ok "netdisk.conf and netdisktab are conffiles" sh -c '
    dpkg-deb -f "$1" Package >/dev/null &&
    dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./conffiles | grep -qx /etc/netdisk.conf &&
    dpkg-deb --ctrl-tarfile "$2" | tar -xOf - ./conffiles | grep -qx /etc/netdisktab' \
    sh "$deb_d" "$deb_c"
tap_ok "netdisk-dkms registers with dkms in its postinst" sh -c '
    dpkg-deb --ctrl-tarfile "$1" | tar -xOf - ./postinst | grep -q dkms' sh "$deb_k"
tap_ok "netdisk-dkms depends on dkms" sh -c \
    'dpkg-deb -f "$1" Depends | grep -q "\bdkms\b"' sh "$deb_k"
# Debian's dracut conflicts with initramfs-tools: files for both, neither
# required.
tap_ok "netdisk-client depends on neither initramfs-tools nor dracut" sh -c \
    '! dpkg-deb -f "$1" Depends Pre-Depends | grep -qE "initramfs-tools|dracut"' sh "$deb_c"

# ---------------------------------------------------------------- DKMS
# Unpacked only: its postinst would run dkms on this machine.
tap_ok "dpkg-deb -x unpacks netdisk-dkms" dpkg-deb -x "$deb_k" "$T/dkms"
tap_ok "... its dkms.conf names netdisk $version" sh -c \
    'grep -qx "PACKAGE_NAME=\"netdisk\"" "$1" &&
    grep -qx "PACKAGE_VERSION=\"$2\"" "$1"' sh "$T/dkms$src/dkms.conf" "$version"

# ---------------------------------------------------------------- install
# A scratch root with an empty dpkg database.  The dependencies (libc,
# the libraries, systemd) are this machine's, hence --force-depends; the
# maintainer scripts run here with DPKG_ROOT set (chrootless).  On a
# machine booted with systemd they would also start netdiskd.service of
# the machine (debhelper 13.11's snippet checks /run/systemd/system, not
# DPKG_ROOT): not there.
if test -d /run/systemd/system; then
	for i in $(seq $((15 + NGUEST))); do
		tap_skip "dpkg --root install" "this machine runs systemd"
	done
	exit 0
fi
R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/etc"
: >"$R/var/lib/dpkg/status"
: >"$R/var/lib/dpkg/available"
tap_ok "dpkg --root installs netdiskd and netdisk-client" \
    dpkg --root="$R" --force-script-chrootless --force-depends \
    --force-not-root --log=/dev/null -i "$deb_d" "$deb_c"
tap_is "... both installed" \
    "$(dpkg-query --root="$R" -W -f='${Package} ${db:Status-Status}\n' | sort | tr '\n' ' ')" \
    "netdisk-client installed netdiskd installed "
for f in /usr/sbin/netdiskd /usr/sbin/netdiskctl /etc/netdisk.conf \
    /etc/netdisktab; do
	test -f "$R$f" || missing_file="${missing_file:-} $f"
done
tap_is "... its files are in place" "${missing_file:-}" ""
tap_ok "... the postinst created the user netdisk" \
    grep -q '^netdisk:x:[0-9]*:[0-9]*:' "$R/etc/passwd"
tap_like "... in the group disk" "$(grep '^disk:' "$R/etc/group")" '[:,]netdisk(,|$)'
id=$(grep '^netdisk:' "$R/etc/passwd" | cut -d: -f3,4)
tap_is "... and /run/netdisk, 0750 netdisk:netdisk" \
    "$(stat -c '%F %a %u:%g' "$R/run/netdisk" 2>&1)" "directory 750 $id"
tap_ok "... netdiskd.service is enabled" \
    test -L "$R/etc/systemd/system/multi-user.target.wants/netdiskd.service"
tap_ok "... netdisk-attach.service too" \
    test -L "$R/etc/systemd/system/remote-fs.target.wants/netdisk-attach.service"

# The units name /usr/sbin/...: verified as copies naming $R/usr/sbin/...,
# against the packages' man pages (netdisk(4) is in netdisk-dkms).
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir "$T/units" "$T/man"
	for u in netdiskd.service netdisk-attach.service; do
		sed -e "s|/usr/sbin/|$R/usr/sbin/|g" -e "s|/etc/netdisk|$R/etc/netdisk|g" \
		    "$R/lib/systemd/system/$u" >"$T/units/$u"
		tap_ok "$u of the package passes systemd-analyze verify" \
		    env MANPATH="$R/usr/share/man:$T/dkms/usr/share/man" SYSTEMD_LOG_COLOR=0 \
		    systemd-analyze verify "$T/units/$u"
		tap_is "... without a word" "$(cat "$T/out" "$T/err")" ""
	done
else
	for i in 1 2 3 4; do
		tap_skip "systemd-analyze verify" "systemd-analyze not found"
	done
fi

# netdiskd -n of the package on its netdisk.conf, with the scratch root's
# user database bound over this system's in a mount namespace.
tap_ok "the package's netdiskd -n accepts its netdisk.conf" \
    unshare -m sh -c 'mount --bind "$1/etc/passwd" /etc/passwd &&
    mount --bind "$1/etc/group" /etc/group &&
    exec "$1/usr/sbin/netdiskd" -n -c "$1/etc/netdisk.conf"' sh "$R"

tap_ok "dpkg --root --purge removes both" \
    dpkg --root="$R" --force-script-chrootless --force-depends \
    --force-not-root --log=/dev/null --purge netdiskd netdisk-client
tap_is "... and their files" \
    "$(find "$R/usr" "$R/lib" "$R/etc/netdisk.conf" "$R/etc/netdisktab" \
        ! -type d 2>/dev/null)" ""

# ---------------------------------------------------------------- systemd
# The packages under a running systemd: a Debian 12 root file system
# (debootstrap, cached by t/system/systemd-rootfs.sh) booted by systemd-nspawn
# with a private network and a throw-away overlay over the cached tree;
# t/system/systemd-guest.sh installs the packages with dpkg and uses the
# services as an administrator would.  systemd-nspawn gets a terminal
# from script(1) and a cgroup2 hierarchy in a mount namespace of its own.
guest_skip() {
	for i in $(seq $NGUEST); do
		tap_skip "under systemd" "$1"
	done
	exit 0
}
for tool in debootstrap systemd-nspawn script unshare; do
	command -v $tool >/dev/null 2>&1 || guest_skip "$tool not found"
done
# The packages' dependencies, first alternatives, without versions.
deps=$( (dpkg-deb -f "$deb_d" Depends; dpkg-deb -f "$deb_c" Depends) |
    tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/ //g' | grep . | sort -u)
rootfs=${NETDISK_CACHE:-/var/cache/netdisk-ktest}/rootfs-bookworm
# shellcheck disable=SC2086
"$top_srcdir/t/system/systemd-rootfs.sh" "$rootfs" $deps >"$T/rootfs.log" 2>&1 ||
    guest_skip "no Debian root file system: $(tail -n 1 "$T/rootfs.log")"
mkdir "$T/debs" "$T/guest"
cp "$deb_d" "$deb_c" "$T/debs/"
unshare -m sh -c 'mount -t cgroup2 none /sys/fs/cgroup &&
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 exec timeout 300 script -qec \
    "systemd-nspawn -q -D $1 -b --volatile=overlay --private-network \
    --register=no --keep-unit --bind-ro=$2:/debs --bind=$3:/out \
    --bind-ro=$4:/netdisk-test.sh" /dev/null' sh "$rootfs" "$T/debs" \
    "$T/guest" "$top_srcdir/t/system/systemd-guest.sh" >"$T/nspawn.log" 2>&1
st=$?
if ! grep -q '^# done' "$T/guest/tap" 2>/dev/null &&
    ! grep -q '^ok' "$T/guest/tap" 2>/dev/null; then
	tap_diag_file "$T/nspawn.log" 20
	guest_skip "systemd did not boot in a container here (exit $st)"
fi
n=0
while IFS= read -r line; do
	case $line in
	"ok - "*) tap_pass "systemd: ${line#ok - }"; n=$((n + 1)) ;;
	"not ok - "*) tap_fail "systemd: ${line#not ok - }"; n=$((n + 1)) ;;
	"#"*) echo "$line" ;;
	esac
done <"$T/guest/tap"
while test $n -lt $NGUEST; do
	tap_fail "systemd: a check that did not run (the guest stopped early)"
	n=$((n + 1))
done
