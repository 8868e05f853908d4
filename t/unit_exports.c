/* SPDX-License-Identifier: ISC */
/*
 * The export table (src/netdiskd/exports.c) built from parsed
 * configurations: the reload diff (an unchanged export keeps its object,
 * a changed setting or key retires it and opens a new one, a removed one
 * is retired, a new one is added), the key set and its replay caches
 * carried across a reload, a failed build leaving the running table
 * alone, and the reopen of one export for a restart, which keeps the
 * clients' claims.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "conf.h"
#include "conf_fixture.h"
#include "export.h"
#include "exports.h"
#include "handshake.h"
#include "report.h"
#include "tap.h"

/* Write the configuration text to name in tmpdir and load it. */
static struct conf *
load(const char *name, const char *text)
{
	char *errors = NULL;
	struct conf *conf;

	if ((conf = fixture_load(name, text, 0600, &errors)) == NULL) {
		printf("Bail out! %s: %s", name, errors);
		exit(99);
	}
	return conf;
}

/* Build the table of the configuration text, reloading over old. */
static struct export_table *
build(const char *name, const char *text, const struct export_table *old,
    struct report *report)
{
	struct export_table *t;
	struct conf *conf = load(name, text);

	t = exports_build(conf, old, report);
	conf_free(conf);
	return t;
}

/* The index of key among the table's candidate keys, or -1. */
static int
key_index(const struct export_table *t, const char *hex)
{
	const struct hs_psk *psks;
	uint8_t key[ND_KEY_LEN];
	size_t i, n;

	for (i = 0; i < ND_KEY_LEN; i++)
		sscanf(hex + 2 * i, "%2hhx", &key[i]);
	n = exports_keys(t, &psks);
	for (i = 0; i < n; i++)
		if (memcmp(psks[i].key, key, ND_KEY_LEN) == 0)
			return (int)i;
	return -1;
}

static int
retired(const struct export *e, const char *why)
{
	return atomic_load(&e->retired) && e->retired_why != NULL &&
	    strcmp(e->retired_why, why) == 0;
}

static const char conf1[] =
    "[global]\nkey = " HEX_A "\n"
    "[a]\npath = a.img\nsize = 1M\n"
    "[b]\npath = b.img\nsize = 1M\n"
    "[c]\npath = c.img\nsize = 1M\nkey = " HEX_B "\n";

/* a unchanged, b grows, c removed, d new. */
static const char conf2[] =
    "[global]\nkey = " HEX_A "\n"
    "[a]\npath = a.img\nsize = 1M\n"
    "[b]\npath = b.img\nsize = 2M\n"
    "[d]\npath = d.img\nsize = 1M\n";

static void
test_build(struct export_table *t)
{
	const char *why = NULL;
	struct export *e;
	int ia = key_index(t, HEX_A), ib = key_index(t, HEX_B);

	ok(exports_count(t) == 3, "build: 3 exports (%zu)", exports_count(t));
	ok(ia >= 0 && ib >= 0 && ia != ib, "build: the global key and c's "
	    "own key are two candidate keys (%d, %d)", ia, ib);
	e = exports_find(t, "a", (size_t)ia, &why);
	ok(e != NULL && e == exports_lookup(t, "a") && e->size == 1 << 20,
	    "build: the global key finds a, of 1 MiB");
	export_put(e);
	e = exports_find(t, "c", (size_t)ia, &why);
	ok(e == NULL && strcmp(why, "key not valid for export") == 0,
	    "build: the global key is not valid for c (%s)", e ? "" : why);
	e = exports_find(t, "zz", (size_t)ia, &why);
	ok(e == NULL && strcmp(why, "unknown export") == 0,
	    "build: an unknown export is one");
	ok(exports_lookup(t, "c") != NULL &&
	    exports_find(t, "c", (size_t)ib, &why) == exports_lookup(t, "c"),
	    "build: c's own key finds c");
	export_put(exports_lookup(t, "c"));
}

