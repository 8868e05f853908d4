/* SPDX-License-Identifier: ISC */
/*
 * The OpenSSL backend (crypto_openssl.c): AES-256-GCM on libcrypto's EVP
 * interface, the AEAD backend crypto.c prefers.  Only crypto.c uses it.
 */
#ifndef CRYPTO_OPENSSL_H
#define CRYPTO_OPENSSL_H

#include "crypto_types.h"

/* AES-256-GCM on OpenSSL's libcrypto ("openssl"). */
extern const struct crypto_aead_ops crypto_openssl_aead;

#endif
