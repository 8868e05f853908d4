// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TCP connections of a device: connect and handshake, the
 * receive worker, reset on failure (requeue what was in flight), and
 * reconnect with backoff and a fresh handshake until dead_timeout.
 *
 * Reclaim safety (swap on netdisk, writeback under memory pressure): a
 * request that writes pages out must make progress while the machine
 * has no free memory, so nothing on its path may wait for reclaim, whose
 * I/O may be that request's own device.  What allocates on the path:
 *
 *  - the socket (skbs, the pages of its send frags, the receive path):
 *    sk_allocation is GFP_NOIO, sk_use_task_frag is off, and every
 *    socket is sk_set_memalloc'ed from its creation to its release
 *    (sock_setup, nd_conn_sock_release; a socket that never connects
 *    holds the count up meanwhile, nd_conn_memalloc_hold): its
 *    allocations may use the emergency reserves, and so may the network
 *    driver's for the packets that carry its replies (pfmemalloc skbs,
 *    which the stack delivers to SOCK_MEMALLOC sockets only).  Always, as
 *    nbd does, not only while swap is on (as sunrpc does): a block device
 *    is not told of a swapon, nor of a swap file on a filesystem on it,
 *    and the writeback of such a filesystem needs the same guarantee.
 *  - every send and receive (record.c, sock_xfer) and every AEAD seal
 *    and open (crypto.c: the kernel's skcipher walk kmallocs a bounce
 *    block, GFP_KERNEL, where a cipher block straddles a page) run with
 *    PF_MEMALLOC (memalloc_noreclaim_save): no direct reclaim, the
 *    reserves if needed;
 *  - a KeyUpdate's new key (record.c, nd_rec_dir_update: the generic
 *    gcm's setkey kmallocs): PF_MEMALLOC;
 *  - record buffers, transforms and their requests, handshake state and
 *    the receive thread: allocated at attach (GFP_KERNEL), none on the
 *    I/O path or on a reconnect;
 *  - a reconnect (reconnect_work on nd_ctl_wq, WQ_MEM_RECLAIM: a rescuer
 *    runs it when no worker can be created): the socket
 *    (sock_create_kern) and the transforms' keys, with PF_MEMALLOC in a
 *    noio scope, as sunrpc connects a swap transport; a failed
 *    allocation is one more failed attempt, retried until dead_timeout.
 *    reset_work allocates nothing.
 *
 * The receive threads are not freezable (no set_freezable) and wait
 * interruptibly, so neither suspend nor the hung-task detector stops
 * them; nd_ctl_wq is not freezable either.  Requests are sent from
 * kblockd's workers (WQ_MEM_RECLAIM) or kswapd (dev.c, nd_queue_rq).
 */
#include <linux/blk-mq.h>
#include <linux/delay.h>
#include <linux/in.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "cache.h"
#include "conn.h"
#include "handshake.h"
#include "io.h"
#include "netdisk.h"
#include "params.h"
#include "record.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	2000

/*
 * Resets and reconnects.  The receive loops are kthreads, not work items:
 * a workqueue's rescuer runs its items one after the other, and a receive
 * loop never ends while its connection lives.
 */
static struct workqueue_struct *nd_ctl_wq;

int nd_wq_init(void)
{
	nd_ctl_wq = alloc_workqueue("netdisk_ctl", WQ_MEM_RECLAIM |
				    WQ_UNBOUND, 0);
	return nd_ctl_wq ? 0 : -ENOMEM;
}

void nd_wq_exit(void)
{
	destroy_workqueue(nd_ctl_wq);
}

static void sock_set_timeouts(struct socket *sock, long timeo)
{
	lock_sock(sock->sk);
	sock->sk->sk_sndtimeo = timeo;
	sock->sk->sk_rcvtimeo = timeo;
	release_sock(sock->sk);
}

