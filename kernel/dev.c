// SPDX-License-Identifier: GPL-2.0-only
/*
 * The block device: a blk-mq tag set with one hardware queue per
 * connection, a gendisk shaped by what the server announced, attach and
 * detach.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "cache.h"
#include "compat.h"
#include "conn.h"
#include "dev.h"
#include "io.h"
#include "netdisk.h"

#define MAX_INDEX	((1 << (MINORBITS - ND_PART_SHIFT)) - 1)

static DEFINE_MUTEX(nd_devs_lock);	/* nd_devs */
static LIST_HEAD(nd_devs);
static DEFINE_IDA(nd_index_ida);
static int nd_major;
static const struct attribute_group **disk_groups;	/* nd_dev_init's */

static const struct block_device_operations nd_fops = {
	.owner = THIS_MODULE,
};

/*
 * The device stops for good: pending and new I/O fail with EIO.  The
 * kill work is not on conn.c's workqueue: it waits for the connections'
 * works there, and under memory pressure that queue may be down to its
 * rescuer thread.
 */
static void kill_dev(struct nd_device *dev)
{
	bool first;

	spin_lock(&dev->lock);
	first = !dev->dead && !dev->removing;
	WRITE_ONCE(dev->dead, true);
	spin_unlock(&dev->lock);
	if (first)
		queue_work(system_unbound_wq, &dev->kill_work);
}

static void kill_work(struct work_struct *work)
{
	struct nd_device *dev = container_of(work, struct nd_device,
					     kill_work);
	unsigned int i;

	mutex_lock(&dev->scale_lock);	/* a scale sees the death, returns */
	for (i = 0; i < ND_MAX_CONNS; i++)
		nd_conn_shutdown(&dev->conns[i]);
	mutex_unlock(&dev->scale_lock);
	pr_err("%s: dead, I/O fails until detached\n", dev->name);
}

/*
 * The export grew while the connection was down: the device grows too,
 * in update_work.  Connections that reconnect at once may report sizes in
 * any order; the largest stays.
 */
static void grow(struct nd_device *dev, u64 size)
{
	bool grew = false;

	spin_lock(&dev->lock);
	if (size > dev->info.size) {
		dev->info.size = size;
		grew = true;
	}
	spin_unlock(&dev->lock);
	if (grew)
		queue_work(system_unbound_wq, &dev->update_work);
}

/* The largest READ or WRITE the queue sends for what info announces. */
static u32 io_max_bytes(const struct nd_export_info *info)
{
	return round_down(info->max_payload, info->min_block);
}

/* Whether the export changed in a way the device cannot follow (logged). */
static bool export_differs(struct nd_device *dev,
			   const struct nd_export_info *info)
{
	const struct nd_export_info *old = &dev->info;
	u64 size = READ_ONCE(old->size);

	if (info->size < size)
		pr_err("%s: export shrank from %llu to %llu bytes, not resuming\n",
		       dev->name, size, info->size);
	else if (memcmp(old->export_id, info->export_id, ND_EXPORT_ID_LEN))
		pr_err("%s: export identity changed (%*phN, was %*phN), not resuming\n",
		       dev->name, ND_EXPORT_ID_LEN, info->export_id,
		       ND_EXPORT_ID_LEN, old->export_id);
	else if (old->min_block != info->min_block)
		pr_err("%s: export block size changed from %u to %u, not resuming\n",
		       dev->name, old->min_block, info->min_block);
	else if (old->pref_block != info->pref_block)
		pr_err("%s: export preferred block size changed from %u to %u, not resuming\n",
		       dev->name, old->pref_block, info->pref_block);
	else if (io_max_bytes(info) < io_max_bytes(old))
		pr_err("%s: export max payload shrank from %u to %u bytes, below the %u the queue sends, not resuming\n",
		       dev->name, old->max_payload, info->max_payload,
		       io_max_bytes(old));
	else if ((old->flags ^ info->flags) & ND_FLAG_READ_ONLY)
		pr_err("%s: export read-only flag changed, not resuming\n",
		       dev->name);
	else
		return false;
	return true;
}

static void follow_features(struct nd_device *dev,
			    const struct nd_export_info *info);

/*
 * After a reconnect: -ESTALE (and the device killed) if the export
 * changed in a way the device cannot follow (identity, shrunk, block
 * sizes, read-only, a max payload below what the queue sends); a grown
 * export and changed features (trim, write zeroes, flush, FUA) are
 * followed.  A larger max payload is not: the queue keeps its limit.
 */
static int check_export(struct nd_device *dev,
			const struct nd_export_info *info)
{
	if (READ_ONCE(dev->dead))
		return -ESTALE;		/* another connection said why */
	if (export_differs(dev, info)) {
		kill_dev(dev);
		return -ESTALE;
	}
	nd_cache_drop(&dev->cache);	/* the server may have restarted */
	grow(dev, info->size);
	follow_features(dev, info);
	return 0;
}

