// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cryptographic primitives of protocol v2 on top of the kernel crypto
 * API: SHA-256 (lib/crypto), HMAC-SHA256 (RFC 2104 over lib/crypto's
 * SHA-256) and HKDF, AES-256-GCM (gcm(aes) AEAD).  X25519 is used directly
 * from <crypto/curve25519.h> by handshake.c.
 *
 * Reclaim safety (conn.c has the whole audit): nd_aead_alloc, which
 * attach calls once per connection, allocates the transform and its
 * request.  HMAC needs no transform at all, and a new AEAD key
 * (handshake, reconnect, KeyUpdate) goes into the transform of the
 * connection with nd_aead_setkey, inside a noio scope: the generic
 * gcm(aes) allocates in its setkey.  Encryption and decryption allocate
 * nothing of ours, but the kernel's skcipher walk (generic gcm and
 * AES-NI alike) kmallocs a bounce block, GFP_KERNEL with MAY_SLEEP,
 * where a cipher block straddles a page of the record buffer: they run
 * with PF_MEMALLOC, which takes that from the reserves, never from
 * reclaim.
 */
#include <crypto/aead.h>
#include <crypto/sha2.h>
#include <linux/err.h>
#include <linux/scatterlist.h>
#include <linux/sched/mm.h>
#include <linux/string.h>

#include "crypto.h"
#include "netdisk_proto.h"

void nd_sha256v(u8 out[ND_HASH_LEN], const struct nd_vec *v, unsigned int n)
{
	struct sha256_state st;
	unsigned int i;

	sha256_init(&st);
	for (i = 0; i < n; i++)
		sha256_update(&st, v[i].base, v[i].len);
	sha256_final(&st, out);
}

/* RFC 2104 HMAC-SHA256 of the concatenation of v[0..n). */
int nd_hmac_sha256v(u8 out[ND_HASH_LEN], const u8 *key, unsigned int keylen,
		    const struct nd_vec *v, unsigned int n)
{
	u8 pad[SHA256_BLOCK_SIZE] = { 0 };
	u8 inner[ND_HASH_LEN];
	struct sha256_state st;
	unsigned int i;

	if (keylen > SHA256_BLOCK_SIZE)
		sha256(key, keylen, pad);
	else
		memcpy(pad, key, keylen);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36;
	sha256_init(&st);
	sha256_update(&st, pad, sizeof(pad));
	for (i = 0; i < n; i++)
		sha256_update(&st, v[i].base, v[i].len);
	sha256_final(&st, inner);
	for (i = 0; i < sizeof(pad); i++)
		pad[i] ^= 0x36 ^ 0x5c;
	sha256_init(&st);
	sha256_update(&st, pad, sizeof(pad));
	sha256_update(&st, inner, sizeof(inner));
	sha256_final(&st, out);
	memzero_explicit(pad, sizeof(pad));
	memzero_explicit(inner, sizeof(inner));
	memzero_explicit(&st, sizeof(st));
	return 0;
}

/* RFC 5869 HKDF-Extract: PRK = HMAC(salt, IKM). */
int nd_hkdf_extract(u8 prk[ND_HASH_LEN], const u8 *salt, unsigned int saltlen,
		    const u8 *ikm, unsigned int ikmlen)
{
	struct nd_vec v = { ikm, ikmlen };

	return nd_hmac_sha256v(prk, salt, saltlen, &v, 1);
}

/* RFC 5869 HKDF-Expand: T(i) = HMAC(PRK, T(i-1) || info || i). */
static int hkdf_expand(u8 *out, unsigned int outlen, const u8 prk[ND_HASH_LEN],
		       const u8 *info, unsigned int infolen)
{
	u8 t[ND_HASH_LEN];
	u8 ctr = 0;
	unsigned int tlen = 0, n;
	int err = 0;

	if (outlen > 255 * ND_HASH_LEN)
		return -EINVAL;
	while (outlen) {
		struct nd_vec v[3] = { { t, tlen }, { info, infolen },
				       { &ctr, 1 } };

		ctr++;
		err = nd_hmac_sha256v(t, prk, ND_HASH_LEN, v, 3);
		if (err)
			break;
		tlen = ND_HASH_LEN;
		n = min_t(unsigned int, outlen, ND_HASH_LEN);
		memcpy(out, t, n);
		out += n;
		outlen -= n;
	}
	memzero_explicit(t, sizeof(t));
	return err;
}

