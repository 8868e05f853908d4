/* SPDX-License-Identifier: ISC */
/* netdisk.conf: good files, bad files and their exact error lines. */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "conf_fixture.h"
#include "key.h"
#include "tap.h"

/* The template with "@" replaced by the config path, "$" by tmpdir. */
static char *
expand(const char *tmpl, const char *conf)
{
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);

	if (f == NULL)
		exit(99);
	for (; *tmpl != '\0'; tmpl++) {
		if (*tmpl == '@')
			fputs(conf, f);
		else if (*tmpl == '$')
			fputs(tmpdir, f);
		else
			fputc(*tmpl, f);
	}
	fclose(f);
	return out;
}

static char *
path_of(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", tmpdir, name) == -1)
		exit(99);
	return p;
}

static struct conf *
load(const char *name, const char *text, char **errors)
{
	return fixture_load(name, text, 0644, errors);
}

/* The file is refused with exactly these errors. */
static void
bad(const char *what, const char *text, const char *want_tmpl)
{
	char *path = path_of("bad.conf"), *want = expand(want_tmpl, path);
	char *errors = NULL;
	struct conf *c;

	c = load("bad.conf", text, &errors);
	if (!ok(c == NULL && errors != NULL && strcmp(errors, want) == 0,
	    "%s", what))
		printf("# got:\n%s# want:\n%s", errors ? errors : "(none)\n",
		    want);
	conf_free(c);
	free(errors);
	free(want);
	free(path);
}

static struct conf *
good(const char *what, const char *name, const char *text)
{
	char *errors = NULL;
	struct conf *c;

	c = load(name, text, &errors);
	if (!ok(c != NULL && errors == NULL, "%s loads", what))
		printf("# errors:\n%s", errors ? errors : "(none)\n");
	free(errors);
	return c;
}

static int
str_is(const char *got, const char *want_tmpl)
{
	char *want = expand(want_tmpl, "");
	int same = got != NULL && strcmp(got, want) == 0;

	if (!same)
		printf("# got \"%s\", want \"%s\"\n", got ? got : "(null)", want);
	free(want);
	return same;
}

static void
key_of(const char *hex, uint8_t key[ND_KEY_LEN])
{
	if (key_parse_hex(hex, key) == -1)
		exit(99);
}

static void
test_defaults(void)
{
	uint8_t ka[ND_KEY_LEN];
	struct conf_export *e;
	struct conf *c;

	key_of(HEX_A, ka);
	c = good("minimal file", "min.conf",
	    "[global]\nkeyfile = a.key\n\n[home]\npath = home.img\n");
	if (c == NULL)
		return;
	ok(strcmp(c->port, "26547") == 0 && c->nlisten == 1 &&
	    c->listen[0].host[0] == '\0' &&
	    strcmp(c->listen[0].port, "26547") == 0,
	    "default listen: wildcard on port 26547");
	ok(c->max_connections == 256 && c->handshake_timeout == 10 &&
	    c->log_level == LOG_INFO, "default limits and log level");
	ok(c->max_handshakes == 128 && c->max_handshakes_per_address == 32,
	    "default handshake caps: 128 in all, 32 per address");
	ok(c->max_request_memory == 256ULL * 1024 * 1024,
	    "default max_request_memory: 256 MiB");
	ok(str_is(c->pidfile, "/run/netdiskd.pid") &&
	    str_is(c->control_socket, "/run/netdisk/netdiskd.sock"),
	    "default pidfile and control socket");
	ok(c->user == NULL && c->group == NULL, "no user or group");
	ok(c->has_key && memcmp(c->key, ka, ND_KEY_LEN) == 0,
	    "global keyfile loaded");
	e = conf_find_export(c, "home");
	ok(e != NULL && str_is(e->path, "$/home.img") && e->size == 0 &&
	    !e->readonly && e->trim == 1 && e->max_clients == 0 &&
	    e->allow == NULL && e->nallow == 0 && e->description == NULL,
	    "export defaults, path resolved against the file's directory");
	ok(e != NULL && e->has_key && !e->own_key &&
	    memcmp(e->key, ka, ND_KEY_LEN) == 0,
	    "export without a key of its own gets the global key");
	ok(conf_find_export(c, "nothere") == NULL, "unknown export not found");
	conf_free(c);
}

static const char full_conf[] =
	"\xef\xbb\xbf# netdisk.conf with every key\n"			/* 1 */
	"[global]\n"
	"listen = 127.0.0.1, [::1]:1234 *:99\n"
	"    ::1   ; indented: continues listen\n"
	"port = 4000\n"							/* 5 */
	"keyfile = keys/a.key\n"
	"user = root\n"
	"group = root\n"
	"max_connections = 7\n"
	"handshake_timeout = 3600\n"					/* 10 */
	"log_level = debug\n"
	"pidfile = run/netdiskd.pid\n"
	"control_socket = /tmp/ctl.sock\n"
	"\n"
	"; the first export\n"						/* 15 */
	"[home]\n"
	"path = /srv/home.img\n"
	"size = 10G\n"
	"readonly = yes\n"
	"key = " HEX_B "\n"						/* 20 */
	"allow = 10.0.0.0/8, 192.168.1.77/24\n"
	"  2001:db8::/32 ::1 ; comment\n"
	"  ::ffff:172.16.0.0/108\n"
	"max_clients = 3\n"
	"description = Home disk:\n"					/* 25 */
	"   shared; backed up\n"
	"trim = off\n"
	"\n"
	"[vm.1]\n"
	"path = ../images/vm1.img\n"					/* 30 */
	"keyfile = keys/b.key\n"
	"description = x ; an inline comment\n";

