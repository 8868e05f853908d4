/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl's talk with the kernel client, netdisk.ko, through sysfs
 * (netdisk_sysfs.h): the add and remove files of its bus, and the
 * attributes of its devices in /sys/block/netdiskN/netdisk/.
 * $NETDISK_SYSFS replaces "/sys", so that a test can point netdiskctl at a
 * directory tree of its own.  A device is known by its index N.
 */
#ifndef CTL_KMOD_H
#define CTL_KMOD_H

#include <stddef.h>
#include <stdint.h>

#include "netdisk_proto.h"

#define KMOD_ATTR_MAX	256		/* longest attribute value read */

/* The values of an add line but the key: NULL or -1 for "not given". */
struct kmod_add {
	const char *address;		/* numeric IPv4 or IPv6 */
	const char *port;
	const char *export;
	long conns;			/* -1: the module's default */
	long dead_timeout;		/* -1: the module's default */
	int64_t cache;			/* -1: the module's default, or bytes */
	int ro;
	const char *client_id;		/* 2 * ND_CLIENT_ID_LEN hex digits */
	const char *name;		/* the table entry, or NULL */
	const char *server_pub;		/* 2 * ND_KEY_LEN hex digits, or NULL */
};

/* The client cache's attributes (ND_ATTR_CACHE_*); all "" without one. */
struct kmod_cache {
	char state[KMOD_ATTR_MAX], reason[KMOD_ATTR_MAX];
	char size[KMOD_ATTR_MAX], used[KMOD_ATTR_MAX];
	char hits[KMOD_ATTR_MAX], misses[KMOD_ATTR_MAX];
	char evictions[KMOD_ATTR_MAX], invalidations[KMOD_ATTR_MAX];
};

/* A device as netdiskctl list shows it: the attributes, as read. */
struct kmod_dev {
	int index;
	char server[KMOD_ATTR_MAX], export[KMOD_ATTR_MAX];
	char state[KMOD_ATTR_MAX], conns[KMOD_ATTR_MAX];
	char reconnects[KMOD_ATTR_MAX], sectors[KMOD_ATTR_MAX];
	char name[KMOD_ATTR_MAX];	/* "": none, or a module without names */
	uint64_t size;			/* bytes; 0 if sectors is no number */
	struct kmod_cache cache;
};

/*
 * Opens the add file for writing: the descriptor, or -1 with a message.
 * When it is missing, netdisk.ko is loaded first (modload.h), unless
 * $NETDISK_SYSFS is set.
 */
int kmod_add_open(void);
/*
 * Opens the remove file for writing: the descriptor, or -1 with a message
 * ("module not loaded" when it is missing).
 */
int kmod_remove_open(void);
/*
 * Attaches through fd, an open add file: 0, or an errno.  The line, key
 * included, goes to the kernel in a single write and is wiped at once.
 */
int kmod_add(int fd, const struct kmod_add *, const uint8_t key[ND_KEY_LEN]);
/*
 * Detaches netdiskN through fd, an open remove file: 0, or an errno
 * (EBUSY: held by a mounted file system, swap or another device, and not
 * force).
 */
int kmod_remove(int fd, int index, int force);

/*
 * The indexes of the devices, sorted: 0 and a malloc'd array (NULL when
 * there are none), or -1 with a message printed.
 */
int kmod_list(int **out, size_t *count);
/*
 * The device whose attribute attr (ND_ATTR_*) is value: its index, -1 if
 * none, -2 on error (message printed).
 */
int kmod_find(const char *attr, const char *value);
/* 1 if netdiskN is there: its folder of the module's attributes. */
int kmod_present(int index);
/*
 * One attribute (ND_ATTR_*) of netdiskN, trailing newline removed: 0, or
 * -1 with errno (ENOENT once the device is gone).
 */
int kmod_attr(int index, const char *attr, char *buf, size_t len);
/*
 * Writes value to an attribute of netdiskN (ND_ATTR_CONNECTIONS): 0, or
 * the errno of open or write (the kernel's answer).
 */
int kmod_set_attr(int index, const char *attr, const char *value);
/* netdiskN for list: 0; 1 if it went away meanwhile; -1 (message printed). */
int kmod_dev_read(int index, struct kmod_dev *);
/* A decimal attribute value (connections, reconnects): 0, or -1. */
int kmod_u64(const char *s, uint64_t *out);
/* "netdisk12" -> 12; -1 for anything else. */
int kmod_index(const char *name);

#endif
