/* SPDX-License-Identifier: ISC */
/*
 * The record layer over socketpairs: round trips, packing, tampering,
 * replay, reordering, loss, truncation, header checks and KeyUpdate.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "record.h"
#include "tap.h"

#define MAXREC	(ND_REC_HDR_LEN + ND_REC_MAX_CIPHERTEXT)
#define MIB	(1024 * 1024)

static struct hs_keys keys;

/* Two conns on one socketpair: a is the client, b the server. */
struct pair {
	int fd[2];
	struct record_conn a, b;
};

static void
set_timeout(int fd)
{
	struct timeval tv = { 10, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void
pair_open(struct pair *p)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd) == -1 ||
	    record_init(&p->a, p->fd[0], &keys, 0) == -1 ||
	    record_init(&p->b, p->fd[1], &keys, 1) == -1) {
		perror("pair_open");
		exit(1);
	}
	set_timeout(p->fd[0]);
	set_timeout(p->fd[1]);
}

static void
pair_close(struct pair *p)
{
	record_free(&p->a);
	record_free(&p->b);
	close(p->fd[0]);
	close(p->fd[1]);
}

/*
 * A wire under the test's control: tx (client) writes to s[0], the test
 * reads the raw records from s[1], changes them and writes them to r[0],
 * where rx (server) reads them from r[1].
 */
struct wire {
	int s[2], r[2];
	struct record_conn tx, rx;
};

static void
wire_open(struct wire *w)
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, w->s) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, w->r) == -1 ||
	    record_init(&w->tx, w->s[0], &keys, 0) == -1 ||
	    record_init(&w->rx, w->r[1], &keys, 1) == -1) {
		perror("wire_open");
		exit(1);
	}
	set_timeout(w->r[1]);
	set_timeout(w->s[1]);
}

static void
wire_close(struct wire *w)
{
	record_free(&w->tx);
	record_free(&w->rx);
	close(w->s[0]);
	close(w->s[1]);
	close(w->r[0]);
	close(w->r[1]);
}

/* Sends len bytes of pattern through tx; the raw records into out. */
static size_t
capture(struct wire *w, size_t len, uint8_t *out, size_t max)
{
	uint8_t buf[1024];
	size_t got = 0;
	ssize_t n;

	memset(buf, 'a' + (int)w->tx.tx.seq, sizeof(buf));
	if (len > sizeof(buf) || record_send(&w->tx, buf, len) == -1)
		return 0;
	while (got < max &&
	    (n = recv(w->s[1], out + got, max - got, MSG_DONTWAIT)) > 0)
		got += n;
	return got;
}

static int
deliver(struct wire *w, const void *buf, size_t len)
{
	return write(w->r[0], buf, len) == (ssize_t)len ? 0 : -1;
}

/* What record_recv says about the next n bytes: 1, 0, or -errno. */
static int
recv_result(struct record_conn *rc, size_t n)
{
	static uint8_t buf[MAXREC];

	errno = 0;
	if (n > sizeof(buf))
		return -ERANGE;
	switch (record_recv(rc, buf, n)) {
	case 1:
		return 1;
	case 0:
		return 0;
	}
	return -errno;
}

static void
random_keys(void)
{
	if (crypto_random(&keys, sizeof(keys)) == -1) {
		perror("crypto_random");
		exit(1);
	}
}

/* Round trips. */

struct sender {
	pthread_t t;
	struct record_conn *rc;
	const struct iovec *iov;
	int iovcnt, rv, err;
};

static void *
send_main(void *arg)
{
	struct sender *s = arg;

	s->rv = record_sendv(s->rc, s->iov, s->iovcnt);
	s->err = errno;
	return NULL;
}

static void
sender_start(struct sender *s, struct record_conn *rc,
    const struct iovec *iov, int iovcnt)
{
	s->rc = rc;
	s->iov = iov;
	s->iovcnt = iovcnt;
	if (pthread_create(&s->t, NULL, send_main, s) != 0)
		abort();
}

