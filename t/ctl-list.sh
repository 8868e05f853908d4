#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl list, detach and attach against a fake sysfs tree
# ($NETDISK_SYSFS): output formats, device names, the add line, errors.
# The real kernel module is tested under QEMU (t/kernel/).
. "$(dirname "$0")/functions.sh"

tap_plan 63

S="$T/sys"

# fake_dev INDEX SERVER EXPORT STATE CONNECTIONS RECONNECTS SECTORS
fake_dev() {
	local d="$S/block/netdisk$1"

	mkdir -p "$d/netdisk" || bail_out "cannot create $d"
	echo "$2" >"$d/netdisk/server"
	echo "$3" >"$d/netdisk/export"
	echo "$4" >"$d/netdisk/state"
	echo "$5" >"$d/netdisk/connections"
	echo "$6" >"$d/netdisk/reconnects"
	echo "$7" >"$d/size"
	printf '%032x\n' "$1" >"$d/netdisk/client_id"
	echo 120 >"$d/netdisk/dead_timeout"
}

mkdir -p "$S/bus/netdisk" "$S/block/sda" "$S/block/netdiskx" "$T/empty" \
    "$T/nomod/block" || bail_out "cannot create the fake tree"
: >"$S/bus/netdisk/add"
: >"$S/bus/netdisk/remove"
fake_dev 10 '[::1]:26547' scratch dead 0 7 2048
fake_dev 0 127.0.0.1:26547 demo connected 2 0 524288
fake_dev 3 '192.0.2.1:4000' 'we"ird\name' reconnecting 1 5 32768
export NETDISK_SYSFS="$S"

# list
tap_status "list: exit 0" 0 netdiskctl list
tap_is "list: one line per device, by number, other disks left out" \
    "$(cat "$T/out")" \
"/dev/netdisk0 server=127.0.0.1:26547 export=demo state=connected connections=2 size=268435456 reconnects=0
/dev/netdisk3 server=192.0.2.1:4000 export=we\"ird\\name state=reconnecting connections=1 size=16777216 reconnects=5
/dev/netdisk10 server=[::1]:26547 export=scratch state=dead connections=0 size=1048576 reconnects=7"
tap_is "list: nothing on stderr" "$(cat "$T/err")" ""

tap_status "list --json: exit 0" 0 netdiskctl list --json
tap_is "list --json: an array of objects with every key" "$(cat "$T/out")" \
'[{"device":"/dev/netdisk0","server":"127.0.0.1:26547","export":"demo","state":"connected","connections":2,"size":268435456,"reconnects":0,"name":null,"cache":null},{"device":"/dev/netdisk3","server":"192.0.2.1:4000","export":"we\"ird\\name","state":"reconnecting","connections":1,"size":16777216,"reconnects":5,"name":null,"cache":null},{"device":"/dev/netdisk10","server":"[::1]:26547","export":"scratch","state":"dead","connections":0,"size":1048576,"reconnects":7,"name":null,"cache":null}]'
if command -v jq >/dev/null 2>&1; then
	tap_is "list --json: valid JSON (jq)" \
	    "$(jq -r '.[1].export + " " + (.[2].size | tostring)' "$T/out")" \
	    'we"ird\name 1048576'
else
	tap_skip "list --json: valid JSON (jq)" "jq not found"
fi

# the client cache: on (figures), disabled (state only), off (nothing)
fake_cache() {
	local d="$S/block/netdisk$1/netdisk"

	echo "$2" >"$d/cache_state"
	echo "$3" >"$d/cache_reason"
	echo "$4" >"$d/cache_size"
	echo "$5" >"$d/cache_used"
	echo "$6" >"$d/cache_hits"
	echo 16 >"$d/cache_misses"
	echo 2 >"$d/cache_evictions"
	echo 3 >"$d/cache_invalidations"
}
fake_cache 0 on "read-only export" 67108864 65536 256
fake_cache 3 disabled "read-only session" 1048576 0 0
fake_cache 10 off "not asked for (cache=0)" 0 0 0
tap_status "list with cache figures: exit 0" 0 netdiskctl list
tap_is "list: the cache's figures when on, its state when disabled, nothing when off" \
    "$(cat "$T/out")" \
