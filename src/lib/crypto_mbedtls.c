/* SPDX-License-Identifier: ISC */
/*
 * The mbedTLS 2.28 backend (crypto_mbedtls.h): SHA-256, HMAC and HKDF
 * for the handshake, and AES-256-GCM as an AEAD backend of
 * crypto.c.  No function keeps state between calls, so every function
 * may run in many threads at once.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "crypto_mbedtls.h"

static void
wipe(void *buf, size_t len)
{
	mbedtls_platform_zeroize(buf, len);
}

/* Hashing and key derivation. */

static const mbedtls_md_info_t *
sha256_info(void)
{
	return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
}

void
crypto_mbedtls_sha256v(uint8_t out[32], const struct crypto_vec *v, size_t n)
{
	mbedtls_sha256_context ctx;
	size_t i;
	int rv;

	mbedtls_sha256_init(&ctx);
	rv = mbedtls_sha256_starts_ret(&ctx, 0);
	for (i = 0; i < n && rv == 0; i++)
		rv = mbedtls_sha256_update_ret(&ctx, v[i].base, v[i].len);
	if (rv == 0)
		rv = mbedtls_sha256_finish_ret(&ctx, out);
	mbedtls_sha256_free(&ctx);
	if (rv != 0)
		abort();	/* only on invalid arguments */
}

void
crypto_mbedtls_hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
    const void *data, size_t len)
{
	if (mbedtls_md_hmac(sha256_info(), key, keylen, data, len, out) != 0)
		abort();
}

void
crypto_mbedtls_hkdf_extract(uint8_t prk[32], const void *salt, size_t saltlen,
    const void *ikm, size_t ikmlen)
{
	if (mbedtls_hkdf_extract(sha256_info(), salt, saltlen, ikm, ikmlen,
	    prk) != 0)
		abort();
}

int
crypto_mbedtls_hkdf_expand(void *out, size_t outlen, const uint8_t prk[32],
    const void *info, size_t infolen)
{
	if (mbedtls_hkdf_expand(sha256_info(), prk, CRYPTO_HASH_LEN, info,
	    infolen, out, outlen) != 0)
		return -1;
	return 0;
}

/* HMAC-SHA-256 with the padded key blocks hashed once. */

struct hmac_state {
	mbedtls_sha256_context inner, outer;
};

_Static_assert(sizeof(struct hmac_state) <= CRYPTO_HMAC_KEY_SIZE,
    "struct crypto_hmac_key cannot hold two SHA-256 contexts");
_Static_assert(_Alignof(struct hmac_state) <= 16,
    "struct crypto_hmac_key is not aligned for SHA-256 contexts");

/* A SHA-256 context that has hashed key ^ pad, key at most 64 bytes. */
static void
hmac_pad(mbedtls_sha256_context *c, const uint8_t *key, size_t keylen,
    uint8_t pad)
{
	uint8_t block[64];
	size_t i;

	memset(block, pad, sizeof(block));
	for (i = 0; i < keylen; i++)
		block[i] ^= key[i];
	mbedtls_sha256_init(c);
	if (mbedtls_sha256_starts_ret(c, 0) != 0 ||
	    mbedtls_sha256_update_ret(c, block, sizeof(block)) != 0)
		abort();
	wipe(block, sizeof(block));
}

void
crypto_mbedtls_hmac_key_init(struct crypto_hmac_key *k, const void *key,
    size_t keylen)
{
	struct hmac_state *h = (struct hmac_state *)k->opaque;
	struct crypto_vec v = { key, keylen };
	uint8_t hashed[32];

	if (keylen > 64) {	/* RFC 2104: a long key is hashed first */
		crypto_mbedtls_sha256v(hashed, &v, 1);
		key = hashed;
		keylen = sizeof(hashed);
	}
	hmac_pad(&h->inner, key, keylen, 0x36);
	hmac_pad(&h->outer, key, keylen, 0x5c);
	wipe(hashed, sizeof(hashed));
}

static void
hmac_with(const struct crypto_hmac_key *k, const struct crypto_vec *v,
    size_t n, uint8_t out[32])
{
	const struct hmac_state *h = (const struct hmac_state *)k->opaque;
	mbedtls_sha256_context c;
	uint8_t ih[32];
	size_t i;
	int rv = 0;

	mbedtls_sha256_init(&c);
	mbedtls_sha256_clone(&c, &h->inner);
	for (i = 0; i < n && rv == 0; i++)
		rv = mbedtls_sha256_update_ret(&c, v[i].base, v[i].len);
	if (rv == 0)
		rv = mbedtls_sha256_finish_ret(&c, ih);
	mbedtls_sha256_clone(&c, &h->outer);
	if (rv == 0)
		rv = mbedtls_sha256_update_ret(&c, ih, sizeof(ih));
	if (rv == 0)
		rv = mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
	wipe(ih, sizeof(ih));
	if (rv != 0)
		abort();	/* only on invalid arguments */
}

/* RFC 5869: T(i) = HMAC(PRK, T(i - 1) || info || i). */
int
crypto_mbedtls_hkdf_expand_key(void *out, size_t outlen,
    const struct crypto_hmac_key *prk, const void *info, size_t infolen)
{
	uint8_t t[32], ctr = 0;
	size_t done = 0, n;

	if (outlen > 255 * sizeof(t))
		return -1;
	while (done < outlen) {
		struct crypto_vec v[3] = {
			{ t, done > 0 ? sizeof(t) : 0 }, { info, infolen },
			{ &ctr, 1 },
		};

		ctr++;
		hmac_with(prk, v, 3, t);
		n = outlen - done < sizeof(t) ? outlen - done : sizeof(t);
		memcpy((uint8_t *)out + done, t, n);
		done += n;
	}
	wipe(t, sizeof(t));
	return 0;
}

/* AES-256-GCM: the AEAD backend "mbedtls". */

static int
gcm_init(void *state, const uint8_t key[CRYPTO_KEY_LEN])
{
	mbedtls_gcm_context *gcm = state;

	mbedtls_gcm_init(gcm);
	if (mbedtls_gcm_setkey(gcm, MBEDTLS_CIPHER_ID_AES, key,
	    8 * CRYPTO_KEY_LEN) != 0) {
		mbedtls_gcm_free(gcm);
		return -1;
	}
	return 0;
}

static void
gcm_fini(void *state)
{
	mbedtls_gcm_free(state);	/* zeroizes the key schedule */
}

static int
gcm_seal(void *state, const uint8_t nonce[CRYPTO_IV_LEN], const void *ad,
    size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[CRYPTO_TAG_LEN])
{
	if (mbedtls_gcm_crypt_and_tag(state, MBEDTLS_GCM_ENCRYPT, len, nonce,
	    CRYPTO_IV_LEN, ad, adlen, in, out, CRYPTO_TAG_LEN, tag) != 0)
		return -1;
	return 0;
}

/* Compares the tag in constant time and zeroes out on failure. */
static int
gcm_open(void *state, const uint8_t nonce[CRYPTO_IV_LEN], const void *ad,
    size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[CRYPTO_TAG_LEN])
{
	if (mbedtls_gcm_auth_decrypt(state, len, nonce, CRYPTO_IV_LEN, ad,
	    adlen, tag, CRYPTO_TAG_LEN, in, out) != 0)
		return -1;
	return 0;
}

const struct crypto_aead_ops crypto_mbedtls_aead = {
	.name = "mbedtls",
	.size = sizeof(mbedtls_gcm_context),
	.available = NULL,
	.init = gcm_init,
	.fini = gcm_fini,
	.seal = gcm_seal,
	.open = gcm_open,
};
