# SPDX-License-Identifier: ISC
# guest-overlay.sh - overlay exports through netdisk.ko, in the guest of
# t/kernel/basic.sh: guest-basic.sh sources it (as /guest-overlay.sh)
# with netdiskd running, the module loaded and no device attached, and
# uses its helpers (guest-lib.sh, sha_dev).
#
# Two client identities (ova, ovb: [client] sections added by a reload)
# attach two devices of ONE overlay export "lab"; mkfs.ext4 and different
# files on each; the same identity twice is refused as busy; both
# detached and attached again, in the same order and then in the other
# order: each device passes e2fsck -fn and holds exactly its own files
# (sha256, and no file more or less: not the other's); the base file's
# sha256 never changes.  An ephemeral overlay export "kiosk" reads the
# base, takes writes, and reads the base again after a detach and a
# fresh attach.

OVL_MIB=16		# lab's base
KIOSK_MIB=4		# kiosk's base, all random

# ovl_setup: the identities' keys, lab's base of $OVL_MIB MiB (4 MiB
# random, the rest a hole), kiosk's of $KIOSK_MIB MiB, the overlay
# folders, the sections, a reload.  Small: 6.1 in TCG moves about 5 MB/s.
ovl_setup() {
	netdiskctl genkey -o $W/ova.key && netdiskctl genkey -o $W/ovb.key ||
	    bail "netdiskctl genkey (identities)"
	# key_leaks looks for these keys too
	cat $W/ova.key $W/ovb.key >>$W/keys.pat
	mkdir -p $W/ovl $W/eph /mnt/ova /mnt/ovb
	dd if=/dev/urandom of=$W/base.img bs=1M count=4 2>/dev/null
	truncate -s $((OVL_MIB * 1048576)) $W/base.img
	base_sha=$(sha256sum <$W/base.img | cut -d' ' -f1)
	dd if=/dev/urandom of=$W/kbase.img bs=1M count=$KIOSK_MIB 2>/dev/null
	kbase_sha=$(sha256sum <$W/kbase.img | cut -d' ' -f1)
	cat >>$W/netdisk.conf <<EOF
[client ova]
keyfile = ova.key
[client ovb]
keyfile = ovb.key
[lab]
path = base.img
overlay_dir = ovl
clients = ova ovb
[kiosk]
path = kbase.img
overlay_dir = eph
overlay = ephemeral
overlay_hold = 0
clients = ova
EOF
	run netdiskctl reload -s $W/netdiskd.sock
	check "overlay: reload with identities ova, ovb and the overlay exports lab, kiosk" \
	    test $st = 0 || { show; diag_file $W/netdiskd.log; }
}

