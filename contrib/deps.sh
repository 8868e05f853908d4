#!/bin/sh
# SPDX-License-Identifier: ISC
# Installs the Debian packages netdisk needs that are not installed yet.
#
#   contrib/deps.sh            build and test dependencies (kernel and
#                              package tests included)
#   contrib/deps.sh --bench    the same, plus what contrib/bench.sh needs
#
# Only missing packages are installed, and "apt-get update" runs only if
# something is missing.  Needs root (or sudo) when something is missing.
set -eu

# Build: compiler, Autotools, the four libraries (mbedTLS for the handshake,
# OpenSSL's libcrypto for AES-GCM on the records, inih, libbsd), mandoc for
# the man pages.
BUILD="build-essential autoconf automake pkg-config libmbedtls-dev libssl-dev
	libinih-dev libbsd-dev mandoc"
# Tests: coreutils (sha256sum, dd, stat, truncate) and util-linux
# (fallocate), present on every Debian install but listed for stripped-down
# images; e2fsprogs (filefrag: holes in copied files), jq (checks JSON
# output) and socat (receives netdiskd's readiness notifications), without
# which some test cases are skipped.  The NBD listener's tests
# (t/nbd-clients.sh, t/nbd-commands.sh) use libnbd-bin (nbdinfo, nbdcopy,
# nbdsh), python3-libnbd (libnbd's Python module: nbdsh and t/nbd/*.py)
# and qemu-utils (qemu-img), and are skipped without them; their fio
# checks use fio's nbd engine (fio: KERNEL, below); t/nbd-tls.sh makes
# its keys and certificates with gnutls-bin (psktool, certtool).
# What contrib/nbd-tester.sh builds the NBD project's nbd-tester-client
# with (t/nbd-tester.sh): the compiler (build-essential, above), dpkg-dev
# (apt-get source), xz-utils, glib, bison and flex.
NBDTESTER="dpkg-dev xz-utils libglib2.0-dev bison flex"
TEST="coreutils util-linux e2fsprogs jq socat libnbd-bin python3-libnbd
	qemu-utils gnutls-bin $NBDTESTER"
# Kernel tests (t/kernel): QEMU, static busybox, cpio and kmod for the
# guests' initramfs, xz/zstd for Debian's compressed modules, pahole for
# the 6.12 kernel build tree, fio inside the guests (e2fsprogs, above,
# gives them mkfs.ext4 and e2fsck), Linux's nbd-client for the guests of
# t/kernel/nbd.sh.  t/kernel/fetch-kernels.sh installs
# the same host tools when one is missing, plus the gcc-N the kernel
# headers were configured with (gcc-12 on Debian 12, in build-essential).
KERNEL="qemu-system-x86 busybox-static cpio kmod xz-utils zstd pahole fio
	nbd-client"
# Service files and packages (t/system/install.sh, t/system/package.sh): systemd for
# systemd-analyze verify, systemd-sysusers and systemd-tmpfiles (present
# on Debian, listed for containers), shellcheck for the OpenRC scripts,
# and the build dependencies of debian/control for dpkg-buildpackage:
# debhelper (dh_installsysusers too), dh-dkms (dh_dkms) with dkms,
# fakeroot; openrc for openrc-run (t/system/openrc.sh runs the OpenRC script in a
# mount namespace of its own; installing it changes nothing of the host's
# init system); debootstrap, systemd-container (systemd-nspawn) and
# bsdutils (script) to boot the packages under systemd in a container;
# vmdb2 and zerofree to build the appliance's image
# (contrib/appliance/build.sh), the SSH client to log into it
# (t/system/appliance.sh).
PACKAGE="systemd shellcheck debhelper dh-dkms dkms fakeroot dpkg-dev openrc
	debootstrap systemd-container bsdutils vmdb2 zerofree openssh-client"
# Benchmarks (optional, installed by contrib/bench.sh itself): fio with its
# libnbd ioengine as the second NBD client, nbd-server and nbdkit (its
# file plugin) as the plaintext NBD peers (jq, above, reads fio's JSON
# output).
BENCH="fio nbd-server nbdkit"

want="$BUILD $TEST $KERNEL $PACKAGE"
case "${1:-}" in
--bench)	want="$want $BENCH" ;;
"")		;;
*)		echo "usage: contrib/deps.sh [--bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps.sh: all dependencies are installed"
	exit 0
fi

echo "deps.sh: installing:$missing"
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps.sh: not root and no sudo; as root run: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    --no-install-recommends $missing