/* What the device's connections call up to (conn.h). */
static const struct nd_conn_ops nd_dev_conn_ops = {
	.check_export = check_export,
	.kill = kill_dev,
};

const char *nd_dev_state(struct nd_device *dev)
{
	unsigned int i, n = READ_ONCE(dev->nconns);

	if (READ_ONCE(dev->removing))
		return "detaching";
	if (READ_ONCE(dev->dead))
		return "dead";
	for (i = 0; i < n; i++)
		if (atomic_read(&dev->conns[i].state) != ND_CONN_UP)
			return "reconnecting";
	return "connected";
}

/*
 * A connection for rq, spread by tag: an up one of its hardware queue's
 * own (i % nhw), else any up one (the queue's own are down, or scale
 * left it none), else one that is down: rq waits.
 */
static struct nd_conn *pick_conn(struct nd_device *dev,
				 struct blk_mq_hw_ctx *hctx, struct request *rq)
{
	unsigned int n = READ_ONCE(dev->nconns);
	unsigned int start = rq->tag % n, i, k;

	for (k = 0; k < n; k++) {
		i = (start + k) % n;
		if (i % dev->nhw == hctx->queue_num &&
		    nd_conn_usable(&dev->conns[i]))
			return &dev->conns[i];
	}
	for (k = 0; k < n; k++) {
		i = (start + k) % n;
		if (nd_conn_usable(&dev->conns[i]))
			return &dev->conns[i];
	}
	return &dev->conns[start];
}

/*
 * First dispatch of rq: start its clocks.  RQF_DONTPREP says "prepared"
 * to the block layer, which then requeues rq onto the hardware queue's
 * dispatch list rather than into the I/O scheduler (nd_io_requeue).
 */
static void prepare(struct request *rq, struct nd_pdu *cmd)
{
	if (rq->rq_flags & RQF_DONTPREP)
		return;
	rq->rq_flags |= RQF_DONTPREP;
	cmd->retries = 0;
	cmd->last_try = false;
	cmd->since = jiffies;
}

/* A READ the client cache has all of completes here, in any context. */
static bool cache_hit(struct nd_device *dev, struct request *rq)
{
	if (req_op(rq) != REQ_OP_READ || !nd_cache_read(&dev->cache, rq))
		return false;
	blk_mq_start_request(rq);
	blk_mq_end_request(rq, BLK_STS_OK);
	return true;
}

/*
 * The end of a batch: what nd_queue_rq held back on any connection goes
 * out.  A failed send resets the connection, which holds its requests.
 */
static void push_all(struct nd_device *dev)
{
	struct nd_conn *conn;
	unsigned int i;
	int err;

	for (i = 0; i < ND_MAX_CONNS; i++) {
		conn = &dev->conns[i];
		if (!READ_ONCE(conn->rec.txlen))
			continue;
		mutex_lock(&conn->tx_lock);
		err = nd_io_push(conn);
		mutex_unlock(&conn->tx_lock);
		if (err) {
			pr_warn_ratelimited("%s: connection %u: send failed (%d)\n",
					    dev->name, conn->index, err);
			nd_conn_fail(conn);
		}
	}
}

/*
 * blk-mq said more requests would follow (bd->last false) and none did.
 * Only a kernel thread sends (nd_queue_rq), so only one holds anything
 * back.
 */
static void nd_commit_rqs(struct blk_mq_hw_ctx *hctx)
{
	if (current->flags & PF_KTHREAD)
		push_all(hctx->driver_data);
}

/*
 * Requests are sent from kernel threads only (kblockd runs the hardware
 * queues): in a user task's context a signal would interrupt sendmsg,
 * possibly in the middle of a record, and a signal is not a failure.
 * BLK_STS_RESOURCE there puts the request on the dispatch list and the
 * block layer runs the queue from kblockd.  A cache hit sends nothing.
 */
static blk_status_t nd_queue_rq(struct blk_mq_hw_ctx *hctx,
				const struct blk_mq_queue_data *bd)
{
	struct nd_device *dev = hctx->driver_data;
	struct request *rq = bd->rq;
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);
	struct nd_conn *conn;
	int err;

	if (nd_io_cmd_type(rq) < 0)
		return BLK_STS_NOTSUPP;
	if (nd_dev_gone(dev))
		return BLK_STS_IOERR;
	if (cache_hit(dev, rq)) {
		if (bd->last && (current->flags & PF_KTHREAD))
			push_all(dev);	/* the batch ends with no send */
		return BLK_STS_OK;
	}
	if (!(current->flags & PF_KTHREAD))
		return BLK_STS_RESOURCE;
	conn = pick_conn(dev, hctx, rq);
	mutex_lock(&cmd->lock);
	WRITE_ONCE(cmd->conn, conn);	/* for a timeout while we wait */
	blk_mq_start_request(rq);
	prepare(rq, cmd);
	mutex_lock(&conn->tx_lock);
	if (!nd_conn_usable(conn)) {
		mutex_unlock(&conn->tx_lock);
		mutex_unlock(&cmd->lock);
		/* reconnecting or retired: queued until a connection takes it */
		return nd_dev_gone(dev) ? BLK_STS_IOERR : BLK_STS_RESOURCE;
	}
	cmd->cookie++;
	cmd->state = ND_CMD_SENT;
	cmd->status = BLK_STS_OK;
	nd_cache_submit(&dev->cache, rq, &cmd->cache_snap);
	err = nd_io_send(conn, rq);
	mutex_unlock(&conn->tx_lock);
	mutex_unlock(&cmd->lock);
	if (err) {
		pr_warn_ratelimited("%s: connection %u: send failed (%d)\n",
				    dev->name, conn->index, err);
		nd_conn_fail(conn);	/* holds rq */
	}
	if (bd->last)
		push_all(dev);
	return BLK_STS_OK;
}

