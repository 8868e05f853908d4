/* SPDX-License-Identifier: ISC */
/*
 * The crypto interface (crypto.h): randomness, wiping and constant-time
 * comparisons here; the handshake primitives SHA-256, HMAC and HKDF from
 * mbedTLS (crypto_mbedtls.c), X25519 from OpenSSL's libcrypto
 * (crypto_openssl.c, for speed); AES-256-GCM on the backend
 * chosen when a key is set: our VAES code (aesgcm_x86.c; the figures
 * that keep it are at its top) when the CPU has it, else OpenSSL's
 * libcrypto (crypto_openssl.c), or mbedTLS, the portable fallback.  No
 * function keeps state between calls but the backend choice, so every
 * function may run in many threads at once.
 */
#include "config.h"

#include <sys/random.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aesgcm_x86.h"
#include "crypto.h"
#include "crypto_mbedtls.h"
#include "crypto_openssl.h"
#include "log.h"

/* The AEAD state is aligned for vector registers. */
#define AEAD_ALIGN	64

struct crypto_aead {
	const struct crypto_aead_ops *ops;
	_Alignas(AEAD_ALIGN) unsigned char state[];
};

static const struct crypto_aead_ops *const aead_backends[] = {
	[CRYPTO_AEAD_MBEDTLS] = &crypto_mbedtls_aead,
	[CRYPTO_AEAD_OPENSSL] = &crypto_openssl_aead,
	[CRYPTO_AEAD_AESNI] = &aesgcm_x86_aesni_aead,
	[CRYPTO_AEAD_VAES] = &aesgcm_x86_vaes_aead,
};
/*
 * AUTO's order: our VAES code where it runs (more than 20% ahead of
 * OpenSSL end to end), else OpenSSL (our AES-NI code is within 20% of it:
 * see the top of aesgcm_x86.c), mbedTLS as the last resort.
 */