static void
test_full_global(struct conf *c, const uint8_t *ka)
{
	ok(strcmp(c->port, "4000") == 0, "port");
	ok(c->nlisten == 4 && str_is(c->listen[0].host, "127.0.0.1") &&
	    str_is(c->listen[0].port, "4000") &&
	    str_is(c->listen[1].host, "::1") &&
	    str_is(c->listen[1].port, "1234") &&
	    str_is(c->listen[2].host, "") && str_is(c->listen[2].port, "99") &&
	    str_is(c->listen[3].host, "::1") &&
	    str_is(c->listen[3].port, "4000"),
	    "listen list over two lines; port fills in missing ports");
	ok(c->has_key && memcmp(c->key, ka, ND_KEY_LEN) == 0,
	    "keyfile in a subdirectory");
	ok(str_is(c->user, "root") && str_is(c->group, "root"), "user, group");
	ok(c->max_connections == 7 && c->handshake_timeout == 3600 &&
	    c->log_level == LOG_DEBUG, "max_connections, handshake_timeout, "
	    "log_level");
	ok(str_is(c->pidfile, "$/etc/run/netdiskd.pid") &&
	    str_is(c->control_socket, "/tmp/ctl.sock"),
	    "relative pidfile resolved, absolute control_socket kept");
}

static int
net_is(const struct conf_net *n, int af, const char *addr, int prefix)
{
	uint8_t a[16] = { 0 };

	inet_pton(af, addr, a);
	return n->family == af && n->prefix == prefix &&
	    memcmp(n->addr, a, 16) == 0;
}

static void
test_full_home(struct conf_export *e)
{
	uint8_t kb[ND_KEY_LEN];

	key_of(HEX_B, kb);
	ok(str_is(e->path, "/srv/home.img") && e->size == (10ULL << 30) &&
	    e->readonly && !e->trim && e->max_clients == 3,
	    "path, size, readonly, trim, max_clients");
	ok(e->has_key && e->own_key && memcmp(e->key, kb, ND_KEY_LEN) == 0,
	    "inline key of the export");
	ok(e->nallow == 5 && net_is(&e->allow[0], AF_INET, "10.0.0.0", 8) &&
	    net_is(&e->allow[1], AF_INET, "192.168.1.0", 24) &&
	    net_is(&e->allow[2], AF_INET6, "2001:db8::", 32) &&
	    net_is(&e->allow[3], AF_INET6, "::1", 128) &&
	    net_is(&e->allow[4], AF_INET6, "::ffff:172.16.0.0", 108),
	    "allow list over three lines, host bits masked");
	ok(str_is(e->description, "Home disk: shared; backed up"),
	    "description continued on an indented line");
}

static void
test_full(void)
{
	uint8_t ka[ND_KEY_LEN], kb[ND_KEY_LEN];
	struct conf_export *e;
	struct conf *c;

	key_of(HEX_A, ka);
	key_of(HEX_B, kb);
	c = good("file with every key", "etc/netdisk.conf", full_conf);
	if (c == NULL)
		return;
	test_full_global(c, ka);
	if ((e = conf_find_export(c, "home")) != NULL)
		test_full_home(e);
	e = conf_find_export(c, "vm.1");
	ok(e != NULL && str_is(e->path, "$/etc/../images/vm1.img") &&
	    e->own_key && memcmp(e->key, kb, ND_KEY_LEN) == 0 &&
	    str_is(e->description, "x") && e->trim && !e->readonly,
	    "second export: relative path, own keyfile, inline comment");
	ok(TAILQ_FIRST(&c->exports) != NULL &&
	    strcmp(TAILQ_FIRST(&c->exports)->name, "home") == 0,
	    "exports in file order");
	conf_free(c);
}

/* A relative config path: relative paths start from its directory. */
static void
test_relative_config(void)
{
	char cwd[PATH_MAX], *errors = NULL;
	struct conf *c;

	if (getcwd(cwd, sizeof(cwd)) == NULL || chdir(tmpdir) == -1)
		exit(99);
	c = conf_load("etc/netdisk.conf", &errors);
	ok(c != NULL && str_is(c->pidfile, "$/etc/run/netdiskd.pid") &&
	    str_is(conf_find_export(c, "vm.1")->path,
	    "$/etc/../images/vm1.img") && str_is(c->path, "$/etc/netdisk.conf"),
	    "config given by a relative path");
	conf_free(c);
	free(errors);
	c = conf_load("min.conf", &errors);
	ok(c != NULL && str_is(conf_find_export(c, "home")->path,
	    "$/home.img"), "config in the current directory");
	conf_free(c);
	free(errors);
	if (chdir(cwd) == -1)
		exit(99);
}

static int
allowed(const struct conf_export *e, const char *addr)
{
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return conf_allowed(e, (struct sockaddr *)&sin);
	}
	if (inet_pton(AF_INET6, addr, &sin6.sin6_addr) != 1)
		exit(99);
	sin6.sin6_family = AF_INET6;
	return conf_allowed(e, (struct sockaddr *)&sin6);
}

static void
test_allowed(void)
{
	struct conf_export *e;
	struct conf *c;

	c = good("allow lists", "allow.conf", "[global]\nkey = " HEX_A "\n"
	    "[a]\npath = a\nallow = 10.0.0.0/8 192.168.5.16/28, 2001:db8::/33"
	    " ::1 ::ffff:198.51.100.0/120\n[b]\npath = b\n"
	    "[c]\npath = c\nallow = 0.0.0.0/0\n");
	if (c == NULL)
		return;
	e = conf_find_export(c, "a");
	ok(allowed(e, "10.1.2.3") && allowed(e, "192.168.5.31") &&
	    allowed(e, "2001:db8:7fff::1") && allowed(e, "::1"),
	    "IPv4 and IPv6 peers in the list allowed");
	ok(!allowed(e, "11.0.0.1") && !allowed(e, "192.168.5.32") &&
	    !allowed(e, "2001:db8:8000::1") && !allowed(e, "::2"),
	    "peers outside the list refused");
	ok(allowed(e, "::ffff:10.9.9.9") && !allowed(e, "::ffff:11.0.0.1"),
	    "IPv4-mapped IPv6 peers checked against IPv4 entries");
	ok(allowed(e, "::ffff:198.51.100.9") && allowed(e, "198.51.100.9"),
	    "IPv4-mapped IPv6 entries");
	ok(allowed(conf_find_export(c, "b"), "203.0.113.1") &&
	    allowed(conf_find_export(c, "b"), "2001:db8::1"),
	    "no allow list: everybody");
	e = conf_find_export(c, "c");
	ok(allowed(e, "203.0.113.1") && allowed(e, "::ffff:1.2.3.4") &&
	    !allowed(e, "2001:db8::1"), "0.0.0.0/0 allows IPv4 only");
	conf_free(c);
}

