#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "export.h"
#include "log.h"
#include "util.h"

#define EXPORT_ERR_BURST	10	/* I/O error lines per interval */
#define EXPORT_ERR_INTERVAL	10	/* seconds */
#define EXPORT_ZERO_CHUNK	(64 * 1024)
/*
 * How long a claim waits for a conflicting one to go away: a client that
 * disconnects and reconnects at once (one command after another) must
 * not find its own previous connection still holding the export.
 */
#define EXPORT_CLAIM_WAIT_MS	500

static const uint8_t zeroes[EXPORT_ZERO_CHUNK];

static uint32_t export_sync(struct export *);

/* Rate limiting. */

void
ratelim_init(struct ratelim *rl, unsigned burst, int interval)
{
	memset(rl, 0, sizeof(*rl));
	pthread_mutex_init(&rl->lock, NULL);
	rl->burst = burst;
	rl->interval = interval;
	rl->start = mono_ms() / 1000;
}

void
ratelim_destroy(struct ratelim *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

/* Called locked: starts a new window if the current one has ended. */
static void
ratelim_roll(struct ratelim *rl, int64_t now, const char *what)
{
	if (now - rl->start < rl->interval)
		return;
	if (rl->suppressed > 0)
		log_warnx("%u more %s suppressed", rl->suppressed, what);
	rl->start = now;
	rl->count = rl->suppressed = 0;
}

int
ratelim_pass(struct ratelim *rl, const char *what)
{
	int pass;

	pthread_mutex_lock(&rl->lock);
	ratelim_roll(rl, mono_ms() / 1000, what);
	pass = rl->count < rl->burst;
	if (pass)
		rl->count++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&rl->lock);
	return pass;
}

int
ratelim_flush(struct ratelim *rl, const char *what)
{
	int64_t now = mono_ms();
	int ms = -1;

	pthread_mutex_lock(&rl->lock);
	ratelim_roll(rl, now / 1000, what);
	if (rl->suppressed > 0) {
		ms = (int)((rl->start + rl->interval) * 1000 - now);
		if (ms < 0)
			ms = 0;
	}
	pthread_mutex_unlock(&rl->lock);
	return ms;
}

/* Claims: one read-write client id at a time, max_clients client ids. */

struct claim_client {
	uint8_t id[ND_CLIENT_ID_LEN];
	int conns;
};

struct export_claims {
	pthread_mutex_t lock;
	pthread_cond_t released;
	atomic_int refs;
	int excl_conns;			/* read-write sessions of excl_id */
	uint8_t excl_id[ND_CLIENT_ID_LEN];
	struct claim_client *clients;
	int nclients, cap;
	LIST_HEAD(, export_slot) slots;	/* of the sessions, for fencing */
	uint64_t slot_gen;		/* of the last one entered */
};

static void
cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

static struct export_claims *
claims_new(void)
{
	struct export_claims *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	cond_init_monotonic(&c->released);
	atomic_init(&c->refs, 1);
	LIST_INIT(&c->slots);
	return c;
}

static void
claims_put(struct export_claims *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	pthread_cond_destroy(&c->released);
	pthread_mutex_destroy(&c->lock);
	free(c->clients);
	free(c);
}

static struct claim_client *
claims_find(struct export_claims *c, const uint8_t id[ND_CLIENT_ID_LEN])
{
	int i;

	for (i = 0; i < c->nclients; i++)
		if (memcmp(c->clients[i].id, id, ND_CLIENT_ID_LEN) == 0)
			return &c->clients[i];
	return NULL;
}

static struct claim_client *
claims_add(struct export_claims *c, const uint8_t id[ND_CLIENT_ID_LEN])
{
	struct claim_client *cl;
	int cap;

	if (c->nclients == c->cap) {
		cap = c->cap ? 2 * c->cap : 8;
		cl = reallocarray(c->clients, cap, sizeof(*cl));
		if (cl == NULL)
			return NULL;
		c->clients = cl;
		c->cap = cap;
	}
	cl = &c->clients[c->nclients++];
	memcpy(cl->id, id, ND_CLIENT_ID_LEN);
	cl->conns = 0;
	return cl;
}

