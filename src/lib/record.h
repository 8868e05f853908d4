/* SPDX-License-Identifier: ISC */
/*
 * The record layer (docs/protocol.md, "Records"): a byte stream carried in
 * TLS 1.3 AES-256-GCM records over a connected socket.  Sending and
 * receiving are independent: one thread may send while another receives,
 * but each direction needs its own serialization by the caller.
 *
 * Both directions batch system calls: a send seals up to RECORD_TX_BUF
 * bytes of records before it writes them with one call, and the receiver
 * reads whatever the socket holds (up to RECORD_RX_BUF bytes) with one
 * call, then opens the records in it one at a time, as they are needed.
 */
#ifndef RECORD_H
#define RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "handshake.h"

struct crypto_aead;

struct record_dir {
	struct crypto_aead *aead;
	struct hs_traffic traffic;
	uint64_t seq;
};

/* Buffer sizes: four full records each way. */
#define RECORD_TX_BUF	(4 * ND_REC_MAX_LEN)
#define RECORD_RX_BUF	(4 * ND_REC_MAX_LEN)

struct record_conn {
	int fd;
	struct record_dir tx, rx;
	uint64_t rekey_limit;	/* records per key; ND_REC_REKEY_LIMIT */
	uint8_t *txbuf;		/* sealed records not yet written */
	size_t txlen;
	uint8_t *rxbuf;		/* records as read; opened in place */
	size_t rxpos, rxlen;	/* unread plaintext in rxbuf */
	size_t rxnext, rxfill;	/* read, not yet opened: [rxnext, rxfill) */
	uint64_t tx_updates, rx_updates;	/* KeyUpdates sent, received */
};

/* Takes its own copy of the keys; the caller clears its copy. */
int record_init(struct record_conn *rc, int fd, const struct hs_keys *keys,
    int is_server);
void record_free(struct record_conn *rc);	/* wipes; does not close fd */

/*
 * Send all of iov as one or more full records, flushing to the socket.
 * Rekeys (KeyUpdate) before tx.seq reaches rekey_limit.  0, or -1 with
 * errno set by the socket.
 */
int record_sendv(struct record_conn *rc, const struct iovec *iov, int iovcnt);
int record_send(struct record_conn *rc, const void *buf, size_t len);

/*
 * Receive exactly len bytes.  Returns 1 on success, 0 on a clean EOF
 * before the first byte, -1 on error: errno EBADMSG for a record that
 * fails authentication or is malformed (bad header, oversized length,
 * unknown content type), EPROTO for EOF inside a record or a message,
 * else the socket's errno.  After -1 the connection is unusable.
 */
int record_recv(struct record_conn *rc, void *buf, size_t len);

/*
 * 1 if the next len bytes of the stream are already here, so that
 * record_recv(rc, buf, len) will not wait for the socket; else 0.  It
 * counts the content of the records read but not opened yet without
 * opening them, so padding or a KeyUpdate among them may make it say 1
 * wrongly; it never says 0 wrongly.  Lets a caller that holds output
 * back while more input is at hand know when it must send it.
 */
int record_recv_ready(const struct record_conn *rc, size_t len);

#endif
