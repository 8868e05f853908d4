# SPDX-License-Identifier: ISC
# netdisk-boot.sh - what the two initramfs flavours of network boot share,
# sourced in the initramfs as /lib/netdisk-boot.sh by initramfs-tools'
# scripts/local-top/netdisk and by dracut's netdisk module (30netdisk):
# the kernel command line's netdisk settings checked, the one-line table
# and the attach, tried again while the server is unreachable or the
# export busy, until timeout=.  The sourcing script defines
#   nd_fail MESSAGE...   reports and stops the boot (does not return)
#   nd_warn MESSAGE...   reports and goes on
# docs/netboot.md describes the command line:
#   netdisk=netdisk://HOST[:PORT]/EXPORT[,OPTION...]
#                         OPTIONs as in netdisktab(5): conns=N, ro,
#                         dead_timeout=S, server_key=HEX|PATH, cache=SIZE;
#                         and the boot's own: key=PATH, the key file in
#                         the initramfs (default: the KEYFILE the image
#                         was made with), which names the client identity,
#                         and timeout=S, how long to keep trying an
#                         unreachable or busy server (default 60)

nd_ctl=/sbin/netdiskctl
nd_tab=/etc/netdisk/initramfs.tab

nd_now() {
	read -r nd_up _ </proc/uptime
	echo "${nd_up%%.*}"
}

# nd_bootopts: key=PATH and timeout=S out of $nd_opts (they are not
# netdisktab options) into $nd_key and $nd_timeout; "-" when no option is
# left.
nd_bootopts() {
	nd_rest=
	nd_ifs=$IFS
	IFS=,
	for nd_o in $nd_opts; do
		case $nd_o in
		-) ;;
		key=*) nd_key=${nd_o#key=} ;;
		timeout=*) nd_timeout=${nd_o#timeout=} ;;
		*) nd_rest=${nd_rest:+$nd_rest,}$nd_o ;;
		esac
	done
	IFS=$nd_ifs
	nd_opts=${nd_rest:--}
}

# nd_parse ARG OLDKEY OLDTIMEOUT: the value of netdisk= checked; the URI
# in $nd_uri, the netdisktab options in $nd_opts ("-" for none), the key
# file in $nd_key and the seconds in $nd_timeout.  OLDKEY and OLDTIMEOUT,
# the values of netdisk.key= and netdisk.timeout=, must be empty:
# modprobe hands every netdisk.* word of the command line to netdisk.ko
# (its key parameter wants the key itself, and the module would not load).
nd_parse() {
	nd_arg=$1
	test -z "$2" || nd_fail "netdisk.key=$2: modprobe would pass it to" \
	    "netdisk.ko as its key parameter; name the key file with" \
	    "netdisk=...,key=$2"
	test -z "$3" || nd_fail "netdisk.timeout=$3: modprobe would pass it to" \
	    "netdisk.ko; give netdisk=...,timeout=$3"
	nd_key=
	nd_timeout=60
	nd_uri=${nd_arg%%,*}
	nd_opts=-
	case $nd_arg in
	*,*) nd_opts=${nd_arg#*,} ;;
	esac
	case $nd_uri in
	netdisk://?*/?*) ;;
	*) nd_fail "netdisk=$nd_arg: not netdisk://HOST[:PORT]/EXPORT[,OPTION...]" ;;
	esac
	case $nd_opts in
	'' | *, | *,,* | ,*) nd_fail "netdisk=$nd_arg: an empty option" ;;
	esac
	nd_bootopts
	case $nd_timeout in
	'' | *[!0-9]*) nd_fail "netdisk=...,timeout=$nd_timeout: not a number of seconds" ;;
	esac
	test -x "$nd_ctl" || nd_fail "this initramfs has no netdiskctl: it was made" \
	    "without /etc/netdisk/initramfs.conf (docs/netboot.md)"
	if test -z "$nd_key" && test -f /etc/netdisk/initramfs.conf; then
		# shellcheck source=/dev/null
		. /etc/netdisk/initramfs.conf
		nd_key=$ND_KEYFILE
	fi
	test -n "$nd_key" || nd_fail "no key file: give netdisk=...,key=PATH"
	test -f "$nd_key" || nd_fail "key=$nd_key: no such file in the initramfs"
}

# nd_attach_root: attaches the entry "root" of $nd_tab (written here from
# nd_parse's values), again while the server is unreachable (exit 3) or
# the export busy (5: the session of this machine's previous boot may
# still hold its overlay), until timeout=; then waits for the
# device node.  Its path in $nd_dev.
nd_attach_root() {
	nd_end=$(($(nd_now) + nd_timeout))
	if ! mkdir -p /etc/netdisk ||
	    ! printf 'root %s %s %s\n' "$nd_uri" "$nd_key" "$nd_opts" >"$nd_tab"; then
		nd_fail "cannot write $nd_tab"
	fi
	while :; do
		nd_out=$("$nd_ctl" attach -t "$nd_tab" root 2>&1) && break
		nd_rc=$?
		case $nd_rc in
		3 | 5) ;;
		*) nd_fail "netdiskctl attach $nd_uri (exit $nd_rc): $nd_out" ;;
		esac
		test "$(nd_now)" -lt "$nd_end" ||
		    nd_fail "$nd_uri: not attached after ${nd_timeout} s: $nd_out"
		nd_warn "netdisk: $nd_out; trying again"
		sleep 2
	done
	# "root: attached /dev/netdiskN" (no tail(1) in the initramfs)
	nd_dev=${nd_out##* }
	case $nd_dev in
	/dev/netdisk*) ;;
	*) nd_fail "netdiskctl attach $nd_uri printed \"$nd_out\", not a device" ;;
	esac
	while ! test -b "$nd_dev"; do
		test "$(nd_now)" -lt "$((nd_end + 10))" || nd_fail "$nd_dev did not appear"
		sleep 1
	done
}
