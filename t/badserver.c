/* SPDX-License-Identifier: ISC */
/*
 * badserver: a malicious netdisk server for the kernel client's tests
 * (t/kernel/badserver.sh).
 *
 *   badserver [-a] [-p PORT] [-s MIB] -k KEYFILE MODE
 *   badserver -l
 *
 * It listens on 127.0.0.1:PORT (default 26548), knows the key in KEYFILE
 * and completes the handshake with the project's own handshake and record
 * code, so it speaks whatever protocol version netdiskd speaks.  Any
 * export name is accepted: a read-write export of MIB MiB (default 64) in
 * memory, min_block 512, pref_block 4096, max_payload 64 KiB, flush, FUA,
 * trim and write zeroes.  Then it misbehaves as MODE says (-l lists the
 * modes).  The modes that misbehave in replies start with the client's
 * first WRITE (that WRITE included), so that the reads of its attach (the
 * partition table) are spared; "the first READ" is the first READ of a
 * connection after that.  A mode acts on the first connection only, on every connection,
 * or on every reconnect (every connection after the first), as its
 * description says; -a makes a first-connection mode act on every
 * connection (a server that never gets better).
 *
 * SIGUSR1 shuts down every open connection, so that the client reconnects;
 * SIGTERM and SIGINT end the server.
 *
 * One line on stderr per event ("badserver: conn N: ...").  A line with
 * "VIOLATION" reports a client that broke the protocol: a request the
 * connection's ServerHello does not allow (request_check), or a
 * ClientFinished after a ServerHello that no client may accept.  Exit
 * status: 0 after SIGTERM or SIGINT, 1 on a start-up error, 2 on a usage
 * error.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netdisk_proto.h"
#include "crypto.h"
#include "handshake.h"
#include "record.h"
#include "request.h"
#include "sockio.h"
#include "key.h"

#define DEFAULT_PORT	26548
#define DEFAULT_MIB	64
#define MAX_MIB		512
#define MAX_CONNS	64
#define MAX_PAYLOAD	(64 * 1024)
#define MAX_RECV	(64U << 20)	/* largest WRITE payload read */
#define JUNK		0xee		/* payload bytes that are never data */
#define STALE_SLOTS	1024
#define WRONG_BY	512		/* short and long READ replies */

/* Which connections a mode acts on. */
enum scope {
	FIRST,		/* the first connection (all with -a) */
	ALL,		/* every connection */
	RECONNECT,	/* every connection after the first */
};

struct conn;

struct mode {
	const char *name;
	enum scope scope;
	/* Changes the ServerHello payload of a misbehaving connection. */
	void (*hello)(struct nd_server_payload *);
	/* Whether no client may accept that ServerHello. */
	int invalid_hello;
	/* Answers one request of a misbehaving connection: 0, or -1 to close. */
	int (*reply)(struct conn *, const struct request *);
	const char *what;
};

struct conn {
	int fd;
	unsigned int n;			/* 1 for the first connection */
	int bad;			/* this connection misbehaves */
	int done;			/* a one-off misbehaviour happened */
	struct record_conn rc;
	struct request_limits lim;	/* what its ServerHello announced */
	uint64_t seen[STALE_SLOTS];	/* handles answered, by tag */
	uint8_t *buf;			/* payloads */
	size_t buflen;
};

static struct {
	const struct mode *mode;
	int all;			/* -a */
	uint8_t psk[ND_KEY_LEN];
	uint8_t *store;
	uint64_t size;
	uint8_t export_id[ND_EXPORT_ID_LEN];
	pthread_mutex_t lock;		/* store, fds, nconns, armed */
	int armed;			/* a WRITE came: misbehave */
	int fds[MAX_CONNS];
	unsigned int nconns;		/* connections accepted */
} srv = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* ------------------------------------------------------------ reporting */