/* Expand-Label(Secret, Label, Context, L), netdisk_proto.h. */
int nd_expand_label(u8 *out, unsigned int outlen, const u8 secret[ND_HASH_LEN],
		    const char *label, const u8 *ctx, unsigned int ctxlen)
{
	u8 info[ND_HKDF_LABEL_MAX];
	u32 len = nd_hkdf_label(info, outlen, label, ctx, ctxlen);
	int err;

	if (!len)
		return -EINVAL;
	err = hkdf_expand(out, outlen, secret, info, len);
	memzero_explicit(info, sizeof(info));
	return err;
}

/* The transform and its request, without a key; may sleep, GFP_KERNEL. */
int nd_aead_alloc(struct nd_aead *a)
{
	int err;

	a->req = NULL;
	a->tfm = crypto_alloc_aead("gcm(aes)", 0, 0);
	if (IS_ERR(a->tfm)) {
		err = PTR_ERR(a->tfm);
		a->tfm = NULL;
		return err;
	}
	err = crypto_aead_setauthsize(a->tfm, ND_TAG_LEN);
	if (!err) {
		a->req = aead_request_alloc(a->tfm, GFP_KERNEL);
		if (!a->req)
			err = -ENOMEM;
	}
	if (err)
		nd_aead_free(a);
	return err;
}

/* A new key for an allocated transform; no I/O to reclaim memory. */
int nd_aead_setkey(struct nd_aead *a, const u8 key[ND_KEY_LEN])
{
	unsigned int noio = memalloc_noio_save();
	int err;

	err = crypto_aead_setkey(a->tfm, key, ND_KEY_LEN);
	memalloc_noio_restore(noio);
	return err;
}

int nd_aead_init(struct nd_aead *a, const u8 key[ND_KEY_LEN])
{
	int err;

	err = nd_aead_alloc(a);
	if (!err) {
		err = nd_aead_setkey(a, key);
		if (err)
			nd_aead_free(a);
	}
	return err;
}

void nd_aead_free(struct nd_aead *a)
{
	aead_request_free(a->req);	/* kfree_sensitive */
	a->req = NULL;
	crypto_free_aead(a->tfm);	/* NULL is fine; wipes the key */
	a->tfm = NULL;
}

static int aead_crypt(struct nd_aead *a, const u8 nonce[ND_IV_LEN], u8 *buf,
		      unsigned int adlen, unsigned int textlen, bool enc)
{
	unsigned int noreclaim = memalloc_noreclaim_save();
	DECLARE_CRYPTO_WAIT(wait);
	struct scatterlist sg;
	u8 iv[ND_IV_LEN];
	int err;

	memcpy(iv, nonce, sizeof(iv));
	sg_init_one(&sg, buf, adlen + textlen + ND_TAG_LEN);
	aead_request_set_callback(a->req, CRYPTO_TFM_REQ_MAY_BACKLOG |
				  CRYPTO_TFM_REQ_MAY_SLEEP,
				  crypto_req_done, &wait);
	aead_request_set_ad(a->req, adlen);
	if (enc) {
		aead_request_set_crypt(a->req, &sg, &sg, textlen, iv);
		err = crypto_wait_req(crypto_aead_encrypt(a->req), &wait);
	} else {
		aead_request_set_crypt(a->req, &sg, &sg, textlen + ND_TAG_LEN,
				       iv);
		err = crypto_wait_req(crypto_aead_decrypt(a->req), &wait);
	}
	memzero_explicit(iv, sizeof(iv));
	memalloc_noreclaim_restore(noreclaim);
	return err;
}

/* buf = ad || text || room for the tag; text is encrypted in place. */
int nd_aead_seal(struct nd_aead *a, const u8 nonce[ND_IV_LEN], u8 *buf,
		 unsigned int adlen, unsigned int textlen)
{
	return aead_crypt(a, nonce, buf, adlen, textlen, true);
}

/* buf = ad || ciphertext || tag; -EBADMSG if it does not authenticate. */
int nd_aead_open(struct nd_aead *a, const u8 nonce[ND_IV_LEN], u8 *buf,
		 unsigned int adlen, unsigned int textlen)
{
	return aead_crypt(a, nonce, buf, adlen, textlen, false);
}