/*
 * A request that times out resets its connection, which holds it until
 * the connection is back (nd_conn_*) and sends it again.  One that waited
 * dead_timeout with no answer from the server gets one more try
 * (nd_io_unanswered), and fails if that times out too.  Only the reset or
 * the reply moves a request out of SENT, so the timer restarts.
 */
static enum blk_eh_timer_return nd_timeout(struct request *rq)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);
	struct nd_conn *conn = READ_ONCE(cmd->conn);

	if (!mutex_trylock(&cmd->lock)) {
		/* being sent or received: the reset shuts the socket down */
		if (conn)
			nd_conn_fail(conn);
		return BLK_EH_RESET_TIMER;
	}
	if (cmd->state == ND_CMD_IDLE) {
		mutex_unlock(&cmd->lock);
		return BLK_EH_DONE;	/* completing */
	}
	if (cmd->state == ND_CMD_HELD) {
		mutex_unlock(&cmd->lock);
		return BLK_EH_RESET_TIMER;	/* the reconnect decides */
	}
	pr_warn_ratelimited("%s: connection %u: request timed out, resetting the connection\n",
			    conn->dev->name, conn->index);
	nd_conn_fail(conn);
	if (nd_dev_gone(conn->dev)) {
		nd_io_end(rq, BLK_STS_IOERR);
		return BLK_EH_DONE;
	}
	if (cmd->last_try) {
		pr_err_ratelimited("%s: connection %u: no answer from the server for %u s, failing a request\n",
				   conn->dev->name, conn->index,
				   conn->dev->cfg.dead_timeout);
		nd_io_end(rq, BLK_STS_IOERR);
		return BLK_EH_DONE;
	}
	if (nd_io_unanswered(conn->dev, cmd))
		cmd->last_try = true;
	mutex_unlock(&cmd->lock);
	return BLK_EH_RESET_TIMER;
}

static void nd_complete_rq(struct request *rq)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);

	blk_mq_end_request(rq, cmd->status);
}

static int nd_init_request(struct blk_mq_tag_set *set, struct request *rq,
			   unsigned int hctx_idx, unsigned int numa_node)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);

	mutex_init(&cmd->lock);
	cmd->conn = NULL;
	cmd->cookie = 0;
	cmd->len = 0;
	cmd->state = ND_CMD_IDLE;
	cmd->retries = 0;
	cmd->last_try = false;
	cmd->since = jiffies;
	cmd->status = BLK_STS_OK;
	cmd->cache_snap = 0;
	return 0;
}

static int nd_init_hctx(struct blk_mq_hw_ctx *hctx, void *data,
			unsigned int hctx_idx)
{
	hctx->driver_data = data;
	return 0;
}

static const struct blk_mq_ops nd_mq_ops = {
	.queue_rq = nd_queue_rq,
	.commit_rqs = nd_commit_rqs,
	.complete = nd_complete_rq,
	.timeout = nd_timeout,
	.init_request = nd_init_request,
	.init_hctx = nd_init_hctx,
};

/* Error messages of a failed attach. */
static const char *attach_error(const struct nd_config *cfg, int err)
{
	static const char auth_v3[] =
		"authentication failed (wrong key, no such export or wrong server_pub)";

	switch (err) {
	case -EKEYREJECTED:
		if (cfg->server_pub_set)
			return auth_v3;
		return "authentication failed (wrong key or no such export)";
	case -EBUSY:
		return "export busy (in use by another client)";
	case -EACCES:
		return "access denied (address not allowed)";
	case -EUSERS:
		return "too many clients";
	case -EINVAL:
		return "options refused";
	case -EAGAIN:
		return "export unavailable";
	case -ECONNREFUSED:
		return "connection refused";
	case -ETIMEDOUT:
		return "timed out (server unreachable or not answering)";
	case -ENETUNREACH:
	case -EHOSTUNREACH:
		return "server unreachable";
	case -EPROTONOSUPPORT:
		return "no common protocol version";
	case -EBADMSG:
		return "server hello does not authenticate";
	case -EPROTO:
		return "protocol error";
	case -EEXIST:
		return "device index in use";
	case -ENOMEM:
		return "out of memory";
	default:
		return "attach failed";
	}
}