static void __attribute__((format(printf, 2, 3)))
note(const struct conn *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = 0;

	if (c != NULL)
		n = snprintf(line, sizeof(line), "badserver: conn %u: ", c->n);
	else
		n = snprintf(line, sizeof(line), "badserver: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s\n", line);
}

static int
is_mode(const char *name)
{
	return strcmp(srv.mode->name, name) == 0;
}

/* ------------------------------------------------------------ the store */

static int
store_io(int write, uint64_t off, void *buf, size_t len)
{
	if (off > srv.size || len > srv.size - off)
		return -1;
	pthread_mutex_lock(&srv.lock);
	if (write)
		memcpy(srv.store + off, buf, len);
	else
		memcpy(buf, srv.store + off, len);
	pthread_mutex_unlock(&srv.lock);
	return 0;
}

static int
store_zero(uint64_t off, size_t len)
{
	if (off > srv.size || len > srv.size - off)
		return -1;
	pthread_mutex_lock(&srv.lock);
	memset(srv.store + off, 0, len);
	pthread_mutex_unlock(&srv.lock);
	return 0;
}

/* ------------------------------------------------------------ replies */

static int
need_buf(struct conn *c, size_t len)
{
	uint8_t *p;

	if (len <= c->buflen)
		return 0;
	if ((p = realloc(c->buf, len)) == NULL)
		return -1;
	c->buf = p;
	c->buflen = len;
	return 0;
}

/* A reply header and len bytes of payload from c->buf. */
static int
send_reply(struct conn *c, uint64_t handle, uint32_t error, size_t len)
{
	struct reply r = { error, handle };
	struct nd_reply w;
	struct iovec iov[2] = { { &w, sizeof(w) }, { c->buf, len } };

	reply_encode(&r, &w);
	return record_sendv(&c->rc, iov, len > 0 ? 2 : 1);
}

/* READ data into c->buf: ND_OK, or the error to reply with. */
static uint32_t
read_data(struct conn *c, const struct request *rq)
{
	if (need_buf(c, rq->length) == -1)
		return ND_ENOMEM;
	return store_io(0, rq->offset, c->buf, rq->length) ? ND_EOVERFLOW :
	    ND_OK;
}

/* The reply a correct server sends, payload included. */
static int
reply_ok(struct conn *c, const struct request *rq)
{
	uint32_t err = ND_OK;

	switch (rq->type) {
	case ND_CMD_READ:
		if ((err = read_data(c, rq)) == ND_OK)
			return send_reply(c, rq->handle, ND_OK, rq->length);
		break;
	case ND_CMD_WRITE:
		if (store_io(1, rq->offset, c->buf, rq->length))
			err = ND_EOVERFLOW;
		break;
	case ND_CMD_TRIM:
	case ND_CMD_WRITE_ZEROES:
		if (store_zero(rq->offset, rq->length))
			err = ND_EOVERFLOW;
		break;
	}
	return send_reply(c, rq->handle, err, 0);
}

/* Junk in place of READ data: a client that takes it returns wrong data. */
static int
junk(struct conn *c, size_t len)
{
	if (need_buf(c, len) == -1)
		return -1;
	memset(c->buf, JUNK, len);
	return 0;
}

/*
 * Whether the client has sent a WRITE: the request modes spare what comes
 * before, the reads of the attach (the partition table), and hit the
 * test's own I/O.
 */
static int
armed(void)
{
	int a;

	pthread_mutex_lock(&srv.lock);
	a = srv.armed;
	pthread_mutex_unlock(&srv.lock);
	return a;
}

static void
arm(void)
{
	pthread_mutex_lock(&srv.lock);
	srv.armed = 1;
	pthread_mutex_unlock(&srv.lock);
}

/* The first READ of a connection once armed, for the one-off modes. */
static int
first_read(struct conn *c, const struct request *rq)
{
	return armed() && rq->type == ND_CMD_READ && rq->length > WRONG_BY &&
	    !c->done;
}

