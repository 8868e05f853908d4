/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "nbd_client.h"
#include "nbd_proto.h"
#include "request.h"
#include "sockio.h"
#include "tls_client.h"

/* The longest option reply the client reads; longer ones are skipped. */
#define NBD_CLIENT_REP_MAX	4096
/* The defaults of the protocol when the server gives no block sizes. */
#define NBD_DEFAULT_PREF	4096
#define NBD_DEFAULT_MAX		(32U * 1024 * 1024)

static int
proto_error(void)
{
	errno = EPROTO;
	return -1;
}

/* A reply of the transmission phase that breaks the protocol. */
static int
bad_reply(void)
{
	errno = EBADMSG;
	return -1;
}

/* The transport: the socket, or TLS once NBD_OPT_STARTTLS took. */

/* 1 once len bytes are in buf by deadline; 0 at EOF first; -1 (errno). */
static int
io_read_until(struct nbd_client *nc, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	if (nc->tls == NULL)
		return sock_read_until(nc->fd, buf, len, deadline);
	tls_client_set_deadline(nc->tls, deadline);
	for (; got < len; got += (size_t)n)
		if ((n = tls_client_read(nc->tls, p + got, len - got)) <= 0) {
			if (n == 0 && got > 0)
				errno = EPROTO;
			return n == 0 && got == 0 ? 0 : -1;
		}
	return 1;
}

static int
io_writev(struct nbd_client *nc, struct iovec *iov, int n)
{
	if (nc->tls != NULL)
		return tls_client_writev(nc->tls, iov, n);
	return sock_writev_full(nc->fd, iov, n);
}

static int
io_write_until(struct nbd_client *nc, const void *buf, size_t len,
    int64_t deadline)
{
	struct iovec iov = { (void *)buf, len };

	if (nc->tls == NULL)
		return sock_write_until(nc->fd, buf, len, deadline);
	tls_client_set_deadline(nc->tls, deadline);
	return tls_client_writev(nc->tls, &iov, 1);
}

static ssize_t
io_recv(struct nbd_client *nc, void *buf, size_t len)
{
	if (nc->tls != NULL)
		return tls_client_read(nc->tls, buf, len);
	return recv(nc->fd, buf, len, 0);
}

/* The greeting, and our flags in reply. */
static int
nbd_greeting(int fd, int64_t deadline)
{
	uint8_t g[18];
	uint64_t m;
	uint32_t flags;
	uint16_t sf;

	if (sock_read_until(fd, g, sizeof(g), deadline) != 1)
		return errno == ETIMEDOUT ? -1 : proto_error();
	memcpy(&m, g, 8);
	if (be64toh(m) != NBD_MAGIC)
		return proto_error();
	memcpy(&m, g + 8, 8);
	memcpy(&sf, g + 16, 2);
	if (be64toh(m) != NBD_OPT_MAGIC ||
	    !(be16toh(sf) & NBD_FLAG_FIXED_NEWSTYLE))
		return proto_error();	/* oldstyle, or plain newstyle */
	flags = htobe32(NBD_FLAG_FIXED_NEWSTYLE |
	    (be16toh(sf) & NBD_FLAG_NO_ZEROES));
	return sock_write_until(fd, &flags, sizeof(flags), deadline);
}

