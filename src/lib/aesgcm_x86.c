/* SPDX-License-Identifier: ISC */
/*
 * Why this code is kept beside OpenSSL (issue 9: "if OpenSSL is within
 * 20% end to end, use it and delete the hand-written code").  Measured
 * on 2026-12-04 on the 2-core AMD EPYC (VAES, AVX-512) build machine with
 * Debian 12's OpenSSL 3.0.22 (crypto_openssl.c, one EVP_CIPHER_CTX per
 * key): netdiskctl bench against netdiskd on 127.0.0.1, one connection,
 * 5 s runs, the two backends alternated (NETDISK_AEAD in both programs),
 * 3 runs each, medians; CPU is netdiskd's plus netdiskctl's per request.
 *
 *   workload             this code (VAES)   OpenSSL 3.0   ratio
 *   4 KiB randread qd32   196023 IOPS      170303 IOPS    0.87
 *                          7.5 us CPU        9.0 us CPU   1.20
 *   1 MiB read qd8          2725 MB/s         1879 MB/s   0.69
 *                          676 us CPU         971 us CPU   1.44
 *   1 MiB write qd8         2010 MB/s         1716 MB/s   0.85
 *                          911 us CPU        1132 us CPU   1.24
 *
 * A first series on a loaded machine gave the same order (OpenSSL 0.48x
 * the throughput and 1.50x the CPU of 1 MiB reads).  Alone (t/unit_aead
 * --bench, CPU time) OpenSSL 3.0 runs at 2.5 to 4.7 GB/s here, this code
 * at 6 to 10 GB/s with VAES and 3.3 to 5.3 GB/s with AES-NI only.  So the
 * VAES level stays and is the default where the CPU has it.  The AES-NI
 * level alone is within 20% of OpenSSL, so without VAES crypto.c prefers
 * OpenSSL; the 128-bit code stays because the VAES level uses it for key
 * setup, GHASH powers and the tails.  OpenSSL 3.0.22 does not use VAES
 * for GCM on this CPU (its speed is the same with AVX-512 and VAES
 * hidden by OPENSSL_ia32cap); measure again when Debian's OpenSSL does,
 * and if it is then within 20%, delete this file.
 *
 * AES-256-GCM (NIST SP 800-38D) with AES-NI and PCLMULQDQ, 12-byte
 * nonces only.
 *
 * CTR mode encrypts eight counter blocks at a time so the AES rounds of
 * independent blocks overlap in the pipeline.  GHASH multiplies eight
 * blocks by H^8..H^1, sums the unreduced 256-bit products and reduces
 * once per eight blocks; the multiplications run between the AES rounds
 * of the next eight blocks (when sealing) or of the same ones (when
 * opening, which hashes the ciphertext before it is overwritten).  At
 * level VAES the same step runs on 256-bit registers, two blocks per
 * register: sixteen blocks by H^16..H^1 per step.  Lengths that are not
 * a multiple of the step finish on the 128-bit code.
 *
 * Representation.  GCM reads a block as a polynomial over GF(2) whose
 * x^0 coefficient is the top bit of byte 0.  Reversing the 16 bytes
 * (PSHUFB) turns it into a 128-bit integer whose bit i is the
 * coefficient of x^(127 - i): the polynomial "reflected".  For reflected
 * a' and b', the 255-bit carry-less product is the 256-bit reflection of
 * a*b*x (one bit off).  The key keeps H^i * x^-1 instead of H^i, so that
 * x cancels and a product needs no shift.  The reduction modulo
 * P = x^128 + x^7 + x^2 + x + 1 folds the 64-bit word of the highest
 * degrees twice: x^128 = 1 + x + x^2 + x^7 (mod P), where the 1 is a
 * plain XOR and x + x^2 + x^7 is a carry-less multiplication by
 * 0xc2 << 56, which is 1 + x + x^6 reflected (times the x of the product).
 */
#include "config.h"

#include <string.h>

#include "aesgcm_x86.h"

#ifndef AESGCM_X86

enum aesgcm_x86_level
aesgcm_x86_supported(void)
{
	return AESGCM_X86_NONE;
}

static int
unavailable(void)
{
	return 0;
}

const struct crypto_aead_ops aesgcm_x86_aesni_aead = {
	.name = "x86-aesni", .available = unavailable,
};
const struct crypto_aead_ops aesgcm_x86_vaes_aead = {
	.name = "x86-vaes", .available = unavailable,
};

