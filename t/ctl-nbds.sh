#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl with nbds:// URIs (NBD over TLS, libnbd's syntax): info,
# write and read, copies both ways and bench over netdiskd's NBD listener
# with a pre-shared key (tls-psk-file, psktool's format) and with X.509
# (tls-certificates, the server's certificate checked against the CA and
# the host); a wrong key, an unknown identity, a certificate from another
# CA and a PSK file others may read are refused, naming the problem;
# nbd:// to an nbd = tls export is told it needs TLS; nbds:// to a server
# without TLS (qemu-nbd) is told the server does not offer it; no key
# reaches the output.
# shellcheck source=functions.sh
. "$(dirname "$0")/functions.sh"
# shellcheck source=nbd/nbd.sh
. "$top_srcdir/t/nbd/nbd.sh"

requires psktool
requires certtool

mib=1048576

tap_plan 37

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"

# keys.psk: alice, bob and the local user, what netdiskd reads; alice.psk
# and me.psk: one line of it; wrong.psk: alice with another key;
# mallory.psk: an identity netdiskd does not know.
me=$(id -un) || bail_out "no user name"
mkdir -m 700 "$T/psk" || bail_out "cannot make $T/psk"
for f in keys.psk:alice keys.psk:bob "keys.psk:$me" wrong.psk:alice \
    mallory.psk:mallory; do
	psktool -u "${f#*:}" -p "$T/psk/${f%%:*}" >/dev/null 2>&1 ||
	    bail_out "psktool -u ${f#*:} -p $T/psk/${f%%:*} failed"
