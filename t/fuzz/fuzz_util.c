/* SPDX-License-Identifier: ISC */
/*
 * Helpers shared by the fuzz targets: input reading, output buffers,
 * fixed keys, and the v2 key schedule recomputed from docs/protocol.md
 * with the crypto primitives alone (not with handshake.c, whose checks
 * are what the targets exercise).
 */
#include "config.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fuzz.h"

#define HDR_LEN		sizeof(struct nd_hello_hdr)
#define LABEL_PREFIX	"nd1 "

#define SEQ8(x)		(x), (x) + 1, (x) + 2, (x) + 3, (x) + 4, (x) + 5, \
			(x) + 6, (x) + 7
#define SEQ32(x)	SEQ8(x), SEQ8((x) + 8), SEQ8((x) + 16), SEQ8((x) + 24)

const uint8_t fuzz_psk[FUZZ_NKEYS][ND_KEY_LEN] = {
	{ SEQ32(0x00) }, { SEQ32(0x40) }, { SEQ32(0x80) },
};
const uint8_t fuzz_other_psk[ND_KEY_LEN] = { SEQ32(0xc0) };
const uint8_t fuzz_client_priv[ND_KEY_LEN] = { SEQ32(0x20) };
const uint8_t fuzz_server_priv[ND_KEY_LEN] = { SEQ32(0x60) };

static const uint8_t zero32[32];

void
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant broken: %s\n", file, line, what);
	fflush(stderr);
	abort();
}

/* Reading the input. */

size_t
fuzz_bytes(struct fuzz_in *in, void *out, size_t len)
{
	size_t n = len < in->len ? len : in->len;

	if (n > 0)
		memcpy(out, in->p, n);
	memset((uint8_t *)out + n, 0, len - n);
	in->p += n;
	in->len -= n;
	return n;
}

uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t v;

	fuzz_bytes(in, &v, 1);
	return v;
}

uint16_t
fuzz_u16(struct fuzz_in *in)
{
	uint16_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return be16toh(v);
}

uint32_t
fuzz_u32(struct fuzz_in *in)
{
	uint32_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return be32toh(v);
}

uint64_t
fuzz_u64(struct fuzz_in *in)
{
	uint64_t v;

	fuzz_bytes(in, &v, sizeof(v));
	return be64toh(v);
}

/* Output buffers. */

void
fuzz_put(struct fuzz_buf *b, const void *p, size_t len)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *n;

	while (cap - b->len < len)
		cap *= 2;
	if (cap != b->cap) {
		if ((n = realloc(b->p, cap)) == NULL) {
			perror("realloc");
			abort();
		}
		b->p = n;
		b->cap = cap;
	}
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

void
fuzz_put_u8(struct fuzz_buf *b, uint8_t v)
{
	fuzz_put(b, &v, 1);
}

void
fuzz_put_u16(struct fuzz_buf *b, uint16_t v)
{
	v = htobe16(v);
	fuzz_put(b, &v, sizeof(v));
}

void
fuzz_put_u32(struct fuzz_buf *b, uint32_t v)
{
	v = htobe32(v);
	fuzz_put(b, &v, sizeof(v));
}

void
fuzz_put_u64(struct fuzz_buf *b, uint64_t v)
{
	v = htobe64(v);
	fuzz_put(b, &v, sizeof(v));
}

