/* SPDX-License-Identifier: ISC */
/*
 * The record layer: a byte stream in TLS 1.3 records (RFC 8446 section
 * 5) with AES-256-GCM over a blocking socket.  The sending and the
 * receiving side share nothing but the socket and rekey_limit, so one
 * thread may send while another receives.
 *
 * A send seals its records one after the other into txbuf and writes the
 * buffer when the next record might not fit, and at the end: one system
 * call per RECORD_TX_BUF bytes instead of one per record.  The receiver
 * reads as much as the socket has into rxbuf and opens one record at a
 * time when the stream needs it, so a record is opened (and rx.seq
 * counts it) exactly as if it were read alone; only the reading is
 * shared.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "record.h"
#include "sockio.h"

/* The KeyUpdate a rekey sends, and the only one accepted. */
static const struct nd_key_update key_update = ND_KEY_UPDATE_INIT;

/* Keys per direction. */

static int
dir_init(struct record_dir *d, const struct hs_traffic *t)
{
	d->traffic = *t;
	d->seq = 0;
	d->aead = crypto_aead_new(t->key);
	return d->aead != NULL ? 0 : -1;
}

static int
dir_update(struct record_dir *d)
{
	hs_traffic_update(&d->traffic);
	crypto_aead_free(d->aead);
	d->seq = 0;
	if ((d->aead = crypto_aead_new(d->traffic.key)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

static void
dir_free(struct record_dir *d)
{
	crypto_aead_free(d->aead);
	crypto_wipe(d, sizeof(*d));
}

int
record_init(struct record_conn *rc, int fd, const struct hs_keys *keys,
    int is_server)
{
	memset(rc, 0, sizeof(*rc));
	rc->fd = fd;
	rc->rekey_limit = ND_REC_REKEY_LIMIT;
	if (dir_init(&rc->tx, is_server ? &keys->s2c : &keys->c2s) == -1 ||
	    dir_init(&rc->rx, is_server ? &keys->c2s : &keys->s2c) == -1 ||
	    (rc->txbuf = malloc(RECORD_TX_BUF)) == NULL ||
	    (rc->rxbuf = malloc(RECORD_RX_BUF)) == NULL) {
		record_free(rc);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
record_free(struct record_conn *rc)
{
	int fd = rc->fd;

	dir_free(&rc->tx);
	dir_free(&rc->rx);
	if (rc->txbuf != NULL)
		crypto_wipe(rc->txbuf, RECORD_TX_BUF);
	if (rc->rxbuf != NULL)
		crypto_wipe(rc->rxbuf, RECORD_RX_BUF);
	free(rc->txbuf);
	free(rc->rxbuf);
	memset(rc, 0, sizeof(*rc));
	rc->fd = fd;
}

/* Sending. */

/* Writes the sealed records in txbuf. */
static int
flush_tx(struct record_conn *rc)
{
	size_t len = rc->txlen;

	rc->txlen = 0;
	return sock_write_full(rc->fd, rc->txbuf, len);
}

/* Makes room in txbuf for one more record; the record's start. */
static uint8_t *
tx_room(struct record_conn *rc)
{
	if (RECORD_TX_BUF - rc->txlen < ND_REC_MAX_LEN && flush_tx(rc) == -1)
		return NULL;
	return rc->txbuf + rc->txlen;
}

/*
 * Seals one record of len content bytes after the header at h: the first
 * part bytes from src (sealed where they are), the rest already in place.
 */
static int
seal_record(struct record_conn *rc, uint8_t *h, const uint8_t *src,
    size_t part, size_t len, uint8_t type)
{
	uint8_t *body = h + ND_REC_HDR_LEN;
	uint8_t nonce[ND_IV_LEN];
	size_t clen = len + ND_REC_MIN_CIPHERTEXT;

	body[len] = type;
	nd_rec_hdr_fill(h, (uint32_t)clen);
	nd_rec_nonce(nonce, rc->tx.traffic.iv, rc->tx.seq);
	if (crypto_aead_seal_split(rc->tx.aead, nonce, h, ND_REC_HDR_LEN, src,
	    part, body, len + 1, body + len + 1) == -1) {
		errno = EIO;
		return -1;
	}
	rc->tx.seq++;
	rc->txlen += ND_REC_HDR_LEN + clen;
	return 0;
}

/* The last record number under a key carries a KeyUpdate. */
static int
rekey_if_due(struct record_conn *rc)
{
	uint8_t *h;

	if (rc->tx.seq + 1 < rc->rekey_limit)
		return 0;
	if ((h = tx_room(rc)) == NULL)
		return -1;
	memcpy(h + ND_REC_HDR_LEN, &key_update, sizeof(key_update));
	if (seal_record(rc, h, NULL, 0, sizeof(key_update),
	    ND_REC_TYPE_HANDSHAKE) ==
	    -1 || dir_update(&rc->tx) == -1)
		return -1;
	rc->tx_updates++;
	return 0;
}

struct iov_cursor {
	const struct iovec *iov;
	int cnt;
	size_t off;
};

static int
cursor_done(struct iov_cursor *c)
{
	while (c->cnt > 0 && c->off == c->iov->iov_len) {
		c->iov++;
		c->cnt--;
		c->off = 0;
	}
	return c->cnt == 0;
}

/* Copies up to max bytes from the cursor into out; the count. */
static size_t
cursor_copy(struct iov_cursor *c, uint8_t *out, size_t max)
{
	size_t fill = 0, n;

	while (fill < max && !cursor_done(c)) {
		n = c->iov->iov_len - c->off;
		if (n > max - fill)
			n = max - fill;
		memcpy(out + fill, (const uint8_t *)c->iov->iov_base + c->off,
		    n);
		c->off += n;
		fill += n;
	}
	return fill;
}

/*
 * Where the next record's first bytes can be sealed from: the cursor's
 * place, if the piece it is in holds CRYPTO_SPLIT_ALIGN bytes or more.
 * The count of such bytes (at most max), the cursor past them.
 */
static size_t
cursor_part(struct iov_cursor *c, const uint8_t **src, size_t max)
{
	size_t n;

	if (cursor_done(c))
		return 0;
	n = c->iov->iov_len - c->off;
	if (n > max)
		n = max;
	n -= n % CRYPTO_SPLIT_ALIGN;
	*src = (const uint8_t *)c->iov->iov_base + c->off;
	c->off += n;
	return n;
}

/*
 * Seals all of the cursor's bytes into records, writing as txbuf fills.
 * The bulk of a record is sealed from where the caller has it, in one
 * pass; what is left of it (the pieces too small, the tail) is copied.
 */
static int
seal_all(struct record_conn *rc, struct iov_cursor *c)
{
	const uint8_t *src = NULL;
	size_t part, n;
	uint8_t *h;

	do {
		if (rekey_if_due(rc) == -1 || (h = tx_room(rc)) == NULL)
			return -1;
		part = cursor_part(c, &src, ND_REC_MAX_PLAINTEXT);
		n = part + cursor_copy(c, h + ND_REC_HDR_LEN + part,
		    ND_REC_MAX_PLAINTEXT - part);
		if (seal_record(rc, h, src, part, n, ND_REC_TYPE_DATA) == -1)
			return -1;
	} while (!cursor_done(c));
	return 0;
}

int
record_sendv(struct record_conn *rc, const struct iovec *iov, int iovcnt)
{
	struct iov_cursor c = { iov, iovcnt, 0 };

	if (iovcnt < 0 || rc->rekey_limit < 2) {
		errno = EINVAL;
		return -1;
	}
	if (seal_all(rc, &c) == -1) {
		rc->txlen = 0;
		return -1;
	}
	return flush_tx(rc);
}

int
record_send(struct record_conn *rc, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return record_sendv(rc, &iov, 1);
}

/* Receiving. */

/*
 * Reads what the socket has, at least one byte, to the end of rxbuf:
 * 1, 0 on EOF, -1.
 */
static int
fill_rx(struct record_conn *rc)
{
	ssize_t n;

	for (;;) {
		n = read(rc->fd, rc->rxbuf + rc->rxfill,
		    RECORD_RX_BUF - rc->rxfill);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		rc->rxfill += (size_t)n;
		return 1;
	}
}

/*
 * Until the next len bytes of records are in rxbuf: 1, 0 on EOF before
 * any byte of the record, -1 (EPROTO: EOF inside it).  The opened
 * record before rxnext is used up, so what follows may move to the start.
 */
static int
need_rx(struct record_conn *rc, size_t len)
{
	int r;

	if (rc->rxnext + len > RECORD_RX_BUF) {
		memmove(rc->rxbuf, rc->rxbuf + rc->rxnext,
		    rc->rxfill - rc->rxnext);
		rc->rxfill -= rc->rxnext;
		rc->rxnext = 0;
	}
	while (rc->rxfill - rc->rxnext < len) {
		if ((r = fill_rx(rc)) == 1)
			continue;
		if (r == 0 && rc->rxfill == rc->rxnext)
			return 0;
		if (r == 0)
			errno = EPROTO;
		return -1;
	}
	return 1;
}

/* Strips the zero padding: the content length and the real type. */
static int
inner_type(const uint8_t *p, size_t n, size_t *len, uint8_t *type)
{
	uint32_t l;

	if (nd_rec_inner(p, (uint32_t)n, &l, type) == -1) {
		errno = EBADMSG;
		return -1;
	}
	*len = l;
	return 1;
}

/*
 * The bytes of a record's plaintext (plain, with the type) that may be
 * opened straight into a caller's buffer of room bytes: a multiple of
 * CRYPTO_SPLIT_ALIGN, leaving at least the type byte in place.
 */
static size_t
direct_part(size_t plain, size_t room)
{
	size_t n = plain - 1;

	if (n > room)
		n = room;
	return n - n % CRYPTO_SPLIT_ALIGN;
}

/*
 * Finds the content of a record opened in two places, its first part
 * bytes at dst: *direct, the content's bytes in dst (part, or 0 if the
 * record is not data or its type byte lies in dst, being padded; then
 * its first bytes go back in place, to be read from there), and *len,
 * those still in place.
 */
static int
split_type(uint8_t *body, size_t plain, const uint8_t *dst, size_t part,
    size_t *len, uint8_t *type, size_t *direct)
{
	uint32_t l;

	*direct = 0;
	if (part == 0)
		return inner_type(body, plain, len, type);
	if (nd_rec_inner(body + part, (uint32_t)(plain - part), &l, type) ==
	    0 && *type == ND_REC_TYPE_DATA) {
		*direct = part;
		*len = l;
		return 1;
	}
	memcpy(body, dst, part);
	return inner_type(body, plain, len, type);
}

/*
 * Reads and opens the next record: 1 with its content at rxbuf + *pos,
 * 0 on EOF before it, -1.  If dst is not NULL, the record's first bytes
 * (up to room, *direct of them) go there instead, opened in the same
 * pass; the rest of its content is then at rxbuf + *pos.
 */
static int
read_record(struct record_conn *rc, size_t *pos, size_t *len, uint8_t *type,
    uint8_t *dst, size_t room, size_t *direct)
{
	uint8_t *h, *body, nonce[ND_IV_LEN];
	size_t clen, part;
	int r;

	if (rc->rxnext == rc->rxfill)
		rc->rxnext = rc->rxfill = 0;
	if ((r = need_rx(rc, ND_REC_HDR_LEN)) != 1)
		return r;
	h = rc->rxbuf + rc->rxnext;
	if ((clen = nd_rec_hdr_length(h)) == 0 ||
	    rc->rx.seq >= rc->rekey_limit) {
		errno = EBADMSG;
		return -1;
	}
	if ((r = need_rx(rc, ND_REC_HDR_LEN + clen)) != 1) {
		if (r == 0)
			errno = EPROTO;
		return -1;
	}
	h = rc->rxbuf + rc->rxnext;	/* need_rx may have moved it */
	body = h + ND_REC_HDR_LEN;
	rc->rxnext += ND_REC_HDR_LEN + clen;
	clen -= ND_TAG_LEN;
	part = dst != NULL ? direct_part(clen, room) : 0;
	nd_rec_nonce(nonce, rc->rx.traffic.iv, rc->rx.seq);
	if (crypto_aead_open_split(rc->rx.aead, nonce, h, ND_REC_HDR_LEN, body,
	    clen, dst, part, body + clen) == -1) {
		errno = EBADMSG;
		return -1;
	}
	rc->rx.seq++;
	if (split_type(body, clen, dst, part, len, type, direct) == -1)
		return -1;
	*pos = (size_t)(body - rc->rxbuf) + *direct;
	return 1;
}

/*
 * Processes the next record, opening what it can into dst (room bytes;
 * *direct of them): 1, 0 on EOF at a record boundary, -1.
 */
static int
next_record(struct record_conn *rc, uint8_t *dst, size_t room,
    size_t *direct)
{
	size_t pos, len;
	uint8_t type;
	int r;

	if ((r = read_record(rc, &pos, &len, &type, dst, room, direct)) != 1)
		return r;
	if (type == ND_REC_TYPE_DATA) {
		rc->rxpos = pos;
		rc->rxlen = pos + len;
		return 1;
	}
	if (type == ND_REC_TYPE_HANDSHAKE && len == sizeof(key_update) &&
	    memcmp(rc->rxbuf + pos, &key_update, sizeof(key_update)) == 0) {
		if (dir_update(&rc->rx) == -1)
			return -1;
		rc->rx_updates++;
		return 1;
	}
	errno = EBADMSG;
	return -1;
}

int
record_recv(struct record_conn *rc, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t got = 0, n;
	int r;

	while (got < len) {
		if (rc->rxpos == rc->rxlen) {
			if ((r = next_record(rc, p + got, len - got, &n)) == 1) {
				got += n;
				continue;
			}
			if (r == 0 && got == 0)
				return 0;
			if (r == 0)
				errno = EPROTO;
			rc->rxpos = rc->rxlen = 0;
			rc->rxnext = rc->rxfill = 0;
			return -1;
		}
		n = rc->rxlen - rc->rxpos;
		if (n > len - got)
			n = len - got;
		memcpy(p + got, rc->rxbuf + rc->rxpos, n);
		rc->rxpos += n;
		got += n;
	}
	return 1;
}

int
record_recv_ready(const struct record_conn *rc, size_t len)
{
	size_t have = rc->rxlen - rc->rxpos, pos = rc->rxnext, clen;

	while (have < len && rc->rxfill - pos >= ND_REC_HDR_LEN) {
		clen = nd_rec_hdr_length(rc->rxbuf + pos);
		if (clen == 0 || rc->rxfill - pos - ND_REC_HDR_LEN < clen)
			break;
		have += clen - ND_REC_MIN_CIPHERTEXT;
		pos += ND_REC_HDR_LEN + clen;
	}
	return have >= len;
}
