#!/bin/bash
# SPDX-License-Identifier: ISC
# mkinitramfs.sh - build the initramfs of one kernel test guest
#
# Usage: mkinitramfs.sh [-m MODULE]... [-i MODULE]... [-d SUBDIR]...
#            [-k FILE.ko]... OUTPUT VERSION MODDIR TEST_SCRIPT [FILE[=DEST]...]
#
#   OUTPUT       the image to write (newc cpio, gzip)
#   VERSION      the kernel release (uname -r in the guest)
#   MODDIR       that kernel's modules: .../lib/modules/VERSION with
#                modules.dep, as fetch-kernels.sh prints it
#   TEST_SCRIPT  copied to /test.sh; /init sources it in a subshell of
#                busybox sh, in /tmp (its exit status is the test's)
#   FILE[=DEST]  further files, at DEST (default: the same path).  A name
#                without a slash is looked up in PATH.  ELF programs and
#                libraries come with the shared libraries ldd lists.
#   -m MODULE    a module (and its dependencies) /init loads before the test
#   -i MODULE    a module put in the image for the test to load (modprobe)
#   -d SUBDIR    every module under MODDIR/SUBDIR, e.g. kernel/crypto,
#                kernel/arch/x86/crypto and kernel/lib/crypto: the kernel
#                loads crypto drivers on demand (gcm(aes) needs ghash)
#   -k FILE.ko   an out-of-tree module, put in /lib/modules/VERSION/extra
#                with the modules it depends on; the test loads it
#
# The guest has busybox (static) for the shell and tools, kmod for
# modprobe/insmod/rmmod/lsmod/modinfo, loopback up, /proc /sys /dev /tmp
# /run mounted (debugfs and configfs where the kernel has them).  /init
# prints "NETDISK-KTEST-END status=N" with the test's exit status (125 if a
# -m module did not load) and powers off.

set -u -o pipefail
export LC_ALL=C

END_MARKER="NETDISK-KTEST-END"
load_mods=""
image_mods=""
image_dirs=""
extra_kos=""

usage() {
	echo "usage: mkinitramfs.sh [-m MODULE]... [-i MODULE]... [-d SUBDIR]..." \
	    "[-k FILE.ko]... OUTPUT VERSION MODDIR TEST_SCRIPT [FILE[=DEST]...]" >&2
	exit 2
}

die() {
	echo "mkinitramfs: $*" >&2
	exit 1
}

# copy_file SRC DEST: SRC (symlinks followed) to $stage/DEST.
copy_file() {
	mkdir -p "$stage/$(dirname "$2")" &&
	    cp -L --preserve=mode "$1" "$stage/$2"
}

# copy_elf SRC DEST: a program or library with the libraries it needs.
copy_elf() {
	local lib

	copy_file "$1" "$2" || return 1
	for lib in $(ldd "$1" 2>/dev/null |
	    sed -n 's/.*=> \(\/[^ ]*\) (0x.*/\1/p; s/^\t*\(\/[^ ]*\) (0x.*/\1/p'); do
		test -e "$stage/$lib" || copy_file "$lib" "$lib" || return 1
	done
}

# add_file SPEC: FILE[=DEST] as described in the usage.
add_file() {
	local src=${1%%=*} dest=${1#*=}

	test "$dest" = "$1" && dest=""
	case $src in
	*/*) ;;
	*) src=$(command -v "$src") || die "$1: not found in PATH" ;;
	esac
	test -f "$src" || die "$src: no such file"
	: "${dest:=$src}"
	if test "$(head -c 4 "$src" | tail -c 3)" = ELF; then
		copy_elf "$src" "$dest"
	else
		copy_file "$src" "$dest"
	fi || die "cannot copy $src"
}

# add_busybox: the static busybox and a link for each applet.
add_busybox() {
	local bb applet

	bb=$(command -v busybox) || die "busybox not found (apt-get install busybox-static)"
	ldd "$bb" >/dev/null 2>&1 && die "$bb is not static (apt-get install busybox-static)"
	copy_file "$bb" bin/busybox || die "cannot copy $bb"
	for applet in $("$bb" --list-full); do
		test "$applet" = bin/busybox && continue
		mkdir -p "$stage/$(dirname "$applet")"
		ln -sf /bin/busybox "$stage/$applet"
	done
}

# add_kmod: kmod, which reads compressed modules and modules.dep, in place
# of busybox's module tools.
add_kmod() {
	local k t

	k=$(command -v kmod) || die "kmod not found (apt-get install kmod)"
	copy_elf "$k" bin/kmod || die "cannot copy $k"
	# busybox sh runs its own applets before anything in PATH: the test
	# script is sourced after these functions, which call kmod by path.
	mkdir -p "$stage/etc"
	: >"$stage/etc/ktest-profile"
	for t in modprobe insmod rmmod lsmod modinfo depmod; do
		rm -f "$stage/bin/$t" "$stage/usr/bin/$t" "$stage/usr/sbin/$t"
		ln -sf /bin/kmod "$stage/sbin/$t"
		echo "$t() { /sbin/$t \"\$@\"; }" >>"$stage/etc/ktest-profile"
	done
}

# module_files MODULE: the module files MODULE needs, dependencies first
# (nothing for a built-in module).
module_files() {
	modprobe -d "$root" -S "$version" --show-depends "$1" |
	    sed -n 's/^insmod \([^ ]*\).*/\1/p'
}

# copy_module SRC DEST: a module file, decompressed (kmod 30 tries a
# compressed module on the kernel first, which logs "Invalid ELF header").
copy_module() {
	local out="$stage/${2%.*}"

	case $2 in
	*.ko) copy_file "$1" "$2" ;;
	*.ko.xz) mkdir -p "$(dirname "$out")" && xz -dc "$1" >"$out" ;;
	*.ko.zst) mkdir -p "$(dirname "$out")" && zstd -qdc "$1" >"$out" ;;
	*.ko.gz) mkdir -p "$(dirname "$out")" && gzip -dc "$1" >"$out" ;;
	*) false ;;
	esac
}