/* Called locked: what a claim would get now. */
static uint32_t
claims_check(struct export_claims *c, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared, int max_clients)
{
	if (!shared && c->excl_conns > 0 &&
	    memcmp(c->excl_id, id, ND_CLIENT_ID_LEN) != 0)
		return ND_HS_BUSY;
	if (max_clients > 0 && c->nclients >= max_clients &&
	    claims_find(c, id) == NULL)
		return ND_HS_TOO_MANY;
	return ND_HS_OK;
}

/* Called locked: take the claim. */
static uint32_t
claims_take(struct export_claims *c, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared)
{
	struct claim_client *cl;

	if ((cl = claims_find(c, id)) == NULL &&
	    (cl = claims_add(c, id)) == NULL)
		return ND_HS_UNAVAILABLE;
	cl->conns++;
	if (!shared && c->excl_conns++ == 0)
		memcpy(c->excl_id, id, ND_CLIENT_ID_LEN);
	return ND_HS_OK;
}

/* The monotonic clock ms milliseconds from now. */
static void
deadline_after(struct timespec *deadline, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

uint32_t
export_claim(struct export *e, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared, uint8_t holder[ND_CLIENT_ID_LEN])
{
	struct export_claims *c = e->claims;
	struct timespec deadline;
	uint32_t status;

	deadline_after(&deadline, EXPORT_CLAIM_WAIT_MS);
	pthread_mutex_lock(&c->lock);
	while ((status = claims_check(c, id, shared, e->conf.max_clients)) !=
	    ND_HS_OK && pthread_cond_timedwait(&c->released, &c->lock,
	    &deadline) == 0)
		;
	if (status == ND_HS_BUSY)
		memcpy(holder, c->excl_id, ND_CLIENT_ID_LEN);
	else if (status == ND_HS_OK)
		status = claims_take(c, id, shared);
	pthread_mutex_unlock(&c->lock);
	return status;
}

void
export_release(struct export *e, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared)
{
	struct export_claims *c = e->claims;
	struct claim_client *cl;

	pthread_mutex_lock(&c->lock);
	if ((cl = claims_find(c, id)) != NULL && --cl->conns == 0)
		*cl = c->clients[--c->nclients];
	if (!shared && c->excl_conns > 0)
		c->excl_conns--;
	pthread_cond_broadcast(&c->released);
	pthread_mutex_unlock(&c->lock);
}

/* Fencing. */

/*
 * Called locked: fences the older sessions of the slot; 1 if one of them
 * has not drained.
 */
static int
claims_fence(struct export_claims *c, struct export_slot *slot)
{
	struct export_slot *o;
	int busy = 0;

	LIST_FOREACH(o, &c->slots, entry) {
		if (o->gen >= slot->gen || o->conn != slot->conn ||
		    memcmp(o->id, slot->id, ND_CLIENT_ID_LEN) != 0)
			continue;
		if (!o->superseded)	/* it may be waiting to enter */
			pthread_cond_broadcast(&c->released);
		o->superseded = 1;
		o->fence(o);
		if (!o->drained(o))
			busy = 1;
	}
	return busy;
}

uint32_t
export_slot_enter(struct export *e, struct export_slot *slot, int wait_ms)
{
	struct export_claims *c = e->claims;
	struct timespec deadline;
	int busy, timedout = 0;

	deadline_after(&deadline, wait_ms);
	pthread_mutex_lock(&c->lock);
	slot->gen = ++c->slot_gen;
	slot->superseded = 0;
	LIST_INSERT_HEAD(&c->slots, slot, entry);
	while ((busy = slot->superseded || claims_fence(c, slot)) &&
	    !timedout && !slot->superseded)
		timedout = pthread_cond_timedwait(&c->released, &c->lock,
		    &deadline) != 0;
	if (busy)
		LIST_REMOVE(slot, entry);
	pthread_mutex_unlock(&c->lock);
	return busy ? ND_HS_RETRY : ND_HS_OK;
}

void
export_slot_leave(struct export *e, struct export_slot *slot)
{
	struct export_claims *c = e->claims;

	pthread_mutex_lock(&c->lock);
	LIST_REMOVE(slot, entry);
	pthread_cond_broadcast(&c->released);
	pthread_mutex_unlock(&c->lock);
}

void
export_slot_drained(struct export *e)
{
	struct export_claims *c = e->claims;

	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->released);
	pthread_mutex_unlock(&c->lock);
}

