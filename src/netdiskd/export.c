/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "export.h"
#include "log.h"
#include "store_file.h"
#include "util.h"

#define EXPORT_ERR_BURST	10	/* I/O error lines per interval */
#define EXPORT_ERR_INTERVAL	10	/* seconds */

static uint32_t export_sync(struct export *, struct overlay_att *);

/* Claims. */

uint32_t
export_claim(struct export *e, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared, uint8_t holder[ND_CLIENT_ID_LEN])
{
	return claim_take(e->claim, id, shared || e->overlays != NULL,
	    e->conf.max_clients, holder);
}

void
export_release(struct export *e, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared)
{
	claim_release(e->claim, id, shared || e->overlays != NULL);
}

uint32_t
export_attach(struct export *e, const char *identity,
    const uint8_t id[ND_CLIENT_ID_LEN], int shared, struct overlay_att **att)
{
	uint8_t holder[ND_CLIENT_ID_LEN];
	char hex[2 * ND_CLIENT_ID_LEN + 1];
	struct store *store;
	uint32_t status;

	*att = NULL;
	if (e->overlays == NULL)
		return ND_HS_OK;
	if (identity == NULL || identity[0] == '\0') {
		log_warnx("export \"%s\": a shared key has no overlay",
		    e->conf.name);
		return ND_HS_UNAVAILABLE;
	}
	status = overlays_attach(e->overlays, &e->conf, identity, id, shared,
	    att, &store, holder);
	if (status == ND_HS_BUSY) {
		hex_format(holder, sizeof(holder), hex);
		log_info("export \"%s\" busy: client \"%s\" attached from "
		    "client id %s", e->conf.name, identity, hex);
	}
	return status;
}

void
export_detach(struct export *e, struct overlay_att *att,
    const uint8_t id[ND_CLIENT_ID_LEN], int shared)
{
	if (att != NULL)
		overlays_detach(e->overlays, att, id, shared);
}

int
export_expire(struct export *e)
{
	return e->overlays != NULL ? overlays_expire(e->overlays) : -1;
}

void
export_att_failure(struct overlay_att *att, struct health_state *state,
    const char **file)
{
	health_get(overlays_health(att), state);
	*file = overlays_file(att);
}

/* The store that requests of att (NULL: of a plain export) use. */
static struct store *
export_use(struct export *e, struct overlay_att *att)
{
	return att != NULL ? overlays_store(att) : e->store;
}

/* The health that att's requests answer to (health.h). */
static struct health *
export_health(struct export *e, struct overlay_att *att)
{
	return att != NULL ? overlays_health(att) : e->health;
}

uint32_t
export_slot_enter(struct export *e, struct claim_slot *slot, int wait_ms)
{
	return claim_slot_enter(e->claim, slot, wait_ms);
}

void
export_slot_leave(struct export *e, struct claim_slot *slot)
{
	claim_slot_leave(e->claim, slot);
}

void
export_slot_drained(struct export *e)
{
	claim_slot_drained(e->claim);
}

/* Opening. */

static int
export_copy_conf(struct conf_export *dst, const struct conf_export *src)
{
	*dst = *src;
	memset(&dst->entry, 0, sizeof(dst->entry));
	dst->description = NULL;
	dst->allow = NULL;
	/* Who may use it is the export table's (exports.h). */
	dst->client_names = NULL;
	dst->clients = NULL;
	dst->nclients = 0;
	dst->clients_all = 0;
	dst->overlay_dir = NULL;
	if ((dst->path = strdup(src->path)) == NULL)
		return -1;
	if (src->overlay_dir != NULL &&
	    (dst->overlay_dir = strdup(src->overlay_dir)) == NULL)
		return -1;
	if (src->description != NULL &&
	    (dst->description = strdup(src->description)) == NULL)
		return -1;
	if (src->allow != NULL) {
		dst->allow = calloc(src->nallow > 0 ? src->nallow : 1,
		    sizeof(*dst->allow));
		if (dst->allow == NULL)
			return -1;
		memcpy(dst->allow, src->allow, src->nallow * sizeof(*src->allow));
	}
	return 0;
}