static size_t
iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;
	int i;

	for (i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Receives total bytes in uneven pieces and compares them with iov. */
static int
receive_iov(struct record_conn *rc, const struct iovec *iov, int n)
{
	static const size_t piece[] = { 1, 7, 4096, 20000, 3 };
	size_t total = iov_total(iov, n), got = 0, want, k = 0, off = 0;
	uint8_t *buf = malloc(total + 1);
	int i, good = buf != NULL;

	while (good && got < total) {
		want = piece[k++ % 5];
		if (want > total - got)
			want = total - got;
		good = record_recv(rc, buf + got, want) == 1;
		got += want;
	}
	for (i = 0; good && i < n; i++) {
		good = memcmp(buf + off, iov[i].iov_base, iov[i].iov_len) == 0;
		off += iov[i].iov_len;
	}
	free(buf);
	return good;
}

/* Sends iov from one end of a fresh pair to the other and back. */
static void
roundtrip(const char *what, const struct iovec *iov, int n)
{
	size_t total = iov_total(iov, n);
	uint64_t recs = total == 0 ? 1 : (total + 16383) / 16384;
	struct sender s;
	struct pair p;
	int good;

	pair_open(&p);
	sender_start(&s, &p.a, iov, n);
	good = receive_iov(&p.b, iov, n);
	pthread_join(s.t, NULL);
	/* An empty send is one empty record, which a 0-byte receive leaves. */
	ok(good && s.rv == 0 && p.a.tx.seq == recs &&
	    p.b.rx.seq == (total > 0 ? recs : 0),
	    "c2s %s: %zu bytes in %llu records", what, total,
	    (unsigned long long)recs);
	sender_start(&s, &p.b, iov, n);
	good = receive_iov(&p.a, iov, n);
	pthread_join(s.t, NULL);
	ok(good && s.rv == 0 && p.b.tx.seq == recs, "s2c %s", what);
	pair_close(&p);
}

static void
test_roundtrips(void)
{
	static const size_t sizes[] = { 0, 1, 16383, 16384, 16385, MIB };
	static uint8_t big[MIB + 100000];
	struct iovec iov[300];
	size_t i, mix[] = { 0, 1, 0, 16383, 2, 16384, 100000, 5, 0 };
	size_t off = 0;

	crypto_random(big, sizeof(big));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		iov[0].iov_base = big;
		iov[0].iov_len = sizes[i];
		roundtrip("one buffer", iov, 1);
	}
	iov[0] = (struct iovec){ big, 16 };
	iov[1] = (struct iovec){ big + 16, 4096 };
	roundtrip("reply + 4 KiB", iov, 2);
	for (i = 0; i < sizeof(mix) / sizeof(mix[0]); i++) {
		iov[i] = (struct iovec){ big + off, mix[i] };
		off += mix[i];
	}
	roundtrip("uneven iovecs", iov, i);
	for (i = 0; i < 300; i++)
		iov[i] = (struct iovec){ big + 100 * i, 100 };
	roundtrip("300 iovecs of 100 bytes", iov, 300);
	roundtrip("no iovecs (an empty record)", iov, 0);
}

static void
test_full_duplex(void)
{
	static uint8_t x[MIB], y[MIB];
	struct iovec ix = { x, sizeof(x) }, iy = { y, sizeof(y) };
	struct sender sa, sb;
	struct pair p;
	int good;

	crypto_random(x, sizeof(x));
	crypto_random(y, sizeof(y));
	pair_open(&p);
	sender_start(&sa, &p.a, &ix, 1);
	sender_start(&sb, &p.b, &iy, 1);
	good = receive_iov(&p.b, &ix, 1) && receive_iov(&p.a, &iy, 1);
	pthread_join(sa.t, NULL);
	pthread_join(sb.t, NULL);
	ok(good && sa.rv == 0 && sb.rv == 0,
	    "both directions at once, 1 MiB each");
	pair_close(&p);
}

/* Tampering. */

/* Flips bit of a 100-byte record; 1 if the receiver says EBADMSG. */
static int
flipped_fails(size_t bit, int pad)
{
	static uint8_t junk[MAXREC];
	uint8_t rec[MAXREC];
	struct wire w;
	size_t n;
	int rv;

	wire_open(&w);
	n = capture(&w, 100, rec, sizeof(rec));
	rec[bit / 8] ^= 1 << (bit % 8);
	deliver(&w, rec, n);
	if (pad)	/* a longer length must find bytes to read */
		deliver(&w, junk, sizeof(junk));
	rv = n == 5 + 100 + 17 && recv_result(&w.rx, 100) == -EBADMSG;
	wire_close(&w);
	return rv;
}

static void
test_tamper(void)
{
	size_t bit, bad;

	for (bit = 0, bad = 0; bit < 8 * 5; bit++)
		bad += !flipped_fails(bit, 1);
	ok(bad == 0, "every flipped bit in the header: EBADMSG");
	for (bit = 8 * 5, bad = 0; bit < 8 * (5 + 101); bit += 3)
		bad += !flipped_fails(bit, 0);
	ok(bad == 0, "flipped bits in the ciphertext (content and type): EBADMSG");
	for (bit = 8 * 106, bad = 0; bit < 8 * 122; bit++)
		bad += !flipped_fails(bit, 0);
	ok(bad == 0, "every flipped bit in the tag: EBADMSG");
}