/* Can the block layer use what the server announced? */
static int check_usable(struct nd_device *dev)
{
	const struct nd_export_info *info = &dev->info;

	if (info->min_block > PAGE_SIZE || info->max_payload < PAGE_SIZE) {
		pr_err("%s: unusable export: block size %u, max payload %u\n",
		       dev->name, info->min_block, info->max_payload);
		return -EPROTO;
	}
	return 0;
}

/* How many connections: as asked for, but 1 unless the server allows more. */
static unsigned int conn_count(struct nd_device *dev)
{
	unsigned int n = dev->cfg.conns;

	if (n > 1 && !(dev->info.flags & ND_FLAG_MULTI_CONN)) {
		pr_info("%s: server does not allow several connections, using 1\n",
			dev->name);
		n = 1;
	}
	return n;
}

struct attach {
	struct socket *socks[ND_MAX_CONNS];
	struct nd_keys keys[ND_MAX_CONNS];
};

static void attach_release(struct attach *at)
{
	unsigned int i;

	for (i = 0; i < ND_MAX_CONNS; i++)
		if (at->socks[i])
			nd_conn_sock_release(at->socks[i]);
	memzero_explicit(at, sizeof(*at));
}

static bool same_announcement(const struct nd_export_info *a,
			      const struct nd_export_info *b)
{
	return a->size == b->size && a->flags == b->flags &&
	       a->min_block == b->min_block &&
	       a->pref_block == b->pref_block &&
	       a->max_payload == b->max_payload &&
	       !memcmp(a->export_id, b->export_id, ND_EXPORT_ID_LEN);
}

static int open_connections(struct nd_device *dev, struct attach *at)
{
	struct nd_export_info info;
	unsigned int i;
	int err;

	err = nd_conn_alloc(&dev->conns[0]);
	if (!err)
		err = nd_conn_open(&dev->conns[0], &at->socks[0], &dev->info,
				   &at->keys[0]);
	if (!err)
		err = check_usable(dev);
	if (err)
		return err;
	dev->nconns = conn_count(dev);
	for (i = 1; i < dev->nconns; i++) {
		err = nd_conn_alloc(&dev->conns[i]);
		if (!err)
			err = nd_conn_open(&dev->conns[i], &at->socks[i], &info,
					   &at->keys[i]);
		if (err)
			return err;
		if (!same_announcement(&info, &dev->info)) {
			pr_err("%s: connection %u: the server announced another export than on connection 0\n",
			       dev->name, i);
			return -EPROTO;
		}
	}
	return 0;
}

/* A hint; netdisk.ko shows at most this much. */
#define PHYS_BLOCK_MAX	(64 * 1024)

static void fill_limits(const struct nd_export_info *info,
			struct nd_queue_limits *lim)
{
	unsigned int big = round_down(U32_MAX, info->min_block) >> SECTOR_SHIFT;

	memset(lim, 0, sizeof(*lim));
	lim->logical_block_size = info->min_block;
	lim->physical_block_size = min_t(u32, info->pref_block, PHYS_BLOCK_MAX);
	lim->max_hw_sectors = io_max_bytes(info) >> SECTOR_SHIFT;
	if (info->flags & ND_FLAG_TRIM)
		lim->max_discard_sectors = big;
	if (info->flags & ND_FLAG_WRITE_ZEROES)
		lim->max_write_zeroes_sectors = big;
	lim->write_cache = info->flags & ND_FLAG_FLUSH;
	lim->fua = info->flags & ND_FLAG_FUA;
}

#define FEATURE_FLAGS	(ND_FLAG_TRIM | ND_FLAG_WRITE_ZEROES | ND_FLAG_FLUSH | \
			 ND_FLAG_FUA)

/* The export's features changed while the connection was down. */
static void follow_features(struct nd_device *dev,
			    const struct nd_export_info *info)
{
	bool changed = false;
	u32 flags;

	spin_lock(&dev->lock);
	flags = (dev->info.flags & ~FEATURE_FLAGS) |
		(info->flags & FEATURE_FLAGS);
	if (flags != dev->info.flags) {
		dev->info.flags = flags;
		changed = true;
	}
	spin_unlock(&dev->lock);
	if (changed)
		queue_work(system_unbound_wq, &dev->update_work);
}

/*
 * Apply the size and features that reconnects recorded in dev->info, the
 * latest of them: the work never runs twice at once, so an older size
 * never follows a newer one.  Not on nd_ctl_wq and not from a reconnect:
 * the limits change under a frozen queue, and freezing waits for the
 * requests that wait for the reconnects.
 */