#else

#include <cpuid.h>
#include <immintrin.h>

#include <openssl/crypto.h>

#define TARGET	__attribute__((target("aes,pclmul,ssse3,sse4.1")))
#define INLINE	static inline __attribute__((always_inline)) TARGET
#define TARGET2	__attribute__((target("aes,pclmul,avx2,vaes,vpclmulqdq")))
#define INLINE2	static inline __attribute__((always_inline)) TARGET2

/* GCM's limits: 2^32 - 2 blocks of text, 2^64 - 1 bits of AD. */
#define GCM_MAX_LEN	((((uint64_t)1 << 32) - 2) * 16)
#define GCM_MAX_ADLEN	((((uint64_t)1 << 61) - 1))

#define BLOCKS	8		/* blocks per 128-bit step */
#define STEP	(16 * BLOCKS)
#define STEP2	(2 * STEP)	/* bytes per 256-bit step */

/* CPU features. */

static uint64_t
xgetbv0(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (uint64_t)hi << 32 | lo;
}

static enum aesgcm_x86_level
cpu_level(void)
{
	unsigned int a, b, c, d;

	if (__get_cpuid(1, &a, &b, &c, &d) == 0 || !(c & bit_AES) ||
	    !(c & bit_PCLMUL) || !(c & bit_SSSE3) || !(c & bit_SSE4_1))
		return AESGCM_X86_NONE;
	/* AVX needs the OS to save the YMM state (XCR0 bits 1 and 2). */
	if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || (xgetbv0() & 6) != 6 ||
	    __get_cpuid_count(7, 0, &a, &b, &c, &d) == 0 ||
	    !(b & bit_AVX2) || !(c & bit_VAES) || !(c & bit_VPCLMULQDQ))
		return AESGCM_X86_AESNI;
	return AESGCM_X86_VAES;
}

/* CPUID once (it traps to the hypervisor in a VM); threads may race. */
enum aesgcm_x86_level
aesgcm_x86_supported(void)
{
	static int known = -1;
	int v;

	if ((v = __atomic_load_n(&known, __ATOMIC_RELAXED)) == -1) {
		v = cpu_level();
		__atomic_store_n(&known, v, __ATOMIC_RELAXED);
	}
	return v;
}

/* 128-bit helpers. */

INLINE __m128i
load(const uint8_t *p)
{
	return _mm_loadu_si128((const __m128i *)p);
}

INLINE void
store(uint8_t *p, __m128i x)
{
	_mm_storeu_si128((__m128i *)p, x);
}

INLINE __m128i
bswap_mask(void)
{
	return _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	    15);
}

INLINE __m128i
bswap(__m128i x)
{
	return _mm_shuffle_epi8(x, bswap_mask());
}

/* The two 64-bit halves exchanged. */
INLINE __m128i
swap64(__m128i x)
{
	return _mm_shuffle_epi32(x, 0x4e);
}

/* AES-256. */

/* Round key 2i from 2i-2 and the assist of 2i-1 (RotWord, SubWord, Rcon). */
INLINE __m128i
expand_even(__m128i prev, __m128i assist)
{
	prev ^= _mm_slli_si128(prev, 4);
	prev ^= _mm_slli_si128(prev, 8);
	return prev ^ _mm_shuffle_epi32(assist, 0xff);
}

/* Round key 2i+1 from 2i-1 and the assist of 2i (SubWord only). */
INLINE __m128i
expand_odd(__m128i prev, __m128i assist)
{
	prev ^= _mm_slli_si128(prev, 4);
	prev ^= _mm_slli_si128(prev, 8);
	return prev ^ _mm_shuffle_epi32(assist, 0xaa);
}

#define ASSIST(x, rcon)	_mm_aeskeygenassist_si128((x), (rcon))

