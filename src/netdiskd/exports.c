/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"
#include "export.h"
#include "exports.h"
#include "log.h"
#include "report.h"
#include "status.h"

struct table_entry {
	struct export *export;
	size_t keyidx;			/* its shared key; SIZE_MAX: none */
	uint8_t *clients;		/* bit i: client identity i may use it */
};

/*
 * The key set holds [global]'s key (if any), then the keys of the
 * nclients client identities, in the order of conf->clients, from
 * index client_base on, then the exports' own keys.
 */
struct export_table {
	atomic_int refs;
	struct table_entry *entries;
	size_t nentries;
	struct auth_keys *keys;		/* the candidate keys */
	size_t client_base, nclients;
};

#define CLIENT_BYTES(n)		(((n) + 7) / 8)

/* A table with room for n exports; keys NULL: a new set for nkeys. */
static struct export_table *
table_new(size_t n, struct auth_keys *keys, size_t nkeys)
{
	struct export_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	atomic_init(&t->refs, 1);
	t->entries = calloc(n + 1, sizeof(*t->entries));
	t->keys = keys != NULL ? auth_keys_ref(keys) : auth_keys_new(nkeys);
	if (t->entries == NULL || t->keys == NULL) {
		exports_put(t);
		return NULL;
	}
	return t;
}

struct export_table *
exports_ref(struct export_table *t)
{
	atomic_fetch_add(&t->refs, 1);
	return t;
}

void
exports_put(struct export_table *t)
{
	size_t i;

	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (i = 0; i < t->nentries; i++) {
		export_put(t->entries[i].export);
		free(t->entries[i].clients);
	}
	auth_keys_put(t->keys);
	free(t->entries);
	free(t);
}

size_t
exports_count(const struct export_table *t)
{
	return t->nentries;
}

struct export *
exports_at(const struct export_table *t, size_t i)
{
	return t->entries[i].export;
}

static struct table_entry *
table_lookup(const struct export_table *t, const char *name)
{
	size_t i;

	for (i = 0; t != NULL && i < t->nentries; i++)
		if (strcmp(t->entries[i].export->conf.name, name) == 0)
			return &t->entries[i];
	return NULL;
}

struct export *
exports_lookup(const struct export_table *t, const char *name)
{
	struct table_entry *te = table_lookup(t, name);

	return te != NULL ? te->export : NULL;
}

size_t
exports_keys(const struct export_table *t, const struct hs_psk **psks)
{
	return auth_keys_get(t->keys, psks);
}

const struct hs_keyring *
exports_keyring(const struct export_table *t)
{
	return auth_keys_ring(t->keys);
}

int
exports_replayed(const struct export_table *t, size_t keyidx,
    const uint8_t eph[ND_KEY_LEN])
{
	return auth_keys_replayed(t->keys, keyidx, eph);
}

const char *
exports_identity(const struct export_table *t, size_t keyidx, uint64_t *cred)
{
	return auth_keys_identity(t->keys, keyidx, cred);
}

/* Whether key number keyidx opens te's export. */
static int
entry_admits(const struct export_table *t, const struct table_entry *te,
    size_t keyidx)
{
	size_t i = keyidx - t->client_base;

	if (keyidx == te->keyidx)
		return 1;
	return keyidx >= t->client_base && i < t->nclients &&
	    te->clients != NULL && (te->clients[i / 8] & (1U << (i % 8)));
}

struct export *
exports_find(const struct export_table *t, const char *name, size_t keyidx,
    const char **why)
{
	struct table_entry *te;

	if ((te = table_lookup(t, name)) == NULL) {
		*why = "unknown export";
		return NULL;
	}
	if (!entry_admits(t, te, keyidx)) {
		*why = "key not valid for export";
		return NULL;
	}
	return export_ref(te->export);
}

int
exports_admits(const struct export_table *t, const struct export *e,
    uint64_t cred)
{
	size_t i, keyidx = auth_keys_find_cred(t->keys, cred);

	for (i = 0; keyidx != SIZE_MAX && i < t->nentries; i++)
		if (t->entries[i].export == e)
			return entry_admits(t, &t->entries[i], keyidx);
	return 0;
}

size_t
exports_identities(const struct export_table *t)
{
	return t->nclients;
}

