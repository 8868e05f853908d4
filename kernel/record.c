// SPDX-License-Identifier: GPL-2.0-only
/*
 * The record layer (docs/protocol.md, "Records"): a byte stream carried in
 * TLS 1.3-format AES-256-GCM records over a kernel TCP socket.  The send
 * side is serialized by the caller (nd_conn.tx_lock); the receive side is
 * used by one receive worker only.
 */
#include <crypto/aead.h>
#include <linux/net.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "crypto.h"
#include "handshake.h"
#include "netdisk_proto.h"
#include "record.h"

/* The KeyUpdate a rekey sends, and the only one accepted. */
static const struct nd_key_update key_update_msg = ND_KEY_UPDATE_INIT;

/*
 * Socket timeouts that end at *deadline (jiffies; NULL: none), for the
 * next call: -ETIMEDOUT once it has passed.  A timeout of the socket
 * applies to each call, and a peer that sends a byte at a time would
 * otherwise restart it for ever.
 */
static int sock_until(struct socket *sock, const unsigned long *deadline)
{
	long left;

	if (!deadline)
		return 0;
	left = (long)(*deadline - jiffies);
	if (left <= 0)
		return -ETIMEDOUT;
	lock_sock(sock->sk);
	sock->sk->sk_sndtimeo = left;
	sock->sk->sk_rcvtimeo = left;
	release_sock(sock->sk);
	return 0;
}