static int status_errno(u32 status)
{
	switch (status) {
	case ND_HS_BUSY:
		return -EBUSY;
	case ND_HS_DENIED:
		return -EACCES;
	case ND_HS_TOO_MANY:
		return -EUSERS;
	case ND_HS_BAD_OPTIONS:
		return -EINVAL;
	case ND_HS_RETRY:	/* the slot's old session still drains */
		return -EAGAIN;
	default:
		return -EAGAIN;
	}
}

/* Receive the ServerHello: header first, the rest if it is no reject. */
static int recv_server_hello(struct socket *sock, struct nd_hs *hs,
			     unsigned long deadline)
{
	size_t hlen = sizeof(struct nd_hello_hdr);
	int err;

	err = nd_sock_recv_by(sock, hs->sh, hlen, deadline);
	if (err == -EPIPE || err == -ECONNRESET)
		return -EKEYREJECTED;	/* closed during the handshake */
	if (err)
		return err;
	err = nd_hs_check_server_hdr(hs);
	if (err)
		return err;
	return nd_sock_recv_by(sock, hs->sh + hlen, sizeof(hs->sh) - hlen,
			       deadline);
}

/*
 * The server refused the hello's version.  A device with server_pub
 * speaks version 3 only and never falls back (docs/protocol.md, 11.6).
 */
static void version_rejected(struct nd_device *dev, const struct nd_hs *hs)
{
	static const char no_key[] =
		" (the server has no static key; with server_pub, version 3 only)";
	static const char needs_key[] =
		" (the server needs version 3: attach with server_pub, the server's public key)";
	const char *why = "";

	if (hs->version == ND_VERSION_3 &&
	    hs->srv_version_max < ND_VERSION_3)
		why = no_key;
	else if (hs->version == ND_VERSION_2 &&
		 hs->srv_version_min >= ND_VERSION_3)
		why = needs_key;
	pr_err_ratelimited("%s: protocol version %u refused: server speaks %u..%u%s\n",
			   dev->name, hs->version, hs->srv_version_min,
			   hs->srv_version_max, why);
}

static int handshake(struct nd_conn *conn, struct socket *sock,
		     struct nd_export_info *info, struct nd_keys *keys,
		     unsigned long deadline)
{
	struct nd_config *cfg = &conn->dev->cfg;
	struct nd_hs *hs = conn->hs;
	int err;

	err = nd_hs_client_hello(hs, cfg->key,
				 cfg->server_pub_set ? cfg->server_pub : NULL,
				 cfg->client_id,
				 cfg->ro ? ND_OPT_READ_ONLY : 0, conn->index,
				 cfg->export, cfg->export_len, false);
	if (!err)
		err = nd_sock_send_by(sock, hs->ch, hs->ch_len, deadline);
	if (!err)
		err = recv_server_hello(sock, hs, deadline);
	if (err == -EPROTONOSUPPORT)
		version_rejected(conn->dev, hs);
	if (!err)
		err = nd_hs_client_finish(hs, info, keys);
	if (!err && info->status != ND_HS_OK)
		err = status_errno(info->status);
	if (!err)
		err = nd_sock_send_by(sock, hs->cf, sizeof(hs->cf), deadline);
	return err;
}

static void sock_setup(struct socket *sock)
{
	struct sock *sk = sock->sk;

	sk->sk_allocation = GFP_NOIO;
	sk->sk_use_task_frag = false;
	sk_set_memalloc(sk);	/* sk_allocation |= __GFP_MEMALLOC */
	tcp_sock_set_nodelay(sk);
	sock_set_keepalive(sk);
}

/*
 * A socket that never connects, SOCK_MEMALLOC from attach to detach
 * (alloc_device, free_device): it keeps the count of memalloc sockets above
 * zero while the device's connections come and go.  That count going from
 * 0 to 1 or back flips the static key memalloc_socks_key, which rewrites
 * the kernel's code on every CPU (text_poke_bp: breakpoints and IPIs);
 * without the hold each reconnect did that twice.
 */
int nd_conn_memalloc_hold(struct socket **sockp)
{
	int err;

	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP,
			       sockp);
	if (!err)
		sk_set_memalloc((*sockp)->sk);
	return err;
}