/* FIPS 197 key expansion for Nk = 8, Nr = 14. */
TARGET static void
aes256_expand(__m128i rk[15], const uint8_t key[32])
{
	rk[0] = load(key);
	rk[1] = load(key + 16);
	rk[2] = expand_even(rk[0], ASSIST(rk[1], 0x01));
	rk[3] = expand_odd(rk[1], ASSIST(rk[2], 0));
	rk[4] = expand_even(rk[2], ASSIST(rk[3], 0x02));
	rk[5] = expand_odd(rk[3], ASSIST(rk[4], 0));
	rk[6] = expand_even(rk[4], ASSIST(rk[5], 0x04));
	rk[7] = expand_odd(rk[5], ASSIST(rk[6], 0));
	rk[8] = expand_even(rk[6], ASSIST(rk[7], 0x08));
	rk[9] = expand_odd(rk[7], ASSIST(rk[8], 0));
	rk[10] = expand_even(rk[8], ASSIST(rk[9], 0x10));
	rk[11] = expand_odd(rk[9], ASSIST(rk[10], 0));
	rk[12] = expand_even(rk[10], ASSIST(rk[11], 0x20));
	rk[13] = expand_odd(rk[11], ASSIST(rk[12], 0));
	rk[14] = expand_even(rk[12], ASSIST(rk[13], 0x40));
}

INLINE __m128i
aes_block(const struct aesgcm_x86 *k, __m128i b)
{
	int r;

	b ^= k->rk[0];
	for (r = 1; r < 14; r++)
		b = _mm_aesenc_si128(b, k->rk[r]);
	return _mm_aesenclast_si128(b, k->rk[14]);
}

/* GHASH. */

/* A sum of unreduced products: low, high and Karatsuba middle parts. */
struct gsum {
	__m128i lo, hi, mid;
};

INLINE void
gsum_init(struct gsum *s)
{
	s->lo = s->hi = s->mid = _mm_setzero_si128();
}

/* s += d * h; hk holds the XOR of h's halves. */
INLINE void
gsum_add(struct gsum *s, __m128i d, __m128i h, __m128i hk)
{
	s->lo ^= _mm_clmulepi64_si128(d, h, 0x00);
	s->hi ^= _mm_clmulepi64_si128(d, h, 0x11);
	s->mid ^= _mm_clmulepi64_si128(d ^ swap64(d), hk, 0x00);
}

/* The sum modulo P (see the top of the file). */
INLINE __m128i
gsum_reduce(const struct gsum *s)
{
	const __m128i poly = _mm_set_epi64x(0,
	    (long long)0xc200000000000000ULL);
	__m128i mid, lo, hi;

	mid = s->mid ^ s->lo ^ s->hi;
	lo = s->lo ^ _mm_slli_si128(mid, 8);
	hi = s->hi ^ _mm_srli_si128(mid, 8);
	lo = swap64(lo) ^ _mm_clmulepi64_si128(lo, poly, 0x00);
	lo = swap64(lo) ^ _mm_clmulepi64_si128(lo, poly, 0x00);
	return hi ^ lo;
}

/* a * b * x (reflected); with b = H^i * x^-1 that is a * H^i. */
INLINE __m128i
gmul(__m128i a, __m128i b)
{
	struct gsum s;

	gsum_init(&s);
	gsum_add(&s, a, b, b ^ swap64(b));
	return gsum_reduce(&s);
}

/* k->h[i] = H^(i+1) * x^-1, reflected, from H = E(K, 0^128). */
TARGET static void
ghash_init(struct aesgcm_x86 *k, __m128i h)
{
	const __m128i pdivx = _mm_set_epi64x((long long)0xc200000000000000ULL,
	    1);
	__m128i carry;
	int i;

	/* Reflected, times x^-1 is a left shift; the x^0 bit wraps as P/x. */
	h = bswap(h);
	carry = _mm_srai_epi32(_mm_shuffle_epi32(h, 0xff), 31);
	h = _mm_slli_epi64(h, 1) | _mm_slli_si128(_mm_srli_epi64(h, 63), 8);
	k->h[0] = h ^ (carry & pdivx);
	for (i = 1; i < 2 * BLOCKS; i++)
		k->h[i] = gmul(k->h[i - 1], k->h[0]);
	for (i = 0; i < 2 * BLOCKS; i++)
		k->hk[i] = k->h[i] ^ swap64(k->h[i]);
}

/* x absorbs n (1..16) blocks at p: (x + p0) H^n + p1 H^(n-1) + ... */
INLINE __m128i
ghash_blocks(const struct aesgcm_x86 *k, __m128i x, const uint8_t *p,
    size_t n)
{
	struct gsum s;
	size_t i;

	gsum_init(&s);
	x ^= bswap(load(p));
	gsum_add(&s, x, k->h[n - 1], k->hk[n - 1]);
	for (i = 1; i < n; i++)
		gsum_add(&s, bswap(load(p + 16 * i)), k->h[n - 1 - i],
		    k->hk[n - 1 - i]);
	return gsum_reduce(&s);
}