/* The running export if its settings are unchanged, else a new one. */
static struct export *
table_export(const struct export_table *old, const struct conf_export *ce,
    const uint8_t *key, struct report *report)
{
	struct table_entry *te = table_lookup(old, ce->name);
	struct export *prev = te != NULL ? te->export : NULL;
	struct export *e;
	char err[512];

	if (prev != NULL && conf_export_equal(&prev->conf, ce) &&
	    (key == NULL || crypto_equal(prev->key, key, ND_KEY_LEN)))
		return export_ref(prev);
	if ((e = export_open(ce, key, prev, err, sizeof(err))) == NULL) {
		report_warnx(report, "%s", err);
		return NULL;
	}
	log_info("export \"%s\": %s, %llu bytes%s", e->conf.name,
	    e->conf.path, (unsigned long long)e->size,
	    e->conf.readonly ? ", read-only" : "");
	return e;
}

/* The client identities that may use ce, as bits: 0, or -1. */
static int
table_clients(struct export_table *t, struct table_entry *te,
    const struct conf_export *ce)
{
	size_t i;

	if (t->nclients == 0 || (ce->nclients == 0 && !ce->clients_all))
		return 0;
	if ((te->clients = calloc(CLIENT_BYTES(t->nclients), 1)) == NULL)
		return -1;
	for (i = 0; i < t->nclients; i++)
		if (conf_export_admits(ce, (int)i))
			te->clients[i / 8] |= (uint8_t)(1U << (i % 8));
	return 0;
}

/* Add the export of ce to t: 0, or -1 (reported). */
static int
table_add(struct export_table *t, const struct export_table *old,
    const struct conf_export *ce, const uint8_t *gkey,
    struct report *report)
{
	int clients = ce->nclients > 0 || ce->clients_all;
	const uint8_t *key = ce->has_key ? ce->key : clients ? NULL : gkey;
	struct table_entry *te = &t->entries[t->nentries];

	if (key == NULL && !clients) {
		report_warnx(report, "export \"%s\": no key", ce->name);
		return -1;
	}
	if ((te->export = table_export(old, ce, key, report)) == NULL)
		return -1;
	t->nentries++;
	te->keyidx = key == NULL ? SIZE_MAX : auth_keys_add(t->keys,
	    old != NULL ? old->keys : NULL, key, NULL);
	if ((key != NULL && te->keyidx == SIZE_MAX) ||
	    table_clients(t, te, ce) == -1) {
		report_warnx(report, "export \"%s\": %s", ce->name,
		    errno == EEXIST ? "its key is a client identity's" :
		    "out of memory");
		return -1;
	}
	return 0;
}

/* The keys of the client identities, from t->client_base on. */
static int
table_add_clients(struct export_table *t, const struct conf *conf,
    const struct auth_keys *oldkeys, struct report *report)
{
	const struct conf_client *cl;
	const struct hs_psk *psks;
	size_t i;

	t->client_base = auth_keys_get(t->keys, &psks);
	for (i = 0; i < (size_t)conf->nclients; i++) {
		cl = &conf->clients[i];
		if (auth_keys_add(t->keys, oldkeys, cl->key, cl->name) !=
		    t->client_base + i) {
			report_warnx(report, "client \"%s\": %s", cl->name,
			    errno == ENOMEM ? "out of memory" :
			    "its key is another client's or a shared key");
			return -1;
		}
		t->nclients++;
	}
	return 0;
}

struct export_table *
exports_build(const struct conf *conf, const struct export_table *old,
    struct report *report)
{
	const uint8_t *gkey = conf->has_key ? conf->key : NULL;
	const struct auth_keys *oldkeys = old != NULL ? old->keys : NULL;
	struct conf_export *ce;
	struct export_table *t;
	size_t n = 0;

