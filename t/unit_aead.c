/* SPDX-License-Identifier: ISC */
/*
 * AES-256-GCM through crypto_aead_*: the McGrew-Viega test cases on each
 * backend, the others against mbedTLS on random inputs of every small
 * length (each opens what mbedTLS sealed), tampering, and which one the
 * dispatcher chooses.
 *
 *   t/unit_aead                  the tests (TAP)
 *   t/unit_aead --bench [SIZE]   MB/s sealing and opening SIZE-byte
 *                                records (16384) on each backend, per
 *                                second of this thread's CPU time (so
 *                                that other work on the machine does
 *                                not count)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "tap.h"

#define MAXLEN		70000
#define RANDOM_CASES	2000
#define AD_MAX		80

static const enum crypto_aead_impl impls[] = {
	CRYPTO_AEAD_MBEDTLS, CRYPTO_AEAD_OPENSSL, CRYPTO_AEAD_AESNI,
	CRYPTO_AEAD_VAES
};
#define NIMPLS	(sizeof(impls) / sizeof(impls[0]))

static const char *
impl_name(enum crypto_aead_impl impl)
{
	return crypto_aead_impl_label(impl);
}

/* Whether this machine runs impl. */
static int
have(enum crypto_aead_impl impl)
{
	return crypto_aead_available(impl);
}

/* The backend AUTO should choose: VAES, else OpenSSL (crypto.c). */
static enum crypto_aead_impl
best(void)
{
	return have(CRYPTO_AEAD_VAES) ? CRYPTO_AEAD_VAES : CRYPTO_AEAD_OPENSSL;
}

/* 1 if a exists and runs on impl. */
static int
runs_on(const struct crypto_aead *a, enum crypto_aead_impl impl)
{
	return a != NULL && strcmp(crypto_aead_impl_name(a),
	    impl_name(impl)) == 0;
}

/* A context on one implementation; the choice reverts to AUTO. */
static struct crypto_aead *
aead_on(enum crypto_aead_impl impl, const uint8_t key[32])
{
	struct crypto_aead *a;

	if (crypto_aead_select(impl) == -1)
		return NULL;
	a = crypto_aead_new(key);
	crypto_aead_select(CRYPTO_AEAD_AUTO);
	if (a != NULL && !runs_on(a, impl)) {
		crypto_aead_free(a);
		return NULL;
	}
	return a;
}

static void
unhex(uint8_t *out, size_t len, const char *hex)
{
	size_t i;

	for (i = 0; i < len; i++)
		sscanf(hex + 2 * i, "%2hhx", &out[i]);
}