/* An overlay export's folder of overlays must be there. */
static int
export_check_overlay_dir(struct export *e, char *err, size_t errlen)
{
	struct stat st;

	if (stat(e->conf.overlay_dir, &st) == -1) {
		snprintf(err, errlen, "export \"%s\": overlay_dir %s: %s",
		    e->conf.name, e->conf.overlay_dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "export \"%s\": overlay_dir %s: not a "
		    "directory", e->conf.name, e->conf.overlay_dir);
		return -1;
	}
	return 0;
}

/* An overlay export's base is only read, through each attachment. */
static int
export_open_store(struct export *e, char *err, size_t errlen)
{
	int overlay = e->conf.overlay_dir != NULL;
	struct store_params p = {
		.path = e->conf.path,
		.size = e->conf.size,
		.align = ND_MIN_BLOCK,
		.readonly = e->conf.readonly || overlay,
	};
	char msg[512];

	if (overlay && export_check_overlay_dir(e, err, errlen) == -1)
		return -1;
	e->store = store_open(&store_file_ops, &p, NULL, msg, sizeof(msg));
	if (e->store == NULL) {
		snprintf(err, errlen, "export \"%s\": %s", e->conf.name, msg);
		return -1;
	}
	e->size = e->store->size;
	return 0;
}

/* export_id = SHA-256("netdisk export id" || name || 0 || realpath)[0..16) */
static int
export_make_id(struct export *e, char *err, size_t errlen)
{
	static const char label[] = "netdisk export id";
	static const uint8_t nul;
	uint8_t hash[CRYPTO_HASH_LEN];
	struct crypto_vec v[4];
	char *real;

	if ((real = realpath(e->conf.path, NULL)) == NULL) {
		snprintf(err, errlen, "export \"%s\": %s: %s", e->conf.name,
		    e->conf.path, strerror(errno));
		return -1;
	}
	v[0] = (struct crypto_vec){ label, strlen(label) };
	v[1] = (struct crypto_vec){ e->conf.name, strlen(e->conf.name) };
	v[2] = (struct crypto_vec){ &nul, 1 };
	v[3] = (struct crypto_vec){ real, strlen(real) };
	crypto_sha256v(hash, v, 4);
	memcpy(e->id, hash, ND_EXPORT_ID_LEN);
	free(real);
	return 0;
}

static void
export_free(struct export *e)
{
	store_close(e->store);
	overlays_put(e->overlays);
	claim_put(e->claim);
	health_put(e->health);
	ratelim_destroy(&e->errlog);
	crypto_wipe(e->key, sizeof(e->key));
	crypto_wipe(e->conf.key, sizeof(e->conf.key));
	free(e->conf.path);
	free(e->conf.overlay_dir);
	free(e->conf.description);
	free(e->conf.allow);
	free(e);
}

uint32_t
export_min_block(const struct export *e)
{
	return e->overlays == NULL && (e->store->caps & STORE_CAN_BYTES) ? 1 :
	    ND_MIN_BLOCK;
}

/* What the export offers: the store's capabilities and the settings. */
static void
export_set_flags(struct export *e)
{
	unsigned caps = e->store->caps;

	if (e->overlays != NULL)	/* the overlay store's (overlay.md) */
		caps = STORE_CAN_WRITE | STORE_CAN_FLUSH | STORE_CAN_TRIM |
		    STORE_CAN_ZERO;
	e->flags = ND_FLAG_MULTI_CONN;
	if (caps & STORE_CAN_FLUSH)
		e->flags |= ND_FLAG_FLUSH;
	if (caps & STORE_CAN_FUA)
		e->flags |= ND_FLAG_FUA;
	if (caps & STORE_CAN_ZERO)
		e->flags |= ND_FLAG_WRITE_ZEROES;
	if (e->conf.trim && (caps & STORE_CAN_TRIM))
		e->flags |= ND_FLAG_TRIM;
	if (e->conf.readonly || !(caps & STORE_CAN_WRITE))
		e->flags |= ND_FLAG_READ_ONLY;
}