/* x absorbs len bytes, the last block padded with zeros. */
TARGET static __m128i
ghash(const struct aesgcm_x86 *k, __m128i x, const uint8_t *p, size_t len)
{
	uint8_t buf[STEP];

	for (; len >= STEP; p += STEP, len -= STEP)
		x = ghash_blocks(k, x, p, BLOCKS);
	if (len > 0) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, p, len);
		x = ghash_blocks(k, x, buf, (len + 15) / 16);
	}
	return x;
}

/* CTR on 128-bit registers. */

/*
 * out = in XOR E(K, eight counter blocks from *ctr), which moves on by
 * eight.  ctr is byte-reversed, so the 32-bit counter is its low lane.
 * With g != NULL, *x absorbs the eight blocks at g meanwhile; g may be
 * in, as all its loads precede the stores to out.
 */
INLINE void
ctr_step(const struct aesgcm_x86 *k, __m128i *ctr, const uint8_t *in,
    uint8_t *out, const uint8_t *g, __m128i *x)
{
	const __m128i one = _mm_set_epi32(0, 0, 0, 1);
	__m128i b[BLOCKS], c = *ctr, d;
	struct gsum s;
	int i, r;

#pragma GCC unroll 8
	for (i = 0; i < BLOCKS; i++) {
		b[i] = bswap(c) ^ k->rk[0];
		c = _mm_add_epi32(c, one);
	}
	*ctr = c;
	gsum_init(&s);
#pragma GCC unroll 13
	for (r = 1; r < 14; r++) {
#pragma GCC unroll 8
		for (i = 0; i < BLOCKS; i++)
			b[i] = _mm_aesenc_si128(b[i], k->rk[r]);
		if (g != NULL && r <= BLOCKS) {
			d = bswap(load(g + 16 * (r - 1)));
			if (r == 1)
				d ^= *x;
			gsum_add(&s, d, k->h[BLOCKS - r], k->hk[BLOCKS - r]);
		}
	}
#pragma GCC unroll 8
	for (i = 0; i < BLOCKS; i++) {
		b[i] = _mm_aesenclast_si128(b[i], k->rk[14]);
		store(out + 16 * i, load(in + 16 * i) ^ b[i]);
	}
	if (g != NULL)
		*x = gsum_reduce(&s);
}

/* The last len (< 128) bytes. */
TARGET static void
ctr_tail(const struct aesgcm_x86 *k, __m128i *ctr, const uint8_t *in,
    uint8_t *out, size_t len)
{
	uint8_t buf[STEP];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, in, len);
	ctr_step(k, ctr, buf, buf, NULL, NULL);
	memcpy(out, buf, len);
	OPENSSL_cleanse(buf, sizeof(buf));
}

/* Encrypts and hashes the ciphertext, the hashing a step behind. */
TARGET static __m128i
seal_text(const struct aesgcm_x86 *k, __m128i *ctr, __m128i x,
    const uint8_t *in, uint8_t *out, size_t len)
{
	size_t i, n = len / STEP;

	if (n > 0) {
		ctr_step(k, ctr, in, out, NULL, NULL);
		for (i = 1; i < n; i++)
			ctr_step(k, ctr, in + i * STEP, out + i * STEP,
			    out + (i - 1) * STEP, &x);
		x = ghash_blocks(k, x, out + (n - 1) * STEP, BLOCKS);
	}
	if (len % STEP != 0) {
		ctr_tail(k, ctr, in + n * STEP, out + n * STEP, len % STEP);
		x = ghash(k, x, out + n * STEP, len % STEP);
	}
	return x;
}

/* Hashes the ciphertext and decrypts it, a step at a time. */
TARGET static __m128i
open_text(const struct aesgcm_x86 *k, __m128i *ctr, __m128i x,
    const uint8_t *in, uint8_t *out, size_t len)
{
	size_t i, n = len / STEP;

	for (i = 0; i < n; i++)
		ctr_step(k, ctr, in + i * STEP, out + i * STEP,
		    in + i * STEP, &x);
	if (len % STEP != 0) {
		x = ghash(k, x, in + n * STEP, len % STEP);
		ctr_tail(k, ctr, in + n * STEP, out + n * STEP, len % STEP);
	}
	return x;
}

