/*
 * The crypto interface (crypto.h) on mbedTLS 2.28: SHA-256, HMAC, HKDF,
 * AES-256-GCM and X25519.  AES-256-GCM runs on AES-NI and PCLMULQDQ
 * (aesgcm_x86.c) when the CPU has them, else on mbedTLS (crypto_aead_select
 * and NETDISK_AEAD choose for tests and comparisons).  No function
 * keeps state between calls, so every function may run in many threads
 * at once; a struct crypto_aead is used by one thread at a time.
 */
#include "config.h"

#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/gcm.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>

#include "aesgcm_x86.h"
#include "crypto.h"

/* Aligned for the key schedule in vector registers. */
#define AEAD_ALIGN	64

struct crypto_aead {
	enum crypto_aead_impl impl;	/* not AUTO */
	union {
		mbedtls_gcm_context gcm;
#ifdef AESGCM_X86
		struct aesgcm_x86 x86;
#endif
	} u;
};

/* crypto_aead_select's choice; read and written atomically. */
static int aead_choice = CRYPTO_AEAD_AUTO;

int
crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = getrandom(p, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

void
crypto_wipe(void *buf, size_t len)
{
	mbedtls_platform_zeroize(buf, len);
}

int
crypto_equal(const void *a, const void *b, size_t len)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t diff = 0;
	size_t i;

	for (i = 0; i < len; i++)
		diff |= x[i] ^ y[i];
	return 1 & (((unsigned int)diff - 1) >> 8);
}

/* Hashing and key derivation. */

static const mbedtls_md_info_t *
sha256_info(void)
{
	return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
}

void
crypto_sha256v(uint8_t out[32], const struct crypto_vec *v, size_t n)
{
	mbedtls_sha256_context ctx;
	size_t i;
	int rv;

	mbedtls_sha256_init(&ctx);
	rv = mbedtls_sha256_starts_ret(&ctx, 0);
	for (i = 0; i < n && rv == 0; i++)
		rv = mbedtls_sha256_update_ret(&ctx, v[i].base, v[i].len);
	if (rv == 0)
		rv = mbedtls_sha256_finish_ret(&ctx, out);
	mbedtls_sha256_free(&ctx);
	if (rv != 0)
		abort();	/* only on invalid arguments */
}

void
crypto_hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
    const void *data, size_t len)
{
	if (mbedtls_md_hmac(sha256_info(), key, keylen, data, len, out) != 0)
		abort();
}

void
crypto_hkdf_extract(uint8_t prk[32], const void *salt, size_t saltlen,
    const void *ikm, size_t ikmlen)
{
	if (mbedtls_hkdf_extract(sha256_info(), salt, saltlen, ikm, ikmlen,
	    prk) != 0)
		abort();
}

int
crypto_hkdf_expand(void *out, size_t outlen, const uint8_t prk[32],
    const void *info, size_t infolen)
{
	if (mbedtls_hkdf_expand(sha256_info(), prk, CRYPTO_HASH_LEN, info,
	    infolen, out, outlen) != 0)
		return -1;
	return 0;
}

/* HMAC-SHA-256 with the padded key blocks hashed once. */

struct hmac_state {
	mbedtls_sha256_context inner, outer;
};

_Static_assert(sizeof(struct hmac_state) <= CRYPTO_HMAC_KEY_SIZE,
    "struct crypto_hmac_key cannot hold two SHA-256 contexts");
_Static_assert(_Alignof(struct hmac_state) <= 16,
    "struct crypto_hmac_key is not aligned for SHA-256 contexts");

/* A SHA-256 context that has hashed key ^ pad, key at most 64 bytes. */
static void
hmac_pad(mbedtls_sha256_context *c, const uint8_t *key, size_t keylen,
    uint8_t pad)
{
	uint8_t block[64];
	size_t i;

	memset(block, pad, sizeof(block));
	for (i = 0; i < keylen; i++)
		block[i] ^= key[i];
	mbedtls_sha256_init(c);
	if (mbedtls_sha256_starts_ret(c, 0) != 0 ||
	    mbedtls_sha256_update_ret(c, block, sizeof(block)) != 0)
		abort();
	crypto_wipe(block, sizeof(block));
}

void
crypto_hmac_key_init(struct crypto_hmac_key *k, const void *key,
    size_t keylen)
{
	struct hmac_state *h = (struct hmac_state *)k->opaque;
	struct crypto_vec v = { key, keylen };
	uint8_t hashed[32];

	if (keylen > 64) {	/* RFC 2104: a long key is hashed first */
		crypto_sha256v(hashed, &v, 1);
		key = hashed;
		keylen = sizeof(hashed);
	}
	hmac_pad(&h->inner, key, keylen, 0x36);
	hmac_pad(&h->outer, key, keylen, 0x5c);
	crypto_wipe(hashed, sizeof(hashed));
}

void
crypto_hmac_key_wipe(struct crypto_hmac_key *k)
{
	crypto_wipe(k, sizeof(*k));
}