struct export *
export_open(const struct conf_export *ce, const uint8_t *key,
    struct export *prev, char *err, size_t errlen)
{
	struct export *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "export \"%s\": out of memory", ce->name);
		return NULL;
	}
	atomic_init(&e->refs, 1);
	ratelim_init(&e->errlog, EXPORT_ERR_BURST, EXPORT_ERR_INTERVAL);
	snprintf(e->errwhat, sizeof(e->errwhat), "I/O errors on export \"%s\"",
	    ce->name);
	e->claim = prev ? claim_ref(prev->claim) : claim_new();
	e->health = prev ? health_ref(prev->health) : health_new();
	if (ce->overlay_dir != NULL)
		e->overlays = prev != NULL && prev->overlays != NULL &&
		    str_same(prev->conf.overlay_dir, ce->overlay_dir) ?
		    overlays_ref(prev->overlays) : overlays_new(ce->name);
	if (export_copy_conf(&e->conf, ce) == -1 || e->claim == NULL ||
	    e->health == NULL || (ce->overlay_dir != NULL &&
	    e->overlays == NULL)) {
		snprintf(err, errlen, "export \"%s\": out of memory", ce->name);
		goto fail;
	}
	if (ce->has_key || key != NULL)
		memcpy(e->key, ce->has_key ? ce->key : key, ND_KEY_LEN);
	if (export_open_store(e, err, errlen) == -1 ||
	    export_make_id(e, err, errlen) == -1)
		goto fail;
	export_set_flags(e);
	e->opened = time(NULL);
	return e;
fail:
	export_free(e);
	return NULL;
}

void
export_account(struct export *e, uint16_t type, uint32_t len, uint32_t error)
{
	struct export_stats *st = &e->stats;

	if (error != ND_OK) {
		atomic_fetch_add_explicit(&st->errors, 1, memory_order_relaxed);
		return;
	}
	if (type == ND_CMD_READ) {
		atomic_fetch_add_explicit(&st->read_requests, 1,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&st->read_bytes, len,
		    memory_order_relaxed);
	} else if (type == ND_CMD_WRITE || type == ND_CMD_WRITE_ZEROES) {
		atomic_fetch_add_explicit(&st->write_requests, 1,
		    memory_order_relaxed);
		atomic_fetch_add_explicit(&st->write_bytes, len,
		    memory_order_relaxed);
	}
}

struct export *
export_ref(struct export *e)
{
	atomic_fetch_add(&e->refs, 1);
	return e;
}

void
export_put(struct export *e)
{
	if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	if (!e->conf.readonly && e->overlays == NULL)
		export_sync(e, NULL);
	log_debug("export \"%s\": closed", e->conf.name);
	export_free(e);
}

/* Failures. */

static int
nospace(int error)
{
	return error == ENOSPC || error == EDQUOT;
}

static void
export_ioerr_log(struct export *e, struct overlay_att *att,
    const struct store_fault *f)
{
	if (!ratelim_pass(&e->errlog, e->errwhat))
		return;
	if (att != NULL)
		log_warnx("export \"%s\": client \"%s\": overlay %s: %s of %"
		    PRIu64 " bytes at %" PRIu64 " failed: %s", e->conf.name,
		    overlays_client(att), overlays_file(att), f->op, f->len,
		    f->off, strerror(f->error));
	else
		log_warnx("export \"%s\": %s of %" PRIu64 " bytes at %" PRIu64
		    " failed: %s", e->conf.name, f->op, f->len, f->off,
		    strerror(f->error));
}

/*
 * Fail the export, or on an overlay export att's attachment alone
 * (overlays.h): logged once, when it happens.
 */
static uint32_t
export_fail(struct export *e, struct overlay_att *att, const char *op,
    int error)
{
	if (!health_fail(export_health(e, att), error, op))
		return ND_EIO;
	if (att != NULL)
		log_warnx("export \"%s\": client \"%s\": overlay %s failed: "
		    "%s: %s: that client's FLUSH and FUA writes fail until "
		    "its overlay is closed (after it detaches)", e->conf.name,
		    overlays_client(att), overlays_file(att), op,
		    strerror(error));
	else
		log_warnx("export \"%s\": failed: %s: %s: FLUSH and FUA "
		    "writes fail until \"netdiskctl restart %s\"",
		    e->conf.name, op, strerror(error), e->conf.name);
	return ND_EIO;
}

/*
 * A write, trim or sync failed.  Running out of space while taking the
 * data (not while syncing) fails only this request; anything else may
 * have lost data that was answered before, so it fails the export (or
 * the attachment).
 */
