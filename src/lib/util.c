/* SPDX-License-Identifier: ISC */
/* Small helpers: sizes, booleans, export names, hex, JSON strings, files, the clock. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* Digits only, at least one, no overflow.  Returns the first non-digit. */
static const char *
parse_digits(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	const char *p;

	for (p = s; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return NULL;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (p == s)
		return NULL;
	*out = v;
	return p;
}

/* "", "B", "K", "KB", "KiB", ... (any case): the power of 1024, or -1. */
static int
size_suffix(const char *s)
{
	static const char units[] = "KMGT";
	const char *u = NULL;
	int shift = 0;

	if (*s == '\0')
		return 0;
	if (isalpha((unsigned char)s[0]))
		u = strchr(units, toupper((unsigned char)s[0]));
	if (u != NULL) {
		shift = (int)(u - units + 1) * 10;
		s++;
		if (strcasecmp(s, "iB") == 0 || strcasecmp(s, "B") == 0)
			return shift;
	} else if (strcasecmp(s, "B") == 0)
		return 0;
	return *s == '\0' ? shift : -1;
}

int
parse_size(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int shift;

	if (s == NULL || (end = parse_digits(s, &v)) == NULL)
		return -1;
	if ((shift = size_suffix(end)) == -1)
		return -1;
	if (shift > 0 && v > (UINT64_MAX >> shift))
		return -1;
	*out = v << shift;
	return 0;
}

int
parse_bool(const char *s, int *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	if (s == NULL)
		return -1;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

/* 1 if s is a valid export name, 0 if not. */
int
name_valid(const char *s)
{
	size_t len;

	if (s == NULL || s[0] == '.')
		return 0;
	len = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-");
	return len >= 1 && len <= ND_NAME_MAX && s[len] == '\0';
}

int
str_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

void
hex_format(const void *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * len] = '\0';
}

int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* Like realloc, but the old buffer is wiped. */
static int
buf_grow(char **buf, size_t len, size_t size)
{
	char *b;

	if ((b = malloc(size)) == NULL)
		return -1;
	if (*buf != NULL) {
		memcpy(b, *buf, len);
		explicit_bzero(*buf, len);
		free(*buf);
	}
	*buf = b;
	return 0;
}

int
fd_read_all(int fd, size_t max, char **buf, size_t *len)
{
	size_t size = 0;
	ssize_t n;

	*buf = NULL;
	*len = 0;
	for (;;) {
		if (*len == size) {
			if (size >= max) {
				errno = EFBIG;
				return -1;
			}
			size = size ? 2 * size : 8192;
			if (buf_grow(buf, *len, size) == -1)
				return -1;
		}
		n = read(fd, *buf + *len, size - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return (int)n;
		*len += (size_t)n;
	}
}

int
file_read_all(const char *path, size_t max, char **buf, size_t *len)
{
	int fd, rc, saved;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = fd_read_all(fd, max, buf, len);
	saved = errno;
	close(fd);
	if (rc == -1) {
		if (*buf != NULL)
			explicit_bzero(*buf, *len);
		free(*buf);
		*buf = NULL;
		*len = 0;
	}
	errno = saved;
	return rc;
}

void
json_string(FILE *f, const char *s)
{
	const unsigned char *p;

	fputc('"', f);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}