static void update_work(struct work_struct *work)
{
	struct nd_device *dev = container_of(work, struct nd_device,
					     update_work);
	struct nd_export_info info;
	struct nd_queue_limits lim;
	u32 flags;

	spin_lock(&dev->lock);
	info = dev->info;
	spin_unlock(&dev->lock);
	flags = info.flags;
	if (nd_dev_gone(dev))
		return;
	if (info.size != dev->shown_size) {
		pr_info("%s: export grew to %llu bytes\n", dev->name,
			info.size);
		set_capacity_and_notify(dev->disk, info.size >> SECTOR_SHIFT);
		dev->shown_size = info.size;
	}
	if (flags == dev->shown_flags)
		return;
	pr_info("%s: export features changed: trim %s, write zeroes %s, flush %s, fua %s\n",
		dev->name, flags & ND_FLAG_TRIM ? "on" : "off",
		flags & ND_FLAG_WRITE_ZEROES ? "on" : "off",
		flags & ND_FLAG_FLUSH ? "on" : "off",
		flags & ND_FLAG_FUA ? "on" : "off");
	fill_limits(&info, &lim);
	if (nd_compat_update_features(dev->disk->queue, &lim))
		pr_err("%s: cannot update the queue limits\n", dev->name);
	dev->shown_flags = flags;
}

static int alloc_disk(struct nd_device *dev)
{
	struct blk_mq_tag_set *set = &dev->tag_set;
	struct nd_queue_limits lim;
	struct gendisk *disk;
	int err;

	set->ops = &nd_mq_ops;
	/* one queue per connection at attach, CPUs permitting; scale keeps it */
	dev->nhw = min(dev->nconns, nr_cpu_ids);
	set->nr_hw_queues = dev->nhw;
	set->queue_depth = ND_MAX_INFLIGHT;
	set->numa_node = NUMA_NO_NODE;
	set->cmd_size = sizeof(struct nd_pdu);
	set->flags = BLK_MQ_F_SHOULD_MERGE | BLK_MQ_F_BLOCKING;
	set->driver_data = dev;
	set->timeout = ND_IO_TIMEOUT;
	err = blk_mq_alloc_tag_set(set);
	if (err)
		return err;

	fill_limits(&dev->info, &lim);
	disk = nd_compat_alloc_disk(set, &lim, dev);
	if (IS_ERR(disk)) {
		blk_mq_free_tag_set(set);
		return PTR_ERR(disk);
	}
	disk->major = nd_major;
	disk->first_minor = dev->index << ND_PART_SHIFT;
	disk->minors = 1 << ND_PART_SHIFT;
	disk->fops = &nd_fops;
	disk->private_data = dev;
	strscpy(disk->disk_name, dev->name, sizeof(disk->disk_name));
	set_capacity(disk, dev->info.size >> SECTOR_SHIFT);
	dev->shown_size = dev->info.size;
	dev->shown_flags = dev->info.flags;
	set_disk_ro(disk, dev->cfg.ro || (dev->info.flags & ND_FLAG_READ_ONLY));
	dev->disk = disk;
	return 0;
}

static void free_disk(struct nd_device *dev)
{
	put_disk(dev->disk);
	blk_mq_free_tag_set(&dev->tag_set);
	dev->disk = NULL;
}

static int start_connections(struct nd_device *dev, struct attach *at)
{
	unsigned int i;
	int err;

	for (i = 0; i < dev->nconns; i++) {
		err = nd_conn_start(&dev->conns[i], at->socks[i], &at->keys[i]);
		if (err)
			return err;
		at->socks[i] = NULL;	/* owned by the connection now */
	}
	return 0;
}

static void stop_connections(struct nd_device *dev)
{
	unsigned int i;

	spin_lock(&dev->lock);
	WRITE_ONCE(dev->removing, true);
	spin_unlock(&dev->lock);
	cancel_work_sync(&dev->kill_work);
	mutex_lock(&dev->scale_lock);	/* a scale sees removing, returns */
	for (i = 0; i < ND_MAX_CONNS; i++)
		nd_conn_disconnect(&dev->conns[i], jiffies + HZ);
	for (i = 0; i < ND_MAX_CONNS; i++)
		nd_conn_shutdown(&dev->conns[i]);
	mutex_unlock(&dev->scale_lock);
	/* after nd_dev_halt_all: what waits in the queue fails too */
	if (READ_ONCE(dev->halted))
		blk_mq_unquiesce_queue(dev->disk->queue);
	/* a freeze in it ends: what was in flight has failed */
	cancel_work_sync(&dev->update_work);
}

static struct nd_device *alloc_device(struct nd_config *cfg)
{
	struct nd_device *dev;
	unsigned int i;
	int index;

