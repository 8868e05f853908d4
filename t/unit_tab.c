/* SPDX-License-Identifier: ISC */
/* netdisktab: good tables, bad lines and their exact error lines. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tab.h"
#include "tap.h"

#define F	"/etc/netdisktab"
#define URI	"netdisk://127.0.0.1/home"
#define KEY	"/etc/netdisk/home.key"
#define PUB63	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"
#define PUB	PUB63 "f"

/* Parses text as the file F; the errors (or "") in *errors, malloc'd. */
static struct tab *
parse(const char *text, char **errors)
{
	struct tab *t;

	t = tab_parse(F, text, strlen(text), errors);
	if ((t == NULL) == (*errors == NULL)) {
		fprintf(stderr, "tab_parse broke its promise on: %s\n", text);
		exit(99);
	}
	if (*errors == NULL && (*errors = strdup("")) == NULL)
		exit(99);
	return t;
}

/* The one line of text gives exactly the error want. */
static void
bad(const char *desc, const char *text, const char *want)
{
	struct tab *t;
	char *errors;

	t = parse(text, &errors);
	if (!ok(t == NULL && strcmp(errors, want) == 0, "%s", desc))
		printf("# got:      %s# expected: %s", errors, want);
	tab_free(t);
	free(errors);
}

static void
test_good(void)
{
	const struct tab_entry *e;
	struct tab *t;
	char *errors;

	t = parse("# the devices attached at boot\n"
	    "\n"
	    "   \t \n"
	    "home  " URI "  " KEY "\n"
	    "scratch\tnetdisk://[::1]:4000/scratch\t/k/s -   # comment\n"
	    "ro_1.x-y netdisk://nas.example:26547/media /k/m "
	    "conns=4,ro,dead_timeout=0,noauto\r\n"
	    "  last netdisk://10.0.0.1/l /k/l dead_timeout=86400,conns=16",
	    &errors);
	ok(t != NULL && strcmp(errors, "") == 0, "a good table: no errors");
	if (t == NULL) {
		printf("# %s", errors);
		free(errors);
		return;
	}
	ok(t->nentries == 4, "... 4 entries, comments and blank lines "
	    "skipped");
	e = tab_find(t, "home");
	ok(e != NULL && e->line == 4 && strcmp(e->uri.host, "127.0.0.1") == 0 &&
	    strcmp(e->uri.port, "26547") == 0 &&
	    strcmp(e->uri.export, "home") == 0 && strcmp(e->keyfile, KEY) == 0 &&
	    e->conns == -1 && e->dead_timeout == -1 && e->flags == 0,
	    "home: line 4, URI parsed, keyfile, no options: defaults");
	e = tab_find(t, "scratch");
	ok(e != NULL && strcmp(e->uri.host, "::1") == 0 &&
	    strcmp(e->uri.port, "4000") == 0 && e->flags == 0 &&
	    e->conns == -1, "scratch: tabs, IPv6, options \"-\", a comment "
	    "after the fields");
	e = tab_find(t, "ro_1.x-y");
	ok(e != NULL && e->conns == 4 && e->dead_timeout == 0 &&
	    e->flags == (TAB_RO | TAB_NOAUTO) && strcmp(e->keyfile, "/k/m") == 0,
	    "ro_1.x-y: conns=4,ro,dead_timeout=0,noauto; CRLF");
	e = tab_find(t, "last");
	ok(e != NULL && e->line == 7 && e->conns == 16 &&
	    e->dead_timeout == 86400 && e->flags == 0,
	    "last: indented, no final newline, the upper limits");
	ok(t->entries[0].line == 4 && t->entries[3].line == 7,
	    "entries in the file's order");
	ok(tab_find(t, "nosuch") == NULL && tab_find(t, "") == NULL,
	    "tab_find of an unknown name: NULL");
	tab_free(t);
	free(errors);

	t = parse("hex " URI " /k server_key=" PUB "\n"
	    "file " URI " /k ro,server_key=/etc/netdisk/server.pub\n"
	    "none " URI " /k ro\n", &errors);
	ok(t != NULL && (e = tab_find(t, "hex")) != NULL &&
	    e->server_key != NULL && strcmp(e->server_key, PUB) == 0,
	    "server_key=HEX kept as given");
	ok(t != NULL && (e = tab_find(t, "file")) != NULL &&
	    e->server_key != NULL && e->flags == TAB_RO &&
	    strcmp(e->server_key, "/etc/netdisk/server.pub") == 0,
	    "server_key=/PATH kept as given, with ro");
	ok(t != NULL && (e = tab_find(t, "none")) != NULL &&
	    e->server_key == NULL, "no server_key: NULL");
	tab_free(t);
	free(errors);

	t = parse("", &errors);
	ok(t != NULL && t->nentries == 0, "an empty table: no entries");
	tab_free(t);
	free(errors);
	t = parse("# nothing\n\n", &errors);
	ok(t != NULL && t->nentries == 0, "only comments: no entries");
	tab_free(t);
	free(errors);
	t = parse("abcdefghijklmnopqrstuvwxyz01234 " URI " /k", &errors);
	ok(t != NULL && t->nentries == 1, "a name of 31 characters");
	tab_free(t);
	free(errors);
}

