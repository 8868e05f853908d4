// SPDX-License-Identifier: GPL-2.0-only
/*
 * A device's write-through RAM cache of blocks (cache=SIZE): pages of
 * PAGE_SIZE bytes keyed by their index on the device, in an xarray, at
 * most SIZE bytes of them, the least recently used evicted first, and a
 * shrinker that gives them back under memory pressure.
 *
 * When it is used (nd_cache_start).  Only where no other client can
 * write the export, from what the handshake says (docs/protocol.md,
 * 10.1 and 10.4): a read-only session the client did not ask for
 * (ND_FLAG_READ_ONLY without ND_OPT_READ_ONLY: the export itself is
 * read-only), or a read-write session, which holds the export's
 * exclusive claim for this device's client id (an overlay export's
 * attachment is such a claim too).  A read-only session the client asked
 * for (ro=1) may share a writable export with a writer: the handshake
 * does not say whether the export is read-only, so the cache stays off.
 * Data changed on the server behind the protocol's back (the backing
 * file edited) is not seen, as with any block cache.
 *
 * Reads (nd_cache_read).  A read whose blocks are all cached completes
 * from RAM in queue_rq; any other goes to the server, and when it
 * completes without error its whole aligned blocks are filled in
 * (nd_cache_complete).  A reply that fails never fills; one whose framing
 * broke resets the connection, which drops the cache.
 *
 * Writes (WRITE, TRIM, WRITE_ZEROES) invalidate: their blocks are
 * dropped when they are sent and again when they complete, whatever the
 * status.  Not updated with the written data: several writes to one
 * block may be in flight on several connections and the server may
 * execute them in another order than their replies arrive, so the only
 * content known to be the server's is one read after the last of them
 * completed.
 *
 * The race of a read's fill with a write (the argument).  Each write
 * bumps the generation counters of the regions it touches, under the
 * cache's lock, together with dropping its blocks: once when sent and
 * once when it completes.  A read takes the sum of its regions' counters
 * and of the drop epoch before it is sent (nd_cache_submit); its fill
 * inserts a block only if the sum is the same, checked under the lock.
 * The counters only grow, so an equal sum means that no write to those
 * regions was sent or completed, and no drop happened, while the read
 * was in flight.  Then every write to its blocks either completed
 * before the read was sent (the server executed it before it read: a
 * reply is visible to later requests on every connection,
 * ND_FLAG_MULTI_CONN), or is still in flight and its completion drops
 * what the fill inserts.  A read concurrent with a write may return
 * either data, as the block layer allows; once the write completed, no
 * older data is in the cache or can enter it.
 *
 * Reconnects.  A connection that is lost drops the cache (conn.c), and so
 * does one that comes back (check_export, dev.c): the server may have
 * restarted, the claim lapsed and another client written.  While the
 * server is away nothing is served from the cache.
 */
#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/shrinker.h>
#include <linux/xarray.h>

#include "cache.h"
#include "compat.h"
#include "netdisk_sysfs.h"

/*
 * A fill is optional: no I/O, no retries, no warning when memory is
 * short, and never the emergency reserves, even from a task that may use
 * them (swap on a netdisk device needs them for its sockets).
 */
#define FILL_GFP	(GFP_NOIO | __GFP_NOWARN | __GFP_NORETRY | \
			 __GFP_NOMEMALLOC)
/* xarray nodes, under the lock */
#define NODE_GFP	(GFP_NOWAIT | __GFP_NOWARN | __GFP_NOMEMALLOC)

static const char reason_off[] = "not asked for (cache=0)";
static const char reason_ro[] = "read-only export";
static const char reason_excl[] =
	"exclusive read-write: this client holds the export's write claim";
static const char reason_shared[] =
	"read-only session asked for with ro: the export may be written by another client";

/* 0, or -EINVAL with a message naming what (the device or the parameter). */
int nd_cache_check_size(u64 size, const char *what)
{
	u64 half = (u64)totalram_pages() << (PAGE_SHIFT - 1);

	if (!size)
		return 0;
	if (!nd_cache_size_valid(size)) {
		pr_err("%s: %s=%llu refused: use 0 (off) or %llu to %llu bytes (1M to 1T)\n",
		       what, ND_ADD_CACHE, size, (u64)ND_CACHE_MIN,
		       (u64)ND_CACHE_MAX);
		return -EINVAL;
	}
	if (size > half) {
		pr_err("%s: %s=%llu refused: more than half of this machine's memory (%llu MiB)\n",
		       what, ND_ADD_CACHE, size, half >> 20);
		return -EINVAL;
	}
	return 0;
}

