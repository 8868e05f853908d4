#!/bin/sh
# SPDX-License-Identifier: ISC
# image-setup.sh DEVICE: the last step of contrib/appliance/appliance.vmdb,
# run inside the new system's root (chroot) while it is built.  DEVICE is
# the whole image (a loop device), where GRUB goes.
set -eu
dev=$1

# Configuration lives on the data disk (netdisk-setup.service fills a
# blank one); the packaged defaults stay behind as templates.
mkdir -p /usr/share/netdisk-appliance /srv/netdisk
cp /etc/netdisktab /usr/share/netdisk-appliance/netdisktab
cp /etc/netdisk.conf /usr/share/netdisk-appliance/netdisk.conf.full
rm -rf /etc/netdisk.conf /etc/netdisktab /etc/netdisk
ln -s /srv/netdisk/etc/netdisk.conf /etc/netdisk.conf
ln -s /srv/netdisk/etc/netdisktab /etc/netdisktab
ln -s /srv/netdisk/etc/netdisk /etc/netdisk

# Made on the first boot, on the data disk, so that no two appliances
# built from one image share them.
rm -f /etc/ssh/ssh_host_*
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id

systemctl enable systemd-networkd.service systemd-resolved.service \
    systemd-timesyncd.service nftables.service logrotate.timer \
    netdisk-data.service srv-netdisk.mount netdisk-setup.service \
    netdisk-banner.service
systemctl disable ssh.socket 2>/dev/null || true
systemctl enable ssh.service
ln -sf /run/systemd/resolve/stub-resolv.conf /etc/resolv.conf

update-initramfs -u -k all
grub-install --target=i386-pc "$dev"
update-grub

# What debootstrap installed before the appliance's dpkg excludes were in
# place (files/etc/dpkg/dpkg.cfg.d/netdisk-appliance): documentation but
# the copyright files, manual pages, translations.
find /usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 ! -name locale.alias \
    -exec rm -rf {} +

# Nothing the running appliance needs: caches, package lists (apt-get
# update fetches them again), the build's logs.
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/*.log \
    /var/log/apt/* /tmp/* /var/tmp/*