static struct conf *
load_export(const char *keyline, const char *extra)
{
	char *text, *errors = NULL;
	struct conf *c;

	if (asprintf(&text, "[global]\nkeyfile = a.key\n[x]\npath = /x\n"
	    "size = 1M\nallow = ::1\n%s\n%s\n", keyline, extra) == -1)
		exit(99);
	c = load("eq.conf", text, &errors);
	if (c == NULL)
		printf("# %s", errors);
	free(text);
	free(errors);
	if (c == NULL)
		exit(99);
	return c;
}

static int
export_equal(struct conf *a, struct conf *b)
{
	int eq = conf_export_equal(TAILQ_FIRST(&a->exports),
	    TAILQ_FIRST(&b->exports));

	conf_free(b);
	return eq;
}

static void
test_equal(void)
{
	struct conf *a = load_export("", "");

	ok(export_equal(a, load_export("", "")), "same settings are equal");
	ok(!export_equal(a, load_export("key = " HEX_A, "")),
	    "an own key, even the global one, is a change");
	ok(!export_equal(a, load_export("key = " HEX_B, "")),
	    "a different key is a change");
	ok(!export_equal(a, load_export("", "readonly = yes")), "readonly");
	ok(!export_equal(a, load_export("", "trim = no")), "trim");
	ok(!export_equal(a, load_export("", "max_clients = 2")), "max_clients");
	ok(!export_equal(a, load_export("", "description = d")), "description");
	ok(export_equal(a, load_export("", "[y]\npath = /y")),
	    "other exports do not matter");
	write_file("a.key", HEX_B "\n", 0600);
	ok(!export_equal(a, load_export("", "")),
	    "a changed global key is a change");
	write_file("a.key", HEX_A "\n", 0600);
	conf_free(a);
}

/* The caps on connections that have not finished the handshake. */
static void
test_handshake_caps(void)
{
	struct conf *c;

	c = good("handshake caps", "caps.conf",
	    "[global]\nkeyfile = a.key\nmax_handshakes = 2000\n"
	    "max_handshakes_per_address = 1\n");
	ok(c != NULL && c->max_handshakes == 2000 &&
	    c->max_handshakes_per_address == 1,
	    "max_handshakes, max_handshakes_per_address");
	conf_free(c);
	bad("handshake caps out of range",
	    "[global]\n"
	    "keyfile = a.key\n"
	    "max_handshakes = 0\n"
	    "max_handshakes_per_address = -3\n"
	    "[home]\n"						/* 5 */
	    "path = home.img\n"
	    "max_handshakes = 5\n",
	    "@:3: [global]: max_handshakes \"0\" is out of range (1 or more)\n"
	    "@:4: [global]: max_handshakes_per_address \"-3\" is out of "
	    "range (1 or more)\n"
	    "@:7: export \"home\": unknown key \"max_handshakes\"\n");
	bad("handshake caps that are not numbers",
	    "[global]\n"
	    "keyfile = a.key\n"
	    "max_handshakes = lots\n"
	    "max_handshakes_per_address = 99999999999\n",
	    "@:3: [global]: max_handshakes \"lots\" is not a number\n"
	    "@:4: [global]: max_handshakes_per_address \"99999999999\" is "
	    "out of range (1 or more)\n");
}

static void
test_bad_values(void)
{
	bad("every bad value reported, with its line",
	    "[global]\n"
	    "lisen = 127.0.0.1\n"
	    "port = 0\n"
	    "keyfile = a.key\n"
	    "key = " HEX_A "\n"					/* 5 */
	    "max_connections = 0\n"
	    "handshake_timeout = 3601\n"
	    "log_level = loud\n"
	    "port = 26547\n"
	    "user = no-such-user-here\n"				/* 10 */
	    "group = no-such-group-here\n"
	    "listen = 1.2.3.4:99999, localhost [::1]:0 1.2.3 *:x [::1\n"
	    "[home]\n"
	    "path = home.img\n"
	    "size = 10X\n"						/* 15 */
	    "readonly = maybe\n"
	    "allow = 10.0.0.0/33, 2001:db8::/129 1.2.3.4 10.0.0.0/ ::1/-1\n"
	    "max_clients = -1\n"
	    "sise = 1G\n"
	    "trim = 2\n"						/* 20 */
	    "max_clients = many\n"
	    "handshake_timeout = 5\n",
	    "@:2: [global]: unknown key \"lisen\"\n"
	    "@:3: [global]: port \"0\" is not a port number (use 1-65535)\n"
	    "@:5: [global]: key: a key is already set on line 4 (use key or "
	    "keyfile, not both)\n"
	    "@:6: [global]: max_connections \"0\" is out of range (1 or more)\n"
	    "@:7: [global]: handshake_timeout \"3601\" is out of range "
	    "(1-3600)\n"
	    "@:8: [global]: log_level \"loud\" is not a log level (use error, "
	    "warning, info or debug)\n"
	    "@:9: [global]: duplicate key \"port\" (first at line 3)\n"
	    "@:10: [global]: user \"no-such-user-here\" does not exist\n"
	    "@:11: [global]: group \"no-such-group-here\" does not exist\n"
	    "@:12: [global]: listen \"1.2.3.4:99999\" is not an address (use "
	    "ADDR, ADDR:PORT, [IPV6]:PORT or *)\n"
	    "@:12: [global]: listen \"localhost\" is not an address (use "
	    "ADDR, ADDR:PORT, [IPV6]:PORT or *)\n"
	    "@:12: [global]: listen \"[::1]:0\" is not an address (use "
	    "ADDR, ADDR:PORT, [IPV6]:PORT or *)\n"
	    "@:12: [global]: listen \"1.2.3\" is not an address (use "
	    "ADDR, ADDR:PORT, [IPV6]:PORT or *)\n"
	    "@:12: [global]: listen \"*:x\" is not an address (use "
	    "ADDR, ADDR:PORT, [IPV6]:PORT or *)\n"
	    "@:12: [global]: listen \"[::1\" is not an address (use "
	    "ADDR, ADDR:PORT, [IPV6]:PORT or *)\n"
	    "@:15: export \"home\": size \"10X\" is not a size (use 512, 64M, "
	    "10G)\n"
	    "@:16: export \"home\": readonly \"maybe\" is not a boolean (use "
	    "yes or no)\n"
	    "@:17: export \"home\": allow \"10.0.0.0/33\" is not an address or "
	    "network (use e.g. 192.0.2.7, 10.0.0.0/8, 2001:db8::/32)\n"
	    "@:17: export \"home\": allow \"2001:db8::/129\" is not an address "
	    "or network (use e.g. 192.0.2.7, 10.0.0.0/8, 2001:db8::/32)\n"
	    "@:17: export \"home\": allow \"10.0.0.0/\" is not an address or "
	    "network (use e.g. 192.0.2.7, 10.0.0.0/8, 2001:db8::/32)\n"
	    "@:17: export \"home\": allow \"::1/-1\" is not an address or "
	    "network (use e.g. 192.0.2.7, 10.0.0.0/8, 2001:db8::/32)\n"
	    "@:18: export \"home\": max_clients \"-1\" is out of range (0 or "
	    "more)\n"
	    "@:19: export \"home\": unknown key \"sise\"\n"
	    "@:20: export \"home\": trim \"2\" is not a boolean (use yes or "
	    "no)\n"
	    "@:21: export \"home\": duplicate key \"max_clients\" (first at "
	    "line 18)\n"
	    "@:22: export \"home\": unknown key \"handshake_timeout\"\n");
}

