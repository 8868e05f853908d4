/* SPDX-License-Identifier: ISC */
/*
 * The record layer's receiving side: record_recv over a socketpair.
 *
 * Input: a mode byte, a read-size byte, then the stream.
 *   mode bit 0 clear: the rest of the input is what arrives, as is;
 *   mode bit 0 set: the rest is a list of records to seal here with the
 *     right keys and sequence numbers, so the checks after decryption
 *     are reached.  Each record: a control byte, then
 *       ctl & 3 == 0: data, length u8 (ctl & 4: u16), content;
 *       ctl & 3 == 1: a KeyUpdate;
 *       ctl & 3 == 2: length u8, content, inner content type u8;
 *       ctl & 3 == 3: 5 bytes of content with the KeyUpdate's type;
 *       ctl & 8: zero padding follows, length u8 (ctl & 16: u16);
 *       ctl & 32: the record may exceed the size limit;
 *       ctl & 0xc0 == 0xc0: u16 position, u8 mask: a byte flipped on the
 *         wire after sealing.
 *     The receiver is modelled from docs/protocol.md: what it must
 *     deliver and where it must fail, which the target checks.
 *   mode bits 1-3: rekey_limit (0: ND_REC_REKEY_LIMIT).
 * The read-size byte picks the sizes record_recv is asked for.
 * The whole stream is queued on the socket, then the writer closes.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "record.h"
#include "fuzz.h"

#define MODE_SEALED	0x01
#define STREAM_MAX	(64 * 1024)
#define READ_MAX	65536
#define CTL_KIND	0x03
#define CTL_LEN16	0x04
#define CTL_PAD		0x08
#define CTL_PAD16	0x10
#define CTL_OVERSIZE	0x20
#define CTL_CORRUPT	0xc0
#define INNER_MAX	(0xffff - ND_TAG_LEN)

static const size_t read_sizes[] = {
	1, 3, 16, 32, 100, 4096, 16383, 16384, 16385, 40000, READ_MAX,
};
static const uint8_t key_update[ND_KEY_UPDATE_LEN] = { 0x18, 0, 0, 1, 0 };

/* The sender (client to server) and what the receiver must do. */
struct model {
	struct hs_traffic tx;
	struct crypto_aead *aead;
	uint64_t seq, limit;
	struct fuzz_buf wire;
	struct fuzz_buf data;		/* what record_recv must deliver */
	uint64_t updates;		/* KeyUpdates before the failure */
	int fail;			/* a record the receiver must refuse */
	int fail_eof;			/* ... maybe only at EOF (EPROTO) */
};

static void
fixed_keys(struct hs_keys *k)
{
	memset(k->c2s.secret, 0x11, ND_HASH_LEN);
	memset(k->s2c.secret, 0x22, ND_HASH_LEN);
	fuzz_expand_label(k->c2s.key, ND_KEY_LEN, k->c2s.secret, "key", NULL,
	    0);
	fuzz_expand_label(k->c2s.iv, ND_IV_LEN, k->c2s.secret, "iv", NULL, 0);
	fuzz_expand_label(k->s2c.key, ND_KEY_LEN, k->s2c.secret, "key", NULL,
	    0);
	fuzz_expand_label(k->s2c.iv, ND_IV_LEN, k->s2c.secret, "iv", NULL, 0);
}

static void
model_rekey(struct model *m)
{
	crypto_aead_free(m->aead);
	if ((m->aead = crypto_aead_new(m->tx.key)) == NULL)
		fuzz_fail(__FILE__, __LINE__, "crypto_aead_new");
	m->seq = 0;
}