static void
test_reload(struct export_table *t1, struct export_table *t2)
{
	struct export *a1 = exports_lookup(t1, "a"), *b1 = exports_lookup(t1,
	    "b"), *c1 = exports_lookup(t1, "c");
	int n;

	ok(exports_count(t2) == 3, "reload: 3 exports");
	ok(exports_lookup(t2, "a") == a1, "reload: unchanged a keeps its "
	    "object");
	ok(exports_lookup(t2, "b") != NULL && exports_lookup(t2, "b") != b1 &&
	    exports_lookup(t2, "b")->size == 2 << 20,
	    "reload: changed b is a new object of the new size");
	ok(exports_lookup(t2, "c") == NULL, "reload: c is gone");
	ok(exports_lookup(t2, "d") != NULL, "reload: d is new");
	ok(!atomic_load(&a1->retired) && !atomic_load(&b1->retired) &&
	    !atomic_load(&c1->retired), "reload: nothing retired before "
	    "exports_retire");
	n = exports_retire(t1, t2, "reconfigured");
	ok(n == 2, "reload: 2 exports retired (%d)", n);
	ok(!atomic_load(&a1->retired), "reload: a is not retired");
	ok(retired(b1, "reconfigured"), "reload: b is retired as "
	    "reconfigured");
	ok(retired(c1, "removed"), "reload: c is retired as removed");
	ok(!atomic_load(&exports_lookup(t2, "d")->retired),
	    "reload: d is not retired");
	ok(key_index(t2, HEX_B) == -1, "reload: c's key is no candidate any "
	    "more");
}

/* The replay cache of a key both tables have is shared. */
static void
test_replay_carried(struct export_table *t1, struct export_table *t2)
{
	uint8_t eph[ND_KEY_LEN];

	memset(eph, 0x5a, sizeof(eph));
	ok(exports_replayed(t1, (size_t)key_index(t1, HEX_A), eph) == 0,
	    "replay: a new ephemeral key is not a replay");
	ok(exports_replayed(t2, (size_t)key_index(t2, HEX_A), eph) == 1,
	    "replay: the reloaded table remembers it");
}

/* A key change alone is a change. */
static void
test_key_change(struct export_table *t2)
{
	struct export_table *t3;
	struct report r;

	report_init(&r, NULL);
	t3 = build("key.conf", "[global]\nkey = " HEX_A "\n"
	    "[a]\npath = a.img\nsize = 1M\nkey = " HEX_B "\n"
	    "[b]\npath = b.img\nsize = 2M\n"
	    "[d]\npath = d.img\nsize = 1M\n", t2, &r);
	ok(t3 != NULL && exports_lookup(t3, "a") != exports_lookup(t2, "a"),
	    "a new key for a opens a new object");
	ok(t3 != NULL && exports_lookup(t3, "b") == exports_lookup(t2, "b") &&
	    exports_lookup(t3, "d") == exports_lookup(t2, "d"),
	    "... b and d keep theirs");
	exports_put(t3);
}

/* A build that fails says why and changes nothing. */
static void
test_build_fails(struct export_table *t2)
{
	char dir[PATH_MAX + 16], *text = NULL;
	size_t len = 0;
	struct export_table *t;
	struct report r;
	FILE *out;

	snprintf(dir, sizeof(dir), "%s/dir.img", tmpdir);
	mkdir(dir, 0755);
	if ((out = open_memstream(&text, &len)) == NULL)
		exit(99);
	report_init(&r, out);
	t = build("bad.conf", "[global]\nkey = " HEX_A "\n"
	    "[a]\npath = a.img\nsize = 1M\n"
	    "[e]\npath = dir.img\n", t2, &r);
	fclose(out);
	ok(t == NULL, "an export that cannot be opened fails the build");
	ok(r.nwarnings == 1 && text != NULL && strstr(text, "\"e\"") != NULL &&
	    strstr(text, "dir.img") != NULL, "... the report names the export "
	    "and its path: %.*s", text ? (int)strcspn(text, "\n") : 9,
	    text ? text : "(nothing)");
	ok(exports_retire(t2, t2, "reconfigured") == 0 &&
	    !atomic_load(&exports_lookup(t2, "a")->retired),
	    "... and the running table is untouched");
	free(text);
}

static void
test_reopen(struct export_table *t2)
{
	uint8_t x[ND_CLIENT_ID_LEN], y[ND_CLIENT_ID_LEN];
	uint8_t holder[ND_CLIENT_ID_LEN];
	struct export *b2 = exports_lookup(t2, "b"), *b3;
	struct export_table *t3;
	struct report r;
	uint32_t st;

	memset(x, 1, sizeof(x));
	memset(y, 2, sizeof(y));
	report_init(&r, NULL);
	ok(export_claim(b2, x, 0, holder) == ND_HS_OK, "reopen: x claims b");
	t3 = exports_reopen(t2, "b", &r);
	ok(t3 != NULL && (b3 = exports_lookup(t3, "b")) != NULL && b3 != b2,
	    "reopen: b is a new object");
	if (t3 == NULL)
		return;
	ok(exports_lookup(t3, "a") == exports_lookup(t2, "a") &&
	    exports_lookup(t3, "d") == exports_lookup(t2, "d"),
	    "reopen: a and d keep theirs");
	ok(key_index(t3, HEX_A) == key_index(t2, HEX_A),
	    "reopen: the same candidate keys");
	memset(holder, 0, sizeof(holder));
	st = export_claim(b3, y, 0, holder);
	ok(st == ND_HS_BUSY && memcmp(holder, x, sizeof(x)) == 0,
	    "reopen: x's claim is kept: y is refused (%u)", st);
	ok(exports_retire(t2, t3, "restarted") == 1 && retired(b2,
	    "restarted"), "reopen: only the old b retires, as restarted");
	export_release(b2, x, 0);
	ok(export_claim(b3, y, 0, holder) == ND_HS_OK,
	    "reopen: released, y may claim the new b");
	export_release(b3, y, 0);
	exports_put(t3);
}