static void
test_names(void)
{
	ok(tab_name_valid("a") && tab_name_valid("A-Z_a.z-09") &&
	    tab_name_valid(".hidden") && tab_name_valid("-x"),
	    "tab_name_valid: the charset");
	ok(!tab_name_valid("") && !tab_name_valid("a/b") &&
	    !tab_name_valid("a b") && !tab_name_valid("é") &&
	    !tab_name_valid("abcdefghijklmnopqrstuvwxyz012345"),
	    "tab_name_valid: empty, /, space, non-ASCII, 32 characters");
}

static void
test_fields(void)
{
	bad("a bad name", "a/b " URI " " KEY "\n",
	    F ":1: entry \"a/b\": not a valid name (1 to 31 characters of "
	    "A-Z a-z 0-9 . _ -)\n");
	bad("a name of 32 characters",
	    "abcdefghijklmnopqrstuvwxyz012345 " URI " " KEY "\n",
	    F ":1: entry \"abcdefghijklmnopqrstuvwxyz012345\": not a valid "
	    "name (1 to 31 characters of A-Z a-z 0-9 . _ -)\n");
	bad("a duplicate name",
	    "home " URI " " KEY "\n# x\nhome " URI " /other\n",
	    F ":3: entry \"home\": duplicate name (first at line 1)\n");
	bad("a line with only a name", "home\n",
	    F ":1: entry \"home\": missing URI and KEYFILE (expected NAME URI "
	    "KEYFILE [OPTIONS])\n");
	bad("no KEYFILE", "home " URI "   # no key\n",
	    F ":1: entry \"home\": missing KEYFILE (expected NAME URI KEYFILE "
	    "[OPTIONS])\n");
	bad("a bad URI", "home http://127.0.0.1/home " KEY "\n",
	    F ":1: entry \"home\": URI \"http://127.0.0.1/home\" is not a "
	    "netdisk URI (netdisk://HOST[:PORT]/EXPORT)\n");
	bad("a URI with port 0", "home netdisk://h:0/e " KEY "\n",
	    F ":1: entry \"home\": URI \"netdisk://h:0/e\" is not a netdisk "
	    "URI (netdisk://HOST[:PORT]/EXPORT)\n");
	bad("a relative keyfile", "home " URI " home.key\n",
	    F ":1: entry \"home\": keyfile \"home.key\" is not an absolute "
	    "path\n");
	bad("too many fields", "home " URI " " KEY " ro extra more\n",
	    F ":1: entry \"home\": unexpected field \"extra\" after the "
	    "options (expected NAME URI KEYFILE [OPTIONS])\n");
}

static void
test_cache_bad(void)
{
	static const char *const v[] = { "1023K", "100000", "2T", "10X",
	    "-1", "", "1M1", "99999999999999999999999" };
	char text[256], want[256];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(text, sizeof(text), "home " URI " " KEY " cache=%s\n",
		    v[i]);
		snprintf(want, sizeof(want), F ":1: entry \"home\": cache "
		    "\"%s\" is not 0 or a size from 1M to 1T (use 64M, 1G)\n",
		    v[i]);
		bad(text, text, want);
	}
	bad("cache without a value", "home " URI " " KEY " cache\n",
	    F ":1: entry \"home\": option \"cache\" needs a value "
	    "(cache=SIZE)\n");
	bad("cache twice", "home " URI " " KEY " cache=1M,cache=2M\n",
	    F ":1: entry \"home\": option \"cache\" given twice\n");
}

/* cache=SIZE: bytes, K/M/G/T; absent -1. */
static void
test_cache(void)
{
	const struct tab_entry *e;
	struct tab *t;
	char *errors;
	uint64_t v;

	t = parse("a " URI " /k cache=64M\n"
	    "b " URI " /k ro,cache=0\n"
	    "c " URI " /k cache=1T,conns=2\n"
	    "d " URI " /k cache=1048576\n"
	    "e " URI " /k ro\n", &errors);
	ok(t != NULL && (e = tab_find(t, "a")) != NULL &&
	    e->cache == 64 << 20, "cache=64M: 67108864 bytes");
	ok(t != NULL && (e = tab_find(t, "b")) != NULL && e->cache == 0 &&
	    e->flags == TAB_RO, "cache=0 (off) with ro");
	ok(t != NULL && (e = tab_find(t, "c")) != NULL &&
	    e->cache == (int64_t)1 << 40 && e->conns == 2,
	    "cache=1T, the largest, with conns=2");
	ok(t != NULL && (e = tab_find(t, "d")) != NULL &&
	    e->cache == 1048576, "cache=1048576, the smallest, in bytes");
	ok(t != NULL && (e = tab_find(t, "e")) != NULL && e->cache == -1,
	    "no cache=: -1, the module's default");
	tab_free(t);
	free(errors);
	ok(tab_cache_parse("1G", &v) == 0 && v == 1 << 30 &&
	    tab_cache_parse("0", &v) == 0 && v == 0 &&
	    tab_cache_parse("512K", &v) == -1 && tab_cache_parse("64m", &v) == 0,
	    "tab_cache_parse: 1G, 0, 512K refused, 64m");
}

