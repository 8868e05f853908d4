/* SPDX-License-Identifier: ISC */
/*
 * badclient: a misbehaving netdisk client for t/hostile.sh, and a
 * misbehaving NBD client for t/hostile-nbd.sh.
 *
 *   badclient [-t SECONDS] [-s ADDR] [-n COUNT] [-d SECONDS] -k KEYFILE
 *       [-K KEYFILE] URI MODE
 *   badclient [-t SECONDS] [-s ADDR] [-n COUNT] [-d SECONDS]
 *       nbd://HOST:PORT/EXPORT NBD-MODE
 *   badclient -l | -L
 *
 * Each MODE attacks netdiskd in one way and checks that the server reacts
 * as docs/protocol.md says.  It exits 0 if the server behaved, 1 with a
 * message on stderr if it did not, 2 on a usage error.  -t is the
 * server's handshake_timeout (default 2).  -l lists the modes.  A few
 * probes, not listed, check a state other tests set up (failed-export:
 * the export failed after a store error, t/sticky.sh).
 *
 * The NBD modes (-L lists them; their names start with "nbd-") attack
 * the NBD listener as the NBD project's doc/proto.md has it, need no
 * key, and connect from -s too; their export must be a read-write one
 * of at least 256 KiB that no other client address has open.  See
 * "NBD" below.
 *
 * The connection floods (flood, fill, trickle) open their attacking
 * connections from the source address -s (default: any), so that a test
 * can tell them from its well-behaved clients.  fill and trickle open
 * -n connections (default 1) and keep them open for -d seconds (default
 * 0: open them once), opening again, two seconds later, each one the server
 * closes; fill sends nothing, trickle sends a ClientHello one byte every
 * half second.  Either passes if the server closed every connection
 * within the handshake timeout (plus a margin) of its opening.
 *
 * replay-flood needs -K, the key of another export: it records a
 * hello under -k, sends more hellos under -K than the server remembers
 * in all, and replays the recorded one, which must still be refused.
 * Without -K it says so and passes.
 *
 * hello-time makes -n read-only handshakes, one after another, and
 * prints the median time from sending the hello to the ServerHello (or
 * to the close, for a hello no key opens) and how many were answered and
 * closed.  It fails only if an answer does not authenticate or says
 * other than OK.  With -S PUBKEY (the server's public key, 64 hex
 * digits) its hellos are of protocol version 3.
 *
 * The valid sessions use the fixed client id below, so that modes run one
 * after another never find the export busy with their own predecessor.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netdisk_proto.h"
#include "nbd_proto.h"
#include "crypto.h"
#include "handshake.h"
#include "record.h"
#include "request.h"
#include "key.h"
#include "uri.h"

#define CH_LEN		ND_CLIENT_HELLO_LEN
#define SH_LEN		ND_SERVER_HELLO_LEN
#define IO_TIMEOUT_MS	5000
#define FLOOD_CONNS	50
#define PIPELINE_DEPTH	ND_MAX_INFLIGHT
#define BLOCK		4096

static const uint8_t client_id[ND_CLIENT_ID_LEN] = "badclient-id-v1";

static struct {
	struct nd_uri uri;
	uint8_t psk[ND_KEY_LEN];
	int hs_timeout;			/* the server's handshake_timeout, s */
	const char *mode;
	const char *src;		/* -s: source of the floods, or NULL */
	int nconns;			/* -n */
	int duration;			/* -d, seconds */
	uint8_t psk2[ND_KEY_LEN];	/* -K: another export's key */
	int has_psk2;
	uint8_t server_pub[ND_KEY_LEN];	/* -S: hello-time speaks v3 */
	int has_server_pub;
} cx;

struct session {
	int fd;
	struct hs_state st;
	struct hs_keys keys;
	struct hs_export_info info;
	struct record_conn rc;
	int rc_ready;
	uint8_t ch[CH_LEN];
	uint64_t handle;
};

/* ------------------------------------------------------------ reporting */

static int __attribute__((format(printf, 1, 2)))
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "badclient: %s: ", cx.mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static void __attribute__((format(printf, 1, 2)))
note(const char *fmt, ...)
{
	va_list ap;

	printf("badclient: %s: ", cx.mode);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A handshake the server rejects at once must close well before the timeout. */
static int
fast_ms(void)
{
	return cx.hs_timeout * 750;
}

/* ------------------------------------------------------------ sockets */

static int
tcp_connect(void)
{
	struct addrinfo hints, *res, *ai;
	struct timeval tv = { .tv_sec = IO_TIMEOUT_MS / 1000 };
	int fd = -1, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(cx.uri.host, cx.uri.port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd == -1)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * A connection to ai from the address cx.src (if set), or -1.  A
 * nonblocking one may still be on its way (its errors come with the
 * first read).
 */
static int
connect_from(const struct addrinfo *ai, int nonblock)
{
	struct addrinfo hints, *src = NULL;
	int fd, error;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = ai->ai_family;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (cx.src != NULL && getaddrinfo(cx.src, NULL, &hints, &src) != 0)
		return -1;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
	    (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd != -1 && ((src != NULL &&
	    bind(fd, src->ai_addr, src->ai_addrlen) == -1) ||
	    (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1 &&
	    errno != EINPROGRESS))) {
		error = errno;
		close(fd);
		errno = error;
		fd = -1;
	}
	if (src != NULL)
		freeaddrinfo(src);
	return fd;
}

/* An attacking connection, from the source address -s if one was given. */
static int
attack_connect(int nonblock)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(cx.uri.host, cx.uri.port, &hints, &res) != 0)
		return -1;
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next)
		fd = connect_from(ai, nonblock);
	freeaddrinfo(res);
	return fd;
}

static int
send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

enum read_end { READ_DONE, READ_EOF, READ_TIMEOUT, READ_ERROR };

/*
 * Read up to len bytes within ms milliseconds.  Returns the count read;
 * *end says why it stopped.  A connection reset counts as EOF.
 */
static size_t
read_upto(int fd, void *buf, size_t len, int ms, enum read_end *end)
{
	long deadline = now_ms() + ms;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	size_t got = 0;
	ssize_t n;

	*end = READ_DONE;
	while (got < len) {
		long left = deadline - now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			*end = READ_TIMEOUT;
			break;
		}
		n = recv(fd, (uint8_t *)buf + got, len - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		*end = n == 0 || errno == ECONNRESET ? READ_EOF : READ_ERROR;
		break;
	}
	return got;
}

/*
 * The server must close the connection within ms without sending a byte.
 * what names the provocation for the message.
 */
static int
expect_closed(int fd, int ms, const char *what)
{
	uint8_t buf[512];
	enum read_end end;
	long t0 = now_ms();
	size_t n;

	n = read_upto(fd, buf, sizeof(buf), ms, &end);
	if (n > 0)
		return fail("server sent %zu bytes after %s instead of closing",
		    n, what);
	if (end == READ_TIMEOUT)
		return fail("server kept the connection open %d ms after %s",
		    ms, what);
	if (end == READ_ERROR)
		return fail("reading after %s: %s", what, strerror(errno));
	note("server closed %ld ms after %s", now_ms() - t0, what);
	return 0;
}

/* ------------------------------------------------------------ key schedule */

/* Expand-Label(secret, label, context, L) of docs/protocol.md. */
static void
expand_label(void *out, size_t outlen, const uint8_t secret[ND_HASH_LEN],
    const char *label, const uint8_t *ctx, size_t ctxlen)
{
	uint8_t info[2 + 1 + 64 + 1 + ND_HASH_LEN];
	size_t n = 0, ll = 4 + strlen(label);

	info[n++] = (uint8_t)(outlen >> 8);
	info[n++] = (uint8_t)outlen;
	info[n++] = (uint8_t)ll;
	memcpy(info + n, "nd1 ", 4);
	memcpy(info + n + 4, label, ll - 4);
	n += ll;
	info[n++] = (uint8_t)ctxlen;
	if (ctxlen > 0)
		memcpy(info + n, ctx, ctxlen);
	n += ctxlen;
	crypto_hkdf_expand(out, outlen, secret, info, n);
}

static void
sha256(uint8_t out[ND_HASH_LEN], const void *a, size_t alen, const void *b,
    size_t blen)
{
	struct crypto_vec v[2] = { { a, alen }, { b, blen } };

	crypto_sha256v(out, v, b != NULL ? 2 : 1);
}

static void
early_secret(uint8_t early[ND_HASH_LEN], const uint8_t psk[ND_KEY_LEN])
{
	static const uint8_t zero[ND_HASH_LEN];

	crypto_hkdf_extract(early, zero, sizeof(zero), psk, ND_KEY_LEN);
}

/* key and iv of a handshake message, from its traffic secret. */
static void
traffic_key(const uint8_t secret[ND_HASH_LEN], uint8_t key[ND_KEY_LEN],
    uint8_t iv[ND_IV_LEN])
{
	expand_label(key, ND_KEY_LEN, secret, "key", NULL, 0);
	expand_label(iv, ND_IV_LEN, secret, "iv", NULL, 0);
}

/* What a hand-made ClientHello contains. */
struct ch_spec {
	uint8_t eph_priv[ND_KEY_LEN];
	uint8_t version_min, version_max;
	uint16_t length;
	int zero_eph;			/* all-zero ephemeral in the header */
	struct nd_client_payload pl;
};

static void
ch_spec_init(struct ch_spec *sp, const char *name, uint32_t options)
{
	size_t len = strlen(name);

	memset(sp, 0, sizeof(*sp));
	crypto_random(sp->eph_priv, sizeof(sp->eph_priv));
	sp->version_min = ND_VERSION_2;
	sp->version_max = ND_VERSION_2;
	sp->length = CH_LEN;
	memcpy(sp->pl.client_id, client_id, ND_CLIENT_ID_LEN);
	sp->pl.options = htobe32(options);
	sp->pl.name_len = htobe16((uint16_t)len);
	memcpy(sp->pl.name, name, len < ND_NAME_MAX ? len : ND_NAME_MAX);
}

/* A ClientHello built from the specification alone, not from handshake.c. */
static int
ch_build(const uint8_t psk[ND_KEY_LEN], const struct ch_spec *sp,
    uint8_t out[CH_LEN])
{
	struct nd_hello_hdr hdr;
	struct crypto_aead *aead;
	uint8_t early[ND_HASH_LEN], th[ND_HASH_LEN], c_hello[ND_HASH_LEN];
	uint8_t key[ND_KEY_LEN], iv[ND_IV_LEN];
	int rv;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = htobe32(ND_HELLO_MAGIC);
	hdr.version_min = sp->version_min;
	hdr.version_max = sp->version_max;
	hdr.length = htobe16(sp->length);
	if (!sp->zero_eph && crypto_x25519_public(hdr.ephemeral, sp->eph_priv))
		return -1;
	memcpy(out, &hdr, sizeof(hdr));
	early_secret(early, psk);
	sha256(th, &hdr, sizeof(hdr), NULL, 0);
	expand_label(c_hello, sizeof(c_hello), early, "c hello", th, sizeof(th));
	traffic_key(c_hello, key, iv);
	if ((aead = crypto_aead_new(key)) == NULL)
		return -1;
	rv = crypto_aead_seal(aead, iv, &hdr, sizeof(hdr), &sp->pl,
	    sizeof(sp->pl), out + sizeof(hdr),
	    out + sizeof(hdr) + sizeof(sp->pl));
	crypto_aead_free(aead);
	return rv;
}

/* Decrypt a ServerHello answering a hand-made ClientHello. */
static int
sh_open(const uint8_t psk[ND_KEY_LEN], const uint8_t eph_priv[ND_KEY_LEN],
    const uint8_t ch[CH_LEN], const uint8_t sh[SH_LEN],
    struct nd_server_payload *pl)
{
	const struct nd_hello_hdr *hdr = (const void *)sh;
	struct crypto_aead *aead;
	uint8_t early[ND_HASH_LEN], derived[ND_HASH_LEN], dh[ND_KEY_LEN];
	uint8_t hs[ND_HASH_LEN], th[ND_HASH_LEN], s_hs[ND_HASH_LEN];
	uint8_t key[ND_KEY_LEN], iv[ND_IV_LEN];
	int rv;

	if (be32toh(hdr->magic) != ND_HELLO_MAGIC ||
	    be16toh(hdr->length) != SH_LEN)
		return -1;
	early_secret(early, psk);
	expand_label(derived, sizeof(derived), early, "derived", NULL, 0);
	if (crypto_x25519(dh, eph_priv, hdr->ephemeral) != 0)
		return -1;
	crypto_hkdf_extract(hs, derived, sizeof(derived), dh, sizeof(dh));
	sha256(th, ch, CH_LEN, sh, sizeof(*hdr));
	expand_label(s_hs, sizeof(s_hs), hs, "s hs", th, sizeof(th));
	traffic_key(s_hs, key, iv);
	if ((aead = crypto_aead_new(key)) == NULL)
		return -1;
	rv = crypto_aead_open(aead, iv, sh, sizeof(*hdr), sh + sizeof(*hdr),
	    sizeof(*pl), pl, sh + sizeof(*hdr) + sizeof(*pl));
	crypto_aead_free(aead);
	return rv;
}

/* ------------------------------------------------------------ sessions */

static void
hs_req_init(struct hs_request *rq, const char *name, uint32_t options)
{
	memset(rq, 0, sizeof(*rq));
	memcpy(rq->client_id, client_id, ND_CLIENT_ID_LEN);
	rq->options = options;
	rq->name_len = strnlen(name, ND_NAME_MAX);
	memcpy(rq->name, name, rq->name_len);
	rq->version_min = ND_VERSION_2;
	rq->version_max = ND_VERSION_2;
}

static void
sess_init(struct session *s)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->handle = 1;
}

/* Connect and build (not send) a ClientHello for rq under psk. */
static int
sess_connect(struct session *s, const uint8_t psk[ND_KEY_LEN],
    const struct hs_request *rq)
{
	if (hs_client_hello(&s->st, psk, rq, 0, s->ch) != 0)
		return fail("hs_client_hello failed");
	if ((s->fd = tcp_connect()) == -1)
		return fail("cannot connect to %s:%s: %s", cx.uri.host,
		    cx.uri.port, strerror(errno));
	return 0;
}

/* Receive the ServerHello; 0 with s->info filled, or 1 (failed). */
static int
sess_recv_sh(struct session *s, uint8_t cf[ND_CLIENT_FINISHED_LEN])
{
	uint8_t sh[SH_LEN];
	enum read_end end;
	size_t n;

	n = read_upto(s->fd, sh, sizeof(sh), IO_TIMEOUT_MS, &end);
	if (n != sizeof(sh))
		return fail("ServerHello: got %zu of %zu bytes (%s)", n,
		    sizeof(sh), end == READ_TIMEOUT ? "timeout" : "closed");
	if (hs_client_finish(&s->st, sh, &s->info, cf, &s->keys) != 0)
		return fail("the ServerHello does not authenticate");
	return 0;
}

/* After the ClientHello was sent: finish the handshake, start records. */
static int
sess_finish(struct session *s)
{
	uint8_t cf[ND_CLIENT_FINISHED_LEN];

	if (sess_recv_sh(s, cf) != 0)
		return 1;
	if (s->info.status != ND_HS_OK)
		return fail("handshake status %u", s->info.status);
	if (send_all(s->fd, cf, sizeof(cf)) != 0)
		return fail("sending ClientFinished: %s", strerror(errno));
	if (record_init(&s->rc, s->fd, &s->keys, 0) != 0)
		return fail("record_init failed");
	s->rc_ready = 1;
	return 0;
}

static int
sess_open_as(struct session *s, const char *name, uint32_t options)
{
	struct hs_request rq;

	hs_req_init(&rq, name, options);
	if (sess_connect(s, cx.psk, &rq) != 0)
		return 1;
	if (send_all(s->fd, s->ch, sizeof(s->ch)) != 0)
		return fail("sending ClientHello: %s", strerror(errno));
	return sess_finish(s);
}

