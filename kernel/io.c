// SPDX-License-Identifier: GPL-2.0-only
/*
 * Requests and replies on one connection: struct nd_request (+ WRITE
 * payload) out, struct nd_reply (+ READ payload) in, through the record
 * layer.  The handle of a request is its blk-mq unique tag in the low 32
 * bits and the command's cookie, bumped on every send, in the high 32.
 */
#include <linux/blk-mq.h>
#include <linux/highmem.h>

#include "cache.h"
#include "io.h"
#include "netdisk.h"
#include "record.h"

int nd_io_cmd_type(struct request *rq)
{
	switch (req_op(rq)) {
	case REQ_OP_READ:
		return ND_CMD_READ;
	case REQ_OP_WRITE:
		return ND_CMD_WRITE;
	case REQ_OP_FLUSH:
		return ND_CMD_FLUSH;
	case REQ_OP_DISCARD:
		return ND_CMD_TRIM;
	case REQ_OP_WRITE_ZEROES:
		return ND_CMD_WRITE_ZEROES;
	default:
		return -EOPNOTSUPP;
	}
}

static void encode_request(struct request *rq, int type, u32 cookie,
			   struct nd_request *req)
{
	u16 flags = 0;

	if ((rq->cmd_flags & REQ_FUA) &&
	    (type == ND_CMD_WRITE || type == ND_CMD_WRITE_ZEROES))
		flags |= ND_CMD_FLAG_FUA;
	req->magic = cpu_to_be32(ND_REQUEST_MAGIC);
	req->flags = cpu_to_be16(flags);
	req->type = cpu_to_be16(type);
	req->handle = cpu_to_be64((u64)cookie << 32 | blk_mq_unique_tag(rq));
	req->offset = 0;
	req->length = 0;
	req->reserved = 0;
	if (type != ND_CMD_FLUSH) {
		req->offset = cpu_to_be64((u64)blk_rq_pos(rq) << SECTOR_SHIFT);
		req->length = cpu_to_be32(blk_rq_bytes(rq));
	}
}

static int send_payload(struct nd_conn *conn, struct request *rq)
{
	struct req_iterator iter;
	struct bio_vec bv;
	void *p;
	int err;

	rq_for_each_segment(bv, rq, iter) {
		p = bvec_kmap_local(&bv);
		err = nd_rec_write(&conn->rec, p, bv.bv_len);
		kunmap_local(p);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Send rq on conn; the caller holds conn->tx_lock and the cmd's lock.
 * Full records go out at once; the last one stays in conn's buffer for
 * the requests that follow at once (several in one record and one
 * sendmsg), and the caller pushes it (nd_io_push) when no more follow.
 */
int nd_io_send(struct nd_conn *conn, struct request *rq)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);
	int type = nd_io_cmd_type(rq);
	struct nd_request req;
	int err;

	if (type < 0)
		return type;
	encode_request(rq, type, cmd->cookie, &req);
	cmd->len = type == ND_CMD_FLUSH ? 0 : blk_rq_bytes(rq);
	err = nd_rec_write(&conn->rec, &req, sizeof(req));
	if (!err && type == ND_CMD_WRITE)
		err = send_payload(conn, rq);
	return err;
}

/*
 * Send what nd_io_send held back, if conn holds anything and is
 * connected; the caller holds conn->tx_lock.
 */
int nd_io_push(struct nd_conn *conn)
{
	if (!conn->rec.txlen || !conn->rec.sock)
		return 0;
	return nd_rec_flush(&conn->rec);
}

/* Exactly cmd->len bytes into the request's pages. */
static int recv_payload(struct nd_conn *conn, struct request *rq)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);
	u32 left = cmd->len;
	struct req_iterator iter;
	struct bio_vec bv;
	void *p;
	int err;

	if (blk_rq_bytes(rq) != left)
		return -EPROTO;
	rq_for_each_segment(bv, rq, iter) {
		if (bv.bv_len > left)
			return -EPROTO;
		p = bvec_kmap_local(&bv);
		err = nd_rec_read(&conn->rec, p, bv.bv_len);
		kunmap_local(p);
		if (err)
			return err;
		flush_dcache_page(bv.bv_page);
		left -= bv.bv_len;
	}
	return left ? -EPROTO : 0;
}

/*
 * The request a reply's handle names, of any hardware queue (a
 * connection serves any, dev.c), or NULL: a handle out of range, or
 * naming a request that is not started; reply() checks that it is in
 * flight on this connection.  The
 * caller holds the queue's usage reference, so the request cannot be
 * freed under it; the cookie and state checks come under cmd->lock.
 */
static struct request *find_request(struct nd_conn *conn, u64 handle)
{
	struct blk_mq_tag_set *set = &conn->dev->tag_set;
	u32 utag = lower_32_bits(handle);
	u16 hwq = blk_mq_unique_tag_to_hwq(utag);
	u16 tag = blk_mq_unique_tag_to_tag(utag);
	struct request *rq;

	if (hwq >= set->nr_hw_queues || tag >= set->queue_depth)
		return NULL;
	rq = blk_mq_tag_to_rq(set->tags[hwq], tag);
	if (!rq || !blk_mq_request_started(rq))
		return NULL;
	return rq;
}

