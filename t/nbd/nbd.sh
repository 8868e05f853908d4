# SPDX-License-Identifier: ISC
# shellcheck shell=bash disable=SC2034,SC2153,SC2154
# (ND_PORT and top_srcdir come from functions.sh; the tests use NBD_PYPATH)
# nbd.sh - what t/nbd-clients.sh and t/nbd-commands.sh share: netdiskd
# with its NBD listener, the Python that has libnbd's module, and the
# scripts of t/nbd as TAP lines.  Sourced after t/functions.sh.
#
#   NBD_PORT                       the NBD listener's port (free_port)
#   nbd_uri [NAME]                 nbd://127.0.0.1:$NBD_PORT[/NAME]
#   nbd_write_conf FILE [KEY=VALUE...]   write_conf with nbd_listen
#   nbd_start CONF                 start_netdiskd, then wait for the NBD
#                                  listener (one TAP line; bails out if
#                                  it does not come)
#   requires_nbd_python            skip the test unless a Python 3 can
#                                  import nbd (python3-libnbd); sets
#                                  NBD_PYTHON, and NBD_PYPATH, a PATH on
#                                  which nbdsh finds that Python
#   nbd_cert NAME CA TEMPLATE-LINE...   an ECDSA key and certificate
#                                  (certtool) in $T/pki: NAME-key.pem,
#                                  NAME-cert.pem signed by CA's (or
#                                  self-signed if CA is "-"), valid 2 days
#   nbd_py SCRIPT ARGS...          run t/nbd/SCRIPT; its "ok - DESC" and
#                                  "not ok - DESC" lines become numbered
#                                  TAP lines (tap_pass, tap_fail), its
#                                  "# " lines diagnostics; then one more
#                                  line: it ran to its end (exit 0)

NBD_PORT=$(free_port) || bail_out "no free TCP port"
while test "$NBD_PORT" = "$ND_PORT"; do
	NBD_PORT=$(free_port) || bail_out "no free TCP port"
done

nbd_uri() {
	echo "nbd://127.0.0.1:$NBD_PORT${1:+/$1}"
}

nbd_write_conf() {
	local file=$1

	shift
	write_conf "$file" "nbd_listen=127.0.0.1:$NBD_PORT" "$@"
}

nbd_start() {
	start_netdiskd "$1"
	if wait_listening "$NBD_PORT" 10; then
		tap_pass "netdiskd listens for NBD on 127.0.0.1:$NBD_PORT"
	else
		tap_fail "netdiskd listens for NBD on 127.0.0.1:$NBD_PORT"
		tap_diag_file "$ND_LOG"
		bail_out "no NBD listener on port $NBD_PORT"
	fi
}

requires_nbd_python() {
	local py

	# nbdsh runs "python3" from PATH; that one may lack the module (a
	# pyenv in front of the system's Python), /usr/bin/python3 has it.
	for py in python3 /usr/bin/python3; do
		py=$(command -v "$py") || continue
		if "$py" -c 'import nbd' >/dev/null 2>&1; then
			NBD_PYTHON=$py
			NBD_PYPATH="$(dirname "$py"):$PATH"
			return 0
		fi
	done
	echo "1..0 # SKIP no Python 3 with libnbd's module (python3-libnbd)"
	exit 0
}

nbd_py() {
	local script=$1 st line

	shift
	"$NBD_PYTHON" "$top_srcdir/t/nbd/$script" "$@" \
	    >"$T/py.out" 2>"$T/py.err"
	st=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*" # SKIP "*)
			line=${line#ok - }
			tap_skip "${line% \# SKIP *}" "${line##* \# SKIP }" ;;
		"ok - "*) tap_pass "${line#ok - }" ;;
		"not ok - "*) tap_fail "${line#not ok - }" ;;
		"#"*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done <"$T/py.out"
	tap_is "$script ran to its end" "$st" 0 || tap_diag_file "$T/py.err"
}

nbd_cert() {
	local name=$1 ca=$2 line

	shift 2
	for line in "$@"; do
		echo "$line"
	done >"$T/pki/$name.tmpl"
	echo "expiration_days = 2" >>"$T/pki/$name.tmpl"
	(umask 077 && certtool --generate-privkey --key-type ecdsa \
	    --outfile "$T/pki/$name-key.pem") >/dev/null 2>&1 || return 1
	if test "$ca" = -; then
		certtool --generate-self-signed \
		    --load-privkey "$T/pki/$name-key.pem" \
		    --template "$T/pki/$name.tmpl" \
		    --outfile "$T/pki/$name-cert.pem"
	else
		certtool --generate-certificate \
		    --load-privkey "$T/pki/$name-key.pem" \
		    --load-ca-certificate "$T/pki/$ca-cert.pem" \
		    --load-ca-privkey "$T/pki/$ca-key.pem" \
		    --template "$T/pki/$name.tmpl" \
		    --outfile "$T/pki/$name-cert.pem"
	fi >/dev/null 2>&1
}