/*
 * Release a socket of nd_conn_open or nd_conn_memalloc_hold: SOCK_MEMALLOC
 * off first, which puts back the count of memalloc sockets (sock_release
 * would not) and what the socket took from the reserves.
 */
void nd_conn_sock_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (sk && sock_flag(sk, SOCK_MEMALLOC)) {
		lock_sock(sk);
		sk_clear_memalloc(sk);
		release_sock(sk);
	}
	sock_release(sock);
}

/*
 * The socket in connect or handshake, for nd_conn_shutdown to shut down:
 * -ENODEV if the device is already gone.
 */
static int connecting_set(struct nd_conn *conn, struct socket *sock)
{
	int err = 0;

	mutex_lock(&conn->connect_lock);
	if (nd_dev_gone(conn->dev) || READ_ONCE(conn->closing))
		err = -ENODEV;
	else
		conn->connecting = sock;
	mutex_unlock(&conn->connect_lock);
	return err;
}

static void connecting_abort(struct nd_conn *conn)
{
	mutex_lock(&conn->connect_lock);
	if (conn->connecting)
		kernel_sock_shutdown(conn->connecting, SHUT_RDWR);
	mutex_unlock(&conn->connect_lock);
}

/* Connect by deadline; kernel_connect waits for sk_sndtimeo. */
static int connect_by(struct nd_conn *conn, struct socket *sock,
		      unsigned long deadline)
{
	struct nd_config *cfg = &conn->dev->cfg;
	long left = (long)(deadline - jiffies);
	int err;

	if (left <= 0)
		return -ETIMEDOUT;
	sock_set_timeouts(sock, left);
	err = kernel_connect(sock, (struct sockaddr *)&cfg->addr,
			     cfg->addrlen, 0);
	if (err == -EINPROGRESS || err == -EAGAIN)
		err = -ETIMEDOUT;
	return err;
}

static int conn_open_sock(struct nd_conn *conn, struct socket *sock,
			  struct nd_export_info *info, struct nd_keys *keys)
{
	unsigned long deadline = jiffies + ND_CONNECT_TIMEOUT;
	int err;

	sock_setup(sock);
	err = connecting_set(conn, sock);
	if (err)
		return err;
	err = connect_by(conn, sock, deadline);
	if (!err)
		err = handshake(conn, sock, info, keys, deadline);
	mutex_lock(&conn->connect_lock);
	conn->connecting = NULL;
	mutex_unlock(&conn->connect_lock);
	if (err && (nd_dev_gone(conn->dev) || READ_ONCE(conn->closing)))
		err = -ENODEV;		/* shut down: nd_conn_shutdown, _close */
	return err;
}

static_assert(ND_MAX_CONNS <= ND_CONN_SLOTS, "one slot per connection");

/*
 * Connect to the device's server and run the handshake of the
 * connection's slot (conn->index, the same on every reconnect), connect
 * and handshake within ND_CONNECT_TIMEOUT together, in a noio scope (this
 * runs on the reconnect path too; what it needs was allocated at
 * attach).  On success, *sockp is the connected socket (blocking, no
 * timeouts), info what the server announced and keys the traffic keys.
 * Errors: the socket's, -ETIMEDOUT, -ENODEV (the device is being removed
 * or died, or the connection is being closed), -EKEYREJECTED (closed
 * during the handshake: wrong key or unknown export),
 * -EBUSY/-EACCES/-EUSERS/-EINVAL/-EAGAIN (status; -EAGAIN also for
 * ND_HS_RETRY: the slot's earlier session still drains), -EBADMSG,
 * -EPROTO, -EPROTONOSUPPORT.
 */
int nd_conn_open(struct nd_conn *conn, struct socket **sockp,
		 struct nd_export_info *info, struct nd_keys *keys)
{
	struct nd_device *dev = conn->dev;
	unsigned int noio = memalloc_noio_save();
	struct socket *sock;
	int err;