static int
reply_range(struct conn *c, const struct request *rq)
{
	uint64_t h = (rq->handle & ~0xffffffffULL) | 0x7fffffffULL;

	if (!first_read(c, rq))
		return reply_ok(c, rq);
	c->done = 1;
	note(c, "reply to handle %#llx (out of range) before the reply to %#llx",
	    (unsigned long long)h, (unsigned long long)rq->handle);
	if (send_reply(c, h, ND_EIO, 0) == -1)
		return -1;
	return reply_ok(c, rq);
}

static int
reply_dup(struct conn *c, const struct request *rq)
{
	if (!first_read(c, rq))
		return reply_ok(c, rq);
	c->done = 1;
	note(c, "two replies to READ %#llx, the second with junk data",
	    (unsigned long long)rq->handle);
	if (reply_ok(c, rq) == -1 || junk(c, rq->length) == -1)
		return -1;
	return send_reply(c, rq->handle, ND_OK, rq->length);
}

/* A handle of a request answered before, with the tag of rq if any. */
static uint64_t
stale_handle(const struct conn *c, const struct request *rq)
{
	uint64_t old = c->seen[(rq->handle & 0xffffffffULL) % STALE_SLOTS];

	if (old != 0 && old != rq->handle &&
	    (uint32_t)old == (uint32_t)rq->handle)
		return old;
	return rq->handle + (1ULL << 32);	/* same tag, another cookie */
}

static int
reply_stale(struct conn *c, const struct request *rq)
{
	uint64_t h;

	if (!first_read(c, rq))
		return reply_ok(c, rq);
	c->done = 1;
	h = stale_handle(c, rq);
	note(c, "reply with junk data to handle %#llx (answered before) before the reply to READ %#llx",
	    (unsigned long long)h, (unsigned long long)rq->handle);
	if (junk(c, rq->length) == -1 ||
	    send_reply(c, h, ND_OK, rq->length) == -1)
		return -1;
	return reply_ok(c, rq);
}

static int
reply_short(struct conn *c, const struct request *rq)
{
	if (!first_read(c, rq))
		return reply_ok(c, rq);
	c->done = 1;
	note(c, "READ %#llx of %u bytes answered with %u bytes",
	    (unsigned long long)rq->handle, rq->length,
	    rq->length - WRONG_BY);
	if (read_data(c, rq) != ND_OK)
		return -1;
	return send_reply(c, rq->handle, ND_OK, rq->length - WRONG_BY);
}

static int
reply_long(struct conn *c, const struct request *rq)
{
	if (!first_read(c, rq))
		return reply_ok(c, rq);
	c->done = 1;
	note(c, "READ %#llx of %u bytes answered with %u bytes",
	    (unsigned long long)rq->handle, rq->length,
	    rq->length + WRONG_BY);
	if (need_buf(c, rq->length + WRONG_BY) == -1 ||
	    read_data(c, rq) != ND_OK)
		return -1;
	memset(c->buf + rq->length, JUNK, WRONG_BY);
	return send_reply(c, rq->handle, ND_OK, rq->length + WRONG_BY);
}

static int
reply_close_mid(struct conn *c, const struct request *rq)
{
	if (!first_read(c, rq))
		return reply_ok(c, rq);
	c->done = 1;
	note(c, "READ %#llx: closing after %u of its %u bytes",
	    (unsigned long long)rq->handle, rq->length / 2, rq->length);
	if (read_data(c, rq) != ND_OK)
		return -1;
	send_reply(c, rq->handle, ND_OK, rq->length / 2);
	return -1;
}

static int
reply_shutdown(struct conn *c, const struct request *rq)
{
	if (!armed())
		return reply_ok(c, rq);
	if (!c->done)
		note(c, "answering every request with ESHUTDOWN");
	c->done = 1;
	return send_reply(c, rq->handle, ND_ESHUTDOWN, 0);
}