static void
test_bad_sizes(void)
{
	bad("sizes: zero, not a multiple of 512, overflow",
	    "[global]\nkey = " HEX_A "\n"
	    "[a]\npath = a\nsize = 0\n"
	    "[b]\npath = b\nsize = 1000\n"
	    "[c]\npath = c\nsize = 16777216T\n"
	    "[d]\npath = d\nsize = 1.5G\n",
	    "@:5: export \"a\": size \"0\" is zero (leave size out to use the "
	    "file's size)\n"
	    "@:8: export \"b\": size \"1000\" is not a multiple of 512\n"
	    "@:11: export \"c\": size \"16777216T\" is not a size (use 512, "
	    "64M, 10G)\n"
	    "@:14: export \"d\": size \"1.5G\" is not a size (use 512, 64M, "
	    "10G)\n");
}

static void
test_bad_sections(void)
{
	bad("keys outside a section, broken headers",
	    "# comment\n"
	    "port = 1\n"
	    "[global\n"
	    "garbage line\n"
	    "[global] junk\n"					/* 5 */
	    "= value\n"
	    "[global]\n"
	    "[.hidden]\n"
	    "path = x\n"
	    "nokey = 1\n",						/* 10 */
	    "@:2: key \"port\" is outside a section (put it under [global] or "
	    "an export section)\n"
	    "@:3: section header has no closing \"]\"\n"
	    "@:4: expected \"key = value\", a [section] or a comment\n"
	    "@:5: text after the section header\n"
	    "@:6: missing key name before \"=\"\n"
	    "@:7: [global]: duplicate section (first at line 5)\n"
	    "@:8: export \".hidden\": not a valid export name (use 1 to 128 of "
	    "A-Z a-z 0-9 . _ -, not starting with \".\")\n"
	    "@:10: export \".hidden\": unknown key \"nokey\"\n");
	bad("duplicate export, missing path and key",
	    "[a]\nsize = 1M\n[b]\npath = b.img\nkey = nothex\n"
	    "[a]\npath = a\n[c d]\npath = c\n",
	    "@:1: export \"a\": path is required\n"
	    "@:1: export \"a\": no key (set key or keyfile here or in "
	    "[global])\n"
	    "@:5: export \"b\": key is not a 256-bit key (expected 64 hex "
	    "digits)\n"
	    "@:6: export \"a\": duplicate section (first at line 1)\n"
	    "@:8: export \"c d\": not a valid export name (use 1 to 128 of "
	    "A-Z a-z 0-9 . _ -, not starting with \".\")\n");
}

/* No export yet: netdiskd starts and a reload adds them. */
static void
test_no_exports(void)
{
	struct conf *c;

	c = good("empty file", "empty.conf", "");
	ok(c != NULL && TAILQ_EMPTY(&c->exports) && !c->has_key,
	    "empty file: no exports, no key");
	conf_free(c);
	c = good("[global] only", "global.conf", "[global]\nport = 1234\n");
	ok(c != NULL && TAILQ_EMPTY(&c->exports) &&
	    strcmp(c->listen[0].port, "1234") == 0,
	    "[global] only: no exports, listens on its port");
	conf_free(c);
}

static void
test_bad_keyfiles(void)
{
	write_file("open.key", HEX_A "\n", 0644);
	write_file("short.key", "abcd\n", 0600);
	bad("keyfile errors name the file, never the key; no cascade",
	    "[global]\nkeyfile = open.key\n"
	    "[a]\npath = a\nkeyfile = short.key\n"
	    "[b]\npath = b\nkeyfile = missing.key\n"
	    "[c]\npath = c\nkeyfile = a.key\nkey = " HEX_B "\n"
	    "[d]\npath = d\nkeyfile =\n"
	    "[e]\npath = e\n",
	    "@:2: [global]: keyfile \"$/open.key\": permissions 0644 are too "
	    "open (must not be accessible by group or others; chmod 600)\n"
	    "@:5: export \"a\": keyfile \"$/short.key\": not a 256-bit key "
	    "(expected 64 hex digits)\n"
	    "@:8: export \"b\": keyfile \"$/missing.key\": No such file or "
	    "directory\n"
	    "@:12: export \"c\": key: a key is already set on line 11 (use key "
	    "or keyfile, not both)\n"
	    "@:15: export \"d\": keyfile is empty\n");
}

