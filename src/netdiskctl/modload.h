/* SPDX-License-Identifier: ISC */
/*
 * Loading the kernel client, netdisk.ko, for netdiskctl attach: modprobe
 * run as ip link add has its driver loaded, so that /sys/bus/netdisk
 * appears.  Module parameters in /etc/modprobe.d apply as for any
 * modprobe.
 */
#ifndef CTL_MODLOAD_H
#define CTL_MODLOAD_H

/*
 * Runs MODLOAD_MODPROBE for the module ND_SYSFS_NAME: a fixed argument
 * vector and environment, no shell, standard input from /dev/null and
 * its output on our standard error, killed after MODLOAD_SECONDS.  0 once
 * it loaded the module; -1 with a message that says what to do: not
 * root, the module not installed for the running kernel, modprobe
 * missing, failed or too slow.
 */
int modload_netdisk(void);

#define MODLOAD_MODPROBE	"/sbin/modprobe"
#define MODLOAD_SECONDS		30

#endif