	err = sock_create_kern(&init_net, dev->cfg.addr.ss_family,
			       SOCK_STREAM, IPPROTO_TCP, &sock);
	if (err)
		goto out;
	err = conn_open_sock(conn, sock, info, keys);
	if (err) {
		memzero_explicit(keys, sizeof(*keys));
		nd_conn_sock_release(sock);
		goto out;
	}
	sock_set_timeouts(sock, MAX_SCHEDULE_TIMEOUT);
	*sockp = sock;
out:
	nd_hs_wipe(conn->hs);
	memalloc_noio_restore(noio);
	return err;
}

static const char *recv_reason(int err)
{
	switch (err) {
	case -EPIPE:
		return "server closed the connection";
	case -ECONNRESET:
		return "connection reset";
	case -EBADMSG:
		return "bad record";
	case -EPROTO:
		return "protocol error";
	case -ESHUTDOWN:
		return "server shutting down";
	default:
		return "receive error";
	}
}

/* After a failure: wait until reset_work parks the thread, or a stop. */
static void wait_for_park(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_park() || kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}

/*
 * The receive loop of one connection, for the connection's life: it
 * runs while the connection is up and is parked while it is down, so that
 * a reconnect creates no thread (kthreadd's allocations are no noio
 * scope of ours).
 */
static int recv_thread(void *data)
{
	struct nd_conn *conn = data;
	unsigned int noio = memalloc_noio_save();
	int err;

	while (!kthread_should_stop()) {
		if (kthread_should_park()) {
			kthread_parkme();
			continue;
		}
		do {
			err = nd_io_recv(conn);
		} while (!err);
		if (atomic_read(&conn->state) == ND_CONN_UP &&
		    !nd_dev_gone(conn->dev) && !READ_ONCE(conn->closing))
			pr_warn_ratelimited("%s: connection %u: %s (%d)\n",
					    conn->dev->name, conn->index,
					    recv_reason(err), err);
		nd_conn_fail(conn);
		wait_for_park();
	}
	memalloc_noio_restore(noio);
	return 0;	/* reaped by nd_conn_free() */
}

/*
 * The connection's receive thread, parked; at attach (GFP_KERNEL), for
 * the first nd_conn_start.
 */
static int create_receiver(struct nd_conn *conn)
{
	struct task_struct *task;

	task = kthread_create(recv_thread, conn, "%s-recv%u", conn->dev->name,
			      conn->index);
	if (IS_ERR(task))
		return PTR_ERR(task);
	get_task_struct(task);
	kthread_park(task);	/* recv_thread starts at the first unpark */
	conn->recv_task = task;
	conn->recv_running = false;
	return 0;
}

static void start_receiver(struct nd_conn *conn)
{
	conn->recv_running = true;
	kthread_unpark(conn->recv_task);
}

/* The socket is shut down: wait for the receive loop to leave it. */
static void stop_receiver(struct nd_conn *conn)
{
	if (!conn->recv_running)
		return;
	kthread_park(conn->recv_task);
	conn->recv_running = false;
}

/* At detach, after the connection stopped for good. */
static void destroy_receiver(struct nd_conn *conn)
{
	if (!conn->recv_task)
		return;
	kthread_stop(conn->recv_task);
	put_task_struct(conn->recv_task);
	conn->recv_task = NULL;
	conn->recv_running = false;
}

/*
 * What a connection needs from attach to detach, so that a reconnect
 * allocates nothing: handshake state, record buffers and transforms, the
 * receive thread.  GFP_KERNEL.
 */
int nd_conn_alloc(struct nd_conn *conn)
{
	int err = -ENOMEM;

	conn->hs = nd_hs_alloc();
	if (conn->hs)
		err = nd_rec_alloc(&conn->rec);
	if (!err)
		err = create_receiver(conn);
	if (err)
		nd_conn_free(conn);
	return err;
}

/* After nd_conn_release; also for a connection never allocated. */
void nd_conn_free(struct nd_conn *conn)
{
	destroy_receiver(conn);
	nd_rec_free(&conn->rec);
	nd_hs_free(conn->hs);
	conn->hs = NULL;
}