static void
test_continuations(void)
{
	bad("indented lines: line numbers and misuse",
	    "[global]\n"
	    "keyfile = a.key\n"
	    "listen = 127.0.0.1,\n"
	    "    [::1]:26548   ; v6 too\n"
	    "    nonsense\n"						/* 5 */
	    "[home]\n"
	    "    path = home.img\n"
	    "    size = 1G\n"
	    "allow = 10.0.0.0/8\n"
	    "  192.168.0.0/16 ; lan\n"				/* 10 */
	    "  readonly = yes\n"
	    "description = first\n"
	    "  second = third\n"
	    "trim = no\n"
	    "size = 1000\n"						/* 15 */
	    "allow =\n"
	    "[x]\n"
	    "path = x\n"
	    "allow =\n",
	    "@:5: [global]: listen \"nonsense\" is not an address (use ADDR, "
	    "ADDR:PORT, [IPV6]:PORT or *)\n"
	    "@:8: export \"home\": indented line continues \"path\", which "
	    "takes one line (do not indent keys or sections)\n"
	    "@:11: export \"home\": indented line continues \"allow\" (do not "
	    "indent keys or sections)\n"
	    "@:15: export \"home\": size \"1000\" is not a multiple of 512\n"
	    "@:16: export \"home\": duplicate key \"allow\" (first at line 9)\n"
	    "@:19: export \"x\": allow lists no addresses\n");
	bad("indented section header after an unknown key",
	    "[global]\nkey = " HEX_A "\nlisen = 1.2.3.4\n  [home]\n"
	    "  path = x\n",
	    "@:3: [global]: unknown key \"lisen\"\n"
	    "@:4: [global]: indented line continues the key above (do not "
	    "indent keys or sections)\n"
	    "@:5: [global]: indented line continues the key above (do not "
	    "indent keys or sections)\n");
}

static void
test_bad_lines(void)
{
	char text[600];

	snprintf(text, sizeof(text), "[global]\nkey = %s\n[a]\npath = %0300d\n"
	    "description = x\n", HEX_A, 0);
	bad("over-long line", text, "@:3: export \"a\": path is required\n"
	    "@:4: line is too long (at most 198 characters)\n");
}

static void
test_nul_and_paths(void)
{
	char *path = path_of("nul.conf"), *want, *errors = NULL;
	static const char text[] = "[global]\nkey = " HEX_A "\n[a]\npath = a"
	    "\0b\nsize = 1M\n";
	FILE *f = fopen(path, "w");
	struct conf *c;

	fwrite(text, 1, sizeof(text) - 1, f);
	fclose(f);
	c = conf_load(path, &errors);
	want = expand("@:3: export \"a\": path is required\n"
	    "@:4: line contains a NUL byte\n", path);
	ok(c == NULL && errors != NULL && strcmp(errors, want) == 0,
	    "NUL byte refused");
	free(want);
	free(errors);
	bad("same path writable through two exports",
	    "[global]\nkey = " HEX_A "\n[a]\npath = /d\n[b]\npath = /d\n"
	    "[c]\npath = /d\nreadonly = yes\n",
	    "@:5: export \"b\": path \"/d\" is also writable through export "
	    "\"a\"\n");
	c = conf_load("/nonexistent/netdisk.conf", &errors);
	ok(c == NULL && errors != NULL && strcmp(errors,
	    "/nonexistent/netdisk.conf: No such file or directory\n") == 0,
	    "missing file named, with the reason");
	free(errors);
	free(path);
}

static void
test_names(void)
{
	char text[1024], name[ND_NAME_MAX + 1];
	struct conf *c;

	memset(name, 'n', ND_NAME_MAX);
	name[ND_NAME_MAX] = '\0';
	snprintf(text, sizeof(text), "[global]\nkey = %s\n[%s]\npath = a\n"
	    "[%s]\npath = b\n", HEX_A, name, "n");
	c = good("export name of 128 characters", "long.conf", text);
	ok(c != NULL && conf_find_export(c, name) != NULL &&
	    conf_find_export(c, "n") != NULL, "long export name kept whole");
	conf_free(c);
	c = good("CRLF line ends", "crlf.conf",
	    "[global]\r\nkey = " HEX_A "\r\n[a]\r\npath = a\r\nsize = 1M\r\n");
	ok(c != NULL && TAILQ_FIRST(&c->exports)->size == (1 << 20),
	    "CRLF values");
	conf_free(c);
}

/* Lines are counted across the whole of a file larger than any buffer. */
static void
test_big_file(void)
{
	char *text = NULL, *errors = NULL;
	size_t i, size = 0;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		exit(99);
	fputs("[global]\nkey = " HEX_A "\n", f);
	for (i = 0; i < 5000; i++)
		fputs("# a comment to make the file big enough\n", f);
	fputs("[a]\npath = a\nbogus = 1\n", f);
	fclose(f);
	bad("error on line 5005 of a 200 KB file", text,
	    "@:5005: export \"a\": unknown key \"bogus\"\n");
	free(text);
	if ((text = calloc(1, 1100 * 1024)) == NULL)
		exit(99);
	memset(text, '\n', 1100 * 1024 - 1);
	write_file("huge.conf", text, 0644);
	free(text);
	text = path_of("huge.conf");
	ok(conf_load(text, &errors) == NULL &&
	    strstr(errors, ": File too large\n") != NULL,
	    "a file over 1 MiB is refused");
	free(errors);
	free(text);
}

/* Exports on one file under different names: recognised by the file. */
static void
test_request_memory(void)
{
	struct conf *c;

	c = good("max_request_memory = 64M", "mem.conf",
	    "[global]\nmax_request_memory = 64M\n");
	ok(c != NULL && c->max_request_memory == 64ULL * 1024 * 1024,
	    "max_request_memory = 64M: 64 MiB");
	conf_free(c);
	bad("max_request_memory below 1M",
	    "[global]\nmax_request_memory = 1023K\n",
	    "@:2: [global]: max_request_memory \"1023K\" is out of range "
	    "(1M-1T)\n");
	bad("max_request_memory above 1T",
	    "[global]\nmax_request_memory = 2T\n",
	    "@:2: [global]: max_request_memory \"2T\" is out of range "
	    "(1M-1T)\n");
	bad("max_request_memory not a size",
	    "[global]\nmax_request_memory = lots\n",
	    "@:2: [global]: max_request_memory \"lots\" is not a size (use "
	    "64M, 1G)\n");
}

