#!/bin/bash
# SPDX-License-Identifier: ISC
# NBD over TLS (NBD_OPT_STARTTLS): pre-shared keys (psktool's files) with
# nbdinfo, nbdcopy and qemu-img, data checked by sha256; X.509 with
# nbdinfo and qemu-img, and client certificates once nbd_tls_ca is set;
# wrong keys, unknown identities and foreign certificates refused with
# the same log line and no data; nbd = tls exports refused and unlisted
# without TLS, nbd = plain ones served both ways; the configuration
# errors; a reload that changes a key (running sessions keep theirs);
# the exclusive write claim by TLS identity (t/nbd/tls.py); no key in
# the log.
#
# The Python checks are counted as they come, so the plan is printed last.
# shellcheck source=functions.sh
. "$(dirname "$0")/functions.sh"
# shellcheck source=nbd/nbd.sh
. "$top_srcdir/t/nbd/nbd.sh"

requires psktool
requires certtool
requires nbdinfo
requires nbdcopy
requires qemu-img
# t/nbd/tls.py needs libnbd's Python module; without it only its checks
# are skipped.
if test -z "$(requires_nbd_python)"; then
	requires_nbd_python
fi

mib=1048576
size=$((16 * mib))

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"

# ---------------------------------------------------------------- keys

# psk/keys.psk: alice and bob, what netdiskd reads; wrong.psk: alice with
# another key; mallory.psk: an identity netdiskd does not know;
# qemu/keys.psk: alice's line, for qemu's tls-creds-psk (dir=).
mkdir -m 700 "$T/psk" "$T/qemu" || bail_out "cannot make $T/psk"
for f in keys.psk:alice keys.psk:bob wrong.psk:alice mallory.psk:mallory \
    new.psk:alice new.psk:bob; do
	psktool -u "${f#*:}" -p "$T/psk/${f%%:*}" >/dev/null 2>&1 ||
	    bail_out "psktool -u ${f#*:} -p $T/psk/${f%%:*} failed"
