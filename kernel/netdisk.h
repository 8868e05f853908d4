/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netdisk.ko internal interfaces.  The wire format is netdisk_proto.h,
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

#include "netdisk_proto.h"
#include "netdisk_sysfs.h"

#define ND_DRV_NAME		ND_SYSFS_NAME
#define ND_DEFAULT_DEAD_TIMEOUT	120	/* seconds */
#define ND_PART_SHIFT		4	/* 16 minors per device */
#define ND_IO_TIMEOUT		(30 * HZ)
#define ND_CONNECT_TIMEOUT	(10 * HZ)	/* connect and handshake */
#define ND_MAX_RETRIES		8	/* sends again of one request */

/* main.c: module parameters that are also attach defaults */
extern unsigned int nd_param_conns;
extern unsigned int nd_param_dead_timeout;
extern unsigned long long nd_param_rekey_limit;
unsigned int nd_default_conns(void);

/* crypto.c: SHA-256, HMAC, HKDF, AES-256-GCM */
struct crypto_aead;
struct aead_request;

struct nd_vec {
	const void *base;
	size_t len;
};

void nd_sha256v(u8 out[ND_HASH_LEN], const struct nd_vec *v, unsigned int n);
int nd_hmac_sha256v(u8 out[ND_HASH_LEN], const u8 *key, unsigned int keylen,
		    const struct nd_vec *v, unsigned int n);
int nd_hkdf_extract(u8 prk[ND_HASH_LEN], const u8 *salt, unsigned int saltlen,
		    const u8 *ikm, unsigned int ikmlen);
int nd_expand_label(u8 *out, unsigned int outlen, const u8 secret[ND_HASH_LEN],
		    const char *label, const u8 *ctx, unsigned int ctxlen);

/* One AES-256-GCM key with a preallocated request. */
struct nd_aead {
	struct crypto_aead *tfm;
	struct aead_request *req;
};

int nd_aead_alloc(struct nd_aead *a);
int nd_aead_setkey(struct nd_aead *a, const u8 key[ND_KEY_LEN]);
int nd_aead_init(struct nd_aead *a, const u8 key[ND_KEY_LEN]);
void nd_aead_free(struct nd_aead *a);
/* In place on buf = ad || text [|| tag]; buf must be kmalloc'ed memory. */
int nd_aead_seal(struct nd_aead *a, const u8 nonce[ND_IV_LEN], u8 *buf,
		 unsigned int adlen, unsigned int textlen);
int nd_aead_open(struct nd_aead *a, const u8 nonce[ND_IV_LEN], u8 *buf,
		 unsigned int adlen, unsigned int textlen);

/* handshake.c: the v2 client handshake, no I/O */
struct nd_traffic {
	u8 secret[ND_HASH_LEN];
	u8 key[ND_KEY_LEN];
	u8 iv[ND_IV_LEN];
};

struct nd_keys {
	struct nd_traffic c2s;
	struct nd_traffic s2c;
};

/* What the server announced, host byte order. */
struct nd_export_info {
	u32 status;
	u32 flags;
	u64 size;
	u32 min_block;
	u32 pref_block;
	u32 max_payload;
	u8 export_id[ND_EXPORT_ID_LEN];
};

/*
 * One handshake; nd_hs_alloc it (the messages are crypto scatterlists).
 * A connection keeps its own from attach to detach: a reconnect allocates
 * nothing.
 */
struct nd_hs {
	u8 ch[ND_CLIENT_HELLO_LEN] __aligned(8);	/* wire bytes */
	u8 sh[ND_SERVER_HELLO_LEN] __aligned(8);	/* wire bytes */
	u8 sh_plain[ND_SERVER_HELLO_LEN] __aligned(8);
	u8 cf[ND_CLIENT_FINISHED_LEN];
	u8 early[ND_HASH_LEN];
	u8 eph_priv[ND_KEY_LEN];
	u8 hs_secret[ND_HASH_LEN];
	u8 srv_version_min;
	u8 srv_version_max;
	struct nd_aead aead;	/* last: nd_hs_wipe keeps it */
};

int nd_hs_client_hello(struct nd_hs *hs, const u8 psk[ND_KEY_LEN],
		       const u8 client_id[ND_CLIENT_ID_LEN], u32 options,
		       u16 conn, const char *name, unsigned int name_len,
		       bool preset_eph);
int nd_hs_check_server_hdr(struct nd_hs *hs);
int nd_hs_client_finish(struct nd_hs *hs, struct nd_export_info *info,
			struct nd_keys *keys);
int nd_traffic_derive(struct nd_traffic *t);
int nd_traffic_update(struct nd_traffic *t);
void nd_hs_wipe(struct nd_hs *hs);
struct nd_hs *nd_hs_alloc(void);
void nd_hs_free(struct nd_hs *hs);

/* record.c: TLS 1.3-format records over a kernel TCP socket */
struct nd_rec_dir {
	struct nd_traffic traffic;
	struct nd_aead aead;
	u64 seq;
};

struct nd_record {
	struct socket *sock;
	struct nd_rec_dir tx;
	struct nd_rec_dir rx;
	u64 tx_rekey_limit;	/* nd_param_rekey_limit */
	u8 *txbuf;		/* header || plaintext being filled */
	unsigned int txlen;	/* plaintext bytes in txbuf */
	u8 *rxbuf;		/* header || decrypted record */
	unsigned int rxpos;	/* next unread plaintext byte */
	unsigned int rxlen;	/* end of plaintext */
	u8 *kubuf;		/* one KeyUpdate record */
	u64 tx_updates;
	u64 rx_updates;
};

