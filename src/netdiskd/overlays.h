/* SPDX-License-Identifier: ISC */
/*
 * The overlays of one overlay export (docs/overlay.md, "Overlay
 * exports"): for each client identity that attached, an attachment
 * holding its overlay store over a read-only base store of its own.
 *
 * An attachment is held by its identity's sessions.  One client id at a
 * time may hold it read-write (its own claim, claim.h: another is
 * refused as busy).  When the last session leaves, the attachment stays
 * open for the export's overlay_hold seconds: a session of the same
 * client id that comes back meanwhile (a reconnect) finds it as it was,
 * its base included, even if a new base was published since.  Any other
 * attach (another client id, or after the hold) is fresh: the overlay is
 * closed and opened again on the base the export has now, applying
 * base_changed; an ephemeral overlay starts empty.
 *
 * Closing a held attachment is deadline driven: overlays_expire, from
 * the server's loop, closes those whose hold is over (an ephemeral
 * overlay is removed then), without waiting for another attach.
 *
 * Failures are an attachment's own: a write or sync error of one
 * identity's overlay fails that attachment's health (health.h), not the
 * export's, until the overlay is closed; the next fresh attach opens it
 * healthy again.
 *
 * The set is reference counted: an overlay export that replaces another
 * at a reload or restart (same overlay_dir) shares it, so that the
 * attachments outlive the export they were made through.
 */
#ifndef OVERLAYS_H
#define OVERLAYS_H

#include <stdint.h>

#include "conf.h"
#include "health.h"
#include "netdisk_proto.h"
#include "store.h"

struct overlays;
struct overlay_att;

struct overlays *overlays_new(const char *export_name);	/* NULL: no memory */
struct overlays *overlays_ref(struct overlays *);
void overlays_put(struct overlays *);	/* the last closes every overlay */

/*
 * Attach the overlay of identity for client id, opened as ce says (path
 * the base, overlay_dir and the overlay settings) if it is not open or
 * this is a fresh attach.  shared: a read-only use, which takes no
 * exclusive claim.  ND_HS_OK with *att and *store set; ND_HS_BUSY
 * (another client id holds it, copied to holder); ND_HS_UNAVAILABLE
 * (the overlay cannot be opened: logged, naming the file and why).
 */
uint32_t overlays_attach(struct overlays *, const struct conf_export *ce,
    const char *identity, const uint8_t id[ND_CLIENT_ID_LEN], int shared,
    struct overlay_att **att, struct store **store,
    uint8_t holder[ND_CLIENT_ID_LEN]);
/* Undo one overlays_attach, with the same id and shared. */
void overlays_detach(struct overlays *, struct overlay_att *,
    const uint8_t id[ND_CLIENT_ID_LEN], int shared);
/* Attachments open (attached or held), for tests and the status. */
int overlays_count(struct overlays *);
/*
 * Close the attachments whose hold is over.  The milliseconds until the
 * next hold ends (the time to call it again), or -1 if none is held.
 */
int overlays_expire(struct overlays *);

/*
 * Of an attachment, while a session holds it: its overlay store, its
 * health, the path of its overlay file and the name of its identity.
 */
struct store *overlays_store(struct overlay_att *);
struct health *overlays_health(struct overlay_att *);
const char *overlays_file(struct overlay_att *);
const char *overlays_client(struct overlay_att *);

/*
 * Administration (netdiskctl overlay, overlay_admin.c).  When an
 * identity's last session ends, its overlay file's modification time is
 * set: its "last seen".
 *
 * overlays_admin_get: the attachment of name (made if missing) with a
 * reference, NULL out of memory.  overlays_admin_begin marks it under
 * administration, so that every attach of it is refused (unavailable)
 * until overlays_admin_end: the number of its sessions then, or -1 with
 * errno EBUSY (it has sessions, and not force) or EALREADY (another
 * administration runs).  overlays_admin_sessions: its sessions now.
 * overlays_admin_store: its open overlay store (with no session and
 * attaches refused, only the administrator uses it), or NULL.
 * overlays_admin_close closes it (an ephemeral overlay is removed; the
 * next attach is fresh).  overlays_admin_end ends the administration and
 * gives the reference back (after overlays_admin_get alone too).
 */
struct overlay_att *overlays_admin_get(struct overlays *, const char *name);
int overlays_admin_begin(struct overlay_att *, int force);
int overlays_admin_sessions(struct overlay_att *);
struct store *overlays_admin_store(struct overlay_att *);
void overlays_admin_close(struct overlays *, struct overlay_att *);
void overlays_admin_end(struct overlays *, struct overlay_att *);

/* What the status and overlay list show of an identity's overlay. */
struct overlays_usage {
	int sessions;
	int open;			/* attached or held */
	uint64_t allocated;		/* bytes of chunks, if open */
	uint64_t quota;			/* bytes; 0: none */
};
/* 1 and *u filled if name's overlay is open, else 0 (u: no sessions). */
int overlays_usage(struct overlays *, const char *name,
    struct overlays_usage *u);

#endif
