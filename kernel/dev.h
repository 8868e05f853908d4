/* SPDX-License-Identifier: GPL-2.0-only */
/* dev.c: the block device: attach, detach, the blk-mq queues. */
#ifndef ND_DEV_H
#define ND_DEV_H

#include "netdisk.h"

struct attribute_group;

struct nd_device *nd_dev_add(struct nd_config *cfg);
int nd_dev_remove_by_name(const char *name, bool force);
void nd_dev_remove_all(void);
const char *nd_dev_state(struct nd_device *dev);
int nd_dev_scale(struct nd_device *dev, unsigned int n);
void nd_dev_halt_all(void);
/* disk_groups: the attributes of every disk (sysfs.h's nd_disk_groups). */
int nd_dev_init(const struct attribute_group **disk_groups);
void nd_dev_exit(void);

#endif /* ND_DEV_H */