/* Seals inner (content || type || padding) as the next record. */
static void
seal(struct model *m, const uint8_t *inner, size_t len, uint8_t *rec)
{
	uint8_t nonce[ND_IV_LEN];
	size_t clen = len + ND_TAG_LEN;
	int i;

	rec[0] = ND_REC_TYPE_DATA;
	rec[1] = ND_REC_LEGACY_VERSION >> 8;
	rec[2] = ND_REC_LEGACY_VERSION & 0xff;
	rec[3] = clen >> 8;
	rec[4] = clen & 0xff;
	memcpy(nonce, m->tx.iv, ND_IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[ND_IV_LEN - 1 - i] ^= (m->seq >> (8 * i)) & 0xff;
	if (crypto_aead_seal(m->aead, nonce, rec, ND_REC_HDR_LEN, inner, len,
	    rec + ND_REC_HDR_LEN, rec + ND_REC_HDR_LEN + len) == -1)
		fuzz_fail(__FILE__, __LINE__, "crypto_aead_seal");
}

/* The receiver on one intact record; 1 if the sender must rekey. */
static int
model_receive(struct model *m, const uint8_t *inner, size_t len)
{
	size_t n = len;

	if (m->fail)
		return 0;
	if (m->seq >= m->limit || len > ND_REC_MAX_PLAINTEXT + 1) {
		m->fail = 1;
		return 0;
	}
	while (n > 0 && inner[n - 1] == 0)
		n--;
	if (n > 0 && inner[n - 1] == ND_REC_TYPE_DATA) {
		fuzz_put(&m->data, inner, n - 1);
		return 0;
	}
	if (n == 1 + ND_KEY_UPDATE_LEN &&
	    inner[n - 1] == ND_REC_TYPE_HANDSHAKE &&
	    memcmp(inner, key_update, ND_KEY_UPDATE_LEN) == 0) {
		m->updates++;
		return 1;
	}
	m->fail = 1;
	return 0;
}

/* Reads one record description; 0 when the input is used up. */
static int
record_from(struct model *m, struct fuzz_in *in, uint8_t *inner,
    uint8_t *rec)
{
	uint8_t ctl, kind, mask;
	size_t len, pad = 0, pos;
	int rekey;

	if (in->len == 0)
		return 0;
	ctl = fuzz_u8(in);
	kind = ctl & CTL_KIND;
	if (kind == 1 || kind == 3) {
		len = ND_KEY_UPDATE_LEN;
		memcpy(inner, key_update, len);
		if (kind == 3)
			fuzz_bytes(in, inner, len);
		inner[len] = ND_REC_TYPE_HANDSHAKE;
	} else {
		len = ctl & CTL_LEN16 ? fuzz_u16(in) % (ND_REC_MAX_PLAINTEXT +
		    1) : fuzz_u8(in);
		fuzz_bytes(in, inner, len);
		inner[len] = kind == 0 ? ND_REC_TYPE_DATA : fuzz_u8(in);
	}
	len++;
	if (ctl & CTL_PAD)
		pad = ctl & CTL_PAD16 ? fuzz_u16(in) : fuzz_u8(in);
	if (pad > (ctl & CTL_OVERSIZE ? INNER_MAX : ND_REC_MAX_PLAINTEXT + 1) -
	    len)
		pad = (ctl & CTL_OVERSIZE ? INNER_MAX :
		    ND_REC_MAX_PLAINTEXT + 1) - len;
	memset(inner + len, 0, pad);
	len += pad;
	if (m->wire.len + ND_REC_HDR_LEN + len + ND_TAG_LEN > STREAM_MAX)
		return 0;
	seal(m, inner, len, rec);
	len += ND_REC_HDR_LEN + ND_TAG_LEN;
	if ((ctl & CTL_CORRUPT) == CTL_CORRUPT) {
		pos = fuzz_u16(in) % len;
		mask = fuzz_u8(in) | 1;
		rec[pos] ^= mask;
		if (!m->fail)
			m->fail = m->fail_eof = 1;
	}
	rekey = model_receive(m, inner, len - ND_REC_HDR_LEN - ND_TAG_LEN);
	fuzz_put(&m->wire, rec, len);
	if (rekey) {
		hs_traffic_update(&m->tx);
		model_rekey(m);
	} else
		m->seq++;
	return 1;
}

static void
build_sealed(struct model *m, struct fuzz_in *in, const struct hs_keys *k)
{
	uint8_t *inner, *rec;

	if ((inner = malloc(INNER_MAX + 1)) == NULL ||
	    (rec = malloc(ND_REC_HDR_LEN + INNER_MAX + ND_TAG_LEN)) == NULL)
		abort();
	m->tx = k->c2s;
	model_rekey(m);
	while (record_from(m, in, inner, rec))
		;
	crypto_aead_free(m->aead);
	free(inner);
	free(rec);
}

/* Queues the stream; the read end, or -1 if it did not fit whole. */
static int
queue_stream(const struct fuzz_buf *w, int *complete)
{
	ssize_t n = 0;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1)
		abort();
	if (w->len > 0)
		n = send(sv[1], w->p, w->len, MSG_DONTWAIT | MSG_NOSIGNAL);
	*complete = n == (ssize_t)w->len;
	close(sv[1]);
	return sv[0];
}

