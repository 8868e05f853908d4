/* SPDX-License-Identifier: ISC */
/* Sizes, booleans, export names, URIs and keys. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "key.h"
#include "rxbuf.h"
#include "uri.h"
#include "util.h"
#include "tap.h"

#define HEX64 "00112233445566778899aabbccddeeff" \
	      "0123456789ABCDEFfedcba9876543210"

static char tmpdir[PATH_MAX];

static void
size_ok(const char *s, uint64_t want)
{
	uint64_t v = 0;

	ok(parse_size(s, &v) == 0 && v == want, "size \"%s\" = %llu", s,
	    (unsigned long long)want);
}

static void
size_bad(const char *s)
{
	uint64_t v = 12345;

	ok(parse_size(s, &v) == -1 && v == 12345, "size \"%s\" refused",
	    s != NULL ? s : "(NULL)");
}

static void
test_sizes(void)
{
	size_ok("0", 0);
	size_ok("512", 512);
	size_ok("512B", 512);
	size_ok("64K", 64ULL << 10);
	size_ok("64k", 64ULL << 10);
	size_ok("64KiB", 64ULL << 10);
	size_ok("64kib", 64ULL << 10);
	size_ok("64KB", 64ULL << 10);
	size_ok("64M", 64ULL << 20);
	size_ok("10G", 10ULL << 30);
	size_ok("10GiB", 10ULL << 30);
	size_ok("1T", 1ULL << 40);
	size_ok("1tb", 1ULL << 40);
	size_ok("16777215T", 16777215ULL << 40);
	size_ok("18446744073709551615", UINT64_MAX);
	size_bad("");
	size_bad("-1");
	size_bad("+1");
	size_bad(" 1");
	size_bad("1 ");
	size_bad("10X");
	size_bad("10 G");
	size_bad("10GG");
	size_bad("10Gi");
	size_bad("10iB");
	size_bad("1.5G");
	size_bad("0x10");
	size_bad("G");
	size_bad("K");
	size_bad("18446744073709551616");
	size_bad("99999999999999999999999");
	size_bad("16777216T");
	size_bad("17179869184G");
	size_bad(NULL);
}

static void
test_bools(void)
{
	static const char *yes[] = { "yes", "YES", "true", "True", "on", "1" };
	static const char *no[] = { "no", "No", "false", "FALSE", "off", "0" };
	static const char *bad[] = { "", "y", "n", "2", "yess", "enabled",
	    " yes" };
	size_t i;
	int v;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		ok(parse_bool(yes[i], &v) == 0 && v == 1, "bool \"%s\" = 1",
		    yes[i]);
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		ok(parse_bool(no[i], &v) == 0 && v == 0, "bool \"%s\" = 0",
		    no[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(parse_bool(bad[i], &v) == -1, "bool \"%s\" refused", bad[i]);
}

static void
test_names(void)
{
	char name[ND_NAME_MAX + 2];

	ok(name_valid("home"), "name \"home\"");
	ok(name_valid("A-z_0.9"), "name \"A-z_0.9\"");
	ok(name_valid("x"), "name of one character");
	ok(name_valid("a.b."), "dots after the first character");
	ok(!name_valid(""), "empty name refused");
	ok(!name_valid(".hidden"), "leading dot refused");
	ok(!name_valid("a b"), "space refused");
	ok(!name_valid("a/b"), "slash refused");
	ok(!name_valid("caf\xc3\xa9"), "non-ASCII refused");
	ok(!name_valid(NULL), "NULL refused");
	memset(name, 'n', ND_NAME_MAX);
	name[ND_NAME_MAX] = '\0';
	ok(name_valid(name), "name of %d characters", ND_NAME_MAX);
	name[ND_NAME_MAX] = 'n';
	name[ND_NAME_MAX + 1] = '\0';
	ok(!name_valid(name), "name of %d characters refused", ND_NAME_MAX + 1);
}

static void
uri_ok(const char *s, const char *host, const char *port, const char *exp)
{
	struct nd_uri u;

	ok(uri_parse(s, &u) == 0 && strcmp(u.host, host) == 0 &&
	    strcmp(u.port, port) == 0 && strcmp(u.export, exp) == 0,
	    "uri %s -> host \"%s\" port %s export \"%s\"", s, host, port, exp);
}

static void
uri_bad(const char *s)
{
	struct nd_uri u;

	ok(uri_parse(s, &u) == -1, "uri \"%s\" refused", s);
}

/* nbd://: the NBD port by default, the netdisk rules otherwise. */
static void
test_nbd_uris(void)
{
	struct nd_uri u;

	ok(uri_parse("nbd://h/x", &u) == 0 && u.scheme == URI_NBD &&
	    strcmp(u.port, "10809") == 0 && strcmp(u.export, "x") == 0,
	    "nbd://h/x: NBD, port 10809");
	ok(uri_parse("NBD://[::1]:2000/vm", &u) == 0 && u.scheme == URI_NBD &&
	    strcmp(u.host, "::1") == 0 && strcmp(u.port, "2000") == 0,
	    "nbd://[::1]:2000/vm, scheme in any case");
	ok(uri_parse("netdisk://h/x", &u) == 0 && u.scheme == URI_NETDISK,
	    "netdisk://: URI_NETDISK");
	ok(uri_is_uri("nbd://h/x") && !uri_needs_key("nbd://h/x") &&
	    uri_needs_key("netdisk://h/x"), "only netdisk:// needs the key");
	uri_bad("nbd://h:0/x");
	uri_bad("nbd://h/x/y");
	uri_bad("nbd://h");
}

