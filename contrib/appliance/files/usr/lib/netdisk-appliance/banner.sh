#!/bin/sh
# SPDX-License-Identifier: ISC
# netdisk-banner.service: says on the console where the appliance serves,
# the URI of the example export and how to fetch the key.
set -u
addrs=$(ip -o addr show scope global | awk '{ sub("/.*", "", $4); print $4 }')
first=$(echo "$addrs" | sed -n 1p)
case $first in
*:*)	host="[$first]" ;;
"")	host=ADDRESS ;;
*)	host=$first ;;
esac

echo "netdisk appliance ($(cat /etc/netdisk-appliance-build))"
for a in $addrs; do
	echo "  address:  $a"
done
[ -n "$addrs" ] || echo "  address:  none yet (ip addr; networkctl)"
if systemctl -q is-active netdiskd.service; then
	echo "  netdiskd: serving on port 26547"
else
	echo "  netdiskd: not running (journalctl -u netdiskd)"
fi
echo "  example:  netdisk://$host/example"
echo "  the key:  ssh root@$host cat /etc/netdisk/netdisk.key >netdisk.key"
echo "  then:     netdiskctl info -k netdisk.key netdisk://$host/example"
echo "  configuration: /etc/netdisk.conf (on the data disk), then: netdiskctl reload"