static blk_status_t error_status(u32 error)
{
	switch (error) {
	case ND_OK:
		return BLK_STS_OK;
	case ND_ENOSPC:
		return BLK_STS_NOSPC;
	case ND_ENOTSUP:
		return BLK_STS_NOTSUPP;
	default:
		return BLK_STS_IOERR;
	}
}

static void log_error(struct nd_conn *conn, struct request *rq, u32 error)
{
	pr_err_ratelimited("%s: %s of %u bytes at %llu failed: server error %u\n",
			   conn->dev->name, blk_op_str(req_op(rq)),
			   blk_rq_bytes(rq),
			   (unsigned long long)blk_rq_pos(rq) << SECTOR_SHIFT,
			   error);
}

/*
 * The reply for rq: complete it, or an error that resets the connection
 * (a stale handle: the request is not in flight on this connection, or
 * its cookie differs; -ESHUTDOWN: the server did not execute it, it is
 * held and goes out again after the reconnect).
 */
static int reply(struct nd_conn *conn, struct request *rq, u64 handle,
		 u32 error)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);
	int err = 0;

	mutex_lock(&cmd->lock);
	if (cmd->state != ND_CMD_SENT || cmd->conn != conn ||
	    cmd->cookie != upper_32_bits(handle))
		err = -EPROTO;
	else if (error == ND_ESHUTDOWN)
		err = -ESHUTDOWN;
	else if (error == ND_OK && req_op(rq) == REQ_OP_READ)
		err = recv_payload(conn, rq);
	if (err) {
		mutex_unlock(&cmd->lock);
		return err;
	}
	WRITE_ONCE(conn->dev->last_answer, jiffies);
	if (error)
		log_error(conn, rq, error);
	nd_io_end(rq, error_status(error));
	return 0;
}

/* Receive one reply and complete its request; 0 or a negative errno. */
int nd_io_recv(struct nd_conn *conn)
{
	struct request_queue *q = conn->dev->disk->queue;
	struct nd_reply rep;
	struct request *rq;
	u64 handle;
	int err;

	err = nd_rec_read(&conn->rec, &rep, sizeof(rep));
	if (err)
		return err;
	if (be32_to_cpu(rep.magic) != ND_REPLY_MAGIC)
		return -EPROTO;
	handle = be64_to_cpu(rep.handle);
	/*
	 * While this is held the queue cannot be frozen and its requests
	 * freed (elevator switch, del_gendisk); a request completed and
	 * reused meanwhile fails the cookie and state checks of reply().
	 */
	if (!percpu_ref_tryget(&q->q_usage_counter))
		return -EPROTO;
	rq = find_request(conn, handle);
	err = rq ? reply(conn, rq, handle, be32_to_cpu(rep.error)) : -EPROTO;
	percpu_ref_put(&q->q_usage_counter);
	return err;
}

/*
 * A request whose connection broke is given up (EIO) once it was sent
 * again ND_MAX_RETRIES times: a server that answers everything with
 * ND_ESHUTDOWN cannot keep it forever.
 */
bool nd_io_give_up(struct nd_pdu *cmd)
{
	return cmd->retries >= ND_MAX_RETRIES;
}

/*
 * Has the server answered nothing, to any request, for dead_timeout since
 * cmd was first sent?  Asked when cmd times out.  It does not fail cmd by
 * itself: the client may not have run meanwhile (a virtual machine that
 * its host paused, or starved of CPU), with the answer waiting to be read.
 * cmd goes out once more on a new connection and fails if that times out
 * too (dev.c's nd_timeout): a server that accepts connections but never
 * answers cannot keep it forever either.
 */
bool nd_io_unanswered(struct nd_device *dev, struct nd_pdu *cmd)
{
	unsigned long since = READ_ONCE(dev->last_answer);

	if (time_before(since, cmd->since))
		since = cmd->since;
	return time_after_eq(jiffies, since + dev->cfg.dead_timeout * HZ);
}

/*
 * cmd->lock held: the request leaves the driver with status (unlocks);
 * the client cache sees it first (a READ's data fills it, a write
 * invalidates).
 */
void nd_io_end(struct request *rq, blk_status_t status)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);
	struct nd_device *dev = rq->q->queuedata;

	nd_cache_complete(&dev->cache, rq, cmd->cache_snap, status);
	cmd->state = ND_CMD_IDLE;
	cmd->status = status;
	mutex_unlock(&cmd->lock);
	blk_mq_complete_request(rq);
}

/*
 * cmd->lock held: the request goes back to the block layer to be sent
 * again (unlocks).  queue_rq set RQF_DONTPREP, so blk-mq puts it on the
 * hardware queue's dispatch list, not into the I/O scheduler: a FUA
 * write bypassed the scheduler when it was submitted, and 6.1's
 * mq-deadline would count it as inserted and never as completed.
 */
void nd_io_requeue(struct request *rq)
{
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);

	cmd->state = ND_CMD_IDLE;
	cmd->retries++;
	mutex_unlock(&cmd->lock);
	blk_mq_requeue_request(rq, false);
}