static int
all_zero(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* splitmix64: reproducible inputs. */
static uint64_t rng_state = 0x6e6574646973ULL;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
rng_fill(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = rng() >> 56;
}

/* The dispatcher. */

/*
 * A context made with stderr (where log.c writes in the foreground) in a
 * file: the lines it logged, in warn (size len).
 */
static struct crypto_aead *
new_logged(const uint8_t key[32], char *warn, size_t len)
{
	struct crypto_aead *a;
	FILE *f = tmpfile();
	int saved = dup(2);
	size_t n = 0;

	if (f == NULL || saved == -1 || dup2(fileno(f), 2) == -1)
		exit(99);
	a = crypto_aead_new(key);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	n = fread(warn, 1, len - 1, f);
	warn[n] = '\0';
	fclose(f);
	return a;
}

/* An unknown NETDISK_AEAD: the default, and one warning naming it. */
static void
test_env_unknown(const uint8_t key[32])
{
	struct crypto_aead *a;
	char warn[512];

	setenv("NETDISK_AEAD", "rot13", 1);
	a = new_logged(key, warn, sizeof(warn));
	ok(runs_on(a, best()), "NETDISK_AEAD=rot13 chooses %s",
	    impl_name(best()));
	ok(strstr(warn, "NETDISK_AEAD") != NULL &&
	    strstr(warn, "\"rot13\"") != NULL,
	    "... with a warning naming the value");
	printf("# logged: %s", warn[0] != '\0' ? warn : "nothing\n");
	crypto_aead_free(a);
	a = new_logged(key, warn, sizeof(warn));
	ok(runs_on(a, best()) && warn[0] == '\0',
	    "... once: the next context is made without one");
	crypto_aead_free(a);
}

static void
test_dispatch(void)
{
	uint8_t key[32] = { 0 };
	struct crypto_aead *a;
	size_t i;

	a = crypto_aead_new(key);
	ok(a != NULL, "crypto_aead_new");
	if (a != NULL)
		printf("# crypto_aead_new chose %s\n",
		    crypto_aead_impl_name(a));
	ok(runs_on(a, best()), "the dispatcher chooses %s",
	    impl_name(best()));
	crypto_aead_free(a);
	for (i = 0; i < NIMPLS; i++) {
		a = NULL;
		ok(have(impls[i]) ? crypto_aead_select(impls[i]) == 0 &&
		    runs_on(a = crypto_aead_new(key), impls[i]) :
		    crypto_aead_select(impls[i]) == -1,
		    "selecting %s %s", impl_name(impls[i]), have(impls[i]) ?
		    "works" : "fails on this machine");
		crypto_aead_free(a);
	}
	ok(crypto_aead_select(99) == -1, "an unknown implementation fails");
	crypto_aead_select(CRYPTO_AEAD_AUTO);
	setenv("NETDISK_AEAD", "mbedtls", 1);
	a = crypto_aead_new(key);
	ok(runs_on(a, CRYPTO_AEAD_MBEDTLS),
	    "NETDISK_AEAD=mbedtls chooses mbedtls");
	crypto_aead_free(a);
	setenv("NETDISK_AEAD", "openssl", 1);
	a = crypto_aead_new(key);
	ok(runs_on(a, CRYPTO_AEAD_OPENSSL),
	    "NETDISK_AEAD=openssl chooses openssl");
	crypto_aead_free(a);
	setenv("NETDISK_AEAD", "aesni", 1);
	a = crypto_aead_new(key);
	ok(runs_on(a, have(CRYPTO_AEAD_AESNI) ? CRYPTO_AEAD_AESNI : best()),
	    "NETDISK_AEAD=aesni chooses %s", impl_name(have(CRYPTO_AEAD_AESNI) ?
	    CRYPTO_AEAD_AESNI : best()));
	crypto_aead_free(a);
	test_env_unknown(key);
	unsetenv("NETDISK_AEAD");
}

/* McGrew and Viega, "The Galois/Counter Mode of Operation", appendix B. */

#define K15	"feffe9928665731c6d6a8f9467308308" \
		"feffe9928665731c6d6a8f9467308308"
#define IV15	"cafebabefacedbaddecaf888"
#define P15	"d9313225f88406e5a55909c5aff5269a" \
		"86a7a9531534f7da2e4c303d8a318a72" \
		"1c3c0c95956809532fcf0e2449a6b525" \
		"b16aedf5aa0de657ba637b391aafd255"
#define C15	"522dc1f099567d07f47f37a32a84427d" \
		"643a8cdcbfe5c0c97598a2bd2555d1aa" \
		"8cb08e48590dbb3da7b08b1056828838" \
		"c5f61e6393ba7a0abcc9f662898015ad"
#define Z32	"00000000000000000000000000000000" \
		"00000000000000000000000000000000"

static const struct gcm_case {
	int tc;
	const char *key, *iv, *ad, *p, *c, *tag;
	size_t adlen, len;
} gcm_cases[] = {
	{ 13, Z32, "000000000000000000000000", "", "", "",
	    "530f8afbc74536b9a963b4f1c4cb738b", 0, 0 },
	{ 14, Z32, "000000000000000000000000", "",
	    "00000000000000000000000000000000",
	    "cea7403d4d606b6e074ec5d3baf39d18",
	    "d0d1c8a799996bf0265b98b5d48ab919", 0, 16 },
	{ 15, K15, IV15, "", P15, C15,
	    "b094dac5d93471bdec1a502270e3cc6c", 0, 64 },
	{ 16, K15, IV15, "feedfacedeadbeeffeedfacedeadbeefabaddad2", P15, C15,
	    "76fc6ece0f4e1768cddf8853bb2d551b", 20, 60 },
};

static void
test_gcm_case(enum crypto_aead_impl impl, const struct gcm_case *tc)
{
	uint8_t key[32], iv[12], ad[20], p[64], c[64], t[16], want[16];
	uint8_t buf[64];
	const char *name = impl_name(impl);
	struct crypto_aead *a;
	size_t len = tc->len;

	unhex(key, 32, tc->key);
	unhex(iv, 12, tc->iv);
	unhex(ad, tc->adlen, tc->ad);
	unhex(p, len, tc->p);
	unhex(c, len, tc->c);
	unhex(want, 16, tc->tag);
	a = aead_on(impl, key);
	ok(a != NULL && crypto_aead_seal(a, iv, ad, tc->adlen, p, len, buf,
	    t) == 0 && memcmp(buf, c, len) == 0 && memcmp(t, want, 16) == 0,
	    "%s: test case %d seal", name, tc->tc);
	memcpy(buf, p, len);
	memset(t, 0, sizeof(t));
	ok(a != NULL && crypto_aead_seal(a, iv, ad, tc->adlen, buf, len, buf,
	    t) == 0 && memcmp(buf, c, len) == 0 && memcmp(t, want, 16) == 0,
	    "%s: test case %d seal in place", name, tc->tc);
	ok(a != NULL && crypto_aead_open(a, iv, ad, tc->adlen, c, len, buf,
	    want) == 0 && memcmp(buf, p, len) == 0,
	    "%s: test case %d open", name, tc->tc);
	memcpy(buf, c, len);
	ok(a != NULL && crypto_aead_open(a, iv, ad, tc->adlen, buf, len, buf,
	    want) == 0 && memcmp(buf, p, len) == 0,
	    "%s: test case %d open in place", name, tc->tc);
	want[0] ^= 0x80;
	memset(buf, 0xaa, sizeof(buf));
	ok(a != NULL && crypto_aead_open(a, iv, ad, tc->adlen, c, len, buf,
	    want) == -1 && all_zero(buf, len),
	    "%s: test case %d with a changed tag fails", name, tc->tc);
	crypto_aead_free(a);
}

/* The other backends against mbedTLS. */

struct bufs {
	uint8_t key[32], iv[12], ad[AD_MAX];
	uint8_t p[MAXLEN + 16], c[MAXLEN + 16], c2[MAXLEN + 16];
	uint8_t out[MAXLEN + 16];
	uint8_t t[16], t2[16];
};

/*
 * The message in two places (crypto_aead_seal_split, open_split), split
 * at a random multiple of CRYPTO_SPLIT_ALIGN or at its end, against the
 * ciphertext and tag in b->c and b->t: 0, else the failed step.
 */
static int
split_case(struct crypto_aead *x, struct bufs *b, size_t adlen, size_t len,
    size_t off)
{
	size_t part = len / CRYPTO_SPLIT_ALIGN;
	uint8_t *p = b->p + off, *out = b->out + (off * 5 + 1) % 16;
	uint8_t *in = b->c2 + off, bad[16];

	part = rng() % 4 == 0 ? len :
	    (size_t)(rng() % (part + 1)) * CRYPTO_SPLIT_ALIGN;
	memset(out, 0xa5, part);
	memcpy(out + part, p + part, len - part);
	if (crypto_aead_seal_split(x, b->iv, b->ad, adlen, p, part, out, len,
	    b->t2) != 0 || memcmp(out, b->c, len) != 0 ||
	    memcmp(b->t, b->t2, 16) != 0)
		return 8;	/* sealed from two places */
	memcpy(in, b->c, len);
	memset(out, 0xa5, len);
	if (crypto_aead_open_split(x, b->iv, b->ad, adlen, in, len, out, part,
	    b->t) != 0 || memcmp(out, p, part) != 0 ||
	    memcmp(in + part, p + part, len - part) != 0)
		return 9;	/* opened into two places */
	memcpy(in, b->c, len);
	memcpy(bad, b->t, 16);
	bad[rng() % 16] ^= (uint8_t)(1 + rng() % 255);
	if (crypto_aead_open_split(x, b->iv, b->ad, adlen, in, len, out, part,
	    bad) != -1 || !all_zero(out, part) ||
	    !all_zero(in + part, len - part))
		return 10;	/* a bad tag: both places zeroed */
	if (part + CRYPTO_SPLIT_ALIGN / 2 < len &&
	    crypto_aead_seal_split(x, b->iv, b->ad, adlen, p,
	    part + CRYPTO_SPLIT_ALIGN / 2, out, len, b->t2) != -1)
		return 11;	/* a split between steps is refused */
	return 0;
}

/* One case: 0 if both agree in every mode, else the failed step. */
static int
diff_case(enum crypto_aead_impl impl, struct bufs *b, size_t adlen,
    size_t len, size_t off)
{
	struct crypto_aead *m, *x;
	uint8_t *p = b->p + off, *out = b->out + (off * 7 + 3) % 16;
	int step = 0;

	m = aead_on(CRYPTO_AEAD_MBEDTLS, b->key);
	x = aead_on(impl, b->key);
	if (m == NULL || x == NULL)
		step = 1;
	else if (crypto_aead_seal(m, b->iv, b->ad, adlen, p, len, b->c,
	    b->t) != 0 ||
	    crypto_aead_seal(x, b->iv, b->ad, adlen, p, len, out, b->t2) != 0)
		step = 2;
	else if (memcmp(out, b->c, len) != 0 || memcmp(b->t, b->t2, 16) != 0)
		step = 3;	/* seal out of place */
	else if (memcpy(out, p, len), crypto_aead_seal(x, b->iv, b->ad, adlen,
	    out, len, out, b->t2) != 0 || memcmp(out, b->c, len) != 0 ||
	    memcmp(b->t, b->t2, 16) != 0)
		step = 4;	/* seal in place */
	else if (crypto_aead_open(x, b->iv, b->ad, adlen, b->c, len, out,
	    b->t) != 0 || memcmp(out, p, len) != 0)
		step = 5;	/* open out of place */
	else if (memcpy(out, b->c, len), crypto_aead_open(x, b->iv, b->ad,
	    adlen, out, len, out, b->t) != 0 || memcmp(out, p, len) != 0)
		step = 6;	/* open in place */
	else if (memcpy(b->c2 + off, b->c, len), crypto_aead_open(m, b->iv,
	    b->ad, adlen, b->c2 + off, len, b->c2 + off, b->t) != 0 ||
	    memcmp(b->c2 + off, p, len) != 0)
		step = 7;	/* mbedTLS opens in place too */
	if (step == 0 && x != NULL)
		step = split_case(x, b, adlen, len, off);
	crypto_aead_free(m);
	crypto_aead_free(x);
	return step;
}

static void
random_case(struct bufs *b, size_t len, size_t *adlen, size_t *off)
{
	rng_fill(b->key, sizeof(b->key));
	rng_fill(b->iv, sizeof(b->iv));
	rng_fill(b->ad, sizeof(b->ad));
	rng_fill(b->p, len + 16);
	*adlen = rng() % (AD_MAX + 1);
	*off = rng() % 16;
}

/* Every length 0..300, then random ones up to MAXLEN. */
static size_t
case_length(int i)
{
	static const size_t edges[] = { 16383, 16384, 16385, 16399, 65535,
	    65536, 65537, MAXLEN };

	if (i <= 300)
		return i;
	i -= 301;
	if (i < (int)(sizeof(edges) / sizeof(edges[0])))
		return edges[i];
	return i % 2 ? rng() % (MAXLEN + 1) : rng() % 4096;
}

static void
test_differential(enum crypto_aead_impl impl)
{
	struct bufs *b;
	size_t len, adlen, off;
	int i, n = 301 + RANDOM_CASES, step, bad = 0, big = 0;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		len = case_length(i);
		random_case(b, len, &adlen, &off);
		big += len > 16384;
		if ((step = diff_case(impl, b, adlen, len, off)) == 0)
			continue;
		if (bad++ < 5)
			printf("# case %d: len %zu adlen %zu offset %zu: "
			    "step %d differs\n", i, len, adlen, off, step);
	}
	ok(bad == 0, "%s equals mbedtls in %d cases (%d over 16 KiB; "
	    "seal and open, in place, not, and split): %d differ", impl_name(impl), n,
	    big, bad);
	free(b);
}