static u64 rq_start(struct request *rq)
{
	return (u64)blk_rq_pos(rq) << SECTOR_SHIFT;
}

/* The blocks rq touches, first to last. */
static void rq_blocks(struct request *rq, unsigned long *first,
		      unsigned long *last)
{
	u64 start = rq_start(rq);

	*first = start >> PAGE_SHIFT;
	*last = (start + blk_rq_bytes(rq) - 1) >> PAGE_SHIFT;
}

/* The drop epoch and the generations of the regions of first..last. */
static u32 gen_sum(struct nd_cache *c, unsigned long first,
		   unsigned long last)
{
	unsigned long r = first >> ND_CACHE_REGION_SHIFT;
	unsigned long end = last >> ND_CACHE_REGION_SHIFT;
	u32 sum = READ_ONCE(c->epoch);
	unsigned int n;

	for (n = 0; r <= end && n < ND_CACHE_GENS; r++, n++)
		sum += READ_ONCE(c->gen[r % ND_CACHE_GENS]);
	return sum;
}

/* Under the lock. */
static void gen_bump(struct nd_cache *c, unsigned long first,
		     unsigned long last)
{
	unsigned long r = first >> ND_CACHE_REGION_SHIFT;
	unsigned long end = last >> ND_CACHE_REGION_SHIFT;
	unsigned int n;

	for (n = 0; r <= end && n < ND_CACHE_GENS; r++, n++)
		WRITE_ONCE(c->gen[r % ND_CACHE_GENS],
			   c->gen[r % ND_CACHE_GENS] + 1);
}

/* Under the lock: page out of the cache, onto out (freed by free_list). */
static void remove_locked(struct nd_cache *c, struct page *page,
			  struct list_head *out)
{
	__xa_erase(&c->blocks, page_private(page));
	list_move(&page->lru, out);
	c->used--;
}

static void free_list(struct list_head *out)
{
	struct page *page, *tmp;

	list_for_each_entry_safe(page, tmp, out, lru) {
		list_del(&page->lru);
		set_page_private(page, 0);
		__free_page(page);
	}
}

/* Under the lock: up to n of the least recently used; how many. */
static unsigned long evict_locked(struct nd_cache *c, unsigned long n,
				  struct list_head *out)
{
	struct page *page, *tmp;
	unsigned long done = 0;

	list_for_each_entry_safe(page, tmp, &c->lru, lru) {
		if (done == n)
			break;
		remove_locked(c, page, out);
		done++;
	}
	return done;
}

/* bv's bytes, at the device's byte offset pos, from the cache: all or false. */
static bool copy_out(struct nd_cache *c, struct bio_vec *bv, u64 pos)
{
	unsigned int done, off, n;
	struct page *page = NULL;
	void *dst = bvec_kmap_local(bv);

	for (done = 0; done < bv->bv_len; done += n) {
		off = (pos + done) & ~PAGE_MASK;
		n = min_t(unsigned int, bv->bv_len - done, PAGE_SIZE - off);
		xa_lock(&c->blocks);
		page = xa_load(&c->blocks, (pos + done) >> PAGE_SHIFT);
		if (page) {
			memcpy(dst + done, page_address(page) + off, n);
			list_move_tail(&page->lru, &c->lru);
		}
		xa_unlock(&c->blocks);
		if (!page)
			break;
	}
	kunmap_local(dst);
	return !!page;
}

/*
 * A READ: true if every byte of it came from the cache (rq is not
 * started; the caller completes it), false if it goes to the server.
 */
bool nd_cache_read(struct nd_cache *c, struct request *rq)
{
	unsigned long first, last;
	struct req_iterator iter;
	struct bio_vec bv;
	u64 pos = rq_start(rq);

	if (!READ_ONCE(c->on) || !blk_rq_bytes(rq))
		return false;
	rq_for_each_segment(bv, rq, iter) {
		if (!copy_out(c, &bv, pos))
			return false;
		pos += bv.bv_len;
	}
	rq_blocks(rq, &first, &last);
	atomic64_add(last - first + 1, &c->hits);
	return true;
}