struct outcome {
	int r, err;
	size_t got, last;	/* bytes delivered, size of the last read */
	uint64_t updates;
};

static void
receive(int fd, const struct hs_keys *k, uint64_t limit, uint8_t sizes,
    const struct model *m, struct outcome *o)
{
	struct record_conn rc;
	uint8_t *buf;
	size_t i;

	if ((buf = malloc(READ_MAX)) == NULL ||
	    record_init(&rc, fd, k, 1) == -1)
		abort();
	rc.rekey_limit = limit;
	memset(o, 0, sizeof(*o));
	for (i = 0;; i++) {
		o->last = read_sizes[(sizes + i) % (sizeof(read_sizes) /
		    sizeof(read_sizes[0]))];
		errno = 0;
		if ((o->r = record_recv(&rc, buf, o->last)) != 1)
			break;
		if (m != NULL) {
			FUZZ_CHECK(o->got + o->last <= m->data.len);
			FUZZ_CHECK(memcmp(buf, m->data.p + o->got,
			    o->last) == 0);
		}
		o->got += o->last;
	}
	o->err = errno;
	o->updates = rc.rx_updates;
	FUZZ_CHECK(o->r == 0 || o->r == -1);
	if (o->r == -1)
		FUZZ_CHECK(o->err == EBADMSG || o->err == EPROTO);
	record_free(&rc);
	free(buf);
}

/* What record_recv did against what the model says it must do. */
static void
check_outcome(const struct model *m, const struct outcome *o)
{
	FUZZ_CHECK(o->updates == m->updates);
	if (m->fail) {
		FUZZ_CHECK(o->r == -1);
		FUZZ_CHECK(o->err == EBADMSG || (m->fail_eof &&
		    o->err == EPROTO));
		return;
	}
	if (o->r == 0)
		FUZZ_CHECK(o->got == m->data.len);
	else
		FUZZ_CHECK(o->err == EPROTO && o->got + o->last > m->data.len);
}

static uint64_t
limit_of(uint8_t mode)
{
	uint64_t l = (mode >> 1) & 7;

	return l == 0 ? ND_REC_REKEY_LIMIT : l;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct model m;
	struct outcome o;
	struct hs_keys keys;
	uint8_t mode, sizes;
	int fd, complete;

	memset(&m, 0, sizeof(m));
	mode = fuzz_u8(&in);
	sizes = fuzz_u8(&in);
	m.limit = limit_of(mode);
	fixed_keys(&keys);
	if (mode & MODE_SEALED)
		build_sealed(&m, &in, &keys);
	else
		fuzz_put(&m.wire, in.p, in.len < STREAM_MAX ? in.len :
		    STREAM_MAX);
	fd = queue_stream(&m.wire, &complete);
	complete = complete && (mode & MODE_SEALED);
	receive(fd, &keys, m.limit, sizes, complete ? &m : NULL, &o);
	if (complete)
		check_outcome(&m, &o);
	close(fd);
	hs_keys_clear(&keys);
	fuzz_buf_free(&m.wire);
	fuzz_buf_free(&m.data);
	return 0;
}

/* Seeds. */

/* Records as record_send sends them, with rekey_limit limit. */
static void
seed_real(fuzz_emit_fn emit, void *arg, const char *name, uint64_t limit,
    const size_t *lens, size_t n)
{
	struct record_conn rc;
	struct hs_keys keys;
	struct fuzz_buf b = { NULL, 0, 0 };
	uint8_t *msg, chunk[4096];
	ssize_t got;
	size_t i, j;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1 ||
	    (msg = malloc(ND_REC_MAX_PLAINTEXT * 2)) == NULL)
		abort();
	fixed_keys(&keys);
	record_init(&rc, sv[1], &keys, 0);
	rc.rekey_limit = limit;
	fuzz_put_u8(&b, (limit == ND_REC_REKEY_LIMIT ? 0 : limit) << 1);
	fuzz_put_u8(&b, 0);
	for (i = 0; i < n; i++) {
		for (j = 0; j < lens[i]; j++)
			msg[j] = (uint8_t)(i + j);
		if (record_send(&rc, msg, lens[i]) == -1)
			abort();
	}
	record_free(&rc);
	close(sv[1]);
	while ((got = read(sv[0], chunk, sizeof(chunk))) > 0)
		fuzz_put(&b, chunk, (size_t)got);
	close(sv[0]);
	emit(arg, name, b.p, b.len);
	fuzz_buf_free(&b);
	free(msg);
}