/* Records 0..2 of a wire, each of 10 bytes of content. */
static void
three_records(struct wire *w, uint8_t rec[3][32])
{
	int i;

	wire_open(w);
	for (i = 0; i < 3; i++)
		if (capture(w, 10, rec[i], 32) != 32)
			abort();
}

static void
test_sequence(void)
{
	uint8_t rec[3][32];
	struct wire w;

	three_records(&w, rec);
	deliver(&w, rec[0], 32);
	deliver(&w, rec[0], 32);
	ok(recv_result(&w.rx, 10) == 1 && recv_result(&w.rx, 10) == -EBADMSG,
	    "a replayed record: EBADMSG");
	wire_close(&w);
	three_records(&w, rec);
	deliver(&w, rec[1], 32);
	deliver(&w, rec[0], 32);
	ok(recv_result(&w.rx, 10) == -EBADMSG, "reordered records: EBADMSG");
	wire_close(&w);
	three_records(&w, rec);
	deliver(&w, rec[0], 32);
	deliver(&w, rec[2], 32);
	ok(recv_result(&w.rx, 10) == 1 && recv_result(&w.rx, 10) == -EBADMSG,
	    "a dropped record: EBADMSG");
	wire_close(&w);
}

/* Delivers the first n bytes of a 10-byte record and closes; the result. */
static int
truncated(size_t n, size_t want)
{
	uint8_t rec[3][32];
	struct wire w;
	int rv;

	three_records(&w, rec);
	deliver(&w, rec[0], n);
	shutdown(w.r[0], SHUT_WR);
	rv = recv_result(&w.rx, want);
	wire_close(&w);
	return rv;
}

static void
test_truncation(void)
{
	ok(truncated(0, 10) == 0, "EOF before a record: 0");
	ok(truncated(3, 10) == -EPROTO, "EOF inside the header: EPROTO");
	ok(truncated(5, 10) == -EPROTO, "EOF after the header: EPROTO");
	ok(truncated(31, 10) == -EPROTO, "EOF inside the tag: EPROTO");
	ok(truncated(32, 10) == 1, "the whole record: 1");
	ok(truncated(32, 11) == -EPROTO, "EOF inside a message: EPROTO");
}

/* A bare header with no body and the socket left open. */
static int
header_only(uint8_t type, uint16_t version, size_t len)
{
	uint8_t h[5] = { type, version >> 8, version & 0xff, len >> 8,
	    len & 0xff };
	struct wire w;
	int rv;

	wire_open(&w);
	deliver(&w, h, sizeof(h));
	rv = recv_result(&w.rx, 1);
	wire_close(&w);
	return rv;
}

static void
test_headers(void)
{
	ok(header_only(23, 0x0303, ND_REC_MAX_CIPHERTEXT + 1) == -EBADMSG,
	    "length 16402 refused before reading the body");
	ok(header_only(23, 0x0303, 0xffff) == -EBADMSG,
	    "length 65535 refused before reading the body");
	ok(header_only(23, 0x0303, 16) == -EBADMSG,
	    "length 16 (shorter than a tag and a type) refused");
	ok(header_only(23, 0x0303, 0) == -EBADMSG, "length 0 refused");
	ok(header_only(22, 0x0303, 100) == -EBADMSG, "outer type 22 refused");
	ok(header_only(23, 0x0301, 100) == -EBADMSG, "version 0x0301 refused");
}

/* Crafted records, sealed here with the c2s keys. */

static size_t
craft(uint8_t *out, const struct hs_traffic *t, uint64_t seq,
    const void *content, size_t len, uint8_t type, size_t pad)
{
	struct crypto_aead *a = crypto_aead_new(t->key);
	uint8_t nonce[12], in[MAXREC];
	size_t n = len + (type != 0) + pad;
	int i;

	memcpy(nonce, t->iv, 12);
	for (i = 0; i < 8; i++)
		nonce[11 - i] ^= seq >> (8 * i);
	memcpy(in, content, len);
	in[len] = type;
	memset(in + len + (type != 0), 0, pad);
	out[0] = 23;
	out[1] = out[2] = 3;
	out[3] = (n + 16) >> 8;
	out[4] = (n + 16) & 0xff;
	if (a == NULL || crypto_aead_seal(a, nonce, out, 5, in, n, out + 5,
	    out + 5 + n) != 0)
		abort();
	crypto_aead_free(a);
	return 5 + n + 16;
}

/*
 * Delivers one crafted record (seq 0) then "ok" (seq 1, or seq 0 under
 * the updated keys if upd): what the receiver says, 2 if it read "ok".
 */