/*
 * CTR and GHASH on 256-bit registers (level VAES): lane 0 of register i
 * holds block 2i, lane 1 block 2i+1.
 */

INLINE2 __m256i
load2(const uint8_t *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

INLINE2 void
store2(uint8_t *p, __m256i x)
{
	_mm256_storeu_si256((__m256i *)p, x);
}

INLINE2 __m256i
bswap2(__m256i x)
{
	return _mm256_shuffle_epi8(x,
	    _mm256_broadcastsi128_si256(bswap_mask()));
}

struct gsum2 {
	__m256i lo, hi, mid;
};

INLINE2 void
gsum2_add(struct gsum2 *s, __m256i d, __m256i h, __m256i hk)
{
	s->lo ^= _mm256_clmulepi64_epi128(d, h, 0x00);
	s->hi ^= _mm256_clmulepi64_epi128(d, h, 0x11);
	s->mid ^= _mm256_clmulepi64_epi128(d ^ _mm256_shuffle_epi32(d, 0x4e),
	    hk, 0x00);
}

INLINE2 __m128i
fold_lanes(__m256i x)
{
	return _mm256_castsi256_si128(x) ^ _mm256_extracti128_si256(x, 1);
}

/* The two lanes' sums added and reduced. */
INLINE2 __m128i
gsum2_reduce(const struct gsum2 *s)
{
	struct gsum t;

	t.lo = fold_lanes(s->lo);
	t.hi = fold_lanes(s->hi);
	t.mid = fold_lanes(s->mid);
	return gsum_reduce(&t);
}

/* The 256-bit copies of the round keys and of H^16..H^1. */
TARGET2 static void
vaes_init(struct aesgcm_x86 *k)
{
	int i;

	for (i = 0; i < 15; i++)
		k->rk2[i] = _mm256_broadcastsi128_si256(k->rk[i]);
	for (i = 0; i < BLOCKS; i++) {
		k->h2[i] = _mm256_set_m128i(k->h[14 - 2 * i],
		    k->h[15 - 2 * i]);
		k->hk2[i] = _mm256_set_m128i(k->hk[14 - 2 * i],
		    k->hk[15 - 2 * i]);
	}
}

/* ctr_step for sixteen blocks (STEP2 bytes). */
INLINE2 void
ctr_step2(const struct aesgcm_x86 *k, __m128i *ctr, const uint8_t *in,
    uint8_t *out, const uint8_t *g, __m128i *x)
{
	const __m256i two = _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 2);
	__m256i b[BLOCKS], c, d;
	struct gsum2 s;
	int i, r;

	c = _mm256_add_epi32(_mm256_broadcastsi128_si256(*ctr),
	    _mm256_set_epi32(0, 0, 0, 1, 0, 0, 0, 0));
#pragma GCC unroll 8
	for (i = 0; i < BLOCKS; i++) {
		b[i] = bswap2(c) ^ k->rk2[0];
		c = _mm256_add_epi32(c, two);
	}
	*ctr = _mm256_castsi256_si128(c);
	s.lo = s.hi = s.mid = _mm256_setzero_si256();
#pragma GCC unroll 13
	for (r = 1; r < 14; r++) {
#pragma GCC unroll 8
		for (i = 0; i < BLOCKS; i++)
			b[i] = _mm256_aesenc_epi128(b[i], k->rk2[r]);
		if (g != NULL && r <= BLOCKS) {
			d = bswap2(load2(g + 32 * (r - 1)));
			if (r == 1)
				d ^= _mm256_zextsi128_si256(*x);
			gsum2_add(&s, d, k->h2[r - 1], k->hk2[r - 1]);
		}
	}
#pragma GCC unroll 8
	for (i = 0; i < BLOCKS; i++) {
		b[i] = _mm256_aesenclast_epi128(b[i], k->rk2[14]);
		store2(out + 32 * i, load2(in + 32 * i) ^ b[i]);
	}
	if (g != NULL)
		*x = gsum2_reduce(&s);
}