static void
put_data(struct fuzz_buf *b, uint8_t ctl, const char *s)
{
	fuzz_put_u8(b, ctl);
	if (ctl & CTL_LEN16)
		fuzz_put_u16(b, strlen(s));
	else
		fuzz_put_u8(b, strlen(s));
	fuzz_put(b, s, strlen(s));
}

void
fuzz_seeds(fuzz_emit_fn emit, void *arg)
{
	static const size_t small[] = { 3 }, mixed[] = { 100, 0, 7 },
	    many[] = { 10, 20, 30, 40, 50 };
	struct fuzz_buf b = { NULL, 0, 0 };

	seed_real(emit, arg, "raw-one", ND_REC_REKEY_LIMIT, small, 1);
	seed_real(emit, arg, "raw-mixed", ND_REC_REKEY_LIMIT, mixed, 3);
	seed_real(emit, arg, "raw-rekey3", 3, many, 5);

	/* Data, padded data, a KeyUpdate, more data; limit 3. */
	fuzz_put_u8(&b, MODE_SEALED | 3 << 1);
	fuzz_put_u8(&b, 2);
	put_data(&b, 0, "first");
	put_data(&b, CTL_PAD, "padded");
	fuzz_put_u8(&b, 40);
	fuzz_put_u8(&b, 1);
	put_data(&b, CTL_LEN16, "after the update");
	put_data(&b, CTL_PAD | CTL_PAD16, "");
	fuzz_put_u16(&b, 300);
	emit(arg, "sealed-rekey", b.p, b.len);
	fuzz_buf_free(&b);

	/* A full record (zero content: the input ends), then EOF. */
	fuzz_put_u8(&b, MODE_SEALED);
	fuzz_put_u8(&b, 8);
	fuzz_put_u8(&b, CTL_LEN16);
	fuzz_put_u16(&b, ND_REC_MAX_PLAINTEXT);
	emit(arg, "sealed-max", b.p, b.len);
	fuzz_buf_free(&b);

	/* A record past the limit without a KeyUpdate. */
	fuzz_put_u8(&b, MODE_SEALED | 1 << 1);
	fuzz_put_u8(&b, 5);
	put_data(&b, 0, "one");
	put_data(&b, 0, "two");
	emit(arg, "sealed-limit", b.p, b.len);
	fuzz_buf_free(&b);

	/* Inner type 0 (the padding rule finds the type), then type 21. */
	fuzz_put_u8(&b, MODE_SEALED);
	fuzz_put_u8(&b, 0);
	fuzz_put_u8(&b, 2);
	fuzz_put_u8(&b, 4);
	fuzz_put(&b, "ab\x17\x00", 4);
	fuzz_put_u8(&b, 0);
	fuzz_put_u8(&b, 2);
	fuzz_put_u8(&b, 2);
	fuzz_put(&b, "cd", 2);
	fuzz_put_u8(&b, 21);
	emit(arg, "sealed-types", b.p, b.len);
	fuzz_buf_free(&b);

	/* A malformed KeyUpdate; an oversized record; a flipped byte. */
	fuzz_put_u8(&b, MODE_SEALED);
	fuzz_put_u8(&b, 7);
	fuzz_put_u8(&b, 3);
	fuzz_put(&b, "\x18\x00\x00\x01\x01", 5);
	emit(arg, "sealed-badupdate", b.p, b.len);
	fuzz_buf_free(&b);
	fuzz_put_u8(&b, MODE_SEALED);
	fuzz_put_u8(&b, 6);
	put_data(&b, CTL_PAD | CTL_PAD16 | CTL_OVERSIZE, "big");
	fuzz_put_u16(&b, 16400);
	emit(arg, "sealed-oversize", b.p, b.len);
	fuzz_buf_free(&b);
	fuzz_put_u8(&b, MODE_SEALED);
	fuzz_put_u8(&b, 1);
	put_data(&b, 0, "fine");
	put_data(&b, CTL_CORRUPT, "flipped");
	fuzz_put_u16(&b, 9);
	fuzz_put_u8(&b, 0x40);
	emit(arg, "sealed-corrupt", b.p, b.len);
	fuzz_buf_free(&b);
}