/* One key, a record stream: nonce = iv XOR seq, as record.c does. */
static void
test_stream(enum crypto_aead_impl impl)
{
	uint8_t key[32], iv[12], nonce[12], ad[5] = { 23, 3, 3, 0, 0 };
	uint8_t p[1000], c1[1000], c2[1000], t1[16], t2[16];
	struct crypto_aead *m, *x;
	int seq, bad = 0;
	size_t len;

	rng_fill(key, sizeof(key));
	rng_fill(iv, sizeof(iv));
	m = aead_on(CRYPTO_AEAD_MBEDTLS, key);
	x = aead_on(impl, key);
	for (seq = 0; seq < 500 && m != NULL && x != NULL; seq++) {
		memcpy(nonce, iv, sizeof(nonce));
		nonce[11] ^= seq & 0xff;
		nonce[10] ^= seq >> 8;
		len = rng() % sizeof(p);
		ad[3] = len >> 8;
		ad[4] = len & 0xff;
		rng_fill(p, len);
		if (crypto_aead_seal(m, nonce, ad, 5, p, len, c1, t1) != 0 ||
		    crypto_aead_seal(x, nonce, ad, 5, p, len, c2, t2) != 0 ||
		    memcmp(c1, c2, len) != 0 || memcmp(t1, t2, 16) != 0 ||
		    crypto_aead_open(x, nonce, ad, 5, c2, len, c2, t1) != 0 ||
		    memcmp(c2, p, len) != 0)
			bad++;
	}
	ok(m != NULL && x != NULL && bad == 0,
	    "500 records under one key: %s equals mbedtls", impl_name(impl));
	crypto_aead_free(m);
	crypto_aead_free(x);
}

