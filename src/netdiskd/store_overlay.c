/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store_overlay.h"

#define OVL_STRIPES	64	/* allocation locks, by chunk number */
#define OVL_NO_QUOTA	UINT64_MAX

struct ovl_store {
	struct store base;		/* first */
	int fd;
	char *path;
	unsigned flags;			/* OVL_* */
	struct ovl_header hdr;
	struct ovl_map map;		/* states: __atomic_* */
	uint8_t *dirty;			/* per map block, __atomic_* */
	uint8_t *img;			/* a flush's encoded blocks */
	uint64_t *pending;		/* and their numbers */
	uint64_t quota;			/* chunks */
	uint64_t used;			/* DATA chunks + reserved, atomic */
	pthread_mutex_t flush_mtx;
	pthread_mutex_t stripe[OVL_STRIPES];
};

static struct ovl_store *
ovl_store(struct store *s)
{
	return (struct ovl_store *)s;
}

/* File I/O: 0, or -1 with errno. */

/* All of len bytes at off, read (pread) or written (pwrite). */
static int
ovl_io_all(int fd, uint8_t *p, size_t len, uint64_t off, int write)
{
	ssize_t n;

	while (len > 0) {
		n = write ? pwrite(fd, p, len, (off_t)off) :
		    pread(fd, p, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)	/* shorter than its format says */
				errno = EIO;
			return -1;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int
ovl_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return ovl_io_all(fd, buf, len, off, 0);
}

static int
ovl_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return ovl_io_all(fd, (uint8_t *)(uintptr_t)buf, len, off, 1);
}

