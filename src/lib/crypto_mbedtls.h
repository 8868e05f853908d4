/* SPDX-License-Identifier: ISC */
/*
 * The mbedTLS 2.28 backend (crypto_mbedtls.c): the handshake primitives
 * behind crypto.h (SHA-256, HMAC, HKDF), and AES-256-GCM, the
 * portable one of crypto.c's AEAD backends.  Only crypto.c calls these;
 * the rest of the tree calls crypto.h.
 */
#ifndef CRYPTO_MBEDTLS_H
#define CRYPTO_MBEDTLS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto_types.h"

/* As crypto_sha256v and the others in crypto.h. */
void crypto_mbedtls_sha256v(uint8_t out[32], const struct crypto_vec *v,
    size_t n);
void crypto_mbedtls_hmac_sha256(uint8_t out[32], const void *key,
    size_t keylen, const void *data, size_t len);
void crypto_mbedtls_hkdf_extract(uint8_t prk[32], const void *salt,
    size_t saltlen, const void *ikm, size_t ikmlen);
int crypto_mbedtls_hkdf_expand(void *out, size_t outlen,
    const uint8_t prk[32], const void *info, size_t infolen);
void crypto_mbedtls_hmac_key_init(struct crypto_hmac_key *, const void *key,
    size_t keylen);
int crypto_mbedtls_hkdf_expand_key(void *out, size_t outlen,
    const struct crypto_hmac_key *prk, const void *info, size_t infolen);

/* AES-256-GCM on mbedTLS ("mbedtls"). */
extern const struct crypto_aead_ops crypto_mbedtls_aead;

#endif