done
grep '^alice:' "$T/psk/keys.psk" >"$T/qemu/keys.psk"
chmod 600 "$T"/psk/*.psk "$T/qemu/keys.psk"
cp -p "$T/psk/keys.psk" "$T/psk/old.psk"
# Every key, to look for in the log at the end.
cut -d: -f2 "$T"/psk/*.psk | sort -u >"$T/hexkeys"

# X.509: a CA, the server's certificate (SAN 127.0.0.1), carol's client
# certificate; a rogue CA and mallory's certificate from it.  A directory
# per client as libnbd (tls-certificates=) and qemu (tls-creds-x509) read
# it: anon has only the CA, carol and rogue a client certificate too.
mkdir -m 700 "$T/pki" || bail_out "cannot make $T/pki"
if ! { nbd_cert ca - 'cn = "netdisk test CA"' ca cert_signing_key &&
    nbd_cert rogueca - 'cn = "rogue CA"' ca cert_signing_key &&
    nbd_cert server ca 'cn = "netdiskd"' 'ip_address = "127.0.0.1"' \
    'dns_name = "localhost"' tls_www_server signing_key encryption_key &&
    nbd_cert carol ca 'cn = "carol"' tls_www_client signing_key &&
    nbd_cert mallory rogueca 'cn = "mallory"' tls_www_client signing_key; }; then
	bail_out "certtool failed"
fi
for d in anon carol rogue; do
	if ! { mkdir -m 700 "$T/$d" && cp "$T/pki/ca-cert.pem" "$T/$d/"; }; then
		bail_out "cannot make $T/$d"
	fi
done
for d in carol:carol rogue:mallory; do
	if ! { cp -p "$T/pki/${d#*:}-cert.pem" "$T/${d%%:*}/client-cert.pem" &&
	    cp -p "$T/pki/${d#*:}-key.pem" "$T/${d%%:*}/client-key.pem"; }; then
		bail_out "cannot fill $T/${d%%:*}"
	fi
done

# psk_uri USER PSKFILE EXPORT / x509_uri DIR EXPORT: nbds:// URIs.
psk_uri() {
	echo "nbds://$1@127.0.0.1:$NBD_PORT/$3?tls-psk-file=$2"
}
x509_uri() {
	echo "nbds://127.0.0.1:$NBD_PORT/$2?tls-certificates=$1"
}
# qemu_psk/qemu_x509 EXPORT: qemu-img's --object and its image options.
qemu_psk() {
	qemu_obj="tls-creds-psk,id=tls0,dir=$T/qemu,username=alice"
	qemu_obj="$qemu_obj,endpoint=client"
	qemu_img="driver=nbd,host=127.0.0.1,port=$NBD_PORT,export=$1"
	qemu_img="$qemu_img,tls-creds=tls0"
}
qemu_x509() {
	qemu_obj="tls-creds-x509,id=tls0,dir=$1,endpoint=client"
	qemu_img="driver=nbd,host=127.0.0.1,port=$NBD_PORT,export=$2"
	qemu_img="$qemu_img,tls-creds=tls0"
}

# fails CMD...: CMD exits non-zero (and is not killed by a signal).
fails() {
	local st

	"$@"
	st=$?
	test "$st" -ne 0 && test "$st" -lt 128
}

# py_lines OUT STATUS NAME: a t/nbd script's lines as TAP (like nbd_py,
# for one that ran in the background).
py_lines() {
	local line

	while IFS= read -r line; do
		case $line in
		"ok - "*) tap_pass "${line#ok - }" ;;
		"not ok - "*) tap_fail "${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$1"
	tap_is "$3 ran to its end" "$2" 0 || tap_diag_file "${1%.out}.err"
}

random_file "$T/image" "$size"
random_file "$T/image2" "$size"
want=$(sha_of "$T/image")
want2=$(sha_of "$T/image2")

# ---------------------------------------------------------------- config

# conf FILE [KEY=VALUE...]: [global] with the NBD listener and the TLS
# files (or as given), and the exports.
conf() {
	local file=$1

	shift
	nbd_write_conf "$file" "$@"
	add_export "$file" secure size=16M nbd=tls "description=TLS only"
	add_export "$file" certs size=16M nbd=tls "description=for X.509"
	add_export "$file" claim size=4M nbd=tls
	add_export "$file" open size=4M nbd=plain "description=with or without"
}
tls_files=("nbd_tls_psk=$T/psk/keys.psk"
    "nbd_tls_cert=$T/pki/server-cert.pem" "nbd_tls_key=$T/pki/server-key.pem")

# check_fails DESC CONF ERE: netdiskd -n refuses CONF, saying ERE.
check_fails() {
	tap_status "netdiskd -n: $1" 1 netdiskd -n -c "$2"
	tap_like "... $(basename "$2"):LINE: the error" "$(cat "$T/err")" \
	    "^$2:[0-9]+: .*$3"
}
# start_fails DESC CONF ERE: netdiskd does not start with CONF, saying
# ERE, and netdiskd -n (which reads the TLS files too) refuses it alike.
start_fails() {
	tap_status "netdiskd refuses to start: $1" 1 \
	    timeout 10 netdiskd -f -c "$2"
	tap_like "... saying so" "$(cat "$T/out" "$T/err")" "$3"
	tap_status "... and netdiskd -n refuses it" 1 netdiskd -n -c "$2"
	tap_like "... saying the same" "$(cat "$T/err")" "$3"
}

conf "$T/notls.conf"
check_fails "nbd = tls without nbd_tls_psk or nbd_tls_cert" "$T/notls.conf" \
    'export "secure": nbd = tls, but .global. has neither nbd_tls_psk nor '\
'nbd_tls_cert'
conf "$T/nokey.conf" "nbd_tls_cert=$T/pki/server-cert.pem"
check_fails "nbd_tls_cert without nbd_tls_key" "$T/nokey.conf" \
    'nbd_tls_cert and nbd_tls_key go together'

cp -p "$T/psk/keys.psk" "$T/psk/open.psk"
chmod 644 "$T/psk/open.psk"
conf "$T/open.conf" "nbd_tls_psk=$T/psk/open.psk"
start_fails "a PSK file others may read (mode 644)" "$T/open.conf" \
    "nbd_tls_psk \"$T/psk/open.psk\": permissions 0644 are too open \(group or others may access it"
{
	head -n 1 "$T/psk/keys.psk"
	echo "bob:0123456789abcdefXY"
} >"$T/psk/bad.psk"
chmod 600 "$T/psk/bad.psk"
conf "$T/bad.conf" "nbd_tls_psk=$T/psk/bad.psk"
start_fails "a malformed line in the PSK file" "$T/bad.conf" \
    "nbd_tls_psk \"$T/psk/bad.psk\": line 2: identity \"bob\""
tap_ok "... which does not show alice's key (line 1)" \
    sh -c "! cat '$T/out' '$T/err' | grep -qiFf '$T/hexkeys'"
cp -p "$T/pki/server-key.pem" "$T/pki/open-key.pem"
chmod 644 "$T/pki/open-key.pem"
conf "$T/openkey.conf" "nbd_tls_cert=$T/pki/server-cert.pem" \
    "nbd_tls_key=$T/pki/open-key.pem"
start_fails "a private key others may read (mode 644)" "$T/openkey.conf" \
    "nbd_tls_key \"$T/pki/open-key.pem\": permissions 0644 are too open \(group or others may access it"

# ---------------------------------------------------------------- PSK

conf "$T/netdisk.conf" "${tls_files[@]}"
tap_ok "netdiskd -n: the TLS configuration is OK" \
    netdiskd -n -c "$T/netdisk.conf"
nbd_start "$T/netdisk.conf"

tap_ok "nbdinfo, PSK identity alice" \
    nbdinfo --size "$(psk_uri alice "$T/psk/keys.psk" secure)"
tap_is "... the export's size" "$(cat "$T/out")" "$size"
tap_ok "... logged: TLS 1.2, the suite, identity \"alice\"" \
    wait_log '127\.0\.0\.1:[0-9]+: NBD: export "secure".*, '\
'TLSv1\.2 TLS-[A-Z0-9-]*PSK[A-Z0-9-]* identity "alice"$'

tap_ok "nbdcopy the image up over TLS (multi-conn)" \
    nbdcopy "$T/image" "$(psk_uri alice "$T/psk/keys.psk" secure)"
tap_is "... the backing file is the image" "$(sha_of "$T/secure.img")" \
    "$want"
tap_ok "nbdcopy the export down over TLS" \
    nbdcopy "$(psk_uri alice "$T/psk/keys.psk" secure)" "$T/down.raw"
tap_is "... the file is the image" "$(sha_of "$T/down.raw")" "$want"

qemu_psk secure
tap_ok "qemu-img info, tls-creds-psk" \
    qemu-img info --output=json --object "$qemu_obj" --image-opts "$qemu_img"
tap_is "... virtual-size" "$(json_field virtual-size <"$T/out")" "$size"
tap_ok "qemu-img convert another image up, tls-creds-psk" \
    qemu-img convert -n -f raw --object "$qemu_obj" --target-image-opts \
    "$T/image2" "$qemu_img"
tap_is "... the backing file is that image" "$(sha_of "$T/secure.img")" \
    "$want2"
tap_ok "qemu-img convert the export down, tls-creds-psk" \
    qemu-img convert --object "$qemu_obj" --image-opts "$qemu_img" \
    -O raw "$T/qdown.raw"
tap_is "... the file is that image" "$(sha_of "$T/qdown.raw")" "$want2"

# ---------------------------------------------------------------- refusals

hs='authentication failed: TLS handshake'
failed="$hs: wrong key, unknown identity or tampered\$"
tap_ok "nbdinfo with a wrong key for alice is refused" \
    fails nbdinfo --size "$(psk_uri alice "$T/psk/wrong.psk" secure)"
tap_is "... no size" "$(cat "$T/out")" ""
tap_ok "... logged: authentication failed" wait_grep "$failed" "$ND_LOG" 5 1
tap_ok "nbdinfo with an unknown identity (mallory) is refused" \
    fails nbdinfo --size "$(psk_uri mallory "$T/psk/mallory.psk" secure)"
tap_is "... no size" "$(cat "$T/out")" ""
tap_ok "... logged: authentication failed" wait_grep "$failed" "$ND_LOG" 5 2
tap_is "... the same line as for a wrong key (but the peer's port)" \
    "$(grep -E "$failed" "$ND_LOG" | sed -E 's/^.*127\.0\.0\.1:[0-9]+: //' |
    sort -u)" "authentication failed: TLS handshake: wrong key, unknown \
identity or tampered"
tap_ok "nbdcopy down with a wrong key fails" \
    fails nbdcopy "$(psk_uri alice "$T/psk/wrong.psk" secure)" \
    "$T/wrong.raw"
tap_ok "... and got no data" test ! -s "$T/wrong.raw"

tap_ok "without TLS, nbdinfo of the nbd = tls export is refused" \
    fails nbdinfo --size "$(nbd_uri secure)"
tap_like "... TLS required (NBD_REP_ERR_TLS_REQD)" "$(cat "$T/err")" \
    'server requires TLS'
tap_ok "without TLS, qemu-img info of the nbd = tls export is refused" \
    fails qemu-img info "$(nbd_uri secure)"
tap_like "... TLS required, with the server's message" \
    "$(tr '\n' ' ' <"$T/err")" \
    'TLS negotiation required.*server reported: the export needs TLS'
tap_ok "... logged" \
    wait_log '127\.0\.0\.1:[0-9]+: NBD: without TLS: export "secure"$'
tap_ok "nbdinfo --list without TLS" nbdinfo --list "$(nbd_uri)"
tap_is "... lists the nbd = plain export only" \
    "$(sed -n 's/^export="\(.*\)":$/\1/p' "$T/out" | sort | tr '\n' ' ')" \
    "open "
tap_ok "nbdinfo --list over TLS" \
    nbdinfo --list "$(psk_uri alice "$T/psk/keys.psk" "")"
tap_is "... lists them all" \
    "$(sed -n 's/^export="\(.*\)":$/\1/p' "$T/out" | sort | tr '\n' ' ')" \
    "certs claim open secure "
tap_ok "the nbd = plain export over TLS (nbdinfo, alice)" \
    nbdinfo --size "$(psk_uri alice "$T/psk/keys.psk" open)"
tap_is "... its size" "$(cat "$T/out")" $((4 * mib))
tap_ok "... logged with TLS and alice's identity" \
    wait_log 'NBD: export "open".*TLSv1\.2 .* identity "alice"$'
tap_ok "... and without TLS (nbdinfo)" nbdinfo --size "$(nbd_uri open)"

# ---------------------------------------------------------------- X.509

tap_ok "nbdinfo, X.509 (the server's certificate for 127.0.0.1)" \
    nbdinfo --size "$(x509_uri "$T/anon" certs)"
tap_is "... the export's size" "$(cat "$T/out")" "$size"
tap_ok "... logged: TLS 1.2 with an ECDSA suite, no identity" \
    wait_log 'NBD: export "certs".*, TLSv1\.2 TLS-ECDHE-ECDSA-[A-Z0-9-]*$'
qemu_x509 "$T/anon" certs
tap_ok "qemu-img info, tls-creds-x509" \
    qemu-img info --output=json --object "$qemu_obj" --image-opts "$qemu_img"
tap_is "... virtual-size" "$(json_field virtual-size <"$T/out")" "$size"

# ---------------------------------------------------------------- claim

if test -n "${NBD_PYTHON:-}"; then
	nbd_py tls.py claim --port "$NBD_PORT" --export claim --other open \
	    --psk "$T/psk/keys.psk"
	tap_ok "... logged: export \"claim\" busy" \
	    grep -q '127\.0\.0\.1:[0-9]*: export "claim" busy' "$ND_LOG"
else
	tap_skip "the exclusive claim by TLS identity (t/nbd/tls.py)" \
	    "no Python 3 with libnbd's module (python3-libnbd)"
fi

# ---------------------------------------------------------------- reload

# alice holds a session over the reload that gives her another key.
if test -n "${NBD_PYTHON:-}"; then
	"$NBD_PYTHON" "$top_srcdir/t/nbd/tls.py" hold --port "$NBD_PORT" \
	    --export claim --path "$T/claim.img" --psk "$T/psk/keys.psk" \
	    --ready "$T/ready" --go "$T/go" >"$T/hold.out" 2>"$T/hold.err" &
	hold_pid=$!
	track_pid "$hold_pid"
	for i in $(seq 100); do
		test -e "$T/ready" || ! pid_alive "$hold_pid" && break
		sleep 0.1
	done
fi
cp -p "$T/psk/new.psk" "$T/psk/keys.psk.new"
mv -f "$T/psk/keys.psk.new" "$T/psk/keys.psk"
kill -HUP "$ND_PID"
tap_ok "SIGHUP with a new key for alice: configuration reloaded" \
    wait_grep 'configuration reloaded' "$ND_LOG" 10 1
n=$(grep -c "$failed" "$ND_LOG")
tap_ok "alice's old key is refused now" \
    fails nbdinfo --size "$(psk_uri alice "$T/psk/old.psk" secure)"
tap_ok "... logged: authentication failed" \
    wait_grep "$failed" "$ND_LOG" 5 $((n + 1))
tap_ok "alice's new key works" \
    nbdinfo --size "$(psk_uri alice "$T/psk/keys.psk" secure)"
tap_is "... the export's size" "$(cat "$T/out")" "$size"
if test -n "${NBD_PYTHON:-}"; then
	touch "$T/go"
	wait_pid_status "$hold_pid" 30
	py_lines "$T/hold.out" $? "tls.py hold"
else
	tap_skip "a running session keeps its key over the reload" \
	    "no Python 3 with libnbd's module (python3-libnbd)"
fi

# A PSK file netdiskd refuses: the reload fails, the keys stay.
chmod 644 "$T/psk/keys.psk"
kill -HUP "$ND_PID"
tap_ok "SIGHUP with the PSK file at mode 644: the reload fails" \
    wait_log 'reload failed: keeping the running configuration'
tap_ok "... naming the file" grep -qF \
    "nbd_tls_psk \"$T/psk/keys.psk\": permissions 0644 are too open (group or others may access it" \
    "$ND_LOG"
tap_ok "... alice's key still works" \
    nbdinfo --size "$(psk_uri alice "$T/psk/keys.psk" secure)"
chmod 600 "$T/psk/keys.psk"

# ---------------------------------------------------------------- CA

conf "$T/netdisk.conf" "${tls_files[@]}" "nbd_tls_ca=$T/pki/ca-cert.pem"
netdiskctl reload -s "$ND_CTL" >"$T/reload.out" 2>&1
tap_ok "nbd_tls_ca added: configuration reloaded" \
    wait_grep 'configuration reloaded' "$ND_LOG" 10 2
tap_ok "no client certificate: refused (nbdinfo)" \
    fails nbdinfo --size "$(x509_uri "$T/anon" certs)"
tap_ok "... logged: no valid client certificate" \
    wait_log "$hs: no valid client certificate\$"
n=$(grep -c "$hs" "$ND_LOG")
tap_ok "a client certificate from another CA: refused (nbdinfo)" \
    fails nbdinfo --size "$(x509_uri "$T/rogue" certs)"
tap_is "... no size" "$(cat "$T/out")" ""
tap_ok "... logged: authentication failed" \
    wait_grep "$hs" "$ND_LOG" 5 $((n + 1))
# GnuTLS shows no certificate the server's CA list does not name: Python's
# ssl (OpenSSL) shows it anyway.
py=${NBD_PYTHON:-$(command -v python3)}
if test -n "$py"; then
	NBD_PYTHON=$py nbd_py tls.py cert --port "$NBD_PORT" --export certs \
	    --ca "$T/pki/ca-cert.pem" --cert "$T/rogue/client-cert.pem" \
	    --key "$T/rogue/client-key.pem" --want refused \
	    --who "mallory's certificate from another CA, shown (OpenSSL)"
	tap_ok "... logged: not one of nbd_tls_ca's" \
	    wait_log "$hs: the client certificate is not one of nbd_tls_ca's\$"
	NBD_PYTHON=$py nbd_py tls.py cert --port "$NBD_PORT" --export certs \
	    --ca "$T/pki/ca-cert.pem" --cert "$T/carol/client-cert.pem" \
	    --key "$T/carol/client-key.pem" --want accepted \
	    --who "carol's certificate (OpenSSL)"
else
	tap_skip "a foreign client certificate shown anyway" "no python3"
fi
tap_ok "carol's certificate from nbd_tls_ca: accepted (nbdinfo)" \
    nbdinfo --size "$(x509_uri "$T/carol" certs)"
tap_is "... the export's size" "$(cat "$T/out")" "$size"
tap_ok "... logged with its CN as the identity" \
    wait_log 'NBD: export "certs".*, TLSv1\.2 TLS-ECDHE-ECDSA-[A-Z0-9-]* '\
'identity "carol"$'
qemu_x509 "$T/carol" certs
tap_ok "qemu-img info, tls-creds-x509 with carol's certificate" \
    qemu-img info --output=json --object "$qemu_obj" --image-opts "$qemu_img"
qemu_x509 "$T/anon" certs
tap_ok "qemu-img info, tls-creds-x509 without a client certificate: refused" \
    fails qemu-img info --output=json --object "$qemu_obj" \
    --image-opts "$qemu_img"
tap_ok "PSK clients need no certificate (nbdinfo, alice)" \
    nbdinfo --size "$(psk_uri alice "$T/psk/keys.psk" secure)"

# ---------------------------------------------------------------- after

tap_ok "no PSK key in the log" \
    sh -c "! grep -qiFf '$T/hexkeys' '$ND_LOG'"
# The private keys: their PEM lines, and the hex of their secret.
for k in "$T"/pki/*-key.pem; do
	sed -n '/BEGIN.*PRIVATE KEY/,/END.*PRIVATE KEY/{/-----/!p}' "$k"
	sed -n '/^private key:/,/^$/p' "$k" | sed 1d | tr -d ' \t:\n' |
	    sed 's/^00//'
	echo
done | grep -v '^$' >"$T/pemkeys"
tap_ok "no private key in the log" \
    sh -c "! grep -q 'PRIVATE KEY' '$ND_LOG' &&
    ! grep -qFf '$T/pemkeys' '$ND_LOG'"
tap_ok "netdiskd is still running" pid_alive "$ND_PID"
tap_ok "no sanitizer report in the log" \
    sh -c "! grep -Eq 'AddressSanitizer|runtime error|LeakSanitizer' '$ND_LOG'"
tap_ok "netdiskd exits 0 on SIGTERM" stop_netdiskd
tap_plan "$tap_n"