static int
sess_open(struct session *s)
{
	sess_init(s);
	return sess_open_as(s, cx.uri.export, 0);
}

static void
sess_close(struct session *s, int disconnect)
{
	struct nd_request w;
	struct request r = { .type = ND_CMD_DISCONNECT };

	if (s->rc_ready) {
		if (disconnect) {
			request_encode(&r, &w);
			record_send(&s->rc, &w, sizeof(w));
		}
		record_free(&s->rc);
		s->rc_ready = 0;
	}
	if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	hs_state_clear(&s->st);
	hs_keys_clear(&s->keys);
}

/* ------------------------------------------------------------ requests */

static int
send_wire(struct session *s, const struct nd_request *w, const void *data,
    size_t dlen)
{
	struct iovec iov[2] = {
		{ (void *)w, sizeof(*w) }, { (void *)data, dlen },
	};

	if (record_sendv(&s->rc, iov, dlen > 0 ? 2 : 1) != 0)
		return fail("sending a request: %s", strerror(errno));
	return 0;
}

static int
send_req(struct session *s, uint16_t type, uint16_t flags, uint64_t handle,
    uint64_t off, uint32_t len, const void *data, size_t dlen)
{
	struct request r = {
		.type = type, .flags = flags, .handle = handle,
		.offset = off, .length = len,
	};
	struct nd_request w;

	request_encode(&r, &w);
	return send_wire(s, &w, data, dlen);
}

/*
 * Receive one reply header.  1 with *r set; 0 on a closed connection
 * (clean or not); -1 (failed, message printed) on anything else.
 */
static int
recv_reply(struct session *s, struct reply *r)
{
	struct nd_reply w;
	int n;

	n = record_recv(&s->rc, &w, sizeof(w));
	if (n == 0 || (n == -1 && (errno == EPROTO || errno == ECONNRESET)))
		return 0;
	if (n == -1) {
		fail("receiving a reply: %s", errno == EAGAIN ?
		    "timed out" : strerror(errno));
		return -1;
	}
	if (reply_decode(&w, r) != 0) {
		fail("reply with a bad magic");
		return -1;
	}
	return 1;
}

/* One request, one reply with its handle and error want (READ data read). */
static int
expect_reply(struct session *s, const char *what, uint16_t type,
    uint16_t flags, uint64_t off, uint32_t len, const void *data,
    size_t dlen, uint32_t want)
{
	static uint8_t buf[ND_MAX_PAYLOAD];
	uint64_t h = s->handle++;
	struct reply r;
	int n;

	if (send_req(s, type, flags, h, off, len, data, dlen) != 0)
		return 1;
	if ((n = recv_reply(s, &r)) != 1)
		return n == 0 ? fail("%s: server closed the connection", what) : 1;
	if (r.handle != h)
		return fail("%s: reply for handle %llu, expected %llu", what,
		    (unsigned long long)r.handle, (unsigned long long)h);
	if (r.error != want)
		return fail("%s: error %u, expected %u", what, r.error, want);
	if (type == ND_CMD_READ && r.error == ND_OK && len <= sizeof(buf) &&
	    record_recv(&s->rc, buf, len) != 1)
		return fail("%s: reading the data: %s", what, strerror(errno));
	return 0;
}