#define ND_REC_BUF_LEN	(ND_REC_HDR_LEN + ND_REC_MAX_CIPHERTEXT)

int nd_sock_send(struct socket *sock, const void *buf, size_t len);
int nd_sock_recv(struct socket *sock, void *buf, size_t len);
int nd_sock_send_by(struct socket *sock, const void *buf, size_t len,
		    unsigned long deadline);
int nd_sock_recv_by(struct socket *sock, void *buf, size_t len,
		    unsigned long deadline);
int nd_rec_dir_init(struct nd_rec_dir *d, const struct nd_traffic *t);
void nd_rec_dir_free(struct nd_rec_dir *d);
int nd_rec_dir_update(struct nd_rec_dir *d);
int nd_rec_seal(struct nd_rec_dir *d, u8 *rec, unsigned int len, u8 type);
int nd_rec_open(struct nd_rec_dir *d, u8 *rec, unsigned int *len, u8 *type);
int nd_rec_alloc(struct nd_record *rc);
int nd_rec_start(struct nd_record *rc, struct socket *sock,
		 const struct nd_keys *keys);
void nd_rec_stop(struct nd_record *rc);
void nd_rec_free(struct nd_record *rc);
int nd_rec_write(struct nd_record *rc, const void *buf, size_t len);
int nd_rec_flush(struct nd_record *rc);
int nd_rec_read(struct nd_record *rc, void *buf, size_t len);

/* conn.c: a device's TCP connections, each served by a hardware queue */
enum nd_conn_state {
	ND_CONN_DOWN,		/* waiting to reconnect */
	ND_CONN_UP,
	ND_CONN_FAILING,	/* reset scheduled */
	ND_CONN_DEAD,		/* I/O fails */
};

struct nd_device;

struct nd_conn {
	struct nd_device *dev;
	unsigned int index;
	struct blk_mq_hw_ctx *hctx;
	atomic_t state;			/* enum nd_conn_state */
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

int nd_conn_open(struct nd_conn *conn, struct socket **sockp,
		 struct nd_export_info *info, struct nd_keys *keys);
void nd_conn_init(struct nd_conn *conn, struct nd_device *dev,
		  unsigned int index);
int nd_conn_alloc(struct nd_conn *conn);
void nd_conn_free(struct nd_conn *conn);
int nd_conn_start(struct nd_conn *conn, struct socket *sock,
		  const struct nd_keys *keys);
void nd_conn_disconnect(struct nd_conn *conn);
void nd_conn_fail(struct nd_conn *conn);
void nd_conn_shutdown(struct nd_conn *conn);
void nd_conn_release(struct nd_conn *conn);
void nd_dev_queue_kill(struct nd_device *dev);
int nd_wq_init(void);
void nd_wq_exit(void);

/*
 * io.c: requests and replies on a connection.  A request the block layer
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
	unsigned long since;	/* jiffies: first sent */
	blk_status_t status;
};

int nd_io_send(struct nd_conn *conn, struct request *rq);
int nd_io_recv(struct nd_conn *conn);
int nd_io_cmd_type(struct request *rq);
bool nd_io_give_up(struct nd_device *dev, struct nd_pdu *cmd);
void nd_io_end(struct request *rq, blk_status_t status);
void nd_io_requeue(struct request *rq);

/* dev.c: the block device */
struct nd_config {
	struct sockaddr_storage addr;
	int addrlen;
	char export[ND_NAME_MAX + 1];
	unsigned int export_len;
	u8 key[ND_KEY_LEN];
	u8 client_id[ND_CLIENT_ID_LEN];
	bool client_id_set;
	int index;			/* -1: first free */
	unsigned int conns;
	unsigned int dead_timeout;	/* seconds */
	bool ro;
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
	 * Connection i is served by hardware queue i % nhw: one each, unless
	 * there are more connections than CPUs (blk-mq's limit on queues).
	 */
	struct nd_conn *conns;
	unsigned int nconns;
	unsigned int nhw;
	struct mutex queue_lock;	/* stopping and starting queues */
	spinlock_t lock;		/* dead, removing */
	bool dead;
	bool removing;
	atomic_t reconnects;
	unsigned long last_answer;	/* jiffies: the last reply */
	struct work_struct kill_work;
	struct work_struct update_work;	/* size and features to the disk */
	u64 shown_size;			/* update_work's */
	u32 shown_flags;
};

bool nd_dev_gone(struct nd_device *dev);
void nd_dev_kill(struct nd_device *dev);
int nd_dev_check_same(struct nd_device *dev, const struct nd_export_info *info);
struct nd_device *nd_dev_add(struct nd_config *cfg);
int nd_dev_remove_by_name(const char *name);
void nd_dev_remove_all(void);
const char *nd_dev_state(struct nd_device *dev);
int nd_dev_init(void);
void nd_dev_exit(void);

/* sysfs.c: /sys/bus/netdisk/{add,remove}, /sys/block/netdiskN/netdisk/ */
extern const struct attribute_group *nd_disk_groups[];
int nd_config_parse(struct nd_config *cfg, char *line);
int nd_config_set_address(struct nd_config *cfg, const char *addr, u16 port);
int nd_config_set_export(struct nd_config *cfg, const char *name);
int nd_parse_key(u8 key[ND_KEY_LEN], const char *hex);
int nd_sysfs_init(void);
void nd_sysfs_exit(void);

/* selftest.c */
int nd_selftest(void);

#endif /* ND_NETDISK_H */