/* A write of rq's blocks is sent or completed: they go. */
static void invalidate(struct nd_cache *c, struct request *rq)
{
	unsigned long first, last, n = 0;
	struct page *page;
	LIST_HEAD(out);

	rq_blocks(rq, &first, &last);
	xa_lock(&c->blocks);
	gen_bump(c, first, last);
	if (c->used) {
		XA_STATE(xas, &c->blocks, first);

		xas_for_each(&xas, page, last) {
			xas_store(&xas, NULL);
			list_move(&page->lru, &out);
			c->used--;
			n++;
		}
	}
	xa_unlock(&c->blocks);
	free_list(&out);
	if (n)
		atomic64_add(n, &c->invalidations);
}

static bool is_write(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_WRITE:
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		return true;
	default:
		return false;
	}
}

/*
 * rq is about to be sent: a write invalidates its blocks, a read takes
 * the generations its fill must find unchanged (*snap).
 */
void nd_cache_submit(struct nd_cache *c, struct request *rq, u32 *snap)
{
	unsigned long first, last;

	if (!READ_ONCE(c->on))
		return;
	if (is_write(rq)) {
		invalidate(c, rq);
	} else if (req_op(rq) == REQ_OP_READ) {
		rq_blocks(rq, &first, &last);
		*snap = gen_sum(c, first, last);
	}
}

/* A new block, unless a write or a drop came since the read was sent. */
static void insert(struct nd_cache *c, struct page *page, unsigned long idx,
		   struct request *rq, u32 snap)
{
	unsigned long first, last;
	LIST_HEAD(out);
	void *old;

	rq_blocks(rq, &first, &last);
	xa_lock(&c->blocks);
	if (gen_sum(c, first, last) != snap || xa_load(&c->blocks, idx)) {
		xa_unlock(&c->blocks);
		__free_page(page);
		return;
	}
	if (c->used >= c->limit && evict_locked(c, 1, &out))
		atomic64_inc(&c->evictions);
	set_page_private(page, idx);
	old = __xa_store(&c->blocks, idx, page, NODE_GFP);
	if (xa_is_err(old)) {
		xa_unlock(&c->blocks);
		set_page_private(page, 0);
		__free_page(page);
	} else {
		list_add_tail(&page->lru, &c->lru);
		c->used++;
		xa_unlock(&c->blocks);
	}
	free_list(&out);
}

struct fill {
	u64 start, end;		/* rq's bytes on the device */
	struct page *page;	/* the block being filled */
	bool nomem;
};

/* n bytes at src, at the device's byte offset at, into the block. */
static void fill_chunk(struct nd_cache *c, struct request *rq, u32 snap,
		       struct fill *f, const void *src, u64 at, unsigned int n)
{
	unsigned int off = at & ~PAGE_MASK;
	u64 block = at - off;

	if (block < f->start || block + PAGE_SIZE > f->end || f->nomem)
		return;		/* a partial block, or no memory */
	if (!off)
		f->page = alloc_page(FILL_GFP);
	if (!f->page) {
		f->nomem = true;
		return;
	}
	memcpy(page_address(f->page) + off, src, n);
	if (off + n == PAGE_SIZE) {
		insert(c, f->page, block >> PAGE_SHIFT, rq, snap);
		f->page = NULL;
	}
}

/* The whole blocks of a READ that succeeded into the cache. */
static void fill(struct nd_cache *c, struct request *rq, u32 snap)
{
	struct fill f = { .start = rq_start(rq) };
	unsigned int done, n, off;
	struct req_iterator iter;
	struct bio_vec bv;
	u64 pos = f.start;
	void *src;

	f.end = f.start + blk_rq_bytes(rq);
	rq_for_each_segment(bv, rq, iter) {
		src = bvec_kmap_local(&bv);
		for (done = 0; done < bv.bv_len; done += n) {
			off = (pos + done) & ~PAGE_MASK;
			n = min_t(unsigned int, bv.bv_len - done,
				  PAGE_SIZE - off);
			fill_chunk(c, rq, snap, &f, src + done, pos + done, n);
		}
		kunmap_local(src);
		pos += bv.bv_len;
	}
	if (f.page)
		__free_page(f.page);
}

/*
 * rq leaves the driver with status (io.c's nd_io_end, process context,
 * its data still in its pages): a READ that succeeded fills the cache, a
 * write invalidates again.
 */
