/* SPDX-License-Identifier: ISC */
/*
 * The crypto interface: the only place the protocol code touches a crypto
 * library.  crypto.c implements it: the generic parts itself, SHA-256,
 * HMAC and HKDF on mbedTLS (crypto_mbedtls.c), X25519 on OpenSSL's
 * libcrypto (crypto_openssl.c), AES-256-GCM on the
 * backend it chooses (aesgcm_x86.c, OpenSSL's libcrypto in
 * crypto_openssl.c, or mbedTLS).  All functions return 0 on success and
 * -1 on failure unless noted.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto_types.h"

struct crypto_aead;		/* an AES-256-GCM key schedule */

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

/* struct crypto_hmac_key (crypto_types.h): a prepared HMAC key. */
void crypto_hmac_key_init(struct crypto_hmac_key *, const void *key,
    size_t keylen);
void crypto_hmac_key_wipe(struct crypto_hmac_key *);
/* crypto_hkdf_expand with the PRK prepared as above. */
int crypto_hkdf_expand_key(void *out, size_t outlen,
    const struct crypto_hmac_key *prk, const void *info, size_t infolen);

/*
 * AES-256-GCM.  open fails (-1) on a bad tag and leaves out unspecified.
 * out may equal in exactly (in-place); partial overlap is not allowed.
 * A struct crypto_aead is used by one thread at a time.
 */
struct crypto_aead *crypto_aead_new(const uint8_t key[32]);
void crypto_aead_free(struct crypto_aead *);	/* wipes; NULL is fine */
int crypto_aead_seal(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[16]);
int crypto_aead_open(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[16]);

/*
 * Which backend runs AES-256-GCM.  AUTO takes the first this machine
 * runs of VAES, OpenSSL, AES-NI, mbedTLS (crypto.c says why); the
 * environment variable NETDISK_AEAD (docs/netdiskd.8: mbedtls, openssl,
 * aesni or one of the names below) chooses for the contexts made while
 * the choice is AUTO (for comparisons and as a way around a fault).
 * crypto_aead_select overrides both, for tests; it applies to the
 * contexts crypto_aead_new makes after it.
 */
/*
 * A message in two places, so that its bulk is read or written where the
 * caller has it, in the same pass as the cipher (the record layer seals
 * a record's content from the caller's buffer and opens it into the
 * caller's buffer).  part is a multiple of CRYPTO_SPLIT_ALIGN, at most
 * len.  seal_split: the plaintext is in[0, part) followed by
 * out[part, len); the ciphertext fills out[0, len).  open_split: the
 * ciphertext is in[0, len); the plaintext's first part bytes go to out,
 * the rest to in[part, len), in place.  A bad tag zeroes both places.
 */
int crypto_aead_seal_split(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t part, void *out,
    size_t len, uint8_t tag[16]);
int crypto_aead_open_split(struct crypto_aead *, const uint8_t nonce[12],
    const void *ad, size_t adlen, void *in, size_t len, void *out,
    size_t part, const uint8_t tag[16]);

enum crypto_aead_impl {
	CRYPTO_AEAD_AUTO,
	CRYPTO_AEAD_MBEDTLS,	/* "mbedtls" */
	CRYPTO_AEAD_OPENSSL,	/* "openssl" */
	CRYPTO_AEAD_AESNI,	/* "x86-aesni" */
	CRYPTO_AEAD_VAES,	/* "x86-vaes" */
	CRYPTO_AEAD_NIMPL
};

/* -1 (and no change) if this machine or build lacks the backend. */
int crypto_aead_select(enum crypto_aead_impl);
/* The backend of one context, as named above. */
const char *crypto_aead_impl_name(const struct crypto_aead *);
/* The name of a backend, NULL for AUTO or an unknown one. */
const char *crypto_aead_impl_label(enum crypto_aead_impl);
/* 1 if this machine and build run the backend. */
int crypto_aead_available(enum crypto_aead_impl);

void crypto_wipe(void *, size_t);
/* Constant time; 1 if equal. */
int crypto_equal(const void *, const void *, size_t);
/* Constant time; 1 if all len bytes are zero. */
int crypto_is_zero(const void *, size_t);

#endif