/* seal_text with 256-bit steps while len allows, len >= STEP2. */
TARGET2 static __m128i
seal_text2(const struct aesgcm_x86 *k, __m128i *ctr, __m128i x,
    const uint8_t *in, uint8_t *out, size_t len)
{
	size_t i, n = len / STEP2;

	ctr_step2(k, ctr, in, out, NULL, NULL);
	for (i = 1; i < n; i++)
		ctr_step2(k, ctr, in + i * STEP2, out + i * STEP2,
		    out + (i - 1) * STEP2, &x);
	x = ghash_blocks(k, x, out + (n - 1) * STEP2, 2 * BLOCKS);
	return seal_text(k, ctr, x, in + n * STEP2, out + n * STEP2,
	    len % STEP2);
}

/* open_text with 256-bit steps while len allows, len >= STEP2. */
TARGET2 static __m128i
open_text2(const struct aesgcm_x86 *k, __m128i *ctr, __m128i x,
    const uint8_t *in, uint8_t *out, size_t len)
{
	size_t i, n = len / STEP2;

	for (i = 0; i < n; i++)
		ctr_step2(k, ctr, in + i * STEP2, out + i * STEP2,
		    in + i * STEP2, &x);
	return open_text(k, ctr, x, in + n * STEP2, out + n * STEP2,
	    len % STEP2);
}

/* GCM. */

TARGET void
aesgcm_x86_init(struct aesgcm_x86 *k, const uint8_t key[32],
    enum aesgcm_x86_level level)
{
	aes256_expand(k->rk, key);
	ghash_init(k, aes_block(k, _mm_setzero_si128()));
	k->level = level;
	if (level == AESGCM_X86_VAES)
		vaes_init(k);
}

/* J0 = nonce || 0x00000001. */
TARGET static __m128i
first_counter(const uint8_t nonce[12])
{
	uint8_t j0[16] = { 0 };

	memcpy(j0, nonce, 12);
	j0[15] = 1;
	return load(j0);
}

/* The tag: GHASH closed with the bit lengths, XOR E(K, J0). */
TARGET static void
make_tag(const struct aesgcm_x86 *k, __m128i x, __m128i j0, size_t adlen,
    size_t len, uint8_t tag[16])
{
	__m128i lens = _mm_set_epi64x((long long)((uint64_t)adlen * 8),
	    (long long)((uint64_t)len * 8));

	x = gmul(x ^ lens, k->h[0]);
	store(tag, bswap(x) ^ aes_block(k, j0));
}

static int
too_long(size_t adlen, size_t len)
{
	return (uint64_t)len > GCM_MAX_LEN || (uint64_t)adlen > GCM_MAX_ADLEN;
}

/* Encrypts len bytes, continuing at *ctr: the hash x continued. */
TARGET static __m128i
seal_any(const struct aesgcm_x86 *k, __m128i *ctr, __m128i x,
    const uint8_t *in, uint8_t *out, size_t len)
{
	if (k->level == AESGCM_X86_VAES && len >= STEP2)
		return seal_text2(k, ctr, x, in, out, len);
	return seal_text(k, ctr, x, in, out, len);
}

TARGET static __m128i
open_any(const struct aesgcm_x86 *k, __m128i *ctr, __m128i x,
    const uint8_t *in, uint8_t *out, size_t len)
{
	if (k->level == AESGCM_X86_VAES && len >= STEP2)
		return open_text2(k, ctr, x, in, out, len);
	return open_text(k, ctr, x, in, out, len);
}

/*
 * A split message goes on where the first part ends: part is a multiple
 * of both steps (or all of it), so the counter and the hash carry over.
 */
TARGET int
aesgcm_x86_seal_split(const struct aesgcm_x86 *k, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t part, void *out,
    size_t len, uint8_t tag[16])
{
	const __m128i one = _mm_set_epi32(0, 0, 0, 1);
	uint8_t *o = out;
	__m128i j0, ctr, x;

	_Static_assert(CRYPTO_SPLIT_ALIGN % STEP2 == 0 &&
	    CRYPTO_SPLIT_ALIGN % STEP == 0, "a split falls between steps");
	if (too_long(adlen, len) || part > len)
		return -1;
	j0 = first_counter(nonce);
	ctr = _mm_add_epi32(bswap(j0), one);
	x = ghash(k, _mm_setzero_si128(), ad, adlen);
	x = seal_any(k, &ctr, x, in, o, part);
	x = seal_any(k, &ctr, x, o + part, o + part, len - part);
	make_tag(k, x, j0, adlen, len, tag);
	return 0;
}

