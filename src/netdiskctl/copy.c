/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl copy SRC DST: a local file or block device and a netdisk
 * export, either way round (or two exports, or two local files), with
 * many requests in flight.  All-zero chunks become WRITE_ZEROES or holes.
 * A source export that answers block status (ND_FLAG_BLOCK_STATUS, or
 * NBD's base:allocation) gets one more connection for the queries: the
 * copy walks its extents ahead of the reads and does not read what reads
 * as zeroes, which becomes a zero chunk as if it had been read.
 */
#include "config.h"

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <linux/fs.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "connect.h"
#include "copy.h"
#include "crypto.h"
#include "output.h"
#include "pipe.h"
#include "pool.h"
#include "request.h"
#include "util.h"
#include "warn.h"

#define COPY_DEFAULT_QD		16
#define COPY_DEFAULT_BS		(1U << 20)
#define COPY_MAX_BS		(64U << 20)
#define COPY_PROGRESS_NS	250000000	/* four updates a second */
#define COPY_EXTENTS		1024		/* of the source, known at once */
#define COPY_QUERY_LEN		(1U << 30)	/* bytes a query asks about */
/* Seconds for the query's connection; without it the copy reads all. */
#define COPY_QUERY_TIMEOUT	5
#define COPY_ZERO_MAX		(1U << 30)	/* one zero chunk without a buffer */

/*
 * The source's extents, as its block status query tells them: map[i]
 * from at, cursor i; nothing to ask unless the query connection is open.
 */
struct copy_map {
	struct client query;
	int open;
	struct extent map[COPY_EXTENTS];
	size_t n, i;
	uint64_t at;
};

struct copy_end {
	const char *name;	/* as given on the command line */
	int is_uri;
	struct client c;
	struct ctl_pipe pipe;
	int piped;
	int fd;			/* local file or block device */
	int blockdev;
	uint64_t size;
	uint64_t old_size;	/* local destination before it was extended */
};

struct copy {
	struct copy_end src, dst;
	struct copy_map map;
	uint64_t size;		/* bytes to copy */
	uint64_t main_end;	/* the pipelined part; the rest is the tail */
	uint32_t bs;
	unsigned qd;
	int progress;		/* -1: only when stderr is a terminal */
	struct ctl_args args;
	struct ctl_pool pool;
	pthread_mutex_t lock;
	atomic_int err;		/* the first failure's exit code */
	atomic_uint_fast64_t done;	/* bytes copied so far */
	atomic_int stop_progress;
	pthread_t progress_thread;
};

static uint32_t
block_of(const struct copy_end *e)
{
	return e->is_uri ? e->c.info.min_block : 1;
}

/* Records the first failure; print() reports it, later ones stay quiet. */
static void
copy_fail_code(struct copy *cp, int code)
{
	int zero = 0;

	atomic_compare_exchange_strong(&cp->err, &zero, code);
}

static void
copy_fail_request(struct copy *cp, struct copy_end *e, struct ctl_slot *s,
    const char *cmd)
{
	int r = (int)s->error;

	pthread_mutex_lock(&cp->lock);
	if (atomic_load(&cp->err) == 0) {
		if (s->error == CTL_ECONN) {
			errno = e->pipe.err;
			r = -1;
		}
		copy_fail_code(cp, ctl_request_fail(&e->c, cmd, s->offset,
		    s->length, r));
	}
	pthread_mutex_unlock(&cp->lock);
}

static void
copy_fail_local(struct copy *cp, const char *name)
{
	int saved = errno;

	pthread_mutex_lock(&cp->lock);
	if (atomic_load(&cp->err) == 0) {
		errno = saved;
		ctl_warn("%s", name);
		copy_fail_code(cp, CLIENT_ERR_IO);
	}
	pthread_mutex_unlock(&cp->lock);
}

static void
copy_finish(struct copy *cp, struct ctl_slot *s, int ok)
{
	if (ok)
		atomic_fetch_add(&cp->done, s->length);
	ctl_pool_put(&cp->pool, s);
}

static int
is_zero(const uint8_t *buf, size_t len)
{
	return len == 0 || (buf[0] == 0 && memcmp(buf, buf + 1, len - 1) == 0);
}

/* Local I/O. */

static int
pread_full(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pread(fd, buf, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == 0)
			errno = ENODATA;	/* the source shrank */
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

static int
pwrite_full(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	ssize_t n;

	while (len > 0) {
		n = pwrite(fd, buf, len, (off_t)off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * A zero chunk on a local destination: past the file's old end it is
 * already a hole; inside, punch one, or write the zeros (from s->buf, of
 * bs bytes, zeroed here: a zero chunk the source's extents told of may be
 * longer).
 */
static int
local_zero(struct copy *cp, struct copy_end *d, struct ctl_slot *s)
{
	uint64_t off = s->offset, end = s->offset + s->length;
	uint32_t n;

	if (!d->blockdev && s->offset >= d->old_size)
		return 0;
	if (!d->blockdev && fallocate(d->fd, FALLOC_FL_PUNCH_HOLE |
	    FALLOC_FL_KEEP_SIZE, (off_t)s->offset, (off_t)s->length) == 0)
		return 0;
	memset(s->buf, 0, s->length < cp->bs ? s->length : cp->bs);
	for (; off < end; off += n) {
		n = end - off < cp->bs ? (uint32_t)(end - off) : cp->bs;
		if (pwrite_full(d->fd, s->buf, n, off) == -1)
			return -1;
	}
	return 0;
}

static int
local_write(struct copy *cp, struct copy_end *d, struct ctl_slot *s,
    int zero)
{
	if (!zero && !is_zero(s->buf, s->length))
		return pwrite_full(d->fd, s->buf, s->length, s->offset);
	return local_zero(cp, d, s);
}

/*
 * Send the chunk on to the destination: the source's data in s->buf, or,
 * if zero, a chunk the source's extents say reads as zeroes (not read;
 * as long as the destination takes in one request, zero_len()).
 */
static void
copy_dispatch(struct copy *cp, struct ctl_slot *s, int zero)
{
	struct copy_end *d = &cp->dst;

	if (d->is_uri) {
		s->flags = 0;
		s->type = ND_CMD_WRITE;
		if (zero && !(d->c.info.flags & ND_FLAG_WRITE_ZEROES))
			memset(s->buf, 0, s->length);
		if ((d->c.info.flags & ND_FLAG_WRITE_ZEROES) &&
		    (zero || is_zero(s->buf, s->length)))
			s->type = ND_CMD_WRITE_ZEROES;
		ctl_pipe_submit(&d->pipe, s);
		return;
	}
	if (local_write(cp, d, s, zero) == -1) {
		copy_fail_local(cp, d->name);
		copy_finish(cp, s, 0);
		return;
	}
	copy_finish(cp, s, 1);
}

static void
src_done(struct ctl_pipe *p, struct ctl_slot *s, void *arg)
{
	struct copy *cp = arg;

	if (s->error != ND_OK)
		copy_fail_request(cp, &cp->src, s, "read");
	if (s->error != ND_OK || atomic_load(&cp->err) != 0) {
		copy_finish(cp, s, 0);
		return;
	}
	copy_dispatch(cp, s, 0);
}

static void
dst_done(struct ctl_pipe *p, struct ctl_slot *s, void *arg)
{
	struct copy *cp = arg;

	if (s->error != ND_OK)
		copy_fail_request(cp, &cp->dst, s,
		    s->type == ND_CMD_WRITE ? "write" : "zero");
	copy_finish(cp, s, s->error == ND_OK);
}

/* The block both ends' offsets and lengths are multiples of. */
static uint32_t
copy_block(const struct copy *cp)
{
	return block_of(&cp->src) > block_of(&cp->dst) ?
	    block_of(&cp->src) : block_of(&cp->dst);
}

/* Ask the source about the extents from off on. */
static int
map_fill(struct copy *cp, uint64_t off)
{
	struct copy_map *m = &cp->map;
	uint64_t left = cp->main_end - off;
	uint32_t len = left < COPY_QUERY_LEN ? (uint32_t)left : COPY_QUERY_LEN;
	int r;

	r = client_block_status(&m->query, off, len, m->map, COPY_EXTENTS,
	    &m->n);
	if (r == -1)
		return ctl_request_fail(&m->query, "block status", off, len, r);
	if (r != ND_OK) {		/* read it all, as without the query */
		m->map[0] = (struct extent){ .length = len, .flags = 0 };
		m->n = 1;
	}
	m->i = 0;
	m->at = off;
	return CLIENT_OK;
}

/* The extent of the source that holds off, in m->map[m->i]. */
static int
map_find(struct copy *cp, uint64_t off)
{
	struct copy_map *m = &cp->map;

	while (m->i < m->n && off - m->at >= m->map[m->i].length)
		m->at += m->map[m->i++].length;
	if (m->i < m->n)
		return CLIENT_OK;
	return map_fill(cp, off);
}

/*
 * The run of the source from off (a multiple of the block) up to
 * main_end that is all data or all zeroes, in whole blocks: a block only
 * part of which reads as zeroes is data.  Without a query, all is data.
 */
static int
src_run(struct copy *cp, uint64_t off, uint64_t *len, int *zero)
{
	uint64_t blk = copy_block(cp), end;
	const struct extent *e;
	int r;

	*zero = 0;
	*len = cp->main_end - off;
	if (!cp->map.open)
		return CLIENT_OK;
	if ((r = map_find(cp, off)) != CLIENT_OK)
		return r;
	e = &cp->map.map[cp->map.i];
	end = cp->map.at + e->length;
	*zero = (e->flags & ND_EXTENT_ZERO) != 0;
	end = *zero ? end / blk * blk : (end + blk - 1) / blk * blk;
	if (end <= off) {
		*zero = 0;
		end = off + blk;
	}
	if (end < cp->main_end)
		*len = end - off;
	return CLIENT_OK;
}

/* How much of a zero run one chunk takes without a buffer. */
static uint64_t
zero_len(const struct copy *cp)
{
	if (cp->dst.is_uri && !(cp->dst.c.info.flags & ND_FLAG_WRITE_ZEROES))
		return cp->bs;
	return COPY_ZERO_MAX;
}

/* The pipelined part: every whole chunk up to main_end. */
static void
copy_main(struct copy *cp)
{
	struct ctl_slot *s;
	uint64_t off, run;
	uint32_t n;
	int r, zero;

	for (off = 0; off < cp->main_end; off += n) {
		if ((r = src_run(cp, off, &run, &zero)) != CLIENT_OK) {
			copy_fail_code(cp, r);
			break;
		}
		n = run < (zero ? zero_len(cp) : cp->bs) ? (uint32_t)run :
		    (uint32_t)(zero ? zero_len(cp) : cp->bs);
		s = ctl_pool_get(&cp->pool);
		if (atomic_load(&cp->err) != 0) {
			ctl_pool_put(&cp->pool, s);
			break;
		}
		s->offset = off;
		s->length = n;
		s->type = ND_CMD_READ;
		s->flags = 0;
		if (zero)
			copy_dispatch(cp, s, 1);
		else if (cp->src.is_uri)
			ctl_pipe_submit(&cp->src.pipe, s);
		else if (pread_full(cp->src.fd, s->buf, n, off) == 0)
			copy_dispatch(cp, s, 0);
		else {
			copy_fail_local(cp, cp->src.name);
			copy_finish(cp, s, 0);
		}
	}
	ctl_pool_drain(&cp->pool);
}

/* Progress on stderr. */

static void
progress_line(struct copy *cp, int64_t start, int final)
{
	uint64_t done = atomic_load(&cp->done);
	double secs = (double)(mono_ns() - start) / 1e9;
	double rate = secs > 0 ? (double)done / secs : 0;
	double eta = rate > 0 ? (double)(cp->size - done) / rate : 0;
	char h1[32], h2[32];
	int pct = cp->size ? (int)(done * 100 / cp->size) : 100;

	fprintf(stderr, "\r%3d%% %s / %s, %.1f MB/s, ETA %d:%02d   %s", pct,
	    ctl_human(done, h1, sizeof(h1)), ctl_human(cp->size, h2,
	    sizeof(h2)), rate / 1e6, (int)eta / 60, (int)eta % 60,
	    final ? "\n" : "");
	fflush(stderr);
}

static void *
progress_main(void *arg)
{
	struct copy *cp = arg;
	struct timespec ts = { 0, COPY_PROGRESS_NS };
	int64_t start = mono_ns();

	while (!atomic_load(&cp->stop_progress)) {
		progress_line(cp, start, 0);
		nanosleep(&ts, NULL);
	}
	progress_line(cp, start, 1);
	return NULL;
}

static void
progress_start(struct copy *cp)
{
	if (cp->progress == -1)
		cp->progress = isatty(STDERR_FILENO) == 1;
	if (cp->progress &&
	    pthread_create(&cp->progress_thread, NULL, progress_main, cp) != 0)
		cp->progress = 0;
}

static void
progress_stop(struct copy *cp)
{
	if (cp->progress != 1)
		return;
	atomic_store(&cp->stop_progress, 1);
	pthread_join(cp->progress_thread, NULL);
}

/* Opening both ends. */

static int
local_size(struct copy_end *e, const struct stat *st)
{
	uint64_t size;

	if (S_ISREG(st->st_mode)) {
		e->size = (uint64_t)st->st_size;
		return 0;
	}
	if (!S_ISBLK(st->st_mode)) {
		ctl_warnx("%s: not a regular file or block device", e->name);
		return -1;
	}
	if (ioctl(e->fd, BLKGETSIZE64, &size) == -1) {
		ctl_warn("%s: BLKGETSIZE64", e->name);
		return -1;
	}
	e->blockdev = 1;
	e->size = size;
	return 0;
}

static int
open_local_src(struct copy_end *e)
{
	struct stat st;

	if ((e->fd = open(e->name, O_RDONLY | O_CLOEXEC)) == -1) {
		ctl_warn("%s", e->name);
		return CLIENT_ERR_IO;
	}
	if (fstat(e->fd, &st) == -1) {
		ctl_warn("%s", e->name);
		return CLIENT_ERR_IO;
	}
	return local_size(e, &st) == -1 ? CLIENT_ERR_IO : CLIENT_OK;
}

/* Existing files keep their data past the copy; new ones get holes. */
static int
open_local_dst(struct copy_end *e, uint64_t need)
{
	struct stat st;

	e->fd = open(e->name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (e->fd == -1 || fstat(e->fd, &st) == -1) {
		ctl_warn("%s", e->name);
		return CLIENT_ERR_IO;
	}
	if (local_size(e, &st) == -1)
		return CLIENT_ERR_IO;
	e->old_size = e->size;
	if (e->blockdev && e->size < need) {
		ctl_warnx("%s: block device is smaller than the source: "
		    "%" PRIu64 " < %" PRIu64 " bytes", e->name, e->size, need);
		return CLIENT_ERR_RANGE;
	}
	if (!e->blockdev && e->size < need &&
	    ftruncate(e->fd, (off_t)need) == -1) {
		ctl_warn("%s: cannot extend to %" PRIu64 " bytes", e->name,
		    need);
		return CLIENT_ERR_IO;
	}
	return CLIENT_OK;
}

static int
open_uri_dst(struct copy_end *e, const struct ctl_keys *keys, uint64_t need)
{
	int r;

	if ((r = ctl_open(e->name, keys, 0, &e->c)) != CLIENT_OK)
		return r;
	e->size = e->c.info.size;
	if (e->c.info.flags & ND_FLAG_READ_ONLY) {
		ctl_warnx("%s: export is read-only", e->c.peer);
		return CLIENT_ERR_READONLY;
	}
	if (e->size < need) {
		ctl_warnx("%s: destination export is smaller than the source: "
		    "%" PRIu64 " < %" PRIu64 " bytes", e->c.peer, e->size,
		    need);
		return CLIENT_ERR_RANGE;
	}
	return CLIENT_OK;
}

/*
 * The source's block status connection, if its server answers the
 * query; a server that does not (an older netdiskd, an NBD server
 * without base:allocation), or that takes no second connection within
 * COPY_QUERY_TIMEOUT (qemu-nbd without -e), is read in full.
 */
static int
open_query(struct copy *cp, const struct ctl_keys *keys)
{
	struct copy_map *m = &cp->map;

	if (ctl_open_opt(cp->src.name, keys, ND_OPT_READ_ONLY |
	    ND_OPT_BLOCK_STATUS, COPY_QUERY_TIMEOUT, 1, &m->query) !=
	    CLIENT_OK)
		return CLIENT_OK;
	m->open = 1;
	if (!(m->query.info.flags & ND_FLAG_BLOCK_STATUS) ||
	    m->query.info.size != cp->src.c.info.size) {
		client_close(&m->query);
		m->open = 0;
	}
	return CLIENT_OK;
}

static int
open_ends(struct copy *cp, const struct ctl_keys *keys)
{
	int r;

	if (cp->src.is_uri)
		r = ctl_open(cp->src.name, keys, ND_OPT_READ_ONLY, &cp->src.c);
	else
		r = open_local_src(&cp->src);
	if (r != CLIENT_OK)
		return r;
	if (cp->src.is_uri && (r = open_query(cp, keys)) != CLIENT_OK)
		return r;
	if (cp->src.is_uri)
		cp->src.size = cp->src.c.info.size;
	cp->size = cp->src.size;
	if (cp->dst.is_uri)
		return open_uri_dst(&cp->dst, keys, cp->size);
	return open_local_dst(&cp->dst, cp->size);
}

static int
open_all(struct copy *cp)
{
	const char *uris[2] = { cp->src.name, cp->dst.name };
	struct ctl_keys keys;
	int r;

	if (!cp->src.is_uri && !cp->dst.is_uri)
		return open_ends(cp, NULL);
	if ((r = ctl_load_keys(&cp->args, uris, 2, &keys)) == CLIENT_OK)
		r = open_ends(cp, &keys);
	crypto_wipe(&keys, sizeof(keys));
	return r;
}

static void
close_end(struct copy_end *e)
{
	if (e->is_uri)
		client_close(&e->c);
	else if (e->fd != -1)
		close(e->fd);
	e->fd = -1;
}

/* Chunk size: capped by what the exports take, whole blocks of both. */
static int
choose_bs(struct copy *cp)
{
	uint32_t blk = copy_block(cp);
	const struct copy_end *ends[2] = { &cp->src, &cp->dst };
	int i;

	if (cp->bs % blk != 0) {
		ctl_warnx("copy: --bs %u is not a multiple of the block size "
		    "%u", cp->bs, blk);
		return CLIENT_ERR_USAGE;
	}
	for (i = 0; i < 2; i++)
		if (ends[i]->is_uri && cp->bs > ends[i]->c.info.max_payload)
			cp->bs = ends[i]->c.info.max_payload;
	cp->bs -= cp->bs % blk;
	cp->main_end = cp->size - cp->size % blk;
	return CLIENT_OK;
}

/* The tail: less than a block of the exports involved. */

static int
tail_read(struct copy *cp, uint8_t *buf, uint64_t off, uint32_t len)
{
	struct copy_end *e = &cp->src;
	uint32_t blk = block_of(e), alen = (len + blk - 1) / blk * blk;
	int r;

	if (!e->is_uri) {
		if (pread_full(e->fd, buf, len, off) == 0)
			return CLIENT_OK;
		ctl_warn("%s", e->name);
		return CLIENT_ERR_IO;
	}
	if ((r = client_read(&e->c, off, alen, buf)) != 0)
		return ctl_request_fail(&e->c, "read", off, alen, r);
	return CLIENT_OK;
}

/* Read-modify-write of the destination's last, partial block. */
static int
tail_write(struct copy *cp, const uint8_t *data, uint64_t off, uint32_t len,
    uint8_t *blockbuf)
{
	struct copy_end *e = &cp->dst;
	uint32_t blk = block_of(e), alen = (len + blk - 1) / blk * blk;
	int r;

	if (!e->is_uri) {
		if (pwrite_full(e->fd, data, len, off) == 0)
			return CLIENT_OK;
		ctl_warn("%s", e->name);
		return CLIENT_ERR_IO;
	}
	if ((r = client_read(&e->c, off, alen, blockbuf)) != 0)
		return ctl_request_fail(&e->c, "read", off, alen, r);
	memcpy(blockbuf, data, len);
	if ((r = client_write(&e->c, off, alen, blockbuf, 0)) != 0)
		return ctl_request_fail(&e->c, "write", off, alen, r);
	return CLIENT_OK;
}

static int
copy_tail(struct copy *cp)
{
	uint64_t off = cp->main_end;
	uint32_t len = (uint32_t)(cp->size - off);
	uint8_t *buf;
	int r;

	if (len == 0)
		return CLIENT_OK;
	if ((buf = calloc(2, 8192)) == NULL) {
		ctl_warn("tail buffer");
		return CLIENT_ERR_INTERNAL;
	}
	r = tail_read(cp, buf, off, len);
	if (r == CLIENT_OK)
		r = tail_write(cp, buf, off, len, buf + 8192);
	if (r == CLIENT_OK)
		atomic_fetch_add(&cp->done, len);
	free(buf);
	return r;
}

static int
copy_sync(struct copy *cp)
{
	struct copy_end *d = &cp->dst;
	int r;

	if (!d->is_uri) {
		if (fdatasync(d->fd) == 0)
			return CLIENT_OK;
		ctl_warn("%s: fdatasync", d->name);
		return CLIENT_ERR_IO;
	}
	if (!(d->c.info.flags & ND_FLAG_FLUSH))
		return CLIENT_OK;
	if ((r = client_simple(&d->c, ND_CMD_FLUSH, 0, 0, 0)) != 0)
		return ctl_request_fail(&d->c, "flush", 0, 0, r);
	return CLIENT_OK;
}

/* Running it. */

static int
start_pipes(struct copy *cp)
{
	if (ctl_pool_init(&cp->pool, cp->qd, cp->bs) == -1) {
		ctl_warn("copy buffers (%u x %u bytes)", cp->qd, cp->bs);
		return CLIENT_ERR_INTERNAL;
	}
	if (cp->src.is_uri) {
		if (ctl_pipe_start(&cp->src.pipe, &cp->src.c, &cp->pool,
		    src_done, cp) == -1)
			goto fail;
		cp->src.piped = 1;
	}
	if (cp->dst.is_uri) {
		if (ctl_pipe_start(&cp->dst.pipe, &cp->dst.c, &cp->pool,
		    dst_done, cp) == -1)
			goto fail;
		cp->dst.piped = 1;
	}
	return CLIENT_OK;
fail:
	ctl_warn("copy threads");
	return CLIENT_ERR_INTERNAL;
}

static void
stop_pipes(struct copy *cp)
{
	if (cp->src.piped)
		ctl_pipe_stop(&cp->src.pipe);
	if (cp->dst.piped)
		ctl_pipe_stop(&cp->dst.pipe);
	cp->src.piped = cp->dst.piped = 0;
	ctl_pool_free(&cp->pool);
}

static int
copy_run(struct copy *cp)
{
	int r;

	if ((r = choose_bs(cp)) != CLIENT_OK)
		return r;
	if ((r = start_pipes(cp)) == CLIENT_OK) {
		progress_start(cp);
		copy_main(cp);
		r = atomic_load(&cp->err);
	}
	stop_pipes(cp);
	if (r == CLIENT_OK)
		r = copy_tail(cp);
	if (r == CLIENT_OK)
		r = copy_sync(cp);
	progress_stop(cp);
	return r;
}

/* Command line. */

static int
copy_opt(const struct ctl_cmd *cmd, struct copy *cp, int ch, char **argv)
{
	uint64_t v;
	long qd;

	switch (ch) {
	case 'q':
		if (ctl_parse_int("--qd", optarg, 1, ND_MAX_INFLIGHT, &qd))
			return CLIENT_ERR_USAGE;
		cp->qd = (unsigned)qd;
		return CLIENT_OK;
	case 'b':
		if (ctl_parse_size("--bs", optarg, &v) == -1)
			return CLIENT_ERR_USAGE;
		if (v == 0 || v > COPY_MAX_BS) {
			ctl_warnx("--bs \"%s\" must be from 1 to 64M", optarg);
			return CLIENT_ERR_USAGE;
		}
		cp->bs = (uint32_t)v;
		return CLIENT_OK;
	case 'p':
		cp->progress = 1;
		return CLIENT_OK;
	case 'P':
		cp->progress = 0;
		return CLIENT_OK;
	}
	return ctl_common_opt(cmd, ch, argv, &cp->args);
}

static int
copy_parse(const struct ctl_cmd *cmd, struct copy *cp, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS, CTL_SERVER_KEY_LONGOPT,
		{ "qd", required_argument, NULL, 'q' },
		{ "bs", required_argument, NULL, 'b' },
		{ "progress", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, r;

	while ((ch = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1)
		if ((r = copy_opt(cmd, cp, ch, argv)) != CLIENT_OK)
			return r;
	if ((r = ctl_operands(cmd, argc, 2)) != CLIENT_OK)
		return r;
	cp->src.name = argv[optind];
	cp->dst.name = argv[optind + 1];
	cp->src.is_uri = uri_is_uri(cp->src.name);
	cp->dst.is_uri = uri_is_uri(cp->dst.name);
	return CLIENT_OK;
}

static int
ctl_copy(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct copy *cp;
	int r;

	if ((cp = calloc(1, sizeof(*cp))) == NULL) {
		ctl_warn("copy");
		return CLIENT_ERR_INTERNAL;
	}
	cp->src.fd = cp->dst.fd = cp->src.c.fd = cp->dst.c.fd = -1;
	cp->qd = COPY_DEFAULT_QD;
	cp->bs = COPY_DEFAULT_BS;
	cp->progress = -1;
	pthread_mutex_init(&cp->lock, NULL);
	r = copy_parse(cmd, cp, argc, argv);
	if (r == CLIENT_OK && (r = open_all(cp)) == CLIENT_OK)
		r = copy_run(cp);
	if (cp->map.open)
		client_close(&cp->map.query);
	close_end(&cp->src);
	close_end(&cp->dst);
	pthread_mutex_destroy(&cp->lock);
	free(cp);
	return r;
}

const struct ctl_cmd ctl_copy_cmds[] = {
	{ "copy", ctl_copy, "[-k KEYFILE] [--server-key KEY] [--qd N] "
	    "[--bs SIZE] "
	    "[--progress | --no-progress] SRC DST" },
	{ NULL, NULL, NULL }
};
