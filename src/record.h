/*
 * The record layer (docs/protocol.md, "Records"): a byte stream carried in
 * TLS 1.3 AES-256-GCM records over a connected socket.  Sending and
 * receiving are independent: one thread may send while another receives,
 * but each direction needs its own serialization by the caller.
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

struct record_conn {
	int fd;
	struct record_dir tx, rx;
	uint64_t rekey_limit;	/* records per key; ND_REC_REKEY_LIMIT */
	uint8_t *txbuf;		/* one ciphertext record */
	uint8_t *rxbuf;		/* one record, decrypted in place */
	size_t rxpos, rxlen;	/* unread plaintext in rxbuf */
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

#endif
