/*
 * Small helpers shared by netdiskd and netdiskctl.  The parse_ and key_
 * functions return 0 on success and -1 on error; name_valid and uri_is_uri
 * are predicates (1 or 0).
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "netdisk_proto.h"

/* "512", "64K", "64M", "10G", "1T" (powers of 1024; "k"/"KiB"/"KB" too). */
int parse_size(const char *s, uint64_t *out);
/* yes/no, true/false, on/off, 1/0, any case. */
int parse_bool(const char *s, int *out);
/* Export names: 1..ND_NAME_MAX of [A-Za-z0-9._-], not starting with '.'. */
int name_valid(const char *s);
/*
 * The whole file at path, at most max bytes, in a malloc'd *buf (the
 * caller frees it; buffers outgrown while reading are wiped, as a
 * configuration may hold keys).  0, or -1 with errno set (EFBIG: over
 * max).
 */
int file_read_all(const char *path, size_t max, char **buf, size_t *len);
/*
 * The same from fd until EOF.  On failure *buf may hold what was read:
 * the caller frees it.
 */
int fd_read_all(int fd, size_t max, char **buf, size_t *len);
/*
 * s as a JSON string to f, quotes included: '"' and '\\' escaped with a
 * backslash, control characters and DEL as \u00XX.
 */
void json_string(FILE *f, const char *s);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t mono_ms(void);
/* len bytes as 2 * len lowercase hex digits and a NUL in out. */
void hex_format(const void *p, size_t len, char *out);

/* netdisk://HOST[:PORT]/EXPORT, HOST may be [v6]. */
struct nd_uri {
	char host[256];
	char port[8];		/* default "26547" */
	char export[ND_NAME_MAX + 1];
};
int uri_parse(const char *s, struct nd_uri *u);
int uri_is_uri(const char *s);	/* starts with netdisk:// */
/* Port 1..65535: the len digits at s, normalised ("080" -> "80"). */
int uri_port_parse(const char *s, size_t len, char port[8]);

/*
 * Keys: 64 hex digits.  key_load_file refuses a file readable or
 * writable by group or others.  On failure, err says why, naming the
 * file; the key never appears in err.
 */
int key_parse_hex(const char *hex, uint8_t key[ND_KEY_LEN]);
int key_load_file(const char *path, uint8_t key[ND_KEY_LEN], char *err,
    size_t errlen);
/* The same, and the owner of the file (checked by the caller). */
int key_load_file_owner(const char *path, uint8_t key[ND_KEY_LEN],
    uid_t *owner, char *err, size_t errlen);
void key_format_hex(const uint8_t key[ND_KEY_LEN], char hex[2 * ND_KEY_LEN + 1]);

#endif