static void
fill_pattern(uint8_t *buf, size_t len, uint64_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* The connection still works: a verified write + read (or a read). */
static int
still_usable(struct session *s, const char *after)
{
	static uint64_t round;
	uint8_t out[BLOCK], in[BLOCK];
	uint64_t off = 64 * 1024, h = s->handle++;
	struct reply r;
	char what[160];

	snprintf(what, sizeof(what), "read after %s", after);
	if (s->info.flags & ND_FLAG_READ_ONLY)
		return expect_reply(s, what, ND_CMD_READ, 0, 0, BLOCK, NULL,
		    0, ND_OK);
	fill_pattern(out, sizeof(out), ++round);
	snprintf(what, sizeof(what), "write after %s", after);
	if (expect_reply(s, what, ND_CMD_WRITE, 0, off, BLOCK, out, BLOCK,
	    ND_OK) != 0)
		return 1;
	if (send_req(s, ND_CMD_READ, 0, h, off, BLOCK, NULL, 0) != 0)
		return 1;
	if (recv_reply(s, &r) != 1 || r.handle != h || r.error != ND_OK ||
	    record_recv(&s->rc, in, sizeof(in)) != 1)
		return fail("read back after %s failed", after);
	if (memcmp(in, out, sizeof(in)) != 0)
		return fail("read back after %s: wrong data", after);
	return 0;
}

/* After a request that breaks the stream: the server must hang up. */
static int
expect_hangup(struct session *s, const char *what)
{
	struct reply r;
	int n;

	while ((n = recv_reply(s, &r)) == 1) {
		if (r.error == ND_OK)
			return fail("%s: answered with success", what);
		note("%s: error reply %u before closing", what, r.error);
	}
	if (n != 0)
		return 1;
	note("%s: server closed the connection", what);
	return 0;
}

/* ------------------------------------------------------------ records */

/* A record sealed by hand: returns its length in out. */
static size_t
seal_record(const struct hs_traffic *t, uint64_t seq, uint8_t outer,
    uint16_t legacy, const void *content, size_t len, uint8_t inner,
    uint8_t *out)
{
	uint8_t nonce[ND_IV_LEN], pt[ND_REC_MAX_PLAINTEXT + 1];
	struct crypto_aead *aead;
	size_t ctlen = len + 1 + ND_TAG_LEN;
	int i;

	memcpy(nonce, t->iv, sizeof(nonce));
	for (i = 0; i < 8; i++)
		nonce[ND_IV_LEN - 1 - i] ^= (uint8_t)(seq >> (8 * i));
	out[0] = outer;
	out[1] = (uint8_t)(legacy >> 8);
	out[2] = (uint8_t)legacy;
	out[3] = (uint8_t)(ctlen >> 8);
	out[4] = (uint8_t)ctlen;
	memcpy(pt, content, len);
	pt[len] = inner;
	aead = crypto_aead_new(t->key);
	if (aead == NULL || crypto_aead_seal(aead, nonce, out, ND_REC_HDR_LEN,
	    pt, len + 1, out + ND_REC_HDR_LEN,
	    out + ND_REC_HDR_LEN + len + 1) != 0) {
		crypto_aead_free(aead);
		return 0;
	}
	crypto_aead_free(aead);
	return ND_REC_HDR_LEN + ctlen;
}

/* A READ request of the first block, as a record sealed by hand. */
static size_t
read_record(struct session *s, uint64_t handle, uint8_t outer,
    uint16_t legacy, uint8_t inner, uint8_t *out)
{
	struct request r = {
		.type = ND_CMD_READ, .handle = handle, .length = ND_MIN_BLOCK,
	};
	struct nd_request w;
	size_t n;

	request_encode(&r, &w);
	n = seal_record(&s->rc.tx.traffic, s->rc.tx.seq, outer, legacy, &w,
	    sizeof(w), inner, out);
	s->rc.tx.seq++;
	return n;
}

/*
 * Send one hand-sealed valid record and check the reply: proves the
 * hand-made records are right before the tampered ones are judged.
 */
static int
manual_record_ok(struct session *s, uint8_t *rec, size_t *reclen)
{
	uint8_t buf[ND_MIN_BLOCK];
	uint64_t h = s->handle++;
	struct reply r;

	*reclen = read_record(s, h, ND_REC_TYPE_DATA, ND_REC_LEGACY_VERSION,
	    ND_REC_TYPE_DATA, rec);
	if (*reclen == 0 || send_all(s->fd, rec, *reclen) != 0)
		return fail("sending a hand-sealed record failed");
	if (recv_reply(s, &r) != 1 || r.handle != h || r.error != ND_OK ||
	    record_recv(&s->rc, buf, sizeof(buf)) != 1)
		return fail("a correct hand-sealed record was not answered");
	return 0;
}

/* Send raw bytes in the data phase; the server must close, answering nothing. */
static int
record_attack(struct session *s, const uint8_t *bytes, size_t len,
    const char *what)
{
	if (send_all(s->fd, bytes, len) != 0)
		return fail("sending %s: %s", what, strerror(errno));
	return expect_closed(s->fd, IO_TIMEOUT_MS, what);
}

/* ------------------------------------------------------------ modes: handshake */

static int
mode_raw(const void *bytes, size_t len, int shut, int ms, const char *what)
{
	int fd, rv;

	if ((fd = tcp_connect()) == -1)
		return fail("connect: %s", strerror(errno));
	if (send_all(fd, bytes, len) != 0) {
		close(fd);
		return fail("send: %s", strerror(errno));
	}
	if (shut)
		shutdown(fd, SHUT_WR);
	rv = expect_closed(fd, ms, what);
	close(fd);
	return rv;
}

static int
mode_garbage(void)
{
	uint8_t buf[256];

	crypto_random(buf, sizeof(buf));
	buf[0] = 'X';		/* never the magic */
	return mode_raw(buf, sizeof(buf), 0, fast_ms(), "256 random bytes");
}

static int
mode_http(void)
{
	const char req[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

	return mode_raw(req, sizeof(req) - 1, 0, fast_ms(), "an HTTP request");
}

/* A real ClientHello for the URI's export, not sent. */
static int
real_ch(uint8_t ch[CH_LEN])
{
	struct hs_state st;
	struct hs_request rq;
	int rv;

	memset(&st, 0, sizeof(st));
	hs_req_init(&rq, cx.uri.export, 0);
	rv = hs_client_hello(&st, cx.psk, &rq, 0, ch);
	hs_state_clear(&st);
	return rv == 0 ? 0 : fail("hs_client_hello failed");
}

static int
mode_hello_truncated(void)
{
	uint8_t ch[CH_LEN];

	if (real_ch(ch) != 0)
		return 1;
	return mode_raw(ch, 100, 1, fast_ms(),
	    "100 bytes of a ClientHello and EOF");
}

static int
stall(size_t len, const char *what)
{
	uint8_t ch[CH_LEN];
	int fd, rv, limit = (cx.hs_timeout + 3) * 1000;
	long t0, dt;

	if (real_ch(ch) != 0)
		return 1;
	if ((fd = tcp_connect()) == -1)
		return fail("connect: %s", strerror(errno));
	t0 = now_ms();
	if (send_all(fd, ch, len) != 0) {
		close(fd);
		return fail("send: %s", strerror(errno));
	}
	rv = expect_closed(fd, limit, what);
	dt = now_ms() - t0;
	close(fd);
	if (rv == 0 && dt < cx.hs_timeout * 500L)
		return fail("closed after %ld ms, long before the %d s "
		    "handshake timeout", dt, cx.hs_timeout);
	return rv;
}

static int
mode_hello_stall(void)
{
	return stall(100, "100 bytes of a ClientHello and silence");
}

static int
mode_magic_stall(void)
{
	return stall(3, "3 bytes of the magic and silence");
}

/* The first 8 bytes of a real ClientHello with another length field. */
static int
bad_length(uint16_t length)
{
	uint8_t ch[CH_LEN];
	char what[80];

	if (real_ch(ch) != 0)
		return 1;
	ch[6] = (uint8_t)(length >> 8);
	ch[7] = (uint8_t)length;
	snprintf(what, sizeof(what), "a hello header with length %u", length);
	return mode_raw(ch, 8, 0, fast_ms(), what);
}

static int mode_len_big(void) { return bad_length(CH_LEN + 1); }
static int mode_len_small(void) { return bad_length(CH_LEN - 1); }
static int mode_len_hdr(void) { return bad_length(sizeof(struct nd_hello_hdr)); }
static int mode_len_zero(void) { return bad_length(0); }
static int mode_len_max(void) { return bad_length(0xffff); }

/* Offer [lo, hi]; the server must send a version reject with its range. */
static int
version_reject(uint8_t lo, uint8_t hi)
{
	uint8_t ch[CH_LEN], rej[ND_VERSION_REJECT_LEN + 1], smin, smax;
	static const uint8_t zero[ND_KEY_LEN];
	const struct nd_hello_hdr *h = (const void *)rej;
	enum read_end end;
	size_t n;
	int fd;

	if (real_ch(ch) != 0)
		return 1;
	ch[4] = lo;
	ch[5] = hi;
	if ((fd = tcp_connect()) == -1)
		return fail("connect: %s", strerror(errno));
	if (send_all(fd, ch, 8) != 0) {
		close(fd);
		return fail("send: %s", strerror(errno));
	}
	n = read_upto(fd, rej, sizeof(rej), IO_TIMEOUT_MS, &end);
	close(fd);
	if (n != ND_VERSION_REJECT_LEN)
		return fail("versions %u..%u: got %zu bytes, expected a %zu-byte "
		    "version reject and EOF (%s)", lo, hi, n,
		    ND_VERSION_REJECT_LEN, end == READ_TIMEOUT ?
		    "timeout" : "closed");
	if (end != READ_EOF)
		return fail("versions %u..%u: no EOF after the reject", lo, hi);
	if (hs_parse_reject(rej, n, &smin, &smax) != 0)
		return fail("versions %u..%u: hs_parse_reject refuses the "
		    "reject", lo, hi);
	if (be32toh(h->magic) != ND_HELLO_MAGIC ||
	    be16toh(h->length) != ND_VERSION_REJECT_LEN ||
	    memcmp(h->ephemeral, zero, sizeof(zero)) != 0)
		return fail("versions %u..%u: malformed reject", lo, hi);
	if (smin != ND_VERSION_2 || smax != ND_VERSION_2)
		return fail("versions %u..%u: reject announces %u..%u, "
		    "expected %u..%u", lo, hi, smin, smax, ND_VERSION_2,
		    ND_VERSION_2);
	note("versions %u..%u rejected; server speaks %u..%u", lo, hi, smin,
	    smax);
	return 0;
}

static int mode_version_high(void) { return version_reject(ND_VERSION_MAX + 1, 255); }
static int mode_version_zero(void) { return version_reject(0, 0); }

/* A client offering 1..9 must get version 2 and a working session. */
static int
mode_version_wide(void)
{
	struct hs_request rq;
	struct session s;
	int rv;

	sess_init(&s);
	hs_req_init(&rq, cx.uri.export, 0);
	rq.version_max = 9;
	if (sess_connect(&s, cx.psk, &rq) != 0)
		return 1;
	if (send_all(s.fd, s.ch, sizeof(s.ch)) != 0)
		return fail("send: %s", strerror(errno));
	rv = sess_finish(&s);
	if (rv == 0 && s.st.version != ND_VERSION_2)
		rv = fail("server chose version %u", s.st.version);
	if (rv == 0)
		rv = still_usable(&s, "a 1..9 version offer");
	sess_close(&s, 1);
	return rv;
}

/* A ClientHello the server cannot accept: it must close, answering nothing. */
static int
bad_hello(const uint8_t ch[CH_LEN], const char *what)
{
	return mode_raw(ch, CH_LEN, 0, fast_ms(), what);
}

static int
mode_wrong_key(void)
{
	struct hs_state st;
	struct hs_request rq;
	uint8_t key[ND_KEY_LEN], ch[CH_LEN];

	crypto_random(key, sizeof(key));
	memset(&st, 0, sizeof(st));
	hs_req_init(&rq, cx.uri.export, 0);
	if (hs_client_hello(&st, key, &rq, 0, ch) != 0)
		return fail("hs_client_hello failed");
	hs_state_clear(&st);
	return bad_hello(ch, "a hello under the wrong key");
}

static int
mode_unknown_export(void)
{
	struct hs_state st;
	struct hs_request rq;
	uint8_t ch[CH_LEN];

	memset(&st, 0, sizeof(st));
	hs_req_init(&rq, "no-such-export", 0);
	if (hs_client_hello(&st, cx.psk, &rq, 0, ch) != 0)
		return fail("hs_client_hello failed");
	hs_state_clear(&st);
	return bad_hello(ch, "a hello for an unknown export");
}

static int
tampered_hello(size_t at, const char *what)
{
	uint8_t ch[CH_LEN];

	if (real_ch(ch) != 0)
		return 1;
	ch[at] ^= 0x01;
	return bad_hello(ch, what);
}

static int mode_tamper_ch_eph(void) { return tampered_hello(8 + 5, "a hello with a flipped ephemeral bit"); }
static int mode_tamper_ch_payload(void) { return tampered_hello(40 + 20, "a hello with a flipped payload bit"); }
static int mode_tamper_ch_tag(void) { return tampered_hello(CH_LEN - 1, "a hello with a flipped tag bit"); }

/* The hand-made hello equals handshake.c's and opens a session. */
static int
mode_manual_ch(void)
{
	struct ch_spec sp;
	struct hs_request rq;
	struct session s;
	uint8_t mine[CH_LEN];
	int rv;

	sess_init(&s);
	ch_spec_init(&sp, cx.uri.export, 0);
	hs_req_init(&rq, cx.uri.export, 0);
	memcpy(s.st.eph_priv, sp.eph_priv, ND_KEY_LEN);
	if (hs_client_hello(&s.st, cx.psk, &rq, 1, s.ch) != 0)
		return fail("hs_client_hello with a preset key failed");
	if (ch_build(cx.psk, &sp, mine) != 0)
		return fail("building the hello by hand failed");
	if (memcmp(mine, s.ch, CH_LEN) != 0)
		return fail("handshake.c's ClientHello differs from the one "
		    "built from the key schedule in docs/protocol.md");
	if ((s.fd = tcp_connect()) == -1)
		return fail("connect: %s", strerror(errno));
	if (send_all(s.fd, mine, CH_LEN) != 0)
		return fail("send: %s", strerror(errno));
	rv = sess_finish(&s);
	if (rv == 0)
		rv = still_usable(&s, "a hand-made hello");
	sess_close(&s, 1);
	return rv;
}

static int
manual_bad_hello(void (*spoil)(struct ch_spec *), const char *what)
{
	struct ch_spec sp;
	uint8_t ch[CH_LEN];

	ch_spec_init(&sp, cx.uri.export, 0);
	spoil(&sp);
	if (ch_build(cx.psk, &sp, ch) != 0)
		return fail("building the hello failed");
	return bad_hello(ch, what);
}

static void spoil_zero_eph(struct ch_spec *sp) { sp->zero_eph = 1; }
static void spoil_name_empty(struct ch_spec *sp) { sp->pl.name_len = 0; }
static void spoil_name_long(struct ch_spec *sp) { sp->pl.name_len = htobe16(ND_NAME_MAX + 1); }
static void spoil_name_nul(struct ch_spec *sp) { sp->pl.name[1] = '\0'; }
static void spoil_padding(struct ch_spec *sp) { sp->pl.name[ND_NAME_MAX - 1] = 'x'; }

static int mode_zero_eph(void) { return manual_bad_hello(spoil_zero_eph, "a hello with an all-zero X25519 key"); }
static int mode_name_empty(void) { return manual_bad_hello(spoil_name_empty, "a hello with name_len 0"); }
static int mode_name_long(void) { return manual_bad_hello(spoil_name_long, "a hello with name_len 129"); }
static int mode_name_nul(void) { return manual_bad_hello(spoil_name_nul, "a hello with a NUL in the name"); }
static int mode_name_padding(void) { return manual_bad_hello(spoil_padding, "a hello with garbage after the name"); }

/*
 * Unknown option bits or a connection slot out of range: a ServerHello
 * with status BAD_OPTIONS, then EOF.
 */
static int
refused_options(uint32_t options, uint16_t conn)
{
	struct nd_server_payload pl;
	struct ch_spec sp;
	uint8_t ch[CH_LEN], sh[SH_LEN];
	enum read_end end;
	size_t n;
	int fd, rv;

	ch_spec_init(&sp, cx.uri.export, options);
	sp.pl.conn = htobe16(conn);
	if (ch_build(cx.psk, &sp, ch) != 0)
		return fail("building the hello failed");
	if ((fd = tcp_connect()) == -1)
		return fail("connect: %s", strerror(errno));
	if (send_all(fd, ch, CH_LEN) != 0) {
		close(fd);
		return fail("send: %s", strerror(errno));
	}
	n = read_upto(fd, sh, sizeof(sh), IO_TIMEOUT_MS, &end);
	if (n != SH_LEN) {
		close(fd);
		return fail("got %zu bytes, expected a ServerHello", n);
	}
	if (sh_open(cx.psk, sp.eph_priv, ch, sh, &pl) != 0) {
		close(fd);
		return fail("the ServerHello does not authenticate");
	}
	if (be32toh(pl.status) != ND_HS_BAD_OPTIONS) {
		close(fd);
		return fail("status %u, expected ND_HS_BAD_OPTIONS",
		    be32toh(pl.status));
	}
	if (pl.flags != 0 || pl.size != 0) {
		close(fd);
		return fail("a refusal carries flags or size");
	}
	rv = expect_closed(fd, fast_ms(), "the BAD_OPTIONS ServerHello");
	close(fd);
	return rv;
}

static int mode_bad_options(void) { return refused_options(0x80000000U | (ND_OPT_ALL + 1), 0); }
static int mode_conn_range(void) { return refused_options(0, ND_CONN_SLOTS); }

/* A recorded ClientHello sent again must not lead to a session. */
static int
mode_replay(void)
{
	struct session s;
	uint8_t ch[CH_LEN], sh[SH_LEN], cf[ND_CLIENT_FINISHED_LEN];
	uint8_t rec[64];
	enum read_end end;
	size_t n;
	int fd, rv;

	if (sess_open(&s) != 0)
		return 1;
	memcpy(ch, s.ch, CH_LEN);
	rv = still_usable(&s, "the original handshake");
	sess_close(&s, 1);
	if (rv != 0)
		return rv;
	usleep(100 * 1000);
	if ((fd = tcp_connect()) == -1)
		return fail("connect: %s", strerror(errno));
	if (send_all(fd, ch, CH_LEN) != 0) {
		close(fd);
		return fail("send: %s", strerror(errno));
	}
	n = read_upto(fd, sh, sizeof(sh), IO_TIMEOUT_MS, &end);
	if (n == 0 && end == READ_EOF) {
		note("server refused the replayed hello");
		close(fd);
		return 0;
	}
	if (n != SH_LEN) {
		close(fd);
		return fail("replayed hello: got %zu bytes (%s)", n,
		    end == READ_TIMEOUT ? "no close" : "then EOF");
	}
	/* An attacker lacks the ephemeral key: finish with a guess. */
	note("server answered the replayed hello; finishing with a forged CF");
	crypto_random(cf, sizeof(cf));
	crypto_random(rec, sizeof(rec));
	rec[0] = ND_REC_TYPE_DATA;
	rec[1] = 3;
	rec[2] = 3;
	rec[3] = 0;
	rec[4] = sizeof(rec) - ND_REC_HDR_LEN;
	if (send_all(fd, cf, sizeof(cf)) != 0 ||
	    send_all(fd, rec, sizeof(rec)) != 0) {
		note("server closed after the forged ClientFinished");
		close(fd);
		return 0;
	}
	rv = expect_closed(fd, IO_TIMEOUT_MS, "a forged ClientFinished");
	close(fd);
	return rv;
}

#define REPLAY_FLOOD	4200	/* more hellos than netdiskd remembers */

/* An authentic hello under psk for an export that does not exist. */
static int
flood_hello(const uint8_t psk[ND_KEY_LEN], int i)
{
	struct hs_state st;
	struct hs_request rq;
	uint8_t ch[CH_LEN], b;
	enum read_end end;
	int fd, rv = 0;

	memset(&st, 0, sizeof(st));
	hs_req_init(&rq, "no-such-export", 0);
	rv = hs_client_hello(&st, psk, &rq, 0, ch);
	hs_state_clear(&st);
	if (rv != 0)
		return fail("hs_client_hello failed");
	if ((fd = attack_connect(0)) == -1)
		return fail("hello %d: connect: %s", i, strerror(errno));
	if (send_all(fd, ch, CH_LEN) != 0)
		rv = fail("hello %d: send: %s", i, strerror(errno));
	else if (read_upto(fd, &b, 1, IO_TIMEOUT_MS, &end) > 0 ||
	    end != READ_EOF)
		rv = fail("hello %d for an unknown export: not closed at once",
		    i);
	close(fd);
	return rv;
}

static int
mode_replay_flood(void)
{
	struct session s;
	uint8_t ch[CH_LEN], sh[SH_LEN];
	enum read_end end;
	size_t n;
	int fd, i, rv;

	if (!cx.has_psk2) {
		note("no second key (-K): nothing to flood with");
		return 0;
	}
	if (sess_open(&s) != 0)
		return 1;
	memcpy(ch, s.ch, CH_LEN);
	rv = still_usable(&s, "the original handshake");
	sess_close(&s, 1);
	for (i = 0; i < REPLAY_FLOOD && rv == 0; i++)
		rv = flood_hello(cx.psk2, i);
	if (rv != 0)
		return rv;
	if ((fd = tcp_connect()) == -1)
		return fail("connect: %s", strerror(errno));
	if (send_all(fd, ch, CH_LEN) != 0) {
		close(fd);
		return fail("send: %s", strerror(errno));
	}
	n = read_upto(fd, sh, sizeof(sh), IO_TIMEOUT_MS, &end);
	close(fd);
	if (n == 0 && end == READ_EOF) {
		note("the replayed hello is still refused after %d hellos "
		    "under another key", REPLAY_FLOOD);
		return 0;
	}
	return fail("after %d hellos under another key the replayed hello "
	    "got %zu bytes (%s)", REPLAY_FLOOD, n,
	    n > 0 ? "answered" : "no close");
}

/* A wrong ClientFinished: the server closes without a byte of data. */
static int
mode_cf_bad(void)
{
	struct session s;
	uint8_t cf[ND_CLIENT_FINISHED_LEN];
	int rv;

	sess_init(&s);
	{
		struct hs_request rq;

		hs_req_init(&rq, cx.uri.export, 0);
		if (sess_connect(&s, cx.psk, &rq) != 0)
			return 1;
	}
	if (send_all(s.fd, s.ch, CH_LEN) != 0)
		return fail("send: %s", strerror(errno));
	if (sess_recv_sh(&s, cf) != 0)
		return 1;
	if (s.info.status != ND_HS_OK)
		return fail("handshake status %u", s.info.status);
	cf[7] ^= 0x80;
	if (send_all(s.fd, cf, sizeof(cf)) != 0)
		return fail("send: %s", strerror(errno));
	/* A request under the real keys must not be served either. */
	if (record_init(&s.rc, s.fd, &s.keys, 0) == 0) {
		s.rc_ready = 1;
		send_req(&s, ND_CMD_READ, 0, 1, 0, ND_MIN_BLOCK, NULL, 0);
	}
	rv = expect_closed(s.fd, IO_TIMEOUT_MS, "a wrong ClientFinished");
	sess_close(&s, 0);
	return rv;
}

static int
mode_cf_truncated(void)
{
	struct session s;
	uint8_t cf[ND_CLIENT_FINISHED_LEN];
	struct hs_request rq;
	long t0;
	int rv;

	sess_init(&s);
	hs_req_init(&rq, cx.uri.export, 0);
	if (sess_connect(&s, cx.psk, &rq) != 0)
		return 1;
	if (send_all(s.fd, s.ch, CH_LEN) != 0)
		return fail("send: %s", strerror(errno));
	if (sess_recv_sh(&s, cf) != 0)
		return 1;
	t0 = now_ms();
	if (send_all(s.fd, cf, 16) != 0)
		return fail("send: %s", strerror(errno));
	rv = expect_closed(s.fd, (cx.hs_timeout + 3) * 1000,
	    "half a ClientFinished and silence");
	if (rv == 0 && now_ms() - t0 < cx.hs_timeout * 500L)
		rv = fail("closed long before the handshake timeout");
	sess_close(&s, 0);
	return rv;
}

/*
 * A ClientFinished one byte every half second, begun right after the
 * ServerHello: the server must close when the handshake's deadline,
 * counted from the connection, expires, before the last byte.
 */
static int
mode_cf_trickle(void)
{
	struct session s;
	uint8_t cf[ND_CLIENT_FINISHED_LEN], b;
	struct hs_request rq;
	enum read_end end;
	long t0, limit = cx.hs_timeout * 1000L + 2000;
	size_t i;
	int rv = 1;

	sess_init(&s);
	hs_req_init(&rq, cx.uri.export, ND_OPT_READ_ONLY);
	if (sess_connect(&s, cx.psk, &rq) != 0)
		return 1;
	t0 = now_ms();
	if (send_all(s.fd, s.ch, CH_LEN) != 0)
		return fail("send: %s", strerror(errno));
	if (sess_recv_sh(&s, cf) != 0)
		return 1;
	for (i = 0; i < sizeof(cf) - 1 && now_ms() - t0 <= limit; i++) {
		if (send(s.fd, cf + i, 1, MSG_NOSIGNAL) != 1) {
			rv = 0;		/* reset: closed */
			break;
		}
		if (read_upto(s.fd, &b, 1, 500, &end) > 0) {
			sess_close(&s, 0);
			return fail("data before the ClientFinished was whole");
		}
		if (end == READ_EOF) {
			rv = 0;
			break;
		}
	}
	if (rv == 0)
		note("closed %ld ms after the connection, %zu bytes of the "
		    "ClientFinished sent", now_ms() - t0, i);
	else
		fail("still open %ld ms after the connection (handshake "
		    "timeout %d s), %zu bytes of the ClientFinished sent",
		    now_ms() - t0, cx.hs_timeout, i);
	sess_close(&s, 0);
	return rv;
}

/* ------------------------------------------------------------ modes: records */

/* Open a session, prove hand-sealed records work, then send attack(). */
static int
record_mode(int (*attack)(struct session *, const uint8_t *, size_t))
{
	struct session s;
	uint8_t rec[ND_REC_HDR_LEN + 64];
	size_t len;
	int rv;

	if (sess_open(&s) != 0)
		return 1;
	rv = manual_record_ok(&s, rec, &len);
	if (rv == 0)
		rv = attack(&s, rec, len);
	sess_close(&s, 0);
	return rv;
}

static int
attack_flip(struct session *s, size_t at, const char *what)
{
	uint8_t rec[ND_REC_HDR_LEN + 64];
	size_t len;

	len = read_record(s, s->handle++, ND_REC_TYPE_DATA,
	    ND_REC_LEGACY_VERSION, ND_REC_TYPE_DATA, rec);
	rec[at < len ? at : len - 1] ^= 0x04;	/* SIZE_MAX: the last tag byte */
	return record_attack(s, rec, len, what);
}

static int atk_tamper(struct session *s, const uint8_t *r, size_t l) { return attack_flip(s, ND_REC_HDR_LEN + 9, "a record with a flipped ciphertext bit"); }
static int atk_tamper_tag(struct session *s, const uint8_t *r, size_t l) { return attack_flip(s, SIZE_MAX, "a record with a flipped tag bit"); }
static int atk_version(struct session *s, const uint8_t *r, size_t l) { return attack_flip(s, 2, "a record with legacy version 0x0307"); }

static int
atk_replay(struct session *s, const uint8_t *rec, size_t len)
{
	return record_attack(s, rec, len, "the previous record replayed");
}

static int
atk_header(struct session *s, uint8_t type, uint16_t length, const char *what)
{
	uint8_t buf[ND_REC_HDR_LEN + 100];

	crypto_random(buf, sizeof(buf));
	buf[0] = type;
	buf[1] = 3;
	buf[2] = 3;
	buf[3] = (uint8_t)(length >> 8);
	buf[4] = (uint8_t)length;
	return record_attack(s, buf, sizeof(buf), what);
}

static int atk_oversize(struct session *s, const uint8_t *r, size_t l) { return atk_header(s, ND_REC_TYPE_DATA, ND_REC_MAX_CIPHERTEXT + 1, "a record header with length max + 1"); }
static int atk_length_max(struct session *s, const uint8_t *r, size_t l) { return atk_header(s, ND_REC_TYPE_DATA, 0xffff, "a record header with length 65535"); }
static int atk_undersize(struct session *s, const uint8_t *r, size_t l) { return atk_header(s, ND_REC_TYPE_DATA, ND_TAG_LEN, "a record header with length 16"); }
static int atk_zero(struct session *s, const uint8_t *r, size_t l) { return atk_header(s, ND_REC_TYPE_DATA, 0, "a record header with length 0"); }
static int atk_badtype(struct session *s, const uint8_t *r, size_t l) { return atk_header(s, 21, 40, "a record of outer type 21"); }

static int
atk_inner_type(struct session *s, const uint8_t *r, size_t l)
{
	uint8_t rec[ND_REC_HDR_LEN + 64];
	size_t len;

	len = read_record(s, s->handle++, ND_REC_TYPE_DATA,
	    ND_REC_LEGACY_VERSION, 21, rec);
	return record_attack(s, rec, len, "a record of inner type 21");
}

static int
atk_handshake_type(struct session *s, const uint8_t *r, size_t l)
{
	uint8_t rec[ND_REC_HDR_LEN + 64];
	size_t len;

	len = read_record(s, s->handle++, ND_REC_TYPE_DATA,
	    ND_REC_LEGACY_VERSION, ND_REC_TYPE_HANDSHAKE, rec);
	return record_attack(s, rec, len,
	    "a type-22 record that is not a KeyUpdate");
}

static int mode_rec_tamper(void) { return record_mode(atk_tamper); }
static int mode_rec_tamper_tag(void) { return record_mode(atk_tamper_tag); }
static int mode_rec_version(void) { return record_mode(atk_version); }
static int mode_rec_replay(void) { return record_mode(atk_replay); }
static int mode_rec_oversize(void) { return record_mode(atk_oversize); }
static int mode_rec_length_max(void) { return record_mode(atk_length_max); }
static int mode_rec_undersize(void) { return record_mode(atk_undersize); }
static int mode_rec_zero(void) { return record_mode(atk_zero); }
static int mode_rec_badtype(void) { return record_mode(atk_badtype); }
static int mode_rec_inner_type(void) { return record_mode(atk_inner_type); }
static int mode_rec_not_keyupdate(void) { return record_mode(atk_handshake_type); }

/* ------------------------------------------------------------ modes: requests */

static int
broken_request(void (*spoil)(struct nd_request *), const char *what)
{
	struct request r = { .type = ND_CMD_READ, .handle = 77,
	    .length = ND_MIN_BLOCK };
	struct session s;
	struct nd_request w;
	int rv;

	if (sess_open(&s) != 0)
		return 1;
	rv = still_usable(&s, "the handshake");
	if (rv == 0) {
		request_encode(&r, &w);
		spoil(&w);
		rv = send_wire(&s, &w, NULL, 0);
	}
	if (rv == 0)
		rv = expect_hangup(&s, what);
	sess_close(&s, 0);
	return rv;
}

static void spoil_magic(struct nd_request *w) { w->magic = htobe32(ND_REPLY_MAGIC); }
static void spoil_req_reserved(struct nd_request *w) { w->reserved = htobe32(1); }

static int mode_req_badmagic(void) { return broken_request(spoil_magic, "a request with a bad magic"); }
static int mode_req_reserved(void) { return broken_request(spoil_req_reserved, "a request with a non-zero reserved field"); }

struct bad_req {
	const char *what;
	uint16_t type, flags;
	uint64_t off;
	uint32_t len;
	size_t dlen;		/* WRITE payload bytes sent */
	uint32_t want;
};

static int
run_bad_requests(struct session *s, const struct bad_req *t, size_t n)
{
	static uint8_t payload[ND_MAX_PAYLOAD];
	size_t i;

	for (i = 0; i < n; i++) {
		if (expect_reply(s, t[i].what, t[i].type, t[i].flags,
		    t[i].off, t[i].len, payload, t[i].dlen, t[i].want) != 0)
			return 1;
		if (still_usable(s, t[i].what) != 0)
			return 1;
		note("%s: error %u, connection still usable", t[i].what,
		    t[i].want);
	}
	return 0;
}

static int
mode_req_errors(void)
{
	struct session s;
	uint64_t end;
	int rv;

	if (sess_open(&s) != 0)
		return 1;
	end = s.info.size;
	{
		const struct bad_req t[] = {
			{ "unknown command 6", 6, 0, 0, 512, 0, ND_EINVAL },
			{ "unknown command 0xffff", 0xffff, 0, 0, 512, 0, ND_EINVAL },
			{ "READ with flag 0x8000", ND_CMD_READ, 0x8000, 0, 512, 0, ND_EINVAL },
			{ "READ with FUA", ND_CMD_READ, ND_CMD_FLAG_FUA, 0, 512, 0, ND_EINVAL },
			{ "READ at offset 100", ND_CMD_READ, 0, 100, 512, 0, ND_EINVAL },
			{ "READ of 100 bytes", ND_CMD_READ, 0, 0, 100, 0, ND_EINVAL },
			{ "READ of 0 bytes", ND_CMD_READ, 0, 0, 0, 0, ND_EINVAL },
			{ "READ at the end", ND_CMD_READ, 0, end, 512, 0, ND_EOVERFLOW },
			{ "READ across the end", ND_CMD_READ, 0, end - 512, 1024, 0, ND_EOVERFLOW },
			{ "READ wrapping uint64", ND_CMD_READ, 0, UINT64_MAX - 511, 1024, 0, ND_EOVERFLOW },
			{ "READ above max_payload", ND_CMD_READ, 0, 0, ND_MAX_PAYLOAD + 512, 0, ND_EINVAL },
			{ "WRITE at offset 100", ND_CMD_WRITE, 0, 100, 512, 512, ND_EINVAL },
			{ "WRITE of 100 bytes", ND_CMD_WRITE, 0, 0, 100, 100, ND_EINVAL },
			{ "WRITE with flag 0x0002", ND_CMD_WRITE, 0x0002, 0, 512, 512, ND_EINVAL },
			{ "WRITE across the end", ND_CMD_WRITE, 0, end - 512, 4096, 4096, ND_EOVERFLOW },
			{ "WRITE far beyond the end", ND_CMD_WRITE, 0, end * 4, 512, 512, ND_EOVERFLOW },
			{ "WRITE of max_payload beyond the end", ND_CMD_WRITE, 0, end, ND_MAX_PAYLOAD, ND_MAX_PAYLOAD, ND_EOVERFLOW },
			{ "TRIM at offset 512 of 100 bytes", ND_CMD_TRIM, 0, 512, 100, 0, ND_EINVAL },
			{ "TRIM with FUA", ND_CMD_TRIM, ND_CMD_FLAG_FUA, 0, 512, 0, ND_EINVAL },
			{ "TRIM across the end", ND_CMD_TRIM, 0, end - 512, 1024, 0, ND_EOVERFLOW },
			{ "WRITE_ZEROES at offset 1", ND_CMD_WRITE_ZEROES, 0, 1, 512, 0, ND_EINVAL },
			{ "WRITE_ZEROES across the end", ND_CMD_WRITE_ZEROES, 0, end, 512, 0, ND_EOVERFLOW },
			{ "FLUSH at offset 512", ND_CMD_FLUSH, 0, 512, 0, 0, ND_EINVAL },
			{ "FLUSH", ND_CMD_FLUSH, 0, 0, 0, 0, ND_OK },
			{ "WRITE_ZEROES with FUA", ND_CMD_WRITE_ZEROES, ND_CMD_FLAG_FUA, 0, 4096, 0, ND_OK },
		};

		rv = run_bad_requests(&s, t, sizeof(t) / sizeof(t[0]));
	}
	sess_close(&s, 1);
	return rv;
}

/* On a read-only export: every write is EPERM, the connection lives on. */
static int
mode_req_readonly(void)
{
	struct session s;
	int rv;

	if (sess_open(&s) != 0)
		return 1;
	if (!(s.info.flags & ND_FLAG_READ_ONLY)) {
		sess_close(&s, 1);
		return fail("export %s is not read-only", cx.uri.export);
	}
	{
		const struct bad_req t[] = {
			{ "WRITE on a read-only export", ND_CMD_WRITE, 0, 0, 4096, 4096, ND_EPERM },
			{ "WRITE+FUA on a read-only export", ND_CMD_WRITE, ND_CMD_FLAG_FUA, 4096, 512, 512, ND_EPERM },
			{ "TRIM on a read-only export", ND_CMD_TRIM, 0, 0, 4096, 0, ND_EPERM },
			{ "WRITE_ZEROES on a read-only export", ND_CMD_WRITE_ZEROES, 0, 0, 4096, 0, ND_EPERM },
			{ "FLUSH on a read-only export", ND_CMD_FLUSH, 0, 0, 0, 0, ND_OK },
		};

		rv = run_bad_requests(&s, t, sizeof(t) / sizeof(t[0]));
	}
	sess_close(&s, 1);
	return rv;
}

/* A read-only session's FLUSH answers OK (it has nothing to make durable). */
static int
mode_ro_flush(void)
{
	const struct bad_req t[] = {
		{ "FLUSH of a read-only session", ND_CMD_FLUSH, 0, 0, 0, 0, ND_OK },
	};
	struct session s;
	int rv;

	sess_init(&s);
	if (sess_open_as(&s, cx.uri.export, ND_OPT_READ_ONLY) != 0)
		return 1;
	rv = run_bad_requests(&s, t, sizeof(t) / sizeof(t[0]));
	sess_close(&s, 1);
	return rv;
}

/*
 * Probe (not an attack): the export has failed after a write or sync
 * error, so FLUSH and every FUA write fail with EIO, while plain writes
 * and reads of its last 8 KiB still work.
 */
static int
probe_failed_export(void)
{
	struct session s;
	uint64_t end;
	int rv;

	if (sess_open(&s) != 0)
		return 1;
	end = s.info.size;
	{
		const struct bad_req t[] = {
			{ "FLUSH of a failed export", ND_CMD_FLUSH, 0, 0, 0, 0, ND_EIO },
			{ "WRITE+FUA to a failed export", ND_CMD_WRITE, ND_CMD_FLAG_FUA, end - 4096, 4096, 4096, ND_EIO },
			{ "WRITE_ZEROES+FUA to a failed export", ND_CMD_WRITE_ZEROES, ND_CMD_FLAG_FUA, end - 8192, 4096, 0, ND_EIO },
			{ "FLUSH again", ND_CMD_FLUSH, 0, 0, 0, 0, ND_EIO },
			{ "WRITE to a failed export", ND_CMD_WRITE, 0, end - 4096, 4096, 4096, ND_OK },
			{ "WRITE_ZEROES to a failed export", ND_CMD_WRITE_ZEROES, 0, end - 8192, 4096, 0, ND_OK },
			{ "READ of a failed export", ND_CMD_READ, 0, end - 8192, 8192, 0, ND_OK },
		};

		rv = run_bad_requests(&s, t, sizeof(t) / sizeof(t[0]));
	}
	sess_close(&s, 1);
	return rv;
}

/* A WRITE longer than max_payload: EINVAL, then the server hangs up. */
static int
mode_req_toobig(void)
{
	struct session s;
	struct reply r;
	uint32_t len;
	int n, rv = 0;

	if (sess_open(&s) != 0)
		return 1;
	len = s.info.max_payload + ND_MIN_BLOCK;
	if (send_req(&s, ND_CMD_WRITE, 0, 4242, 0, len, NULL, 0) != 0) {
		sess_close(&s, 0);
		return 1;
	}
	n = recv_reply(&s, &r);
	if (n != 1)
		rv = n == 0 ? fail("closed without an EINVAL reply") : 1;
	else if (r.handle != 4242 || r.error != ND_EINVAL)
		rv = fail("reply handle %llu error %u, expected 4242 and EINVAL",
		    (unsigned long long)r.handle, r.error);
	if (rv == 0)
		rv = expect_hangup(&s, "a WRITE above max_payload");
	sess_close(&s, 0);
	return rv;
}

/* Send n requests of one type without waiting, then collect n replies. */
static int
pipeline(struct session *s, uint16_t type, uint8_t *blocks, int n)
{
	static uint8_t seen[PIPELINE_DEPTH];
	uint8_t buf[BLOCK];
	struct reply r;
	int i, rv, inorder = 1;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < n; i++)
		if (send_req(s, type, 0, 1000 + i, (uint64_t)i * BLOCK, BLOCK,
		    blocks + i * BLOCK, type == ND_CMD_WRITE ? BLOCK : 0) != 0)
			return 1;
	for (i = 0; i < n; i++) {
		if ((rv = recv_reply(s, &r)) != 1)
			return rv == 0 ? fail("closed after %d of %d replies",
			    i, n) : 1;
		if (r.handle < 1000 || r.handle >= 1000U + (unsigned)n ||
		    seen[r.handle - 1000]++)
			return fail("unexpected or repeated handle %llu",
			    (unsigned long long)r.handle);
		if (r.error != ND_OK)
			return fail("handle %llu: error %u",
			    (unsigned long long)r.handle, r.error);
		if (r.handle != 1000U + (unsigned)i)
			inorder = 0;
		if (type != ND_CMD_READ)
			continue;
		if (record_recv(&s->rc, buf, sizeof(buf)) != 1)
			return fail("reading data of handle %llu",
			    (unsigned long long)r.handle);
		if (memcmp(buf, blocks + (r.handle - 1000) * BLOCK, BLOCK))
			return fail("handle %llu: wrong data",
			    (unsigned long long)r.handle);
	}
	note("%d pipelined %s: every handle answered once%s", n,
	    request_cmd_name(type), inorder ? " (in order)" : " (out of order)");
	return 0;
}

static int
mode_pipeline(void)
{
	static uint8_t blocks[PIPELINE_DEPTH * BLOCK];
	struct session s;
	int i, rv;

	for (i = 0; i < PIPELINE_DEPTH; i++)
		fill_pattern(blocks + i * BLOCK, BLOCK, (uint64_t)i * 7919 + 1);
	if (sess_open(&s) != 0)
		return 1;
	if (s.info.size < sizeof(blocks)) {
		sess_close(&s, 1);
		return fail("export smaller than %zu bytes", sizeof(blocks));
	}
	rv = pipeline(&s, ND_CMD_WRITE, blocks, PIPELINE_DEPTH);
	if (rv == 0)
		rv = pipeline(&s, ND_CMD_READ, blocks, PIPELINE_DEPTH);
	if (rv == 0)
		rv = still_usable(&s, "128 pipelined requests");
	sess_close(&s, 1);
	return rv;
}

/*
 * 50 connections that never send a byte: the server keeps serving others
 * and closes each of them after its handshake timeout.
 */
static int
mode_flood(void)
{
	int fds[FLOOD_CONNS], i, rv = 0, open_left;
	struct session s;
	long deadline;

	for (i = 0; i < FLOOD_CONNS; i++)
		if ((fds[i] = attack_connect(0)) == -1)
			return fail("connection %d: %s", i, strerror(errno));
	if (sess_open(&s) != 0)
		rv = 1;
	else
		rv = still_usable(&s, "50 idle connections");
	sess_close(&s, 1);
	deadline = now_ms() + (cx.hs_timeout + 4) * 1000L;
	open_left = FLOOD_CONNS;
	for (i = 0; i < FLOOD_CONNS; i++) {
		uint8_t b;
		enum read_end end;
		long left = deadline - now_ms();

		if (read_upto(fds[i], &b, 1, left > 0 ? (int)left : 1, &end) > 0)
			rv = fail("idle connection %d got data", i);
		else if (end == READ_EOF)
			open_left--;
		close(fds[i]);
	}
	if (open_left > 0)
		return fail("%d of %d idle connections still open %d s after "
		    "the handshake timeout", open_left, FLOOD_CONNS, 4);
	if (rv == 0)
		note("all %d idle connections closed by the server", FLOOD_CONNS);
	return rv;
}

/* ------------------------------------------------------------ modes: slots */

#define TRICKLE_MS	500	/* between two bytes of a trickled hello */
#define REOPEN_MS	2000	/* before a closed slot is opened again */
#define REFUSED_MS	500	/* a connection closed sooner was refused */
#define HOLD_MARGIN_MS	2000	/* tolerated beyond the handshake timeout */
#define HOLD_TICK_MS	100

/* One attacking connection, opened again whenever the server closes it. */
struct hold {
	int fd;			/* -1: closed */
	int started;		/* opened at least once */
	long opened;		/* when, ms */
	long next;		/* next byte (open) or next opening (closed) */
	size_t sent;
};

struct hold_stats {
	long opened, refused, timed_out, longest;
	int failed;
};

/* Room for n more descriptors: the soft limit raised as far as it goes. */
static void
raise_nofile(int n)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 ||
	    rl.rlim_cur >= (rlim_t)n + 64)
		return;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
	    rl.rlim_max >= (rlim_t)n + 64 ? (rlim_t)n + 64 : rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
}

