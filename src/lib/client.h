/* SPDX-License-Identifier: ISC */
/*
 * The client side of protocol v2 and v3, used by netdiskctl and the tests: connect,
 * handshake, then pipelined requests over one connection.  Replies may
 * complete out of order; the caller matches them by handle.  An nbd://
 * URI gets the same calls over the NBD protocol (nbd_client.h): no key,
 * no encryption, netdisk's request types and errors; an nbds:// URI the
 * same over TLS (tls_client.h), with the PSK file or the certificates
 * its query names.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "handshake.h"
#include "record.h"
#include "uri.h"

/* Failures a user must be able to tell apart; also netdiskctl's exit codes. */
enum client_err {
	CLIENT_OK = 0,
	CLIENT_ERR_USAGE = 2,		/* bad arguments */
	CLIENT_ERR_CONNECT = 3,		/* resolve/connect failed */
	CLIENT_ERR_AUTH = 4,		/* wrong key or no such export; TLS */
	CLIENT_ERR_BUSY = 5,		/* export held by another client */
	CLIENT_ERR_DENIED = 6,		/* address not allowed, too many clients */
	CLIENT_ERR_READONLY = 7,	/* write to a read-only export */
	CLIENT_ERR_RANGE = 8,		/* offset/length out of range or unaligned */
	CLIENT_ERR_PROTO = 9,		/* version mismatch, broken stream */
	CLIENT_ERR_IO = 10,		/* server or local I/O error */
	CLIENT_ERR_CONFIG = 11,		/* a configuration with errors: reload, netdisktab */
	CLIENT_ERR_INTERNAL = 1,
};

struct extent;
struct nbd_client;

struct client {
	int fd;
	struct nbd_client *nbd;		/* nbd:// or nbds://, else NULL */
	struct record_conn rc;
	struct hs_export_info info;
	uint8_t version;
	char peer[128];			/* "host:port" for messages */
};

struct client_opts {
	const uint8_t *key;		/* ND_KEY_LEN bytes */
	/*
	 * The server's static public key (ND_KEY_LEN bytes): with it the
	 * client speaks version 3 only (pinned, never falls back to 2);
	 * NULL: version 2.
	 */
	const uint8_t *server_pub;
	uint8_t client_id[ND_CLIENT_ID_LEN];
	/*
	 * ND_OPT_*.  ND_OPT_BLOCK_STATUS asks for the allocation query
	 * (client_block_status): info.flags then has ND_FLAG_BLOCK_STATUS
	 * if the server serves it.  A netdisk server older than the option
	 * refuses it: the client connects again without it.  Over nbd:// it
	 * negotiates base:allocation, and the connection then serves
	 * client_block_status alone.
	 */
	uint32_t options;
	uint16_t conn;			/* connection slot, < ND_CONN_SLOTS */
	int timeout;			/* seconds for connect+handshake; 0 = 30 */
	uint8_t version_min, version_max;	/* 0: the hello's version */
};

/*
 * Connect and handshake.  Returns CLIENT_OK or a client_err; on failure
 * err holds a message naming the host and what went wrong.  While the
 * server answers ND_HS_RETRY (an earlier session of this client id and
 * slot is still finishing requests) it tries again, backing off, until
 * the timeout; then CLIENT_ERR_BUSY.
 */
int client_connect(struct client *c, const struct nd_uri *u,
    const struct client_opts *o, char *err, size_t errlen);
/* Sends DISCONNECT if possible and waits up to 5 s for the server to close. */
void client_close(struct client *c);

/* A request of client_send_batch. */
struct client_req {
	uint16_t type, flags;		/* ND_CMD_*, ND_CMD_FLAG_* */
	uint64_t handle, offset;
	uint32_t length;
	const void *data;		/* a WRITE's */
};
/* Most requests one client_send_batch takes. */
#define CLIENT_BATCH_MAX	64
/*
 * Send n requests (and WRITE payloads) with as few writes as they fit
 * in: 0 or -1 (errno).
 */
int client_send_batch(struct client *c, const struct client_req *q, int n);
/* 1 if len bytes of replies can be taken without waiting, else 0. */
int client_recv_ready(const struct client *c, size_t len);

/* Send one request (and its WRITE payload).  0 or -1 (errno). */
int client_send(struct client *c, uint16_t type, uint16_t flags,
    uint64_t handle, uint64_t offset, uint32_t length, const void *data);
/*
 * Receive one reply header.  1 on success with *handle and *error (host
 * order, enum nd_error) set; the caller then reads a READ's payload with
 * client_recv_data.  0 on EOF, -1 on error.
 */
int client_recv_reply(struct client *c, uint64_t *handle, uint32_t *error);
/* 0 on success, -1 on failure (EOF counts as one, errno EPROTO). */
int client_recv_data(struct client *c, void *buf, size_t len);

/* Synchronous helpers on top of the above. 0 or an enum nd_error; -1 on a broken connection. */
int client_read(struct client *c, uint64_t off, uint32_t len, void *buf);
int client_write(struct client *c, uint64_t off, uint32_t len,
    const void *buf, int fua);
int client_simple(struct client *c, uint16_t type, uint16_t flags,
    uint64_t off, uint32_t len);	/* FLUSH, TRIM, WRITE_ZEROES */

/*
 * Which parts of [off, off + len) are holes or read as zeroes: 0 with
 * *n (at least 1, at most max) extents in out, consecutive from off,
 * covering at most len bytes (ask again from where they end); an enum
 * nd_error; -1 on a broken connection (errno EBADMSG: the server broke
 * the protocol).  Flags are ND_EXTENT_* (NBD's base:allocation has the
 * same bits).  A connection without ND_FLAG_BLOCK_STATUS answers one
 * extent of data for the whole range, without asking the server.
 */
int client_block_status(struct client *c, uint64_t off, uint32_t len,
    struct extent *out, size_t max, size_t *n);

/* enum nd_error -> client_err and a short text. */
int client_err_from_nd(uint32_t nd_error);
const char *client_nd_strerror(uint32_t nd_error);

#endif
