/* SPDX-License-Identifier: ISC */
/*
 * The export table: the exports of one configuration, each with the
 * index of its key in the table's key set (auth.h).  A table is
 * immutable once built and reference counted: the server holds the
 * current one, each handshake the one it started with.
 *
 * A reload builds a new table from the new configuration and the
 * running one: an export whose settings and key are unchanged keeps its
 * object (and its clients); a changed one is opened anew (sharing its
 * claims with the old one); exports_retire then marks what the new table
 * no longer has: changed or removed.  A restart reopens one export.
 *
 * Who may open an export: its shared key (its own, else [global]'s
 * unless it lists clients) and the keys of the client identities it
 * lists.  That list is the table's, not the export's: changing it at a
 * reload keeps the export; the server then disconnects the sessions of
 * identities that lost it (exports_admits).
 */
#ifndef EXPORTS_H
#define EXPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "netdisk_proto.h"

struct export;
struct export_table;
struct hs_psk;
struct hs_keyring;
struct report;
struct status;

/*
 * The table of conf's exports, reusing those of old that are unchanged
 * (old may be NULL).  NULL if an export cannot be opened or has no key,
 * or out of memory: what failed is in report.
 */
struct export_table *exports_build(const struct conf *conf,
    const struct export_table *old, struct report *report);
/*
 * A copy of t in which the export called name is opened anew (its
 * clients' claims carried over) and healthy.  NULL with errno ENOENT (no
 * such export) or EIO (it cannot be opened, in report).
 */
struct export_table *exports_reopen(const struct export_table *t,
    const char *name, struct report *report);
/*
 * Mark (and log) the exports of old that new does not keep: why says what
 * became of those new still has ("reconfigured" or "restarted"), the
 * others are "removed".  The number retired.
 */
int exports_retire(const struct export_table *old,
    const struct export_table *new, const char *why);

struct export_table *exports_ref(struct export_table *);
void exports_put(struct export_table *);	/* NULL is fine */

size_t exports_count(const struct export_table *);
/* The export at index i (< exports_count), no reference taken. */
struct export *exports_at(const struct export_table *, size_t i);
/* The export called name, no reference taken; NULL if none. */
struct export *exports_lookup(const struct export_table *, const char *name);

/* For the handshake: the candidate keys, their number returned. */
size_t exports_keys(const struct export_table *, const struct hs_psk **psks);
/*
 * The same as the key ring of the handshake (handshake.h): the keys, the
 * index of their key ids, the server's static key, its versions.
 */
const struct hs_keyring *exports_keyring(const struct export_table *);
/* As auth_keys_replayed for the table's key set. */
int exports_replayed(const struct export_table *, size_t keyidx,
    const uint8_t eph[ND_KEY_LEN]);
/*
 * A reference to the export called name if key number keyidx opens it
 * (its shared key, or the key of a client identity it lists); else NULL
 * and why says which ("unknown export" or "key not valid").
 */
struct export *exports_find(const struct export_table *, const char *name,
    size_t keyidx, const char **why);
/*
 * The client identity of key number keyidx (NULL: a shared key) and its
 * credential number (auth.h).  The name lives as long as the table.
 */
const char *exports_identity(const struct export_table *, size_t keyidx,
    uint64_t *cred);
/*
 * After a reload: 1 if the key of credential cred is still in the table
 * and still opens e (the same object), else 0.
 */
int exports_admits(const struct export_table *, const struct export *e,
    uint64_t cred);
/* The number of client identities. */
size_t exports_identities(const struct export_table *);

/*
 * Fill st->exports (allocated here, freed by status_free) with the
 * table's exports and their counters: 0, or -1 out of memory.  The
 * strings point into the table.  Index i of st->exports is export i.
 */
int exports_status(const struct export_table *, struct status *st);

#endif