static int
hold_open(struct hold *h, int i, long now, struct hold_stats *st)
{
	h->started = 1;
	if ((h->fd = attack_connect(1)) == -1)
		return fail("connection %d: %s", i, strerror(errno));
	h->opened = h->next = now;
	h->sent = 0;
	st->opened++;
	return 0;
}

static void
hold_closed(struct hold *h, long now, struct hold_stats *st)
{
	long life = now - h->opened;

	close(h->fd);
	h->fd = -1;
	h->next = now + REOPEN_MS;
	if (life < REFUSED_MS)
		st->refused++;
	else
		st->timed_out++;
	if (life > st->longest)
		st->longest = life;
}

/* A byte of the hello on each connection whose turn it is. */
static void
hold_trickle(struct hold *h, int n, const uint8_t ch[CH_LEN], long now,
    struct hold_stats *st)
{
	int i;

	for (i = 0; i < n; i++) {
		if (h[i].fd == -1 || h[i].next > now)
			continue;
		if (send(h[i].fd, ch + h[i].sent % CH_LEN, 1,
		    MSG_DONTWAIT | MSG_NOSIGNAL) == 1) {
			h[i].sent++;
			h[i].next += TRICKLE_MS;
		} else if (errno != EAGAIN && errno != EINTR)
			hold_closed(&h[i], now, st);
	}
}

