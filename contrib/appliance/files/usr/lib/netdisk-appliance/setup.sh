#!/bin/sh
# SPDX-License-Identifier: ISC
# netdisk-setup.service: what the appliance keeps on its data disk
# (/srv/netdisk), made when missing: the server key, netdisk.conf,
# netdisktab, the SSH host keys and the first authorized SSH key.  Then
# the network configuration kept there is put in place.
set -eu
D=/srv/netdisk
share=/usr/share/netdisk-appliance

mountpoint -q $D || { echo "netdisk appliance: no data disk at $D"; exit 1; }
umask 022
mkdir -p $D/etc/netdisk $D/etc/network $D/images $D/ssh

if [ ! -s $D/etc/netdisk/netdisk.key ]; then
	netdiskctl genkey -o $D/etc/netdisk/netdisk.key
	echo "netdisk appliance: made the server key /etc/netdisk/netdisk.key"
fi
chown netdisk:netdisk $D/etc/netdisk/netdisk.key
chmod 600 $D/etc/netdisk/netdisk.key
if [ ! -e $D/etc/netdisk.conf ]; then
	cp $share/netdisk.conf $D/etc/netdisk.conf
	echo "netdisk appliance: wrote the default /etc/netdisk.conf"
fi
[ -e $D/etc/netdisktab ] || cp $share/netdisktab $D/etc/netdisktab
chown netdisk:netdisk $D/images

for t in ed25519 ecdsa; do
	k=$D/ssh/ssh_host_${t}_key
	[ -e "$k" ] || ssh-keygen -q -t $t -N '' -C "netdisk appliance" -f "$k"
done
if [ ! -e $D/ssh/authorized_keys ] && [ -s $share/authorized_keys ]; then
	install -m 600 $share/authorized_keys $D/ssh/authorized_keys
fi

set -- $D/etc/network/*.network
if [ -e "$1" ]; then
	mkdir -p /run/systemd/network
	cp "$@" /run/systemd/network/
	networkctl reload
fi
