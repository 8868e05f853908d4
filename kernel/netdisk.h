/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netdisk.ko: the module-wide definitions and the structures its device
 * side shares (a device, its connections, its requests).  Each unit
 * declares what it exports in its own header (conn.h, dev.h ...); the
 * units form layers, none calls up into a unit that calls it:
 *
 *   main -> sysfs -> dev -> conn -> io -> record -> handshake -> crypto
 *
 * (params and selftest aside; cache, the client cache, is called by dev,
 * conn and io and calls none of them).  A connection reaches its device only
 * through struct nd_conn_ops.  The wire format is netdisk_proto.h,
 * shared with netdiskd and netdiskctl; docs/protocol.md specifies it.
 */
#ifndef ND_NETDISK_H
#define ND_NETDISK_H

#include <linux/atomic.h>
#include <linux/blk-mq.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/net.h>
#include <linux/socket.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include "cache.h"
#include "handshake.h"
#include "netdisk_proto.h"
#include "netdisk_sysfs.h"
#include "record.h"

#define ND_DRV_NAME		ND_SYSFS_NAME
#define ND_DEFAULT_DEAD_TIMEOUT	120	/* seconds */
#define ND_PART_SHIFT		4	/* 16 minors per device */
#define ND_IO_TIMEOUT		(30 * HZ)
#define ND_CONNECT_TIMEOUT	(10 * HZ)	/* connect and handshake */
#define ND_MAX_RETRIES		8	/* sends again of one request */

/* A device's TCP connections (conn.c) */
enum nd_conn_state {
	ND_CONN_DOWN,		/* waiting to reconnect */
	ND_CONN_UP,
	ND_CONN_FAILING,	/* reset scheduled */
	ND_CONN_DEAD,		/* I/O fails */
};

struct nd_device;
struct nd_conn_ops;

struct nd_conn {
	struct nd_device *dev;
	const struct nd_conn_ops *ops;	/* the device's, conn.h */
	unsigned int index;
	atomic_t state;			/* enum nd_conn_state */
	bool retiring;			/* scale: no new requests (tx_lock) */
	bool closing;			/* scale, halt: no reconnect */
	struct mutex tx_lock;		/* sending: sock, rec.tx */
	struct socket *sock;
	struct nd_record rec;		/* allocated at attach, keyed when up */
	struct nd_hs *hs;		/* allocated at attach */
	struct mutex connect_lock;	/* connecting */
	struct socket *connecting;	/* in connect or handshake */
	unsigned long down_since;	/* jiffies */
	unsigned int backoff_ms;
	struct task_struct *recv_task;	/* parked while down */
	bool recv_running;		/* unparked */
	struct work_struct reset_work;
	struct delayed_work reconnect_work;
};

/*
 * Requests and replies on a connection (io.c).  A request the block layer
 * started is IDLE (being sent, or completing), SENT on cmd->conn, or HELD:
 * its connection broke, and it goes out again only once that connection
 * slot has a new session (the server drained the old one), or fails when
 * the device dies.  Every change of state is made under cmd->lock, and
 * only the change out of SENT or HELD completes or requeues the request:
 * once, whoever gets there first.
 */
enum nd_cmd_state {
	ND_CMD_IDLE,
	ND_CMD_SENT,
	ND_CMD_HELD,
};

struct nd_pdu {
	struct mutex lock;	/* state, sending, receiving */
	struct nd_conn *conn;	/* being sent, sent or held on */
	u32 cookie;		/* incremented on every send */
	u32 len;		/* bytes asked for, as sent */
	u8 state;		/* enum nd_cmd_state */
	u8 retries;		/* sent again after a connection broke */
	bool last_try;		/* timed out unanswered past dead_timeout */
	u32 cache_snap;		/* a READ's, nd_cache_submit */
	unsigned long since;	/* jiffies: first sent */
	blk_status_t status;
};

/* The block device (dev.c) */
struct nd_config {
	struct sockaddr_storage addr;
	int addrlen;
	char export[ND_NAME_MAX + 1];
	unsigned int export_len;
	u8 key[ND_KEY_LEN];
	u8 client_id[ND_CLIENT_ID_LEN];
	bool client_id_set;
	bool server_pub_set;		/* protocol v3, pinned */
	u8 server_pub[ND_KEY_LEN];	/* the server's static key, public */
	int index;			/* -1: first free */
	unsigned int conns;
	unsigned int dead_timeout;	/* seconds */
	bool ro;
	u64 cache;			/* bytes, 0: off */
	char name[ND_DEV_NAME_MAX + 1];	/* netdisktab entry, "" for none */
};

struct nd_device {
	struct list_head list;
	int index;
	char name[DISK_NAME_LEN];
	struct nd_config cfg;
	struct nd_export_info info;
	struct blk_mq_tag_set tag_set;
	struct gendisk *disk;
	/*
	 * ND_MAX_CONNS slots, the first nconns in use: connection i serves
	 * hardware queue i % nhw first, and any queue whose own connections
	 * are down or gone.  nhw is fixed at attach; nconns changes with
	 * scale (nd_dev_scale, under scale_lock; read with READ_ONCE).
	 */
	struct nd_conn *conns;
	struct socket *memalloc_hold;	/* nd_conn_memalloc_hold */
	unsigned int nconns;
	unsigned int nhw;
	struct mutex scale_lock;	/* changing nconns, detach, death */
	struct mutex queue_lock;	/* stopping and starting queues */
	spinlock_t lock;		/* dead, removing */
	bool dead;
	bool removing;
	bool halted;			/* the machine goes down (nd_devs_lock) */
	unsigned long disconnected;	/* halt: DISCONNECT sent, a bit a slot */
	atomic_t reconnects;
	unsigned long last_answer;	/* jiffies: the last reply */
	struct work_struct kill_work;
	struct work_struct update_work;	/* size and features to the disk */
	u64 shown_size;			/* update_work's */
	u32 shown_flags;
	struct nd_cache cache;
};

/* The device is dead or being removed: no new I/O, no reconnect. */
static inline bool nd_dev_gone(struct nd_device *dev)
{
	return READ_ONCE(dev->dead) || READ_ONCE(dev->removing);
}

#endif /* ND_NETDISK_H */
