/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay_commit.h"
#include "store_overlay.h"

struct commit {
	struct store *s;
	int fd;
	uint8_t *buf;
	char *err;
	size_t errlen;
};

/* "what: strerror(error)" in err; returns -1 with errno error. */
static int
commit_fail(struct commit *c, int error, const char *what)
{
	snprintf(c->err, c->errlen, "%s: %s", what, strerror(error));
	errno = error;
	return -1;
}

static int
commit_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static size_t
commit_piece(size_t len, size_t i)
{
	return len - i < COMMIT_HOLE ? len - i : COMMIT_HOLE;
}

/*
 * Write what of buf (len bytes, of the image at off) is not zeroes: each
 * run of pieces with data in one pwrite, the zero pieces left as holes.
 */
static int
commit_write(struct commit *c, size_t len, uint64_t off)
{
	size_t i = 0, start, n;
	ssize_t w;

	while (i < len) {
		while (i < len && commit_zero(c->buf + i, commit_piece(len, i)))
			i += commit_piece(len, i);
		for (start = i; i < len &&
		    !commit_zero(c->buf + i, commit_piece(len, i));)
			i += commit_piece(len, i);
		for (n = 0; n < i - start; n += (size_t)w) {
			w = pwrite(c->fd, c->buf + start + n, i - start - n,
			    (off_t)(off + start + n));
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w <= 0) {
				if (w == 0)	/* a regular file: no space */
					errno = ENOSPC;
				return -1;
			}
		}
	}
	return 0;
}

/* The whole store into c->fd, then the length and a sync. */
static int
commit_copy(struct commit *c, const char *tmp, commit_progress_fn *progress,
    void *arg)
{
	struct store_fault f;
	uint64_t off, size = c->s->size;
	uint32_t n;

	for (off = 0; off < size; off += n) {
		n = size - off < COMMIT_BLOCK ? (uint32_t)(size - off) :
		    COMMIT_BLOCK;
		if (progress != NULL && progress(arg, off, size) == -1)
			return commit_fail(c, ECANCELED, tmp);
		if (store_pread(c->s, c->buf, n, off, 0, &f) == -1) {
			snprintf(c->err, c->errlen, "reading the overlay at "
			    "%llu: %s", (unsigned long long)f.off,
			    strerror(f.error));
			errno = f.error;
			return -1;
		}
		if (commit_write(c, n, off) == -1)
			return commit_fail(c, errno, tmp);
	}
	if (ftruncate(c->fd, (off_t)size) == -1 || fsync(c->fd) == -1)
		return commit_fail(c, errno, tmp);
	if (progress != NULL)
		(void)progress(arg, size, size);
	return 0;
}

/* Give the finished temporary file its name, which must be free. */
static int
commit_link(struct commit *c, const char *tmp, const char *path)
{
	if (link(tmp, path) == -1)
		return commit_fail(c, errno, path);
	(void)unlink(tmp);	/* the name holds it: only a leftover */
	if (overlay_sync_dir(path) == -1)
		return commit_fail(c, errno, path);
	return 0;
}

int
commit_image(struct store *s, const char *path, commit_progress_fn *progress,
    void *arg, char *err, size_t errlen)
{
	struct commit c = { s, -1, NULL, err, errlen };
	char tmp[PATH_MAX];
	struct stat st;
	int r = -1, saved;

	if (lstat(path, &st) == 0)
		return commit_fail(&c, EEXIST, path);
	if (errno != ENOENT)
		return commit_fail(&c, errno, path);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >=
	    (int)sizeof(tmp))
		return commit_fail(&c, ENAMETOOLONG, path);
	if (posix_memalign((void **)&c.buf, 4096, COMMIT_BLOCK) != 0)
		return commit_fail(&c, ENOMEM, path);
	if ((c.fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		commit_fail(&c, errno, tmp);
		goto out;
	}
	r = commit_copy(&c, tmp, progress, arg);
	saved = errno;
	if (close(c.fd) == -1 && r == 0) {
		r = commit_fail(&c, errno, tmp);
		saved = errno;
	}
	if (r == 0)
		r = commit_link(&c, tmp, path);
	else
		errno = saved;
	if (r == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
	}
out:
	free(c.buf);
	return r;
}
