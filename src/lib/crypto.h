/*
 * The crypto interface: the only place the protocol code touches a crypto
 * library.  crypto_mbedtls.c implements it with mbedTLS; another backend
 * implements the same functions.  All functions return 0 on success and -1
 * on failure unless noted.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN	32
#define CRYPTO_IV_LEN	12
#define CRYPTO_TAG_LEN	16
#define CRYPTO_HASH_LEN	32

struct crypto_aead;		/* an AES-256-GCM key schedule */

struct crypto_vec {
	const void *base;
	size_t len;
};

int crypto_random(void *buf, size_t len);

/* X25519.  keypair draws a fresh private key; public derives from one. */
int crypto_x25519_keypair(uint8_t priv[32], uint8_t pub[32]);
int crypto_x25519_public(uint8_t pub[32], const uint8_t priv[32]);
/* Fails (-1) if the shared secret is all zero (a low-order peer key). */
int crypto_x25519(uint8_t shared[32], const uint8_t priv[32],
    const uint8_t peer[32]);

/* SHA-256 over the concatenation of n pieces. */
void crypto_sha256v(uint8_t out[32], const struct crypto_vec *v, size_t n);
void crypto_hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
    const void *data, size_t len);
/* RFC 5869 HKDF with SHA-256. */
void crypto_hkdf_extract(uint8_t prk[32], const void *salt, size_t saltlen,
    const void *ikm, size_t ikmlen);
int crypto_hkdf_expand(void *out, size_t outlen, const uint8_t prk[32],
    const void *info, size_t infolen);

/*
 * An HMAC-SHA-256 key whose two padded blocks are hashed once, for a key
 * used more than once (a PSK's early secret, expanded for every hello;
 * a traffic secret, expanded into key and iv).  It holds key material:
 * crypto_hmac_key_wipe.
 */
#define CRYPTO_HMAC_KEY_SIZE	256
struct crypto_hmac_key {
	_Alignas(16) uint8_t opaque[CRYPTO_HMAC_KEY_SIZE];
};

void crypto_hmac_key_init(struct crypto_hmac_key *, const void *key,
    size_t keylen);
void crypto_hmac_key_wipe(struct crypto_hmac_key *);
/* crypto_hkdf_expand with the PRK prepared as above. */
int crypto_hkdf_expand_key(void *out, size_t outlen,
    const struct crypto_hmac_key *prk, const void *info, size_t infolen);

/*
 * AES-256-GCM.  open fails (-1) on a bad tag and leaves out unspecified.
 * out may equal in exactly (in-place); partial overlap is not allowed.
 */
struct crypto_aead *crypto_aead_new(const uint8_t key[32]);
void crypto_aead_free(struct crypto_aead *);	/* wipes; NULL is fine */
int crypto_aead_seal(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[16]);
int crypto_aead_open(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[16]);

void crypto_wipe(void *, size_t);
/* Constant time; 1 if equal. */
int crypto_equal(const void *, const void *, size_t);
/* Constant time; 1 if all len bytes are zero. */
int crypto_is_zero(const void *, size_t);

#endif
