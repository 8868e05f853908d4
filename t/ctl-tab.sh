#!/bin/bash
# SPDX-License-Identifier: ISC
# netdiskctl attach -a, attach NAME, detach -a and list with netdisktab,
# against a fake sysfs tree ($NETDISK_SYSFS): the add line of each entry,
# entries already attached and noauto ones left out, bad tables refused
# with their FILE:LINE lines, the names in list.  A regular file in place
# of /sys/bus/netdisk/add takes the lines but makes no device, so every
# attach written there ends with "no device has client id".  The real
# module is tested under QEMU (t/kernel/guest-basic.sh).
. "$(dirname "$0")/functions.sh"

tap_plan 67

S="$T/sys"
TAB="$T/netdisktab"

# fake_dev INDEX [NAME]: a device; without NAME no name attribute (an
# older module).
fake_dev() {
	local d="$S/block/netdisk$1/netdisk"

	mkdir -p "$d" || bail_out "cannot create $d"
	echo 127.0.0.1:26547 >"$d/server"
	echo demo >"$d/export"
	echo connected >"$d/state"
	echo 1 >"$d/connections"
	echo 0 >"$d/reconnects"
	echo 2048 >"$S/block/netdisk$1/size"
	test $# -lt 2 || echo "$2" >"$d/name"
}

# add_line: the last line written to the add file (a shorter line leaves
# the end of a longer one after its newline), the key replaced with KEY
# and the client id with ID; then empties the file.
add_line() {
	sed -n "1s/key=$key/key=KEY/; 1s/client_id=[0-9a-f]\{32\}/client_id=ID/p" \
	    "$S/bus/netdisk/add"
	: >"$S/bus/netdisk/add"
}

mkdir -p "$S/bus/netdisk" "$S/block/sda" "$T/nomod/block" ||
    bail_out "cannot create the fake tree"
: >"$S/bus/netdisk/add"
: >"$S/bus/netdisk/remove"
export NETDISK_SYSFS="$S"
make_key "$T/key" || bail_out "netdiskctl genkey -o failed"
key=$(cat "$T/key")
cat >"$TAB" <<EOF
# the devices of this test
home   netdisk://127.0.0.1:4000/home   $T/key   conns=2,dead_timeout=30,cache=64M
media  netdisk://[::1]:4001/media      $T/key   ro      # read-only
spare  netdisk://127.0.0.1/spare       $T/key   noauto
EOF

# ---- attach -a
tap_status "attach -a: exit 1 (the fake add file makes no device)" 1 \
    netdiskctl attach -a -t "$TAB"
tap_is "... home and media tried, spare (noauto) left out" "$(cat "$T/err" |
    sed 's/client id [0-9a-f]*/client id ID/')" \
"netdiskctl: home: 127.0.0.1:4000: attached, but no device has client id ID
netdiskctl: media: [::1]:4001: attached, but no device has client id ID"
tap_is "... media's add line last: its name, ro, the key of its key file" \
    "$(add_line)" \
    "address=::1 port=4001 export=media key=KEY ro=1 client_id=ID name=media"

tap_status "attach NAME: exit 1" 1 netdiskctl attach -t "$TAB" home
tap_is "... the add line has the entry's options and name" "$(add_line)" \
    "address=127.0.0.1 port=4000 export=home key=KEY conns=2 ro=0 dead_timeout=30 client_id=ID name=home cache=67108864"
tap_status "attach NAME of a noauto entry: exit 1" 1 \
    netdiskctl attach -t "$TAB" spare
tap_is "... attached all the same, with the default port" "$(add_line)" \
    "address=127.0.0.1 port=26547 export=spare key=KEY ro=0 client_id=ID name=spare"
tap_is "... the key is in no message" \
    "$(cat "$T/out" "$T/err" | grep -c "$key")" 0

# ---- entries attached already (a device with their name)
fake_dev 0 home
fake_dev 2
fake_dev 4 other
tap_status "attach -a with home attached: exit 1" 1 \
    netdiskctl attach -a -t "$TAB"
tap_is "... home skipped with a note" "$(cat "$T/out")" \
    "home: already attached as /dev/netdisk0"
tap_like "... media tried" "$(cat "$T/err")" "^netdiskctl: media: "
tap_is "... only media's add line" "$(add_line)" \
    "address=::1 port=4001 export=media key=KEY ro=1 client_id=ID name=media"
fake_dev 7 media
tap_status "attach -a with everything attached: exit 0" 0 \
    netdiskctl attach -a -t "$TAB"
tap_is "... a note for each, nothing on stderr" "$(cat "$T/out" "$T/err")" \
    "home: already attached as /dev/netdisk0
media: already attached as /dev/netdisk7"
tap_is "... nothing written to add" "$(add_line)" ""
tap_status "attach NAME attached already: exit 0" 0 \
    netdiskctl attach -t "$TAB" media