static int
reply_silent(struct conn *c, const struct request *rq)
{
	if (!armed())
		return reply_ok(c, rq);
	if (!c->done)
		note(c, "answering no request (first: %s %#llx)",
		    request_cmd_name(rq->type),
		    (unsigned long long)rq->handle);
	c->done = 1;
	return 0;
}

/*
 * n empty records, each after a KeyUpdate in keyupdate-flood: a rekey
 * limit of 2 on the sending side only (the receiving side checks the same
 * limit, so it is put back at once).
 */
static int
flood(struct conn *c, unsigned int n)
{
	int ku = is_mode("keyupdate-flood"), rv = 0;

	if (ku)
		c->rc.rekey_limit = 2;
	while (n-- > 0 && rv == 0)
		rv = record_send(&c->rc, "", 0);
	c->rc.rekey_limit = ND_REC_REKEY_LIMIT;
	return rv;
}

static int
reply_flood(struct conn *c, const struct request *rq)
{
	if (flood(c, is_mode("keyupdate-flood") ? 20 : 200) == -1)
		return -1;
	return reply_ok(c, rq);
}

/*
 * One record of the stream's next len bytes at p and pad zero bytes of
 * padding (docs/protocol.md allows it; netdiskd never pads), sealed as
 * record.c seals them, under the connection's keys and sequence.
 */
static int
send_padded(struct conn *c, const uint8_t *p, size_t len, size_t pad)
{
	static __thread uint8_t rec[ND_REC_MAX_LEN];
	size_t n = len + 1 + pad;
	uint8_t nonce[ND_IV_LEN];

	if (n > ND_REC_MAX_PLAINTEXT + 1 ||
	    c->rc.tx.seq + 1 >= c->rc.rekey_limit)
		return -1;
	memcpy(rec + ND_REC_HDR_LEN, p, len);
	rec[ND_REC_HDR_LEN + len] = ND_REC_TYPE_DATA;
	memset(rec + ND_REC_HDR_LEN + len + 1, 0, pad);
	nd_rec_hdr_fill(rec, (uint32_t)(n + ND_TAG_LEN));
	nd_rec_nonce(nonce, c->rc.tx.traffic.iv, c->rc.tx.seq);
	if (crypto_aead_seal(c->rc.tx.aead, nonce, rec, ND_REC_HDR_LEN,
	    rec + ND_REC_HDR_LEN, n, rec + ND_REC_HDR_LEN, rec +
	    ND_REC_HDR_LEN + n) == -1)
		return -1;
	c->rc.tx.seq++;
	return sock_write_full(c->fd, rec, ND_REC_HDR_LEN + n + ND_TAG_LEN);
}

/*
 * The correct reply, in records of 1 to 8000 bytes of content with 0 to
 * 8000 bytes of zero padding each (both drawn from the record number),
 * so that a client reading into its buffers finds the content shorter
 * than the record.
 */
static int
reply_padded(struct conn *c, const struct request *rq)
{
	struct reply r = { ND_OK, rq->handle };
	size_t len = 0, off, n, pad;
	uint8_t *msg;
	uint64_t x;
	int rv = 0;

	if (!armed())
		return reply_ok(c, rq);
	if (!c->done)
		note(c, "replies in padded records from here on");
	c->done = 1;
	if (rq->type == ND_CMD_READ && (r.error = read_data(c, rq)) == ND_OK)
		len = rq->length;
	else if (rq->type == ND_CMD_WRITE &&
	    store_io(1, rq->offset, c->buf, rq->length))
		r.error = ND_EOVERFLOW;
	else if ((rq->type == ND_CMD_TRIM || rq->type == ND_CMD_WRITE_ZEROES) &&
	    store_zero(rq->offset, rq->length))
		r.error = ND_EOVERFLOW;
	if ((msg = malloc(sizeof(struct nd_reply) + len)) == NULL)
		return -1;
	reply_encode(&r, (struct nd_reply *)msg);
	memcpy(msg + sizeof(struct nd_reply), c->buf, len);
	len += sizeof(struct nd_reply);
	for (off = 0; off < len && rv == 0; off += n) {
		x = c->rc.tx.seq * 0x9e3779b97f4a7c15ULL;
		n = 1 + (size_t)(x >> 40) % 8000;
		if (n > len - off)
			n = len - off;
		pad = (x >> 20) % 4 == 0 ? 0 : (size_t)(x >> 8) % 8001;
		rv = send_padded(c, msg + off, n, pad);
	}
	free(msg);
	return rv;
}

