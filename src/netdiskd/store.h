/* SPDX-License-Identifier: ISC */
/*
 * A store: where an export's blocks live, behind a table of operations in
 * the spirit of nbdkit's backends.  The export (export.c) knows a store
 * only through these operations and its capabilities; which kind of store
 * it is (a regular file, a block device, later an overlay) is the store's
 * business.  A new kind of store is a new file with a struct store_ops.
 *
 * Errors: an operation returns 0, or -1 and fills a struct store_fault
 * (the errno, what failed and where, and whether a sync failed).  The
 * store neither logs nor keeps failures: the export does both (health.h),
 * for any store.
 *
 * Layering: a store may wrap another.  The wrapper's open gets the inner
 * store (it owns it from then on, also when the open fails), keeps it in
 * its struct store's inner, and its operations call the inner store
 * through store_pread() and the others for what they do not handle
 * themselves; its close closes the inner store.  The overlay store of the
 * next issue wraps the base store this way, as an nbdkit filter wraps the
 * next backend.
 *
 * Threads: the I/O operations may run on any number of threads at once;
 * open and close on one.
 */
#ifndef STORE_H
#define STORE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Capabilities of an open store (struct store's caps): it may write
 * (pwrite, trim, zero); flush makes writes durable; it does STORE_FUA
 * itself (else store_pwrite and store_zero add a flush); trim may free
 * space (else it does nothing); zero is cheaper than writing zeroes;
 * extents tells holes from data; pread may take STORE_NOWAIT; every
 * operation takes any offset and length, not only multiples of 512.
 */
#define STORE_CAN_WRITE		0x0001
#define STORE_CAN_FLUSH		0x0002
#define STORE_CAN_FUA		0x0004
#define STORE_CAN_TRIM		0x0008
#define STORE_CAN_ZERO		0x0010
#define STORE_CAN_EXTENTS	0x0020
#define STORE_CAN_NOWAIT	0x0040
#define STORE_CAN_BYTES		0x0080
#define STORE_CAN_ALL		0x00ff

/*
 * Flags of an operation; a bit that is unknown, or that the operation
 * does not take, fails it with EINVAL.  STORE_FUA (pwrite, zero): durable
 * when done.  STORE_NOWAIT (pread): only if it does not block.
 * STORE_NO_HOLE (zero): the range stays allocated (no hole punched).
 * STORE_FAST (zero): fail with EOPNOTSUPP rather than write zeroes.
 */
#define STORE_FUA		0x0001
#define STORE_NOWAIT		0x0002
#define STORE_NO_HOLE		0x0004
#define STORE_FAST		0x0008
#define STORE_F_ALL		0x000f

struct store;

/* What an operation that failed reports. */
struct store_fault {
	int error;			/* errno */
	/* "read", "write", "flush", "trim", "write zeroes", "extents" */
	const char *op;
	uint64_t off, len;		/* the range that failed */
	/*
	 * 1: syncing data failed, so data answered before may be lost.
	 * 0: only this request failed; an ENOSPC or EDQUOT then means
	 * that space ran out before the data was taken.
	 */
	int sync;
};

/* What a store is opened on. */
struct store_params {
	const char *path;
	/*
	 * The size wanted: 0 for the store's own size rounded down to a
	 * multiple of align; else a multiple of align, and a smaller file
	 * (not read-only) is grown to it.
	 */
	uint64_t size;
	uint32_t align;
	int readonly;
	/*
	 * What only one kind of store takes, or NULL: the overlay store's
	 * struct overlay_params (store_overlay.h).
	 */
	const void *kind;
};

/*
 * The extents operation calls this for consecutive ranges covering the
 * range asked for, in order: data 1 for a range that may hold data, 0
 * for a hole (reads as zeroes).  0 to go on, -1 to stop.
 */
typedef int store_extent_fn(void *arg, uint64_t off, uint64_t len,
    int data);

/* An asynchronous request (store_submit). */
enum store_cmd {
	STORE_READ,
	STORE_WRITE,
	STORE_FLUSH,
	STORE_TRIM,
	STORE_ZERO,
};