static int
ovl_sync(int fd)
{
	while (fdatasync(fd) == -1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Chunks and their states. */

static uint64_t
chunk_len(const struct ovl_store *os, uint64_t c)
{
	uint64_t start = c * os->hdr.chunk;

	return os->base.size - start < os->hdr.chunk ?
	    os->base.size - start : os->hdr.chunk;
}

static uint64_t
data_off(const struct ovl_store *os, uint64_t off)
{
	return os->hdr.data_off + off;
}

static enum ovl_state
state_of(struct ovl_store *os, uint64_t c)
{
	return __atomic_load_n(&os->map.state[c], __ATOMIC_ACQUIRE);
}

/* The new state goes to disk with the next flush. */
static void
state_set(struct ovl_store *os, uint64_t c, enum ovl_state st)
{
	__atomic_store_n(&os->map.state[c], (uint8_t)st, __ATOMIC_RELEASE);
	__atomic_store_n(&os->dirty[c / OVL_PER_BLOCK], 1, __ATOMIC_RELEASE);
}

static pthread_mutex_t *
stripe_of(struct ovl_store *os, uint64_t c)
{
	return &os->stripe[c % OVL_STRIPES];
}

/* Quota: reserve n chunks before allocating them.  0, or -1 if over. */
static int
ovl_reserve(struct ovl_store *os, uint64_t n)
{
	uint64_t used = __atomic_load_n(&os->used, __ATOMIC_RELAXED);

	do {
		/* used may be over a quota lowered since the chunks came */
		if (used > os->quota || n > os->quota - used)
			return -1;
	} while (!__atomic_compare_exchange_n(&os->used, &used, used + n, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
	return 0;
}

static void
ovl_unreserve(struct ovl_store *os, uint64_t n)
{
	__atomic_fetch_sub(&os->used, n, __ATOMIC_ACQ_REL);
}

/*
 * The bytes from off, at most len, whose chunks all have the state of
 * off's chunk (*st).
 */
static uint64_t
ovl_run(struct ovl_store *os, uint64_t off, uint64_t len,
    enum ovl_state *st)
{
	uint64_t c = off / os->hdr.chunk;
	uint64_t n = (c + 1) * os->hdr.chunk - off;

	*st = state_of(os, c);
	while (n < len && state_of(os, ++c) == *st)
		n += os->hdr.chunk;
	return n < len ? n : len;
}

/* Reading. */

static int
ovl_pread(struct store *s, void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *f)
{
	struct ovl_store *os = ovl_store(s);
	uint8_t *p = buf;
	enum ovl_state st;
	uint64_t n;

	while (len > 0) {
		n = ovl_run(os, off, len, &st);
		if (st == OVL_ZERO)
			memset(p, 0, n);
		else if (st == OVL_BASE) {
			if (store_pread(s->inner, p, (uint32_t)n, off, flags,
			    f) == -1)
				return -1;
		} else if (flags & STORE_NOWAIT)	/* for a worker */
			return store_fail(f, EAGAIN, "read", off, n, 0);
		else if (ovl_pread_all(os->fd, p, n, data_off(os, off)) == -1)
			return store_fail(f, errno, "read", off, n, 0);
		p += n;
		off += n;
		len -= (uint32_t)n;
	}
	return 0;
}

/* Writing. */

/*
 * The first write to chunk c in state st (BASE or ZERO): the whole
 * chunk, the base's bytes or zeroes around n bytes of src (NULL:
 * zeroes) at coff, into the data area.  0, or -1 with errno.
 */
static int
ovl_copy_up(struct ovl_store *os, uint64_t c, enum ovl_state st,
    const uint8_t *src, uint64_t coff, uint64_t n)
{
	uint64_t clen = chunk_len(os, c), start = c * os->hdr.chunk;
	struct store_fault bf;
	uint8_t *buf;
	int r;

	if (src != NULL && coff == 0 && n == clen)
		return ovl_pwrite_all(os->fd, src, n, data_off(os, start));
	if ((buf = malloc(clen)) == NULL)
		return -1;
	if (st == OVL_ZERO)
		memset(buf, 0, clen);
	else if (store_pread(os->base.inner, buf, (uint32_t)clen, start, 0,
	    &bf) == -1) {
		free(buf);
		errno = bf.error;
		return -1;
	}
	if (src != NULL)
		memcpy(buf + coff, src, n);
	else
		memset(buf + coff, 0, n);
	r = ovl_pwrite_all(os->fd, buf, clen, data_off(os, start));
	free(buf);
	return r;
}

/* n bytes of src (NULL: zeroes) at off, in a DATA chunk. */
static int
ovl_data_write(struct ovl_store *os, const uint8_t *src, uint64_t n,
    uint64_t off)
{
	uint8_t *z;
	int r;

	if (src != NULL)
		return ovl_pwrite_all(os->fd, src, n, data_off(os, off));
	if ((z = calloc(1, n)) == NULL)
		return -1;
	r = ovl_pwrite_all(os->fd, z, n, data_off(os, off));
	free(z);
	return r;
}

/*
 * Allocates chunk c for a write of n bytes at off inside it, under the
 * chunk's lock, so that writers racing for one chunk copy it once: the
 * others find it DATA.  *res: chunks reserved for the request.
 */
static int
ovl_alloc(struct ovl_store *os, uint64_t c, const uint8_t *src,
    uint64_t n, uint64_t off, uint64_t *res)
{
	pthread_mutex_t *mtx = stripe_of(os, c);
	enum ovl_state st;
	int r = 0;

	pthread_mutex_lock(mtx);
	st = state_of(os, c);
	if (st == OVL_DATA)
		r = ovl_data_write(os, src, n, off);
	else if (st == OVL_ZERO && src == NULL)
		r = 0;			/* zeroes already */
	else if (*res == 0 && ovl_reserve(os, 1) == -1) {
		errno = ENOSPC;
		r = -1;
	} else {
		*res -= *res > 0;
		r = ovl_copy_up(os, c, st, src, off - c * os->hdr.chunk, n);
		if (r == 0)
			state_set(os, c, OVL_DATA);
		else
			ovl_unreserve(os, 1);
	}
	pthread_mutex_unlock(mtx);
	return r;
}

/* n bytes of src (NULL: zeroes) at off, inside chunk c. */
static int
ovl_write_chunk(struct ovl_store *os, uint64_t c, const uint8_t *src,
    uint64_t n, uint64_t off, uint64_t *res)
{
	if (state_of(os, c) == OVL_DATA)
		return ovl_data_write(os, src, n, off);
	return ovl_alloc(os, c, src, n, off, res);
}

/* Chunk c, whole, reads zeroes from now on; its data area is freed. */
static void
ovl_zero_chunk(struct ovl_store *os, uint64_t c)
{
	pthread_mutex_t *mtx = stripe_of(os, c);
	enum ovl_state st;

	pthread_mutex_lock(mtx);
	st = state_of(os, c);
	if (st != OVL_ZERO)
		state_set(os, c, OVL_ZERO);
	if (st == OVL_DATA) {
		ovl_unreserve(os, 1);
		/* Space only: the state reads zeroes whatever it does. */
		(void)fallocate(os->fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, (off_t)data_off(os, c *
		    os->hdr.chunk), (off_t)os->hdr.chunk);
	}
	pthread_mutex_unlock(mtx);
}

/* Is [off, off + n) all of chunk c? */
static int
whole_chunk(const struct ovl_store *os, uint64_t c, uint64_t off,
    uint64_t n)
{
	return off == c * os->hdr.chunk && n == chunk_len(os, c);
}

/* The chunks a write (src != NULL) or zeroing of the range allocates. */
static uint64_t
ovl_need(struct ovl_store *os, const void *src, uint64_t off, uint64_t len)
{
	uint64_t c, n, need = 0, end = off + len;
	enum ovl_state st;

	for (c = off / os->hdr.chunk; c * os->hdr.chunk < end; c++) {
		st = state_of(os, c);
		n = chunk_len(os, c);
		if (src != NULL)
			need += st != OVL_DATA;
		else if (st == OVL_BASE && (off > c * os->hdr.chunk ||
		    end < c * os->hdr.chunk + n))
			need++;
	}
	return need;
}

/*
 * Writes src (NULL: zeroes) to [off, off + len), chunk by chunk.  With
 * zeroes, whole chunks become ZERO.  A write that would take the chunks
 * past the quota fails with ENOSPC before it changes anything.
 */
static int
ovl_range(struct ovl_store *os, const uint8_t *src, uint32_t len,
    uint64_t off, const char *op, struct store_fault *f)
{
	uint64_t res = ovl_need(os, src, off, len), o = off, c, n, m;
	uint32_t left = len;
	enum ovl_state st = OVL_BASE;
	int r = 0;

	if (ovl_reserve(os, res) == -1)
		return store_fail(f, ENOSPC, op, off, len, 0);
	while (left > 0 && r == 0) {
		c = o / os->hdr.chunk;
		n = (c + 1) * os->hdr.chunk - o;
		n = n < left ? n : left;
		m = src != NULL ? ovl_run(os, o, left, &st) : 0;
		if (m > n && st == OVL_DATA) {	/* DATA chunks: one write */
			n = m;
			r = ovl_data_write(os, src + (o - off), n, o);
		} else if (src == NULL && whole_chunk(os, c, o, n))
			ovl_zero_chunk(os, c);
		else
			r = ovl_write_chunk(os, c, src != NULL ?
			    src + (o - off) : NULL, n, o, &res);
		o += n;
		left -= (uint32_t)n;
	}
	if (r == -1)
		r = store_fail(f, errno, op, off, len, 0);
	ovl_unreserve(os, res);
	return r;
}

static int
ovl_pwrite(struct store *s, const void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *f)
{
	(void)flags;
	return ovl_range(ovl_store(s), buf, len, off, "write", f);
}

/* Trim reads back zeroes too: never base data again. */
static int
ovl_trim(struct store *s, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *f)
{
	(void)flags;
	return ovl_range(ovl_store(s), NULL, len, off, "trim", f);
}

static int
ovl_zero(struct store *s, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *f)
{
	/* Zeroes are a state of the map, never written data. */
	if (flags & STORE_NO_HOLE)
		return store_fail(f, EOPNOTSUPP, "write zeroes", off, len, 0);
	return ovl_range(ovl_store(s), NULL, len, off, "write zeroes", f);
}

/* Flushing. */

/*
 * Encodes the dirty map blocks into os->img with sequence seq; returns
 * how many.  States set after a block is taken make it dirty again.
 */
static uint64_t
ovl_snapshot(struct ovl_store *os, uint64_t seq)
{
	uint64_t b, n = 0;

	for (b = 0; b < os->map.nblocks; b++) {
		if (!__atomic_exchange_n(&os->dirty[b], 0, __ATOMIC_ACQ_REL))
			continue;
		ovl_block_encode(&os->map, b, seq, os->img +
		    n * OVL_BLOCK_LEN);
		os->pending[n++] = b;
	}
	return n;
}

/* Writes the n encoded blocks, each to its older slot, and syncs. */
static int
ovl_write_blocks(struct ovl_store *os, uint64_t n)
{
	uint64_t i, b;

	for (i = 0; i < n; i++) {
		b = os->pending[i];
		if (ovl_pwrite_all(os->fd, os->img + i * OVL_BLOCK_LEN,
		    OVL_BLOCK_LEN, ovl_slot_off(&os->hdr, b,
		    !os->map.newer[b])) == -1)
			return -1;
	}
	if (n > 0 && ovl_sync(os->fd) == -1)
		return -1;
	for (i = 0; i < n; i++)
		os->map.newer[os->pending[i]] ^= 1;
	return 0;
}

/*
 * The map on disk is never ahead of the data: the states are taken
 * first (each set after its chunk's data was written), then the data is
 * synced, then the map blocks are written and synced.
 */
static int
ovl_flush(struct store *s, struct store_fault *f)
{
	struct ovl_store *os = ovl_store(s);
	uint64_t i, n;
	int error;

	pthread_mutex_lock(&os->flush_mtx);
	n = ovl_snapshot(os, ++os->map.seq);
	if (ovl_sync(os->fd) == 0 && ovl_write_blocks(os, n) == 0) {
		pthread_mutex_unlock(&os->flush_mtx);
		return 0;
	}
	error = errno;
	for (i = 0; i < n; i++)
		__atomic_store_n(&os->dirty[os->pending[i]], 1,
		    __ATOMIC_RELEASE);
	pthread_mutex_unlock(&os->flush_mtx);
	return store_fail(f, error, "flush", 0, s->size, 1);
}

/* Extents. */

struct ovl_extent_ctx {
	store_extent_fn *fn;
	void *arg;
	int stopped;
};

static int
ovl_base_extent(void *arg, uint64_t off, uint64_t len, int data)
{
	struct ovl_extent_ctx *x = arg;

	if (x->fn(x->arg, off, len, data) != 0) {
		x->stopped = 1;
		return -1;
	}
	return 0;
}

static int
ovl_extents(struct store *s, uint64_t off, uint64_t len,
    store_extent_fn *fn, void *arg, struct store_fault *f)
{
	struct ovl_store *os = ovl_store(s);
	struct ovl_extent_ctx x = { fn, arg, 0 };
	enum ovl_state st;
	uint64_t n;
	int r;

	for (; len > 0 && !x.stopped; off += n, len -= n) {
		n = ovl_run(os, off, len, &st);
		if (st == OVL_BASE && (s->inner->caps & STORE_CAN_EXTENTS)) {
			if (store_extents(s->inner, off, n, ovl_base_extent, &x,
			    f) == -1)
				return -1;
			continue;
		}
		r = fn(arg, off, n, st != OVL_ZERO);
		x.stopped = r != 0;
	}
	return 0;
}

/* Creating. */

int
overlay_sync_dir(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	int fd, r;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* Writes a new overlay's header and map, both slots of each block. */
static int
ovl_write_new(int fd, const struct ovl_header *h)
{
	uint8_t buf[OVL_BLOCK_LEN];
	struct ovl_map m;
	uint64_t b;
	int r = 0;

	ovl_header_encode(h, buf);
	if (ovl_pwrite_all(fd, buf, OVL_HDR_LEN, 0) == -1 ||
	    ovl_map_init(&m, h) == -1)
		return -1;
	for (b = 0; b < m.nblocks && r == 0; b++) {
		ovl_block_encode(&m, b, 1, buf);
		r = ovl_pwrite_all(fd, buf, OVL_BLOCK_LEN,
		    ovl_slot_off(h, b, 0));
		ovl_block_encode(&m, b, 0, buf);
		if (r == 0)
			r = ovl_pwrite_all(fd, buf, OVL_BLOCK_LEN,
			    ovl_slot_off(h, b, 1));
	}
	ovl_map_free(&m);
	if (r == 0 && ftruncate(fd, (off_t)ovl_file_size(h)) == -1)
		r = -1;
	return r == 0 ? fsync(fd) : -1;
}

/*
 * A new overlay at path, written whole under a temporary name and then
 * linked: a crash leaves no half-made overlay (at worst a PATH.new-*
 * file).  An overlay created meanwhile by someone else is kept.
 */
static int
ovl_create(const char *path, uint64_t size, uint32_t chunk,
    const struct ovl_base *base, char *err, size_t errlen)
{
	struct ovl_header h;
	struct timespec now;
	char tmp[4096], why[256];
	int fd, error;

	clock_gettime(CLOCK_REALTIME, &now);
	if (ovl_header_init(&h, size, chunk, base, (int64_t)now.tv_sec *
	    1000000000 + now.tv_nsec, why, sizeof(why)) == -1) {
		errno = EINVAL;
		return ovl_why(err, errlen, "%s", why);
	}
	snprintf(tmp, sizeof(tmp), "%s.new-XXXXXX", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return ovl_why(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
	if (ovl_write_new(fd, &h) == -1 ||
	    (link(tmp, path) == -1 && errno != EEXIST) ||
	    overlay_sync_dir(path) == -1) {
		error = errno;
		close(fd);
		unlink(tmp);
		errno = error;
		return ovl_why(err, errlen, "cannot create it: %s",
		    strerror(error));
	}
	close(fd);
	unlink(tmp);
	return 0;
}

/* Loading. */

/* Reads and checks the overlay open on fd: header, lengths, map. */
static int
ovl_load(int fd, struct ovl_header *h, struct ovl_map *m, char *err,
    size_t errlen)
{
	uint8_t hbuf[OVL_HDR_LEN], *img;
	struct stat st;
	size_t len;
	int r;

	memset(m, 0, sizeof(*m));
	if (fstat(fd, &st) == -1)
		return ovl_why(err, errlen, "%s", strerror(errno));
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return ovl_why(err, errlen, "not a regular file");
	}
	len = st.st_size < OVL_HDR_LEN ? (size_t)st.st_size : OVL_HDR_LEN;
	if (ovl_pread_all(fd, hbuf, len, 0) == -1)
		return ovl_why(err, errlen, "%s", strerror(errno));
	if (ovl_header_decode(h, hbuf, len, err, errlen) == -1 ||
	    (uint64_t)st.st_size < ovl_map_end(h))
		return ovl_image_decode(h, m, hbuf, len, (uint64_t)st.st_size,
		    err, errlen) == -1 ? (errno = EUCLEAN, -1) : -1;
	len = (size_t)ovl_map_end(h);
	if ((img = malloc(len)) == NULL || ovl_pread_all(fd, img, len, 0)) {
		free(img);
		return ovl_why(err, errlen, "reading its map: %s",
		    strerror(errno));
	}
	r = ovl_image_decode(h, m, img, len, (uint64_t)st.st_size, err,
	    errlen);
	free(img);
	if (r == -1)
		errno = EUCLEAN;
	return r;
}

/* Opening. */

static struct ovl_store *
ovl_free(struct ovl_store *os)
{
	int i;

	if (os == NULL)
		return NULL;
	if (os->fd != -1)
		close(os->fd);
	ovl_map_free(&os->map);
	free(os->dirty);
	free(os->img);
	free(os->pending);
	free(os->path);
	pthread_mutex_destroy(&os->flush_mtx);
	for (i = 0; i < OVL_STRIPES; i++)
		pthread_mutex_destroy(&os->stripe[i]);
	free(os);
	return NULL;
}

/* A failed open: err says why (naming path), errno is error. */
static struct store *__attribute__((format(printf, 7, 8)))
ovl_open_err(struct ovl_store *os, struct store *inner, const char *path,
    int error, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "overlay %s: %s", path, msg);
	ovl_free(os);
	store_close(inner);
	errno = error;
	return NULL;
}

static int
ovl_params_valid(const struct store_params *p, const struct store *inner,
    char *err, size_t errlen)
{
	const struct overlay_params *op = p->kind;

	if (inner == NULL)
		return ovl_why(err, errlen, "an overlay needs a base store");
	if (op == NULL || (op->flags & ~(unsigned)OVL_F_ALL))
		return ovl_why(err, errlen, "no or bad overlay parameters");
	if (p->readonly && (op->flags & (OVL_FRESH | OVL_UNLINK)))
		return ovl_why(err, errlen, "a read-only overlay is not "
		    "made fresh or removed");
	if (p->size != 0 && p->size != inner->size)
		return ovl_why(err, errlen, "size %" PRIu64 " is not the "
		    "base's %" PRIu64, p->size, inner->size);
	return 0;
}

/* Opens os->fd on p's path, creating the overlay as op says. */
static int
ovl_open_fd(struct ovl_store *os, const struct store_params *p,
    uint64_t size, char *err, size_t errlen)
{
	const struct overlay_params *op = p->kind;
	int flags = (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	if ((op->flags & OVL_FRESH) && unlink(p->path) == -1 &&
	    errno != ENOENT)
		return ovl_why(err, errlen, "cannot remove the old one: %s",
		    strerror(errno));
	os->fd = open(p->path, flags);
	if (os->fd == -1 && errno == ENOENT && (op->flags & OVL_CREATE) &&
	    !p->readonly) {
		if (ovl_create(p->path, size, op->chunk ? op->chunk :
		    OVL_CHUNK_DEFAULT, &op->base, err, errlen) == -1)
			return -1;
		os->fd = open(p->path, flags);
	}
	if (os->fd == -1)
		return ovl_why(err, errlen, "%s", strerror(errno));
	return 0;
}

/* What open sets up once the map is loaded. */
static int
ovl_setup(struct ovl_store *os, const struct overlay_params *op)
{
	os->dirty = calloc(os->map.nblocks, 1);
	os->img = malloc(os->map.nblocks * OVL_BLOCK_LEN);
	os->pending = calloc(os->map.nblocks, sizeof(*os->pending));
	if (os->dirty == NULL || os->img == NULL || os->pending == NULL)
		return -1;
	os->quota = op->quota ? op->quota / os->hdr.chunk : OVL_NO_QUOTA;
	os->used = ovl_map_count(&os->map, OVL_DATA);
	return 0;
}

static struct store *
ovl_open(const struct store_params *p, struct store *inner, char *err,
    size_t errlen)
{
	const struct overlay_params *op = p->kind;
	struct ovl_store *os;
	char why[512];
	int i;

	if (ovl_params_valid(p, inner, why, sizeof(why)) == -1)
		return ovl_open_err(NULL, inner, p->path, EINVAL, err, errlen,
		    "%s", why);
	if ((os = calloc(1, sizeof(*os))) == NULL ||
	    (os->path = strdup(p->path)) == NULL) {
		free(os);
		return ovl_open_err(NULL, inner, p->path, ENOMEM, err, errlen,
		    "out of memory");
	}
	os->fd = -1;
	os->flags = op->flags;
	pthread_mutex_init(&os->flush_mtx, NULL);
	for (i = 0; i < OVL_STRIPES; i++)
		pthread_mutex_init(&os->stripe[i], NULL);
	os->base = (struct store){ &store_overlay_ops, inner, inner->size,
	    STORE_CAN_FLUSH | STORE_CAN_EXTENTS |
	    (inner->caps & STORE_CAN_NOWAIT) | (p->readonly ? 0 :
	    STORE_CAN_WRITE | STORE_CAN_TRIM | STORE_CAN_ZERO) };
	if (ovl_open_fd(os, p, inner->size, why, sizeof(why)) == -1 ||
	    ovl_load(os->fd, &os->hdr, &os->map, why, sizeof(why)) == -1)
		return ovl_open_err(os, inner, p->path, errno, err, errlen,
		    "%s", why);
	if (os->hdr.size != inner->size)
		return ovl_open_err(os, inner, p->path, ESTALE, err, errlen,
		    "made on another base: size %" PRIu64 ", the base has %"
		    PRIu64, os->hdr.size, inner->size);
	if (!ovl_base_same(&os->hdr.base, &op->base, why, sizeof(why)))
		return ovl_open_err(os, inner, p->path, ESTALE, err, errlen,
		    "made on another base: %s", why);
	if (ovl_setup(os, op) == -1)
		return ovl_open_err(os, inner, p->path, ENOMEM, err, errlen,
		    "out of memory");
	return &os->base;
}

/* Syncs what was written; an ephemeral overlay is removed instead. */
static void
ovl_close(struct store *s)
{
	struct ovl_store *os = ovl_store(s);
	struct store_fault f;

	if (os->flags & OVL_UNLINK)
		unlink(os->path);
	else if (s->caps & STORE_CAN_WRITE)
		(void)ovl_flush(s, &f);
	store_close(s->inner);
	ovl_free(os);
}

const struct store_ops store_overlay_ops = {
	.name = "overlay",
	.open = ovl_open,
	.close = ovl_close,
	.pread = ovl_pread,
	.pwrite = ovl_pwrite,
	.flush = ovl_flush,
	.trim = ovl_trim,
	.zero = ovl_zero,
	.extents = ovl_extents,
	.submit = NULL,
};

/* For the administration. */

/* The identity in st; a block device's size is asked of fd. */
static int
ovl_base_of(const struct stat *st, int fd, uint64_t generation,
    struct ovl_base *b)
{
	b->dev = (uint64_t)st->st_dev;
	b->ino = (uint64_t)st->st_ino;
	b->size = (uint64_t)st->st_size;
	if (S_ISBLK(st->st_mode) &&	/* its size is not in st_size */
	    ioctl(fd, BLKGETSIZE64, &b->size) == -1)
		return -1;
	b->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec;
	b->generation = generation;
	return 0;
}

int
overlay_base_stat(const char *path, uint64_t generation,
    struct ovl_base *b)
{
	struct stat st;
	int fd, r, error;

	if (stat(path, &st) == -1)
		return -1;
	if (!S_ISBLK(st.st_mode))
		return ovl_base_of(&st, -1, generation, b);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	r = fstat(fd, &st) == -1 ? -1 : ovl_base_of(&st, fd, generation, b);
	error = errno;
	close(fd);
	errno = error;
	return r;
}

int
overlay_base_fstat(int fd, uint64_t generation, struct ovl_base *b)
{
	struct stat st;

	if (fstat(fd, &st) == -1)
		return -1;
	return ovl_base_of(&st, fd, generation, b);
}

int
overlay_info(const char *path, struct overlay_info *info, char *err,
    size_t errlen)
{
	struct ovl_map m;
	struct stat st;
	char why[512];
	int fd, r;

	memset(info, 0, sizeof(*info));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return ovl_why(err, errlen, "overlay %s: %s", path,
		    strerror(errno));
	r = ovl_load(fd, &info->hdr, &m, why, sizeof(why));
	if (r == 0 && fstat(fd, &st) == 0) {
		info->data_chunks = ovl_map_count(&m, OVL_DATA);
		info->zero_chunks = ovl_map_count(&m, OVL_ZERO);
		info->allocated = info->data_chunks * info->hdr.chunk;
		info->disk_bytes = (uint64_t)st.st_blocks * 512;
		info->mtime_ns = (int64_t)st.st_mtim.tv_sec * 1000000000 +
		    st.st_mtim.tv_nsec;
		info->repaired = m.repaired;
		ovl_map_free(&m);
	} else if (r == 0) {
		snprintf(why, sizeof(why), "%s", strerror(errno));
		ovl_map_free(&m);
		r = -1;
	}
	close(fd);
	if (r == -1)
		ovl_why(err, errlen, "overlay %s: %s", path, why);
	return r;
}

void
overlay_store_usage(struct store *s, uint64_t *allocated, uint64_t *quota)
{
	struct ovl_store *os;

	*allocated = *quota = 0;
	if (s == NULL || s->ops != &store_overlay_ops)
		return;
	os = ovl_store(s);
	*allocated = __atomic_load_n(&os->used, __ATOMIC_RELAXED) *
	    os->hdr.chunk;
	if (os->quota != OVL_NO_QUOTA)
		*quota = os->quota * os->hdr.chunk;
}
