/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>

#include "store.h"

int
store_fail(struct store_fault *f, int error, const char *op, uint64_t off,
    uint64_t len, int sync)
{
	f->error = error;
	f->op = op;
	f->off = off;
	f->len = len;
	f->sync = sync;
	return -1;
}

struct store *
store_open(const struct store_ops *ops, const struct store_params *p,
    struct store *inner, char *err, size_t errlen)
{
	return ops->open(p, inner, err, errlen);
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

int
store_pread(struct store *s, void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *f)
{
	if (flags & ~(unsigned)STORE_NOWAIT)
		return store_fail(f, EINVAL, "read", off, len, 0);
	if ((flags & STORE_NOWAIT) && !(s->caps & STORE_CAN_NOWAIT))
		return store_fail(f, EAGAIN, "read", off, len, 0);
	return s->ops->pread(s, buf, len, off, flags, f);
}

/* The checks of an operation that writes; 0 if it may go ahead. */
static int
store_may_write(struct store *s, unsigned flags, unsigned allowed,
    const char *op, uint64_t off, uint64_t len, struct store_fault *f)
{
	if (flags & ~allowed)
		return store_fail(f, EINVAL, op, off, len, 0);
	if (!(s->caps & STORE_CAN_WRITE))
		return store_fail(f, EROFS, op, off, len, 0);
	return 0;
}

/* FUA where the store has none: the operation (its result r), then a flush. */
static int
store_fua_emulated(struct store *s, int r, struct store_fault *f)
{
	return r == 0 ? s->ops->flush(s, f) : r;
}

int
store_pwrite(struct store *s, const void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *f)
{
	if (store_may_write(s, flags, STORE_FUA, "write", off, len, f) == -1)
		return -1;
	if ((flags & STORE_FUA) && !(s->caps & STORE_CAN_FUA))
		return store_fua_emulated(s, s->ops->pwrite(s, buf, len, off,
		    flags & ~(unsigned)STORE_FUA, f), f);
	return s->ops->pwrite(s, buf, len, off, flags, f);
}

int
store_flush(struct store *s, struct store_fault *f)
{
	return s->ops->flush(s, f);
}

int
store_trim(struct store *s, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *f)
{
	if (store_may_write(s, flags, 0, "trim", off, len, f) == -1)
		return -1;
	if (!(s->caps & STORE_CAN_TRIM))
		return 0;		/* advisory */
	return s->ops->trim(s, off, len, flags, f);
}

int
store_zero(struct store *s, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *f)
{
	if (store_may_write(s, flags, STORE_FUA | STORE_NO_HOLE | STORE_FAST,
	    "write zeroes", off, len, f) == -1)
		return -1;
	if ((flags & STORE_FAST) && !(s->caps & STORE_CAN_ZERO))
		return store_fail(f, EOPNOTSUPP, "write zeroes", off, len, 0);
	if ((flags & STORE_FUA) && !(s->caps & STORE_CAN_FUA))
		return store_fua_emulated(s, s->ops->zero(s, off, len,
		    flags & ~(unsigned)STORE_FUA, f), f);
	return s->ops->zero(s, off, len, flags, f);
}

int
store_extents(struct store *s, uint64_t off, uint64_t len,
    store_extent_fn *fn, void *arg, struct store_fault *f)
{
	if (!(s->caps & STORE_CAN_EXTENTS))
		return store_fail(f, EOPNOTSUPP, "extents", off, len, 0);
	return s->ops->extents(s, off, len, fn, arg, f);
}

/* The default asynchronous path: the synchronous operation, at once. */
static int
store_run(struct store *s, struct store_req *r)
{
	struct store_fault *f = &r->fault;

	switch (r->cmd) {
	case STORE_READ:
		return store_pread(s, r->buf, r->len, r->off, r->flags, f);
	case STORE_WRITE:
		return store_pwrite(s, r->buf, r->len, r->off, r->flags, f);
	case STORE_FLUSH:
		return store_flush(s, f);
	case STORE_TRIM:
		return store_trim(s, r->off, r->len, r->flags, f);
	case STORE_ZERO:
		return store_zero(s, r->off, r->len, r->flags, f);
	}
	return store_fail(f, EINVAL, "submit", r->off, r->len, 0);
}

int
store_submit(struct store *s, struct store_req *r)
{
	if (s->ops->submit != NULL)
		return s->ops->submit(s, r);
	r->result = store_run(s, r);
	r->done(r);
	return 0;
}
