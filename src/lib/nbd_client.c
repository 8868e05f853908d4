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
#include "sockio.h"

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

/* NBD_OPT_GO for export, asking for the block sizes. */
static int
nbd_send_go(int fd, const char *export, int64_t deadline)
{
	uint32_t nl = (uint32_t)strlen(export);
	struct nbd_opt_hdr h = {
		.magic = htobe64(NBD_OPT_MAGIC), .option = htobe32(NBD_OPT_GO),
		.length = htobe32(4 + nl + 2 + 2),
	};
	uint32_t benl = htobe32(nl);
	uint16_t nreq = htobe16(1), req = htobe16(NBD_INFO_BLOCK_SIZE);
	struct iovec iov[5] = {
		{ &h, sizeof(h) }, { &benl, 4 }, { (void *)export, nl },
		{ &nreq, 2 }, { &req, 2 },
	};
	size_t i;

	for (i = 0; i < 5; i++)
		if (sock_write_until(fd, iov[i].iov_base, iov[i].iov_len,
		    deadline) == -1)
			return -1;
	return 0;
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

int
nbd_client_go(struct nbd_client *nc, int fd, const char *export,
    int64_t deadline, uint32_t *rep, char *msg, size_t msglen)
{
	struct nbd_rep_hdr h;
	uint8_t d[NBD_CLIENT_REP_MAX];
	uint32_t len, type, n;
	int have_export = 0;

	memset(nc, 0, sizeof(*nc));
	nc->fd = fd;
	nc->min_block = 1;
	nc->pref_block = NBD_DEFAULT_PREF;
	nc->max_payload = NBD_DEFAULT_MAX;
	msg[0] = '\0';
	if (nbd_greeting(fd, deadline) == -1 ||
	    nbd_send_go(fd, export, deadline) == -1)
		return -1;
	for (;;) {
		if (sock_read_until(fd, &h, sizeof(h), deadline) != 1)
			return errno == ETIMEDOUT ? -1 : proto_error();
		len = be32toh(h.length);
		type = be32toh(h.type);
		if (be64toh(h.magic) != NBD_REP_MAGIC ||
		    be32toh(h.option) != NBD_OPT_GO)
			return proto_error();
		n = len < sizeof(d) ? len : sizeof(d);
		if (sock_read_until(fd, d, n, deadline) != 1 && n > 0)
			return errno == ETIMEDOUT ? -1 : proto_error();
		for (; len > n; len -= n)	/* the rest of a long one */
			if (sock_read_until(fd, d, len - n < sizeof(d) ?
			    len - n : sizeof(d), deadline) != 1)
				return proto_error();
		if (type == NBD_REP_INFO)
			nbd_take_info(nc, d, n, &have_export);
		else if (type == NBD_REP_ACK)
			return have_export ? 0 : proto_error();
		else if (type & NBD_REP_ERR(0)) {
			snprintf(msg, msglen, "%.*s", (int)n, (const char *)d);
			*rep = type;
			return 1;
		} else
			return proto_error();
	}
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
	return sock_writev_full(nc->fd, iov, type == NBD_CMD_WRITE ? 2 : 1);
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
	return sock_writev_full(nc->fd, iov, k);
}

int
nbd_client_ready(const struct nbd_client *nc, size_t len)
{
	return nc->rend - nc->rpos >= len;
}

/* len bytes, through rbuf: 1, 0 at EOF before any, -1 (errno). */
static int
nbd_recv(struct nbd_client *nc, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t have = nc->rend - nc->rpos, got;
	ssize_t n;

	if (have >= len) {
		memcpy(p, nc->rbuf + nc->rpos, len);
		nc->rpos += len;
		return 1;
	}
	memcpy(p, nc->rbuf + nc->rpos, have);
	got = have;
	nc->rpos = nc->rend = 0;
	if (len - got >= sizeof(nc->rbuf) / 4) {
		n = sock_read_full(nc->fd, p + got, len - got);
		if (n == 0 && got > 0)
			errno = EPROTO;
		return n == 0 && got > 0 ? -1 : (int)n;
	}
	while (nc->rend < len - got) {
		n = recv(nc->fd, nc->rbuf + nc->rend,
		    sizeof(nc->rbuf) - nc->rend, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0 && got + nc->rend == 0)
				return 0;
			if (n == 0)
				errno = EPROTO;
			return -1;
		}
		nc->rend += (size_t)n;
	}
	memcpy(p + got, nc->rbuf, len - got);
	nc->rpos = len - got;
	return 1;
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
