/* SPDX-License-Identifier: ISC */
/*
 * netdisktab: the devices "netdiskctl attach -a" attaches, in the spirit
 * of nbdtab(5).  One entry a line, whitespace-separated fields:
 *
 *   NAME  URI  KEYFILE  [OPTIONS]
 *
 * NAME is 1..TAB_NAME_MAX of [A-Za-z0-9._-], unique in the file; URI is
 * netdisk://HOST[:PORT]/EXPORT; KEYFILE an absolute path (the key is read
 * when attaching, not here); OPTIONS "-" or a comma-separated list of
 * conns=N, ro, dead_timeout=S, noauto, server_key=KEY (the server's
 * public key, 64 hex digits or an absolute path: protocol version 3) and
 * cache=SIZE (netdisk.ko's client cache).  Blank lines and everything from
 * a field that starts with "#" to the end of its line are ignored.
 * docs/netdisktab.5 is the reference.  The names, options and limits an
 * entry shares with the kernel module's add line are netdisk_sysfs.h's.
 */
#ifndef TAB_H
#define TAB_H

#include <stddef.h>
#include <stdint.h>

#include "netdisk_sysfs.h"
#include "uri.h"

#define TAB_DEFAULT_PATH	"/etc/netdisktab"
#define TAB_NAME_MAX		ND_DEV_NAME_MAX
#define TAB_LINE_MAX		4096	/* characters, newline excluded */

/* Entry flags. */
#define TAB_RO			0x1	/* attach read-only */
#define TAB_NOAUTO		0x2	/* not by attach -a, only by name */
#define TAB_FLAGS_ALL		(TAB_RO | TAB_NOAUTO)
#define TAB_SERVER_KEY		"server_key"	/* the option's name */

struct tab_entry {
	char name[TAB_NAME_MAX + 1];
	struct nd_uri uri;
	char *keyfile;			/* absolute */
	long conns;			/* -1: the module's default, or 1..ND_MAX_CONNS */
	long dead_timeout;		/* -1: the module's default, or 0..ND_MAX_DEAD_TIMEOUT */
	unsigned int flags;		/* TAB_* */
	char *server_key;		/* server_key=: NULL, hex or a path */
	int64_t cache;			/* -1: the module's default, or bytes */
	int line;
};

struct tab {
	struct tab_entry *entries;	/* in the file's order */
	size_t nentries;
};

/*
 * Load a table.  On success returns it and *errors is NULL.  On failure
 * returns NULL and *errors is a malloc'd string of one line per error,
 * "FILE:LINE: message\n", in line order, every bad line of the file
 * reported; a file that cannot be read gives "FILE: strerror\n".  Only
 * when memory runs out are both NULL (errno ENOMEM).
 */
struct tab *tab_load(const char *path, char **errors);
/* The same for len bytes of text that errors call file. */
struct tab *tab_parse(const char *file, const char *text, size_t len,
    char **errors);
void tab_free(struct tab *);

/* The entry called name, or NULL. */
const struct tab_entry *tab_find(const struct tab *, const char *name);
/* 1 if s is a valid entry name: nd_dev_name_valid, the module's name=. */
int tab_name_valid(const char *s);
/*
 * A cache=SIZE value (parse_size, then nd_cache_size_valid: 0 or 1M to
 * 1T) into *out: 0, or -1.  netdiskctl attach --cache takes the same.
 */
int tab_cache_parse(const char *s, uint64_t *out);

#endif