/* Tampering. */

#define TAMPER_MAX	16385

enum tamper { T_TAG, T_TEXT, T_AD, T_NONCE, T_NTAMPER };
static const char *const tamper_names[] = {
	"tag", "ciphertext", "additional data", "nonce"
};

/* 1 if open rejects the change and leaves len zero bytes in out. */
static int
tamper_case(struct crypto_aead *a, size_t len, enum tamper what,
    int in_place)
{
	static uint8_t p[TAMPER_MAX], c[TAMPER_MAX], out[TAMPER_MAX];
	uint8_t nonce[12], ad[40], t[16];
	uint8_t *dst = in_place ? c : out;

	rng_fill(nonce, sizeof(nonce));
	rng_fill(ad, sizeof(ad));
	rng_fill(p, len);
	if (crypto_aead_seal(a, nonce, ad, sizeof(ad), p, len, c, t) != 0)
		return 0;
	switch (what) {
	case T_TAG:
		t[rng() % 16] ^= 1 << (rng() % 8);
		break;
	case T_TEXT:
		if (len == 0)
			return 1;
		c[rng() % len] ^= 1 << (rng() % 8);
		break;
	case T_AD:
		ad[rng() % sizeof(ad)] ^= 1 << (rng() % 8);
		break;
	default:
		nonce[rng() % 12] ^= 1 << (rng() % 8);
		break;
	}
	memset(out, 0xaa, sizeof(out));
	return crypto_aead_open(a, nonce, ad, sizeof(ad), c, len, dst,
	    t) == -1 && all_zero(dst, len);
}