static int
crafted_upd(const void *content, size_t len, uint8_t type, size_t pad,
    size_t want, int upd)
{
	uint8_t rec[MAXREC + 64], buf[64];	/* room for an oversized one */
	struct hs_traffic next = keys.c2s;
	struct wire w;
	size_t n;
	int rv;

	wire_open(&w);
	n = craft(rec, &keys.c2s, 0, content, len, type, pad);
	deliver(&w, rec, n);
	if (upd)
		hs_traffic_update(&next);
	n = craft(rec, &next, upd ? 0 : 1, "ok", 2, 23, 0);
	deliver(&w, rec, n);
	rv = recv_result(&w.rx, want);
	if (rv == 1) {
		errno = 0;
		rv = record_recv(&w.rx, buf, 2) == 1 ? 2 : -errno;
		if (rv == 2 && memcmp(buf, "ok", 2) != 0)
			rv = -1;
	}
	wire_close(&w);
	return rv;
}

static int
crafted(const void *content, size_t len, uint8_t type, size_t pad,
    size_t want)
{
	return crafted_upd(content, len, type, pad, want, 0);
}

static void
test_inner(void)
{
	static uint8_t big[ND_REC_MAX_PLAINTEXT];
	static const uint8_t ku_req[] = { 0x18, 0, 0, 1, 1 };
	static const uint8_t ku[] = { 0x18, 0, 0, 1, 0 };

	ok(crafted("hello", 5, 23, 0, 5) == 2, "crafted data record accepted");
	ok(crafted("hello", 5, 23, 100, 5) == 2, "zero padding accepted");
	ok(crafted(big, ND_REC_MAX_PLAINTEXT, 23, 0, ND_REC_MAX_PLAINTEXT) == 2,
	    "a full record accepted");
	ok(crafted("", 0, 23, 0, 0) == 2, "a zero-length data record accepted");
	ok(crafted("hello", 5, 21, 0, 5) == -EBADMSG,
	    "unknown inner type 21 refused");
	ok(crafted("", 0, 0, 50, 1) == -EBADMSG,
	    "an all-zero inner plaintext refused");
	ok(crafted_upd(ku, 5, 22, 0, 0, 1) == 2,
	    "crafted KeyUpdate accepted, next record under the new keys");
	ok(crafted_upd(ku, 5, 22, 7, 0, 1) == 2, "padded KeyUpdate accepted");
	ok(crafted_upd(ku, 5, 23, 0, 5, 1) == -EBADMSG,
	    "KeyUpdate bytes as data do not update the keys");
	ok(crafted_upd(ku_req, 5, 22, 0, 2, 1) == -EBADMSG,
	    "KeyUpdate with update_requested refused");
	ok(crafted_upd(ku, 4, 22, 0, 2, 1) == -EBADMSG,
	    "4-byte KeyUpdate refused");
	ok(crafted_upd("\x18\0\0\1\0\0", 6, 22, 0, 2, 1) == -EBADMSG,
	    "6-byte KeyUpdate refused");
	ok(crafted(big, ND_REC_MAX_PLAINTEXT, 23, 1, 1) == -EBADMSG,
	    "16384 bytes of content and padding: too long, refused");
}

/*
 * Opening into the caller's buffer (record.c, direct_part): records of
 * content c[i] and padding pad[i] (type t[i]), delivered at once and read
 * with receives of want bytes each: 1 if every byte came back in order,
 * else what record_recv said (0 or -errno).
 */
static int
direct_reads(const size_t *c, const size_t *pad, const uint8_t *t, int n,
    size_t want)
{
	static uint8_t data[4 * ND_REC_MAX_PLAINTEXT], got[sizeof(data)];
	static uint8_t rec[MAXREC];
	size_t off = 0, total, k;
	struct wire w;
	int i, rv = 1;

	crypto_random(data, sizeof(data));
	wire_open(&w);
	for (i = 0; i < n; i++) {
		k = craft(rec, &keys.c2s, (uint64_t)i, data + off, c[i], t[i],
		    pad[i]);
		deliver(&w, rec, k);
		off += c[i];
	}
	total = off;
	memset(got, 0, sizeof(got));
	for (off = 0; off < total && rv == 1; off += k) {
		k = total - off < want ? total - off : want;
		errno = 0;
		if (record_recv(&w.rx, got + off, k) != 1)
			rv = -errno;
	}
	if (rv == 1 && memcmp(got, data, total) != 0)
		rv = -EILSEQ;
	wire_close(&w);
	return rv;
}