TARGET int
aesgcm_x86_seal(const struct aesgcm_x86 *k, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[16])
{
	return aesgcm_x86_seal_split(k, nonce, ad, adlen, in, len, out, len,
	    tag);
}

TARGET int
aesgcm_x86_open_split(const struct aesgcm_x86 *k, const uint8_t nonce[12],
    const void *ad, size_t adlen, void *in, size_t len, void *out,
    size_t part, const uint8_t tag[16])
{
	const __m128i one = _mm_set_epi32(0, 0, 0, 1);
	uint8_t want[16], *i = in;
	__m128i j0, ctr, x;
	int good;

	if (too_long(adlen, len) || part > len)
		return -1;
	j0 = first_counter(nonce);
	ctr = _mm_add_epi32(bswap(j0), one);
	x = ghash(k, _mm_setzero_si128(), ad, adlen);
	x = open_any(k, &ctr, x, i, out, part);
	x = open_any(k, &ctr, x, i + part, i + part, len - part);
	make_tag(k, x, j0, adlen, len, want);
	good = CRYPTO_memcmp(want, tag, sizeof(want)) == 0;
	OPENSSL_cleanse(want, sizeof(want));
	if (!good) {
		OPENSSL_cleanse(out, part);
		OPENSSL_cleanse(i + part, len - part);
		return -1;
	}
	return 0;
}

/* All of it out of place: nothing is written to in. */
TARGET int
aesgcm_x86_open(const struct aesgcm_x86 *k, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[16])
{
	return aesgcm_x86_open_split(k, nonce, ad, adlen, (void *)(uintptr_t)in,
	    len, out, len, tag);
}

/* The AEAD backends. */

static int
aesni_available(void)
{
	return aesgcm_x86_supported() >= AESGCM_X86_AESNI;
}

static int
vaes_available(void)
{
	return aesgcm_x86_supported() >= AESGCM_X86_VAES;
}

static int
aesni_init(void *state, const uint8_t key[CRYPTO_KEY_LEN])
{
	aesgcm_x86_init(state, key, AESGCM_X86_AESNI);
	return 0;
}

static int
vaes_key_init(void *state, const uint8_t key[CRYPTO_KEY_LEN])
{
	aesgcm_x86_init(state, key, AESGCM_X86_VAES);
	return 0;
}

static void
x86_fini(void *state)
{
	(void)state;	/* crypto.c wipes the state */
}

static int
x86_seal(void *state, const uint8_t nonce[CRYPTO_IV_LEN], const void *ad,
    size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[CRYPTO_TAG_LEN])
{
	return aesgcm_x86_seal(state, nonce, ad, adlen, in, len, out, tag);
}

static int
x86_seal_split(void *state, const uint8_t nonce[CRYPTO_IV_LEN],
    const void *ad, size_t adlen, const void *in, size_t part, void *out,
    size_t len, uint8_t tag[CRYPTO_TAG_LEN])
{
	return aesgcm_x86_seal_split(state, nonce, ad, adlen, in, part, out,
	    len, tag);
}

static int
x86_open_split(void *state, const uint8_t nonce[CRYPTO_IV_LEN],
    const void *ad, size_t adlen, void *in, size_t len, void *out,
    size_t part, const uint8_t tag[CRYPTO_TAG_LEN])
{
	return aesgcm_x86_open_split(state, nonce, ad, adlen, in, len, out,
	    part, tag);
}

static int
x86_open(void *state, const uint8_t nonce[CRYPTO_IV_LEN], const void *ad,
    size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[CRYPTO_TAG_LEN])
{
	return aesgcm_x86_open(state, nonce, ad, adlen, in, len, out, tag);
}

const struct crypto_aead_ops aesgcm_x86_aesni_aead = {
	.name = "x86-aesni", .size = sizeof(struct aesgcm_x86),
	.available = aesni_available, .init = aesni_init, .fini = x86_fini,
	.seal = x86_seal, .open = x86_open,
	.seal_split = x86_seal_split, .open_split = x86_open_split,
};
const struct crypto_aead_ops aesgcm_x86_vaes_aead = {
	.name = "x86-vaes", .size = sizeof(struct aesgcm_x86),
	.available = vaes_available, .init = vaes_key_init, .fini = x86_fini,
	.seal = x86_seal, .open = x86_open,
	.seal_split = x86_seal_split, .open_split = x86_open_split,
};

#endif