static void
test_tamper(enum crypto_aead_impl impl)
{
	static const size_t lens[] = { 0, 1, 5, 15, 16, 17, 127, 128, 129,
	    255, 256, 257, 300, 4096, TAMPER_MAX };
	uint8_t key[32];
	struct crypto_aead *a;
	size_t i;
	int what, bad;

	rng_fill(key, sizeof(key));
	a = aead_on(impl, key);
	for (what = 0; what < T_NTAMPER; what++) {
		bad = a == NULL;
		for (i = 0; i < sizeof(lens) / sizeof(lens[0]) && a != NULL;
		    i++)
			bad += !tamper_case(a, lens[i], what, 0) +
			    !tamper_case(a, lens[i], what, 1);
		ok(bad == 0, "%s: a changed %s fails and zeroes the output "
		    "(in place and not)", impl_name(impl), tamper_names[what]);
	}
	crypto_aead_free(a);
}

/* --bench */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* MB/s of sealing (in place, as record.c) or opening len-byte records. */
static double
bench_one(struct crypto_aead *a, uint8_t *buf, uint8_t *out, size_t len,
    int open)
{
	uint8_t nonce[12] = { 0 }, ad[5] = { 23, 3, 3, 0, 0 }, tag[16];
	double start = now(), t;
	uint64_t n = 0;
	int i;

	if (crypto_aead_seal(a, nonce, ad, 5, buf, len, buf, tag) != 0)
		abort();
	do {
		for (i = 0; i < 64; i++, n++) {
			if (open && crypto_aead_open(a, nonce, ad, 5, buf,
			    len, out, tag) != 0)
				abort();
			if (!open && crypto_aead_seal(a, nonce, ad, 5, buf,
			    len, buf, tag) != 0)
				abort();
		}
	} while ((t = now() - start) < 1.0);
	return n * len / t / 1e6;
}