/* Opening. */

static int __attribute__((format(printf, 4, 5)))
export_err(const struct export *e, char *err, size_t errlen,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "export \"%s\": %s: %s", e->conf.name,
	    e->conf.path, msg);
	return -1;
}

static int
export_copy_conf(struct conf_export *dst, const struct conf_export *src)
{
	*dst = *src;
	memset(&dst->entry, 0, sizeof(dst->entry));
	dst->description = NULL;
	dst->allow = NULL;
	if ((dst->path = strdup(src->path)) == NULL)
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

static int
export_open_fd(struct export *e, char *err, size_t errlen)
{
	int flags = (e->conf.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	e->fd = open(e->conf.path, flags);
	if (e->fd == -1 && errno == ENOENT && !e->conf.readonly &&
	    e->conf.size > 0)
		e->fd = open(e->conf.path, flags | O_CREAT | O_EXCL, 0600);
	if (e->fd == -1 && errno == ENOENT && !e->conf.readonly)
		return export_err(e, err, errlen, "%s (set size to create it)",
		    strerror(errno));
	if (e->fd == -1)
		return export_err(e, err, errlen, "%s", strerror(errno));
	return 0;
}

/* Size of the store: have bytes now; grows a file to the configured size. */
static int
export_set_size(struct export *e, uint64_t have, char *err, size_t errlen)
{
	uint64_t want = e->conf.size;

	if (want == 0) {
		e->size = have - have % ND_MIN_BLOCK;
		if (e->size == 0)
			return export_err(e, err, errlen, "has %" PRIu64
			    " bytes: set size to create or grow it", have);
		return 0;
	}
	if (want % ND_MIN_BLOCK)
		return export_err(e, err, errlen, "size %" PRIu64
		    " is not a multiple of %d", want, ND_MIN_BLOCK);
	e->size = want;
	if (have >= want)
		return 0;
	if (e->blockdev || e->conf.readonly)
		return export_err(e, err, errlen, "has %" PRIu64 " bytes, "
		    "less than size %" PRIu64 "%s", have, want,
		    e->blockdev ? "" : " (a read-only export is not grown)");
	if (ftruncate(e->fd, (off_t)want) == -1)
		return export_err(e, err, errlen, "cannot grow to %" PRIu64
		    " bytes: %s", want, strerror(errno));
	return 0;
}

static int
export_open_store(struct export *e, char *err, size_t errlen)
{
	struct stat st;
	uint64_t have;

	if (export_open_fd(e, err, errlen) == -1)
		return -1;
	if (fstat(e->fd, &st) == -1)
		return export_err(e, err, errlen, "%s", strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		e->blockdev = 1;
		if (ioctl(e->fd, BLKGETSIZE64, &have) == -1)
			return export_err(e, err, errlen, "BLKGETSIZE64: %s",
			    strerror(errno));
	} else if (S_ISREG(st.st_mode))
		have = (uint64_t)st.st_size;
	else
		return export_err(e, err, errlen,
		    "not a regular file or block device");
	return export_set_size(e, have, err, errlen);
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

	if ((real = realpath(e->conf.path, NULL)) == NULL)
		return export_err(e, err, errlen, "%s", strerror(errno));
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
	if (e->fd != -1)
		close(e->fd);
	claims_put(e->claims);
	health_put(e->health);
	ratelim_destroy(&e->errlog);
	crypto_wipe(e->key, sizeof(e->key));
	crypto_wipe(e->conf.key, sizeof(e->conf.key));
	free(e->conf.path);
	free(e->conf.description);
	free(e->conf.allow);
	free(e);
}

static void
export_set_flags(struct export *e)
{
	e->flags = ND_FLAG_FLUSH | ND_FLAG_FUA | ND_FLAG_WRITE_ZEROES |
	    ND_FLAG_MULTI_CONN;
	if (e->conf.trim)
		e->flags |= ND_FLAG_TRIM;
	if (e->conf.readonly)
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
	e->fd = -1;
	atomic_init(&e->refs, 1);
	ratelim_init(&e->errlog, EXPORT_ERR_BURST, EXPORT_ERR_INTERVAL);
	snprintf(e->errwhat, sizeof(e->errwhat), "I/O errors on export \"%s\"",
	    ce->name);
	e->claims = prev ? prev->claims : claims_new();
	e->health = prev ? health_ref(prev->health) : health_new();
	if (prev)
		atomic_fetch_add(&e->claims->refs, 1);
	if (export_copy_conf(&e->conf, ce) == -1 || e->claims == NULL ||
	    e->health == NULL) {
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
	if (!e->conf.readonly)
		export_sync(e);
	log_debug("export \"%s\": closed", e->conf.name);
	export_free(e);
}

/* I/O. */

static void
export_ioerr_log(struct export *e, const char *op, uint64_t off,
    uint64_t len, int error)
{
	if (ratelim_pass(&e->errlog, e->errwhat))
		log_warnx("export \"%s\": %s of %" PRIu64 " bytes at %" PRIu64
		    " failed: %s", e->conf.name, op, len, off, strerror(error));
}

/* A read failed: only this request. */
static uint32_t
export_ioerr(struct export *e, const char *op, uint64_t off, uint64_t len,
    int error)
{
	export_ioerr_log(e, op, off, len, error);
	return ND_EIO;
}

static int
nospace(int error)
{
	return error == ENOSPC || error == EDQUOT;
}

/* Fail the export: logged once, when it happens. */
static uint32_t
export_fail(struct export *e, const char *op, int error)
{
	if (health_fail(e->health, error, op))
		log_warnx("export \"%s\": failed: %s: %s: FLUSH and FUA writes "
		    "fail until \"netdiskctl restart %s\"", e->conf.name, op,
		    strerror(error), e->conf.name);
	return ND_EIO;
}

/*
 * A write, trim or sync failed.  Running out of space while taking the
 * data (sync 0) fails only this request; anything else may have lost
 * data that was answered before, so it fails the export.
 */
static uint32_t
export_storerr(struct export *e, const char *op, uint64_t off,
    uint64_t len, int error, int sync)
{
	export_ioerr_log(e, op, off, len, error);
	if (nospace(error) && !sync)
		return ND_ENOSPC;
	return export_fail(e, op, error);
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

uint32_t
export_read(struct export *e, void *buf, uint32_t len, uint64_t off)
{
	uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pread(e->fd, p + done, len - done, (off_t)(off + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return export_ioerr(e, "read", off, len, errno);
		if (n == 0) {		/* the file shrank under us */
			memset(p + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return ND_OK;
}

int
export_read_cached(struct export *e, void *buf, uint32_t len, uint64_t off)
{
	struct iovec iov = { buf, len };
	ssize_t n;

	if (atomic_load(&e->no_rwf_nowait))
		return 0;
	n = preadv2(e->fd, &iov, 1, (off_t)off, RWF_NOWAIT);
	if (n == -1 && (errno == EOPNOTSUPP || errno == ENOSYS ||
	    errno == EINVAL))
		atomic_store(&e->no_rwf_nowait, 1);
	return n == (ssize_t)len;
}

/* pwrite, or pwritev2 with RWF_DSYNC: -1 with errno or bytes written. */
static ssize_t
export_pwrite(struct export *e, const void *buf, size_t len, uint64_t off,
    int dsync)
{
	struct iovec iov = { (void *)(uintptr_t)buf, len };

	if (!dsync)
		return pwrite(e->fd, buf, len, (off_t)off);
	return pwritev2(e->fd, &iov, 1, (off_t)off, RWF_DSYNC);
}

static int
export_write_all(struct export *e, const void *buf, size_t len,
    uint64_t off, int dsync)
{
	const uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = export_pwrite(e, p + done, len - done, off + done, dsync);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}

/*
 * A write with RWF_DSYNC failed with ENOSPC: while taking the data, or
 * while syncing it (the sync may have reported, and so used up, the
 * writeback error of earlier data).  Written again without the sync, the
 * data finds the space it took the first time: if that fails too, space
 * ran out before the data was taken.
 */
static uint32_t
export_dsync_nospace(struct export *e, const void *buf, uint32_t len,
    uint64_t off, int error)
{
	if (export_write_all(e, buf, len, off, 0) == -1)
		return export_storerr(e, "write", off, len, errno, 0);
	return export_storerr(e, "write", off, len, error, 1);
}

uint32_t
export_write(struct export *e, const void *buf, uint32_t len, uint64_t off,
    int fua)
{
	int dsync = fua && !atomic_load(&e->no_rwf_dsync);

	if (fua && health_failed(e->health))
		return ND_EIO;
	if (export_write_all(e, buf, len, off, dsync) == 0)
		return fua && !dsync ? export_flush(e) : ND_OK;
	if (dsync && (errno == EOPNOTSUPP || errno == ENOSYS ||
	    errno == EINVAL)) {
		atomic_store(&e->no_rwf_dsync, 1);
		if (export_write_all(e, buf, len, off, 0) == 0)
			return export_flush(e);
	} else if (dsync && nospace(errno))
		return export_dsync_nospace(e, buf, len, off, errno);
	return export_storerr(e, "write", off, len, errno, 0);
}

/* fdatasync, whatever the health: for the close of the store too. */
static uint32_t
export_sync(struct export *e)
{
	while (fdatasync(e->fd) == -1) {
		if (errno != EINTR)
			return export_storerr(e, "flush", 0, e->size, errno, 1);
	}
	return ND_OK;
}

uint32_t
export_flush(struct export *e)
{
	if (health_failed(e->health))
		return ND_EIO;
	return export_sync(e);
}

static int
unsupported(int error)
{
	return error == EOPNOTSUPP || error == ENOSYS || error == EINVAL ||
	    error == ENOTTY;
}

/* fallocate for files, the range ioctl for devices: 0 or -1 (errno). */
static int
export_range_op(struct export *e, int mode, unsigned long ioc,
    uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };
	int r;

	do {
		if (e->blockdev)
			r = ioctl(e->fd, ioc, range);
		else
			r = fallocate(e->fd, mode, (off_t)off, (off_t)len);
	} while (r == -1 && errno == EINTR);
	return r;
}

uint32_t
export_trim(struct export *e, uint64_t off, uint32_t len)
{
	if (atomic_load(&e->no_punch_hole))
		return ND_OK;		/* TRIM is advisory */
	if (export_range_op(e, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    BLKDISCARD, off, len) == 0)
		return ND_OK;
	if (unsupported(errno)) {
		atomic_store(&e->no_punch_hole, 1);
		return ND_OK;
	}
	return export_storerr(e, "trim", off, len, errno, 0);
}

static int
export_write_zeroes(struct export *e, uint64_t off, uint64_t len)
{
	size_t n;

	while (len > 0) {
		n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		if (export_write_all(e, zeroes, n, off, 0) == -1)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

/* Zero a range: ZERO_RANGE, then PUNCH_HOLE (files), then plain writes. */
static int
export_zero_range(struct export *e, uint64_t off, uint64_t len)
{
	if (!atomic_load(&e->no_zero_range)) {
		if (export_range_op(e, FALLOC_FL_ZERO_RANGE |
		    FALLOC_FL_KEEP_SIZE, BLKZEROOUT, off, len) == 0)
			return 0;
		if (!unsupported(errno))
			return -1;
		atomic_store(&e->no_zero_range, 1);
	}
	if (!e->blockdev && !atomic_load(&e->no_punch_hole)) {
		if (export_range_op(e, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, 0, off, len) == 0)
			return 0;
		if (!unsupported(errno))
			return -1;
		atomic_store(&e->no_punch_hole, 1);
	}
	return export_write_zeroes(e, off, len);
}

uint32_t
export_zero(struct export *e, uint64_t off, uint32_t len, int fua)
{
	if (fua && health_failed(e->health))
		return ND_EIO;
	if (export_zero_range(e, off, len) == -1)
		return export_storerr(e, "write zeroes", off, len, errno, 0);
	return fua ? export_flush(e) : ND_OK;
}