	if (cfg->index > MAX_INDEX)
		return ERR_PTR(-EINVAL);
	if (cfg->index >= 0)
		index = ida_alloc_range(&nd_index_ida, cfg->index, cfg->index,
					GFP_KERNEL);
	else
		index = ida_alloc_max(&nd_index_ida, MAX_INDEX, GFP_KERNEL);
	if (index < 0)
		return ERR_PTR(index == -ENOSPC ? -EEXIST : index);
	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (dev)
		dev->conns = kcalloc(ND_MAX_CONNS, sizeof(*dev->conns),
				     GFP_KERNEL);
	if (!dev || !dev->conns ||
	    nd_conn_memalloc_hold(&dev->memalloc_hold)) {
		if (dev)
			kfree(dev->conns);
		kfree(dev);
		ida_free(&nd_index_ida, index);
		return ERR_PTR(-ENOMEM);
	}
	dev->index = index;
	dev->cfg = *cfg;
	if (!cfg->client_id_set)
		get_random_bytes(dev->cfg.client_id, ND_CLIENT_ID_LEN);
	snprintf(dev->name, sizeof(dev->name), ND_DRV_NAME "%d", index);
	nd_cache_init(&dev->cache, dev->name, cfg->cache);
	spin_lock_init(&dev->lock);
	mutex_init(&dev->queue_lock);
	mutex_init(&dev->scale_lock);
	atomic_set(&dev->reconnects, 0);
	dev->last_answer = jiffies;
	INIT_WORK(&dev->kill_work, kill_work);
	INIT_WORK(&dev->update_work, update_work);
	for (i = 0; i < ND_MAX_CONNS; i++)
		nd_conn_init(&dev->conns[i], dev, i, &nd_dev_conn_ops);
	return dev;
}

static void free_device(struct nd_device *dev)
{
	unsigned int i;

	for (i = 0; i < ND_MAX_CONNS; i++) {
		nd_conn_release(&dev->conns[i]);
		nd_conn_free(&dev->conns[i]);
		mutex_destroy(&dev->conns[i].tx_lock);
		mutex_destroy(&dev->conns[i].connect_lock);
	}
	nd_conn_sock_release(dev->memalloc_hold);	/* after the others */
	nd_cache_destroy(&dev->cache);
	mutex_destroy(&dev->queue_lock);
	mutex_destroy(&dev->scale_lock);
	ida_free(&nd_index_ida, dev->index);
	kfree(dev->conns);
	kfree_sensitive(dev);	/* the key is in dev->cfg */
}

/*
 * Attach: connect and authenticate every connection, then create the
 * disk.  On failure nothing is left behind and the log says why.
 */
struct nd_device *nd_dev_add(struct nd_config *cfg)
{
	struct nd_device *dev;
	struct attach *at;
	int err;

	dev = alloc_device(cfg);
	if (IS_ERR(dev)) {
		err = PTR_ERR(dev);
		goto err_log;
	}
	at = kzalloc(sizeof(*at), GFP_KERNEL);
	if (!at) {
		err = -ENOMEM;
		goto err_free;
	}
	err = open_connections(dev, at);
	if (!err)
		err = nd_cache_start(&dev->cache, dev->info.flags, dev->cfg.ro);
	if (err)
		goto err_release;
	err = alloc_disk(dev);
	if (err)
		goto err_release;
	err = start_connections(dev, at);
	if (err)
		goto err_stop;
	err = device_add_disk(NULL, dev->disk, disk_groups);
	if (err)
		goto err_stop;
	attach_release(at);
	kfree(at);

	mutex_lock(&nd_devs_lock);
	list_add_tail(&dev->list, &nd_devs);
	mutex_unlock(&nd_devs_lock);
	pr_info("%s: attached %pISpc/%s%s%s%s\n", dev->name, &dev->cfg.addr,
		dev->cfg.export, dev->cfg.name[0] ? " name=" : "",
		dev->cfg.name, dev->cfg.server_pub_set ? " protocol 3" : "");
	return dev;

err_stop:
	stop_connections(dev);
	free_disk(dev);
err_release:
	attach_release(at);
	kfree(at);
err_free:
	free_device(dev);
err_log:
	pr_err(ND_DRV_NAME ": %pISpc/%s: %s (%d)\n", &cfg->addr, cfg->export,
	       attach_error(cfg, err), err);
	return ERR_PTR(err);
}

/* How long a retired connection may take to finish what it carries. */
#define SCALE_DRAIN_TIMEOUT	(ND_IO_TIMEOUT + ND_CONNECT_TIMEOUT)
#define SCALE_POLL_MS		20

static int grow_to(struct nd_device *dev, unsigned int n)
{
	unsigned int i;
	int err = 0;

	for (i = dev->nconns; i < n && !err; i++) {
		err = nd_conn_add(&dev->conns[i], jiffies + ND_CONNECT_TIMEOUT);
		if (err)
			pr_err("%s: connection %u: cannot add it: %s (%d)\n",
			       dev->name, i, attach_error(&dev->cfg, err), err);
		else
			WRITE_ONCE(dev->nconns, i + 1);
	}
	return err;
}

/* Requests still on connections n.. (sent, or held for a reconnect). */
static unsigned int busy_from(struct nd_device *dev, unsigned int n,
			      unsigned int old)
{
	unsigned int i, busy = 0;

	for (i = n; i < old; i++)
		busy += nd_conn_busy(&dev->conns[i], false);
	return busy;
}

/*
 * Connections n.. take no new request; what they carry completes there
 * (or, if one breaks, goes out again on the others once its slot has a
 * new session), then they close.  If they still carry requests after
 * SCALE_DRAIN_TIMEOUT, they stay.
 */