"/dev/netdisk0 server=127.0.0.1:26547 export=demo state=connected connections=2 size=268435456 reconnects=0 cache=on cache_size=67108864 cache_used=65536 cache_hits=256 cache_misses=16 cache_evictions=2 cache_invalidations=3
/dev/netdisk3 server=192.0.2.1:4000 export=we\"ird\\name state=reconnecting connections=1 size=16777216 reconnects=5 cache=disabled
/dev/netdisk10 server=[::1]:26547 export=scratch state=dead connections=0 size=1048576 reconnects=7"
tap_status "list --json with cache figures: exit 0" 0 netdiskctl list --json
tap_like "list --json: the cache as an object" "$(cat "$T/out")" \
    '^\[\{"device":"/dev/netdisk0",.*"name":null,"cache":\{"state":"on","reason":"read-only export","size":67108864,"used":65536,"hits":256,"misses":16,"evictions":2,"invalidations":3\}\},.*"cache":\{"state":"disabled","reason":"read-only session","size":1048576,.*"cache":\{"state":"off",'
rm -f "$S"/block/netdisk*/netdisk/cache_*

tap_status "list with an operand: exit 2" 2 netdiskctl list netdisk0
tap_status "list --bogus: exit 2" 2 netdiskctl list --bogus
tap_status "list --help: exit 0" 0 netdiskctl list --help
tap_like "list --help: synopsis" "$(cat "$T/out")" 'netdiskctl list \[--json\]'

NETDISK_SYSFS="$T/nomod" tap_status "list, no devices: exit 0" 0 \
    netdiskctl list
tap_is "list, no devices: prints nothing" "$(cat "$T/out")$(cat "$T/err")" ""
NETDISK_SYSFS="$T/nomod" tap_status "list --json, no devices: exit 0" 0 \
    netdiskctl list --json
tap_is "list --json, no devices: an empty array" "$(cat "$T/out")" "[]"

# detach
tap_status "detach /dev/netdisk3: exit 0" 0 netdiskctl detach /dev/netdisk3
tap_is "detach /dev/netdisk3: writes netdisk3 to remove" \
    "$(cat "$S/bus/netdisk/remove")" netdisk3
: >"$S/bus/netdisk/remove"
tap_status "detach netdisk10: exit 0" 0 netdiskctl detach netdisk10
tap_is "detach netdisk10: writes netdisk10" "$(cat "$S/bus/netdisk/remove")" \
    netdisk10
: >"$S/bus/netdisk/remove"
tap_status "detach 0: exit 0" 0 netdiskctl detach 0
tap_is "detach 0: writes netdisk0" "$(cat "$S/bus/netdisk/remove")" netdisk0
: >"$S/bus/netdisk/remove"
tap_status "detach --force /dev/netdisk3: exit 0" 0 \
    netdiskctl detach --force /dev/netdisk3
tap_is "... writes \"netdisk3 force\"" "$(cat "$S/bus/netdisk/remove")" \
    "netdisk3 force"
: >"$S/bus/netdisk/remove"
tap_status "detach -f 0: exit 0" 0 netdiskctl detach -f 0
tap_is "... writes \"netdisk0 force\"" "$(cat "$S/bus/netdisk/remove")" \
    "netdisk0 force"
: >"$S/bus/netdisk/remove"
tap_status "detach of a device that is not attached: exit 2" 2 \
    netdiskctl detach /dev/netdisk7
tap_is "... says so, naming it" "$(cat "$T/err")" \
    "netdiskctl: /dev/netdisk7: not attached"
tap_status "detach sda: exit 2" 2 netdiskctl detach sda
tap_is "... not a netdisk device" "$(cat "$T/err")" \
    'netdiskctl: "sda" is not a netdisk device (use /dev/netdisk0, netdisk0 or 0)'
tap_status "detach /dev/netdisk03: exit 2" 2 netdiskctl detach /dev/netdisk03
tap_is "nothing was written to remove" "$(cat "$S/bus/netdisk/remove")" ""
tap_status "detach without an operand: exit 2" 2 netdiskctl detach

# scale
tap_status "scale netdisk0 4: exit 0" 0 netdiskctl scale netdisk0 4
tap_is "... writes 4 to its connections" \
    "$(cat "$S/block/netdisk0/netdisk/connections")" 4
tap_status "scale /dev/netdisk3 1: exit 0" 0 netdiskctl scale /dev/netdisk3 1
tap_is "... writes 1" "$(cat "$S/block/netdisk3/netdisk/connections")" 1
tap_status "scale netdisk0 0: exit 2" 2 netdiskctl scale netdisk0 0
tap_is "... names the value and the range" "$(cat "$T/err")" \
    'netdiskctl: connections "0" is not a number from 1 to 16'
