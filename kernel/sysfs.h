/* SPDX-License-Identifier: GPL-2.0-only */
/* sysfs.c: /sys/bus/netdisk/{add,remove}, /sys/block/netdiskN/netdisk/ */
#ifndef ND_SYSFS_H
#define ND_SYSFS_H

#include <linux/types.h>

#include "netdisk.h"

struct attribute_group;

extern const struct attribute_group *nd_disk_groups[];
int nd_config_parse(struct nd_config *cfg, char *line);
int nd_config_set_address(struct nd_config *cfg, const char *addr, u16 port);
int nd_config_set_export(struct nd_config *cfg, const char *name);
int nd_parse_key(u8 key[ND_KEY_LEN], const char *hex);
int nd_parse_server_pub(u8 pub[ND_KEY_LEN], const char *hex,
			const char *what);
int nd_sysfs_init(void);
void nd_sysfs_exit(void);

#endif /* ND_SYSFS_H */
