/*
 * AES-256-GCM for x86-64 (aesgcm_x86.c), the fast path behind
 * crypto_aead_* (crypto.h) when the CPU has AES-NI and PCLMULQDQ; the
 * mbedTLS implementation in crypto_mbedtls.c is the fallback.  Two
 * levels: AES-NI with 128-bit registers, and VAES with VPCLMULQDQ on
 * 256-bit AVX2 registers (twice the blocks per instruction).
 */
#ifndef AESGCM_X86_H
#define AESGCM_X86_H

#include <stddef.h>
#include <stdint.h>

struct crypto_aead;

/*
 * Choosing the implementation (crypto_mbedtls.c).  AUTO takes the best
 * one this CPU runs; the environment variable NETDISK_AEAD=mbedtls or
 * =aesni caps that choice (for comparisons and as a way around a
 * fault).  A choice applies to the contexts crypto_aead_new makes
 * after it.
 */
enum crypto_aead_impl {
	CRYPTO_AEAD_AUTO,
	CRYPTO_AEAD_MBEDTLS,	/* "mbedtls" */
	CRYPTO_AEAD_AESNI,	/* "x86-aesni" */
	CRYPTO_AEAD_VAES,	/* "x86-vaes" */
};

/* -1 (and no change) if this CPU or build lacks the implementation. */
int crypto_aead_select(enum crypto_aead_impl);
/* The implementation of one context, as named above. */
const char *crypto_aead_impl_name(const struct crypto_aead *);

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
/* -1 on a bad tag (out is zeroed) or lengths over GCM's limits. */
int aesgcm_x86_open(const struct aesgcm_x86 *, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[16]);
#endif

#endif