/* Exactly len bytes each way: 0, or a negative errno (-EPIPE on EOF). */
static int sock_xfer(struct socket *sock, void *buf, size_t len,
		     const unsigned long *deadline, bool send)
{
	unsigned int noreclaim = memalloc_noreclaim_save();
	struct msghdr msg = { .msg_flags = MSG_NOSIGNAL };
	struct kvec iov;
	int n = 0;

	while (len) {
		n = sock_until(sock, deadline);
		if (n)
			break;
		iov.iov_base = buf;
		iov.iov_len = len;
		if (send)
			n = kernel_sendmsg(sock, &msg, &iov, 1, len);
		else
			n = kernel_recvmsg(sock, &msg, &iov, 1, len,
					   MSG_WAITALL | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		buf += n;
		len -= n;
	}
	memalloc_noreclaim_restore(noreclaim);
	if (!len)
		return 0;
	if (n == -EAGAIN && deadline)
		return -ETIMEDOUT;
	return n < 0 ? n : -EPIPE;
}

/* 0, or a negative errno (-EPIPE if the peer closed). */
int nd_sock_send(struct socket *sock, const void *buf, size_t len)
{
	return sock_xfer(sock, (void *)buf, len, NULL, true);
}

/* Exactly len bytes: 0, or a negative errno (-EPIPE on EOF). */
int nd_sock_recv(struct socket *sock, void *buf, size_t len)
{
	return sock_xfer(sock, buf, len, NULL, false);
}

/* As nd_sock_send, all of it by deadline (jiffies) or -ETIMEDOUT. */
int nd_sock_send_by(struct socket *sock, const void *buf, size_t len,
		    unsigned long deadline)
{
	return sock_xfer(sock, (void *)buf, len, &deadline, true);
}

/* As nd_sock_recv, all of it by deadline (jiffies) or -ETIMEDOUT. */
int nd_sock_recv_by(struct socket *sock, void *buf, size_t len,
		    unsigned long deadline)
{
	return sock_xfer(sock, buf, len, &deadline, false);
}

int nd_rec_dir_init(struct nd_rec_dir *d, const struct nd_traffic *t)
{
	d->traffic = *t;
	d->seq = 0;
	return nd_aead_init(&d->aead, d->traffic.key);
}

void nd_rec_dir_free(struct nd_rec_dir *d)
{
	nd_aead_free(&d->aead);
	memzero_explicit(&d->traffic, sizeof(d->traffic));
	d->seq = 0;
}

/*
 * rec = header room || len content bytes || room for type and tag.
 * Returns the length of the sealed record or a negative errno.
 */
int nd_rec_seal(struct nd_rec_dir *d, u8 *rec, unsigned int len, u8 type)
{
	unsigned int clen = len + ND_REC_MIN_CIPHERTEXT;
	u8 nonce[ND_IV_LEN];
	int err;

	if (len > ND_REC_MAX_PLAINTEXT)
		return -EMSGSIZE;
	nd_rec_hdr_fill(rec, clen);
	rec[ND_REC_HDR_LEN + len] = type;
	nd_rec_nonce(nonce, d->traffic.iv, d->seq);
	err = nd_aead_seal(&d->aead, nonce, rec, ND_REC_HDR_LEN, len + 1);
	if (err)
		return err;
	d->seq++;
	return ND_REC_HDR_LEN + clen;
}

/* The ciphertext length of a record header, or -EBADMSG. */
static int check_header(const u8 *hdr)
{
	u32 clen = nd_rec_hdr_length(hdr);

	return clen ? clen : -EBADMSG;
}

/*
 * Decrypt the whole record in rec in place.  *len and *type get the
 * content length (after rec's header) and the inner content type.
 */
int nd_rec_open(struct nd_rec_dir *d, u8 *rec, unsigned int *len, u8 *type)
{
	int clen = check_header(rec);
	u8 nonce[ND_IV_LEN];
	int err;

	if (clen < 0)
		return clen;
	nd_rec_nonce(nonce, d->traffic.iv, d->seq);
	err = nd_aead_open(&d->aead, nonce, rec, ND_REC_HDR_LEN,
			   clen - ND_TAG_LEN);
	if (err)
		return -EBADMSG;
	d->seq++;
	if (nd_rec_inner(rec + ND_REC_HDR_LEN, clen - ND_TAG_LEN, len, type))
		return -EBADMSG;
	return 0;
}

/*
 * The buffers and transforms of a connection's records, once at attach
 * (GFP_KERNEL): starting and stopping the record layer on a reconnect
 * allocates nothing.
 */
int nd_rec_alloc(struct nd_record *rc)
{
	int err = -ENOMEM;

	memset(rc, 0, sizeof(*rc));
	rc->txbuf = kmalloc(ND_REC_MAX_LEN, GFP_KERNEL);
	rc->rxbuf = kmalloc(ND_REC_MAX_LEN, GFP_KERNEL);
	rc->kubuf = kmalloc(ND_KEY_UPDATE_REC_LEN, GFP_KERNEL);
	if (!rc->txbuf || !rc->rxbuf || !rc->kubuf)
		goto err;
	err = nd_aead_alloc(&rc->tx.aead);
	if (!err)
		err = nd_aead_alloc(&rc->rx.aead);
	if (!err)
		return 0;
err:
	nd_rec_free(rc);
	return err;
}

static int dir_start(struct nd_rec_dir *d, const struct nd_traffic *t)
{
	d->traffic = *t;
	d->seq = 0;
	return nd_aead_setkey(&d->aead, d->traffic.key);
}

/*
 * Records over sock under keys, in the transforms of nd_rec_alloc; a
 * KeyUpdate every rekey_limit records sent.
 */
int nd_rec_start(struct nd_record *rc, struct socket *sock,
		 const struct nd_keys *keys, u64 rekey_limit)
{
	int err;

	rc->sock = sock;
	rc->tx_rekey_limit = rekey_limit;
	rc->txlen = 0;
	rc->rxpos = 0;
	rc->rxlen = 0;
	rc->tx_updates = 0;
	rc->rx_updates = 0;
	err = dir_start(&rc->tx, &keys->c2s);
	if (!err)
		err = dir_start(&rc->rx, &keys->s2c);
	if (err)
		nd_rec_stop(rc);
	return err;
}

static void dir_stop(struct nd_rec_dir *d)
{
	static const u8 zero_key[ND_KEY_LEN];

	memzero_explicit(&d->traffic, sizeof(d->traffic));
	d->seq = 0;
	if (d->aead.tfm)
		nd_aead_setkey(&d->aead, zero_key);
}

/* Forget the keys and what the buffers hold; keep the memory. */
void nd_rec_stop(struct nd_record *rc)
{
	dir_stop(&rc->tx);
	dir_stop(&rc->rx);
	if (rc->txbuf)
		memzero_explicit(rc->txbuf, ND_REC_MAX_LEN);
	if (rc->rxbuf)
		memzero_explicit(rc->rxbuf, ND_REC_MAX_LEN);
	rc->sock = NULL;
	rc->txlen = 0;
	rc->rxpos = 0;
	rc->rxlen = 0;
}

void nd_rec_free(struct nd_record *rc)
{
	nd_rec_dir_free(&rc->tx);
	nd_rec_dir_free(&rc->rx);
	kfree_sensitive(rc->txbuf);
	kfree_sensitive(rc->rxbuf);
	kfree_sensitive(rc->kubuf);
	rc->txbuf = NULL;
	rc->rxbuf = NULL;
	rc->kubuf = NULL;
	rc->sock = NULL;
	rc->txlen = 0;
	rc->rxpos = 0;
	rc->rxlen = 0;
}

/*
 * New key and iv for one direction after a KeyUpdate, in the same
 * transform.  On the I/O path: the setkey's allocation (generic gcm)
 * comes from the reserves, never from reclaim.
 */
int nd_rec_dir_update(struct nd_rec_dir *d)
{
	unsigned int noreclaim = memalloc_noreclaim_save();
	int err;

	err = nd_traffic_update(&d->traffic);
	if (!err)
		err = nd_aead_setkey(&d->aead, d->traffic.key);
	d->seq = 0;
	memalloc_noreclaim_restore(noreclaim);
	return err;
}

/* Record number tx_rekey_limit - 1 is a KeyUpdate. */
static int tx_maybe_rekey(struct nd_record *rc)
{
	int n;

	if (rc->tx.seq + 1 < rc->tx_rekey_limit)
		return 0;
	memcpy(rc->kubuf + ND_REC_HDR_LEN, &key_update_msg,
	       ND_KEY_UPDATE_LEN);
	n = nd_rec_seal(&rc->tx, rc->kubuf, ND_KEY_UPDATE_LEN,
			ND_REC_TYPE_HANDSHAKE);
	if (n < 0)
		return n;
	n = nd_sock_send(rc->sock, rc->kubuf, n);
	if (n)
		return n;
	rc->tx_updates++;
	return nd_rec_dir_update(&rc->tx);
}

/* Seal and send what txbuf holds. */
int nd_rec_flush(struct nd_record *rc)
{
	int n;

	if (!rc->txlen)
		return 0;
	n = tx_maybe_rekey(rc);
	if (n)
		return n;
	n = nd_rec_seal(&rc->tx, rc->txbuf, rc->txlen, ND_REC_TYPE_DATA);
	rc->txlen = 0;
	if (n < 0)
		return n;
	return nd_sock_send(rc->sock, rc->txbuf, n);
}

/* Queue len bytes; full records go out at once, the rest at flush. */
int nd_rec_write(struct nd_record *rc, const void *buf, size_t len)
{
	unsigned int n;
	int err;

	while (len) {
		n = min_t(size_t, len, ND_REC_MAX_PLAINTEXT - rc->txlen);
		memcpy(rc->txbuf + ND_REC_HDR_LEN + rc->txlen, buf, n);
		rc->txlen += n;
		buf += n;
		len -= n;
		if (rc->txlen == ND_REC_MAX_PLAINTEXT) {
			err = nd_rec_flush(rc);
			if (err)
				return err;
		}
	}
	return 0;
}

/* Read and open the next record with content; handles KeyUpdates. */
static int rx_fill(struct nd_record *rc)
{
	unsigned int len;
	int clen, err;
	u8 type;

	for (;;) {
		err = nd_sock_recv(rc->sock, rc->rxbuf, ND_REC_HDR_LEN);
		if (err)
			return err;
		clen = check_header(rc->rxbuf);
		if (clen < 0)
			return clen;
		err = nd_sock_recv(rc->sock, rc->rxbuf + ND_REC_HDR_LEN, clen);
		if (err)
			return err;
		if (rc->rx.seq >= ND_REC_REKEY_LIMIT)
			return -EBADMSG;	/* the peer did not update */
		err = nd_rec_open(&rc->rx, rc->rxbuf, &len, &type);
		if (err)
			return err;
		if (type == ND_REC_TYPE_DATA && len) {
			rc->rxpos = ND_REC_HDR_LEN;
			rc->rxlen = ND_REC_HDR_LEN + len;
			return 0;
		}
		if (type == ND_REC_TYPE_DATA)
			continue;
		if (type != ND_REC_TYPE_HANDSHAKE || len != ND_KEY_UPDATE_LEN ||
		    memcmp(rc->rxbuf + ND_REC_HDR_LEN, &key_update_msg, len))
			return -EBADMSG;
		err = nd_rec_dir_update(&rc->rx);
		if (err)
			return err;
		rc->rx_updates++;
	}
}

/* Exactly len bytes of the stream: 0 or a negative errno. */
int nd_rec_read(struct nd_record *rc, void *buf, size_t len)
{
	unsigned int n;
	int err;

	while (len) {
		if (rc->rxpos == rc->rxlen) {
			err = rx_fill(rc);
			if (err)
				return err;
		}
		n = min_t(size_t, len, rc->rxlen - rc->rxpos);
		memcpy(buf, rc->rxbuf + rc->rxpos, n);
		rc->rxpos += n;
		buf += n;
		len -= n;
	}
	return 0;
}