static void
test_options(void)
{
	bad("conns=0", "home " URI " " KEY " conns=0\n",
	    F ":1: entry \"home\": conns \"0\" is not in 1..16\n");
	bad("conns=17", "home " URI " " KEY " conns=17\n",
	    F ":1: entry \"home\": conns \"17\" is not in 1..16\n");
	bad("conns=-1", "home " URI " " KEY " conns=-1\n",
	    F ":1: entry \"home\": conns \"-1\" is not in 1..16\n");
	bad("conns=4x", "home " URI " " KEY " conns=4x\n",
	    F ":1: entry \"home\": conns \"4x\" is not in 1..16\n");
	bad("conns= (empty)", "home " URI " " KEY " conns=\n",
	    F ":1: entry \"home\": conns \"\" is not in 1..16\n");
	bad("conns with a huge value",
	    "home " URI " " KEY " conns=99999999999999999999999\n",
	    F ":1: entry \"home\": conns \"99999999999999999999999\" is not "
	    "in 1..16\n");
	bad("conns without a value", "home " URI " " KEY " conns\n",
	    F ":1: entry \"home\": option \"conns\" needs a value (conns=N)\n");
	bad("dead_timeout=86401", "home " URI " " KEY " dead_timeout=86401\n",
	    F ":1: entry \"home\": dead_timeout \"86401\" is not in "
	    "0..86400\n");
	bad("dead_timeout without a value", "home " URI " " KEY
	    " dead_timeout\n",
	    F ":1: entry \"home\": option \"dead_timeout\" needs a value "
	    "(dead_timeout=S)\n");
	bad("ro=1", "home " URI " " KEY " ro=1\n",
	    F ":1: entry \"home\": option \"ro\" takes no value: \"ro=1\"\n");
	bad("noauto=yes", "home " URI " " KEY " noauto=yes\n",
	    F ":1: entry \"home\": option \"noauto\" takes no value: "
	    "\"noauto=yes\"\n");
	bad("an unknown option", "home " URI " " KEY " ro,rw\n",
	    F ":1: entry \"home\": unknown option \"rw\" (use conns=N, ro, "
	    "dead_timeout=S, noauto, server_key=KEY or cache=SIZE)\n");
	bad("an unknown option with a value", "home " URI " " KEY
	    " timeout=5\n",
	    F ":1: entry \"home\": unknown option \"timeout=5\" (use conns=N, "
	    "ro, dead_timeout=S, noauto, server_key=KEY or cache=SIZE)\n");
	bad("an option twice", "home " URI " " KEY " conns=2,ro,conns=3\n",
	    F ":1: entry \"home\": option \"conns\" given twice\n");
	bad("server_key of 63 hex digits", "home " URI " " KEY
	    " server_key=" PUB63 "\n",
	    F ":1: entry \"home\": server_key \"" PUB63 "\" is neither 64 "
	    "hexadecimal digits nor an absolute path\n");
	bad("server_key relative", "home " URI " " KEY " server_key=pub\n",
	    F ":1: entry \"home\": server_key \"pub\" is neither 64 "
	    "hexadecimal digits nor an absolute path\n");
	bad("server_key without a value", "home " URI " " KEY " server_key\n",
	    F ":1: entry \"home\": option \"server_key\" needs a value "
	    "(server_key=KEY)\n");
	bad("server_key twice", "home " URI " " KEY " server_key=" PUB
	    ",server_key=/p\n",
	    F ":1: entry \"home\": option \"server_key\" given twice\n");
	test_cache_bad();
	bad("an empty option", "home " URI " " KEY " ro,,noauto\n",
	    F ":1: entry \"home\": empty option in \"ro,,noauto\"\n");
	bad("a trailing comma", "home " URI " " KEY " ro,\n",
	    F ":1: entry \"home\": empty option in \"ro,\"\n");
	bad("\"-\" in a list", "home " URI " " KEY " ro,-\n",
	    F ":1: entry \"home\": unknown option \"-\" (use conns=N, ro, "
	    "dead_timeout=S, noauto, server_key=KEY or cache=SIZE)\n");
}