static int shrink_to(struct nd_device *dev, unsigned int n)
{
	unsigned long deadline = jiffies + SCALE_DRAIN_TIMEOUT;
	unsigned int i, busy, old = dev->nconns;

	for (i = n; i < old; i++)
		nd_conn_retire(&dev->conns[i], true);
	WRITE_ONCE(dev->nconns, n);
	while ((busy = busy_from(dev, n, old)) > 0) {
		if (nd_dev_gone(dev))
			return -ENODEV;
		if (time_after(jiffies, deadline)) {
			pr_err("%s: connections %u..%u still carry %u requests after %u s, keeping them\n",
			       dev->name, n, old - 1, busy,
			       SCALE_DRAIN_TIMEOUT / HZ);
			WRITE_ONCE(dev->nconns, old);
			for (i = n; i < old; i++)
				nd_conn_retire(&dev->conns[i], false);
			return -ETIMEDOUT;
		}
		msleep(SCALE_POLL_MS);
	}
	for (i = n; i < old; i++)
		nd_conn_close(&dev->conns[i]);
	return 0;
}

/*
 * scale: change the number of connections to n while I/O runs
 * (sysfs.c, the connections attribute).  0, -EINVAL (n out of range or
 * the server allows one connection only; logged), -ENODEV (the device
 * died or is being detached), -EINTR, or why a new connection failed
 * or the old ones did not drain (logged; the connections up stay).
 */
int nd_dev_scale(struct nd_device *dev, unsigned int n)
{
	unsigned int old;
	int err;

	if (n < 1 || n > ND_MAX_CONNS) {
		pr_err("%s: " ND_ATTR_CONNECTIONS "=%u refused: 1..%u\n",
		       dev->name, n, ND_MAX_CONNS);
		return -EINVAL;
	}
	if (n > 1 && !(dev->info.flags & ND_FLAG_MULTI_CONN)) {
		pr_err("%s: " ND_ATTR_CONNECTIONS "=%u refused: the server allows one connection\n",
		       dev->name, n);
		return -EINVAL;
	}
	if (mutex_lock_interruptible(&dev->scale_lock))
		return -EINTR;
	old = dev->nconns;
	if (nd_dev_gone(dev) || READ_ONCE(dev->halted))
		err = -ENODEV;
	else if (n > old)
		err = grow_to(dev, n);
	else if (n < old)
		err = shrink_to(dev, n);
	else
		err = 0;
	if (dev->nconns != old)
		pr_info("%s: %u connections (were %u)\n", dev->name,
			dev->nconns, old);
	mutex_unlock(&dev->scale_lock);
	return err;
}

static void remove_device(struct nd_device *dev)
{
	stop_connections(dev);
	del_gendisk(dev->disk);
	free_disk(dev);
	pr_info("%s: detached\n", dev->name);
	free_device(dev);
}

/*
 * Whether something holds the device exclusively: a mounted file system
 * or swap on it or on one of its partitions (a partition's holder marks
 * the whole disk too), a device-mapper or md device over it, an O_EXCL
 * opener.  Plain opens, such as a dd blocked on a dead server, do not
 * count: detaching is how they end.
 */
static bool device_held(struct nd_device *dev)
{
	return READ_ONCE(dev->disk->part0->bd_holders) > 0;
}

/*
 * Detach "netdiskN" or "N"; -EBUSY while the device is held, unless
 * force.
 */
int nd_dev_remove_by_name(const char *name, bool force)
{
	struct nd_device *dev, *found = NULL;
	size_t plen = strlen(ND_DRV_NAME);
	int index;

	if (!strncmp(name, ND_DRV_NAME, plen))
		name += plen;
	if (kstrtoint(name, 10, &index))
		return -EINVAL;
	mutex_lock(&nd_devs_lock);
	list_for_each_entry(dev, &nd_devs, list) {
		if (dev->index != index)
			continue;
		if (!force && device_held(dev)) {
			mutex_unlock(&nd_devs_lock);
			pr_warn("%s: in use (mounted, swap or held by another device), not detached\n",
				dev->name);
			return -EBUSY;
		}
		found = dev;
		list_del(&dev->list);
		break;
	}
	mutex_unlock(&nd_devs_lock);
	if (!found)
		return -ENODEV;
	if (force && device_held(found))
		pr_warn("%s: in use, detaching by force\n", found->name);
	remove_device(found);
	return 0;
}

void nd_dev_remove_all(void)
{
	struct nd_device *dev;

	for (;;) {
		mutex_lock(&nd_devs_lock);
		dev = list_first_entry_or_null(&nd_devs, struct nd_device,
					       list);
		if (dev)
			list_del(&dev->list);
		mutex_unlock(&nd_devs_lock);
		if (!dev)
			break;
		remove_device(dev);
	}
}