static void
test_same_file(void)
{
	struct conf *c;
	char *a = path_of("same.img"), *l = path_of("same.link");
	char *h = path_of("same.hard");

	write_file("same.img", "", 0600);
	if (symlink("same.img", l) == -1 || link(a, h) == -1) {
		perror("same.img");
		exit(99);
	}
	bad("one file through a symlink, ./ and a hard link",
	    "[global]\nkey = " HEX_A "\n[a]\npath = same.img\n"
	    "[b]\npath = same.link\n[c]\npath = ./same.img\n"
	    "[d]\npath = same.hard\n[e]\npath = same.link\nreadonly = yes\n",
	    "@:5: export \"b\": path \"$/same.link\" is also writable through "
	    "export \"a\" (as \"$/same.img\")\n"
	    "@:7: export \"c\": path \"$/./same.img\" is also writable "
	    "through export \"a\" (as \"$/same.img\")\n"
	    "@:9: export \"d\": path \"$/same.hard\" is also writable "
	    "through export \"a\" (as \"$/same.img\")\n");
	bad("one file still to be created, as x and ./x",
	    "[global]\nkey = " HEX_A "\n[r]\npath = same.img\nreadonly = 1\n"
	    "[a]\npath = new.img\nsize = 1M\n"
	    "[b]\npath = ./new.img\nsize = 1M\n",
	    "@:9: export \"b\": path \"$/./new.img\" is also writable "
	    "through export \"a\" (as \"$/new.img\")\n");
	c = good("one file writable once and read-only through a symlink",
	    "same.conf", "[global]\nkey = " HEX_A "\n[a]\npath = same.img\n"
	    "[b]\npath = same.link\nreadonly = yes\n");
	conf_free(c);
	free(a);
	free(l);
	free(h);
}

/* Key files owned by someone other than root or netdiskd's user. */
static void
test_keyfile_owner(void)
{
	char *path = path_of("nobody.key");
	struct conf *c;

	write_file("nobody.key", HEX_A "\n", 0600);
	if (geteuid() != 0 || getpwnam("nobody") == NULL ||
	    getpwnam("daemon") == NULL || getpwnam("nobody")->pw_uid != 65534 ||
	    chown(path, 65534, 65534) == -1) {
		ok(1, "# SKIP key file owners: needs root and user nobody");
		ok(1, "# SKIP");
		ok(1, "# SKIP");
		ok(1, "# SKIP");
		free(path);
		return;
	}
	bad("a key file of another user is refused",
	    "[global]\nkeyfile = nobody.key\n",
	    "@:2: [global]: keyfile \"$/nobody.key\": owned by nobody (uid "
	    "65534), not by root or netdiskd's user (root)\n");
	bad("... also with another user configured",
	    "[global]\nuser = daemon\n[a]\npath = a\nkeyfile = nobody.key\n",
	    "@:5: export \"a\": keyfile \"$/nobody.key\": owned by nobody "
	    "(uid 65534), not by root or netdiskd's user (daemon)\n");
	c = good("a key file of netdiskd's user", "owner.conf",
	    "[global]\nkeyfile = nobody.key\nuser = nobody\n");
	conf_free(c);
	chown(path, 0, 0);
	free(path);
}

/* An inline key in a file others can read: loaded, with a warning. */
static void
test_inline_key_warning(void)
{
	char *path = path_of("inline.conf"), *errors = NULL, *want;
	static const char text[] = "[global]\nkey = " HEX_A "\n"
	    "[a]\npath = a\nkey = " HEX_B "\n[b]\npath = b\nkeyfile = a.key\n";
	struct conf *c;

	write_file("inline.conf", text, 0640);
	c = conf_load(path, &errors);
	want = expand("@:2: [global]: warning: the key is written in the file, "
	    "which group or others can read (mode 0640): use keyfile, or "
	    "chmod 600 @\n"
	    "@:5: export \"a\": warning: the key is written in the file, "
	    "which group or others can read (mode 0640): use keyfile, or "
	    "chmod 600 @\n", path);
	ok(c != NULL && c->warnings != NULL &&
	    strcmp(c->warnings, want) == 0,
	    "inline keys in a group-readable file: one warning each");
	if (c != NULL && c->warnings != NULL && strcmp(c->warnings, want))
		printf("# got:\n%s# want:\n%s", c->warnings, want);
	conf_free(c);
	free(want);
	write_file("inline.conf", text, 0600);
	c = conf_load(path, &errors);
	ok(c != NULL && c->warnings == NULL,
	    "inline keys in a file only its owner can read: no warning");
	conf_free(c);
	free(path);
}

