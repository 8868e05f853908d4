/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "claim.h"
#include "log.h"
#include "overlays.h"
#include "store_file.h"
#include "store_overlay.h"
#include "util.h"

/* How soon to look again at an attachment that was busy. */
#define OVERLAYS_RETRY_MS	100

static_assert(CONF_OVERLAY_CHUNK_MIN == OVL_CHUNK_MIN &&
    CONF_OVERLAY_CHUNK_MAX == OVL_CHUNK_MAX, "overlay_chunk limits");

struct overlay_att {
	LIST_ENTRY(overlay_att) entry;
	SLIST_ENTRY(overlay_att) held;	/* on a reaper's list; o->lock */
	char name[CONF_CLIENT_NAME_MAX + 1];
	struct claim *claim;		/* one client id read-write */
	struct health *health;		/* its overlay's, while open */
	int refs;			/* attaches in progress or done; o->lock */
	pthread_mutex_t lock;		/* what follows */
	struct store *store;		/* NULL: not open */
	char file[PATH_MAX];		/* of the overlay, once opened */
	int sessions;
	uint8_t last_id[ND_CLIENT_ID_LEN];	/* of the last attach */
	int64_t left_ms;		/* mono_ms() the last session left */
	int hold;			/* seconds, from its conf */
	int ephemeral;			/* likewise */
	int admin;			/* netdiskctl overlay: no attach */
};

struct overlays {
	pthread_mutex_t lock;
	int refs;			/* under lock */
	char export[ND_NAME_MAX + 1];	/* for the log */
	LIST_HEAD(att_list, overlay_att) atts;
};

struct overlays *
overlays_new(const char *export_name)
{
	struct overlays *o;

	if ((o = calloc(1, sizeof(*o))) == NULL)
		return NULL;
	pthread_mutex_init(&o->lock, NULL);
	o->refs = 1;
	snprintf(o->export, sizeof(o->export), "%s", export_name);
	LIST_INIT(&o->atts);
	return o;
}

struct overlays *
overlays_ref(struct overlays *o)
{
	pthread_mutex_lock(&o->lock);
	o->refs++;
	pthread_mutex_unlock(&o->lock);
	return o;
}

/*
 * Called with a->lock held, or with a off the set's list: close a's
 * overlay.  A persistent one is flushed first, so that an error that
 * loses writes is told.
 */
static void
att_close(struct overlays *o, struct overlay_att *a, const char *why)
{
	struct store_fault f;

	if (a->store == NULL)
		return;
	if (!a->ephemeral && store_flush(a->store, &f) == -1)
		log_warnx("export \"%s\": client \"%s\": overlay %s: %s at "
		    "close failed: %s: writes since its last FLUSH are lost",
		    o->export, a->name, a->file, f.op, strerror(f.error));
	store_close(a->store);
	a->store = NULL;
	log_info("export \"%s\": client \"%s\": overlay closed (%s)",
	    o->export, a->name, why);
}