/* ------------------------------------------------------------ hellos */

static void
hello_size(struct nd_server_payload *p)
{
	p->size = htobe64(be64toh(p->size) / 2);
}

static void
hello_tiny(struct nd_server_payload *p)
{
	p->max_payload = htobe32(ND_MIN_BLOCK);
}

static void
hello_huge(struct nd_server_payload *p)
{
	p->max_payload = htobe32(UINT32_MAX);
}

static void
hello_min_block(struct nd_server_payload *p)
{
	p->min_block = htobe32(3 * ND_MIN_BLOCK);
}

static void
hello_pref_block(struct nd_server_payload *p)
{
	p->pref_block = htobe32(ND_MIN_BLOCK / 2);
}

static void
hello_flags(struct nd_server_payload *p)
{
	p->flags = htobe32(be32toh(p->flags) | 1U << 31);
}

static const struct mode modes[] = {
	{ "good", ALL, NULL, 0, NULL,
	  "a correct server" },
	{ "range", FIRST, NULL, 0, reply_range,
	  "before the first READ's reply, one with an out-of-range handle (tag 0xffff of hardware queue 0x7fff)" },
	{ "dup", FIRST, NULL, 0, reply_dup,
	  "the first READ answered twice, the second time with junk data" },
	{ "stale", FIRST, NULL, 0, reply_stale,
	  "before the first READ's reply, a reply with junk data to an answered handle of the same tag" },
	{ "short", FIRST, NULL, 0, reply_short,
	  "the first READ answered with 512 bytes less than asked, then the next replies" },
	{ "long", FIRST, NULL, 0, reply_long,
	  "the first READ answered with 512 bytes of junk more than asked" },
	{ "close-mid", FIRST, NULL, 0, reply_close_mid,
	  "the connection closed in the middle of the first READ's payload" },
	{ "shutdown", ALL, NULL, 0, reply_shutdown,
	  "every request from the first WRITE on answered with ESHUTDOWN" },
	{ "silent", ALL, NULL, 0, reply_silent,
	  "no request from the first WRITE on answered" },
	{ "keyupdate-flood", ALL, NULL, 0, reply_flood,
	  "1000 KeyUpdates after the handshake, 20 before each reply" },
	{ "empty-flood", ALL, NULL, 0, reply_flood,
	  "20000 empty records after the handshake, 200 before each reply" },
	{ "padded", ALL, NULL, 0, reply_padded,
	  "from the first WRITE on, replies in records of 1 to 8000 bytes, most padded with up to 8000 zero bytes (correct, as the protocol allows)" },
	{ "hello-size", RECONNECT, hello_size, 0, NULL,
	  "reconnects announce half the size" },
	{ "hello-tiny", RECONNECT, hello_tiny, 0, NULL,
	  "reconnects announce max_payload 512" },
	{ "hello-huge", RECONNECT, hello_huge, 0, NULL,
	  "reconnects announce max_payload 4 GiB - 1" },
	{ "hello-min-block", RECONNECT, hello_min_block, 1, NULL,
	  "reconnects announce min_block 1536 (no power of two)" },
	{ "hello-pref-block", RECONNECT, hello_pref_block, 1, NULL,
	  "reconnects announce pref_block 256 (below min_block)" },
	{ "hello-flags", RECONNECT, hello_flags, 1, NULL,
	  "reconnects announce an unknown flag (bit 31)" },
	{ "trickle", RECONNECT, NULL, 0, NULL,
	  "reconnects get their ServerHello one byte a second" },
};
#define NMODES	(sizeof(modes) / sizeof(modes[0]))