/* Open what is due; 0, or -1 when nothing is open or due any more. */
static int
hold_open_due(struct hold *h, int n, long now, long stop,
    struct hold_stats *st)
{
	int i, busy = 0;

	for (i = 0; i < n && !st->failed; i++) {
		if (h[i].fd == -1 && (!h[i].started || now < stop) &&
		    h[i].next <= now && hold_open(&h[i], i, now, st) != 0)
			st->failed = 1;
		if (h[i].fd != -1 || now < stop)
			busy = 1;
	}
	return busy ? 0 : -1;
}

/* Wait a tick for the server to close connections. */
static void
hold_poll(struct hold *h, int n, struct pollfd *pfd, int *idx,
    struct hold_stats *st)
{
	uint8_t buf[64];
	ssize_t r;
	long now;
	int i, k = 0;

	for (i = 0; i < n; i++) {
		if (h[i].fd == -1)
			continue;
		pfd[k].fd = h[i].fd;
		pfd[k].events = POLLIN;
		idx[k++] = i;
	}
	if (poll(pfd, (nfds_t)k, HOLD_TICK_MS) <= 0)
		return;
	now = now_ms();
	for (i = 0; i < k; i++) {
		if (pfd[i].revents == 0)
			continue;
		r = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r > 0)
			st->failed = fail("connection %d got %zd bytes from "
			    "the server", idx[i], r);
		if (r > 0 || r == 0 || (errno != EAGAIN && errno != EINTR))
			hold_closed(&h[idx[i]], now, st);
	}
}

/*
 * Connections still open past the deadline.  Checked after a poll, so
 * that a close the server sent in time counts even if this process was
 * held up meanwhile.
 */
static void
hold_overdue(struct hold *h, int n, struct hold_stats *st)
{
	long now = now_ms(), limit = cx.hs_timeout * 1000L + HOLD_MARGIN_MS;
	int i;

	for (i = 0; i < n; i++) {
		if (h[i].fd == -1 || now - h[i].opened <= limit)
			continue;
		st->failed = fail("connection %d still open %ld ms after it "
		    "was opened (handshake timeout %d s)", i,
		    now - h[i].opened, cx.hs_timeout);
		hold_closed(&h[i], now, st);
	}
}

static int
hold_slots(int trickle)
{
	struct hold_stats st = { 0 };
	struct hold *h;
	struct pollfd *pfd;
	uint8_t ch[CH_LEN];
	long stop = now_ms() + cx.duration * 1000L;
	int *idx, i, n = cx.nconns;

	if (trickle && real_ch(ch) != 0)
		return 1;
	raise_nofile(n);
	h = calloc((size_t)n, sizeof(*h));
	pfd = calloc((size_t)n, sizeof(*pfd));
	idx = calloc((size_t)n, sizeof(*idx));
	if (h == NULL || pfd == NULL || idx == NULL)
		return fail("out of memory");
	for (i = 0; i < n; i++)
		h[i].fd = -1;
	while (!st.failed && hold_open_due(h, n, now_ms(), stop, &st) == 0) {
		if (trickle)
			hold_trickle(h, n, ch, now_ms(), &st);
		hold_poll(h, n, pfd, idx, &st);
		hold_overdue(h, n, &st);
	}
	for (i = 0; i < n; i++)
		if (h[i].fd != -1)
			close(h[i].fd);
	free(idx);
	free(pfd);
	free(h);
	if (!st.failed)
		note("%ld connections: %ld refused at once, %ld closed later, "
		    "the longest after %ld ms", st.opened, st.refused,
		    st.timed_out, st.longest);
	return st.failed;
}

static int mode_fill(void) { return hold_slots(0); }
static int mode_trickle(void) { return hold_slots(1); }

/* ------------------------------------------------------------ modes: timing */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* One handshake: *us until the ServerHello or the close; 1 if answered. */
static int
timed_hello(double *us, int *answered)
{
	struct session s;
	struct hs_request rq;
	uint8_t sh[SH_LEN], cf[ND_CLIENT_FINISHED_LEN];
	uint8_t ch[ND_CLIENT_HELLO_MAX];
	enum read_end end;
	double t0;
	size_t n;
	int rv = 0;

	sess_init(&s);
	hs_req_init(&rq, cx.uri.export, ND_OPT_READ_ONLY);
	if (sess_connect(&s, cx.psk, &rq) != 0)
		return 1;
	memcpy(ch, s.ch, CH_LEN);
	if (cx.has_server_pub) {
		rq.version_min = rq.version_max = 0;
		if (hs_client_hello_v3(&s.st, cx.psk, cx.server_pub, &rq, 0,
		    ch) != 0)
			rv = fail("hs_client_hello_v3 failed");
	}
	t0 = now_us();
	if (rv == 0 && send_all(s.fd, ch, nd_client_hello_len(s.st.version)))
		rv = fail("sending ClientHello: %s", strerror(errno));
	n = rv == 0 ? read_upto(s.fd, sh, sizeof(sh), IO_TIMEOUT_MS, &end) : 0;
	*us = now_us() - t0;
	*answered = n == SH_LEN;
	if (rv == 0 && n == 0 && end == READ_TIMEOUT)
		rv = fail("no ServerHello and no close in %d ms",
		    IO_TIMEOUT_MS);
	else if (rv == 0 && *answered &&
	    hs_client_finish(&s.st, sh, &s.info, cf, &s.keys) != 0)
		rv = fail("the ServerHello does not authenticate");
	else if (rv == 0 && *answered && s.info.status != ND_HS_OK)
		rv = fail("handshake status %u", s.info.status);
	else if (rv == 0 && *answered)
		send_all(s.fd, cf, sizeof(cf));
	close(s.fd);
	hs_state_clear(&s.st);
	hs_keys_clear(&s.keys);
	return rv;
}

static int
mode_hello_time(void)
{
	double *t;
	int i, answered, nanswered = 0, rv = 0;

	if ((t = calloc((size_t)cx.nconns, sizeof(*t))) == NULL)
		return fail("out of memory");
	for (i = 0; i < cx.nconns && rv == 0; i++) {
		rv = timed_hello(&t[i], &answered);
		nanswered += answered;
	}
	if (rv == 0) {
		qsort(t, (size_t)cx.nconns, sizeof(*t), cmp_double);
		note("%d hellos: %d answered, %d closed; from the hello to the "
		    "answer or close: median %.0f us, min %.0f us", cx.nconns,
		    nanswered, cx.nconns - nanswered, t[cx.nconns / 2], t[0]);
	}
	free(t);
	return rv;
}

/* ------------------------------------------------------------ NBD */

/*
 * The NBD modes attack netdiskd's NBD listener (nbd_listen), at the URI
 * nbd://HOST:PORT/EXPORT, from the source address -s; no key.  Each
 * checks the reaction the NBD project's doc/proto.md asks for: an error
 * reply after which the negotiation or the transmission goes on (and
 * still works), or a closed connection, within the handshake timeout
 * for a negotiation that stalls.  The export must be a read-write one
 * that no other address holds.
 */

#define NBD_SERVER_MAX_PAYLOAD	(32U * 1024 * 1024)	/* what netdiskd takes */
#define NBD_BATCH		128	/* requests sent before reading replies */
#define NBD_FLOOD_REQUESTS	8192
#define NBD_NOREAD_REQUESTS	20000
#define NBD_TEST_OFFSET		(128 * 1024)

struct nbd_peer {
	int fd;
	uint64_t size;
	uint16_t tx_flags;
	uint64_t cookie;
};

/* A connection (from -s if attack) with a send timeout, or -1. */
static int
nbd_connect_from(struct nbd_peer *c, int attack)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_MS / 1000 };
	int one = 1;

	memset(c, 0, sizeof(*c));
	c->cookie = 1;
	if ((c->fd = attack ? attack_connect(0) : tcp_connect()) == -1)
		return fail("cannot connect to %s:%s: %s", cx.uri.host,
		    cx.uri.port, strerror(errno));
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return 0;
}

static int
nbd_connect(struct nbd_peer *c)
{
	return nbd_connect_from(c, 1);
}

