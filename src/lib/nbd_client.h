/* SPDX-License-Identifier: ISC */
/*
 * The client side of the NBD protocol (include/nbd_proto.h), as
 * netdiskctl uses it for nbd:// URIs: fixed newstyle negotiation with
 * NBD_OPT_GO (asking for the block sizes), then pipelined requests with
 * simple replies over one connection.  Replies may come out of order;
 * the caller matches them by cookie.  Error numbers in replies are NBD's,
 * which are netdisk's (enum nd_error) for every error both know.
 *
 * With TLS (nbds://) the client asks for NBD_OPT_STARTTLS first and,
 * once the server agrees, runs the TLS handshake (tls_client.h): the
 * rest of the negotiation and all the requests and replies go through
 * it.
 *
 * A connection negotiated for block status asks for structured replies
 * and the "base:allocation" context before NBD_OPT_GO; it serves
 * nbd_client_block_status alone (its other replies would be structured,
 * which nbd_client_recv_reply does not read).
 */
#ifndef NBD_CLIENT_H
#define NBD_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "rxbuf.h"

struct tls_client;

struct nbd_client {
	int fd;
	struct tls_client *tls;		/* once STARTTLS took; the caller's */
	/* What NBD_OPT_GO told (block sizes: the defaults if it did not). */
	uint64_t size;
	uint16_t tx_flags;		/* NBD_FLAG_* */
	uint32_t min_block, pref_block, max_payload;
	int structured;			/* NBD_OPT_STRUCTURED_REPLY took */
	int allocation;			/* base:allocation is meta_id */
	uint32_t meta_id;
	struct rxbuf rx;		/* replies read, not yet taken */
};

/* What nbd_client_go returns besides 0 and -1. */
#define NBD_CLIENT_REFUSED	1	/* NBD_OPT_GO refused */
#define NBD_CLIENT_NO_TLS	2	/* NBD_OPT_STARTTLS refused */
#define NBD_CLIENT_TLS_FAILED	3	/* the TLS handshake failed */

/*
 * Negotiate export on fd, by deadline (mono_ms()); with tls (NULL: none),
 * over TLS; with block_status, structured replies and base:allocation
 * first (a server without them leaves ->allocation 0).  0 once in
 * transmission; NBD_CLIENT_REFUSED or NBD_CLIENT_NO_TLS if the server
 * refused, with its NBD_REP_ERR_* in *rep and its message in msg;
 * NBD_CLIENT_TLS_FAILED with errno (EACCES: the key or a certificate,
 * tls_client.h) and the problem in msg; -1 with errno: ETIMEDOUT, or
 * EPROTO for a peer that is not an NBD server or broke the protocol.
 * tls stays the caller's, to free after the connection.
 */
int nbd_client_go(struct nbd_client *, int fd, const char *export,
    int block_status, struct tls_client *tls, int64_t deadline,
    uint32_t *rep, char *msg, size_t msglen);
/* One request (NBD_CMD_*, NBD_CMD_FLAG_*) and a WRITE's data: 0 or -1. */
int nbd_client_send(struct nbd_client *, uint16_t type, uint16_t flags,
    uint64_t cookie, uint64_t offset, uint32_t length, const void *data);
/* A request for nbd_client_sendv. */
struct nbd_client_req {
	uint16_t type, flags;		/* NBD_CMD_*, NBD_CMD_FLAG_* */
	uint64_t cookie, offset;
	uint32_t length;
	const void *data;		/* a WRITE's */
};
#define NBD_CLIENT_BATCH_MAX	64
/* n (at most NBD_CLIENT_BATCH_MAX) requests in one write: 0 or -1. */
int nbd_client_sendv(struct nbd_client *, const struct nbd_client_req *,
    int n);
/* 1 if len bytes are received already, else 0. */
int nbd_client_ready(const struct nbd_client *, size_t len);
/*
 * One simple reply: 1 with *cookie and *error; 0 at the end of the
 * stream; -1 with errno (EBADMSG: not a simple reply).  A READ's data
 * follows, for nbd_client_recv_data, when *error is 0.
 */
int nbd_client_recv_reply(struct nbd_client *, uint64_t *cookie,
    uint32_t *error);
/* 0 once len bytes are in buf; -1 otherwise (EOF here is EPROTO). */
int nbd_client_recv_data(struct nbd_client *, void *buf, size_t len);

/*
 * NBD_CMD_BLOCK_STATUS of [offset, offset + length) on a connection with
 * ->allocation, and its reply: 0 with *n (at least 1) extents of
 * base:allocation in out (at most max of them, consecutive from offset,
 * the last one cut at the end of the range; NBD_STATE_* flags); an NBD
 * error number from the server; or -1 with errno (EBADMSG: a reply that
 * breaks the protocol).
 */
struct extent;
int nbd_client_block_status(struct nbd_client *, uint64_t cookie,
    uint64_t offset, uint32_t length, struct extent *out, size_t max,
    size_t *n);

#endif