/* nbds://: libnbd's identity and query, one of the two TLS parameters. */
static void
test_nbds_uris(void)
{
	char why[256];
	struct nd_uri u;

	ok(uri_parse("nbds://alice@h:2000/x?tls-psk-file=/k/keys.psk",
	    &u) == 0 && u.scheme == URI_NBD && u.tls == URI_TLS_PSK &&
	    strcmp(u.identity, "alice") == 0 && strcmp(u.host, "h") == 0 &&
	    strcmp(u.port, "2000") == 0 && strcmp(u.export, "x") == 0 &&
	    strcmp(u.tls_path, "/k/keys.psk") == 0,
	    "nbds://alice@h:2000/x?tls-psk-file=: PSK, identity, path");
	ok(uri_parse("NBDS://[::1]/vm?tls-certificates=/etc/pki", &u) == 0 &&
	    u.tls == URI_TLS_X509 && u.identity[0] == '\0' &&
	    strcmp(u.host, "::1") == 0 && strcmp(u.port, "10809") == 0 &&
	    strcmp(u.tls_path, "/etc/pki") == 0,
	    "nbds://[::1]/vm?tls-certificates=: X.509, port 10809");
	ok(uri_parse("nbds://h/x?tls-psk-file=a", &u) == 0 &&
	    u.identity[0] == '\0', "no IDENTITY@: empty (the local user's)");
	ok(uri_parse("nbds://al%69ce@h/x?tls-psk-file=/a%26b%20c", &u) == 0 &&
	    strcmp(u.identity, "alice") == 0 &&
	    strcmp(u.tls_path, "/a&b c") == 0, "%%XX decoded");
	ok(uri_parse("nbd://h/x", &u) == 0 && u.tls == URI_TLS_NONE,
	    "nbd://: no TLS");
	ok(uri_is_uri("nbds://h/x") && !uri_needs_key("nbds://h/x"),
	    "nbds:// is a URI without the key");
	ok(uri_parse_why("nbds://h/x", &u, why, sizeof(why)) == -1 &&
	    strstr(why, "tls-psk-file") != NULL,
	    "nbds:// without a query: refused, saying what it needs");
	ok(uri_parse_why("nbds://h/x?tls-psk=/k", &u, why, sizeof(why)) == -1 &&
	    strstr(why, "unknown query parameter \"tls-psk\"") != NULL,
	    "an unknown query parameter: refused, named");
	ok(uri_parse_why("nbds://h/x?tls-psk-file=/k&tls-certificates=/d", &u,
	    why, sizeof(why)) == -1 && strstr(why, "already") != NULL,
	    "both parameters: refused");
	uri_bad("nbds://h/x?tls-psk-file=/k&tls-psk-file=/j");
	uri_bad("nbds://h/x?tls-psk-file=");
	uri_bad("nbds://h/x?tls-psk-file");
	uri_bad("nbds://h/x?");
	uri_bad("nbds://h/x?tls-psk-file=/k&");
	uri_bad("nbds://h/x?tls-psk-file=/k%2");
	uri_bad("nbds://h/x?tls-psk-file=/k%zz");
	uri_bad("nbds://h/x?tls-psk-file=/k%00");
	uri_bad("nbds://@h/x?tls-psk-file=/k");
	uri_bad("nbds://a@b@h/x?tls-psk-file=/k");
	uri_bad("nbds://a:b@h/x?tls-psk-file=/k");
	uri_bad("nbds://h/.x?tls-psk-file=/k");
	uri_bad("nbds://h?tls-psk-file=/k");
	uri_bad("nbd://alice@h/x");
	uri_bad("nbd://h/x?tls-psk-file=/k");
	uri_bad("netdisk://h/x?tls-psk-file=/k");
}