static void
test_direct(void)
{
	static const size_t c1[] = { 1000, 1000 }, p1[] = { 5000, 0 };
	static const size_t c2[] = { 16384, 300, 16000 }, p2[] = { 0, 0, 384 };
	static const size_t c3[] = { 1000 }, p3[] = { 0 };
	static const uint8_t d[] = { 23, 23, 23 }, bad[] = { 21 };

	ok(direct_reads(c1, p1, d, 2, 2000) == 1,
	    "a padded record whose type byte falls in the caller's buffer: "
	    "its content read, then the next record's");
	ok(direct_reads(c2, p2, d, 3, 1 << 20) == 1 &&
	    direct_reads(c2, p2, d, 3, 5000) == 1 &&
	    direct_reads(c2, p2, d, 3, 257) == 1 &&
	    direct_reads(c2, p2, d, 3, 255) == 1,
	    "records opened into receives of 1 MiB, 5000, 257 and 255 bytes");
	ok(direct_reads(c3, p3, bad, 1, 1000) == -EBADMSG,
	    "1000 bytes of unknown inner type 21, read into a big buffer: "
	    "EBADMSG");
}

/* KeyUpdate. */

static int
send_numbered(struct record_conn *rc, int n)
{
	uint8_t buf[64];
	int i;

	for (i = 0; i < n; i++) {
		memset(buf, i, sizeof(buf));
		if (record_send(rc, buf, 1 + i % 64) == -1)
			return -1;
	}
	return 0;
}

static int
recv_numbered(struct record_conn *rc, int n)
{
	uint8_t buf[64], want[64];
	int i;

	for (i = 0; i < n; i++) {
		memset(want, i, sizeof(want));
		if (record_recv(rc, buf, 1 + i % 64) != 1 ||
		    memcmp(buf, want, 1 + i % 64) != 0)
			return -1;
	}
	return 0;
}

static void
test_key_update(void)
{
	struct pair p;

	pair_open(&p);
	p.a.rekey_limit = p.b.rekey_limit = 4;
	ok(send_numbered(&p.a, 50) == 0 && send_numbered(&p.b, 50) == 0 &&
	    recv_numbered(&p.b, 50) == 0 && recv_numbered(&p.a, 50) == 0,
	    "rekey limit 4: 50 records each way arrive intact");
	ok(p.a.tx_updates == 16 && p.b.rx_updates == 16 &&
	    p.b.tx_updates == 16 && p.a.rx_updates == 16,
	    "16 KeyUpdates each way (a: tx %llu rx %llu, b: tx %llu rx %llu)",
	    (unsigned long long)p.a.tx_updates,
	    (unsigned long long)p.a.rx_updates,
	    (unsigned long long)p.b.tx_updates,
	    (unsigned long long)p.b.rx_updates);
	ok(memcmp(&p.a.tx.traffic, &p.b.rx.traffic, sizeof(p.a.tx.traffic)) == 0 &&
	    memcmp(p.a.tx.traffic.key, keys.c2s.key, 32) != 0 &&
	    p.a.tx.seq == 2 && p.b.rx.seq == 2, "both ends hold the same new keys");
	pair_close(&p);
	pair_open(&p);
	p.b.rekey_limit = 4;
	errno = 0;
	ok(send_numbered(&p.a, 5) == 0 && recv_numbered(&p.b, 4) == 0 &&
	    recv_result(&p.b, 5) == -EBADMSG,
	    "a peer sending record 4 without a KeyUpdate: EBADMSG");
	pair_close(&p);
}

static void
test_misuse(void)
{
	struct iovec iov = { NULL, 0 };
	struct pair p;

	pair_open(&p);
	ok(record_recv(&p.b, NULL, 0) == 1 && p.b.rx.seq == 0,
	    "a zero-byte receive returns 1 at once");
	p.a.rekey_limit = 1;
	errno = 0;
	ok(record_sendv(&p.a, &iov, 1) == -1 && errno == EINVAL,
	    "rekey limit 1: EINVAL");
	p.a.rekey_limit = ND_REC_REKEY_LIMIT;
	ok(record_sendv(&p.a, &iov, -1) == -1 && errno == EINVAL,
	    "negative iovcnt: EINVAL");
	close(p.fd[1]);
	p.fd[1] = -1;
	errno = 0;
	ok(record_send(&p.a, "x", 1) == -1 && errno == EPIPE,
	    "sending to a closed peer: EPIPE, no SIGPIPE");
	pair_close(&p);
}

int
main(void)
{
	random_keys();
	test_roundtrips();
	test_full_duplex();
	test_tamper();
	test_sequence();
	test_truncation();
	test_headers();
	test_inner();
	test_direct();
	test_key_update();
	test_misuse();
	return done_testing();
}