/* Option opt with the n pieces of its data. */
static int
nbd_send_opt(struct nbd_client *nc, uint32_t opt, const struct iovec *data,
    int n, int64_t deadline)
{
	struct nbd_opt_hdr h = {
		.magic = htobe64(NBD_OPT_MAGIC), .option = htobe32(opt),
	};
	uint32_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += (uint32_t)data[i].iov_len;
	h.length = htobe32(len);
	if (io_write_until(nc, &h, sizeof(h), deadline) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (data[i].iov_len > 0 && io_write_until(nc,
		    data[i].iov_base, data[i].iov_len, deadline) == -1)
			return -1;
	return 0;
}

/* NBD_OPT_GO for export, asking for the block sizes. */
static int
nbd_send_go(struct nbd_client *nc, const char *export, int64_t deadline)
{
	uint32_t nl = (uint32_t)strlen(export);
	uint32_t benl = htobe32(nl);
	uint16_t nreq = htobe16(1), req = htobe16(NBD_INFO_BLOCK_SIZE);
	struct iovec iov[4] = {
		{ &benl, 4 }, { (void *)export, nl }, { &nreq, 2 }, { &req, 2 },
	};

	return nbd_send_opt(nc, NBD_OPT_GO, iov, 4, deadline);
}

/*
 * One reply to option opt: its NBD_REP_* in *type and the first *n bytes
 * of its data in d (NBD_CLIENT_REP_MAX at most; the rest is skipped).
 */
static int
nbd_opt_reply(struct nbd_client *nc, uint32_t opt, uint32_t *type, uint8_t *d,
    uint32_t *n, int64_t deadline)
{
	struct nbd_rep_hdr h;
	uint8_t skip[256];
	uint32_t len, k;

	if (io_read_until(nc, &h, sizeof(h), deadline) != 1)
		return errno == ETIMEDOUT ? -1 : proto_error();
	if (be64toh(h.magic) != NBD_REP_MAGIC || be32toh(h.option) != opt)
		return proto_error();
	*type = be32toh(h.type);
	len = be32toh(h.length);
	*n = len < NBD_CLIENT_REP_MAX ? len : NBD_CLIENT_REP_MAX;
	if (*n > 0 && io_read_until(nc, d, *n, deadline) != 1)
		return errno == ETIMEDOUT ? -1 : proto_error();
	for (len -= *n; len > 0; len -= k) {
		k = len < sizeof(skip) ? len : sizeof(skip);
		if (io_read_until(nc, skip, k, deadline) != 1)
			return errno == ETIMEDOUT ? -1 : proto_error();
	}
	return 0;
}

/* NBD_OPT_STRUCTURED_REPLY: 0 and nc->structured as the server answered. */
static int
nbd_structured(struct nbd_client *nc, int64_t deadline)
{
	uint8_t d[NBD_CLIENT_REP_MAX];
	uint32_t type, n;

	if (nbd_send_opt(nc, NBD_OPT_STRUCTURED_REPLY, NULL, 0,
	    deadline) == -1 || nbd_opt_reply(nc,
	    NBD_OPT_STRUCTURED_REPLY, &type, d, &n, deadline) == -1)
		return -1;
	if (type != NBD_REP_ACK && !(type & NBD_REP_ERR(0)))
		return proto_error();
	nc->structured = type == NBD_REP_ACK;
	return 0;
}

/*
 * NBD_OPT_SET_META_CONTEXT export "base:allocation": 0, with
 * nc->allocation and nc->meta_id if the server chose it.
 */
static int
nbd_meta_context(struct nbd_client *nc, const char *export, int64_t deadline)
{
	static const char ctx[] = NBD_META_BASE_ALLOCATION;
	uint32_t nl = htobe32((uint32_t)strlen(export)), nq = htobe32(1);
	uint32_t ql = htobe32(sizeof(ctx) - 1), type, n, id;
	uint8_t d[NBD_CLIENT_REP_MAX];
	struct iovec iov[5] = {
		{ &nl, 4 }, { (void *)export, strlen(export) }, { &nq, 4 },
		{ &ql, 4 }, { (void *)ctx, sizeof(ctx) - 1 },
	};

	if (nbd_send_opt(nc, NBD_OPT_SET_META_CONTEXT, iov, 5,
	    deadline) == -1)
		return -1;
	for (;;) {
		if (nbd_opt_reply(nc, NBD_OPT_SET_META_CONTEXT, &type, d,
		    &n, deadline) == -1)
			return -1;
		if (type == NBD_REP_ACK || (type & NBD_REP_ERR(0)))
			return 0;
		if (type != NBD_REP_META_CONTEXT || n < 4)
			return proto_error();
		memcpy(&id, d, 4);
		if (n - 4 == sizeof(ctx) - 1 && memcmp(d + 4, ctx, n - 4) == 0) {
			nc->meta_id = be32toh(id);
			nc->allocation = 1;
		}
	}
}

/* An NBD_REP_INFO's data: what it tells of the export. */
static void
nbd_take_info(struct nbd_client *nc, const uint8_t *d, uint32_t len,
    int *have_export)
{
	uint64_t size;
	uint32_t bs[3];
	uint16_t type, flags;

	if (len < 2)
		return;
	memcpy(&type, d, 2);
	type = be16toh(type);
	if (type == NBD_INFO_EXPORT && len >= 12) {
		memcpy(&size, d + 2, 8);
		memcpy(&flags, d + 10, 2);
		nc->size = be64toh(size);
		nc->tx_flags = be16toh(flags);
		*have_export = 1;
	} else if (type == NBD_INFO_BLOCK_SIZE && len >= 14) {
		memcpy(bs, d + 2, 12);
		nc->min_block = be32toh(bs[0]);
		nc->pref_block = be32toh(bs[1]);
		nc->max_payload = be32toh(bs[2]);
	}
}

/*
 * NBD_OPT_STARTTLS, then the handshake: 0 with nc->tls; NBD_CLIENT_NO_TLS
 * with the server's refusal in *rep and msg; NBD_CLIENT_TLS_FAILED with
 * errno and msg; -1.
 */
static int
nbd_starttls(struct nbd_client *nc, struct tls_client *tls, int64_t deadline,
    uint32_t *rep, char *msg, size_t msglen)
{
	uint8_t d[NBD_CLIENT_REP_MAX];
	uint32_t type, n;

	if (nbd_send_opt(nc, NBD_OPT_STARTTLS, NULL, 0, deadline) == -1 ||
	    nbd_opt_reply(nc, NBD_OPT_STARTTLS, &type, d, &n, deadline) == -1)
		return -1;
	if (type != NBD_REP_ACK) {
		if (!(type & NBD_REP_ERR(0)))
			return proto_error();
		snprintf(msg, msglen, "%.*s", (int)n, (const char *)d);
		*rep = type;
		return NBD_CLIENT_NO_TLS;
	}
	if (n != 0)
		return proto_error();
	if (tls_client_handshake(tls, nc->fd, deadline, msg, msglen) == -1)
		return NBD_CLIENT_TLS_FAILED;
	nc->tls = tls;
	return 0;
}

/* NBD_OPT_GO's replies: 0, NBD_CLIENT_REFUSED or -1. */
static int
nbd_go_replies(struct nbd_client *nc, int64_t deadline, uint32_t *rep,
    char *msg, size_t msglen)
{
	uint8_t d[NBD_CLIENT_REP_MAX];
	uint32_t type, n;
	int have_export = 0;

	for (;;) {
		if (nbd_opt_reply(nc, NBD_OPT_GO, &type, d, &n, deadline) == -1)
			return -1;
		if (type == NBD_REP_INFO)
			nbd_take_info(nc, d, n, &have_export);
		else if (type == NBD_REP_ACK)
			return have_export ? 0 : proto_error();
		else if (type & NBD_REP_ERR(0)) {
			snprintf(msg, msglen, "%.*s", (int)n, (const char *)d);
			*rep = type;
			return NBD_CLIENT_REFUSED;
		} else
			return proto_error();
	}
}

int
nbd_client_go(struct nbd_client *nc, int fd, const char *export,
    int block_status, struct tls_client *tls, int64_t deadline,
    uint32_t *rep, char *msg, size_t msglen)
{
	int r;

	memset(nc, 0, sizeof(*nc));
	nc->fd = fd;
	nc->min_block = 1;
	nc->pref_block = NBD_DEFAULT_PREF;
	nc->max_payload = NBD_DEFAULT_MAX;
	msg[0] = '\0';
	if (nbd_greeting(fd, deadline) == -1)
		return -1;
	if (tls != NULL &&
	    (r = nbd_starttls(nc, tls, deadline, rep, msg, msglen)) != 0)
		return r;
	if (block_status && (nbd_structured(nc, deadline) == -1 ||
	    (nc->structured && nbd_meta_context(nc, export, deadline) == -1)))
		return -1;
	if (nbd_send_go(nc, export, deadline) == -1)
		return -1;
	r = nbd_go_replies(nc, deadline, rep, msg, msglen);
	if (nc->tls != NULL)
		tls_client_set_deadline(nc->tls, -1);
	return r;
}

int
nbd_client_send(struct nbd_client *nc, uint16_t type, uint16_t flags,
    uint64_t cookie, uint64_t offset, uint32_t length, const void *data)
{
	struct nbd_request w = {
		.magic = htobe32(NBD_REQUEST_MAGIC), .flags = htobe16(flags),
		.type = htobe16(type), .cookie = htobe64(cookie),
		.offset = htobe64(offset), .length = htobe32(length),
	};
	struct iovec iov[2] = { { &w, sizeof(w) }, { (void *)data, length } };

	if (type == NBD_CMD_WRITE && data == NULL && length > 0) {
		errno = EINVAL;
		return -1;
	}
	return io_writev(nc, iov, type == NBD_CMD_WRITE ? 2 : 1);
}

int
nbd_client_sendv(struct nbd_client *nc, const struct nbd_client_req *q,
    int n)
{
	struct nbd_request w[NBD_CLIENT_BATCH_MAX];
	struct iovec iov[2 * NBD_CLIENT_BATCH_MAX];
	int i, k = 0;

	if (n > NBD_CLIENT_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		w[i] = (struct nbd_request){
			.magic = htobe32(NBD_REQUEST_MAGIC),
			.flags = htobe16(q[i].flags), .type = htobe16(q[i].type),
			.cookie = htobe64(q[i].cookie),
			.offset = htobe64(q[i].offset),
			.length = htobe32(q[i].length),
		};
		iov[k].iov_base = &w[i];
		iov[k++].iov_len = sizeof(w[i]);
		if (q[i].type != NBD_CMD_WRITE || q[i].length == 0)
			continue;
		iov[k].iov_base = (void *)q[i].data;
		iov[k++].iov_len = q[i].length;
	}
	return io_writev(nc, iov, k);
}

int
nbd_client_ready(const struct nbd_client *nc, size_t len)
{
	return rxbuf_ready(&nc->rx, len);
}

/* Some bytes, at most len, for rxbuf_read: the socket or TLS. */
static ssize_t
io_fill(void *arg, void *buf, size_t len)
{
	ssize_t n;

	do
		n = io_recv(arg, buf, len);
	while (n == -1 && errno == EINTR);
	return n;
}

/* len bytes: 1, 0 at EOF before any, -1 (errno). */
static int
nbd_recv(struct nbd_client *nc, void *buf, size_t len)
{
	return rxbuf_read(&nc->rx, buf, len, io_fill, nc);
}

int
nbd_client_recv_reply(struct nbd_client *nc, uint64_t *cookie,
    uint32_t *error)
{
	struct nbd_simple_reply r;
	int n;

	if ((n = nbd_recv(nc, &r, sizeof(r))) != 1)
		return n;
	if (be32toh(r.magic) != NBD_SIMPLE_REPLY_MAGIC) {
		errno = EBADMSG;
		return -1;
	}
	*cookie = be64toh(r.cookie);
	*error = be32toh(r.error);
	return 1;
}

int
nbd_client_recv_data(struct nbd_client *nc, void *buf, size_t len)
{
	int n;

	if (len == 0)
		return 0;
	if ((n = nbd_recv(nc, buf, len)) == 0)
		errno = EPROTO;
	return n == 1 ? 0 : -1;
}

/* Block status. */

/* What the chunks of one BLOCK_STATUS reply told so far. */
struct nbd_extents {
	struct extent *out;
	size_t max, n;
	uint64_t left;			/* of the range, not yet covered */
	int seen;			/* the BLOCK_STATUS chunk came */
	uint32_t error;			/* an ERROR chunk's */
};

static int
nbd_skip(struct nbd_client *nc, uint32_t len)
{
	uint8_t scratch[256];
	uint32_t k;

	for (; len > 0; len -= k) {
		k = len < sizeof(scratch) ? len : sizeof(scratch);
		if (nbd_client_recv_data(nc, scratch, k) == -1)
			return -1;
	}
	return 0;
}

/*
 * A BLOCK_STATUS chunk of len bytes: the context, then the extents.
 * Those beyond max, or beyond the range (the last one may reach past
 * it), are dropped: the caller asks again from where these end.
 */
static int
nbd_take_extents(struct nbd_client *nc, uint32_t len, struct nbd_extents *x)
{
	uint32_t w[2], id, l;

	if (x->seen || len < 12 || (len - 4) % 8 != 0)
		return bad_reply();
	x->seen = 1;
	if (nbd_client_recv_data(nc, &id, 4) == -1)
		return -1;
	if (be32toh(id) != nc->meta_id)
		return bad_reply();
	for (len -= 4; len > 0; len -= 8) {
		if (nbd_client_recv_data(nc, w, 8) == -1)
			return -1;
		if ((l = be32toh(w[0])) == 0)
			return bad_reply();
		if (x->n == x->max || x->left == 0)
			continue;
		if (l > x->left)
			l = (uint32_t)x->left;
		x->out[x->n].length = l;
		x->out[x->n++].flags = be32toh(w[1]) &
		    (NBD_STATE_HOLE | NBD_STATE_ZERO);
		x->left -= l;
	}
	return 0;
}

/* An ERROR chunk of len bytes: its error number, the message skipped. */
static int
nbd_take_error(struct nbd_client *nc, uint32_t len, struct nbd_extents *x)
{
	uint32_t e;

	if (len < 6 || nbd_client_recv_data(nc, &e, 4) == -1)
		return len < 6 ? bad_reply() : -1;
	x->error = be32toh(e) != 0 ? be32toh(e) : NBD_EIO;
	return nbd_skip(nc, len - 4);
}

/* A simple reply instead of chunks: only for an error. */
static int
nbd_simple_error(struct nbd_client *nc, uint64_t cookie)
{
	struct nbd_simple_reply r;

	if (nbd_client_recv_data(nc, (uint8_t *)&r + 4, sizeof(r) - 4) == -1)
		return -1;
	if (be64toh(r.cookie) != cookie || r.error == 0)
		return bad_reply();
	return (int)be32toh(r.error);
}

/* One chunk: 1 if it was the last, 0 if more follow, or -1. */
static int
nbd_chunk(struct nbd_client *nc, uint64_t cookie, struct nbd_extents *x)
{
	struct nbd_chunk_hdr h;
	uint32_t len;
	uint16_t type;
	int r;

	if (nbd_client_recv_data(nc, (uint8_t *)&h + 4, sizeof(h) - 4) == -1)
		return -1;
	if (be64toh(h.cookie) != cookie)
		return bad_reply();
	len = be32toh(h.length);
	type = be16toh(h.type);
	if (type == NBD_REPLY_TYPE_BLOCK_STATUS)
		r = nbd_take_extents(nc, len, x);
	else if (type == NBD_REPLY_TYPE_NONE)
		r = len == 0 ? 0 : bad_reply();
	else if (type & (1U << 15))	/* an error type */
		r = nbd_take_error(nc, len, x);
	else
		r = bad_reply();
	if (r == -1)
		return -1;
	return (be16toh(h.flags) & NBD_REPLY_FLAG_DONE) != 0;
}

int
nbd_client_block_status(struct nbd_client *nc, uint64_t cookie,
    uint64_t offset, uint32_t length, struct extent *out, size_t max,
    size_t *n)
{
	struct nbd_extents x = { .out = out, .max = max, .left = length };
	uint32_t magic;
	int r = 0;

	if (!nc->allocation || max == 0) {
		errno = EINVAL;
		return -1;
	}
	if (nbd_client_send(nc, NBD_CMD_BLOCK_STATUS, 0, cookie, offset,
	    length, NULL) == -1)
		return -1;
	while (r == 0) {
		if (nbd_client_recv_data(nc, &magic, 4) == -1)
			return -1;
		if (be32toh(magic) == NBD_SIMPLE_REPLY_MAGIC)
			return nbd_simple_error(nc, cookie);
		if (be32toh(magic) != NBD_STRUCTURED_REPLY_MAGIC)
			return bad_reply();
		if ((r = nbd_chunk(nc, cookie, &x)) == -1)
			return -1;
	}
	if (x.error != 0)
		return (int)x.error;
	if (!x.seen)
		return bad_reply();
	*n = x.n;
	return 0;
}
