/* SPDX-License-Identifier: ISC */
/*
 * Small helpers shared by netdiskd and netdiskctl.  The parse_ functions
 * return 0 on success and -1 on error; name_valid is a predicate (1 or 0).
 * URIs are uri.h, keys key.h.
 */
#ifndef UTIL_H
#define UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netdisk_proto.h"

/* "512", "64K", "64M", "10G", "1T" (powers of 1024; "k"/"KiB"/"KB" too). */
int parse_size(const char *s, uint64_t *out);
/* yes/no, true/false, on/off, 1/0, any case. */
int parse_bool(const char *s, int *out);
/* Export names: 1..ND_NAME_MAX of [A-Za-z0-9._-], not starting with '.'. */
int name_valid(const char *s);
/* 1 if both strings are NULL, or neither and they are equal. */
int str_same(const char *a, const char *b);
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
/* CLOCK_MONOTONIC in nanoseconds, and in milliseconds. */
int64_t mono_ns(void);
int64_t mono_ms(void);
/* len bytes as 2 * len lowercase hex digits and a NUL in out. */
void hex_format(const void *p, size_t len, char *out);

#endif