void
fuzz_buf_free(struct fuzz_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* The key schedule. */

void
fuzz_expand_label(void *out, size_t outlen, const uint8_t secret[ND_HASH_LEN],
    const char *label, const void *ctx, size_t ctxlen)
{
	uint8_t info[2 + 1 + 255 + 1 + 255];
	size_t plen = strlen(LABEL_PREFIX), llen = strlen(label), n = 0;

	if (plen + llen > 255 || ctxlen > 255)
		fuzz_fail(__FILE__, __LINE__, "label or context too long");
	info[n++] = outlen >> 8;
	info[n++] = outlen & 0xff;
	info[n++] = plen + llen;
	memcpy(info + n, LABEL_PREFIX, plen);
	n += plen;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = ctxlen;
	if (ctxlen > 0)
		memcpy(info + n, ctx, ctxlen);
	n += ctxlen;
	if (crypto_hkdf_expand(out, outlen, secret, info, n) == -1)
		fuzz_fail(__FILE__, __LINE__, "HKDF-Expand failed");
}

void
fuzz_traffic(struct hs_traffic *t, const uint8_t secret[ND_HASH_LEN],
    const char *label, const uint8_t th[ND_HASH_LEN])
{
	fuzz_expand_label(t->secret, ND_HASH_LEN, secret, label, th,
	    ND_HASH_LEN);
	fuzz_expand_label(t->key, ND_KEY_LEN, t->secret, "key", NULL, 0);
	fuzz_expand_label(t->iv, ND_IV_LEN, t->secret, "iv", NULL, 0);
}

static void
early_secret(uint8_t early[ND_HASH_LEN], const uint8_t psk[ND_KEY_LEN])
{
	crypto_hkdf_extract(early, zero32, sizeof(zero32), psk, ND_KEY_LEN);
}

void
fuzz_handshake_secret(uint8_t hs[ND_HASH_LEN], const uint8_t psk[ND_KEY_LEN],
    const uint8_t dh[ND_KEY_LEN])
{
	uint8_t early[ND_HASH_LEN], salt[ND_HASH_LEN];

	early_secret(early, psk);
	fuzz_expand_label(salt, sizeof(salt), early, "derived", NULL, 0);
	crypto_hkdf_extract(hs, salt, sizeof(salt), dh, ND_KEY_LEN);
}

/* Seals msg = hdr || payload(len) in place; the tag follows the payload. */
static void
seal_hello(const struct hs_traffic *t, uint8_t *msg, size_t len)
{
	struct crypto_aead *a;

	if ((a = crypto_aead_new(t->key)) == NULL ||
	    crypto_aead_seal(a, t->iv, msg, HDR_LEN, msg + HDR_LEN, len,
	    msg + HDR_LEN, msg + HDR_LEN + len) == -1)
		fuzz_fail(__FILE__, __LINE__, "AES-GCM seal failed");
	crypto_aead_free(a);
}

void
fuzz_seal_client_hello(uint8_t ch[ND_CLIENT_HELLO_LEN],
    const uint8_t psk[ND_KEY_LEN], const struct nd_hello_hdr *hdr,
    const struct nd_client_payload *pl)
{
	struct crypto_vec v = { hdr, HDR_LEN };
	struct hs_traffic t;
	uint8_t early[ND_HASH_LEN], th[ND_HASH_LEN];

	crypto_sha256v(th, &v, 1);
	early_secret(early, psk);
	fuzz_traffic(&t, early, "c hello", th);
	memcpy(ch, hdr, HDR_LEN);
	memcpy(ch + HDR_LEN, pl, sizeof(*pl));
	seal_hello(&t, ch, sizeof(*pl));
}

void
fuzz_seal_server_hello(uint8_t sh[ND_SERVER_HELLO_LEN],
    const uint8_t hs[ND_HASH_LEN], const uint8_t ch[ND_CLIENT_HELLO_LEN],
    const struct nd_hello_hdr *hdr, const struct nd_server_payload *pl)
{
	struct crypto_vec v[] = {
		{ ch, ND_CLIENT_HELLO_LEN }, { hdr, HDR_LEN },
	};
	struct hs_traffic t;
	uint8_t th[ND_HASH_LEN];

	crypto_sha256v(th, v, 2);
	fuzz_traffic(&t, hs, "s hs", th);
	memcpy(sh, hdr, HDR_LEN);
	memcpy(sh + HDR_LEN, pl, sizeof(*pl));
	seal_hello(&t, sh, sizeof(*pl));
}

void
fuzz_hello_hdr(struct nd_hello_hdr *h, uint8_t vmin, uint8_t vmax,
    uint16_t len, const uint8_t eph[ND_KEY_LEN])
{
	memset(h, 0, sizeof(*h));
	h->magic = htobe32(ND_HELLO_MAGIC);
	h->version_min = vmin;
	h->version_max = vmax;
	h->length = htobe16(len);
	if (eph != NULL)
		memcpy(h->ephemeral, eph, ND_KEY_LEN);
}

const uint8_t *
fuzz_client_pub(void)
{
	static uint8_t pub[ND_KEY_LEN];
	static int done;

	if (!done && crypto_x25519_public(pub, fuzz_client_priv) == -1)
		fuzz_fail(__FILE__, __LINE__, "X25519 public key");
	done = 1;
	return pub;
}

void
fuzz_put_sealed(struct fuzz_buf *b, uint8_t mode, uint8_t keysel,
    const struct nd_hello_hdr *h, const char *export)
{
	struct nd_client_payload pl;
	size_t i, n = strlen(export);

	memset(&pl, 0, sizeof(pl));
	for (i = 0; i < ND_CLIENT_ID_LEN; i++)
		pl.client_id[i] = (uint8_t)(0xc0 + i);
	pl.name_len = htobe16((uint16_t)n);
	memcpy(pl.name, export, n < ND_NAME_MAX ? n : ND_NAME_MAX);
	fuzz_put_u8(b, mode);
	fuzz_put_u8(b, keysel);
	fuzz_put(b, h, sizeof(*h));
	fuzz_put(b, &pl, sizeof(pl));
}