/* ------------------------------------------------------------ handshake */

static void
export_payload(struct nd_server_payload *p)
{
	memset(p, 0, sizeof(*p));
	p->status = htobe32(ND_HS_OK);
	p->flags = htobe32(ND_FLAG_FLUSH | ND_FLAG_FUA | ND_FLAG_TRIM |
	    ND_FLAG_WRITE_ZEROES);
	p->size = htobe64(srv.size);
	p->min_block = htobe32(ND_MIN_BLOCK);
	p->pref_block = htobe32(ND_PREF_BLOCK);
	p->max_payload = htobe32(MAX_PAYLOAD);
	memcpy(p->export_id, srv.export_id, ND_EXPORT_ID_LEN);
}

static void
limits_from(const struct nd_server_payload *p, struct request_limits *l)
{
	l->size = be64toh(p->size);
	l->min_block = be32toh(p->min_block);
	l->max_payload = be32toh(p->max_payload);
	l->flags = be32toh(p->flags);
}

/* One byte a second until the client closes. */
static int
trickle(struct conn *c, const uint8_t *msg, size_t len)
{
	size_t i;

	note(c, "trickling the ServerHello, one byte a second");
	for (i = 0; i < len; i++) {
		if (sock_write_full(c->fd, msg + i, 1) == -1) {
			note(c, "the client closed after %zu bytes of the ServerHello",
			    i);
			return -1;
		}
		sleep(1);
	}
	return 0;
}

/* The ServerHello of this connection, sent. */
static int
send_hello(struct conn *c, struct hs_state *st)
{
	struct nd_server_payload pl;
	uint8_t sh[ND_SERVER_HELLO_LEN];

	export_payload(&pl);
	if (c->bad && srv.mode->hello != NULL) {
		srv.mode->hello(&pl);
		note(c, "ServerHello: size %llu, min_block %u, pref_block %u, max_payload %u, flags %#x",
		    (unsigned long long)be64toh(pl.size), be32toh(pl.min_block),
		    be32toh(pl.pref_block), be32toh(pl.max_payload),
		    be32toh(pl.flags));
	}
	limits_from(&pl, &c->lim);
	if (hs_server_hello_raw(st, &pl, 0, sh) == -1) {
		note(c, "cannot make the ServerHello: %s", strerror(errno));
		return -1;
	}
	if (c->bad && is_mode("trickle"))
		return trickle(c, sh, sizeof(sh));
	return sock_write_full(c->fd, sh, sizeof(sh));
}

static int
handshake(struct conn *c)
{
	uint8_t ch[ND_CLIENT_HELLO_LEN], cf[ND_CLIENT_FINISHED_LEN];
	struct hs_request req;
	struct hs_state st;
	struct hs_keys keys;
	int rv = -1;

	memset(&st, 0, sizeof(st));
	if (sock_read_full(c->fd, ch, sizeof(ch)) != 1) {
		note(c, "no ClientHello");
		goto out;
	}
	if (hs_server_open_hello(&st, ch, (const uint8_t (*)[ND_KEY_LEN])srv.psk,
	    1, &req) == -1) {
		note(c, "ClientHello refused: %s", strerror(errno));
		goto out;
	}
	if (send_hello(c, &st) == -1)
		goto out;
	if (sock_read_full(c->fd, cf, sizeof(cf)) != 1) {
		note(c, "the client closed without a ClientFinished (refused the ServerHello)");
		goto out;
	}
	if (hs_server_finish(&st, cf, &keys) == -1) {
		note(c, "bad ClientFinished");
		goto out;
	}
	if (c->bad && srv.mode->invalid_hello)
		note(c, "VIOLATION: the client accepted an invalid ServerHello");
	rv = record_init(&c->rc, c->fd, &keys, 1);
	hs_keys_clear(&keys);
	if (rv == -1)
		note(c, "record_init: %s", strerror(errno));
	else
		note(c, "handshake done (export \"%s\"%s)", req.name,
		    c->bad ? ", misbehaving" : "");
out:
	hs_state_clear(&st);
	crypto_wipe(ch, sizeof(ch));
	return rv;
}