/* A connection is either UP with sock and rec, or has neither. */
void nd_conn_release(struct nd_conn *conn)
{
	if (!conn->sock)
		return;
	nd_rec_stop(&conn->rec);
	nd_conn_sock_release(conn->sock);
	conn->sock = NULL;
}

/* What happens to the requests a connection carries. */
enum carry_op {
	HOLD,		/* the connection broke: SENT -> HELD */
	RESEND,		/* its slot has a new session: HELD -> block layer */
	FAIL,		/* the device is gone: SENT, HELD -> EIO */
};

struct carry_ctx {
	struct nd_conn *conn;
	enum carry_op what;
	unsigned int count;	/* nd_conn_busy's */
	bool peek;		/* nd_conn_busy's */
};

static bool carry_one(struct request *rq, void *data)
{
	struct carry_ctx *ctx = data;
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);
	struct nd_device *dev = ctx->conn->dev;

	mutex_lock(&cmd->lock);
	if (cmd->conn != ctx->conn || cmd->state == ND_CMD_IDLE ||
	    (ctx->what == RESEND && cmd->state != ND_CMD_HELD)) {
		mutex_unlock(&cmd->lock);
		return true;
	}
	if (ctx->what == HOLD) {
		cmd->state = ND_CMD_HELD;
		mutex_unlock(&cmd->lock);
	} else if (ctx->what == FAIL || nd_io_give_up(cmd)) {
		if (ctx->what == RESEND)
			pr_err_ratelimited("%s: connection %u: giving up on a request after %u retries\n",
					   dev->name, ctx->conn->index,
					   cmd->retries);
		nd_io_end(rq, BLK_STS_IOERR);
	} else {
		nd_io_requeue(rq);
	}
	return true;
}

/* Hold, send again or fail what conn carries; each request once. */
static void carry(struct nd_conn *conn, enum carry_op what)
{
	struct carry_ctx ctx = { .conn = conn, .what = what };

	blk_mq_tagset_busy_iter(&conn->dev->tag_set, carry_one, &ctx);
}

/* Can the connection take new requests? */
bool nd_conn_usable(struct nd_conn *conn)
{
	return atomic_read(&conn->state) == ND_CONN_UP &&
	       !READ_ONCE(conn->retiring);
}

/* Does any connection of the device take requests? */
static bool dev_has_conn_up(struct nd_device *dev)
{
	unsigned int i, n = READ_ONCE(dev->nconns);

	for (i = 0; i < n; i++)
		if (nd_conn_usable(&dev->conns[i]))
			return true;
	return false;
}

/*
 * Hold requests back while no connection is up: any connection serves
 * any hardware queue (dev.c's pick_conn).
 */
static void conn_stop_queue(struct nd_conn *conn)
{
	mutex_lock(&conn->dev->queue_lock);
	if (!dev_has_conn_up(conn->dev))
		blk_mq_stop_hw_queues(conn->dev->disk->queue);
	mutex_unlock(&conn->dev->queue_lock);
}

/* Let the hardware queues run again: requests go out or fail. */
static void conn_restart_queue(struct nd_conn *conn)
{
	mutex_lock(&conn->dev->queue_lock);
	blk_mq_start_stopped_hw_queues(conn->dev->disk->queue, true);
	mutex_unlock(&conn->dev->queue_lock);
	blk_mq_kick_requeue_list(conn->dev->disk->queue);
}

/*
 * The connection broke: its requests are held, not sent anywhere, until
 * this connection slot completes a new handshake (ND_HS_OK means that the
 * server has drained the old session, so none of them can still execute
 * there); reconnect_work then sends them again.  If the device is gone
 * they fail now.
 */