# add_module MODULE: MODULE and its dependencies from the kernel's tree.
add_module() {
	local f files dest

	files=$(module_files "$1") || die "module $1 not found for $version"
	for f in $files; do
		dest=${f#"$root"/}
		test -e "$stage/${dest%.ko*}.ko" && continue
		copy_module "$f" "$dest" || die "cannot copy $f"
	done
}

# add_dir SUBDIR: every module under MODDIR/SUBDIR with its dependencies,
# as modules.dep lists them (it names every module a module needs).
add_dir() {
	local f

	test -d "$moddir/$1" || die "$moddir/$1: no such folder"
	for f in $(cd "$moddir" && find "${1%/}/" -name '*.ko*' | awk '
	    NR == FNR { want[$0] = 1; next }
	    { sub(":", "", $1) }
	    $1 in want { for (i = 1; i <= NF; i++) print $i }' - modules.dep |
	    sort -u); do
		test -e "$stage/lib/modules/$version/${f%.ko*}.ko" && continue
		copy_module "$moddir/$f" "lib/modules/$version/$f" ||
		    die "cannot copy $moddir/$f"
	done
}

# add_extra_ko FILE: an out-of-tree module and what it depends on (but the
# other -k modules).
add_extra_ko() {
	local dep

	copy_file "$1" "lib/modules/$version/extra/$(basename "$1")" ||
	    die "cannot copy $1"
	for dep in $(modinfo -F depends "$1" | tr ',-' ' _'); do
		case " $(echo "$extra_kos" | tr '-' '_') " in
		*/"$dep.ko "*) continue ;;
		esac
		add_module "$dep"
	done
}

# add_modules: everything asked for, then modules.dep for the image.
add_modules() {
	local m f d

	mkdir -p "$stage/lib/modules/$version"
	for m in $load_mods $image_mods; do
		add_module "$m"
	done
	for d in $image_dirs; do
		add_dir "$d"
	done
	for f in $extra_kos; do
		add_extra_ko "$f"
	done
	for f in modules.order modules.builtin modules.builtin.modinfo; do
		test -f "$moddir/$f" && cp "$moddir/$f" "$stage/lib/modules/$version/"
	done
	depmod -b "$stage" "$version" || die "depmod failed"
}

write_init() {
	cat >"$stage/init" <<EOF
#!/bin/sh
# /init of a netdisk kernel test guest (written by mkinitramfs.sh)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t configfs configfs /sys/kernel/config 2>/dev/null
. /etc/ktest-profile
hostname ktest
ip link set lo up
status=0
for m in \$(cat /etc/ktest-modules); do
	modprobe "\$m" || { echo "init: modprobe \$m failed"; status=125; }
done
if test \$status = 0; then
	echo "init: running /test.sh on \$(uname -r)"
	(cd /tmp && . /test.sh)
	status=\$?
fi
sync
echo
echo "$END_MARKER status=\$status"
poweroff -f
sleep 10
echo o >/proc/sysrq-trigger
EOF
	chmod 755 "$stage/init"
}

write_etc() {
	mkdir -p "$stage/etc" "$stage/root" "$stage/proc" "$stage/sys" \
	    "$stage/dev" "$stage/tmp" "$stage/run"
	echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
	echo "root:x:0:" >"$stage/etc/group"
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$stage/etc/hosts"
	echo "$load_mods" | tr ' ' '\n' | sed '/^$/d' >"$stage/etc/ktest-modules"
	# The kernel opens /dev/console before /init mounts devtmpfs.
	mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true
}

while getopts m:i:d:k: opt; do
	case $opt in
	m) load_mods="$load_mods $OPTARG" ;;
	i) image_mods="$image_mods $OPTARG" ;;
	d) image_dirs="$image_dirs $OPTARG" ;;
	k) extra_kos="$extra_kos $(realpath "$OPTARG")" ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
test $# -ge 4 || usage
output=$1 version=$2 moddir=${3%/} script=$4
shift 4
case $moddir in
*/lib/modules/"$version") root=${moddir%/lib/modules/"$version"} ;;
*) die "$moddir: not a .../lib/modules/$version folder" ;;
esac
test -f "$moddir/modules.dep" || die "$moddir/modules.dep: missing (run depmod)"
test -f "$script" || die "$script: no such file"

stage=$(mktemp -d "${TMPDIR:-/tmp}/mkinitramfs.XXXXXX") || exit 1
trap 'rm -rf "$stage"' EXIT

add_busybox
add_kmod
add_modules
for f in "$@"; do
	add_file "$f"
done
write_etc
write_init
install -m 755 "$script" "$stage/test.sh" || die "cannot copy $script"
if ! (cd "$stage" && find . -mindepth 1 | sort | cpio --quiet -o -H newc -R 0:0) |
    gzip -1 >"$output.tmp"; then
	rm -f "$output.tmp"
	die "cannot write $output"
fi
mv "$output.tmp" "$output" || die "cannot write $output"