static void
test_reopen_fails(struct export_table *t2)
{
	char path[PATH_MAX + 16], *text = NULL;
	size_t len = 0;
	struct report r;
	FILE *out;

	errno = 0;
	ok(exports_reopen(t2, "nosuch", NULL) == NULL && errno == ENOENT,
	    "reopen of an unknown export: ENOENT");
	snprintf(path, sizeof(path), "%s/d.img", tmpdir);
	if (unlink(path) == -1 || mkdir(path, 0755) == -1)
		exit(99);
	if ((out = open_memstream(&text, &len)) == NULL)
		exit(99);
	report_init(&r, out);
	errno = 0;
	ok(exports_reopen(t2, "d", &r) == NULL && errno == EIO,
	    "reopen of an export that cannot be opened: EIO");
	fclose(out);
	ok(text != NULL && strstr(text, "d.img") != NULL, "... reported: %.*s",
	    text ? (int)strcspn(text, "\n") : 9, text ? text : "(nothing)");
	ok(!atomic_load(&exports_lookup(t2, "d")->retired),
	    "... the running d is kept");
	free(text);
}

/* Whether key hex opens export name in t. */
static int
opens(const struct export_table *t, const char *name, const char *hex)
{
	const char *why;
	struct export *e;
	int i = key_index(t, hex);

	if (i < 0 || (e = exports_find(t, name, (size_t)i, &why)) == NULL)
		return 0;
	export_put(e);
	return 1;
}

static const char ident1[] =
    "[global]\nkey = " HEX_A "\n"
    "[client alice]\nkeyfile = alice.key\n"
    "[client bob]\nkeyfile = bob.key\n"
    "[pub]\npath = pub.img\nsize = 1M\n"
    "[lab]\npath = lab.img\nsize = 1M\nclients = alice\n"
    "[mix]\npath = mix.img\nsize = 1M\nkey = " HEX_B "\nclients = *\n";

/* alice leaves lab, bob joins it with a new key. */
static const char ident2[] =
    "[global]\nkey = " HEX_A "\n"
    "[client alice]\nkeyfile = alice.key\n"
    "[client bob]\nkeyfile = bob2.key\n"
    "[pub]\npath = pub.img\nsize = 1M\n"
    "[lab]\npath = lab.img\nsize = 1M\nclients = bob\n"
    "[mix]\npath = mix.img\nsize = 1M\nkey = " HEX_B "\nclients = *\n";

static void
test_identities_find(const struct export_table *t)
{
	uint64_t cred;
	const char *who;

	who = exports_identity(t, (size_t)key_index(t, HEX_C), &cred);
	ok(who != NULL && strcmp(who, "alice") == 0 && cred != 0,
	    "identities: alice's key is alice's");
	ok(exports_identity(t, (size_t)key_index(t, HEX_A), &cred) == NULL &&
	    exports_identity(t, (size_t)key_index(t, HEX_B), &cred) == NULL,
	    "identities: [global]'s key and mix's own are shared");
	ok(exports_identities(t) == 2, "identities: two of them");
	ok(opens(t, "lab", HEX_C) && !opens(t, "lab", HEX_D) &&
	    !opens(t, "lab", HEX_A), "identities: lab opens for alice only, "
	    "not for bob nor for [global]'s key");
	ok(opens(t, "pub", HEX_A) && !opens(t, "pub", HEX_C),
	    "identities: pub opens for [global]'s key, not for alice");
	ok(opens(t, "mix", HEX_B) && opens(t, "mix", HEX_C) &&
	    opens(t, "mix", HEX_D) && !opens(t, "mix", HEX_A),
	    "identities: mix (clients = *) opens for its key, alice and bob");
}

