/* SPDX-License-Identifier: ISC */
/*
 * AES-256-GCM on OpenSSL's libcrypto (crypto_openssl.h), which picks
 * the code for the CPU it runs on (AES-NI and PCLMULQDQ, the ARMv8
 * crypto extensions, constant-time vector code without them).  A key is
 * one EVP_CIPHER_CTX, set up once; a record only sets the nonce and the
 * direction on it, so sealing and opening allocate nothing.
 */
#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "crypto_openssl.h"

/* The most bytes one EVP update takes (its lengths are ints). */
#define UPDATE_MAX	(1 << 30)

struct evp_gcm {
	EVP_CIPHER_CTX *ctx;
};

static int
evp_init(void *state, const uint8_t key[CRYPTO_KEY_LEN])
{
	struct evp_gcm *g = state;

	if ((g->ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_EncryptInit_ex(g->ctx, EVP_aes_256_gcm(), NULL, NULL,
	    NULL) != 1 ||
	    EVP_CIPHER_CTX_ctrl(g->ctx, EVP_CTRL_GCM_SET_IVLEN, CRYPTO_IV_LEN,
	    NULL) != 1 ||
	    EVP_EncryptInit_ex(g->ctx, NULL, NULL, key, NULL) != 1) {
		EVP_CIPHER_CTX_free(g->ctx);
		return -1;
	}
	return 0;
}

/* EVP_CIPHER_CTX_free wipes the key schedule (OPENSSL_clear_free). */
static void
evp_fini(void *state)
{
	struct evp_gcm *g = state;

	EVP_CIPHER_CTX_free(g->ctx);
}

/* Feeds len bytes of AD (out == NULL) or text; 0 or -1. */
static int
evp_update(EVP_CIPHER_CTX *ctx, uint8_t *out, const uint8_t *in,
    size_t len)
{
	int n, chunk;

	while (len > 0) {
		chunk = len > UPDATE_MAX ? UPDATE_MAX : (int)len;
		if (EVP_CipherUpdate(ctx, out, &n, in, chunk) != 1 ||
		    (out != NULL && n != chunk))
			return -1;
		in += chunk;
		if (out != NULL)
			out += chunk;
		len -= chunk;
	}
	return 0;
}

static int
evp_seal(void *state, const uint8_t nonce[CRYPTO_IV_LEN], const void *ad,
    size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[CRYPTO_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = ((struct evp_gcm *)state)->ctx;
	uint8_t end[CRYPTO_TAG_LEN];	/* GCM's final step writes nothing */
	int n, ok;

	ok = EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 1) == 1 &&
	    evp_update(ctx, NULL, ad, adlen) == 0 &&
	    evp_update(ctx, out, in, len) == 0 &&
	    EVP_CipherFinal_ex(ctx, end, &n) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRYPTO_TAG_LEN,
	    tag) == 1;
	return ok ? 0 : -1;
}

/* OpenSSL compares the tag in constant time (CRYPTO_memcmp). */
static int
evp_open(void *state, const uint8_t nonce[CRYPTO_IV_LEN], const void *ad,
    size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[CRYPTO_TAG_LEN])
{
	EVP_CIPHER_CTX *ctx = ((struct evp_gcm *)state)->ctx;
	uint8_t end[CRYPTO_TAG_LEN];	/* GCM's final step writes nothing */
	int n;

	if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, 0) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRYPTO_TAG_LEN,
	    (void *)tag) != 1 ||
	    evp_update(ctx, NULL, ad, adlen) == -1 ||
	    evp_update(ctx, out, in, len) == -1 ||
	    EVP_CipherFinal_ex(ctx, end, &n) != 1) {
		OPENSSL_cleanse(out, len);
		return -1;
	}
	return 0;
}

const struct crypto_aead_ops crypto_openssl_aead = {
	.name = "openssl",
	.size = sizeof(struct evp_gcm),
	.available = NULL,
	.init = evp_init,
	.fini = evp_fini,
	.seal = evp_seal,
	.open = evp_open,
};

/*
 * X25519 on libcrypto: out = X25519(priv, u), u NULL for the base point.
 * About 30 times as fast as mbedTLS's on x86-64 (t/unit_trial: a version 3
 * hello costs the server one of them).  libcrypto refuses an all-zero
 * shared secret; the key objects wipe the private key when freed.
 */
int
crypto_openssl_x25519(uint8_t out[32], const uint8_t priv[32],
    const uint8_t *u)
{
	EVP_PKEY *sk, *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	size_t len = 32;
	int rv = -1;

	sk = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	if (sk == NULL)
		return -1;
	if (u == NULL)
		rv = EVP_PKEY_get_raw_public_key(sk, out, &len) == 1 ? 0 : -1;
	else if ((pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, u,
	    32)) != NULL && (ctx = EVP_PKEY_CTX_new(sk, NULL)) != NULL &&
	    EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_derive_set_peer(ctx, pk) == 1 &&
	    EVP_PKEY_derive(ctx, out, &len) == 1)
		rv = 0;
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	EVP_PKEY_free(sk);
	return rv == 0 && len == 32 ? 0 : -1;
}
