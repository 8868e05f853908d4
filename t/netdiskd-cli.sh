#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskd's command line: -n, -h, usage errors, a missing configuration,
# and key files that others may read.
. "$(dirname "$0")/functions.sh"

tap_plan 22

make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
make_key "$T/own.key" || bail_out "netdiskctl genkey -o failed"
write_conf "$T/netdisk.conf"
add_export "$T/netdisk.conf" disk size=1M

tap_status "netdiskd -n on a valid configuration exits 0" 0 \
    netdiskd -n -c "$T/netdisk.conf"
tap_is "... and prints configuration OK" "$(cat "$T/out")" "configuration OK"
tap_status "netdiskd -n does not create the export's file" 0 \
    test ! -e "$T/disk.img"
tap_status "netdiskd -h exits 0" 0 netdiskd -h
tap_like "... with the usage on stdout" "$(cat "$T/out")" '^usage: netdiskd'

# Usage errors: exit 2, see netdiskd(8), EXIT STATUS.
tap_status "an unknown option exits 2" 2 netdiskd -x -c "$T/netdisk.conf"
tap_like "... with the usage on stderr" "$(cat "$T/err")" 'usage: netdiskd'
tap_status "-c without a file exits 2" 2 netdiskd -n -c
tap_status "an extra operand exits 2" 2 netdiskd -n -c "$T/netdisk.conf" extra

tap_status "a missing configuration file: netdiskd -n exits 1" 1 \
    netdiskd -n -c "$T/missing.conf"
tap_like "... naming the file and the reason" "$(cat "$T/err")" \
    "missing\\.conf: No such file or directory"
tap_status "a missing configuration file: netdiskd -f exits 1" 1 \
    timeout 10 netdiskd -f -c "$T/missing.conf"

# Key files must be private.
chmod 644 "$ND_KEY"
tap_status "a global keyfile of mode 0644: netdiskd -n exits 1" 1 \
    netdiskd -n -c "$T/netdisk.conf"
tap_like "... with the permissions message at the keyfile line" "$(cat "$T/err")" \
    "netdisk\\.conf:[0-9]+: .*keyfile \"[^\"]*netdisk\\.key\": permissions 0644 are too open"
tap_status "... and netdiskd -f refuses to start (exit 1)" 1 \
    timeout 10 netdiskd -f -c "$T/netdisk.conf"
tap_like "... with the same message" "$(cat "$T/err")" \
    "keyfile \"[^\"]*netdisk\\.key\": permissions 0644 are too open"
tap_status "... and nothing listens on its port" 1 port_listening "$ND_PORT"
chmod 600 "$ND_KEY"
chmod 640 "$T/own.key"
add_export "$T/netdisk.conf" own size=1M "keyfile=$T/own.key"
tap_status "an export's keyfile of mode 0640: netdiskd -n exits 1" 1 \
    netdiskd -n -c "$T/netdisk.conf"
tap_like "... naming the export and the file" "$(cat "$T/err")" \
    "export \"own\": keyfile \"[^\"]*own\\.key\": permissions 0640 are too open"
chmod 600 "$T/own.key"
tap_status "with both keys private the configuration is OK again" 0 \
    netdiskd -n -c "$T/netdisk.conf"

# The key itself never shows in an error.
printf 'key = %s\n' "$(cat "$ND_KEY")" >"$T/inline.conf"
sed -n '/^\[disk\]/,$p' "$T/netdisk.conf" | sed '/^\[own\]/,$d' >>"$T/inline.conf"
sed -i '1i [global]\nlisten = 127.0.0.1:'"$ND_PORT"'\nkey = 0123' "$T/inline.conf"
netdiskd -n -c "$T/inline.conf" >"$T/out" 2>"$T/err"
tap_is "a configuration with a key given twice fails" "$?" 1
tap_ok "... and no error shows the key" \
    sh -c "! grep -qiF '$(cat "$ND_KEY")' '$T/err'"