/* Client identities from clients_dir and [client NAME], and their use. */
static void
test_clients(void)
{
	struct conf_export *shared, *lab, *all;
	struct conf *c;
	uint8_t key[ND_KEY_LEN];

	c = good("client identities", "clients.conf",
	    "[global]\nkeyfile = a.key\nclients_dir = clients\n"
	    "[client carol]\nkeyfile = carol.key\n"
	    "[shared]\npath = s\n"
	    "[lab]\npath = l\nclients = alice,\n  carol\n"
	    "[all]\npath = x\nclients = *\nkey = " HEX_B "\n");
	if (c == NULL)
		return;
	ok(c->nclients == 3 && strcmp(c->clients[0].name, "alice") == 0 &&
	    strcmp(c->clients[1].name, "bob") == 0 &&
	    strcmp(c->clients[2].name, "carol") == 0,
	    "three identities, sorted: alice and bob from the directory "
	    "(not .hidden.key or notes.txt), carol from its section");
	key_of(HEX_C, key);
	ok(c->clients[0].has_key && memcmp(c->clients[0].key, key,
	    ND_KEY_LEN) == 0 && str_is(c->clients[0].keyfile,
	    "$/clients/alice.key"), "alice's key from clients/alice.key");
	key_of(HEX_E, key);
	ok(memcmp(c->clients[2].key, key, ND_KEY_LEN) == 0 &&
	    c->clients[2].line == 4, "carol's key from her keyfile, line 4");
	ok(conf_find_client(c, "bob") == 1 && conf_find_client(c, "eve") == -1,
	    "conf_find_client");
	shared = conf_find_export(c, "shared");
	lab = conf_find_export(c, "lab");
	all = conf_find_export(c, "all");
	key_of(HEX_A, key);
	ok(shared != NULL && shared->has_key && memcmp(shared->key, key,
	    ND_KEY_LEN) == 0 && !conf_export_admits(shared, 0),
	    "an export without clients: [global]'s key, no identity");
	ok(lab != NULL && !lab->has_key && lab->nclients == 2 &&
	    conf_export_admits(lab, 0) && !conf_export_admits(lab, 1) &&
	    conf_export_admits(lab, 2), "an export with clients (on two "
	    "lines): alice and carol, not bob, and not [global]'s key");
	key_of(HEX_B, key);
	ok(all != NULL && all->has_key && memcmp(all->key, key,
	    ND_KEY_LEN) == 0 && conf_export_admits(all, 0) &&
	    conf_export_admits(all, 1) && conf_export_admits(all, 2),
	    "clients = *: every identity, and its own key");
	conf_free(c);
}

/* Overlay exports: the settings and what they need. */
static void
test_overlays(void)
{
	struct conf_export *g, *e;
	struct conf *c;

	c = good("overlay exports", "overlays.conf",
	    "[global]\nkeyfile = a.key\nclients_dir = clients\n"
	    "[gold]\npath = base.img\noverlay_dir = ovl\nclients = *\n"
	    "[eph]\npath = base.img\noverlay_dir = /o2\nclients = alice\n"
	    "overlay = ephemeral\noverlay_quota = 1G\noverlay_chunk = 1M\n"
	    "base_generation = 7\nbase_changed = refuse\noverlay_hold = 5\n"
	    "[rw]\npath = base.img\n");
	if (c == NULL)
		return;
	g = conf_find_export(c, "gold");
	e = conf_find_export(c, "eph");
	ok(g != NULL && str_is(g->overlay_dir, "$/ovl") &&
	    !g->overlay_ephemeral && g->overlay_quota == 0 &&
	    g->overlay_chunk == 0 && g->base_generation == 0 &&
	    !g->base_changed_refuse && g->overlay_hold == CONF_OVERLAY_HOLD &&
	    !g->has_key, "overlay defaults; no shared key");
	ok(e != NULL && e->overlay_ephemeral && e->overlay_quota == 1ULL << 30 &&
	    e->overlay_chunk == 1U << 20 && e->base_generation == 7 &&
	    e->base_changed_refuse && e->overlay_hold == 5,
	    "every overlay setting");
	ok(g != NULL && e != NULL && !conf_export_equal(g, e) &&
	    conf_export_equal(g, g), "overlay settings count in equality");
	conf_free(c);
	bad("overlay exports: bad settings and combinations",
	    "[global]\nkeyfile = a.key\nclients_dir = clients\n"
	    "[a]\npath = b\noverlay_dir = o\nreadonly = yes\nclients = *\n"
	    "[b]\npath = b\noverlay_dir = p\n"			/* 10 */
	    "[c]\npath = b\noverlay_dir = q\nclients = *\nkey = " HEX_B "\n"
	    "[d]\npath = b\noverlay_dir = o\nclients = *\n"	/* 18 */
	    "[e]\npath = b\noverlay = sometimes\noverlay_chunk = 3K\n"
	    "overlay_quota = lots\nbase_changed = maybe\n"	/* 25 */
	    "base_generation = -1\noverlay_hold = 99999\n"
	    "[f]\npath = f\noverlay_quota = 1G\n"		/* 29 */
	    "[g]\npath = b\noverlay_dir = r\nsize = 1M\nclients = *\n",
	    "@:6: export \"a\": overlay_dir and readonly: an overlay export "
	    "is written (its base never is); remove one\n"
	    "@:11: export \"b\": overlay_dir needs clients: each client "
	    "identity has its own overlay (list them in clients)\n"
	    "@:14: export \"c\": overlay_dir and a key of its own: a shared "
	    "key names no client, so it cannot have an overlay; remove key or "
	    "keyfile\n"
	    "@:19: export \"d\": overlay_dir \"$/o\" is also export \"a\"'s "
	    "(each overlay export needs its own)\n"
	    "@:23: export \"e\": overlay \"sometimes\" is not an overlay mode "
	    "(use persistent or ephemeral)\n"
	    "@:24: export \"e\": overlay_chunk \"3K\" is not a power of two "
	    "from 4K to 8M\n"
	    "@:25: export \"e\": overlay_quota \"lots\" is not a size (use 0 "
	    "or none, 512M, 10G)\n"
	    "@:26: export \"e\": base_changed \"maybe\" is not a policy (use "
	    "new or refuse)\n"
	    "@:27: export \"e\": base_generation \"-1\" is not a number\n"
	    "@:28: export \"e\": overlay_hold \"99999\" is out of range "
	    "(0-86400)\n"
	    "@:29: export \"f\": overlay settings (overlay, overlay_quota, "
	    "overlay_chunk, base_generation, base_changed, overlay_hold) "
	    "without overlay_dir\n"
	    "@:34: export \"g\": overlay_dir and size: an overlay export has "
	    "its base's size; remove size\n");
}

