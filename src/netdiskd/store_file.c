/* SPDX-License-Identifier: ISC */
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
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_file.h"

#define FILE_ZERO_CHUNK		(64 * 1024)

static const uint8_t zeroes[FILE_ZERO_CHUNK];

/* A range operation on the descriptor: 0, or -1 with errno. */
typedef int range_fn(int fd, uint64_t off, uint64_t len);

struct file_store {
	struct store base;		/* first */
	int fd;
	/*
	 * Decided at open, by what the path is.  A regular file: discard
	 * punches a hole (which reads back as zeroes), zeroout is
	 * FALLOC_FL_ZERO_RANGE, extents asks SEEK_DATA and SEEK_HOLE.  A
	 * block device: BLKDISCARD (which need not zero), BLKZEROOUT, and
	 * all of it is data.
	 */
	range_fn *discard, *zeroout;
	int discard_zeroes;
	int seek_holes;
	int growable;			/* ftruncate grows it */
	/* What the kernel or the filesystem turned out not to support. */
	atomic_int no_zero_range, no_discard, no_rwf_dsync, no_rwf_nowait;
};

static struct file_store *
file_store(struct store *s)
{
	return (struct file_store *)s;
}

static int
unsupported(int error)
{
	return error == EOPNOTSUPP || error == ENOSYS || error == EINVAL ||
	    error == ENOTTY;
}

static int
nospace(int error)
{
	return error == ENOSPC || error == EDQUOT;
}

/* Range operations of files and of block devices. */

static int
file_punch_hole(int fd, uint64_t off, uint64_t len)
{
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len);
}

static int
file_zero_range(int fd, uint64_t off, uint64_t len)
{
	return fallocate(fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
	    (off_t)off, (off_t)len);
}

static int
file_blkdiscard(int fd, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	return ioctl(fd, BLKDISCARD, range);
}

static int
file_blkzeroout(int fd, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	return ioctl(fd, BLKZEROOUT, range);
}

static int
file_range(struct file_store *fs, range_fn *fn, uint64_t off, uint64_t len)
{
	int r;

	do
		r = fn(fs->fd, off, len);
	while (r == -1 && errno == EINTR);
	return r;
}

/* Reading. */

/* 0 if all of it was read from the page cache, else -1 (EAGAIN). */
static int
file_pread_nowait(struct file_store *fs, void *buf, uint32_t len,
    uint64_t off, struct store_fault *f)
{
	struct iovec iov = { buf, len };
	ssize_t n;

	if (atomic_load(&fs->no_rwf_nowait))
		return store_fail(f, EAGAIN, "read", off, len, 0);
	n = preadv2(fs->fd, &iov, 1, (off_t)off, RWF_NOWAIT);
	if (n == (ssize_t)len)
		return 0;
	if (n == -1 && (errno == EOPNOTSUPP || errno == ENOSYS ||
	    errno == EINVAL))
		atomic_store(&fs->no_rwf_nowait, 1);
	return store_fail(f, EAGAIN, "read", off, len, 0);
}