static void reset_work(struct work_struct *work)
{
	struct nd_conn *conn = container_of(work, struct nd_conn, reset_work);
	struct nd_device *dev = conn->dev;
	bool gone;

	nd_cache_drop(&dev->cache);	/* the claim may lapse, cache.c */
	conn_stop_queue(conn);
	if (conn->sock)
		kernel_sock_shutdown(conn->sock, SHUT_RDWR);
	stop_receiver(conn);
	mutex_lock(&conn->tx_lock);
	nd_conn_release(conn);
	mutex_unlock(&conn->tx_lock);

	gone = nd_dev_gone(dev);
	carry(conn, gone ? FAIL : HOLD);
	if (gone) {
		atomic_set(&conn->state, ND_CONN_DEAD);
		conn_restart_queue(conn);
		return;
	}
	if (READ_ONCE(conn->closing)) {
		/* nd_conn_close: drained; nd_conn_halt: held for good */
		atomic_set(&conn->state, ND_CONN_DOWN);
		return;
	}
	conn->down_since = jiffies;
	conn->backoff_ms = BACKOFF_MIN_MS;
	atomic_set(&conn->state, ND_CONN_DOWN);
	pr_info("%s: connection %u lost, reconnecting\n", dev->name,
		conn->index);
	queue_delayed_work(nd_ctl_wq, &conn->reconnect_work,
			   msecs_to_jiffies(conn->backoff_ms));
}

/* Start the reset of an UP connection; any context. */
void nd_conn_fail(struct nd_conn *conn)
{
	if (atomic_cmpxchg(&conn->state, ND_CONN_UP, ND_CONN_FAILING) ==
	    ND_CONN_UP)
		queue_work(nd_ctl_wq, &conn->reset_work);
}

/* Install a connected, authenticated socket and start receiving. */
int nd_conn_start(struct nd_conn *conn, struct socket *sock,
		  const struct nd_keys *keys)
{
	int err;

	mutex_lock(&conn->tx_lock);
	err = nd_rec_start(&conn->rec, sock, keys, nd_param_rekey_limit);
	if (!err) {
		conn->sock = sock;
		atomic_set(&conn->state, ND_CONN_UP);
		start_receiver(conn);
	}
	mutex_unlock(&conn->tx_lock);
	return err;
}

static int reconnect(struct nd_conn *conn)
{
	struct nd_device *dev = conn->dev;
	struct nd_export_info info;
	struct socket *sock;
	struct nd_keys keys;
	unsigned int noio, noreclaim;
	int err;

	/*
	 * All of it: nothing may wait for this device's writeback, and the
	 * requests held for this reconnect may be what reclaim writes out
	 * (swap): no reclaim at all, the reserves if needed.
	 */
	noio = memalloc_noio_save();
	noreclaim = memalloc_noreclaim_save();
	err = nd_conn_open(conn, &sock, &info, &keys);
	if (err)
		goto out;
	err = conn->ops->check_export(dev, &info);
	if (!err && (nd_dev_gone(dev) || READ_ONCE(conn->closing)))
		err = -ENODEV;
	if (!err) {
		/*
		 * ND_HS_OK for this slot: the server has drained the old
		 * session.  The held requests go out again, on any connection
		 * of the queue; this one is not UP yet, so no reset can hold
		 * them again before they are on their way.
		 */
		carry(conn, RESEND);
		err = nd_conn_start(conn, sock, &keys);
	}
	memzero_explicit(&keys, sizeof(keys));
	if (err)
		nd_conn_sock_release(sock);
out:
	memalloc_noreclaim_restore(noreclaim);
	memalloc_noio_restore(noio);
	return err;
}

