/* SPDX-License-Identifier: ISC */
/*
 * What the crypto interface (crypto.h) and its backends (crypto_mbedtls.h,
 * crypto_openssl.h) share: the sizes, the piecewise buffer, the prepared
 * HMAC key, and the table of operations an AES-256-GCM backend provides.
 * No functions: the backends include this, never crypto.h, so that
 * crypto.c can choose among them without a circle.
 */
#ifndef CRYPTO_TYPES_H
#define CRYPTO_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_KEY_LEN	32
#define CRYPTO_IV_LEN	12
#define CRYPTO_TAG_LEN	16
#define CRYPTO_HASH_LEN	32
/* Where a split message (crypto_aead_seal_split) may change places. */
#define CRYPTO_SPLIT_ALIGN	256

struct crypto_vec {
	const void *base;
	size_t len;
};

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

/*
 * An AES-256-GCM backend.  crypto.c allocates size bytes of state
 * (64-byte aligned) per key, calls init, and wipes the state after fini.
 * init cleans up after itself when it fails.  seal and open take 12-byte
 * nonces and 16-byte tags; out may equal in exactly.  open fails (-1) on
 * a bad tag and then leaves len zero bytes in out.
 */
struct crypto_aead_ops {
	const char *name;		/* as NETDISK_AEAD names it */
	size_t size;			/* bytes of state */
	int (*available)(void);		/* 1 if this machine runs it */
	int (*init)(void *state, const uint8_t key[CRYPTO_KEY_LEN]);
	void (*fini)(void *state);
	int (*seal)(void *state, const uint8_t nonce[CRYPTO_IV_LEN],
	    const void *ad, size_t adlen, const void *in, size_t len,
	    void *out, uint8_t tag[CRYPTO_TAG_LEN]);
	int (*open)(void *state, const uint8_t nonce[CRYPTO_IV_LEN],
	    const void *ad, size_t adlen, const void *in, size_t len,
	    void *out, const uint8_t tag[CRYPTO_TAG_LEN]);
	/*
	 * Optional (crypto.c copies when NULL): a message in two places,
	 * as crypto_aead_seal_split and crypto_aead_open_split (crypto.h)
	 * take it; part is a multiple of CRYPTO_SPLIT_ALIGN, or len.
	 */
	int (*seal_split)(void *state, const uint8_t nonce[CRYPTO_IV_LEN],
	    const void *ad, size_t adlen, const void *in, size_t part,
	    void *out, size_t len, uint8_t tag[CRYPTO_TAG_LEN]);
	int (*open_split)(void *state, const uint8_t nonce[CRYPTO_IV_LEN],
	    const void *ad, size_t adlen, void *in, size_t len, void *out,
	    size_t part, const uint8_t tag[CRYPTO_TAG_LEN]);
};

#endif