static uint32_t
export_storerr(struct export *e, struct overlay_att *att,
    const struct store_fault *f)
{
	export_ioerr_log(e, att, f);
	if (nospace(f->error) && !f->sync)
		return ND_ENOSPC;
	return export_fail(e, att, f->op, f->error);
}

void
export_failure(struct export *e, struct health_state *state)
{
	health_get(e->health, state);
}

void
export_clear_failure(struct export *e)
{
	if (health_failed(e->health) != 0)
		log_info("export \"%s\": failure cleared by a restart",
		    e->conf.name);
	health_clear(e->health);
}

/* I/O. */

/* A read failed: only this request. */
uint32_t
export_read(struct export *e, struct overlay_att *att, void *buf,
    uint32_t len, uint64_t off)
{
	struct store_fault f;

	if (store_pread(export_use(e, att), buf, len, off, 0, &f) == 0)
		return ND_OK;
	export_ioerr_log(e, att, &f);
	return ND_EIO;
}

int
export_read_cached(struct export *e, struct overlay_att *att, void *buf,
    uint32_t len, uint64_t off)
{
	struct store_fault f;

	return store_pread(export_use(e, att), buf, len, off, STORE_NOWAIT,
	    &f) == 0;
}

uint32_t
export_write(struct export *e, struct overlay_att *att, const void *buf,
    uint32_t len, uint64_t off, int fua)
{
	struct store_fault f;

	if (fua && health_failed(export_health(e, att)))
		return ND_EIO;
	if (store_pwrite(export_use(e, att), buf, len, off, fua ? STORE_FUA :
	    0, &f) == 0)
		return ND_OK;
	return export_storerr(e, att, &f);
}

/* Sync the store, whatever the health: for the close of the store too. */
static uint32_t
export_sync(struct export *e, struct overlay_att *att)
{
	struct store_fault f;

	if (store_flush(export_use(e, att), &f) == 0)
		return ND_OK;
	return export_storerr(e, att, &f);
}

uint32_t
export_flush(struct export *e, struct overlay_att *att)
{
	if (health_failed(export_health(e, att)))
		return ND_EIO;
	return export_sync(e, att);
}

uint32_t
export_trim(struct export *e, struct overlay_att *att, uint64_t off,
    uint32_t len, int fua)
{
	struct store_fault f;

	if (fua && health_failed(export_health(e, att)))
		return ND_EIO;
	if (store_trim(export_use(e, att), off, len, 0, &f) == 0)
		return fua ? export_flush(e, att) : ND_OK;
	return export_storerr(e, att, &f);
}

uint32_t
export_zero(struct export *e, struct overlay_att *att, uint64_t off,
    uint32_t len, unsigned flags)
{
	struct store_fault f;

	if ((flags & STORE_FUA) && health_failed(export_health(e, att)))
		return ND_EIO;
	if (store_zero(export_use(e, att), off, len, flags, &f) == 0)
		return ND_OK;
	if (f.error == EOPNOTSUPP && (flags & (STORE_FAST | STORE_NO_HOLE)))
		return ND_ENOTSUP;	/* nothing was done */
	return export_storerr(e, att, &f);
}

/* Read ahead: the range in chunks of buf's len bytes. */
uint32_t
export_cache(struct export *e, struct overlay_att *att, void *buf,
    uint32_t buflen, uint64_t off, uint32_t len)
{
	uint32_t n, error;

	for (; len > 0; off += n, len -= n) {
		n = len < buflen ? len : buflen;
		if ((error = export_read(e, att, buf, n, off)) != ND_OK)
			return error;
	}
	return ND_OK;
}

uint32_t
export_extents(struct export *e, struct overlay_att *att, uint64_t off,
    uint64_t len, store_extent_fn *fn, void *arg)
{
	struct store *st = export_use(e, att);
	struct store_fault f;

	if (!(st->caps & STORE_CAN_EXTENTS)) {	/* a device: all data */
		fn(arg, off, len, 1);
		return ND_OK;
	}
	if (store_extents(st, off, len, fn, arg, &f) == 0)
		return ND_OK;
	export_ioerr_log(e, att, &f);
	return ND_EIO;
}