/*
 * The machine goes down: reboot, halt, power off or kexec (main.c's
 * reboot notifier; file systems are synced or read-only by then).  Each
 * device ends its sessions the protocol's way, so that the server
 * releases the export at once, not when TCP gives up on a connection
 * whose other end is gone: the rebooted machine attaches with a new
 * client id, and the export would be busy for it until then.
 *
 *   1. no reconnect from now on (nd_conn_halt);
 *   2. the requests sent complete, for up to HALT_DRAIN;
 *   3. no new request is sent: the queue is quiesced, and what waits in
 *      it waits for good (nothing fails);
 *   4. a DISCONNECT on each connection up: the server answers what it
 *      read, then closes (docs/protocol.md, 9);
 *   5. the server closed them, for up to HALT_TIMEOUT from the start;
 *   6. what is still up is shut down.
 *
 * HALT_TIMEOUT bounds it all, for every device together, whatever the
 * server does.  Under nd_devs_lock: no attach or detach meanwhile.
 */
#define HALT_DRAIN	(2 * HZ)
#define HALT_TIMEOUT	(3 * HZ)
#define HALT_POLL_MS	10

static_assert(ND_MAX_CONNS <= BITS_PER_LONG, "a bit a connection");

static void halt_begin(struct nd_device *dev)
{
	unsigned int i;

	spin_lock(&dev->lock);
	if (!dev->dead && !dev->removing)
		WRITE_ONCE(dev->halted, true);
	spin_unlock(&dev->lock);
	if (!dev->halted)
		return;
	for (i = 0; i < ND_MAX_CONNS; i++)
		nd_conn_halt(&dev->conns[i]);
}

/* Requests sent and not answered, on the connections still up. */
static unsigned int halt_in_flight(struct nd_device *dev)
{
	unsigned int i, n = 0;

	for (i = 0; dev->halted && i < ND_MAX_CONNS; i++)
		if (nd_conn_up(&dev->conns[i]))
			n += nd_conn_busy(&dev->conns[i], true);
	return n;
}

/* Connections sent a DISCONNECT that the server has not closed yet. */
static unsigned int halt_open(struct nd_device *dev)
{
	unsigned int i, n = 0;

	for (i = 0; i < ND_MAX_CONNS; i++)
		if (test_bit(i, &dev->disconnected) &&
		    nd_conn_up(&dev->conns[i]))
			n++;
	return n;
}

/* Poll count over the devices until it is 0 or the deadline; the last sum. */
static unsigned int halt_wait(unsigned int (*count)(struct nd_device *dev),
			      unsigned long deadline)
{
	struct nd_device *dev;
	unsigned int n;

	for (;;) {
		n = 0;
		list_for_each_entry(dev, &nd_devs, list)
			n += count(dev);
		if (!n || time_after(jiffies, deadline))
			return n;
		msleep(HALT_POLL_MS);
	}
}

static void halt_disconnect(struct nd_device *dev, unsigned long deadline)
{
	unsigned int i;

	if (!dev->halted)
		return;
	blk_mq_quiesce_queue_nowait(dev->disk->queue);
	for (i = 0; i < ND_MAX_CONNS; i++)
		if (nd_conn_up(&dev->conns[i]) &&
		    nd_conn_disconnect(&dev->conns[i], deadline))
			set_bit(i, &dev->disconnected);
}

/* Shut down what the server did not close; one line of what happened. */
static void halt_end(struct nd_device *dev)
{
	unsigned int i, closed = 0, up = 0, left = 0;
	struct nd_conn *conn;

	if (!dev->halted)
		return;
	for (i = 0; i < ND_MAX_CONNS; i++) {
		conn = &dev->conns[i];
		if (nd_conn_up(conn)) {
			up++;
			left += nd_conn_busy(conn, true);
			nd_conn_fail(conn);	/* shut down; requests held */
		} else if (test_bit(i, &dev->disconnected)) {
			closed++;
		}
	}
	pr_info("%s: system going down: %u of %u connections disconnected, %u requests unanswered\n",
		dev->name, closed, closed + up, left);
}

void nd_dev_halt_all(void)
{
	unsigned long start = jiffies;
	struct nd_device *dev;

	mutex_lock(&nd_devs_lock);
	list_for_each_entry(dev, &nd_devs, list)
		halt_begin(dev);
	halt_wait(halt_in_flight, start + HALT_DRAIN);
	list_for_each_entry(dev, &nd_devs, list)
		halt_disconnect(dev, start + HALT_TIMEOUT);
	halt_wait(halt_open, start + HALT_TIMEOUT);
	list_for_each_entry(dev, &nd_devs, list)
		halt_end(dev);
	mutex_unlock(&nd_devs_lock);
}

int nd_dev_init(const struct attribute_group **groups)
{
	disk_groups = groups;
	nd_major = register_blkdev(0, ND_DRV_NAME);
	return nd_major < 0 ? nd_major : 0;
}

void nd_dev_exit(void)
{
	unregister_blkdev(nd_major, ND_DRV_NAME);
	ida_destroy(&nd_index_ida);
}
