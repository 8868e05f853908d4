/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The control interface of netdisk.ko in sysfs, shared by the module
 * (kernel/sysfs.c), netdiskctl (src/netdiskctl/kmod.c) and the netdisktab
 * parser (src/lib/tab.c), after rbd's /sys/bus/rbd/{add,remove}:
 *
 *   echo "address=127.0.0.1 port=26547 export=demo key=HEX" \
 *        > /sys/bus/netdisk/add
 *   echo netdisk0 > /sys/bus/netdisk/remove
 *
 * An add line is whitespace-separated KEY=VALUE pairs, the keys below; a
 * device's attributes are files in /sys/block/netdiskN/netdisk/, all
 * read-only but ND_ATTR_CONNECTIONS (scale).
 * kernel/netdisk.4 documents both.  Paths are relative to the sysfs root.
 * Only macros and a function without library calls: the kernel and
 * userspace compile it alike.
 */
#ifndef NETDISK_SYSFS_H
#define NETDISK_SYSFS_H

#include "netdisk_proto.h"

/* The module, its bus, the prefix of its devices and their attribute folder. */
#define ND_SYSFS_NAME		"netdisk"
#define ND_SYSFS_BLOCK		"block"		/* holds netdiskN/ */
/* The files of the bus: an add line, or the name of a device ("netdisk0"). */
#define ND_BUS_ADD		"add"
#define ND_BUS_REMOVE		"remove"
#define ND_SYSFS_ADD		"bus/" ND_SYSFS_NAME "/" ND_BUS_ADD
#define ND_SYSFS_REMOVE		"bus/" ND_SYSFS_NAME "/" ND_BUS_REMOVE
/*
 * "netdiskN force" detaches a device even while something holds it (a
 * mounted file system, swap, a device-mapper target); without it that
 * write fails with EBUSY.
 */
#define ND_REMOVE_FORCE		"force"

/* The keys of an add line. */
#define ND_ADD_ADDRESS		"address"	/* numeric IPv4 or IPv6, "[v6]" too */
#define ND_ADD_PORT		"port"		/* default ND_DEFAULT_PORT */
#define ND_ADD_EXPORT		"export"	/* 1..ND_NAME_MAX bytes */
#define ND_ADD_KEY		"key"		/* 2 * ND_KEY_LEN hex digits */
#define ND_ADD_CONNS		"conns"		/* 1..ND_MAX_CONNS */
#define ND_ADD_RO		"ro"		/* 0 or 1 (kstrtobool) */
#define ND_ADD_DEAD_TIMEOUT	"dead_timeout"	/* seconds, 0..ND_MAX_DEAD_TIMEOUT */
#define ND_ADD_INDEX		"index"		/* N of netdiskN */
#define ND_ADD_NAME		"name"		/* see nd_dev_name_valid */
#define ND_ADD_CLIENT_ID	"client_id"	/* 2 * ND_CLIENT_ID_LEN hex digits */
/*
 * The server's static X25519 public key, 2 * ND_KEY_LEN hex digits (not
 * secret).  With it the device speaks protocol version 3 only (pinned,
 * no fallback to version 2); without it, version 2.
 */
#define ND_ADD_SERVER_PUB	"server_pub"
/*
 * The client cache's size in bytes, a number with an optional K, M, G or
 * T suffix (powers of 1024): 0 (off) or ND_CACHE_MIN..ND_CACHE_MAX, and
 * netdisk.ko refuses more than half of the machine's memory.  The module
 * parameter of the same name is the default.
 */
#define ND_ADD_CACHE		"cache"

/*
 * Limits of the add line's values; the module parameters of the same
 * names (/sys/module/netdisk/parameters/) take the same limits.
 */
#define ND_ADD_ADDRESS_MAX	63	/* characters, brackets excluded */
#define ND_MAX_CONNS		16
#define ND_MAX_DEAD_TIMEOUT	86400
#define ND_DEV_NAME_MAX		31	/* name=: [A-Za-z0-9._-] */
#define ND_CACHE_MIN		(1ULL << 20)	/* 1M */
#define ND_CACHE_MAX		(1ULL << 40)	/* 1T */

/* The attributes of /sys/block/netdiskN/ND_SYSFS_NAME/. */
#define ND_ATTR_SERVER		"server"	/* address:port, "[v6]:port" */
#define ND_ATTR_EXPORT		"export"
#define ND_ATTR_CLIENT_ID	"client_id"	/* lowercase hex */
#define ND_ATTR_STATE		"state"
/* Writable: 1..ND_MAX_CONNS changes the number while I/O runs (scale). */
#define ND_ATTR_CONNECTIONS	"connections"
#define ND_ATTR_RECONNECTS	"reconnects"
#define ND_ATTR_DEAD_TIMEOUT	"dead_timeout"
#define ND_ATTR_EXPORT_ID	"export_id"	/* lowercase hex */
#define ND_ATTR_NAME		"name"		/* name= of the add line, or "" */
#define ND_ATTR_SERVER_PUB	"server_pub"	/* lowercase hex, "" for v2 */
/* The client cache (cache=): sizes in bytes, counts in blocks of a page. */
#define ND_ATTR_CACHE_STATE	"cache_state"	/* ND_CACHE_ON, _OFF, _DISABLED */
#define ND_ATTR_CACHE_REASON	"cache_reason"	/* why, a sentence */
#define ND_ATTR_CACHE_SIZE	"cache_size"	/* cache=, bytes */
#define ND_ATTR_CACHE_USED	"cache_used"	/* bytes */
#define ND_ATTR_CACHE_HITS	"cache_hits"	/* blocks read from the cache */
#define ND_ATTR_CACHE_MISSES	"cache_misses"	/* blocks read from the server */
#define ND_ATTR_CACHE_EVICTIONS	"cache_evictions"	/* for room, or the shrinker */
#define ND_ATTR_CACHE_INVALIDATIONS "cache_invalidations" /* by writes, reconnects */
#define ND_CACHE_ON		"on"
#define ND_CACHE_OFF		"off"		/* cache=0 */
#define ND_CACHE_DISABLED	"disabled"	/* asked for, not allowed */

/*
 * 1 if s is a valid name=: 1 to ND_DEV_NAME_MAX characters of A-Z a-z
 * 0-9 . _ - (a netdisktab entry's NAME), else 0.
 */
static inline int nd_dev_name_valid(const char *s)
{
	unsigned int i;
	char c;

	for (i = 0; s[i] != '\0'; i++) {
		c = s[i];
		if (i == ND_DEV_NAME_MAX)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return i > 0;
}

/* 1 if size is a valid cache=: 0 or ND_CACHE_MIN..ND_CACHE_MAX, else 0. */
static inline int nd_cache_size_valid(unsigned long long size)
{
	return size == 0 || (size >= ND_CACHE_MIN && size <= ND_CACHE_MAX);
}

#endif
