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
	size_t keyidx;
};

struct export_table {
	atomic_int refs;
	struct table_entry *entries;
	size_t nentries;
	struct auth_keys *keys;		/* the candidate keys */
};

/* A table with room for n exports; keys NULL: a new set for n + 1. */
static struct export_table *
table_new(size_t n, struct auth_keys *keys)
{
	struct export_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	atomic_init(&t->refs, 1);
	t->entries = calloc(n + 1, sizeof(*t->entries));
	t->keys = keys != NULL ? auth_keys_ref(keys) : auth_keys_new(n + 1);
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
	for (i = 0; i < t->nentries; i++)
		export_put(t->entries[i].export);
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

int
exports_replayed(const struct export_table *t, size_t keyidx,
    const uint8_t eph[ND_KEY_LEN])
{
	return auth_keys_replayed(t->keys, keyidx, eph);
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
	if (te->keyidx != keyidx) {
		*why = "key not valid for export";
		return NULL;
	}
	return export_ref(te->export);
}

/* The running export if its settings are unchanged, else a new one. */
static struct export *
table_export(const struct export_table *old, const struct conf_export *ce,
    const uint8_t *gkey, const uint8_t *key, struct report *report)
{
	struct table_entry *te = table_lookup(old, ce->name);
	struct export *prev = te != NULL ? te->export : NULL;
	struct export *e;
	char err[512];

	if (prev != NULL && conf_export_equal(&prev->conf, ce) &&
	    crypto_equal(prev->key, key, ND_KEY_LEN))
		return export_ref(prev);
	if ((e = export_open(ce, gkey, prev, err, sizeof(err))) == NULL) {
		report_warnx(report, "%s", err);
		return NULL;
	}
	log_info("export \"%s\": %s, %llu bytes%s", e->conf.name,
	    e->conf.path, (unsigned long long)e->size,
	    e->conf.readonly ? ", read-only" : "");
	return e;
}

/* Add the export of ce to t: 0, or -1 (reported). */
static int
table_add(struct export_table *t, const struct export_table *old,
    const struct conf_export *ce, const uint8_t *gkey,
    struct report *report)
{
	const uint8_t *key = ce->has_key ? ce->key : gkey;
	struct table_entry *te = &t->entries[t->nentries];

	if (key == NULL) {
		report_warnx(report, "export \"%s\": no key", ce->name);
		return -1;
	}
	if ((te->export = table_export(old, ce, gkey, key, report)) == NULL)
		return -1;
	t->nentries++;
	te->keyidx = auth_keys_add(t->keys, old != NULL ? old->keys : NULL,
	    key);
	if (te->keyidx == SIZE_MAX) {
		report_warnx(report, "out of memory");
		return -1;
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
	if ((t = table_new(n, NULL)) == NULL) {
		report_warnx(report, "out of memory");
		return NULL;
	}
	if (gkey != NULL && auth_keys_add(t->keys, oldkeys, gkey) == SIZE_MAX) {
		report_warnx(report, "out of memory");
		goto fail;
	}
	TAILQ_FOREACH(ce, &conf->exports, entry)
		if (table_add(t, old, ce, gkey, report) == -1)
			goto fail;
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
	if (strcmp(e->conf.name, name) != 0) {
		n->entries[i].export = export_ref(e);
		return 0;
	}
	n->entries[i].export = export_open(&e->conf, e->key, e, err,
	    sizeof(err));
	if (n->entries[i].export == NULL) {
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
	if ((n = table_new(t->nentries, t->keys)) == NULL) {
		report_warnx(report, "out of memory");
		errno = EIO;
		return NULL;
	}
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