tap_is "... the note" "$(cat "$T/out")" "media: already attached as /dev/netdisk7"

# ---- list
tap_status "list: exit 0" 0 netdiskctl list
tap_is "list: name= after the other fields, for named devices only" \
    "$(cat "$T/out")" \
"/dev/netdisk0 server=127.0.0.1:26547 export=demo state=connected connections=1 size=1048576 reconnects=0 name=home
/dev/netdisk2 server=127.0.0.1:26547 export=demo state=connected connections=1 size=1048576 reconnects=0
/dev/netdisk4 server=127.0.0.1:26547 export=demo state=connected connections=1 size=1048576 reconnects=0 name=other
/dev/netdisk7 server=127.0.0.1:26547 export=demo state=connected connections=1 size=1048576 reconnects=0 name=media"
tap_status "list --json: exit 0" 0 netdiskctl list --json
tap_like "list --json: \"name\", null without one" "$(cat "$T/out")" \
    '^\[\{"device":"/dev/netdisk0",.*"reconnects":0,"name":"home","cache":null\},\{"device":"/dev/netdisk2",.*"reconnects":0,"name":null,"cache":null\},'

# ---- detach -a
tap_status "detach -a: exit 0" 0 netdiskctl detach -a -t "$TAB"
tap_is "... detaches the devices named after entries, in order" \
    "$(cat "$T/out")" \
    "home: detached /dev/netdisk0
media: detached /dev/netdisk7"
tap_is "... the last name written to remove" \
    "$(cat "$S/bus/netdisk/remove")" netdisk7
: >"$S/bus/netdisk/remove"
tap_status "detach -t without -a: exit 2" 2 \
    netdiskctl detach -t "$TAB" netdisk0
tap_is "... says so" "$(cat "$T/err")" "netdiskctl: detach: -t goes with -a"
tap_status "detach -a with an operand: exit 2" 2 \
    netdiskctl detach -a -t "$TAB" netdisk0

# ---- usage errors
tap_status "attach of an unknown entry: exit 2" 2 \
    netdiskctl attach -t "$TAB" nosuch
tap_is "... names the entry and the table" "$(cat "$T/err")" \
    "netdiskctl: $TAB: no entry \"nosuch\""
tap_status "attach -a -k KEYFILE: exit 2" 2 \
    netdiskctl attach -a -t "$TAB" -k "$T/key"
tap_is "... the table has the key files and options" "$(cat "$T/err")" \
    "netdiskctl: attach: -k, --server-key, --conns, --ro, --dead-timeout and --cache go with a URI; a table entry has its own key file and options"
tap_status "attach --ro NAME: exit 2" 2 netdiskctl attach --ro -t "$TAB" home
tap_status "attach -t TABFILE URI: exit 2" 2 \
    netdiskctl attach -t "$TAB" -k "$T/key" netdisk://127.0.0.1/home
tap_is "... -t goes with -a or NAME" "$(cat "$T/err")" \
    "netdiskctl: attach: -t goes with -a or an entry NAME, not with a URI"
tap_status "attach -a NAME: exit 2" 2 netdiskctl attach -a -t "$TAB" home
tap_is "nothing written to add by the usage errors" "$(add_line)" ""

# ---- key files
cp "$T/key" "$T/open.key" && chmod 644 "$T/open.key"
echo "loose netdisk://127.0.0.1/loose $T/open.key" >"$T/loose.tab"
tap_status "an entry whose key file others may read: exit 2" 2 \
    netdiskctl attach -t "$T/loose.tab" loose
tap_is "... the key file refused as with -k, the entry named" \
    "$(cat "$T/err")" \
    "netdiskctl: loose: keyfile \"$T/open.key\": permissions 0644 are too open (must not be accessible by group or others; chmod 600)"
echo "gone netdisk://127.0.0.1/gone $T/nosuch.key" >"$T/gone.tab"
tap_status "an entry whose key file is missing: exit 2" 2 \
    netdiskctl attach -a -t "$T/gone.tab"
tap_is "... says so" "$(cat "$T/err")" \
    "netdiskctl: gone: keyfile \"$T/nosuch.key\": No such file or directory"
tap_is "nothing written to add without a key" "$(add_line)" ""

# ---- server_key=: the add line's server_pub, from hex or a file
pub=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
echo "$pub" >"$T/server.pub"
cat >"$T/pin.tab" <<EOF
hexpin  netdisk://127.0.0.1/lab $T/key server_key=$pub
filepin netdisk://127.0.0.1/lab $T/key ro,server_key=$T/server.pub
nopin   netdisk://127.0.0.1/lab $T/key
EOF
tap_status "attach NAME with server_key=HEX: exit 1" 1 \
    netdiskctl attach -t "$T/pin.tab" hexpin
