/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * cache.c: a device's write-through RAM cache of blocks (cache=SIZE),
 * used only where no other client can write the export (nd_cache_start).
 */
#ifndef ND_CACHE_H
#define ND_CACHE_H

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/list.h>
#include <linux/types.h>
#include <linux/xarray.h>

/* Write generations: one counter per region of blocks, hashed. */
#define ND_CACHE_GENS		64
#define ND_CACHE_REGION_SHIFT	8	/* 256 blocks a region */

struct shrinker;

/*
 * The lock of blocks (xa_lock) guards blocks, lru, used, epoch and gen.
 * A cached block is a page of its own, never written once it is in
 * blocks: a write drops it, a read fills a new one.
 */
struct nd_cache {
	struct xarray blocks;		/* block index -> struct page */
	struct list_head lru;		/* page->lru, the oldest first */
	unsigned long limit;		/* blocks; 0: the cache is not used */
	unsigned long used;		/* blocks */
	u32 epoch;			/* bumped by every drop */
	u32 gen[ND_CACHE_GENS];		/* bumped by writes, per region */
	bool on;
	u64 size;			/* bytes asked for (cache=) */
	const char *reason;		/* why on, off or disabled */
	atomic64_t hits;		/* blocks */
	atomic64_t misses;		/* blocks read from the server */
	atomic64_t evictions;		/* blocks, for room or by the shrinker */
	atomic64_t invalidations;	/* blocks dropped by writes and drops */
	struct shrinker *shrinker;
	const char *name;		/* the device's */
};

int nd_cache_check_size(u64 size, const char *what);
void nd_cache_init(struct nd_cache *c, const char *name, u64 size);
int nd_cache_start(struct nd_cache *c, u32 flags, bool asked_ro);
void nd_cache_destroy(struct nd_cache *c);
bool nd_cache_read(struct nd_cache *c, struct request *rq);
void nd_cache_submit(struct nd_cache *c, struct request *rq, u32 *snap);
void nd_cache_complete(struct nd_cache *c, struct request *rq, u32 snap,
		       blk_status_t status);
void nd_cache_drop(struct nd_cache *c);
const char *nd_cache_state(const struct nd_cache *c);
unsigned long nd_cache_used_bytes(struct nd_cache *c);

#endif /* ND_CACHE_H */