/* ------------------------------------------------------------ requests */

/* Reads one request and a WRITE's payload: 1, 0 at the end, -1. */
static int
read_request(struct conn *c, struct request *rq)
{
	struct nd_request w;
	uint32_t err;
	int r;

	if ((r = record_recv(&c->rc, &w, sizeof(w))) == 0) {
		note(c, "closed by the client");
		return 0;
	}
	if (r == -1) {
		note(c, "receive: %s", strerror(errno));
		return -1;
	}
	if (request_decode(&w, rq) == -1) {
		note(c, "VIOLATION: a request with a bad magic or reserved field");
		return -1;
	}
	if ((err = request_check(rq, &c->lim)) != ND_OK)
		note(c, "VIOLATION: %s of %u bytes at %llu, flags %#x: error %u under this connection's ServerHello",
		    request_cmd_name(rq->type), rq->length,
		    (unsigned long long)rq->offset, rq->flags, err);
	if (rq->type != ND_CMD_WRITE)
		return 1;
	arm();
	if (rq->length > MAX_RECV || need_buf(c, rq->length) == -1) {
		note(c, "cannot take a WRITE of %u bytes", rq->length);
		return -1;
	}
	if (record_recv(&c->rc, c->buf, rq->length) != 1) {
		note(c, "receive of a WRITE payload: %s", strerror(errno));
		return -1;
	}
	return 1;
}

static void
serve(struct conn *c)
{
	struct request rq;
	int (*reply)(struct conn *, const struct request *) = reply_ok;

	if (c->bad && srv.mode->reply != NULL)
		reply = srv.mode->reply;
	if (c->bad && reply == reply_flood &&
	    flood(c, is_mode("keyupdate-flood") ? 1000 : 20000) == -1)
		return;
	while (read_request(c, &rq) == 1) {
		if (rq.type == ND_CMD_DISCONNECT) {
			note(c, "DISCONNECT");
			return;
		}
		if (reply(c, &rq) == -1)
			return;
		c->seen[(rq.handle & 0xffffffffULL) % STALE_SLOTS] = rq.handle;
	}
}

/* ------------------------------------------------------------ connections */

static int
conn_misbehaves(unsigned int n)
{
	switch (srv.mode->scope) {
	case FIRST:
		return n == 1 || srv.all;
	case ALL:
		return 1;
	case RECONNECT:
		return n > 1;
	}
	return 0;
}

static void
conn_track(int fd, int add)
{
	int i;

	pthread_mutex_lock(&srv.lock);
	for (i = 0; i < MAX_CONNS; i++)
		if (srv.fds[i] == (add ? -1 : fd)) {
			srv.fds[i] = add ? fd : -1;
			break;
		}
	pthread_mutex_unlock(&srv.lock);
}

static void *
conn_main(void *arg)
{
	struct conn *c = arg;

	if (handshake(c) == 0) {
		serve(c);
		record_free(&c->rc);
	}
	conn_track(c->fd, 0);
	shutdown(c->fd, SHUT_RDWR);
	close(c->fd);
	note(c, "closed");
	free(c->buf);
	free(c);
	return NULL;
}