void nd_cache_complete(struct nd_cache *c, struct request *rq, u32 snap,
		       blk_status_t status)
{
	unsigned long first, last;

	if (!READ_ONCE(c->on))
		return;
	if (is_write(rq)) {
		invalidate(c, rq);
	} else if (req_op(rq) == REQ_OP_READ && status == BLK_STS_OK &&
		   blk_rq_bytes(rq)) {
		rq_blocks(rq, &first, &last);
		atomic64_add(last - first + 1, &c->misses);
		fill(c, rq, snap);
	}
}

/* Everything goes; reads in flight fill nothing (the epoch). */
void nd_cache_drop(struct nd_cache *c)
{
	unsigned long n;
	LIST_HEAD(out);

	if (!READ_ONCE(c->on))
		return;
	xa_lock(&c->blocks);
	WRITE_ONCE(c->epoch, c->epoch + 1);
	n = evict_locked(c, c->used, &out);
	xa_unlock(&c->blocks);
	free_list(&out);
	if (n)
		atomic64_add(n, &c->invalidations);
}

static unsigned long shrink_count(struct shrinker *s,
				  struct shrink_control *sc)
{
	struct nd_cache *c = nd_compat_shrinker_priv(s);
	unsigned long n = READ_ONCE(c->used);

	return n ? n : SHRINK_EMPTY;
}

static unsigned long shrink_scan(struct shrinker *s, struct shrink_control *sc)
{
	struct nd_cache *c = nd_compat_shrinker_priv(s);
	unsigned long n;
	LIST_HEAD(out);

	xa_lock(&c->blocks);
	n = evict_locked(c, sc->nr_to_scan, &out);
	xa_unlock(&c->blocks);
	free_list(&out);
	atomic64_add(n, &c->evictions);
	return n ? n : SHRINK_STOP;
}

/* At attach, before anything can fail: off until nd_cache_start. */
void nd_cache_init(struct nd_cache *c, const char *name, u64 size)
{
	xa_init(&c->blocks);
	INIT_LIST_HEAD(&c->lru);
	c->size = size;
	c->name = name;
	c->reason = reason_off;
	atomic64_set(&c->hits, 0);
	atomic64_set(&c->misses, 0);
	atomic64_set(&c->evictions, 0);
	atomic64_set(&c->invalidations, 0);
}

/*
 * After the handshake, before any I/O: whether the cache is used, from
 * the session's flags and whether the client asked for read-only (see
 * the top of this file); logged.  0 or -ENOMEM.
 */
int nd_cache_start(struct nd_cache *c, u32 flags, bool asked_ro)
{
	if (!c->size)
		return 0;
	if ((flags & ND_FLAG_READ_ONLY) && asked_ro) {
		c->reason = reason_shared;
		pr_info("%s: cache of %llu MiB disabled: %s\n", c->name,
			c->size >> 20, c->reason);
		return 0;
	}
	c->shrinker = nd_compat_shrinker_new(shrink_count, shrink_scan, c,
					     c->name);
	if (!c->shrinker)
		return -ENOMEM;
	c->limit = c->size >> PAGE_SHIFT;
	c->reason = flags & ND_FLAG_READ_ONLY ? reason_ro : reason_excl;
	WRITE_ONCE(c->on, true);
	pr_info("%s: cache of %llu MiB on: %s\n", c->name, c->size >> 20,
		c->reason);
	return 0;
}

/* At detach, with no I/O left. */
void nd_cache_destroy(struct nd_cache *c)
{
	LIST_HEAD(out);

	if (c->shrinker)
		nd_compat_shrinker_free(c->shrinker);
	c->shrinker = NULL;
	xa_lock(&c->blocks);
	evict_locked(c, c->used, &out);
	xa_unlock(&c->blocks);
	free_list(&out);
	xa_destroy(&c->blocks);
	WRITE_ONCE(c->on, false);
}

/* "on", "off" (not asked for) or "disabled" (asked for, not allowed). */
const char *nd_cache_state(const struct nd_cache *c)
{
	if (READ_ONCE(c->on))
		return ND_CACHE_ON;
	return c->size ? ND_CACHE_DISABLED : ND_CACHE_OFF;
}

unsigned long nd_cache_used_bytes(struct nd_cache *c)
{
	return READ_ONCE(c->used) << PAGE_SHIFT;
}