static void
test_identities_reload(struct export_table *t1, struct export_table *t2)
{
	struct export *lab = exports_lookup(t1, "lab");
	struct export *mix = exports_lookup(t1, "mix");
	uint64_t alice, bob, alice2;

	exports_identity(t1, (size_t)key_index(t1, HEX_C), &alice);
	exports_identity(t1, (size_t)key_index(t1, HEX_D), &bob);
	exports_identity(t2, (size_t)key_index(t2, HEX_C), &alice2);
	ok(exports_lookup(t2, "lab") == lab && exports_lookup(t2, "mix") ==
	    mix && exports_retire(t1, t2, "reconfigured") == 0,
	    "identities reload: lab and mix keep their objects (clients "
	    "lists and client keys are not export settings)");
	ok(alice2 == alice, "identities reload: alice's credential is kept");
	ok(exports_admits(t1, lab, alice) && !exports_admits(t2, lab, alice),
	    "identities reload: alice lost lab");
	ok(exports_admits(t2, mix, alice), "identities reload: alice keeps "
	    "mix");
	ok(exports_admits(t1, mix, bob) && !exports_admits(t2, mix, bob),
	    "identities reload: bob's old key no longer opens mix");
	ok(opens(t2, "lab", HEX_E) && !opens(t2, "lab", HEX_D),
	    "identities reload: bob's new key opens lab, his old one not");
}

/* A restart of one export keeps who may use every export. */
static void
test_identities_reopen(const struct export_table *t)
{
	struct export_table *t3;
	struct report r;

	report_init(&r, NULL);
	t3 = exports_reopen(t, "lab", &r);
	ok(t3 != NULL && exports_lookup(t3, "lab") != exports_lookup(t, "lab"),
	    "identities reopen: lab is a new object");
	if (t3 == NULL)
		return;
	ok(opens(t3, "lab", HEX_C) && !opens(t3, "lab", HEX_D) &&
	    !opens(t3, "lab", HEX_A), "identities reopen: lab still opens "
	    "for alice only");
	ok(opens(t3, "mix", HEX_D) && opens(t3, "mix", HEX_B) &&
	    opens(t3, "pub", HEX_A), "identities reopen: mix and pub as "
	    "before");
	exports_put(t3);
}

/* A key is shared or one identity's, never both. */
static void
test_identity_clash(void)
{
	struct auth_keys *ks = auth_keys_new(4);
	uint8_t k[ND_KEY_LEN];
	uint64_t cred;
	size_t i;

	memset(k, 7, sizeof(k));
	if (ks == NULL)
		exit(99);
	i = auth_keys_add(ks, NULL, k, NULL);
	ok(i == 0 && auth_keys_add(ks, NULL, k, NULL) == 0,
	    "key set: a shared key added twice is one entry");
	errno = 0;
	ok(auth_keys_add(ks, NULL, k, "alice") == SIZE_MAX && errno == EEXIST,
	    "key set: the same key for an identity is refused (EEXIST)");
	memset(k, 8, sizeof(k));
	i = auth_keys_add(ks, NULL, k, "alice");
	errno = 0;
	ok(i == 1 && auth_keys_add(ks, NULL, k, "bob") == SIZE_MAX &&
	    errno == EEXIST && strcmp(auth_keys_identity(ks, 1, &cred),
	    "alice") == 0, "key set: ... and for a second identity");
	auth_keys_put(ks);
}

static void
test_identities(void)
{
	struct export_table *t1, *t2;

	write_file("alice.key", HEX_C, 0600);
	write_file("bob.key", HEX_D, 0600);
	write_file("bob2.key", HEX_E, 0600);
	t1 = build("ident1.conf", ident1, NULL, NULL);
	if (!ok(t1 != NULL, "identities: build"))
		return;
	test_identities_find(t1);
	test_identities_reopen(t1);
	t2 = build("ident2.conf", ident2, t1, NULL);
	if (ok(t2 != NULL, "identities: reload"))
		test_identities_reload(t1, t2);
	exports_put(t2);
	exports_put(t1);
	test_identity_clash();
}

int
main(void)
{
	struct export_table *t1, *t2;
	char cmd[PATH_MAX + 16];

	fixture_tmpdir("unit_exports");
	t1 = build("one.conf", conf1, NULL, NULL);
	if (!ok(t1 != NULL, "build of a, b and c"))
		return done_testing();
	test_build(t1);
	t2 = build("two.conf", conf2, t1, NULL);
	if (ok(t2 != NULL, "reload to a, b changed, d")) {
		test_reload(t1, t2);
		test_replay_carried(t1, t2);
		exports_put(t1);
		test_key_change(t2);
		test_build_fails(t2);
		test_reopen(t2);
		test_reopen_fails(t2);
		exports_put(t2);
	}
	test_identities();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return done_testing();
}
