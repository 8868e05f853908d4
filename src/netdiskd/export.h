/* SPDX-License-Identifier: ISC */
/*
 * An export: its settings, its identity (id, size, flags), its
 * statistics, and the requests' way to its store (store.h): each I/O
 * call runs the store's operation and turns a failure into the error to
 * reply with, logging it (rate limited) and failing the export's health
 * (health.h) where data may have been lost.  Who may use the export is
 * its claim (claim.h).
 *
 * Exports are reference counted: the server's export table holds one
 * reference, every session another.  A reload that changes or removes an
 * export retires the old object; sessions keep using it until they close.
 */
#ifndef EXPORT_H
#define EXPORT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "claim.h"
#include "conf.h"
#include "health.h"
#include "overlays.h"
#include "netdisk_proto.h"
#include "ratelimit.h"
#include "store.h"

/* What the export served since it was opened (counted by the sessions). */
struct export_stats {
	atomic_uint_fast64_t read_requests, read_bytes;
	atomic_uint_fast64_t write_requests, write_bytes;
	atomic_uint_fast64_t errors;
};

struct export {
	struct conf_export conf;	/* own copy; entry unused */
	uint8_t key[ND_KEY_LEN];	/* the export's key, else the global one */
	uint64_t size;
	uint32_t flags;			/* ND_FLAG_* */
	uint8_t id[ND_EXPORT_ID_LEN];
	atomic_int retired;		/* changed or removed by a reload */
	const char *retired_why;	/* "reconfigured", "removed", "restarted" */
	time_t opened;			/* wall clock */
	struct export_stats stats;

	/* Internal to export.c. */
	atomic_int refs;
	struct store *store;
	struct claim *claim;		/* shared with the exports it replaces */
	struct overlays *overlays;	/* an overlay export's; likewise */
	struct health *health;		/* likewise */
	struct ratelim errlog;
	char errwhat[ND_NAME_MAX + 48];
};

/*
 * Open (creating or growing a file as configured) the backing store of
 * ce.  key is the shared key to use if ce has none ([global]'s; NULL:
 * none, as for an export only client identities may use).  prev, if
 * not NULL, is the export this one replaces at a reload: both share their
 * claim and their health.  NULL on failure with err naming the export
 * and its path.
 */
struct export *export_open(const struct conf_export *ce, const uint8_t *key,
    struct export *prev, char *err, size_t errlen);
struct export *export_ref(struct export *);
void export_put(struct export *);	/* the last one syncs and closes */

/*
 * What a session of client id, of the client identity (NULL or "": a
 * shared key), reads and writes: on an overlay export, the attachment of
 * that identity (overlays.h) in *att; else the export's own store (*att
 * NULL).  ND_HS_OK, or the status to refuse with (logged).  Undo with
 * export_detach.
 */
uint32_t export_attach(struct export *, const char *identity,
    const uint8_t id[ND_CLIENT_ID_LEN], int shared, struct overlay_att **att);
void export_detach(struct export *, struct overlay_att *,
    const uint8_t id[ND_CLIENT_ID_LEN], int shared);
/*
 * An overlay export's overlays_expire() (close the attachments whose
 * hold is over): the ms until it is due again, -1 for none.
 */
int export_expire(struct export *);

/*
 * I/O on what export_attach gave: att's overlay, or (att NULL) the
 * export's own store.  Each returns ND_OK or the enum nd_error to reply
 * with.
 *
 * A write, trim or sync error fails the export (health.h), or on an
 * overlay export att's attachment alone: that request and every later
 * FLUSH, FUA WRITE and FUA WRITE_ZEROES (of that attachment) get ND_EIO
 * until export_clear_failure (until the attachment's overlay is closed).
 * ENOSPC or EDQUOT from a write (space ran out before the data was
 * taken, or the overlay's quota) fails only that request, with
 * ND_ENOSPC.
 */
uint32_t export_read(struct export *, struct overlay_att *, void *buf,
    uint32_t len, uint64_t off);
/* 1 if all of it was read from the page cache, 0 if reading would block. */
int export_read_cached(struct export *, struct overlay_att *, void *buf,
    uint32_t len, uint64_t off);
uint32_t export_write(struct export *, struct overlay_att *,
    const void *buf, uint32_t len, uint64_t off, int fua);
uint32_t export_flush(struct export *, struct overlay_att *);
/* fua: then a flush. */
uint32_t export_trim(struct export *, struct overlay_att *, uint64_t off,
    uint32_t len, int fua);
/*
 * flags: STORE_FUA, STORE_NO_HOLE, STORE_FAST (store.h).  ND_ENOTSUP,
 * with nothing done and the export's health untouched, where the store
 * cannot zero as fast or without a hole as they ask.
 */
uint32_t export_zero(struct export *, struct overlay_att *, uint64_t off,
    uint32_t len, unsigned flags);
/* Read the range ahead, buflen bytes of buf at a time. */
uint32_t export_cache(struct export *, struct overlay_att *, void *buf,
    uint32_t buflen, uint64_t off, uint32_t len);
/*
 * The store's extents of the range (store.h's store_extent_fn); a store
 * that cannot tell holes from data is all data.  ND_OK or ND_EIO.
 */
uint32_t export_extents(struct export *, struct overlay_att *, uint64_t off,
    uint64_t len, store_extent_fn *fn, void *arg);

/*
 * The smallest unit of its I/O: 1 if any offset and length will do (a
 * regular file), else ND_MIN_BLOCK.  The netdisk protocol always uses
 * ND_MIN_BLOCK.
 */
uint32_t export_min_block(const struct export *);

/* Whether and why the export failed (state->error 0: it did not). */
void export_failure(struct export *, struct health_state *state);
/*
 * Whether and why att's attachment failed, and its overlay file (valid
 * while a session holds att).
 */
void export_att_failure(struct overlay_att *att, struct health_state *state,
    const char **file);
/* After a restart reopened the store: healthy again. */
void export_clear_failure(struct export *);

/*
 * Count an answered request in the export's stats: READ in read, WRITE
 * and WRITE_ZEROES in written, any error reply in errors.
 */
void export_account(struct export *, uint16_t type, uint32_t len,
    uint32_t error);

/*
 * Claim the export for client id, with the export's max_clients:
 * claim_take() on its claim (always shared on an overlay export: each
 * identity's overlay has its own exclusive claim, export_attach).
 * Release with the same arguments.
 */
uint32_t export_claim(struct export *, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared, uint8_t holder[ND_CLIENT_ID_LEN]);
void export_release(struct export *, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared);

/*
 * A session's connection slot on the export's claim, shared with the
 * exports it replaced or was replaced by: claim_slot_enter() and the
 * others.
 */
uint32_t export_slot_enter(struct export *, struct claim_slot *,
    int wait_ms);
void export_slot_leave(struct export *, struct claim_slot *);
void export_slot_drained(struct export *);

#endif
