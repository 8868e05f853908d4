/* SPDX-License-Identifier: ISC */
/*
 * Pre-shared keys: 64 hex digits, in a file only its owner may access.
 * Every buffer that held key material is wiped before it is released.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "key.h"
#include "util.h"

#define KEY_FILE_MAX	4096
#define KEY_HEX_LEN	(2 * ND_KEY_LEN)
#define KEY_SPACE	" \t\r\n\v\f"

/* The value of a hex digit, or -1; no branches on the digit's value. */
static int
hexval(unsigned char c)
{
	int num = c - '0', low = (c | 0x20) - 'a' + 10;
	int is_num = ((num >= 0) & (num <= 9));
	int is_low = ((low >= 10) & (low <= 15));

	return (num & -is_num) | (low & -is_low) | (-1 & -(!is_num & !is_low));
}

int
key_parse_hex(const char *hex, uint8_t key[ND_KEY_LEN])
{
	uint8_t tmp[ND_KEY_LEN];
	int bad = 0, hi, lo;
	size_t i;

	hex += strspn(hex, KEY_SPACE);
	if (strnlen(hex, KEY_HEX_LEN) < KEY_HEX_LEN ||
	    hex[KEY_HEX_LEN + strspn(hex + KEY_HEX_LEN, KEY_SPACE)] != '\0')
		return -1;
	for (i = 0; i < ND_KEY_LEN; i++) {
		hi = hexval((unsigned char)hex[2 * i]);
		lo = hexval((unsigned char)hex[2 * i + 1]);
		bad |= (hi | lo) < 0;
		tmp[i] = (uint8_t)(((hi & 0xf) << 4) | (lo & 0xf));
	}
	if (!bad)
		memcpy(key, tmp, ND_KEY_LEN);
	explicit_bzero(tmp, sizeof(tmp));
	return bad ? -1 : 0;
}

int
key_parse_hex_len(const char *hex, uint8_t *out, size_t len)
{
	int bad = 0, hi, lo;
	size_t i;

	if (strnlen(hex, 2 * len + 1) != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		hi = hexval((unsigned char)hex[2 * i]);
		lo = hexval((unsigned char)hex[2 * i + 1]);
		bad |= (hi | lo) < 0;
		out[i] = (uint8_t)(((hi & 0xf) << 4) | (lo & 0xf));
	}
	if (bad)
		explicit_bzero(out, len);
	return bad ? -1 : 0;
}

void
key_format_hex(const uint8_t key[ND_KEY_LEN], char hex[2 * ND_KEY_LEN + 1])
{
	hex_format(key, ND_KEY_LEN, hex);
}

/* A regular file that neither group nor others may access. */
static int
key_check_file(int fd, const char *path, uid_t *owner, char *err,
    size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "keyfile \"%s\": %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "keyfile \"%s\": not a regular file", path);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "keyfile \"%s\": permissions %04o are too "
		    "open (must not be accessible by group or others; chmod 600)",
		    path, (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	*owner = st.st_uid;
	return 0;
}

/* Up to size - 1 bytes into buf, NUL-terminated; -1 on a read error. */
static ssize_t
key_read(int fd, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;

	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	return (ssize_t)len;
}

static int
key_read_file(int fd, const char *path, uint8_t key[ND_KEY_LEN], char *err,
    size_t errlen)
{
	char buf[KEY_FILE_MAX + 1];
	ssize_t len;
	int rc = -1;

	if ((len = key_read(fd, buf, sizeof(buf))) == -1)
		snprintf(err, errlen, "keyfile \"%s\": %s", path, strerror(errno));
	else if ((size_t)len != strlen(buf) || key_parse_hex(buf, key) == -1)
		snprintf(err, errlen, "keyfile \"%s\": not a 256-bit key "
		    "(expected 64 hex digits)", path);
	else
		rc = 0;
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int
key_load_file(const char *path, uint8_t key[ND_KEY_LEN], char *err,
    size_t errlen)
{
	uid_t owner;

	return key_load_file_owner(path, key, &owner, err, errlen);
}

int
key_load_public(const char *s, uint8_t pub[ND_KEY_LEN], char *err,
    size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (key_parse_hex(s, pub) == 0)
		return 0;
	fd = open(s, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "server public key \"%s\": not 64 hex "
		    "digits, and not a file: %s", s, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "server public key \"%s\": not a "
		    "regular file", s);
		close(fd);
		return -1;
	}
	rc = key_read_file(fd, s, pub, err, errlen);
	close(fd);
	return rc;
}

int
key_load_file_owner(const char *path, uint8_t key[ND_KEY_LEN], uid_t *owner,
    char *err, size_t errlen)
{
	int fd, rc;

	/* O_NONBLOCK: a FIFO must not hang us before fstat refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd == -1) {
		snprintf(err, errlen, "keyfile \"%s\": %s", path, strerror(errno));
		return -1;
	}
	rc = key_check_file(fd, path, owner, err, errlen);
	if (rc == 0)
		rc = key_read_file(fd, path, key, err, errlen);
	close(fd);
	return rc;
}