static void
test_lines(void)
{
	char *line;
	size_t n = TAB_LINE_MAX + 1;

	if ((line = malloc(n + 2)) == NULL)
		exit(99);
	memset(line, 'a', n);
	strcpy(line + n, "\n");
	bad("a line of 4097 characters", line,
	    F ":1: line is too long (at most 4096 characters)\n");
	free(line);
	bad("control characters and quotes are escaped in messages",
	    "h\x1b\"\\ " URI " " KEY "\n",
	    F ":1: entry \"h\\x1b\\x22\\x5c\": not a valid name (1 to 31 "
	    "characters of A-Z a-z 0-9 . _ -)\n");
	bad("long values are shortened in messages",
	    "home " URI " " KEY " conns=1111111111222222222233333333334444444444"
	    "555555555566666666667777777777\n",
	    F ":1: entry \"home\": conns \"111111111122222222223333333333444444"
	    "4444555555555566666666667777...\" is not in 1..16\n");
}

/* tab_parse takes a length: a NUL byte inside a line is an error. */
static void
test_nul(void)
{
	static const char text[] = "home " URI " " KEY "\nb\0d " URI " /k\n";
	struct tab *t;
	char *errors = NULL;

	t = tab_parse(F, text, sizeof(text) - 1, &errors);
	ok(t == NULL && errors != NULL &&
	    strcmp(errors, F ":2: line contains a NUL byte\n") == 0,
	    "a NUL byte: FILE:LINE: line contains a NUL byte");
	tab_free(t);
	free(errors);
}

static void
test_many(void)
{
	bad("every bad line reported, each error of a line, in line order",
	    "# comment\n"
	    "good " URI " " KEY "\n"
	    "home http://x " KEY " conns=0\n"
	    "good netdisk://h/e rel\n"
	    "only\n"
	    "fine " URI " " KEY " noauto\n"
	    "opts " URI " " KEY " bogus,dead_timeout=x\n",
	    F ":3: entry \"home\": URI \"http://x\" is not a netdisk URI "
	    "(netdisk://HOST[:PORT]/EXPORT)\n"
	    F ":3: entry \"home\": conns \"0\" is not in 1..16\n"
	    F ":4: entry \"good\": duplicate name (first at line 2)\n"
	    F ":4: entry \"good\": keyfile \"rel\" is not an absolute path\n"
	    F ":5: entry \"only\": missing URI and KEYFILE (expected NAME URI "
	    "KEYFILE [OPTIONS])\n"
	    F ":7: entry \"opts\": unknown option \"bogus\" (use conns=N, ro, "
	    "dead_timeout=S, noauto, server_key=KEY or cache=SIZE)\n"
	    F ":7: entry \"opts\": dead_timeout \"x\" is not in 0..86400\n");
}

static void
test_load(void)
{
	char dir[] = "/tmp/unit_tab.XXXXXX", path[PATH_MAX], *errors, *want;
	struct tab *t;
	FILE *f;

	if (mkdtemp(dir) == NULL)
		exit(99);
	snprintf(path, sizeof(path), "%s/netdisktab", dir);
	t = tab_load(path, &errors);
	if (asprintf(&want, "%s: %s\n", path, strerror(ENOENT)) == -1)
		exit(99);
	ok(t == NULL && errors != NULL && strcmp(errors, want) == 0,
	    "tab_load of a missing file: FILE: strerror");
	free(want);
	free(errors);
	if ((f = fopen(path, "w")) == NULL ||
	    fputs("a " URI " /k ro\nb " URI " /k conns=x\n", f) == EOF ||
	    fclose(f) == EOF)
		exit(99);
	t = tab_load(path, &errors);
	if (asprintf(&want, "%s:2: entry \"b\": conns \"x\" is not in 1..16\n",
	    path) == -1)
		exit(99);
	ok(t == NULL && errors != NULL && strcmp(errors, want) == 0,
	    "tab_load of a bad file: the errors name the path");
	free(want);
	free(errors);
	if ((f = fopen(path, "w")) == NULL ||
	    fputs("a " URI " /k ro\n", f) == EOF || fclose(f) == EOF)
		exit(99);
	t = tab_load(path, &errors);
	ok(t != NULL && errors == NULL && t->nentries == 1 &&
	    t->entries[0].flags == TAB_RO, "tab_load of a good file");
	tab_free(t);
	t = tab_load(dir, &errors);
	ok(t == NULL && errors != NULL && strstr(errors, dir) == errors,
	    "tab_load of a directory: an error naming it");
	free(errors);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	test_good();
	test_names();
	test_fields();
	test_options();
	test_cache();
	test_lines();
	test_nul();
	test_many();
	test_load();
	return done_testing();
}