static void
test_bad_clients(void)
{
	bad("client identities: names, sections, lists",
	    "[global]\nclients_dir = clients\n"
	    "[client .x]\nkeyfile = carol.key\n"
	    "[client alice]\nkeyfile = carol.key\n"		/* 5 */
	    "[client dave]\npath = x\n"
	    "[e]\npath = e\nclients = alice zed b:d\n"		/* 10 */
	    "[f]\npath = f\nclients =\n"
	    "[g]\npath = g\nclients = *\n",
	    "@:3: client \".x\": not a valid client name (use 1 to 64 of "
	    "A-Z a-z 0-9 . _ -, not starting with \".\" or \"-\")\n"
	    "@:5: client \"alice\": defined twice (keyfile \"$/carol.key\"; "
	    "first at line 2, keyfile \"$/clients/alice.key\")\n"
	    "@:7: client \"dave\": keyfile is required\n"
	    "@:8: client \"dave\": unknown key \"path\"\n"
	    "@:11: export \"e\": clients: \"b:d\" is not a valid client name "
	    "(use 1 to 64 of A-Z a-z 0-9 . _ -, not starting with \".\" or "
	    "\"-\")\n"
	    "@:11: export \"e\": clients: no client identity \"zed\" (add a "
	    "[client zed] section or zed.key in clients_dir)\n"
	    "@:12: export \"f\": no key (set key or keyfile here or in "
	    "[global])\n"
	    "@:14: export \"f\": clients lists no client identities\n");
	bad("clients = * with no identity and no key of its own",
	    "[global]\nkey = " HEX_A "\n[g]\npath = g\nclients = *\n",
	    "@:5: export \"g\": clients \"*\", but no client identity is "
	    "defined and the export has no key of its own: nobody could use "
	    "it\n");
	write_file("alice2.key", HEX_C "\n", 0600);
	write_file("d.key", HEX_D "\n", 0600);
	bad("a client's key is its own: not another's, not a shared key",
	    "[global]\nkeyfile = d.key\nclients_dir = clients\n"
	    "[client dave]\nkeyfile = alice2.key\n"
	    "[client erin]\nkeyfile = a.key\n"			/* 6 */
	    "[x]\npath = x\nkeyfile = a.key\n",
	    "@:3: client \"bob\": keyfile \"$/clients/bob.key\": the same key "
	    "as [global]'s key (line 2): the key decides who the client is, "
	    "so each client needs a key of its own\n"
	    "@:4: client \"dave\": keyfile \"$/alice2.key\": the same key as "
	    "client \"alice\" (line 3): the key decides who the client is, "
	    "so each client needs a key of its own\n"
	    "@:6: client \"erin\": keyfile \"$/a.key\": the same key as "
	    "export \"x\"'s key (line 8): the key decides who the client is, "
	    "so each client needs a key of its own\n");
}

static void
test_bad_clients_dir(void)
{
	bad("clients_dir: missing; only in [global]",
	    "[global]\nclients_dir = nosuch\n[client x]\n"
	    "[global2]\nclients_dir = a.key\n",
	    "@:2: [global]: clients_dir \"$/nosuch\": No such file or "
	    "directory\n"
	    "@:3: client \"x\": keyfile is required\n"
	    "@:4: export \"global2\": path is required\n"
	    "@:4: export \"global2\": no key (set key or keyfile here or in "
	    "[global])\n"
	    "@:5: export \"global2\": unknown key \"clients_dir\"\n");
	bad("clients_dir: writable by others",
	    "[global]\nclients_dir = open\n",
	    "@:2: [global]: clients_dir \"$/open\": writable by group or "
	    "others (mode 0777; chmod 700)\n");
	bad("clients_dir: a bad name, a bad key file",
	    "[global]\nclients_dir = cbad\n",
	    "@:2: [global]: clients_dir \"$/cbad\": \"-x.key\": \"-x\" is not "
	    "a valid client name (use 1 to 64 of A-Z a-z 0-9 . _ -, not "
	    "starting with \".\" or \"-\")\n"
	    "@:2: [global]: clients_dir \"$/cbad\": keyfile "
	    "\"$/cbad/open.key\": permissions 0644 are too open (must not be "
	    "accessible by group or others; chmod 600)\n"
	    "@:2: [global]: clients_dir \"$/cbad\": keyfile "
	    "\"$/cbad/short.key\": not a 256-bit key (expected 64 hex "
	    "digits)\n");
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
setup(void)
{
	char dir[PATH_MAX + 16];

	fixture_tmpdir("unit_conf");
	snprintf(dir, sizeof(dir), "%s/etc", tmpdir);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/etc/keys", tmpdir);
	mkdir(dir, 0700);
	write_file("a.key", HEX_A "\n", 0600);
	write_file("etc/keys/a.key", HEX_A "\n", 0600);
	write_file("etc/keys/b.key", HEX_B, 0600);
	snprintf(dir, sizeof(dir), "%s/clients", tmpdir);
	mkdir(dir, 0700);
	write_file("clients/alice.key", HEX_C "\n", 0600);
	write_file("clients/bob.key", HEX_D "\n", 0600);
	write_file("clients/.hidden.key", "not a key\n", 0600);
	write_file("clients/notes.txt", "not a key\n", 0644);
	write_file("carol.key", HEX_E "\n", 0600);
	snprintf(dir, sizeof(dir), "%s/open", tmpdir);
	mkdir(dir, 0700);
	chmod(dir, 0777);
	snprintf(dir, sizeof(dir), "%s/cbad", tmpdir);
	mkdir(dir, 0700);
	write_file("cbad/-x.key", HEX_A "\n", 0600);
	write_file("cbad/open.key", HEX_B "\n", 0644);
	write_file("cbad/short.key", "abcd\n", 0600);
}

int
main(void)
{
	setup();
	test_defaults();
	test_full();
	test_relative_config();
	test_allowed();
	test_equal();
	test_handshake_caps();
	test_bad_values();
	test_bad_sizes();
	test_bad_sections();
	test_no_exports();
	test_bad_keyfiles();
	test_continuations();
	test_bad_lines();
	test_nul_and_paths();
	test_names();
	test_big_file();
	test_request_memory();
	test_same_file();
	test_keyfile_owner();
	test_inline_key_warning();
	test_clients();
	test_bad_clients();
	test_bad_clients_dir();
	test_overlays();
	cleanup();
	return done_testing();
}