static void
nbd_close(struct nbd_peer *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static int
nbd_read(struct nbd_peer *c, void *buf, size_t len, const char *what)
{
	enum read_end end;
	size_t n = read_upto(c->fd, buf, len, IO_TIMEOUT_MS, &end);

	if (n == len)
		return 0;
	return fail("%s: got %zu of %zu bytes (%s)", what, n, len,
	    end == READ_TIMEOUT ? "timed out" : end == READ_EOF ?
	    "connection closed" : strerror(errno));
}

/* The server's greeting; then the client flags cflags, unless -1. */
static int
nbd_greet(struct nbd_peer *c, int64_t cflags)
{
	uint8_t g[18];
	uint64_t m, o;
	uint16_t f;
	uint32_t cf = htobe32((uint32_t)cflags);

	if (nbd_read(c, g, sizeof(g), "greeting") != 0)
		return 1;
	memcpy(&m, g, 8);
	memcpy(&o, g + 8, 8);
	memcpy(&f, g + 16, 2);
	if (be64toh(m) != NBD_MAGIC || be64toh(o) != NBD_OPT_MAGIC)
		return fail("greeting without NBDMAGIC IHAVEOPT");
	if (!(be16toh(f) & NBD_FLAG_FIXED_NEWSTYLE))
		return fail("server without fixed newstyle (flags 0x%x)",
		    be16toh(f));
	if (cflags >= 0 && send_all(c->fd, &cf, sizeof(cf)) != 0)
		return fail("sending the client flags: %s", strerror(errno));
	return 0;
}

/* An option header claiming len bytes of data, then dlen bytes of data. */
static int
nbd_send_opt_as(struct nbd_peer *c, uint64_t magic, uint32_t opt,
    uint32_t len, const void *data, size_t dlen)
{
	struct nbd_opt_hdr h = {
		.magic = htobe64(magic), .option = htobe32(opt),
		.length = htobe32(len),
	};

	if (send_all(c->fd, &h, sizeof(h)) != 0 ||
	    (dlen > 0 && send_all(c->fd, data, dlen) != 0))
		return fail("sending option %u: %s", opt, strerror(errno));
	return 0;
}

static int
nbd_send_opt(struct nbd_peer *c, uint32_t opt, const void *data, size_t len)
{
	return nbd_send_opt_as(c, NBD_OPT_MAGIC, opt, (uint32_t)len, data,
	    len);
}

/* One option reply to opt: its type, and its data in buf (NUL-ended). */
static int
nbd_recv_rep(struct nbd_peer *c, uint32_t opt, uint32_t *type,
    uint8_t *buf, size_t cap, size_t *len)
{
	struct nbd_rep_hdr h;
	uint32_t n;

	if (nbd_read(c, &h, sizeof(h), "option reply") != 0)
		return 1;
	if (be64toh(h.magic) != NBD_REP_MAGIC)
		return fail("option reply with a bad magic");
	if (be32toh(h.option) != opt)
		return fail("reply to option %u, expected %u",
		    be32toh(h.option), opt);
	*type = be32toh(h.type);
	if ((n = be32toh(h.length)) >= cap)
		return fail("option reply of %u bytes", n);
	if (nbd_read(c, buf, n, "option reply data") != 0)
		return 1;
	buf[n] = '\0';
	*len = n;
	return 0;
}

/* The reply to opt must be the error want; its message is shown. */
static int
nbd_expect_err(struct nbd_peer *c, uint32_t opt, uint32_t want,
    const char *what)
{
	uint8_t buf[1024];
	uint32_t type;
	size_t n;

	if (nbd_recv_rep(c, opt, &type, buf, sizeof(buf), &n) != 0)
		return 1;
	if (type != want)
		return fail("%s: reply type 0x%x, expected 0x%x", what, type,
		    want);
	note("%s: refused (0x%x \"%s\")", what, type, (const char *)buf);
	return 0;
}

/* GO/INFO data: the name (namelen as given) and nreq information types. */
static size_t
nbd_go_data(uint8_t *out, uint32_t namelen, const void *name, size_t nlen,
    uint16_t nreq, const uint16_t *req, size_t nput)
{
	uint32_t nl = htobe32(namelen);
	uint16_t v = htobe16(nreq);
	size_t n = 0, i;

	memcpy(out, &nl, 4);
	memcpy(out + 4, name, nlen);
	n = 4 + nlen;
	memcpy(out + n, &v, 2);
	n += 2;
	for (i = 0; i < nput; i++) {
		v = htobe16(req[i]);
		memcpy(out + n, &v, 2);
		n += 2;
	}
	return n;
}

/* NBD_OPT_GO for export: 0 once in transmission, size and flags known. */
static int
nbd_go(struct nbd_peer *c, const char *export)
{
	uint8_t data[4 + ND_NAME_MAX + 2], buf[1024];
	uint32_t type;
	uint16_t f;
	size_t n;

	n = nbd_go_data(data, (uint32_t)strlen(export), export,
	    strlen(export), 0, NULL, 0);
	if (nbd_send_opt(c, NBD_OPT_GO, data, n) != 0)
		return 1;
	for (;;) {
		if (nbd_recv_rep(c, NBD_OPT_GO, &type, buf, sizeof(buf),
		    &n) != 0)
			return 1;
		if (type == NBD_REP_ACK)
			break;
		if (type != NBD_REP_INFO)
			return fail("GO \"%s\": reply 0x%x \"%s\"", export,
			    type, (const char *)buf);
		if (n == 12 && buf[0] == 0 && buf[1] == NBD_INFO_EXPORT) {
			memcpy(&c->size, buf + 2, 8);
			memcpy(&f, buf + 10, 2);
			c->size = be64toh(c->size);
			c->tx_flags = be16toh(f);
		}
	}
	if (c->size < 2 * NBD_TEST_OFFSET)
		return fail("export \"%s\" of %llu bytes is too small", export,
		    (unsigned long long)c->size);
	if (c->tx_flags & NBD_FLAG_READ_ONLY)
		return fail("export \"%s\" is read-only", export);
	return 0;
}

/* Connected, negotiated and in transmission on the URI's export. */
static int
nbd_open_from(struct nbd_peer *c, int attack)
{
	if (nbd_connect_from(c, attack) != 0)
		return 1;
	if (nbd_greet(c, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES) != 0 ||
	    nbd_go(c, cx.uri.export) != 0) {
		nbd_close(c);
		return 1;
	}
	return 0;
}

static int
nbd_open(struct nbd_peer *c)
{
	return nbd_open_from(c, 1);
}

static void
nbd_req_wire(struct nbd_request *w, uint16_t flags, uint16_t type,
    uint64_t cookie, uint64_t off, uint32_t len)
{
	w->magic = htobe32(NBD_REQUEST_MAGIC);
	w->flags = htobe16(flags);
	w->type = htobe16(type);
	w->cookie = htobe64(cookie);
	w->offset = htobe64(off);
	w->length = htobe32(len);
}

static int
nbd_send_req(struct nbd_peer *c, uint16_t flags, uint16_t type,
    uint64_t cookie, uint64_t off, uint32_t len, const void *data,
    size_t dlen)
{
	struct nbd_request w;

	nbd_req_wire(&w, flags, type, cookie, off, len);
	if (send_all(c->fd, &w, sizeof(w)) != 0 ||
	    (dlen > 0 && send_all(c->fd, data, dlen) != 0))
		return fail("sending a request: %s", strerror(errno));
	return 0;
}

/* A simple reply: 1 with error and cookie, 0 on EOF, -1 (failed). */
static int
nbd_recv_simple(struct nbd_peer *c, uint32_t *error, uint64_t *cookie)
{
	struct nbd_simple_reply r;
	enum read_end end;
	size_t n = read_upto(c->fd, &r, sizeof(r), IO_TIMEOUT_MS, &end);

	if (n == 0 && end == READ_EOF)
		return 0;
	if (n != sizeof(r)) {
		fail("reply: got %zu of %zu bytes (%s)", n, sizeof(r),
		    end == READ_TIMEOUT ? "timed out" : "closed");
		return -1;
	}
	if (be32toh(r.magic) != NBD_SIMPLE_REPLY_MAGIC) {
		fail("reply with magic 0x%08x", be32toh(r.magic));
		return -1;
	}
	*error = be32toh(r.error);
	*cookie = be64toh(r.cookie);
	return 1;
}

/* One request, its reply with the error want; a READ's data into out. */
static int
nbd_expect(struct nbd_peer *c, const char *what, uint16_t flags,
    uint16_t type, uint64_t off, uint32_t len, const void *data,
    size_t dlen, uint32_t want, void *out)
{
	uint64_t h = c->cookie++, got;
	uint32_t error;
	int n;

	if (nbd_send_req(c, flags, type, h, off, len, data, dlen) != 0)
		return 1;
	if ((n = nbd_recv_simple(c, &error, &got)) != 1)
		return n == 0 ? fail("%s: server closed the connection", what) :
		    1;
	if (got != h)
		return fail("%s: reply for cookie %llu, expected %llu", what,
		    (unsigned long long)got, (unsigned long long)h);
	if (error != want)
		return fail("%s: error %u, expected %u", what, error, want);
	if (type == NBD_CMD_READ && error == 0)
		return out != NULL ? nbd_read(c, out, len, what) :
		    fail("%s: no buffer for the data", what);
	return 0;
}

/* The connection still works: a write read back and compared. */
static int
nbd_usable(struct nbd_peer *c, const char *after)
{
	static uint64_t round;
	uint8_t out[BLOCK], in[BLOCK];
	char what[160];

	fill_pattern(out, sizeof(out), ++round + 1000);
	snprintf(what, sizeof(what), "write after %s", after);
	if (nbd_expect(c, what, 0, NBD_CMD_WRITE, NBD_TEST_OFFSET, BLOCK,
	    out, BLOCK, 0, NULL) != 0)
		return 1;
	snprintf(what, sizeof(what), "read after %s", after);
	if (nbd_expect(c, what, 0, NBD_CMD_READ, NBD_TEST_OFFSET, BLOCK,
	    NULL, 0, 0, in) != 0)
		return 1;
	if (memcmp(in, out, sizeof(in)) != 0)
		return fail("read back after %s: wrong data", after);
	return 0;
}

/* NBD_CMD_DISC, and the connection closed. */
static void
nbd_disconnect(struct nbd_peer *c)
{
	nbd_send_req(c, 0, NBD_CMD_DISC, c->cookie++, 0, 0, NULL, 0);
	nbd_close(c);
}

/* A fresh session on the export (from -s if attack) works. */
static int
nbd_fresh_usable_from(const char *after, int attack)
{
	struct nbd_peer c;
	int rv;

	if (nbd_open_from(&c, attack) != 0)
		return 1;
	rv = nbd_usable(&c, after);
	nbd_disconnect(&c);
	return rv;
}

static int
nbd_fresh_usable(const char *after)
{
	return nbd_fresh_usable_from(after, 1);
}

/* After a request that breaks the stream: error replies, then EOF. */
static int
nbd_expect_hangup(struct nbd_peer *c, const char *what)
{
	uint32_t error;
	uint64_t cookie;
	int n;

	while ((n = nbd_recv_simple(c, &error, &cookie)) == 1) {
		if (error == 0)
			return fail("%s: answered with success", what);
		note("%s: error %u before closing", what, error);
	}
	if (n != 0)
		return 1;
	note("%s: server closed the connection", what);
	return 0;
}

/* ------------------------------------------------------------ NBD: negotiation */

/* After the greeting and the flags cflags, bytes the server must close on. */
static int
nbd_close_on(int64_t cflags, const void *buf, size_t len, int ms,
    const char *what)
{
	struct nbd_peer c;
	int rv;

	if (nbd_connect(&c) != 0)
		return 1;
	rv = nbd_greet(&c, cflags);
	if (rv == 0 && len > 0 && send_all(c.fd, buf, len) != 0)
		rv = fail("sending %s: %s", what, strerror(errno));
	if (rv == 0)
		rv = expect_closed(c.fd, ms, what);
	nbd_close(&c);
	return rv;
}

static int
mode_nbd_garbage(void)
{
	uint8_t buf[256];

	crypto_random(buf, sizeof(buf));
	buf[0] = 'X';		/* never IHAVEOPT */
	return nbd_close_on(NBD_FLAG_FIXED_NEWSTYLE, buf, sizeof(buf),
	    fast_ms(), "256 random bytes after the client flags");
}

static int
mode_nbd_no_fixed_newstyle(void)
{
	return nbd_close_on(0, NULL, 0, fast_ms(),
	    "client flags without FIXED_NEWSTYLE");
}

static int
mode_nbd_bad_client_flags(void)
{
	return nbd_close_on(NBD_FLAG_FIXED_NEWSTYLE | 0x80000000U, NULL, 0,
	    fast_ms(), "unknown client flag bit 31");
}

static int
mode_nbd_bad_magic(void)
{
	struct nbd_opt_hdr h = {
		.magic = htobe64(NBD_OPT_MAGIC ^ 1), .option = htobe32(NBD_OPT_GO),
		.length = 0,
	};

	return nbd_close_on(NBD_FLAG_FIXED_NEWSTYLE, &h, sizeof(h), fast_ms(),
	    "an option with a bad magic");
}

/* Connect, greet: nothing more is sent; the deadline must close it. */
static int
mode_nbd_idle(void)
{
	return nbd_close_on(-1, NULL, 0, cx.hs_timeout * 1000 + HOLD_MARGIN_MS,
	    "the greeting, with no client flags");
}

/*
 * A GO option one byte a second: the handshake's deadline, not a
 * per-read timeout, must end it.
 */
static int
mode_nbd_slow_option(void)
{
	uint8_t msg[sizeof(struct nbd_opt_hdr) + 4 + ND_NAME_MAX + 2];
	struct nbd_opt_hdr h;
	struct nbd_peer c;
	size_t n, i;
	long t0, limit = cx.hs_timeout * 1000L + HOLD_MARGIN_MS, life;
	uint8_t b;
	enum read_end end;

	n = nbd_go_data(msg + sizeof(h), (uint32_t)strlen(cx.uri.export),
	    cx.uri.export, strlen(cx.uri.export), 0, NULL, 0);
	h.magic = htobe64(NBD_OPT_MAGIC);
	h.option = htobe32(NBD_OPT_GO);
	h.length = htobe32((uint32_t)n);
	memcpy(msg, &h, sizeof(h));
	n += sizeof(h);
	t0 = now_ms();
	if (nbd_connect(&c) != 0)
		return 1;
	if (nbd_greet(&c, NBD_FLAG_FIXED_NEWSTYLE) != 0) {
		nbd_close(&c);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (send(c.fd, msg + i, 1, MSG_NOSIGNAL) != 1)
			break;		/* closed under us: fine */
		if (read_upto(c.fd, &b, 1, 1000, &end) > 0) {
			nbd_close(&c);
			return fail("server sent data during a trickled option");
		}
		if (end == READ_EOF)
			break;
		if (now_ms() - t0 > limit) {
			nbd_close(&c);
			return fail("still open %ld ms after the connection "
			    "(handshake timeout %d s), %zu bytes sent",
			    now_ms() - t0, cx.hs_timeout, i + 1);
		}
	}
	life = now_ms() - t0;
	nbd_close(&c);
	if (i == n)
		return fail("the whole option went through in %ld ms", life);
	if (life < cx.hs_timeout * 1000L - 500)
		return fail("closed after %ld ms, before the handshake "
		    "timeout of %d s", life, cx.hs_timeout);
	note("server closed %ld ms after the connection, %zu of %zu bytes "
	    "sent", life, i, n);
	return 0;
}

/* One option reply header and its data: 1, 0 on EOF, -1 (failed). */
static int
nbd_rep_or_eof(struct nbd_peer *c, struct nbd_rep_hdr *h)
{
	uint8_t buf[4096];
	enum read_end end;
	size_t n = read_upto(c->fd, h, sizeof(*h), IO_TIMEOUT_MS, &end);
	uint32_t len;

	if (n != sizeof(*h))
		return end == READ_EOF ? 0 : fail("option reply: %zu bytes, "
		    "then %s", n, end == READ_TIMEOUT ? "nothing" : "an error");
	if ((len = be32toh(h->length)) > sizeof(buf))
		return fail("option reply of %u bytes", len);
	n = read_upto(c->fd, buf, len, IO_TIMEOUT_MS, &end);
	return n == len ? 1 : end == READ_EOF ? 0 : fail("option reply "
	    "data: %zu of %u bytes", n, len);
}

/*
 * NBD_OPT_LIST over and over, each answered: option haggling without
 * end must still be cut by the handshake's deadline.
 */
static int
mode_nbd_option_loop(void)
{
	struct nbd_opt_hdr h = {
		.magic = htobe64(NBD_OPT_MAGIC), .option = htobe32(NBD_OPT_LIST),
		.length = 0,
	};
	struct nbd_rep_hdr r;
	struct nbd_peer c;
	long t0 = now_ms(), life;
	long limit = cx.hs_timeout * 1000L + HOLD_MARGIN_MS;
	int answered = 0, k = 1;

	if (nbd_connect(&c) != 0)
		return 1;
	if (nbd_greet(&c, NBD_FLAG_FIXED_NEWSTYLE) != 0) {
		nbd_close(&c);
		return 1;
	}
	while (k == 1 && send_all(c.fd, &h, sizeof(h)) == 0) {
		while ((k = nbd_rep_or_eof(&c, &r)) == 1 &&
		    be32toh(r.type) == NBD_REP_SERVER)
			;
		if (k == 1 && be32toh(r.type) != NBD_REP_ACK)
			k = -fail("LIST answered 0x%x", be32toh(r.type));
		if (k == 1)
			answered++;
		if (k == 1 && now_ms() - t0 > limit)
			k = -fail("%d LISTs answered, still open %ld ms after "
			    "the connection (handshake timeout %d s)", answered,
			    now_ms() - t0, cx.hs_timeout);
	}
	life = now_ms() - t0;
	nbd_close(&c);
	if (k < 0)
		return 1;
	if (life < cx.hs_timeout * 1000L - 500)
		return fail("closed after %ld ms, before the handshake "
		    "timeout of %d s", life, cx.hs_timeout);
	note("server closed %ld ms after the connection, %d LISTs answered",
	    life, answered);
	return 0;
}

/*
 * An option of 64 KiB is skipped with NBD_REP_ERR_TOO_BIG and the
 * negotiation goes on; one claiming 4 GiB ends the connection at once.
 */
static int
mode_nbd_huge_option(void)
{
	static uint8_t big[64 * 1024];
	struct nbd_peer c;
	int rv;

	memset(big, 'A', sizeof(big));
	if (nbd_connect(&c) != 0)
		return 1;
	rv = nbd_greet(&c, NBD_FLAG_FIXED_NEWSTYLE);
	if (rv == 0)
		rv = nbd_send_opt(&c, NBD_OPT_GO, big, sizeof(big));
	if (rv == 0)
		rv = nbd_expect_err(&c, NBD_OPT_GO, NBD_REP_ERR_TOO_BIG,
		    "GO of 64 KiB");
	if (rv == 0)
		rv = nbd_go(&c, cx.uri.export);
	if (rv == 0)
		rv = nbd_usable(&c, "a 64 KiB option");
	if (rv == 0)
		nbd_disconnect(&c);
	nbd_close(&c);
	if (rv != 0)
		return rv;
	if (nbd_connect(&c) != 0)
		return 1;
	rv = nbd_greet(&c, NBD_FLAG_FIXED_NEWSTYLE);
	if (rv == 0)
		rv = nbd_send_opt_as(&c, NBD_OPT_MAGIC, NBD_OPT_GO, UINT32_MAX,
		    big, 4096);
	if (rv == 0)
		rv = expect_closed(c.fd, fast_ms(), "an option of 4 GiB");
	nbd_close(&c);
	return rv;
}

/* Option opt with len bytes of data must be refused with want. */
static int
nbd_refused(struct nbd_peer *c, uint32_t opt, const void *data, size_t len,
    uint32_t want, const char *what)
{
	if (nbd_send_opt(c, opt, data, len) != 0)
		return 1;
	return nbd_expect_err(c, opt, want, what);
}

/* Metadata context data: the name, nq queries announced, one of qlen. */
static size_t
nbd_meta_data(uint8_t *out, const char *name, uint32_t nq, uint32_t qlen)
{
	size_t nl = strlen(name), n;
	uint32_t v = htobe32((uint32_t)nl);

	memcpy(out, &v, 4);
	memcpy(out + 4, name, nl);
	n = 4 + nl;
	v = htobe32(nq);
	memcpy(out + n, &v, 4);
	n += 4;
	if (qlen == 0)
		return n;
	v = htobe32(qlen);
	memcpy(out + n, &v, 4);
	memcpy(out + n + 4, "base", 4);
	return n + 8;
}

/* Options whose lengths do not add up: each refused, the rest works. */
static int
mode_nbd_bad_lengths(void)
{
	static const uint16_t infos[] = { NBD_INFO_NAME };
	const char *name = cx.uri.export;
	uint32_t nl = (uint32_t)strlen(name);
	uint8_t d[4 + ND_NAME_MAX + 64];
	struct nbd_peer c;
	size_t n;
	int rv;

	if (nbd_connect(&c) != 0)
		return 1;
	rv = nbd_greet(&c, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	n = nbd_go_data(d, nl + 100, name, nl, 0, NULL, 0);
	rv = rv || nbd_refused(&c, NBD_OPT_GO, d, n, NBD_REP_ERR_INVALID,
	    "GO, name length 100 past the data");
	n = nbd_go_data(d, UINT32_MAX, name, nl, 0, NULL, 0);
	rv = rv || nbd_refused(&c, NBD_OPT_GO, d, n, NBD_REP_ERR_INVALID,
	    "GO, name length 2^32-1");
	n = nbd_go_data(d, nl, name, nl, 9, infos, 1);
	rv = rv || nbd_refused(&c, NBD_OPT_INFO, d, n, NBD_REP_ERR_INVALID,
	    "INFO, 9 requests announced, 1 sent");
	n = nbd_go_data(d, nl, name, nl, 0, NULL, 0);
	d[n++] = 0;
	rv = rv || nbd_refused(&c, NBD_OPT_INFO, d, n, NBD_REP_ERR_INVALID,
	    "INFO, a byte after the requests");
	n = nbd_meta_data(d, name, UINT32_MAX, 0);
	rv = rv || nbd_refused(&c, NBD_OPT_SET_META_CONTEXT, d, n,
	    NBD_REP_ERR_INVALID, "SET_META_CONTEXT, 2^32-1 queries, none sent");
	n = nbd_meta_data(d, name, 1, 1000);
	rv = rv || nbd_refused(&c, NBD_OPT_LIST_META_CONTEXT, d, n,
	    NBD_REP_ERR_INVALID, "LIST_META_CONTEXT, a query past the data");
	rv = rv || nbd_refused(&c, NBD_OPT_LIST, d, 4, NBD_REP_ERR_INVALID,
	    "LIST with data");
	rv = rv || nbd_refused(&c, NBD_OPT_STRUCTURED_REPLY, d, 4,
	    NBD_REP_ERR_INVALID, "STRUCTURED_REPLY with data");
	rv = rv || nbd_refused(&c, 0x7fff0000, d, 4, NBD_REP_ERR_UNSUP,
	    "option 0x7fff0000");
	rv = rv || nbd_go(&c, name) || nbd_usable(&c, "malformed options");
	if (rv == 0)
		nbd_disconnect(&c);
	nbd_close(&c);
	return rv;
}

/*
 * Names no export has: GO and INFO get NBD_REP_ERR_UNKNOWN and the
 * negotiation goes on; NBD_OPT_EXPORT_NAME, which has no error reply,
 * ends the connection.
 */
static int
mode_nbd_bad_names(void)
{
	static const char nul[] = "vic\0tim";
	static char longname[ND_NAME_MAX + 40];
	uint8_t d[4 + sizeof(longname) + 2];
	struct nbd_peer c;
	size_t n;
	int rv;

	memset(longname, 'n', sizeof(longname));
	if (nbd_connect(&c) != 0)
		return 1;
	rv = nbd_greet(&c, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	n = nbd_go_data(d, sizeof(nul) - 1, nul, sizeof(nul) - 1, 0, NULL, 0);
	rv = rv || nbd_refused(&c, NBD_OPT_GO, d, n, NBD_REP_ERR_UNKNOWN,
	    "GO, a name with a NUL");
	n = nbd_go_data(d, sizeof(longname), longname, sizeof(longname), 0,
	    NULL, 0);
	rv = rv || nbd_refused(&c, NBD_OPT_INFO, d, n, NBD_REP_ERR_UNKNOWN,
	    "INFO, a name of 168 bytes");
	n = nbd_go_data(d, 8, "nosuchex", 8, 0, NULL, 0);
	rv = rv || nbd_refused(&c, NBD_OPT_GO, d, n, NBD_REP_ERR_UNKNOWN,
	    "GO, an unknown name");
	if (rv == 0 && (rv = nbd_send_opt(&c, NBD_OPT_EXPORT_NAME,
	    "nosuchex", 8)) == 0)
		rv = expect_closed(c.fd, fast_ms(),
		    "EXPORT_NAME of an unknown export");
	nbd_close(&c);
	return rv;
}

/* NBD_OPT_ABORT: an acknowledgement, then the end. */
static int
mode_nbd_abort(void)
{
	struct nbd_peer c;
	uint8_t buf[256];
	uint32_t type;
	size_t n;
	int rv;

	if (nbd_connect(&c) != 0)
		return 1;
	rv = nbd_greet(&c, NBD_FLAG_FIXED_NEWSTYLE);
	if (rv == 0)
		rv = nbd_send_opt(&c, NBD_OPT_ABORT, NULL, 0);
	if (rv == 0)
		rv = nbd_recv_rep(&c, NBD_OPT_ABORT, &type, buf, sizeof(buf),
		    &n);
	if (rv == 0 && type != NBD_REP_ACK)
		rv = fail("ABORT answered 0x%x", type);
	if (rv == 0)
		rv = expect_closed(c.fd, fast_ms(), "ABORT");
	nbd_close(&c);
	return rv;
}

/*
 * 50 connections from -s that stop after the greeting: those over the
 * server's max_handshakes_per_address are closed at once, the others by
 * the handshake deadline; meanwhile a session from elsewhere works.
 */
static int
mode_nbd_flood(void)
{
	struct nbd_peer fl[FLOOD_CONNS];
	uint8_t g[18];
	enum read_end end;
	long deadline;
	size_t n;
	int i, rv = 0, held = 0, refused = 0;

	for (i = 0; i < FLOOD_CONNS && rv == 0; i++) {
		if ((rv = nbd_connect(&fl[i])) != 0)
			break;
		n = read_upto(fl[i].fd, g, sizeof(g), IO_TIMEOUT_MS, &end);
		if (n == sizeof(g))
			held++;
		else if (n == 0 && end == READ_EOF) {
			refused++;
			nbd_close(&fl[i]);
		} else
			rv = fail("connection %d: %zu bytes of the greeting, "
			    "then %s", i, n, end == READ_TIMEOUT ?
			    "nothing" : "the end");
	}
	for (; i < FLOOD_CONNS; i++)
		fl[i].fd = -1;
	if (rv == 0)
		rv = nbd_fresh_usable_from("50 idle connections", 0);
	deadline = now_ms() + cx.hs_timeout * 1000L + HOLD_MARGIN_MS;
	for (i = 0; i < FLOOD_CONNS; i++) {
		uint8_t b;
		long left = deadline - now_ms();

		if (fl[i].fd == -1)
			continue;
		if (read_upto(fl[i].fd, &b, 1, left > 0 ? (int)left : 1,
		    &end) > 0)
			rv = fail("idle connection %d got data", i);
		else if (end == READ_EOF)
			held--;
		nbd_close(&fl[i]);
	}
	if (rv == 0 && held > 0)
		return fail("%d idle connections still open %d ms after the "
		    "handshake timeout", held, HOLD_MARGIN_MS);
	if (rv == 0)
		note("%d connections: %d refused at once, the others closed "
		    "by the handshake deadline", FLOOD_CONNS, refused);
	return rv;
}

/* ------------------------------------------------------------ NBD: transmission */

/* Requests the engine has no name for: EINVAL each, the stream in step. */
static int
mode_nbd_unknown_cmd(void)
{
	static const struct {
		const char *what;
		uint16_t flags, type;
		int payload;
	} bad[] = {
		{ "command 9", 0, 9, 0 },
		{ "command 0xffff", 0, 0xffff, 0 },
		{ "READ with flag bit 7", 1U << 7, NBD_CMD_READ, 0 },
		{ "READ with DF, no structured replies", NBD_CMD_FLAG_DF,
		    NBD_CMD_READ, 0 },
		{ "WRITE with flag bit 15 (payload sent)", 1U << 15,
		    NBD_CMD_WRITE, 1 },
		{ "WRITE with REQ_ONE (payload sent)", NBD_CMD_FLAG_REQ_ONE,
		    NBD_CMD_WRITE, 1 },
		{ "BLOCK_STATUS without a metadata context", 0,
		    NBD_CMD_BLOCK_STATUS, 0 },
		{ "TRIM with DF", NBD_CMD_FLAG_DF, NBD_CMD_TRIM, 0 },
	};
	uint8_t buf[BLOCK];
	struct nbd_peer c;
	size_t i;
	int rv;

	memset(buf, 0xa5, sizeof(buf));
	if (nbd_open(&c) != 0)
		return 1;
	rv = 0;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]) && rv == 0; i++) {
		rv = nbd_expect(&c, bad[i].what, bad[i].flags, bad[i].type,
		    NBD_TEST_OFFSET, BLOCK, buf, bad[i].payload ? BLOCK : 0,
		    NBD_EINVAL, NULL);
		if (rv == 0)
			note("%s: EINVAL", bad[i].what);
	}
	if (rv == 0)
		rv = nbd_usable(&c, "unknown commands and flags");
	if (rv == 0)
		nbd_disconnect(&c);
	nbd_close(&c);
	return rv;
}

