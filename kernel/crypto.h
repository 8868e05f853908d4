/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crypto.c: the primitives of protocol v2 on the kernel crypto API:
 * SHA-256, HMAC-SHA256, HKDF and Expand-Label, AES-256-GCM.
 */
#ifndef ND_CRYPTO_H
#define ND_CRYPTO_H

#include <linux/types.h>

#include "netdisk_proto.h"

struct crypto_aead;
struct aead_request;

struct nd_vec {
	const void *base;
	size_t len;
};

void nd_sha256v(u8 out[ND_HASH_LEN], const struct nd_vec *v, unsigned int n);
int nd_hmac_sha256v(u8 out[ND_HASH_LEN], const u8 *key, unsigned int keylen,
		    const struct nd_vec *v, unsigned int n);
int nd_hkdf_extract(u8 prk[ND_HASH_LEN], const u8 *salt, unsigned int saltlen,
		    const u8 *ikm, unsigned int ikmlen);
int nd_expand_label(u8 *out, unsigned int outlen, const u8 secret[ND_HASH_LEN],
		    const char *label, const u8 *ctx, unsigned int ctxlen);

/* One AES-256-GCM key with a preallocated request. */
struct nd_aead {
	struct crypto_aead *tfm;
	struct aead_request *req;
};

int nd_aead_alloc(struct nd_aead *a);
int nd_aead_setkey(struct nd_aead *a, const u8 key[ND_KEY_LEN]);
int nd_aead_init(struct nd_aead *a, const u8 key[ND_KEY_LEN]);
void nd_aead_free(struct nd_aead *a);
/* In place on buf = ad || text [|| tag]; buf must be kmalloc'ed memory. */
int nd_aead_seal(struct nd_aead *a, const u8 nonce[ND_IV_LEN], u8 *buf,
		 unsigned int adlen, unsigned int textlen);
int nd_aead_open(struct nd_aead *a, const u8 nonce[ND_IV_LEN], u8 *buf,
		 unsigned int adlen, unsigned int textlen);

#endif /* ND_CRYPTO_H */
