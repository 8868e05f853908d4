/* SPDX-License-Identifier: ISC */
/*
 * AES-256-GCM for x86-64 (aesgcm_x86.c), the fast path behind
 * crypto_aead_* (crypto.h) when the CPU has AES-NI and PCLMULQDQ.  Two
 * levels: AES-NI with 128-bit registers, and VAES with VPCLMULQDQ on
 * 256-bit AVX2 registers (twice the blocks per instruction).
 */
#ifndef AESGCM_X86_H
#define AESGCM_X86_H

#include <stddef.h>
#include <stdint.h>

#include "crypto_types.h"

/* AES-256-GCM at level AESNI ("x86-aesni") and VAES ("x86-vaes"). */
extern const struct crypto_aead_ops aesgcm_x86_aesni_aead;
extern const struct crypto_aead_ops aesgcm_x86_vaes_aead;

/* What this CPU runs. */
enum aesgcm_x86_level {
	AESGCM_X86_NONE,
	AESGCM_X86_AESNI,	/* AES-NI, PCLMULQDQ, SSSE3, SSE4.1 */
	AESGCM_X86_VAES,	/* and AVX2, VAES, VPCLMULQDQ, OS-enabled */
};
enum aesgcm_x86_level aesgcm_x86_supported(void);

#if defined(__x86_64__) && defined(__GNUC__)
#define AESGCM_X86	1

#include <immintrin.h>

/*
 * A key: the AES-256 round keys and the powers of the GHASH key H (see
 * aesgcm_x86.c for their form), with copies laid out for 256-bit
 * registers at level VAES.  32-byte aligned: allocate it with
 * posix_memalign or aligned_alloc.  Wipe it before freeing.
 */
struct aesgcm_x86 {
	__m128i rk[15];		/* round keys */
	__m128i h[16];		/* H^1..H^16 */
	__m128i hk[16];		/* for Karatsuba */
	__m256i rk2[15];	/* VAES: round keys in both lanes */
	__m256i h2[8];		/* VAES: H^16..H^1 in pairs */
	__m256i hk2[8];
	int level;
};

/* level <= aesgcm_x86_supported(), not NONE.  Nonces are 12 bytes. */
void aesgcm_x86_init(struct aesgcm_x86 *, const uint8_t key[32],
    enum aesgcm_x86_level level);
/* -1 if len or adlen exceed GCM's limits. */
int aesgcm_x86_seal(const struct aesgcm_x86 *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[16]);
/* crypto_aead_seal_split (crypto.h). */
int aesgcm_x86_seal_split(const struct aesgcm_x86 *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t part, void *out,
    size_t len, uint8_t tag[16]);
/* crypto_aead_open_split (crypto.h). */
int aesgcm_x86_open_split(const struct aesgcm_x86 *, const uint8_t nonce[12],
    const void *ad, size_t adlen, void *in, size_t len, void *out,
    size_t part, const uint8_t tag[16]);
/* -1 on a bad tag (out is zeroed) or lengths over GCM's limits. */
int aesgcm_x86_open(const struct aesgcm_x86 *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[16]);
#endif

#endif
