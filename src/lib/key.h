/* SPDX-License-Identifier: ISC */
/*
 * Pre-shared keys: 64 hex digits.  The functions return 0 on success and
 * -1 on error.  key_load_file refuses a file readable or writable by
 * group or others.  On failure, err says why, naming the file; the key
 * never appears in err.
 */
#ifndef KEY_H
#define KEY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netdisk_proto.h"

int key_parse_hex(const char *hex, uint8_t key[ND_KEY_LEN]);
/*
 * Exactly 2 * len hex digits (and nothing after them) into out, in
 * constant time: 0, or -1 with out wiped.
 */
int key_parse_hex_len(const char *hex, uint8_t *out, size_t len);
int key_load_file(const char *path, uint8_t key[ND_KEY_LEN], char *err,
    size_t errlen);
/* The same, and the owner of the file (checked by the caller). */
int key_load_file_owner(const char *path, uint8_t key[ND_KEY_LEN],
    uid_t *owner, char *err, size_t errlen);
/*
 * A public key (the server's static key of protocol version 3): s is 64
 * hex digits, or a file that holds them (any permissions: it is not
 * secret).
 */
int key_load_public(const char *s, uint8_t pub[ND_KEY_LEN], char *err,
    size_t errlen);
void key_format_hex(const uint8_t key[ND_KEY_LEN],
    char hex[2 * ND_KEY_LEN + 1]);

#endif