static void
att_free(struct overlays *o, struct overlay_att *a)
{
	att_close(o, a, "released");
	claim_put(a->claim);
	health_put(a->health);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* Free what was taken off the list, outside the set's lock. */
static void
att_free_list(struct overlays *o, struct att_list *l)
{
	struct overlay_att *a;

	while ((a = LIST_FIRST(l)) != NULL) {
		LIST_REMOVE(a, entry);
		att_free(o, a);
	}
}

void
overlays_put(struct overlays *o)
{
	int last;

	if (o == NULL)
		return;
	pthread_mutex_lock(&o->lock);
	last = --o->refs == 0;
	pthread_mutex_unlock(&o->lock);
	if (!last)
		return;
	att_free_list(o, &o->atts);
	pthread_mutex_destroy(&o->lock);
	free(o);
}

/*
 * Called with a->lock held: the milliseconds until the hold after the
 * last session is over, 0 if it is, -1 while a session holds a.
 */
static int64_t
att_hold_left(const struct overlay_att *a, int64_t now)
{
	int64_t left;

	if (a->sessions > 0)
		return -1;
	left = a->left_ms + (int64_t)a->hold * 1000 - now;
	return left > 0 ? left : 0;
}

static int
att_expired(const struct overlay_att *a, int64_t now)
{
	return att_hold_left(a, now) == 0;
}

/* The earlier of two deadlines in ms, -1 being none. */
static int64_t
ms_min(int64_t a, int64_t b)
{
	if (a < 0)
		return b;
	return b < 0 || a < b ? a : b;
}

struct att_reap {
	struct att_list dead;		/* closed, nobody holds them: free */
	SLIST_HEAD(, overlay_att) due;	/* open, the hold over: close */
	int64_t next;			/* ms until the next hold ends */
};

/*
 * Called with o->lock held: sort the attachments nobody holds.  One
 * whose hold is over gets a reference, to be closed outside the set's
 * lock while it stays on the list: an attach of its identity meanwhile
 * finds it and waits for the close (a->lock), and so never opens the
 * file while it is being closed (an ephemeral one removed).  a->lock is
 * only tried: one being attached is looked at again soon.
 */
static void
att_sweep(struct overlays *o, struct att_reap *r)
{
	struct overlay_att *a, *next;
	int64_t now = mono_ms(), left;

	for (a = LIST_FIRST(&o->atts); a != NULL; a = next) {
		next = LIST_NEXT(a, entry);
		if (a->refs > 0)
			continue;
		if (pthread_mutex_trylock(&a->lock) != 0) {
			r->next = ms_min(r->next, OVERLAYS_RETRY_MS);
			continue;
		}
		left = a->store != NULL ? att_hold_left(a, now) : 0;
		if (a->store == NULL) {
			LIST_REMOVE(a, entry);
			LIST_INSERT_HEAD(&r->dead, a, entry);
		} else if (left == 0) {
			a->refs++;
			SLIST_INSERT_HEAD(&r->due, a, held);
		} else
			r->next = ms_min(r->next, left);
		pthread_mutex_unlock(&a->lock);
	}
}

/* Close the attachments r found due; 1 if it closed one. */
static int
att_close_due(struct overlays *o, struct att_reap *r)
{
	struct overlay_att *a;
	int closed = 0;

	while ((a = SLIST_FIRST(&r->due)) != NULL) {
		SLIST_REMOVE_HEAD(&r->due, held);
		pthread_mutex_lock(&a->lock);
		if (a->store != NULL && att_expired(a, mono_ms())) {
			att_close(o, a, "hold over");
			closed = 1;
		}
		pthread_mutex_unlock(&a->lock);
		pthread_mutex_lock(&o->lock);
		a->refs--;
		pthread_mutex_unlock(&o->lock);
	}
	return closed;
}

/*
 * Release what nobody holds: free the closed attachments, close those
 * whose hold is over.  The ms until the next hold ends, or -1.
 */
static int64_t
att_reap(struct overlays *o)
{
	struct att_reap r;

	do {
		LIST_INIT(&r.dead);
		SLIST_INIT(&r.due);
		r.next = -1;
		pthread_mutex_lock(&o->lock);
		att_sweep(o, &r);
		pthread_mutex_unlock(&o->lock);
		att_free_list(o, &r.dead);
	} while (att_close_due(o, &r));
	return r.next;
}

int
overlays_expire(struct overlays *o)
{
	int64_t next = att_reap(o);

	return next > INT_MAX ? INT_MAX : (int)next;
}

/* The attachment of name, made if missing, with a reference. */
static struct overlay_att *
att_get(struct overlays *o, const char *name)
{
	struct overlay_att *a;

	pthread_mutex_lock(&o->lock);
	LIST_FOREACH(a, &o->atts, entry)
		if (strcmp(a->name, name) == 0)
			break;
	if (a == NULL && (a = calloc(1, sizeof(*a))) != NULL) {
		if ((a->claim = claim_new()) == NULL ||
		    (a->health = health_new()) == NULL) {
			claim_put(a->claim);
			free(a);
			a = NULL;
		} else {
			snprintf(a->name, sizeof(a->name), "%s", name);
			pthread_mutex_init(&a->lock, NULL);
			LIST_INSERT_HEAD(&o->atts, a, entry);
		}
	}
	if (a != NULL)
		a->refs++;
	pthread_mutex_unlock(&o->lock);
	return a;
}

static void
att_put(struct overlays *o, struct overlay_att *a)
{
	pthread_mutex_lock(&o->lock);
	a->refs--;
	pthread_mutex_unlock(&o->lock);
	att_reap(o);
}

/* Opening an overlay. */

/*
 * The read-only base of one attachment, a store of its own, and its
 * identity, taken from the descriptor opened: a base replaced at the
 * path meanwhile is not recorded as the one opened.
 */
static struct store *
att_base(const struct conf_export *ce, struct ovl_base *id, char *err,
    size_t errlen)
{
	struct store_params p = {
		.path = ce->path,
		.align = ND_MIN_BLOCK,
		.readonly = 1,
	};
	struct store *base;
	int fd;

	if ((base = store_open(&store_file_ops, &p, NULL, err, errlen)) ==
	    NULL)
		return NULL;
	if ((fd = store_file_fd(base)) != -1 &&
	    overlay_base_fstat(fd, ce->base_generation, id) == 0)
		return base;
	snprintf(err, errlen, "%s: %s", ce->path, strerror(errno));
	store_close(base);
	return NULL;
}

static struct store *
att_open_overlay(const struct conf_export *ce, const char *path,
    char *err, size_t errlen)
{
	struct overlay_params op = {
		.flags = ce->overlay_ephemeral ? OVL_EPHEMERAL : OVL_CREATE,
		.chunk = ce->overlay_chunk,
		.quota = ce->overlay_quota,
	};
	struct store_params p = {
		.path = path,
		.align = ND_MIN_BLOCK,
		.kind = &op,
	};
	struct store *base;

	if ((base = att_base(ce, &op.base, err, errlen)) == NULL) {
		errno = EIO;	/* not ESTALE: no policy applies */
		return NULL;
	}
	return store_open(&store_overlay_ops, &p, base, err, errlen);
}

/* Keep the overlay made on the old base as PATH.YYYYMMDDTHHMMSSZ[.N]. */
static int
att_set_aside(const char *path, char *aside, size_t len)
{
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int i;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (i = 0; i < 100; i++) {
		if (i == 0)
			snprintf(aside, len, "%s.%s", path, stamp);
		else
			snprintf(aside, len, "%s.%s.%d", path, stamp, i);
		if (link(path, aside) == 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (i == 100) {
		errno = EEXIST;
		return -1;
	}
	if (unlink(path) == -1)
		return -1;
	return overlay_sync_dir(path);
}

/* Called with a->lock held: open a's overlay.  0, or -1 (logged). */
static int
att_open(struct overlays *o, struct overlay_att *a,
    const struct conf_export *ce)
{
	char path[PATH_MAX], aside[PATH_MAX + 64], err[1024];

	if (snprintf(path, sizeof(path), "%s/%s.ovl", ce->overlay_dir,
	    a->name) >= (int)sizeof(path)) {
		log_warnx("export \"%s\": client \"%s\": overlay path in %s "
		    "too long", o->export, a->name, ce->overlay_dir);
		return -1;
	}
	a->hold = ce->overlay_hold;
	a->ephemeral = ce->overlay_ephemeral;
	if ((a->store = att_open_overlay(ce, path, err, sizeof(err))) != NULL)
		goto opened;
	if (errno != ESTALE) {
		log_warnx("export \"%s\": client \"%s\": refused: %s",
		    o->export, a->name, err);
		return -1;
	}
	if (ce->base_changed_refuse) {
		log_warnx("export \"%s\": client \"%s\": refused: %s "
		    "(base_changed = refuse: remove or reset the overlay to "
		    "start anew)", o->export, a->name, err);
		return -1;
	}
	if (att_set_aside(path, aside, sizeof(aside)) == -1) {
		log_warn("export \"%s\": client \"%s\": refused: cannot set "
		    "%s aside", o->export, a->name, path);
		return -1;
	}
	log_info("export \"%s\": client \"%s\": %s; kept as %s, starting a "
	    "new overlay (base_changed = new)", o->export, a->name, err, aside);
	if ((a->store = att_open_overlay(ce, path, err, sizeof(err))) == NULL) {
		log_warnx("export \"%s\": client \"%s\": refused: %s",
		    o->export, a->name, err);
		return -1;
	}
opened:
	snprintf(a->file, sizeof(a->file), "%s", path);
	health_clear(a->health);	/* a new open file: its own errors */
	log_info("export \"%s\": client \"%s\": overlay %s attached (%s)",
	    o->export, a->name, path, ce->overlay_ephemeral ? "ephemeral" :
	    "persistent");
	return 0;
}

/* Called with a->lock held: the overlay to serve client id, or NULL. */
static struct store *
att_use(struct overlays *o, struct overlay_att *a,
    const struct conf_export *ce, const uint8_t id[ND_CLIENT_ID_LEN])
{
	int fresh = a->sessions == 0 &&
	    (memcmp(a->last_id, id, ND_CLIENT_ID_LEN) != 0 ||
	    att_expired(a, mono_ms()));

	if (a->admin) {
		log_warnx("export \"%s\": client \"%s\": refused: its overlay "
		    "is being reset or committed (netdiskctl overlay)",
		    o->export, a->name);
		return NULL;
	}
	if (fresh)
		att_close(o, a, "fresh attach");
	if (a->store == NULL && att_open(o, a, ce) == -1)
		return NULL;
	a->sessions++;
	memcpy(a->last_id, id, ND_CLIENT_ID_LEN);
	return a->store;
}

uint32_t
overlays_attach(struct overlays *o, const struct conf_export *ce,
    const char *identity, const uint8_t id[ND_CLIENT_ID_LEN], int shared,
    struct overlay_att **attp, struct store **store,
    uint8_t holder[ND_CLIENT_ID_LEN])
{
	struct overlay_att *a;
	uint32_t status;

	if ((a = att_get(o, identity)) == NULL)
		return ND_HS_UNAVAILABLE;
	status = claim_take(a->claim, id, shared, 0, holder);
	if (status != ND_HS_OK) {
		att_put(o, a);
		return status;
	}
	pthread_mutex_lock(&a->lock);
	*store = att_use(o, a, ce, id);
	pthread_mutex_unlock(&a->lock);
	if (*store == NULL) {
		claim_release(a->claim, id, shared);
		att_put(o, a);
		return ND_HS_UNAVAILABLE;
	}
	*attp = a;
	return ND_HS_OK;
}

/*
 * Called with a->lock held: the last session left.  The overlay file's
 * modification time records it: "last seen" for netdiskctl overlay list
 * and prune, kept across restarts of netdiskd.
 */
static void
att_left(struct overlay_att *a)
{
	a->left_ms = mono_ms();
	if (a->store != NULL && a->file[0] != '\0' &&
	    utimensat(AT_FDCWD, a->file, NULL, 0) == -1 && errno != ENOENT)
		log_debug("overlay %s: cannot set its time: %s", a->file,
		    strerror(errno));
}

void
overlays_detach(struct overlays *o, struct overlay_att *a,
    const uint8_t id[ND_CLIENT_ID_LEN], int shared)
{
	pthread_mutex_lock(&a->lock);
	if (--a->sessions == 0)
		att_left(a);
	pthread_mutex_unlock(&a->lock);
	claim_release(a->claim, id, shared);
	att_put(o, a);
}

int
overlays_count(struct overlays *o)
{
	struct overlay_att *a;
	int n = 0;

	pthread_mutex_lock(&o->lock);
	LIST_FOREACH(a, &o->atts, entry)
		n++;
	pthread_mutex_unlock(&o->lock);
	return n;
}

/* Administration (overlay_admin.c). */

struct overlay_att *
overlays_admin_get(struct overlays *o, const char *name)
{
	return att_get(o, name);
}

int
overlays_admin_begin(struct overlay_att *a, int force)
{
	int r;

	pthread_mutex_lock(&a->lock);
	if (a->admin) {
		errno = EALREADY;
		r = -1;
	} else if (a->sessions > 0 && !force) {
		errno = EBUSY;
		r = -1;
	} else {
		a->admin = 1;
		r = a->sessions;
	}
	pthread_mutex_unlock(&a->lock);
	return r;
}

int
overlays_admin_sessions(struct overlay_att *a)
{
	int n;

	pthread_mutex_lock(&a->lock);
	n = a->sessions;
	pthread_mutex_unlock(&a->lock);
	return n;
}

struct store *
overlays_admin_store(struct overlay_att *a)
{
	struct store *s;

	pthread_mutex_lock(&a->lock);
	s = a->store;
	pthread_mutex_unlock(&a->lock);
	return s;
}

void
overlays_admin_close(struct overlays *o, struct overlay_att *a)
{
	pthread_mutex_lock(&a->lock);
	att_close(o, a, "netdiskctl overlay");
	memset(a->last_id, 0, sizeof(a->last_id));
	pthread_mutex_unlock(&a->lock);
}

void
overlays_admin_end(struct overlays *o, struct overlay_att *a)
{
	pthread_mutex_lock(&a->lock);
	a->admin = 0;
	pthread_mutex_unlock(&a->lock);
	att_put(o, a);
}

int
overlays_usage(struct overlays *o, const char *name,
    struct overlays_usage *u)
{
	struct overlay_att *a;

	memset(u, 0, sizeof(*u));
	pthread_mutex_lock(&o->lock);
	LIST_FOREACH(a, &o->atts, entry)
		if (strcmp(a->name, name) == 0)
			break;
	if (a != NULL) {
		pthread_mutex_lock(&a->lock);
		u->sessions = a->sessions;
		if ((u->open = a->store != NULL))
			overlay_store_usage(a->store, &u->allocated,
			    &u->quota);
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_unlock(&o->lock);
	return a != NULL && u->open;
}

struct store *
overlays_store(struct overlay_att *a)
{
	return a->store;	/* not changed while a session holds a */
}

struct health *
overlays_health(struct overlay_att *a)
{
	return a->health;
}

const char *
overlays_file(struct overlay_att *a)
{
	return a->file;		/* likewise */
}

const char *
overlays_client(struct overlay_att *a)
{
	return a->name;
}
