/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Every difference between the kernel versions netdisk builds against
 * lives here, keyed on LINUX_VERSION_CODE.  Tested: 6.1 and 6.12.
 */
#ifndef ND_COMPAT_H
#define ND_COMPAT_H

#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/device/bus.h>
#include <linux/sched/mm.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/version.h>

/* 6.12 moved the unaligned access helpers. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#include <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

/* Queue limits as netdisk wants them, independent of the kernel's API. */
struct nd_queue_limits {
	unsigned int logical_block_size;
	unsigned int physical_block_size;
	unsigned int max_hw_sectors;
	unsigned int max_discard_sectors;	/* 0: no discard */
	unsigned int max_write_zeroes_sectors;	/* 0: no write zeroes */
	bool write_cache;			/* REQ_OP_FLUSH accepted */
	bool fua;				/* REQ_FUA accepted */
};

/* 6.3 made the bus_type argument of bus attribute callbacks const. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define ND_BUS_CONST const
#else
#define ND_BUS_CONST
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
/* 6.11: all limits and features are set at allocation time. */
static inline struct gendisk *
nd_compat_alloc_disk(struct blk_mq_tag_set *set,
		     const struct nd_queue_limits *nl, void *queuedata)
{
	struct queue_limits lim = {
		.logical_block_size = nl->logical_block_size,
		.physical_block_size = nl->physical_block_size,
		.io_min = nl->physical_block_size,
		.max_hw_sectors = nl->max_hw_sectors,
		.max_segments = USHRT_MAX,
		.max_segment_size = UINT_MAX,
		.max_hw_discard_sectors = nl->max_discard_sectors,
		.discard_granularity = nl->max_discard_sectors ?
			nl->logical_block_size : 0,
		.max_write_zeroes_sectors = nl->max_write_zeroes_sectors,
	};

	if (nl->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (nl->write_cache && nl->fua)
		lim.features |= BLK_FEAT_FUA;
	return blk_mq_alloc_disk(set, &lim, queuedata);
}

/*
 * After a reconnect: the export's discard, write zeroes, flush and FUA,
 * under a frozen queue as queue_limits_start_update asks (and as nbd's
 * nbd_set_size does), in a noio scope (no reclaim may write to the frozen
 * queue).  The caller must not hold up the requests the freeze waits for.
 */
static inline int nd_compat_update_features(struct request_queue *q,
					    const struct nd_queue_limits *nl)
{
	struct queue_limits lim = queue_limits_start_update(q);
	unsigned int noio;
	int err;

	lim.max_hw_discard_sectors = nl->max_discard_sectors;
	lim.discard_granularity = nl->max_discard_sectors ?
		nl->logical_block_size : 0;
	lim.max_write_zeroes_sectors = nl->max_write_zeroes_sectors;
	lim.features &= ~(BLK_FEAT_WRITE_CACHE | BLK_FEAT_FUA);
	if (nl->write_cache)
		lim.features |= BLK_FEAT_WRITE_CACHE;
	if (nl->write_cache && nl->fua)
		lim.features |= BLK_FEAT_FUA;
	noio = memalloc_noio_save();
	blk_mq_freeze_queue(q);
	err = queue_limits_commit_update(q, &lim);
	blk_mq_unfreeze_queue(q);
	memalloc_noio_restore(noio);
	return err;
}
#else
static inline void nd_compat_set_limits(struct request_queue *q,
					const struct nd_queue_limits *nl)
{
	blk_queue_logical_block_size(q, nl->logical_block_size);
	blk_queue_physical_block_size(q, nl->physical_block_size);
	blk_queue_io_min(q, nl->physical_block_size);
	blk_queue_max_hw_sectors(q, nl->max_hw_sectors);
	blk_queue_max_segments(q, USHRT_MAX);
	blk_queue_max_segment_size(q, UINT_MAX);
	blk_queue_max_discard_sectors(q, nl->max_discard_sectors);
	if (nl->max_discard_sectors)
		q->limits.discard_granularity = nl->logical_block_size;
	blk_queue_max_write_zeroes_sectors(q, nl->max_write_zeroes_sectors);
	blk_queue_write_cache(q, nl->write_cache, nl->write_cache && nl->fua);
	blk_queue_flag_set(QUEUE_FLAG_NONROT, q);
	blk_queue_flag_clear(QUEUE_FLAG_ADD_RANDOM, q);
}

/* As above; no request sees the limits half changed. */
static inline int nd_compat_update_features(struct request_queue *q,
					    const struct nd_queue_limits *nl)
{
	unsigned int noio = memalloc_noio_save();

	blk_mq_freeze_queue(q);
	blk_queue_max_discard_sectors(q, nl->max_discard_sectors);
	q->limits.discard_granularity = nl->max_discard_sectors ?
		nl->logical_block_size : 0;
	blk_queue_max_write_zeroes_sectors(q, nl->max_write_zeroes_sectors);
	blk_queue_write_cache(q, nl->write_cache, nl->write_cache && nl->fua);
	blk_mq_unfreeze_queue(q);
	memalloc_noio_restore(noio);
	return 0;
}

static inline struct gendisk *
nd_compat_alloc_disk(struct blk_mq_tag_set *set,
		     const struct nd_queue_limits *nl, void *queuedata)
{
	struct gendisk *disk;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	disk = blk_mq_alloc_disk(set, NULL, queuedata);
#else
	disk = blk_mq_alloc_disk(set, queuedata);
#endif
	if (!IS_ERR(disk))
		nd_compat_set_limits(disk->queue, nl);
	return disk;
}
#endif

/*
 * A shrinker with private data: 6.7 allocates and registers it with
 * shrinker_alloc and shrinker_register; before, the caller embeds it and
 * register_shrinker takes a name (6.0 on).  NULL if out of memory.
 */
typedef unsigned long (*nd_shrink_fn)(struct shrinker *s,
				      struct shrink_control *sc);

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
static inline struct shrinker *
nd_compat_shrinker_new(nd_shrink_fn count, nd_shrink_fn scan, void *priv,
		       const char *name)
{
	struct shrinker *s = shrinker_alloc(0, "netdisk-%s", name);

	if (!s)
		return NULL;
	s->count_objects = count;
	s->scan_objects = scan;
	s->seeks = DEFAULT_SEEKS;
	s->private_data = priv;
	shrinker_register(s);
	return s;
}

static inline void *nd_compat_shrinker_priv(struct shrinker *s)
{
	return s->private_data;
}

static inline void nd_compat_shrinker_free(struct shrinker *s)
{
	shrinker_free(s);
}
#else
struct nd_compat_shrinker {
	struct shrinker s;
	void *priv;
};

static inline struct shrinker *
nd_compat_shrinker_new(nd_shrink_fn count, nd_shrink_fn scan, void *priv,
		       const char *name)
{
	struct nd_compat_shrinker *w = kzalloc(sizeof(*w), GFP_KERNEL);

	if (!w)
		return NULL;
	w->s.count_objects = count;
	w->s.scan_objects = scan;
	w->s.seeks = DEFAULT_SEEKS;
	w->priv = priv;
	if (register_shrinker(&w->s, "netdisk-%s", name)) {
		kfree(w);
		return NULL;
	}
	return &w->s;
}

static inline void *nd_compat_shrinker_priv(struct shrinker *s)
{
	return container_of(s, struct nd_compat_shrinker, s)->priv;
}

static inline void nd_compat_shrinker_free(struct shrinker *s)
{
	unregister_shrinker(s);
	kfree(container_of(s, struct nd_compat_shrinker, s));
}
#endif

#endif /* ND_COMPAT_H */