/* Requests beyond the export or malformed: the errors NBD asks for. */
static int
mode_nbd_out_of_range(void)
{
	static uint8_t buf[BLOCK];
	struct nbd_peer c;
	uint64_t end;
	int rv;

	if (nbd_open(&c) != 0)
		return 1;
	end = c.size;
	rv = nbd_expect(&c, "READ past the end", 0, NBD_CMD_READ, end - 512,
	    BLOCK, NULL, 0, NBD_EINVAL, buf);
	if (rv == 0)
		rv = nbd_expect(&c, "WRITE past the end", 0, NBD_CMD_WRITE,
		    end - 512, BLOCK, buf, BLOCK, NBD_ENOSPC, NULL);
	if (rv == 0)
		rv = nbd_expect(&c, "READ at 2^64-512", 0, NBD_CMD_READ,
		    UINT64_MAX - 511, BLOCK, NULL, 0, NBD_EINVAL, buf);
	if (rv == 0)
		rv = nbd_expect(&c, "READ of 0 bytes", 0, NBD_CMD_READ, 0, 0,
		    NULL, 0, NBD_EINVAL, buf);
	if (rv == 0)
		rv = nbd_expect(&c, "READ over max payload", 0, NBD_CMD_READ,
		    0, NBD_SERVER_MAX_PAYLOAD + 512, NULL, 0, NBD_EINVAL, buf);
	if (rv == 0 && (c.tx_flags & NBD_FLAG_SEND_TRIM))
		rv = nbd_expect(&c, "TRIM past the end", 0, NBD_CMD_TRIM,
		    end - 512, BLOCK, NULL, 0, NBD_EINVAL, NULL);
	if (rv == 0 && (c.tx_flags & NBD_FLAG_SEND_FLUSH))
		rv = nbd_expect(&c, "FLUSH with a length", 0, NBD_CMD_FLUSH, 0,
		    BLOCK, NULL, 0, NBD_EINVAL, NULL);
	if (rv == 0)
		rv = nbd_usable(&c, "requests out of range");
	if (rv == 0) {
		note("out-of-range requests refused with EINVAL or ENOSPC");
		nbd_disconnect(&c);
	}
	nbd_close(&c);
	return rv;
}

/* What the flood's request i is: a READ, or every fifth one invalid. */
static int
flood_is_read(uint64_t i)
{
	return i % 5 != 4;
}

static uint64_t
flood_off(uint64_t i, uint64_t size)
{
	return (i * 7919 * BLOCK) % (size - BLOCK) / BLOCK * BLOCK;
}

/* Send n requests from first without waiting, then read their replies. */
static int
flood_batch(struct nbd_peer *c, uint64_t first, int n, uint8_t *seen)
{
	static uint8_t wire[NBD_BATCH * sizeof(struct nbd_request)];
	uint8_t data[BLOCK];
	struct nbd_request w;
	uint64_t i, cookie;
	uint32_t error;
	int k, r;

	for (k = 0; k < n; k++) {
		i = first + (uint64_t)k;
		nbd_req_wire(&w, 0, flood_is_read(i) ? NBD_CMD_READ : 0x4242,
		    i, flood_off(i, c->size), BLOCK);
		memcpy(wire + (size_t)k * sizeof(w), &w, sizeof(w));
	}
	if (send_all(c->fd, wire, (size_t)n * sizeof(w)) != 0)
		return fail("sending %d requests: %s", n, strerror(errno));
	for (k = 0; k < n; k++) {
		if ((r = nbd_recv_simple(c, &error, &cookie)) != 1)
			return r == 0 ? fail("closed after %llu replies",
			    (unsigned long long)(first + (uint64_t)k)) : 1;
		if (cookie < first || cookie >= first + (uint64_t)n ||
		    seen[cookie]++)
			return fail("unexpected or repeated cookie %llu",
			    (unsigned long long)cookie);
		if (error != (flood_is_read(cookie) ? 0U : NBD_EINVAL))
			return fail("cookie %llu: error %u",
			    (unsigned long long)cookie, error);
		if (error == 0 && nbd_read(c, data, sizeof(data),
		    "READ data") != 0)
			return 1;
	}
	return 0;
}

/*
 * NBD_FLOOD_REQUESTS pipelined requests, a fifth of them invalid: each
 * answered once, as it should be.  Then NBD_NOREAD_REQUESTS READs of
 * 64 KiB whose replies are never read, and the connection dropped: the
 * server must give up on them and go on serving.
 */
static int
mode_nbd_request_flood(void)
{
	static uint8_t seen[NBD_FLOOD_REQUESTS];
	static uint8_t wire[NBD_BATCH * sizeof(struct nbd_request)];
	struct nbd_request w;
	struct nbd_peer c;
	uint64_t i;
	int k, rv = 0;

	if (nbd_open(&c) != 0)
		return 1;
	for (i = 0; i < NBD_FLOOD_REQUESTS && rv == 0; i += NBD_BATCH)
		rv = flood_batch(&c, i, NBD_BATCH, seen);
	if (rv == 0)
		note("%d pipelined requests (1 in 5 invalid): each answered "
		    "once", NBD_FLOOD_REQUESTS);
	if (rv == 0)
		rv = nbd_usable(&c, "the flood");
	if (rv == 0)
		nbd_disconnect(&c);
	nbd_close(&c);
	if (rv != 0 || nbd_open(&c) != 0)
		return 1;
	for (i = 0; i < NBD_NOREAD_REQUESTS; i += NBD_BATCH) {
		for (k = 0; k < NBD_BATCH; k++) {
			nbd_req_wire(&w, 0, NBD_CMD_READ, i + (uint64_t)k,
			    flood_off(i + (uint64_t)k, c.size) / 65536 * 65536,
			    65536);
			memcpy(wire + (size_t)k * sizeof(w), &w, sizeof(w));
		}
		/* The server stops reading once its replies back up. */
		if (send(c.fd, wire, sizeof(wire), MSG_NOSIGNAL |
		    MSG_DONTWAIT) != (ssize_t)sizeof(wire))
			break;
	}
	note("%llu READs of 64 KiB sent without reading a reply; closing",
	    (unsigned long long)i);
	nbd_close(&c);
	if (nbd_fresh_usable("a client that stopped reading") != 0)
		return 1;
	return 0;
}

