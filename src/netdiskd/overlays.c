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

static_assert(CONF_OVERLAY_CHUNK_MIN == OVL_CHUNK_MIN &&
    CONF_OVERLAY_CHUNK_MAX == OVL_CHUNK_MAX, "overlay_chunk limits");

struct overlay_att {
	LIST_ENTRY(overlay_att) entry;
	char name[CONF_CLIENT_NAME_MAX + 1];
	struct claim *claim;		/* one client id read-write */
	int refs;			/* attaches in progress or done; o->lock */
	pthread_mutex_t lock;		/* what follows */
	struct store *store;		/* NULL: not open */
	int sessions;
	uint8_t last_id[ND_CLIENT_ID_LEN];	/* of the last attach */
	int64_t left_ms;		/* mono_ms() the last session left */
	int hold;			/* seconds, from its conf */
	int admin;			/* netdiskctl overlay: no attach */
	char path[PATH_MAX];		/* of the overlay, once opened */
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

static void
att_free(struct overlays *o, struct overlay_att *a)
{
	if (a->store != NULL) {
		store_close(a->store);
		log_info("export \"%s\": client \"%s\": overlay closed",
		    o->export, a->name);
	}
	claim_put(a->claim);
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

/* Called with a->lock held: the hold after the last session is over. */
static int
att_expired(const struct overlay_att *a, int64_t now)
{
	return a->sessions == 0 && now - a->left_ms >= (int64_t)a->hold * 1000;
}

/*
 * Called with o->lock held: move the attachments nobody holds and whose
 * hold is over to l.  a->lock is only tried: one being attached is busy.
 */
static void
att_sweep(struct overlays *o, struct att_list *l)
{
	struct overlay_att *a, *next;
	int64_t now = mono_ms();
	int done;

	for (a = LIST_FIRST(&o->atts); a != NULL; a = next) {
		next = LIST_NEXT(a, entry);
		if (a->refs > 0 || pthread_mutex_trylock(&a->lock) != 0)
			continue;
		done = a->store == NULL || att_expired(a, now);
		pthread_mutex_unlock(&a->lock);
		if (done) {
			LIST_REMOVE(a, entry);
			LIST_INSERT_HEAD(l, a, entry);
		}
	}
}

/* The attachment of name, made if missing, with a reference. */
static struct overlay_att *
att_get(struct overlays *o, const char *name)
{
	struct overlay_att *a;
	struct att_list l = LIST_HEAD_INITIALIZER(l);

	pthread_mutex_lock(&o->lock);
	att_sweep(o, &l);
	LIST_FOREACH(a, &o->atts, entry)
		if (strcmp(a->name, name) == 0)
			break;
	if (a == NULL && (a = calloc(1, sizeof(*a))) != NULL) {
		if ((a->claim = claim_new()) == NULL) {
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
	att_free_list(o, &l);
	return a;
}

static void
att_put(struct overlays *o, struct overlay_att *a)
{
	struct att_list l = LIST_HEAD_INITIALIZER(l);

	pthread_mutex_lock(&o->lock);
	a->refs--;
	att_sweep(o, &l);
	pthread_mutex_unlock(&o->lock);
	att_free_list(o, &l);
}

/* Opening an overlay. */

/*
 * The read-only base of one attachment, a store of its own, and its
 * identity: taken before and after the open, so that a base replaced
 * meanwhile (renamed over the path) is not recorded as the one opened.
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
	struct ovl_base before;
	struct store *base;
	int i;

	for (i = 0; i < 3; i++) {
		if (overlay_base_stat(ce->path, ce->base_generation,
		    &before) == -1)
			break;
		if ((base = store_open(&store_file_ops, &p, NULL, err,
		    errlen)) == NULL)
			return NULL;
		if (overlay_base_stat(ce->path, ce->base_generation,
		    id) == -1) {
			store_close(base);
			break;
		}
		if (memcmp(&before, id, sizeof(before)) == 0)
			return base;
		store_close(base);
	}
	if (i == 3)
		errno = EAGAIN;	/* the base keeps changing */
	snprintf(err, errlen, "%s: %s", ce->path, strerror(errno));
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
	memcpy(a->path, path, sizeof(a->path));
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
	if (a->store != NULL && fresh) {
		store_close(a->store);
		a->store = NULL;
		log_info("export \"%s\": client \"%s\": fresh attach, overlay "
		    "reopened", o->export, a->name);
	}
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
	if (a->store != NULL && a->path[0] != '\0' &&
	    utimensat(AT_FDCWD, a->path, NULL, 0) == -1 && errno != ENOENT)
		log_debug("overlay %s: cannot set its time: %s", a->path,
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
	if (a->store != NULL) {
		store_close(a->store);
		a->store = NULL;
		log_info("export \"%s\": client \"%s\": overlay closed",
		    o->export, a->name);
	}
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