static void
test_uris(void)
{
	uri_ok("netdisk://127.0.0.1:1234/home", "127.0.0.1", "1234", "home");
	uri_ok("netdisk://127.0.0.1/home", "127.0.0.1", "26547", "home");
	uri_ok("netdisk://[::1]:1234/vm-1.img", "::1", "1234", "vm-1.img");
	uri_ok("netdisk://[2001:db8::7]/x", "2001:db8::7", "26547", "x");
	uri_ok("netdisk://nas.example.org:65535/a_b", "nas.example.org",
	    "65535", "a_b");
	uri_ok("netdisk://localhost:1/d", "localhost", "1", "d");
	uri_ok("netdisk://h:00080/d", "h", "80", "d");
	ok(uri_is_uri("netdisk://h/x") && !uri_is_uri("/dev/sda") &&
	    !uri_is_uri("netdisk:/h/x") && !uri_is_uri(NULL),
	    "uri_is_uri tells URIs from paths");
	uri_bad("netdisk://h:0/x");
	uri_bad("netdisk://h:65536/x");
	uri_bad("netdisk://h:123456/x");
	uri_bad("netdisk://h:/x");
	uri_bad("netdisk://h:-1/x");
	uri_bad("netdisk://h:http/x");
	uri_bad("netdisk://h:80");
	uri_bad("netdisk://h");
	uri_bad("netdisk://h/");
	uri_bad("netdisk://h:80/");
	uri_bad("netdisk://h/x/y");
	uri_bad("netdisk://h/x/");
	uri_bad("netdisk://h/x?y");
	uri_bad("netdisk://h/.x");
	uri_bad("netdisk:///x");
	uri_bad("netdisk://::1/x");
	uri_bad("netdisk://[::1/x");
	uri_bad("netdisk://[]/x");
	uri_bad("netdisk://[nothex]/x");
	uri_bad("netdisk://[::1]junk/x");
	uri_bad("netdisk://user@h/x");
	uri_bad("nbds://h/x");
	uri_bad("nbd:/h/x");
	uri_bad("h/x");
	test_nbd_uris();
	test_nbds_uris();
}

static void
test_key_hex(void)
{
	uint8_t key[ND_KEY_LEN], want[ND_KEY_LEN] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
		0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,
	};
	char hex[2 * ND_KEY_LEN + 1];

	ok(key_parse_hex(HEX64, key) == 0 && memcmp(key, want, 32) == 0,
	    "key from 64 hex digits, either case");
	ok(key_parse_hex("  " HEX64 "\n", key) == 0 &&
	    memcmp(key, want, 32) == 0, "surrounding whitespace allowed");
	key_format_hex(want, hex);
	ok(strcmp(hex, "00112233445566778899aabbccddeeff"
	    "0123456789abcdeffedcba9876543210") == 0, "key_format_hex");
	memset(key, 0x5a, sizeof(key));
	ok(key_parse_hex(HEX64 "0", key) == -1, "65 digits refused");
	ok(key_parse_hex(HEX64 + 1, key) == -1, "63 digits refused");
	ok(key_parse_hex("", key) == -1, "empty refused");
	strlcpy(hex, HEX64, sizeof(hex));
	hex[17] = 'g';
	ok(key_parse_hex(hex, key) == -1, "non-hex digit refused");
	hex[17] = ' ';
	ok(key_parse_hex(hex, key) == -1, "space inside refused");
	ok(key_parse_hex(HEX64 " x", key) == -1, "trailing junk refused");
	ok(key[0] == 0x5a && key[31] == 0x5a, "refused keys leave key as is");
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f == NULL || fputs(text, f) == EOF || fclose(f) == EOF ||
	    chmod(path, mode) == -1) {
		perror(path);
		exit(99);
	}
}