static const enum crypto_aead_impl aead_preference[] = {
	CRYPTO_AEAD_VAES, CRYPTO_AEAD_OPENSSL, CRYPTO_AEAD_AESNI,
	CRYPTO_AEAD_MBEDTLS,
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
	explicit_bzero(buf, len);
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

/* Hashing and key derivation: mbedTLS. */

void
crypto_sha256v(uint8_t out[32], const struct crypto_vec *v, size_t n)
{
	crypto_mbedtls_sha256v(out, v, n);
}

void
crypto_hmac_sha256(uint8_t out[32], const void *key, size_t keylen,
    const void *data, size_t len)
{
	crypto_mbedtls_hmac_sha256(out, key, keylen, data, len);
}

void
crypto_hkdf_extract(uint8_t prk[32], const void *salt, size_t saltlen,
    const void *ikm, size_t ikmlen)
{
	crypto_mbedtls_hkdf_extract(prk, salt, saltlen, ikm, ikmlen);
}

int
crypto_hkdf_expand(void *out, size_t outlen, const uint8_t prk[32],
    const void *info, size_t infolen)
{
	return crypto_mbedtls_hkdf_expand(out, outlen, prk, info, infolen);
}

void
crypto_hmac_key_init(struct crypto_hmac_key *k, const void *key,
    size_t keylen)
{
	crypto_mbedtls_hmac_key_init(k, key, keylen);
}

void
crypto_hmac_key_wipe(struct crypto_hmac_key *k)
{
	crypto_wipe(k, sizeof(*k));
}

int
crypto_hkdf_expand_key(void *out, size_t outlen,
    const struct crypto_hmac_key *prk, const void *info, size_t infolen)
{
	return crypto_mbedtls_hkdf_expand_key(out, outlen, prk, info,
	    infolen);
}

/*
 * X25519 (RFC 7748) on OpenSSL's libcrypto: about 25 us against 700 us
 * for mbedTLS's on x86-64, and a version 3 hello costs the server one
 * (docs/protocol.md, section 11.5; t/unit_trial).
 */

/* out = X25519(priv, u); u == NULL means the base point 9. */
static int
x25519(uint8_t out[32], const uint8_t priv[32], const uint8_t *u)
{
	if (crypto_openssl_x25519(out, priv, u) == -1 ||
	    crypto_is_zero(out, 32)) {
		crypto_wipe(out, 32);
		return -1;
	}
	return 0;
}

int
crypto_x25519_public(uint8_t pub[32], const uint8_t priv[32])
{
	return x25519(pub, priv, NULL);
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
	return x25519(shared, priv, peer);
}

/* AES-256-GCM: the backend choice. */

static const struct crypto_aead_ops *
aead_ops(enum crypto_aead_impl impl)
{
	if ((unsigned int)impl >= CRYPTO_AEAD_NIMPL)
		return NULL;
	return aead_backends[impl];
}

int
crypto_aead_available(enum crypto_aead_impl impl)
{
	const struct crypto_aead_ops *ops = aead_ops(impl);

	return ops != NULL && (ops->available == NULL || ops->available());
}

const char *
crypto_aead_impl_label(enum crypto_aead_impl impl)
{
	const struct crypto_aead_ops *ops = aead_ops(impl);

	return ops != NULL ? ops->name : NULL;
}

int
crypto_aead_select(enum crypto_aead_impl impl)
{
	if (impl != CRYPTO_AEAD_AUTO && !crypto_aead_available(impl))
		return -1;
	__atomic_store_n(&aead_choice, impl, __ATOMIC_RELAXED);
	return 0;
}

/*
 * A NETDISK_AEAD that chooses nothing: warned of once per process (the
 * choice is made for every new key), naming the value and the names.
 */
static void
aead_env_warn(const char *env, int known)
{
	static atomic_int warned;
	char names[128] = "aesni";
	size_t len;
	int i;

	if (atomic_exchange(&warned, 1))
		return;
	for (i = 0; i < CRYPTO_AEAD_NIMPL; i++) {
		len = strlen(names);
		if (aead_ops(i) != NULL)
			snprintf(names + len, sizeof(names) - len, ", %s",
			    aead_ops(i)->name);
	}
	if (known)
		log_warnx("NETDISK_AEAD \"%.64s\": this machine cannot run "
		    "it; using the default", env);
	else
		log_warnx("NETDISK_AEAD \"%.64s\" is not an AES-GCM "
		    "implementation (%s); using the default", env, names);
}

/*
 * NETDISK_AEAD's backend if it names one this machine runs, else AUTO
 * (warned of).  "aesni" (docs/netdiskd.8) is "x86-aesni".
 */
static enum crypto_aead_impl
aead_from_env(void)
{
	const char *env = getenv("NETDISK_AEAD"), *name;
	int i;

	if (env == NULL)
		return CRYPTO_AEAD_AUTO;
	name = strcmp(env, "aesni") == 0 ? aesgcm_x86_aesni_aead.name : env;
	for (i = 0; i < CRYPTO_AEAD_NIMPL; i++) {
		if (aead_ops(i) == NULL || strcmp(name, aead_ops(i)->name) != 0)
			continue;
		if (crypto_aead_available(i))
			return i;
		aead_env_warn(env, 1);
		return CRYPTO_AEAD_AUTO;
	}
	aead_env_warn(env, 0);
	return CRYPTO_AEAD_AUTO;
}

/* The backend for a new context. */
static const struct crypto_aead_ops *
aead_choose(void)
{
	enum crypto_aead_impl impl;
	size_t i;

	impl = __atomic_load_n(&aead_choice, __ATOMIC_RELAXED);
	if (impl == CRYPTO_AEAD_AUTO)
		impl = aead_from_env();
	if (impl != CRYPTO_AEAD_AUTO)
		return aead_ops(impl);
	for (i = 0; i < sizeof(aead_preference) / sizeof(aead_preference[0]);
	    i++)
		if (crypto_aead_available(aead_preference[i]))
			return aead_ops(aead_preference[i]);
	return &crypto_mbedtls_aead;
}

const char *
crypto_aead_impl_name(const struct crypto_aead *a)
{
	return a->ops->name;
}

struct crypto_aead *
crypto_aead_new(const uint8_t key[32])
{
	const struct crypto_aead_ops *ops = aead_choose();
	struct crypto_aead *a;
	void *p;

	if (posix_memalign(&p, AEAD_ALIGN, sizeof(*a) + ops->size) != 0)
		return NULL;
	a = p;
	a->ops = ops;
	if (ops->init(a->state, key) == -1) {
		crypto_wipe(a, sizeof(*a) + ops->size);
		free(a);
		return NULL;
	}
	return a;
}

void
crypto_aead_free(struct crypto_aead *a)
{
	size_t size;

	if (a == NULL)
		return;
	size = sizeof(*a) + a->ops->size;
	a->ops->fini(a->state);
	crypto_wipe(a, size);
	free(a);
}

int
crypto_aead_seal(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    uint8_t tag[16])
{
	return a->ops->seal(a->state, nonce, ad, adlen, in, len, out, tag);
}

int
crypto_aead_open(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t len, void *out,
    const uint8_t tag[16])
{
	return a->ops->open(a->state, nonce, ad, adlen, in, len, out, tag);
}

int
crypto_aead_seal_split(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, const void *in, size_t part, void *out,
    size_t len, uint8_t tag[16])
{
	if (part > len || (part % CRYPTO_SPLIT_ALIGN != 0 && part != len)) {
		errno = EINVAL;
		return -1;
	}
	if (a->ops->seal_split != NULL)
		return a->ops->seal_split(a->state, nonce, ad, adlen, in, part,
		    out, len, tag);
	if (part > 0)
		memcpy(out, in, part);
	return a->ops->seal(a->state, nonce, ad, adlen, out, len, out, tag);
}

int
crypto_aead_open_split(struct crypto_aead *a, const uint8_t nonce[12],
    const void *ad, size_t adlen, void *in, size_t len, void *out,
    size_t part, const uint8_t tag[16])
{
	if (part > len || (part % CRYPTO_SPLIT_ALIGN != 0 && part != len)) {
		errno = EINVAL;
		return -1;
	}
	if (a->ops->open_split != NULL)
		return a->ops->open_split(a->state, nonce, ad, adlen, in, len,
		    out, part, tag);
	if (a->ops->open(a->state, nonce, ad, adlen, in, len, in, tag) == -1) {
		if (part > 0)
			memset(out, 0, part);
		return -1;
	}
	if (part > 0)
		memcpy(out, in, part);
	return 0;
}