static void
conn_start(int fd)
{
	struct conn *c;
	pthread_t t;
	int one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		note(NULL, "out of memory for a connection");
		close(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	pthread_mutex_lock(&srv.lock);
	c->n = ++srv.nconns;
	pthread_mutex_unlock(&srv.lock);
	c->bad = conn_misbehaves(c->n);
	note(c, "accepted");
	conn_track(fd, 1);
	if (pthread_create(&t, NULL, conn_main, c) != 0) {
		note(c, "cannot start a thread");
		conn_track(fd, 0);
		close(fd);
		free(c);
		return;
	}
	pthread_detach(t);
}

/* SIGUSR1: shut every connection down; SIGTERM, SIGINT: exit. */
static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	int sig, i;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGUSR1) {
			note(NULL, "exiting on signal %d", sig);
			exit(0);
		}
		pthread_mutex_lock(&srv.lock);
		for (i = 0; i < MAX_CONNS; i++)
			if (srv.fds[i] != -1)
				shutdown(srv.fds[i], SHUT_RDWR);
		pthread_mutex_unlock(&srv.lock);
		note(NULL, "SIGUSR1: every connection shut down");
	}
	return NULL;
}

/* ------------------------------------------------------------ start-up */

static int
listen_on(int port)
{
	struct sockaddr_in sin;
	int fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 16) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
list_modes(void)
{
	static const char *scopes[] = {
		[FIRST] = "first connection", [ALL] = "every connection",
		[RECONNECT] = "reconnects",
	};
	size_t i;

	for (i = 0; i < NMODES; i++)
		printf("%-17s %-17s %s\n", modes[i].name,
		    scopes[modes[i].scope], modes[i].what);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr,
	    "usage: badserver [-a] [-p PORT] [-s MIB] -k KEYFILE MODE\n"
	    "       badserver -l\n");
	exit(2);
}

static const struct mode *
find_mode(const char *name)
{
	size_t i;

	for (i = 0; i < NMODES; i++)
		if (strcmp(modes[i].name, name) == 0)
			return &modes[i];
	fprintf(stderr, "badserver: unknown mode \"%s\" (badserver -l lists them)\n",
	    name);
	exit(2);
}

static long
number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "badserver: %s \"%s\" is not a number in %ld..%ld\n",
		    opt, s, min, max);
		exit(2);
	}
	return v;
}

static int
start(int port)
{
	static sigset_t set;
	pthread_t t;
	int fd, i;

	for (i = 0; i < MAX_CONNS; i++)
		srv.fds[i] = -1;
	if ((srv.store = calloc(1, srv.size)) == NULL) {
		note(NULL, "cannot allocate %llu bytes",
		    (unsigned long long)srv.size);
		return -1;
	}
	crypto_random(srv.export_id, sizeof(srv.export_id));
	if ((fd = listen_on(port)) == -1) {
		note(NULL, "127.0.0.1:%d: %s", port, strerror(errno));
		return -1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_create(&t, NULL, signal_main, &set) != 0) {
		note(NULL, "cannot start the signal thread");
		return -1;
	}
	note(NULL, "mode %s: listening on 127.0.0.1:%d", srv.mode->name, port);
	return fd;
}

int
main(int argc, char *argv[])
{
	const char *keyfile = NULL;
	char err[256];
	int ch, port = DEFAULT_PORT, lfd, fd;
	long mib = DEFAULT_MIB;

	while ((ch = getopt(argc, argv, "ak:lp:s:")) != -1) {
		switch (ch) {
		case 'a':
			srv.all = 1;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'l':
			list_modes();
			return 0;
		case 'p':
			port = number("-p", optarg, 1, 65535);
			break;
		case 's':
			mib = number("-s", optarg, 1, MAX_MIB);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 1 || keyfile == NULL)
		usage();
	srv.mode = find_mode(argv[optind]);
	srv.size = (uint64_t)mib << 20;
	if (key_load_file(keyfile, srv.psk, err, sizeof(err)) == -1) {
		fprintf(stderr, "badserver: %s\n", err);
		return 1;
	}
	if ((lfd = start(port)) == -1)
		return 1;
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				note(NULL, "accept: %s", strerror(errno));
			continue;
		}
		conn_start(fd);
	}
}