static int
file_pread(struct store *s, void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *f)
{
	struct file_store *fs = file_store(s);
	uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;

	if (flags & STORE_NOWAIT)
		return file_pread_nowait(fs, buf, len, off, f);
	while (done < len) {
		n = pread(fs->fd, p + done, len - done, (off_t)(off + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return store_fail(f, errno, "read", off, len, 0);
		if (n == 0) {		/* the file shrank under us */
			memset(p + done, 0, len - done);
			break;
		}
		done += (size_t)n;
	}
	return 0;
}

/* Writing. */

/* pwrite, or pwritev2 with RWF_DSYNC: -1 with errno or bytes written. */
static ssize_t
file_pwrite_once(struct file_store *fs, const void *buf, size_t len,
    uint64_t off, int dsync)
{
	struct iovec iov = { (void *)(uintptr_t)buf, len };

	if (!dsync)
		return pwrite(fs->fd, buf, len, (off_t)off);
	return pwritev2(fs->fd, &iov, 1, (off_t)off, RWF_DSYNC);
}

static int
file_write_all(struct file_store *fs, const void *buf, size_t len,
    uint64_t off, int dsync)
{
	const uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = file_pwrite_once(fs, p + done, len - done, off + done,
		    dsync);
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

/* fdatasync, whatever happened before. */
static int
file_flush(struct store *s, struct store_fault *f)
{
	struct file_store *fs = file_store(s);

	while (fdatasync(fs->fd) == -1) {
		if (errno != EINTR)
			return store_fail(f, errno, "flush", 0, s->size, 1);
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
static int
file_dsync_nospace(struct file_store *fs, const void *buf, uint32_t len,
    uint64_t off, int error, struct store_fault *f)
{
	if (file_write_all(fs, buf, len, off, 0) == -1)
		return store_fail(f, errno, "write", off, len, 0);
	return store_fail(f, error, "write", off, len, 1);
}

/* FUA with RWF_DSYNC where the kernel has it, else a write and a sync. */
static int
file_pwrite(struct store *s, const void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *f)
{
	struct file_store *fs = file_store(s);
	int fua = (flags & STORE_FUA) != 0;
	int dsync = fua && !atomic_load(&fs->no_rwf_dsync);

	if (file_write_all(fs, buf, len, off, dsync) == 0)
		return fua && !dsync ? file_flush(s, f) : 0;
	if (dsync && (errno == EOPNOTSUPP || errno == ENOSYS ||
	    errno == EINVAL)) {
		atomic_store(&fs->no_rwf_dsync, 1);
		if (file_write_all(fs, buf, len, off, 0) == 0)
			return file_flush(s, f);
	} else if (dsync && nospace(errno))
		return file_dsync_nospace(fs, buf, len, off, errno, f);
	return store_fail(f, errno, "write", off, len, 0);
}

/* Trim is advisory: where the store cannot discard, it does nothing. */
static int
file_trim(struct store *s, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *f)
{
	struct file_store *fs = file_store(s);

	(void)flags;
	if (atomic_load(&fs->no_discard))
		return 0;
	if (file_range(fs, fs->discard, off, len) == 0)
		return 0;
	if (unsupported(errno)) {
		atomic_store(&fs->no_discard, 1);
		return 0;
	}
	return store_fail(f, errno, "trim", off, len, 0);
}

static int
file_write_zeroes(struct file_store *fs, uint64_t off, uint64_t len)
{
	size_t n;

	while (len > 0) {
		n = len < sizeof(zeroes) ? (size_t)len : sizeof(zeroes);
		if (file_write_all(fs, zeroes, n, off, 0) == -1)
			return -1;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Zero a range: zeroout, then a discard if that zeroes (files), then
 * plain writes.  0 or -1 with errno.
 */
/*
 * Zero the range: the zeroout call, else (unless STORE_NO_HOLE) a discard
 * that zeroes, else (unless STORE_FAST: EOPNOTSUPP) writing zeroes.
 */
static int
file_zero_out(struct file_store *fs, uint64_t off, uint64_t len,
    unsigned flags)
{
	if (!atomic_load(&fs->no_zero_range)) {
		if (file_range(fs, fs->zeroout, off, len) == 0)
			return 0;
		if (!unsupported(errno))
			return -1;
		atomic_store(&fs->no_zero_range, 1);
	}
	if (fs->discard_zeroes && !(flags & STORE_NO_HOLE) &&
	    !atomic_load(&fs->no_discard)) {
		if (file_range(fs, fs->discard, off, len) == 0)
			return 0;
		if (!unsupported(errno))
			return -1;
		atomic_store(&fs->no_discard, 1);
	}
	if (flags & STORE_FAST) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return file_write_zeroes(fs, off, len);
}

static int
file_zero(struct store *s, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *f)
{
	if (file_zero_out(file_store(s), off, len, flags) == -1)
		return store_fail(f, errno, "write zeroes", off, len, 0);
	return flags & STORE_FUA ? file_flush(s, f) : 0;
}

/* Allocation. */

/*
 * Where the next hole (data 0) or data (data 1) at or after off starts,
 * at most end; -1 with errno if the filesystem cannot say.
 */
static int64_t
file_seek(struct file_store *fs, uint64_t off, uint64_t end, int data)
{
	off_t r = lseek(fs->fd, (off_t)off, data ? SEEK_DATA : SEEK_HOLE);

	if (r == -1 && errno == ENXIO)	/* no data after off */
		return (int64_t)end;
	if (r == -1)
		return -1;
	return (uint64_t)r < end ? (int64_t)r : (int64_t)end;
}

static int
file_extents(struct store *s, uint64_t off, uint64_t len,
    store_extent_fn *fn, void *arg, struct store_fault *f)
{
	struct file_store *fs = file_store(s);
	uint64_t end = off + len;
	int64_t next;
	int data;

	if (!fs->seek_holes) {
		fn(arg, off, len, 1);
		return 0;
	}
	while (off < end) {
		if ((next = file_seek(fs, off, end, 1)) == -1)
			break;
		data = (uint64_t)next == off;
		if (data && (next = file_seek(fs, off, end, 0)) == -1)
			break;
		if ((uint64_t)next <= off)	/* the file changed */
			next = (int64_t)end;
		if (fn(arg, off, (uint64_t)next - off, data) != 0)
			return 0;
		off = (uint64_t)next;
	}
	if (off >= end)
		return 0;
	if (unsupported(errno)) {	/* no holes known: all data */
		fn(arg, off, end - off, 1);
		return 0;
	}
	return store_fail(f, errno, "extents", off, end - off, 0);
}

/* Opening. */

static struct store *__attribute__((format(printf, 5, 6)))
file_open_err(struct file_store *fs, const struct store_params *p,
    char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", p->path, msg);
	if (fs != NULL && fs->fd != -1)
		close(fs->fd);
	free(fs);
	return NULL;
}

/* Opens fs->fd, creating a missing file if it has a size to have. */
static int
file_open_fd(struct file_store *fs, const struct store_params *p)
{
	int flags = (p->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	fs->fd = open(p->path, flags);
	if (fs->fd == -1 && errno == ENOENT && !p->readonly && p->size > 0)
		fs->fd = open(p->path, flags | O_CREAT | O_EXCL, 0600);
	return fs->fd == -1 ? -1 : 0;
}

/*
 * What the path is, and its bytes now in have; sets fs's kind.  0, or -1
 * with why filled in.
 */
static int
file_kind(struct file_store *fs, uint64_t *have, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(fs->fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		*have = (uint64_t)st.st_size;
		fs->discard = file_punch_hole;
		fs->zeroout = file_zero_range;
		fs->discard_zeroes = fs->seek_holes = fs->growable = 1;
		return 0;
	}
	/* BLKDISCARD and BLKZEROOUT take whole sectors only. */
	fs->base.caps &= ~(unsigned)STORE_CAN_BYTES;
	if (!S_ISBLK(st.st_mode)) {
		snprintf(why, whylen, "not a regular file or block device");
		return -1;
	}
	if (ioctl(fs->fd, BLKGETSIZE64, have) == -1) {
		snprintf(why, whylen, "BLKGETSIZE64: %s", strerror(errno));
		return -1;
	}
	fs->discard = file_blkdiscard;
	fs->zeroout = file_blkzeroout;
	return 0;
}

/* The size of the store: have bytes now; grows a file to p's size. */
static struct store *
file_set_size(struct file_store *fs, const struct store_params *p,
    uint64_t have, char *err, size_t errlen)
{
	uint64_t want = p->size;

	if (want == 0) {
		fs->base.size = have - have % p->align;
		if (fs->base.size == 0)
			return file_open_err(fs, p, err, errlen, "has %" PRIu64
			    " bytes: set size to create or grow it", have);
		return &fs->base;
	}
	if (want % p->align)
		return file_open_err(fs, p, err, errlen, "size %" PRIu64
		    " is not a multiple of %" PRIu32, want, p->align);
	fs->base.size = want;
	if (have >= want)
		return &fs->base;
	if (!fs->growable || p->readonly)
		return file_open_err(fs, p, err, errlen, "has %" PRIu64
		    " bytes, less than size %" PRIu64 "%s", have, want,
		    !fs->growable ? "" :
		    " (a read-only export is not grown)");
	if (ftruncate(fs->fd, (off_t)want) == -1)
		return file_open_err(fs, p, err, errlen, "cannot grow to %"
		    PRIu64 " bytes: %s", want, strerror(errno));
	return &fs->base;
}

static struct store *
file_open(const struct store_params *p, struct store *inner, char *err,
    size_t errlen)
{
	struct file_store *fs;
	char why[128];
	uint64_t have = 0;

	if (inner != NULL) {
		store_close(inner);
		return file_open_err(NULL, p, err, errlen,
		    "a file store wraps no other store");
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return file_open_err(NULL, p, err, errlen, "out of memory");
	fs->base.ops = &store_file_ops;
	fs->base.caps = STORE_CAN_ALL;
	if (p->readonly)
		fs->base.caps &= ~(unsigned)STORE_CAN_WRITE;
	if (file_open_fd(fs, p) == -1)
		return file_open_err(fs, p, err, errlen, "%s%s",
		    strerror(errno), errno == ENOENT && !p->readonly ?
		    " (set size to create it)" : "");
	if (file_kind(fs, &have, why, sizeof(why)) == -1)
		return file_open_err(fs, p, err, errlen, "%s", why);
	return file_set_size(fs, p, have, err, errlen);
}

static void
file_close(struct store *s)
{
	struct file_store *fs = file_store(s);

	close(fs->fd);
	free(fs);
}

int
store_file_fd(struct store *s)
{
	if (s == NULL || s->ops != &store_file_ops) {
		errno = EINVAL;
		return -1;
	}
	return file_store(s)->fd;
}

const struct store_ops store_file_ops = {
	.name = "file",
	.open = file_open,
	.close = file_close,
	.pread = file_pread,
	.pwrite = file_pwrite,
	.flush = file_flush,
	.trim = file_trim,
	.zero = file_zero,
	.extents = file_extents,
	.submit = NULL,
};