struct store_req {
	enum store_cmd cmd;
	unsigned flags;			/* STORE_FUA, STORE_NOWAIT */
	uint64_t off;
	uint32_t len;
	void *buf;			/* STORE_READ, STORE_WRITE */
	/* Set before done is called: 0 or -1 with fault filled in. */
	int result;
	struct store_fault fault;
	void (*done)(struct store_req *);	/* on any thread */
	void *arg;			/* the submitter's */
};

/*
 * The operations.  Ranges are within the store's size (the caller
 * checks).  open and close are required, as are pread and flush; a store
 * without STORE_CAN_WRITE may leave pwrite, trim and zero NULL, one
 * without STORE_CAN_TRIM trim, one without STORE_CAN_EXTENTS extents.
 * submit may be NULL: store_submit then runs the synchronous operation
 * and completes the request at once.
 */
struct store_ops {
	const char *name;		/* "file" */
	/*
	 * Open a store on p; inner: the store this one wraps, or NULL.
	 * NULL on failure, with err saying why (naming the path).
	 */
	struct store *(*open)(const struct store_params *p,
	    struct store *inner, char *err, size_t errlen);
	void (*close)(struct store *);
	int (*pread)(struct store *, void *buf, uint32_t len, uint64_t off,
	    unsigned flags, struct store_fault *);
	int (*pwrite)(struct store *, const void *buf, uint32_t len,
	    uint64_t off, unsigned flags, struct store_fault *);
	int (*flush)(struct store *, struct store_fault *);
	int (*trim)(struct store *, uint64_t off, uint32_t len,
	    unsigned flags, struct store_fault *);
	int (*zero)(struct store *, uint64_t off, uint32_t len,
	    unsigned flags, struct store_fault *);
	int (*extents)(struct store *, uint64_t off, uint64_t len,
	    store_extent_fn *, void *arg, struct store_fault *);
	/* Start req; 0 if it will complete (req->done), else -1 (errno). */
	int (*submit)(struct store *, struct store_req *);
};

/*
 * An open store.  An implementation embeds it as the first member of its
 * own state, and its open fills it in.
 */
struct store {
	const struct store_ops *ops;
	struct store *inner;		/* the store it wraps, or NULL */
	uint64_t size;			/* bytes */
	unsigned caps;			/* STORE_CAN_* */
};

/* Fill in f; returns -1, for "return store_fail(...)". */
int store_fail(struct store_fault *f, int error, const char *op,
    uint64_t off, uint64_t len, int sync);

/* Open a store of kind ops; see struct store_ops' open. */
struct store *store_open(const struct store_ops *ops,
    const struct store_params *p, struct store *inner, char *err,
    size_t errlen);
void store_close(struct store *);	/* NULL: nothing */

/*
 * The operations, for the export and for wrappers: each checks the
 * flags and the capabilities (EINVAL for a flag bit it does not take,
 * EROFS for a write to a store without STORE_CAN_WRITE, EAGAIN for
 * STORE_NOWAIT on a store without STORE_CAN_NOWAIT, EOPNOTSUPP for
 * extents without STORE_CAN_EXTENTS), then calls the store's.  Without
 * STORE_CAN_FUA, STORE_FUA is emulated with a flush after the operation;
 * without STORE_CAN_TRIM, trim succeeds doing nothing (it is advisory).
 */
int store_pread(struct store *, void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *);
int store_pwrite(struct store *, const void *buf, uint32_t len,
    uint64_t off, unsigned flags, struct store_fault *);
int store_flush(struct store *, struct store_fault *);
int store_trim(struct store *, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *);
int store_zero(struct store *, uint64_t off, uint32_t len, unsigned flags,
    struct store_fault *);
int store_extents(struct store *, uint64_t off, uint64_t len,
    store_extent_fn *, void *arg, struct store_fault *);
/*
 * Submit req: the store's own asynchronous path, or else the synchronous
 * operation, completing req before this returns.  0 if req->done will be
 * (or was) called; -1 (errno) if req was refused unstarted.
 */
int store_submit(struct store *, struct store_req *);

#endif