/* A WRITE longer than the server takes: EINVAL, then the end. */
static int
mode_nbd_write_too_big(void)
{
	static const uint32_t lens[] = {
		NBD_SERVER_MAX_PAYLOAD + 512, UINT32_MAX,
	};
	char what[80];
	struct nbd_peer c;
	size_t i;
	int rv = 0;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]) && rv == 0; i++) {
		if (nbd_open(&c) != 0)
			return 1;
		snprintf(what, sizeof(what), "WRITE of %u bytes", lens[i]);
		rv = nbd_send_req(&c, 0, NBD_CMD_WRITE, c.cookie++, 0,
		    lens[i], NULL, 0);
		if (rv == 0)
			rv = nbd_expect_hangup(&c, what);
		nbd_close(&c);
	}
	if (rv == 0)
		rv = nbd_fresh_usable("WRITEs too big");
	return rv;
}

/*
 * A WRITE of 1 MiB whose payload stops after 300 KiB, and a request
 * header cut short: the server closes, and the unfinished write leaves
 * no trace.
 */
static int
mode_nbd_disconnect_midpayload(void)
{
	static uint8_t before[BLOCK], partial[1024 * 1024], back[BLOCK];
	struct nbd_request w;
	struct nbd_peer c;
	int rv;

	fill_pattern(before, sizeof(before), 77);
	memset(partial, 0xee, sizeof(partial));
	if (nbd_open(&c) != 0)
		return 1;
	rv = nbd_expect(&c, "WRITE before", 0, NBD_CMD_WRITE,
	    NBD_TEST_OFFSET, BLOCK, before, BLOCK, 0, NULL);
	if (rv == 0)
		rv = nbd_send_req(&c, 0, NBD_CMD_WRITE, c.cookie++,
		    NBD_TEST_OFFSET, sizeof(partial), partial, 300 * 1024);
	nbd_close(&c);
	if (rv != 0 || nbd_open(&c) != 0)
		return 1;
	rv = nbd_expect(&c, "READ after the cut WRITE", 0, NBD_CMD_READ,
	    NBD_TEST_OFFSET, BLOCK, NULL, 0, 0, back);
	if (rv == 0 && memcmp(back, before, sizeof(back)) != 0)
		rv = fail("the WRITE cut after 300 KiB changed the export");
	if (rv == 0)
		note("a WRITE cut after 300 KiB of 1 MiB left the data as it "
		    "was");
	/* Then half a request header. */
	nbd_req_wire(&w, 0, NBD_CMD_READ, c.cookie++, 0, BLOCK);
	if (rv == 0 && send_all(c.fd, &w, 10) != 0)
		rv = fail("sending half a request: %s", strerror(errno));
	nbd_close(&c);
	if (rv == 0)
		rv = nbd_fresh_usable("cut requests");
	return rv;
}

/*
 * Probe, not listed: -n connections from -s, each in transmission with a
 * WRITE of 32 MiB whose payload stops after its first byte, held -d
 * seconds (default 10) or until the server closes them all.  Prints how
 * many the server closed.  With -n 9 the stalled payloads take more than
 * max_request_memory's default of 256 MiB: run a client meanwhile to see
 * whether it still gets served.
 */
static int
mode_nbd_stall_payload(void)
{
	struct nbd_peer *c;
	struct pollfd *pfd;
	uint8_t b;
	long stop = now_ms() + (cx.duration > 0 ? cx.duration : 10) * 1000L;
	int i, n = cx.nconns, open = 0, rv = 0;

	if ((c = calloc((size_t)n, sizeof(*c))) == NULL ||
	    (pfd = calloc((size_t)n, sizeof(*pfd))) == NULL)
		return fail("out of memory");
	for (i = 0; i < n && rv == 0; i++)
		if ((rv = nbd_open(&c[i])) == 0 && (rv = nbd_send_req(&c[i], 0,
		    NBD_CMD_WRITE, 1, 0, NBD_SERVER_MAX_PAYLOAD, "x", 1)) == 0)
			open++;
	note("%d WRITEs of 32 MiB stalled after one byte of payload", open);
	while (rv == 0 && open > 0 && now_ms() < stop) {
		for (i = 0; i < n; i++) {
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++)
			if (pfd[i].revents != 0 && recv(c[i].fd, &b, 1,
			    MSG_DONTWAIT) <= 0) {
				nbd_close(&c[i]);
				open--;
			}
	}
	note("after %d s: %d of %d closed by the server", cx.duration > 0 ?
	    cx.duration : 10, n - open, n);
	for (i = 0; i < n; i++)
		nbd_close(&c[i]);
	free(pfd);
	free(c);
	return rv;
}

/*
 * Probe, not listed: NBD_OPT_EXPORT_NAME has no error reply, so a name
 * longer than the server reads must end the session (doc/proto.md: the
 * server MUST terminate it), not get NBD_REP_ERR_TOO_BIG.
 */
static int
mode_nbd_export_name_huge(void)
{
	static uint8_t msg[sizeof(struct nbd_opt_hdr) + 9000];
	struct nbd_opt_hdr h = {
		.magic = htobe64(NBD_OPT_MAGIC),
		.option = htobe32(NBD_OPT_EXPORT_NAME),
		.length = htobe32(sizeof(msg) - sizeof(h)),
	};

	memcpy(msg, &h, sizeof(h));
	memset(msg + sizeof(h), 'n', sizeof(msg) - sizeof(h));
	return nbd_close_on(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES,
	    msg, sizeof(msg), fast_ms(), "NBD_OPT_EXPORT_NAME of 9000 bytes");
}

/* A request with a bad magic in transmission: the server hangs up. */
static int
mode_nbd_req_bad_magic(void)
{
	struct nbd_request w;
	struct nbd_peer c;
	int rv;

	if (nbd_open(&c) != 0)
		return 1;
	nbd_req_wire(&w, 0, NBD_CMD_READ, c.cookie++, 0, BLOCK);
	w.magic = htobe32(NBD_SIMPLE_REPLY_MAGIC);
	rv = send_all(c.fd, &w, sizeof(w)) != 0 ?
	    fail("sending: %s", strerror(errno)) :
	    nbd_expect_hangup(&c, "a request with a bad magic");
	nbd_close(&c);
	return rv;
}

/* ------------------------------------------------------------ main */

static const struct {
	const char *name;
	int (*run)(void);
} modes[] = {
	{ "garbage", mode_garbage },
	{ "http", mode_http },
	{ "hello-truncated", mode_hello_truncated },
	{ "hello-stall", mode_hello_stall },
	{ "magic-stall", mode_magic_stall },
	{ "len-big", mode_len_big },
	{ "len-small", mode_len_small },
	{ "len-hdr", mode_len_hdr },
	{ "len-zero", mode_len_zero },
	{ "len-max", mode_len_max },
	{ "version-high", mode_version_high },
	{ "version-zero", mode_version_zero },
	{ "version-wide", mode_version_wide },
	{ "wrong-key", mode_wrong_key },
	{ "unknown-export", mode_unknown_export },
	{ "tamper-ch-eph", mode_tamper_ch_eph },
	{ "tamper-ch-payload", mode_tamper_ch_payload },
	{ "tamper-ch-tag", mode_tamper_ch_tag },
	{ "manual-ch", mode_manual_ch },
	{ "zero-eph", mode_zero_eph },
	{ "name-empty", mode_name_empty },
	{ "name-long", mode_name_long },
	{ "name-nul", mode_name_nul },
	{ "name-padding", mode_name_padding },
	{ "conn-range", mode_conn_range },
	{ "bad-options", mode_bad_options },
	{ "replay", mode_replay },
	{ "replay-flood", mode_replay_flood },
	{ "cf-bad", mode_cf_bad },
	{ "cf-truncated", mode_cf_truncated },
	{ "cf-trickle", mode_cf_trickle },
	{ "rec-tamper", mode_rec_tamper },
	{ "rec-tamper-tag", mode_rec_tamper_tag },
	{ "rec-version", mode_rec_version },
	{ "rec-replay", mode_rec_replay },
	{ "rec-oversize", mode_rec_oversize },
	{ "rec-length-max", mode_rec_length_max },
	{ "rec-undersize", mode_rec_undersize },
	{ "rec-zero", mode_rec_zero },
	{ "rec-badtype", mode_rec_badtype },
	{ "rec-inner-type", mode_rec_inner_type },
	{ "rec-not-keyupdate", mode_rec_not_keyupdate },
	{ "req-badmagic", mode_req_badmagic },
	{ "req-reserved", mode_req_reserved },
	{ "req-errors", mode_req_errors },
	{ "req-readonly", mode_req_readonly },
	{ "req-toobig", mode_req_toobig },
	{ "pipeline", mode_pipeline },
	{ "flood", mode_flood },
	{ "fill", mode_fill },
	{ "trickle", mode_trickle },
	{ "hello-time", mode_hello_time },
	{ "ro-flush", mode_ro_flush },
};

/* The NBD listener's (-L). */
static const struct {
	const char *name;
	int (*run)(void);
} nbd_modes[] = {
	{ "nbd-garbage", mode_nbd_garbage },
	{ "nbd-no-fixed-newstyle", mode_nbd_no_fixed_newstyle },
	{ "nbd-bad-client-flags", mode_nbd_bad_client_flags },
	{ "nbd-bad-magic", mode_nbd_bad_magic },
	{ "nbd-idle", mode_nbd_idle },
	{ "nbd-slow-option", mode_nbd_slow_option },
	{ "nbd-option-loop", mode_nbd_option_loop },
	{ "nbd-huge-option", mode_nbd_huge_option },
	{ "nbd-bad-lengths", mode_nbd_bad_lengths },
	{ "nbd-bad-names", mode_nbd_bad_names },
	{ "nbd-abort", mode_nbd_abort },
	{ "nbd-flood", mode_nbd_flood },
	{ "nbd-unknown-cmd", mode_nbd_unknown_cmd },
	{ "nbd-out-of-range", mode_nbd_out_of_range },
	{ "nbd-request-flood", mode_nbd_request_flood },
	{ "nbd-write-too-big", mode_nbd_write_too_big },
	{ "nbd-disconnect-midpayload", mode_nbd_disconnect_midpayload },
	{ "nbd-req-bad-magic", mode_nbd_req_bad_magic },
	{ "nbd-export-name-huge", mode_nbd_export_name_huge },
};

/* NBD probes: not listed by -L. */
static const struct {
	const char *name;
	int (*run)(void);
} nbd_probes[] = {
	{ "nbd-stall-payload", mode_nbd_stall_payload },
};

/* Probes for other tests: not attacks, so not listed by -l. */
static const struct {
	const char *name;
	int (*run)(void);
} probes[] = {
	{ "failed-export", probe_failed_export },
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: badclient [-t SECONDS] [-s ADDR] [-n COUNT] "
	    "[-d SECONDS] -k KEYFILE [-K KEYFILE]\n"
	    "                 [-S PUBKEY] URI MODE\n"
	    "       badclient [-t SECONDS] [-s ADDR] [-n COUNT] [-d SECONDS] "
	    "nbd://HOST:PORT/EXPORT\n"
	    "                 NBD-MODE\n"
	    "       badclient -l | -L\n");
	exit(2);
}

/*
 * nbd://HOST[:PORT]/EXPORT, as uri_parse reads netdisk URIs; the port
 * defaults to NBD's.
 */
static int
nbd_uri_parse(const char *s, struct nd_uri *u)
{
	static const char scheme[] = "nbd://";
	char buf[sizeof("netdisk://") + 512];
	const char *host = s + strlen(scheme), *p;

	if (strncmp(s, scheme, strlen(scheme)) != 0 ||
	    (size_t)snprintf(buf, sizeof(buf), "netdisk://%s", host) >=
	    sizeof(buf) || uri_parse(buf, u) != 0)
		return -1;
	p = *host == '[' ? strchr(host, ']') : host;
	if (p != NULL && (p = strpbrk(p, ":/")) != NULL && *p == '/')
		snprintf(u->port, sizeof(u->port), "%d", NBD_DEFAULT_PORT);
	return 0;
}

/* An NBD mode's function, or NULL. */
static int
(*nbd_mode(const char *name))(void)
{
	size_t i;

	for (i = 0; i < sizeof(nbd_modes) / sizeof(nbd_modes[0]); i++)
		if (strcmp(nbd_modes[i].name, name) == 0)
			return nbd_modes[i].run;
	for (i = 0; i < sizeof(nbd_probes) / sizeof(nbd_probes[0]); i++)
		if (strcmp(nbd_probes[i].name, name) == 0)
			return nbd_probes[i].run;
	return NULL;
}

int
main(int argc, char *argv[])
{
	const char *keyfile = NULL, *keyfile2 = NULL;
	int (*nbd_run)(void);
	char err[256];
	size_t i;
	int ch;

	cx.hs_timeout = 2;
	cx.nconns = 1;
	cx.mode = "badclient";
	while ((ch = getopt(argc, argv, "d:K:k:Lln:S:s:t:")) != -1) {
		switch (ch) {
		case 'S':
			if (key_parse_hex(optarg, cx.server_pub) != 0)
				usage();
			cx.has_server_pub = 1;
			break;
		case 'K':
			keyfile2 = optarg;
			break;
		case 'd':
			cx.duration = atoi(optarg);
			if (cx.duration < 0 || cx.duration > 600)
				usage();
			break;
		case 'n':
			cx.nconns = atoi(optarg);
			if (cx.nconns < 1 || cx.nconns > 100000)
				usage();
			break;
		case 's':
			cx.src = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'l':
			for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
				printf("%s\n", modes[i].name);
			return 0;
		case 'L':
			for (i = 0; i < sizeof(nbd_modes) /
			    sizeof(nbd_modes[0]); i++)
				printf("%s\n", nbd_modes[i].name);
			return 0;
		case 't':
			cx.hs_timeout = atoi(optarg);
			if (cx.hs_timeout < 1 || cx.hs_timeout > 60)
				usage();
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	if ((nbd_run = nbd_mode(argv[optind + 1])) != NULL) {
		if (nbd_uri_parse(argv[optind], &cx.uri) != 0) {
			fprintf(stderr, "badclient: %s: not an nbd:// URI\n",
			    argv[optind]);
			return 2;
		}
		signal(SIGPIPE, SIG_IGN);
		alarm(60 + cx.duration);
		cx.mode = argv[optind + 1];
		return nbd_run() == 0 ? 0 : 1;
	}
	if (keyfile == NULL)
		usage();
	if (uri_parse(argv[optind], &cx.uri) != 0) {
		fprintf(stderr, "badclient: %s: not a netdisk URI\n", argv[optind]);
		return 2;
	}
	if (key_load_file(keyfile, cx.psk, err, sizeof(err)) != 0) {
		fprintf(stderr, "badclient: %s\n", err);
		return 2;
	}
	if (keyfile2 != NULL &&
	    key_load_file(keyfile2, cx.psk2, err, sizeof(err)) != 0) {
		fprintf(stderr, "badclient: %s\n", err);
		return 2;
	}
	cx.has_psk2 = keyfile2 != NULL;
	signal(SIGPIPE, SIG_IGN);
	alarm(60 + cx.duration);
	cx.mode = argv[optind + 1];
	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i].name, cx.mode) == 0)
			return modes[i].run() == 0 ? 0 : 1;
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if (strcmp(probes[i].name, cx.mode) == 0)
			return probes[i].run() == 0 ? 0 : 1;
	fprintf(stderr, "badclient: unknown mode %s\n", cx.mode);
	return 2;
}
