/* SPDX-License-Identifier: ISC */
/*
 * The OpenSSL backend (crypto_openssl.c): AES-256-GCM on libcrypto's EVP
 * interface, the AEAD backend crypto.c prefers, and X25519.  Only
 * crypto.c uses it.
 */
#ifndef CRYPTO_OPENSSL_H
#define CRYPTO_OPENSSL_H

#include "crypto_types.h"

/* AES-256-GCM on OpenSSL's libcrypto ("openssl"). */
extern const struct crypto_aead_ops crypto_openssl_aead;

/* out = X25519(priv, u); u NULL: the base point.  0, or -1. */
int crypto_openssl_x25519(uint8_t out[32], const uint8_t priv[32],
    const uint8_t *u);

#endif