static void
hmac_with(const struct crypto_hmac_key *k, const struct crypto_vec *v,
    size_t n, uint8_t out[32])
{
	const struct hmac_state *h = (const struct hmac_state *)k->opaque;
	mbedtls_sha256_context c;
	uint8_t ih[32];
	size_t i;
	int rv = 0;

	mbedtls_sha256_init(&c);
	mbedtls_sha256_clone(&c, &h->inner);
	for (i = 0; i < n && rv == 0; i++)
		rv = mbedtls_sha256_update_ret(&c, v[i].base, v[i].len);
	if (rv == 0)
		rv = mbedtls_sha256_finish_ret(&c, ih);
	mbedtls_sha256_clone(&c, &h->outer);
	if (rv == 0)
		rv = mbedtls_sha256_update_ret(&c, ih, sizeof(ih));
	if (rv == 0)
		rv = mbedtls_sha256_finish_ret(&c, out);
	mbedtls_sha256_free(&c);
	crypto_wipe(ih, sizeof(ih));
	if (rv != 0)
		abort();	/* only on invalid arguments */
}

/* RFC 5869: T(i) = HMAC(PRK, T(i - 1) || info || i). */
int
crypto_hkdf_expand_key(void *out, size_t outlen,
    const struct crypto_hmac_key *prk, const void *info, size_t infolen)
{
	uint8_t t[32], ctr = 0;
	size_t done = 0, n;

	if (outlen > 255 * sizeof(t))
		return -1;
	while (done < outlen) {
		struct crypto_vec v[3] = {
			{ t, done > 0 ? sizeof(t) : 0 }, { info, infolen },
			{ &ctr, 1 },
		};

		ctr++;
		hmac_with(prk, v, 3, t);
		n = outlen - done < sizeof(t) ? outlen - done : sizeof(t);
		memcpy((uint8_t *)out + done, t, n);
		done += n;
	}
	crypto_wipe(t, sizeof(t));
	return 0;
}

/* AES-256-GCM.  seal and open work in place (in == out). */

/* The best implementation this CPU runs. */
static enum crypto_aead_impl
aead_best(void)
{
	switch (aesgcm_x86_supported()) {
	case AESGCM_X86_VAES:
		return CRYPTO_AEAD_VAES;
	case AESGCM_X86_AESNI:
		return CRYPTO_AEAD_AESNI;
	default:
		return CRYPTO_AEAD_MBEDTLS;
	}
}

int
crypto_aead_select(enum crypto_aead_impl impl)
{
	enum crypto_aead_impl best = aead_best();

	switch (impl) {
	case CRYPTO_AEAD_VAES:
		if (best != CRYPTO_AEAD_VAES)
			return -1;
		break;
	case CRYPTO_AEAD_AESNI:
		if (best == CRYPTO_AEAD_MBEDTLS)
			return -1;
		break;
	case CRYPTO_AEAD_AUTO:
	case CRYPTO_AEAD_MBEDTLS:
		break;
	default:
		return -1;
	}
	__atomic_store_n(&aead_choice, impl, __ATOMIC_RELAXED);
	return 0;
}

/* The implementation for a new context. */
static enum crypto_aead_impl
aead_impl(void)
{
	enum crypto_aead_impl best;
	int impl = __atomic_load_n(&aead_choice, __ATOMIC_RELAXED);
	const char *env;

	if (impl != CRYPTO_AEAD_AUTO)
		return impl;
	best = aead_best();
	if ((env = getenv("NETDISK_AEAD")) == NULL)
		return best;
	if (strcmp(env, "mbedtls") == 0)
		return CRYPTO_AEAD_MBEDTLS;
	if (strcmp(env, "aesni") == 0 && best == CRYPTO_AEAD_VAES)
		return CRYPTO_AEAD_AESNI;
	return best;
}

const char *
crypto_aead_impl_name(const struct crypto_aead *a)
{
	switch (a->impl) {
	case CRYPTO_AEAD_AESNI:
		return "x86-aesni";
	case CRYPTO_AEAD_VAES:
		return "x86-vaes";
	default:
		return "mbedtls";
	}
}

struct crypto_aead *
crypto_aead_new(const uint8_t key[32])
{
	struct crypto_aead *a;
	void *p;

	if (posix_memalign(&p, AEAD_ALIGN, sizeof(*a)) != 0)
		return NULL;
	a = p;
	a->impl = aead_impl();
#ifdef AESGCM_X86
	if (a->impl != CRYPTO_AEAD_MBEDTLS) {
		aesgcm_x86_init(&a->u.x86, key, a->impl == CRYPTO_AEAD_VAES ?
		    AESGCM_X86_VAES : AESGCM_X86_AESNI);
		return a;
	}
#endif
	a->impl = CRYPTO_AEAD_MBEDTLS;
	mbedtls_gcm_init(&a->u.gcm);
	if (mbedtls_gcm_setkey(&a->u.gcm, MBEDTLS_CIPHER_ID_AES, key,
	    8 * CRYPTO_KEY_LEN) != 0) {
		crypto_aead_free(a);
		return NULL;
	}
	return a;
}