tap_status "scale netdisk0 17: exit 2" 2 netdiskctl scale netdisk0 17
tap_status "scale /dev/netdisk7 2, not attached: exit 2" 2 \
    netdiskctl scale /dev/netdisk7 2
tap_is "... says so" "$(cat "$T/err")" "netdiskctl: /dev/netdisk7: not attached"
tap_status "scale netdisk0 without N: exit 2" 2 netdiskctl scale netdisk0
tap_is "nothing else was written" \
    "$(cat "$S/block/netdisk0/netdisk/connections")" 4
chmod 0444 "$S/block/netdisk0/netdisk/connections"
if test -w "$S/block/netdisk0/netdisk/connections"; then
	tap_skip "scale, the attribute not writable: exit 10" "running as root"
	tap_skip "... says why" "running as root"
else
	tap_status "scale, the attribute not writable: exit 10" 10 \
	    netdiskctl scale netdisk0 2
	tap_like "... says why" "$(cat "$T/err")" \
	    "/dev/netdisk0: scale to 2: Permission denied"
fi
chmod 0644 "$S/block/netdisk0/netdisk/connections"
rm -f "$S/bus/netdisk/remove"
tap_status "detach without the module's remove file: exit 1" 1 \
    netdiskctl detach netdisk0
tap_is "... hints at modprobe" "$(cat "$T/err")" \
    "netdiskctl: netdisk kernel module not loaded (modprobe netdisk)"

# attach
make_key "$ND_KEY" || bail_out "netdiskctl genkey -o failed"
key=$(cat "$ND_KEY")
NETDISK_SYSFS="$T/empty" tap_status "attach without the module: exit 1" 1 \
    netdiskctl attach -k "$ND_KEY" netdisk://127.0.0.1/demo
tap_is "... a test's sysfs tree: says so, does not load the module" \
    "$(cat "$T/err")" "netdiskctl: netdisk kernel module not loaded ($T/empty/bus/netdisk/add missing; with NETDISK_SYSFS set, attach does not load it)"
tap_status "attach --conns 17: exit 2" 2 \
    netdiskctl attach -k "$ND_KEY" --conns 17 netdisk://127.0.0.1/demo
tap_status "attach --dead-timeout x: exit 2" 2 \
    netdiskctl attach -k "$ND_KEY" --dead-timeout x netdisk://127.0.0.1/demo
tap_status "attach --cache 512K: exit 2" 2 \
    netdiskctl attach -k "$ND_KEY" --cache 512K netdisk://127.0.0.1/demo
tap_is "... names the option, the value and the range" "$(cat "$T/err")" \
    'netdiskctl: --cache: "512K" is not 0 or a size from 1M to 1T (use 64M, 1G)'
tap_status "attach --cache 2T: exit 2" 2 \
    netdiskctl attach -k "$ND_KEY" --cache 2T netdisk://127.0.0.1/demo
tap_status "attach of a bad URI: exit 2" 2 \
    netdiskctl attach -k "$ND_KEY" http://127.0.0.1/demo
tap_status "attach without a key: exit 2" 2 \
    netdiskctl attach netdisk://127.0.0.1/demo

# A regular file in place of add takes the line, but makes no device.
NETDISK_KEYFILE=$ND_KEY tap_status \
    "attach: the fake add file makes no device: exit 1" 1 \
    netdiskctl attach --conns 4 --ro --dead-timeout 30 --cache 64M \
    "netdisk://localhost:4000/demo"
tap_like "attach: one line with the numeric address, key and options" \
    "$(cat "$S/bus/netdisk/add")" \
    "^address=(127\\.0\\.0\\.1|::1) port=4000 export=demo key=$key conns=4 ro=1 dead_timeout=30 client_id=[0-9a-f]{32} cache=67108864\$"
id=$(sed -n 's/.*client_id=\([0-9a-f]*\).*/\1/p' "$S/bus/netdisk/add")
tap_is "attach: says no device has its client id" "$(cat "$T/err")" \
    "netdiskctl: localhost:4000: attached, but no device has client id $id"
tap_is "attach: the key is in no message" \
    "$(cat "$T/out" "$T/err" | grep -c "$key")" 0