	TAILQ_FOREACH(ce, &conf->exports, entry)
		n++;
	if ((t = table_new(n, NULL, n + (size_t)conf->nclients + 1)) ==
	    NULL) {
		report_warnx(report, "out of memory");
		return NULL;
	}
	if (gkey != NULL &&
	    auth_keys_add(t->keys, oldkeys, gkey, NULL) == SIZE_MAX) {
		report_warnx(report, "out of memory");
		goto fail;
	}
	if (table_add_clients(t, conf, oldkeys, report) == -1)
		goto fail;
	TAILQ_FOREACH(ce, &conf->exports, entry)
		if (table_add(t, old, ce, gkey, report) == -1)
			goto fail;
	if (auth_keys_seal(t->keys, conf->has_server_key ? conf->server_key :
	    NULL, conf->min_version) == -1) {
		report_warnx(report, "key ring: %s", strerror(errno));
		goto fail;
	}
	return t;
fail:
	exports_put(t);
	return NULL;
}

int
exports_retire(const struct export_table *old, const struct export_table *new,
    const char *why)
{
	struct table_entry *te;
	struct export *e;
	size_t i;
	int n = 0;

	for (i = 0; old != NULL && i < old->nentries; i++) {
		e = old->entries[i].export;
		te = table_lookup(new, e->conf.name);
		if (te != NULL && te->export == e)
			continue;
		e->retired_why = te != NULL ? why : "removed";
		atomic_store(&e->retired, 1);
		log_info("export \"%s\": %s", e->conf.name, e->retired_why);
		n++;
	}
	return n;
}

/* Entry i of t, in n: the same export, or the one of name opened anew. */
static int
table_copy_entry(struct export_table *n, const struct export_table *t,
    size_t i, const char *name, struct report *report)
{
	struct export *e = t->entries[i].export;
	char err[512];

	n->entries[i].keyidx = t->entries[i].keyidx;
	if (t->entries[i].clients != NULL) {
		n->entries[i].clients = malloc(CLIENT_BYTES(t->nclients));
		if (n->entries[i].clients == NULL) {
			report_warnx(report, "out of memory");
			return -1;
		}
		memcpy(n->entries[i].clients, t->entries[i].clients,
		    CLIENT_BYTES(t->nclients));
	}
	if (strcmp(e->conf.name, name) != 0) {
		n->entries[i].export = export_ref(e);
		return 0;
	}
	n->entries[i].export = export_open(&e->conf,
	    t->entries[i].keyidx != SIZE_MAX ? e->key : NULL, e, err,
	    sizeof(err));
	if (n->entries[i].export == NULL) {
		free(n->entries[i].clients);
		n->entries[i].clients = NULL;
		report_warnx(report, "%s", err);
		return -1;
	}
	export_clear_failure(n->entries[i].export);
	return 0;
}

struct export_table *
exports_reopen(const struct export_table *t, const char *name,
    struct report *report)
{
	struct export_table *n;
	size_t i;

	if (table_lookup(t, name) == NULL) {
		errno = ENOENT;
		return NULL;
	}
	if ((n = table_new(t->nentries, t->keys, 0)) == NULL) {
		report_warnx(report, "out of memory");
		errno = EIO;
		return NULL;
	}
	n->client_base = t->client_base;
	n->nclients = t->nclients;
	for (i = 0; i < t->nentries; i++, n->nentries++) {
		if (table_copy_entry(n, t, i, name, report) == -1) {
			exports_put(n);
			errno = EIO;
			return NULL;
		}
	}
	return n;
}

static void
exports_fill_status(struct status_export *se, struct export *e)
{
	const struct export_stats *c = &e->stats;

	snprintf(se->name, sizeof(se->name), "%s", e->conf.name);
	se->path = e->conf.path;
	se->size = e->size;
	se->readonly = e->conf.readonly;
	se->opened = e->opened;
	se->read_requests = atomic_load(&c->read_requests);
	se->read_bytes = atomic_load(&c->read_bytes);
	se->write_requests = atomic_load(&c->write_requests);
	se->write_bytes = atomic_load(&c->write_bytes);
	se->errors = atomic_load(&c->errors);
	export_failure(e, &se->failure);
}

int
exports_status(const struct export_table *t, struct status *st)
{
	st->exports = calloc(t->nentries + 1, sizeof(*st->exports));
	if (st->exports == NULL)
		return -1;
	for (st->nexports = 0; (size_t)st->nexports < t->nentries;
	    st->nexports++)
		exports_fill_status(&st->exports[st->nexports],
		    t->entries[st->nexports].export);
	return 0;
}