static void reconnect_work(struct work_struct *work)
{
	struct nd_conn *conn = container_of(to_delayed_work(work),
					    struct nd_conn, reconnect_work);
	struct nd_device *dev = conn->dev;
	unsigned long deadline;
	int err;

	if (nd_dev_gone(dev) || READ_ONCE(conn->closing))
		return;
	err = reconnect(conn);
	if (!err) {
		atomic_inc(&dev->reconnects);
		pr_info("%s: connection %u reconnected\n", dev->name,
			conn->index);
		conn_restart_queue(conn);
		return;
	}
	if (err == -ESTALE || err == -ENODEV)
		return;		/* the device died, or nd_conn_close */
	deadline = conn->down_since + dev->cfg.dead_timeout * HZ;
	if (time_after_eq(jiffies, deadline)) {
		pr_err("%s: connection %u: server not back within %u s (last error %d), failing I/O\n",
		       dev->name, conn->index, dev->cfg.dead_timeout, err);
		conn->ops->kill(dev);
		return;
	}
	conn->backoff_ms = min_t(unsigned int, conn->backoff_ms * 2,
				 BACKOFF_MAX_MS);
	queue_delayed_work(nd_ctl_wq, &conn->reconnect_work,
			   min(msecs_to_jiffies(conn->backoff_ms),
			       deadline - jiffies + 1));
}

#define TX_LOCK_POLL_MS	10

/* tx_lock by deadline: a sender holds it while the socket is full. */
static bool tx_lock_by(struct nd_conn *conn, unsigned long deadline)
{
	while (!mutex_trylock(&conn->tx_lock)) {
		if (time_after(jiffies, deadline))
			return false;
		msleep(TX_LOCK_POLL_MS);
	}
	return true;
}

/*
 * Tell the server that nothing more comes (detach, scale, the machine
 * going down): a DISCONNECT on a connection that is up, written by
 * deadline (a sender still holding the connection then, or a socket
 * buffer still full: none).  Whether it was written.
 */
bool nd_conn_disconnect(struct nd_conn *conn, unsigned long deadline)
{
	struct nd_request req = {
		.magic = cpu_to_be32(ND_REQUEST_MAGIC),
		.type = cpu_to_be16(ND_CMD_DISCONNECT),
	};
	bool sent = false;
	long left;

	if (!tx_lock_by(conn, deadline))
		return false;
	left = (long)(deadline - jiffies);
	if (left > 0 && atomic_read(&conn->state) == ND_CONN_UP &&
	    conn->sock) {
		sock_set_timeouts(conn->sock, left);
		sent = !nd_rec_write(&conn->rec, &req, sizeof(req)) &&
		       !nd_rec_flush(&conn->rec);
	}
	mutex_unlock(&conn->tx_lock);
	return sent;
}

/*
 * The machine goes down (dev.c's nd_dev_halt_all): no reconnect from now
 * on, and a connection that breaks or that the server closes holds what
 * it carries (nothing fails).
 */
void nd_conn_halt(struct nd_conn *conn)
{
	WRITE_ONCE(conn->closing, true);
	connecting_abort(conn);
}

/* Up: not broken, and not closed by the server (after a DISCONNECT). */
bool nd_conn_up(struct nd_conn *conn)
{
	return atomic_read(&conn->state) == ND_CONN_UP;
}

void nd_conn_init(struct nd_conn *conn, struct nd_device *dev,
		  unsigned int index, const struct nd_conn_ops *ops)
{
	conn->dev = dev;
	conn->ops = ops;
	conn->index = index;
	atomic_set(&conn->state, ND_CONN_DOWN);
	mutex_init(&conn->tx_lock);
	mutex_init(&conn->connect_lock);
	INIT_WORK(&conn->reset_work, reset_work);
	INIT_DELAYED_WORK(&conn->reconnect_work, reconnect_work);
}

/*
 * Stop a connection for good once the device is dead or being removed
 * (nd_dev_gone): what was in flight or held fails, and so does new I/O.
 * Not from the connection's own works.
 */
void nd_conn_shutdown(struct nd_conn *conn)
{
	connecting_abort(conn);		/* the reconnect returns at once */
	flush_work(&conn->reset_work);
	cancel_delayed_work_sync(&conn->reconnect_work);
	nd_conn_fail(conn);
	flush_work(&conn->reset_work);
	cancel_delayed_work_sync(&conn->reconnect_work);
	if (!conn->recv_task)
		return;			/* never allocated */
	carry(conn, FAIL);
	atomic_set(&conn->state, ND_CONN_DEAD);
	conn_restart_queue(conn);
}