tap_like "... server_pub on the add line" "$(add_line)" \
    " server_pub=$pub( |\$)"
tap_status "attach NAME with server_key=FILE: exit 1" 1 \
    netdiskctl attach -t "$T/pin.tab" filepin
tap_like "... server_pub read from the file" "$(add_line)" \
    " server_pub=$pub( |\$)"
tap_status "attach NAME without server_key: exit 1" 1 \
    env NETDISK_SERVER_KEY="$pub" netdiskctl attach -t "$T/pin.tab" nopin
tap_is "... no server_pub: \$NETDISK_SERVER_KEY is not the entry's" \
    "$(add_line | grep -c server_pub)" 0
tap_status "attach NAME --server-key: exit 2 (the entry has its own)" 2 \
    netdiskctl attach -t "$T/pin.tab" --server-key "$pub" nopin
echo "gone netdisk://127.0.0.1/lab $T/key server_key=$T/nosuch.pub" \
    >"$T/gonepub.tab"
tap_status "an entry whose server key file is missing: exit 2" 2 \
    netdiskctl attach -a -t "$T/gonepub.tab"
tap_like "... says so" "$(cat "$T/err")" "nosuch.pub"
tap_is "... nothing written to add" "$(add_line)" ""

# ---- bad tables: every bad line, nothing attached or detached
cat >"$T/bad.tab" <<EOF
good netdisk://127.0.0.1/good $T/key
home netdisk://127.0.0.1/home $T/key conns=0
# a comment
good netdisk://127.0.0.1/again relative.key
other http://x $T/key ro,bogus
pin netdisk://127.0.0.1/pin $T/key server_key=abc
EOF
tap_status "attach -a of a bad table: exit 11" 11 \
    netdiskctl attach -a -t "$T/bad.tab"
tap_is "... every error as FILE:LINE: message, then nothing attached" \
    "$(cat "$T/err")" \
"$T/bad.tab:2: entry \"home\": conns \"0\" is not in 1..16
$T/bad.tab:4: entry \"good\": duplicate name (first at line 1)
$T/bad.tab:4: entry \"good\": keyfile \"relative.key\" is not an absolute path
$T/bad.tab:5: entry \"other\": URI \"http://x\" is not a netdisk URI (netdisk://HOST[:PORT]/EXPORT)
$T/bad.tab:5: entry \"other\": unknown option \"bogus\" (use conns=N, ro, dead_timeout=S, noauto, server_key=KEY or cache=SIZE)
$T/bad.tab:6: entry \"pin\": server_key \"abc\" is neither 64 hexadecimal digits nor an absolute path
netdiskctl: nothing attached"
tap_is "... nothing on stdout, nothing written to add" \
    "$(cat "$T/out")$(add_line)" ""
tap_status "attach NAME of a good entry of a bad table: exit 11" 11 \
    netdiskctl attach -t "$T/bad.tab" good
fake_dev 0 good
tap_status "detach -a with a bad table: exit 11" 11 \
    netdiskctl detach -a -t "$T/bad.tab"
tap_is "... nothing detached" \
    "$(tail -n 1 "$T/err")$(cat "$S/bus/netdisk/remove")" \
    "netdiskctl: nothing detached"
tap_status "attach -a of a missing table: exit 11" 11 \
    netdiskctl attach -a -t "$T/nosuch.tab"
tap_is "... FILE: strerror" "$(cat "$T/err")" \
    "$T/nosuch.tab: No such file or directory
netdiskctl: nothing attached"
: >"$T/empty.tab"
tap_status "attach -a of an empty table: exit 0" 0 \
    netdiskctl attach -a -t "$T/empty.tab"
tap_is "... and silent" "$(cat "$T/out" "$T/err")" ""

# ---- without the module
NETDISK_SYSFS="$T/nomod" tap_status "attach -a without the module: exit 1" 1 \
    netdiskctl attach -a -t "$TAB"
tap_is "... says so once (a test's sysfs tree: not loading it)" \
    "$(cat "$T/err")" "netdiskctl: netdisk kernel module not loaded ($T/nomod/bus/netdisk/add missing; with NETDISK_SYSFS set, attach does not load it)"
NETDISK_SYSFS="$T/nomod" tap_status \
    "attach -a of the shipped table (comments only) without the module: exit 0" 0 \
    netdiskctl attach -a -t "$top_srcdir/etc/netdisktab"
tap_is "... nothing to say (the boot service of a fresh install succeeds)" \
    "$(cat "$T/out" "$T/err")" ""
NETDISK_SYSFS="$T/nomod" tap_status \
    "detach -a without the module and devices: exit 0" 0 \
    netdiskctl detach -a -t "$TAB"
tap_is "... nothing to say" "$(cat "$T/out" "$T/err")" ""