# ovl_attach ID EXPORT: netdiskctl attach with ID's key; the device in
# $dev (empty if it failed).
ovl_attach() {
	run netdiskctl attach -k $W/$1.key $URI/$2
	dev=""
	like "overlay: $1 attaches $2" "$st $out" "^0 /dev/netdisk[0-9]+\$" &&
	    dev=${out#/dev/}
	test -n "$dev" || show
}

ovl_detach() {
	run netdiskctl detach "$1"
	check "overlay: detach $1" test $st = 0 -a ! -e "/sys/block/$1" || show
}

# ovl_files ID: files of ID's own (names and sizes its own) in /mnt/ID,
# their sums in $W/sums.ID.
ovl_files() {
	local n

	mkdir -p /mnt/$1/$1/deep
	for n in 1 2 3 4 5 6 7 8; do
		dd if=/dev/urandom of=/mnt/$1/$1/f$n bs=$((n * 1531 + ${#1})) \
		    count=1 2>/dev/null
	done
	dd if=/dev/urandom of=/mnt/$1/$1/deep/big bs=64k count=12 2>/dev/null
	(cd /mnt/$1 && find . -type f | sort | xargs sha256sum) >$W/sums.$1
}

# ovl_mkfs ID DEV: ext4 on DEV, mounted on /mnt/ID, ID's files.
ovl_mkfs() {
	run mkfs.ext4 -q -F /dev/$2
	check "overlay: mkfs.ext4 on $1's device" test $st = 0 || show
	run mount -t ext4 /dev/$2 /mnt/$1
	check "overlay: mount $1's device" test $st = 0 || show
	ovl_files "$1"
}

# ovl_verify ID DEV: e2fsck -fn, then exactly ID's files, unchanged.
ovl_verify() {
	run e2fsck -fn /dev/$2
	check "overlay: $1 ($2): e2fsck -fn clean" test $st = 0 ||
	    { show; diag_file $W/run.out; }
	run mount -t ext4 /dev/$2 /mnt/$1
	check "overlay: $1 ($2): mount" test $st = 0 || { show; return; }
	run sh -c "cd /mnt/$1 && sha256sum -c $W/sums.$1"
	check "overlay: $1 ($2): sha256 of each of its files" test $st = 0 ||
	    diag_file $W/run.out
	is "overlay: $1 ($2): its files and no other (none of the other identity's)" \
	    "$(cd /mnt/$1 && find . -type f | sort | tr '\n' ' ')" \
	    "$(awk '{ print $2 }' $W/sums.$1 | tr '\n' ' ')"
	run umount /mnt/$1
	check "overlay: $1 ($2): umount" test $st = 0 || show
}

# ovl_round FIRST SECOND: attach both in that order, verify both, detach.
ovl_round() {
	local d1 d2

	ovl_attach "$1" lab
	d1=$dev
	ovl_attach "$2" lab
	d2=$dev
	test -n "$d1" && ovl_verify "$1" "$d1"
	test -n "$d2" && ovl_verify "$2" "$d2"
	test -n "$d1" && ovl_detach "$d1"
	test -n "$d2" && ovl_detach "$d2"
	is "overlay: the base file is unchanged" \
	    "$(sha256sum <$W/base.img | cut -d' ' -f1)" "$base_sha"
}

# ovl_kiosk_base DEV WHEN: DEV reads the base, all of it.
ovl_kiosk_base() {
	is "overlay: ephemeral kiosk reads the base $2" \
	    "$(sha_dev /dev/$1 0 $KIOSK_MIB)" "$kbase_sha"
}

ovl_two_identities() {
	local a b

	ovl_attach ova lab
	a=$dev
	ovl_attach ovb lab
	b=$dev
	test -n "$a" -a -n "$b" || { notok "overlay: two devices of lab"; return; }
	run netdiskctl attach -k $W/ova.key $URI/lab
	is "overlay: ova attached twice: exit 5, export busy" "$st $err" \
	    "5 netdiskctl: 127.0.0.1:$PORT: export busy (in use by another client)"
	ovl_mkfs ova "$a"
	ovl_mkfs ovb "$b"
	run umount /mnt/ova
	check "overlay: umount ova's device" test $st = 0 || show
	run umount /mnt/ovb
	check "overlay: umount ovb's device" test $st = 0 || show
	ovl_detach "$a"
	ovl_detach "$b"
	check "overlay: one overlay file per identity" \
	    test -f $W/ovl/ova.ovl -a -f $W/ovl/ovb.ovl
	is "overlay: the base file is unchanged" \
	    "$(sha256sum <$W/base.img | cut -d' ' -f1)" "$base_sha"
	ovl_round ova ovb
	ovl_round ovb ova
}

ovl_ephemeral() {
	local want

	ovl_attach ova kiosk
	test -n "$dev" || return
	ovl_kiosk_base "$dev" "on its first attach"
	dd if=/dev/urandom of=$W/kdata bs=1M count=1 2>/dev/null
	want=$(sha256sum <$W/kdata | cut -d' ' -f1)
	run dd if=$W/kdata of=/dev/$dev bs=1M seek=1 oflag=direct
	check "overlay: kiosk: 1 MiB written at 1 MiB" test $st = 0 || show
	is "... and read back" "$(sha_dev /dev/$dev 1 1)" "$want"
	ovl_detach "$dev"
	check "overlay: kiosk: the ephemeral overlay is removed" \
	    wait_until 10 test ! -e $W/eph/ova.ovl
	ovl_attach ova kiosk
	test -n "$dev" || return
	ovl_kiosk_base "$dev" "again after a detach and a fresh attach"
	ovl_detach "$dev"
	is "overlay: kiosk's base file is unchanged" \
	    "$(sha256sum <$W/kbase.img | cut -d' ' -f1)" "$kbase_sha"
}

ovl_t0=$(now)
ovl_setup
ovl_two_identities
ovl_ephemeral
is "overlay: no device left" "$(ndevs)" 0
diag "overlay: $(since "$ovl_t0") s"
