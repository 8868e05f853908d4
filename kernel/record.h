/* SPDX-License-Identifier: GPL-2.0-only */
/* record.c: TLS 1.3-format records over a kernel TCP socket. */
#ifndef ND_RECORD_H
#define ND_RECORD_H

#include <linux/types.h>

#include "crypto.h"
#include "handshake.h"
#include "netdisk_proto.h"

struct socket;

struct nd_rec_dir {
	struct nd_traffic traffic;
	struct nd_aead aead;
	u64 seq;
};

struct nd_record {
	struct socket *sock;
	struct nd_rec_dir tx;
	struct nd_rec_dir rx;
	u64 tx_rekey_limit;	/* records sent under one key */
	u8 *txbuf;		/* header || plaintext being filled */
	unsigned int txlen;	/* plaintext bytes in txbuf */
	u8 *rxbuf;		/* header || decrypted record */
	unsigned int rxpos;	/* next unread plaintext byte */
	unsigned int rxlen;	/* end of plaintext */
	u8 *kubuf;		/* one KeyUpdate record */
	u64 tx_updates;
	u64 rx_updates;
};

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
		 const struct nd_keys *keys, u64 rekey_limit);
void nd_rec_stop(struct nd_record *rc);
void nd_rec_free(struct nd_record *rc);
int nd_rec_write(struct nd_record *rc, const void *buf, size_t len);
int nd_rec_flush(struct nd_record *rc);
int nd_rec_read(struct nd_record *rc, void *buf, size_t len);

#endif /* ND_RECORD_H */