static int
bench(size_t len)
{
	uint8_t key[32], *buf, *out;
	struct crypto_aead *a;
	size_t i;

	if ((buf = calloc(1, len + 1)) == NULL ||
	    (out = calloc(1, len + 1)) == NULL)
		return 1;
	rng_fill(key, sizeof(key));
	for (i = 0; i < NIMPLS; i++) {
		if (!have(impls[i]) || (a = aead_on(impls[i], key)) == NULL) {
			printf("%-10s not available on this CPU\n",
			    impl_name(impls[i]));
			continue;
		}
		printf("%-10s seal %zu-byte records: %8.1f MB/s\n",
		    impl_name(impls[i]), len, bench_one(a, buf, out, len, 0));
		printf("%-10s open %zu-byte records: %8.1f MB/s\n",
		    impl_name(impls[i]), len, bench_one(a, buf, out, len, 1));
		crypto_aead_free(a);
	}
	free(buf);
	free(out);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t i, j;

	if (argc >= 2 && strcmp(argv[1], "--bench") == 0)
		return bench(argc >= 3 ? strtoul(argv[2], NULL, 0) : 16384);
	unsetenv("NETDISK_AEAD");
	test_dispatch();
	for (i = 0; i < NIMPLS; i++) {
		if (!have(impls[i])) {
			ok(1, "# SKIP %s: not on this machine",
			    impl_name(impls[i]));
			continue;
		}
		for (j = 0; j < sizeof(gcm_cases) / sizeof(gcm_cases[0]); j++)
			test_gcm_case(impls[i], &gcm_cases[j]);
		test_tamper(impls[i]);
		if (impls[i] == CRYPTO_AEAD_MBEDTLS)
			continue;
		test_differential(impls[i]);
		test_stream(impls[i]);
	}
	return done_testing();
}