void
crypto_aead_free(struct crypto_aead *a)
{
	if (a == NULL)
		return;
	if (a->impl == CRYPTO_AEAD_MBEDTLS)
		mbedtls_gcm_free(&a->u.gcm);	/* zeroizes the key schedule */
	crypto_wipe(a, sizeof(*a));
	free(a);
}

int
crypto_aead_seal(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[16])
{
#ifdef AESGCM_X86
	if (a->impl != CRYPTO_AEAD_MBEDTLS)
		return aesgcm_x86_seal(&a->u.x86, nonce, ad, adlen, in, len,
		    out, tag);
#endif
	if (mbedtls_gcm_crypt_and_tag(&a->u.gcm, MBEDTLS_GCM_ENCRYPT, len,
	    nonce, CRYPTO_IV_LEN, ad, adlen, in, out, CRYPTO_TAG_LEN,
	    tag) != 0)
		return -1;
	return 0;
}

int
crypto_aead_open(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[16])
{
	/* Both compare the tag in constant time and zero out on failure. */
#ifdef AESGCM_X86
	if (a->impl != CRYPTO_AEAD_MBEDTLS)
		return aesgcm_x86_open(&a->u.x86, nonce, ad, adlen, in, len,
		    out, tag);
#endif
	if (mbedtls_gcm_auth_decrypt(&a->u.gcm, len, nonce, CRYPTO_IV_LEN, ad,
	    adlen, tag, CRYPTO_TAG_LEN, in, out) != 0)
		return -1;
	return 0;
}

/*
 * X25519 (RFC 7748) on mbedTLS's Montgomery ladder.  Scalars and
 * u-coordinates are little-endian; the scalar is clamped and the top bit
 * of the peer's u-coordinate masked, as the RFC requires.  mbedTLS
 * rejects the low-order points itself; the all-zero check catches the
 * rest.
 */

static int
rng_getrandom(void *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	return crypto_random(buf, len) == 0 ? 0 : -1;
}

static int
x25519_scalar(mbedtls_mpi *d, const uint8_t priv[32])
{
	uint8_t k[32];
	int rv;

	memcpy(k, priv, sizeof(k));
	k[0] &= 248;
	k[31] &= 127;
	k[31] |= 64;
	rv = mbedtls_mpi_read_binary_le(d, k, sizeof(k));
	crypto_wipe(k, sizeof(k));
	return rv;
}

static int
x25519_point(mbedtls_ecp_point *p, const uint8_t u[32])
{
	uint8_t x[32];

	memcpy(x, u, sizeof(x));
	x[31] &= 127;
	if (mbedtls_mpi_read_binary_le(&p->X, x, sizeof(x)) != 0 ||
	    mbedtls_mpi_lset(&p->Z, 1) != 0)
		return -1;
	return 0;
}

int
crypto_is_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

/* out = X25519(priv, u); u == NULL means the base point 9. */
static int
x25519_mul(uint8_t out[32], const uint8_t priv[32], const uint8_t *u)
{
	mbedtls_ecp_group grp;
	mbedtls_ecp_point p, r;
	mbedtls_mpi d;
	int rv = -1;

	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&p);
	mbedtls_ecp_point_init(&r);
	mbedtls_mpi_init(&d);
	if (mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_CURVE25519) != 0 ||
	    x25519_scalar(&d, priv) != 0)
		goto out;
	if (u != NULL && x25519_point(&p, u) != 0)
		goto out;
	if (mbedtls_ecp_mul(&grp, &r, &d, u != NULL ? &p : &grp.G,
	    rng_getrandom, NULL) != 0 ||
	    mbedtls_mpi_write_binary_le(&r.X, out, 32) != 0)
		goto out;
	rv = crypto_is_zero(out, 32) ? -1 : 0;
out:
	if (rv != 0)
		crypto_wipe(out, 32);
	mbedtls_mpi_free(&d);
	mbedtls_ecp_point_free(&r);
	mbedtls_ecp_point_free(&p);
	mbedtls_ecp_group_free(&grp);
	return rv;
}

int
crypto_x25519_public(uint8_t pub[32], const uint8_t priv[32])
{
	return x25519_mul(pub, priv, NULL);
}

int
crypto_x25519_keypair(uint8_t priv[32], uint8_t pub[32])
{
	if (crypto_random(priv, 32) == -1)
		return -1;
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	if (crypto_x25519_public(pub, priv) == -1) {
		crypto_wipe(priv, 32);
		return -1;
	}
	return 0;
}

int
crypto_x25519(uint8_t shared[32], const uint8_t priv[32],
    const uint8_t peer[32])
{
	return x25519_mul(shared, priv, peer);
}