done
grep '^alice:' "$T/psk/keys.psk" >"$T/psk/alice.psk"
grep "^$me:" "$T/psk/keys.psk" >"$T/psk/me.psk"
chmod 600 "$T"/psk/*.psk
cut -d: -f2 "$T"/psk/*.psk | sort -u >"$T/hexkeys"

# X.509 as t/nbd-tls.sh makes it: a CA, the server's certificate for
# 127.0.0.1 and localhost; a rogue CA.  A directory per client as libnbd
# reads it (tls-certificates=): anon trusts the CA, rogue the rogue CA.
mkdir -m 700 "$T/pki" "$T/anon" "$T/rogue" || bail_out "cannot make $T/pki"
if ! { nbd_cert ca - 'cn = "netdisk test CA"' ca cert_signing_key &&
    nbd_cert rogueca - 'cn = "rogue CA"' ca cert_signing_key &&
    nbd_cert server ca 'cn = "netdiskd"' 'ip_address = "127.0.0.1"' \
    'dns_name = "localhost"' tls_www_server signing_key encryption_key; }
then
	bail_out "certtool failed"
fi
cp "$T/pki/ca-cert.pem" "$T/anon/" || bail_out "cannot fill $T/anon"
cp "$T/pki/rogueca-cert.pem" "$T/rogue/ca-cert.pem" ||
    bail_out "cannot fill $T/rogue"

# psk_uri [IDENTITY@] FILE EXPORT / x509_uri DIR EXPORT: nbds:// URIs.
psk_uri() {
	echo "nbds://${1}127.0.0.1:$NBD_PORT/$3?tls-psk-file=$2"
}
x509_uri() {
	echo "nbds://127.0.0.1:$NBD_PORT/$2?tls-certificates=$1"
}

random_file "$T/image" $((16 * mib))
dd if=/dev/zero of="$T/image" bs=$mib seek=5 count=2 conv=notrunc \
    status=none
want=$(sha_of "$T/image")
nbd_write_conf "$T/netdisk.conf" "nbd_tls_psk=$T/psk/keys.psk" \
    "nbd_tls_cert=$T/pki/server-cert.pem" \
    "nbd_tls_key=$T/pki/server-key.pem"
add_export "$T/netdisk.conf" secure size=16M nbd=tls
nbd_start "$T/netdisk.conf"
unset NETDISK_KEYFILE

# ---------------------------------------------------------------- PSK

alice=$(psk_uri alice@ "$T/psk/keys.psk" secure)
tap_ok "info nbds://alice@ with the PSK file" \
    netdiskctl info --json "$alice"
tap_is "... the size" "$(json_field size <"$T/out")" $((16 * mib))
tap_ok "... logged: TLS 1.2, a PSK suite, identity \"alice\"" \
    wait_log 'NBD: export "secure".*, TLSv1\.2 TLS-[A-Z0-9-]*PSK[A-Z0-9-]* '\
'identity "alice"$'
tap_status "write nbds://: the image at offset 0" 0 \
    netdiskctl write "$alice" 0 <"$T/image"
tap_is "... the backing file has it" "$(sha_of "$T/secure.img")" "$want"
tap_ok "read nbds:// 3 MiB at 1 MiB" netdiskctl read "$alice" 1M 3M
tap_is "... the same bytes" "$(sha_of "$T/out")" \
    "$(sha_of "$T/image" $mib $((3 * mib)))"
tap_ok "copy nbds:// to a file" \
    netdiskctl copy --no-progress "$alice" "$T/down"
tap_is "... bit for bit" "$(sha_of "$T/down")" "$want"
truncate -s 0 "$T/secure.img"
truncate -s 16M "$T/secure.img"
tap_ok "copy a file to nbds://" \
    netdiskctl copy --no-progress "$T/image" "$alice"
tap_is "... bit for bit" "$(sha_of "$T/secure.img")" "$want"
# Without IDENTITY@ the identity is the local user's name, as libnbd's.
tap_ok "no IDENTITY@: the local user's name ($me)" \
    netdiskctl info "$(psk_uri "" "$T/psk/me.psk" secure)"
tap_ok "bench nbds:// 1 s (random writes, qd 16)" \
    netdiskctl bench --rw randwrite --bs 4K --qd 16 --time 1 \
    --destructive "$alice"
tap_like "... with no errors" "$(cat "$T/out")" \
    '^rw=randwrite bs=4096 qd=16 conns=1 time=[0-9.]+s: [1-9][0-9]* IOPS'

# ---------------------------------------------------------------- refusals

# refused STATUS WHAT URI MESSAGE-DESC ERE: netdiskctl info URI exits
# STATUS and says what matches ERE (two TAP lines).
refused() {
	tap_status "$2: exit $1" "$1" netdiskctl info "$3"
	tap_like "$4" "$(cat "$T/err")" "$5"
}
refused 4 "a wrong key for alice" \
    "$(psk_uri alice@ "$T/psk/wrong.psk" secure)" \
    "... TLS handshake failed: wrong key or identity" \
    'TLS handshake failed: wrong key or identity'
refused 4 "an unknown identity (mallory)" \
    "$(psk_uri mallory@ "$T/psk/mallory.psk" secure)" \
    "... the same message" 'TLS handshake failed: wrong key or identity'
refused 2 "an identity the file has no key for" \
    "$(psk_uri bob@ "$T/psk/alice.psk" secure)" "... saying so" \
    "tls-psk-file \"$T/psk/alice.psk\": no key for identity \"bob\""
cp -p "$T/psk/keys.psk" "$T/psk/open.psk"
chmod 644 "$T/psk/open.psk"
refused 2 "a PSK file others may read (mode 644)" \
    "$(psk_uri alice@ "$T/psk/open.psk" secure)" \
    "... naming the file and the mode" \
    "tls-psk-file \"$T/psk/open.psk\": permissions 0644 are too open"
refused 2 "a PSK file that is not there" \
    "$(psk_uri alice@ "$T/psk/nosuch.psk" secure)" "... naming it" \
    "tls-psk-file \"$T/psk/nosuch.psk\": No such file"
refused 4 "nbd:// to the nbd = tls export" "$(nbd_uri secure)" \
    "... needs TLS" 'export "secure" needs TLS'
tap_ok "no key in any output" \
    sh -c "! cat '$T'/out '$T'/err '$ND_LOG' | grep -qiFf '$T/hexkeys'"

# ---------------------------------------------------------------- X.509

tap_ok "info nbds:// with tls-certificates (the CA, no client certificate)" \
    netdiskctl info --json "$(x509_uri "$T/anon" secure)"
tap_is "... the size" "$(json_field size <"$T/out")" $((16 * mib))
tap_ok "read nbds:// X.509, all of it" \
    netdiskctl read "$(x509_uri "$T/anon" secure)" 0 16M
tap_is "... bit for bit (what the bench left)" "$(sha_of "$T/out")" \
    "$(sha_of "$T/secure.img")"
tap_status "a server certificate from another CA: exit 4" 4 \
    netdiskctl info "$(x509_uri "$T/rogue" secure)"
tap_like "... a bad server certificate" "$(cat "$T/err")" \
    'TLS handshake failed: bad server certificate \(not signed by '\
'ca-cert\.pem\)'

# ---------------------------------------------------------------- no TLS

if ! command -v qemu-nbd >/dev/null 2>&1; then
	tap_skip "nbds:// to a server without TLS" "no qemu-nbd"
	tap_skip "... does not offer TLS" "no qemu-nbd"
else
	qport=$(free_port) || bail_out "no free TCP port"
	truncate -s 1M "$T/q.img"
	qemu-nbd -f raw -b 127.0.0.1 -p "$qport" -x q -t -e 4 "$T/q.img" \
	    >"$T/qemu-nbd.log" 2>&1 &
	track_pid $!
	wait_listening "$qport" 10 || bail_out "qemu-nbd does not listen"
	tap_status "nbds:// to qemu-nbd without TLS: exit 9" 9 \
	    netdiskctl info \
	    "nbds://alice@127.0.0.1:$qport/q?tls-psk-file=$T/psk/keys.psk"
	tap_like "... server does not offer TLS" "$(cat "$T/err")" \
	    'server does not offer TLS'
fi
tap_ok "netdiskd is still up" pid_alive "$ND_PID"