static void
keyfile_refused(const char *name, const char *text, mode_t mode,
    const char *why)
{
	char path[PATH_MAX + 64], err[PATH_MAX + 256], want[PATH_MAX + 256];
	uint8_t key[ND_KEY_LEN];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (text != NULL)
		write_file(path, text, mode);
	snprintf(want, sizeof(want), "keyfile \"%s\": %s", path, why);
	err[0] = '\0';
	ok(key_load_file(path, key, err, sizeof(err)) == -1 &&
	    strcmp(err, want) == 0, "keyfile %s refused: %s", name, err);
}

static void
test_key_file(void)
{
	char path[PATH_MAX + 64], err[256] = "";
	uint8_t key[ND_KEY_LEN], want[ND_KEY_LEN];

	key_parse_hex(HEX64, want);
	snprintf(path, sizeof(path), "%s/good.key", tmpdir);
	write_file(path, HEX64 "\n", 0600);
	ok(key_load_file(path, key, err, sizeof(err)) == 0 &&
	    memcmp(key, want, sizeof(key)) == 0, "keyfile with mode 0600");
	chmod(path, 0400);
	ok(key_load_file(path, key, err, sizeof(err)) == 0,
	    "keyfile with mode 0400");
	keyfile_refused("g.key", HEX64 "\n", 0640, "permissions 0640 are "
	    "too open (must not be accessible by group or others; chmod 600)");
	keyfile_refused("o.key", HEX64 "\n", 0604, "permissions 0604 are "
	    "too open (must not be accessible by group or others; chmod 600)");
	keyfile_refused("w.key", HEX64 "\n", 0620, "permissions 0620 are "
	    "too open (must not be accessible by group or others; chmod 600)");
	keyfile_refused("missing.key", NULL, 0, "No such file or directory");
	keyfile_refused("short.key", "0011\n", 0600,
	    "not a 256-bit key (expected 64 hex digits)");
	keyfile_refused("empty.key", "", 0600,
	    "not a 256-bit key (expected 64 hex digits)");
	keyfile_refused("two.key", HEX64 "\n" HEX64 "\n", 0600,
	    "not a 256-bit key (expected 64 hex digits)");
	snprintf(path, sizeof(path), "%s/dir.key", tmpdir);
	mkdir(path, 0700);
	keyfile_refused("dir.key", NULL, 0, "not a regular file");
	snprintf(path, sizeof(path), "%s/fifo.key", tmpdir);
	mkfifo(path, 0600);
	keyfile_refused("fifo.key", NULL, 0, "not a regular file");
}

static void
test_key_file_big(void)
{
	char path[PATH_MAX + 64], *text;

	snprintf(path, sizeof(path), "%s/big.key", tmpdir);
	if ((text = malloc(8193)) == NULL)
		exit(99);
	memset(text, ' ', 8192);
	memcpy(text + 8192 - 65, HEX64 "\n", 65);
	text[8192] = '\0';
	write_file(path, text, 0600);
	free(text);
	keyfile_refused("big.key", NULL, 0,
	    "not a 256-bit key (expected 64 hex digits)");
}

static void
cleanup(void)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

static void
test_json_string(void)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&out, &len)) == NULL) {
		ok(0, "open_memstream");
		return;
	}
	json_string(f, "a\"b\\c\n\x01\x7f\xc3\xa9");
	fclose(f);
	ok(out != NULL && strcmp(out,
	    "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\xc3\xa9\"") == 0,
	    "json_string escapes quotes, backslashes, controls and DEL, "
	    "keeps UTF-8: %s", out ? out : "(null)");
	free(out);
}

