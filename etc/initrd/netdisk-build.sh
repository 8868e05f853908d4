# SPDX-License-Identifier: ISC
# netdisk-build.sh - what the initramfs-tools hook and the dracut module
# (module-setup.sh) share when they make an image for network boot
# (docs/netboot.md), sourced by both from @pkgdatadir@: the settings of
# /etc/netdisk/initramfs.conf checked, and the files of netdisk's own put
# into the image.  The sourcing script sets nd_libdir (where this file and
# netdisk-boot.sh are) and defines
#   nd_build_fail MESSAGE...   reports and fails the build (does not return)
# The settings (a shell fragment):
#   KEYFILE=PATH     the client's key file (required)
#   SERVER_KEY=PATH  a file holding the server's public key (optional; the
#                    kernel command line's server_key= may then name it)

# The kernel modules netdisk.ko asks for by name ("gcm(aes)"): any of
# these that are modules of the kernel go into the image (the others are
# built in, or absent).
# shellcheck disable=SC2034
nd_crypto_modules="gcm ghash_generic ghash-clmulni-intel aes_generic aesni_intel cryptd crypto_simd ctr"

# nd_build_check_file CONF SETTING PATH: PATH is an absolute path to a
# regular file without white space (the boot script writes it into a
# netdisktab line).
nd_build_check_file() {
	case $3 in
	'') nd_build_fail "$1: $2 is not set" ;;
	*[[:space:]]*) nd_build_fail "$1: $2=\"$3\": a path with white space" ;;
	/*) ;;
	*) nd_build_fail "$1: $2=\"$3\": not an absolute path" ;;
	esac
	test -f "$3" || nd_build_fail "$1: $2=\"$3\": no such file"
}

# nd_build_conf CONF KERNEL-VERSION: reads and checks CONF (KEYFILE and
# SERVER_KEY), and that the kernel has a netdisk.ko.
nd_build_conf() {
	KEYFILE=
	SERVER_KEY=
	# shellcheck source=/dev/null
	. "$1"
	nd_build_check_file "$1" KEYFILE "$KEYFILE"
	test -z "$SERVER_KEY" || nd_build_check_file "$1" SERVER_KEY "$SERVER_KEY"
	case $(stat -c %a "$KEYFILE") in
	600 | 400) ;;
	*) nd_build_fail "$KEYFILE: mode $(stat -c %a "$KEYFILE"), not 600 or 400: a key file must be private" ;;
	esac
	modinfo -k "$2" netdisk >/dev/null 2>&1 ||
	    nd_build_fail "no netdisk.ko for kernel $2 (the netdisk-dkms package builds it)"
}

# nd_build_install DIR: the key (mode 600, at the same path as here), the
# server's public key, the boot script's defaults and netdisk-boot.sh
# into the image's tree DIR.
nd_build_install() {
	mkdir -p "$1/etc/netdisk" "$1${KEYFILE%/*}" "$1/lib" ||
	    nd_build_fail "cannot create directories in $1"
	(umask 077 && cp "$KEYFILE" "$1$KEYFILE" && chmod 600 "$1$KEYFILE") ||
	    nd_build_fail "cannot copy $KEYFILE into the initramfs"
	if test -n "$SERVER_KEY"; then
		{ mkdir -p "$1${SERVER_KEY%/*}" && cp "$SERVER_KEY" "$1$SERVER_KEY"; } ||
		    nd_build_fail "cannot copy $SERVER_KEY into the initramfs"
	fi
	# The default key of the boot script (netdisk=...,key= overrides it).
	printf 'ND_KEYFILE=%s\n' "$KEYFILE" >"$1/etc/netdisk/initramfs.conf" ||
	    nd_build_fail "cannot write $1/etc/netdisk/initramfs.conf"
	# shellcheck disable=SC2154
	cp "$nd_libdir/netdisk-boot.sh" "$1/lib/netdisk-boot.sh" ||
	    nd_build_fail "cannot copy $nd_libdir/netdisk-boot.sh into the initramfs"
}
