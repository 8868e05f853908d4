/* SPDX-License-Identifier: ISC */
/*
 * The small parsers of util.h: uri_parse, parse_size, parse_bool,
 * name_valid and key_parse_hex, each on a NUL-terminated copy of the
 * input, and what they accept printed back and parsed again.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "uri.h"
#include "util.h"
#include "fuzz.h"

#define KEY_SPACE	" \t\r\n\v\f"

static void
check_uri(const char *s)
{
	struct nd_uri u, v;
	char again[512];
	unsigned long port;
	char *end;

	if (uri_parse(s, &u) == -1)
		return;
	FUZZ_CHECK(uri_is_uri(s));
	FUZZ_CHECK(memchr(u.host, '\0', sizeof(u.host)) != NULL);
	FUZZ_CHECK(memchr(u.port, '\0', sizeof(u.port)) != NULL);
	FUZZ_CHECK(memchr(u.export, '\0', sizeof(u.export)) != NULL);
	FUZZ_CHECK(u.host[0] != '\0');
	FUZZ_CHECK(name_valid(u.export));
	port = strtoul(u.port, &end, 10);
	FUZZ_CHECK(*end == '\0' && port >= 1 && port <= 65535);
	snprintf(again, sizeof(again), strchr(u.host, ':') != NULL ?
	    "netdisk://[%s]:%s/%s" : "netdisk://%s:%s/%s", u.host, u.port,
	    u.export);
	FUZZ_CHECK(uri_parse(again, &v) == 0);
	FUZZ_CHECK(strcmp(u.host, v.host) == 0 &&
	    strcmp(u.port, v.port) == 0 && strcmp(u.export, v.export) == 0);
}

static void
check_size(const char *s)
{
	char again[32];
	uint64_t v, w;

	if (parse_size(s, &v) == -1)
		return;
	snprintf(again, sizeof(again), "%" PRIu64, v);
	FUZZ_CHECK(parse_size(again, &w) == 0 && w == v);
	if (v % 1024 == 0) {
		snprintf(again, sizeof(again), "%" PRIu64 "K", v / 1024);
		FUZZ_CHECK(parse_size(again, &w) == 0 && w == v);
	}
}

static void
check_bool(const char *s)
{
	int b = -1;

	if (parse_bool(s, &b) == 0)
		FUZZ_CHECK(b == 0 || b == 1);
	else
		FUZZ_CHECK(b == -1);
}

static void
check_name(const char *s)
{
	size_t len = strlen(s);

	if (!name_valid(s))
		return;
	FUZZ_CHECK(len >= 1 && len <= ND_NAME_MAX && s[0] != '.');
	FUZZ_CHECK(strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789._-") == len);
}

/* Accepted: 64 hex digits between white space, and they give the key. */
static void
check_key(const char *s)
{
	uint8_t key[ND_KEY_LEN];
	char hex[2 * ND_KEY_LEN + 1];
	size_t i;

	if (key_parse_hex(s, key) == -1)
		return;
	s += strspn(s, KEY_SPACE);
	FUZZ_CHECK(strlen(s) >= 2 * ND_KEY_LEN);
	FUZZ_CHECK(s[2 * ND_KEY_LEN + strspn(s + 2 * ND_KEY_LEN, KEY_SPACE)] ==
	    '\0');
	key_format_hex(key, hex);
	for (i = 0; i < 2 * ND_KEY_LEN; i++)
		FUZZ_CHECK(tolower((unsigned char)s[i]) == hex[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_uri(s);
	check_size(s);
	check_bool(s);
	check_name(s);
	check_key(s);
	free(s);
	return 0;
}