/*
 * rxbuf: a stream of len bytes (a counter pattern) handed out in pieces
 * of pseudo-random sizes, then the end, or an error at err_at.
 */
struct stream {
	size_t len, off, err_at;
	uint64_t rng;
	unsigned fills, direct;
	const struct rxbuf *rb;
};

static ssize_t
stream_fill(void *arg, void *buf, size_t len)
{
	struct stream *st = arg;
	size_t n, i;

	st->fills++;
	if ((uint8_t *)buf < st->rb->buf ||
	    (uint8_t *)buf >= st->rb->buf + sizeof(st->rb->buf))
		st->direct++;
	if (st->off >= st->err_at) {
		errno = ECONNRESET;
		return -1;
	}
	if (st->off == st->len)
		return 0;
	st->rng = st->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	n = 1 + (size_t)(st->rng >> 33) % 70000;
	if (n > len)
		n = len;
	if (n > st->len - st->off)
		n = st->len - st->off;
	for (i = 0; i < n; i++)
		((uint8_t *)buf)[i] = (uint8_t)((st->off + i) * 7 + 3);
	st->off += n;
	return (ssize_t)n;
}

/* Reads the whole stream in pieces of random sizes up to max: 1 if right. */
static int
read_stream(struct rxbuf *rb, struct stream *st, size_t max)
{
	static uint8_t got[100000];
	size_t off = 0, n, i;
	uint64_t r = 99;

	while (off < st->len) {
		r = r * 6364136223846793005ULL + 1442695040888963407ULL;
		n = 1 + (size_t)(r >> 33) % max;
		if (n > st->len - off)
			n = st->len - off;
		if (n > sizeof(got) || rxbuf_read(rb, got, n, stream_fill, st)
		    != 1)
			return 0;
		for (i = 0; i < n; i++)
			if (got[i] != (uint8_t)((off + i) * 7 + 3))
				return 0;
		off += n;
	}
	return rxbuf_read(rb, got, 1, stream_fill, st) == 0;
}

static void
test_rxbuf(void)
{
	static struct rxbuf rb;
	struct stream st = { 3000000, 0, SIZE_MAX, 1, 0, 0, &rb };
	uint8_t b[40];
	int good;

	good = read_stream(&rb, &st, 100);
	ok(good && st.direct == 0,
	    "rxbuf: 3 MB in reads of 1 to 100 bytes, from pieces of random "
	    "sizes, then the end: every byte, none read straight (%u reads)",
	    st.fills);
	st = (struct stream){ 3000000, 0, SIZE_MAX, 2, 0, 0, &rb };
	good = read_stream(&rb, &st, 40000);
	ok(good && st.direct > 0,
	    "rxbuf: the same in reads of 1 to 40000 bytes: long ones read "
	    "straight into place (%u of %u reads)", st.direct, st.fills);
	st = (struct stream){ 30, 0, SIZE_MAX, 3, 0, 0, &rb };
	errno = 0;
	ok(rxbuf_read(&rb, b, 20, stream_fill, &st) == 1 &&
	    rxbuf_read(&rb, b, 20, stream_fill, &st) == -1 && errno == EPROTO,
	    "rxbuf: the end inside a read: -1, EPROTO");
	rb.pos = rb.end = 0;
	st = (struct stream){ 30, 0, 0, 4, 0, 0, &rb };
	errno = 0;
	ok(rxbuf_read(&rb, b, 20, stream_fill, &st) == -1 &&
	    errno == ECONNRESET, "rxbuf: a read error: -1, its errno");
	ok(rxbuf_ready(&rb, 0) && !rxbuf_ready(&rb, 1),
	    "rxbuf_ready: nothing held");
}

int
main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/unit_util.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_sizes();
	test_bools();
	test_names();
	test_uris();
	test_key_hex();
	test_key_file();
	test_key_file_big();
	test_json_string();
	test_rxbuf();
	cleanup();
	return done_testing();
}