/* Worth another attempt: the server restarts, or still drains the slot. */
static bool open_transient(int err)
{
	return err == -EAGAIN || err == -ECONNREFUSED || err == -ECONNRESET ||
	       err == -EPIPE || err == -ETIMEDOUT || err == -EKEYREJECTED;
}

/*
 * scale, growing: bring a slot that is not in use up (allocated if it
 * never was), with a new session on it, attempts with backoff until
 * deadline while the error is transient (the server restarts, or still
 * drains the slot's earlier session); GFP_KERNEL.
 * The export must be the device's (check_export).  0 or a negative
 * errno, and the slot stays out of use.
 */
int nd_conn_add(struct nd_conn *conn, unsigned long deadline)
{
	struct nd_device *dev = conn->dev;
	struct nd_export_info info;
	struct socket *sock;
	struct nd_keys keys;
	int err = 0;

	if (!conn->recv_task)
		err = nd_conn_alloc(conn);
	if (err)
		return err;
	WRITE_ONCE(conn->retiring, false);
	WRITE_ONCE(conn->closing, false);
	for (;;) {
		err = nd_conn_open(conn, &sock, &info, &keys);
		if (!open_transient(err) || time_after(jiffies, deadline) ||
		    nd_dev_gone(dev))
			break;
		msleep(BACKOFF_MAX_MS / 4);
	}
	if (!err) {
		err = conn->ops->check_export(dev, &info);
		if (!err)
			err = nd_conn_start(conn, sock, &keys);
		if (err)
			nd_conn_sock_release(sock);
	}
	memzero_explicit(&keys, sizeof(keys));
	if (err) {
		WRITE_ONCE(conn->closing, true);
		return err;
	}
	conn_restart_queue(conn);	/* if no connection was up */
	return 0;
}

/*
 * scale, shrinking: no new request goes to the connection (on) or
 * they may again (off).  Under tx_lock: once this returns, no sender
 * is about to send on it.
 */
void nd_conn_retire(struct nd_conn *conn, bool on)
{
	mutex_lock(&conn->tx_lock);
	WRITE_ONCE(conn->retiring, on);
	mutex_unlock(&conn->tx_lock);
}

static bool count_one(struct request *rq, void *data)
{
	struct carry_ctx *ctx = data;
	struct nd_pdu *cmd = blk_mq_rq_to_pdu(rq);

	if (!ctx->peek)
		mutex_lock(&cmd->lock);
	if (READ_ONCE(cmd->conn) == ctx->conn &&
	    READ_ONCE(cmd->state) != ND_CMD_IDLE)
		ctx->count++;
	if (!ctx->peek)
		mutex_unlock(&cmd->lock);
	return true;
}

/*
 * How many requests the connection carries: sent or held on it.  peek:
 * without the requests' locks (a sender may hold one as long as the
 * socket stays full), a snapshot for a loop with a deadline.
 */
unsigned int nd_conn_busy(struct nd_conn *conn, bool peek)
{
	struct carry_ctx ctx = { .conn = conn, .peek = peek };

	blk_mq_tagset_busy_iter(&conn->dev->tag_set, count_one, &ctx);
	return ctx.count;
}

/*
 * scale, shrinking, once the retired connection carries nothing
 * (nd_conn_busy): tell the server, close it, no reconnect.  The slot
 * keeps what nd_conn_alloc allocated, for a later nd_conn_add.  Not
 * from the connection's own works.
 */
void nd_conn_close(struct nd_conn *conn)
{
	WRITE_ONCE(conn->closing, true);
	nd_conn_disconnect(conn, jiffies + HZ);
	connecting_abort(conn);
	cancel_delayed_work_sync(&conn->reconnect_work);
	nd_conn_fail(conn);
	flush_work(&conn->reset_work);
	cancel_delayed_work_sync(&conn->reconnect_work);
	if (!nd_dev_gone(conn->dev))
		atomic_set(&conn->state, ND_CONN_DOWN);
}
