/* SPDX-License-Identifier: ISC */
/*
 * Trial authentication with many keys (docs/protocol.md, 6.2 step 5):
 * the last of 1,000 keys opens the hello, and the time a hello costs does
 * not depend on which key opened it.  Then version 3 (step 5'): the key
 * hint finds the key with one payload open, and a bogus hello costs one
 * X25519 and one dummy open, for 1 key as for 1,000.  The times (CPU
 * time of the opening thread) are printed as TAP diagnostics only: a
 * loaded machine must not fail the test.
 *   t/unit_trial [NKEYS [ROUNDS]]
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "handshake.h"
#include "tap.h"

static uint8_t (*keys)[ND_KEY_LEN];
static struct hs_psk *psks;
static size_t nkeys = 1000;
static int rounds = 20;
static size_t trials, trial_next, trial_gaps;

/* The trial hook: counts the keys tried, and whether in order. */
static void
count_trial(size_t idx)
{
	trial_gaps += idx != trial_next;
	trial_next = idx + 1;
	trials++;
}

/* CPU time of this thread: other processes on the machine do not count. */
static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Version 3: a ring of the first n keys and a static key. */
static struct hs_keyring *ring;
static uint8_t server_priv[ND_KEY_LEN], server_pub[ND_KEY_LEN];

/* A ClientHello for export "demo" under psk: v3 to server_pub, or v2. */
static void
hello_v(int v3, const uint8_t psk[ND_KEY_LEN],
    uint8_t ch[ND_CLIENT_HELLO_MAX])
{
	struct hs_state st;
	struct hs_request req;

	memset(&st, 0, sizeof(st));
	memset(&req, 0, sizeof(req));
	memcpy(req.name, "demo", 5);
	req.name_len = 4;
	if ((v3 ? hs_client_hello_v3(&st, psk, server_pub, &req, 0, ch) :
	    hs_client_hello(&st, psk, &req, 0, ch)) == -1)
		abort();
	hs_state_clear(&st);
}

/* The server opens ch: v3 with the ring, or v2 trying the nkeys keys. */
static int
open_hello_v(int v3, const uint8_t *ch)
{
	struct hs_state st;
	struct hs_request req;
	int idx;

	memset(&st, 0, sizeof(st));
	trial_next = 0;
	idx = v3 ? hs_server_open(&st, ch, ring, &req) :
	    hs_server_open_hello_psk(&st, ch, psks, nkeys, &req);
	hs_state_clear(&st);
	return idx;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * Microseconds per hello opened with psk (NULL: a key nobody has): the
 * median of the rounds, which other processes disturb less than a mean.
 */
static double
time_hellos_v(int v3, const uint8_t *psk, int *idx)
{
	uint8_t ch[ND_CLIENT_HELLO_MAX], other[ND_KEY_LEN];
	double t0, *t, median;
	int i;

	if ((t = calloc((size_t)rounds, sizeof(*t))) == NULL)
		abort();
	crypto_random(other, sizeof(other));
	for (i = 0; i < rounds; i++) {
		hello_v(v3, psk != NULL ? psk : other, ch);
		t0 = now_us();
		*idx = open_hello_v(v3, ch);
		t[i] = now_us() - t0;
	}
	qsort(t, (size_t)rounds, sizeof(*t), cmp_double);
	median = t[rounds / 2];
	free(t);
	return median;
}

static double
time_hellos(const uint8_t *psk, int *idx)
{
	return time_hellos_v(0, psk, idx);
}

/* v2 with 1 key, to compare with v3's fixed cost. */
static void
test_v2_one(void)
{
	size_t saved = nkeys;
	double bogus, good;
	int ibogus, igood;

	nkeys = 1;
	trials = 0;
	bogus = time_hellos(NULL, &ibogus);
	good = time_hellos(keys[0], &igood);
	ok(ibogus == -1 && igood == 0 && trials == 2 * (size_t)rounds,
	    "v2, 1 key: one trial per hello");
	printf("# v2, 1 key, median CPU time of %d hellos each: bogus %.0f us, "
	    "good key %.0f us per hello\n", rounds, bogus, good);
	nkeys = saved;
}

/* v3 with a ring of the first n keys: bogus, first and last key. */
static void
test_v3(size_t n)
{
	double bogus, first, last;
	int ibogus, ifirst, ilast;

	if ((ring = hs_keyring_new(psks, n, server_priv, ND_VERSION_3)) ==
	    NULL)
		abort();
	trials = 0;
	bogus = time_hellos_v(1, NULL, &ibogus);
	ok(ibogus == -1 && trials == (size_t)rounds,
	    "v3, %zu keys: a hello under an unknown key opens with none, "
	    "one (dummy) payload open each", n);
	trials = 0;
	first = time_hellos_v(1, keys[0], &ifirst);
	last = time_hellos_v(1, keys[n - 1], &ilast);
	ok(ifirst == 0 && ilast == (int)(n - 1) &&
	    trials == 2 * (size_t)rounds,
	    "v3, %zu keys: the first and the last key found, one payload "
	    "open each", n);
	printf("# v3, %zu keys, median CPU time of %d hellos each: bogus "
	    "%.0f us, first key %.0f us, last key %.0f us per hello\n", n,
	    rounds, bogus, first, last);
	hs_keyring_free(ring);
	ring = NULL;
}

/*
 * The prepared HMAC key that holds each PSK's early secret expands as
 * crypto_hkdf_expand does, at every length, and hashes a long key first
 * as HMAC does.
 */
static void
test_hmac_key(void)
{
	static uint8_t a[255 * 32], b[255 * 32];
	static const size_t lens[] = { 1, 12, 31, 32, 33, 64, 100, 255 * 32 };
	struct crypto_hmac_key k;
	uint8_t prk[32], info[40], long_key[100], mac[32], t1[32];
	size_t i;
	int same = 1;

	crypto_random(prk, sizeof(prk));
	crypto_random(info, sizeof(info));
	crypto_hmac_key_init(&k, prk, sizeof(prk));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(a, 1, sizeof(a));
		memset(b, 2, sizeof(b));
		same &= crypto_hkdf_expand(a, lens[i], prk, info,
		    sizeof(info)) == 0 && crypto_hkdf_expand_key(b, lens[i],
		    &k, info, sizeof(info)) == 0 && memcmp(a, b, lens[i]) == 0;
	}
	ok(same, "crypto_hkdf_expand_key = crypto_hkdf_expand, 1 to 8160 "
	    "bytes");
	ok(crypto_hkdf_expand_key(a, 255 * 32 + 1, &k, info, 0) == -1,
	    "crypto_hkdf_expand_key refuses more than 255 blocks");
	crypto_hmac_key_wipe(&k);
	ok(crypto_is_zero(&k, sizeof(k)), "crypto_hmac_key_wipe wipes");
	/* With no info, T(1) = HMAC(key, 0x01). */
	crypto_random(long_key, sizeof(long_key));
	crypto_hmac_key_init(&k, long_key, sizeof(long_key));
	crypto_hmac_sha256(mac, long_key, sizeof(long_key), "\x01", 1);
	ok(crypto_hkdf_expand_key(t1, sizeof(t1), &k, NULL, 0) == 0 &&
	    memcmp(t1, mac, sizeof(mac)) == 0,
	    "a 100-byte HMAC key is hashed first, as crypto_hmac_sha256 does");
	crypto_hmac_key_wipe(&k);
}

int
main(int argc, char *argv[])
{
	double bogus, first, last;
	int ibogus, ifirst, ilast;
	size_t i;

	if (argc > 1)
		nkeys = (size_t)atoi(argv[1]);
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (nkeys < 2 || rounds < 1)
		return 2;
	test_hmac_key();
	if ((keys = calloc(nkeys, sizeof(*keys))) == NULL)
		return 1;
	if ((psks = calloc(nkeys, sizeof(*psks))) == NULL)
		return 1;
	crypto_random(keys, nkeys * sizeof(*keys));
	for (i = 0; i < nkeys; i++)
		hs_psk_init(&psks[i], keys[i]);
	hs_trial_hook = count_trial;
	bogus = time_hellos(NULL, &ibogus);
	ok(ibogus == -1, "a hello under an unknown key opens with none of %zu",
	    nkeys);
	ok(trials == nkeys * rounds && trial_gaps == 0,
	    "every key was tried for every such hello, in order (%zu trials)",
	    trials);
	trials = 0;
	first = time_hellos(keys[0], &ifirst);
	ok(ifirst == 0, "a hello under the first key opens with key 0");
	ok(trials == nkeys * rounds && trial_gaps == 0,
	    "and every other key was tried too (%zu trials)", trials);
	trials = 0;
	last = time_hellos(keys[nkeys - 1], &ilast);
	ok(ilast == (int)(nkeys - 1), "a hello under the last key opens "
	    "with key %zu", nkeys - 1);
	ok(trials == nkeys * rounds && trial_gaps == 0,
	    "every key was tried (%zu trials)", trials);
	printf("# v2, %zu keys, median CPU time of %d hellos each: bogus "
	    "%.0f us, first key %.0f us, last key %.0f us per hello "
	    "(first/last %.2f; "
	    "%.1f us per key)\n", nkeys, rounds, bogus, first, last,
	    first / last, bogus / (double)nkeys);
	test_v2_one();
	if (crypto_x25519_keypair(server_priv, server_pub) != 0)
		abort();
	test_v3(1);
	test_v3(nkeys);
	hs_trial_hook = NULL;
	crypto_wipe(server_priv, sizeof(server_priv));
	for (i = 0; i < nkeys; i++)
		hs_psk_clear(&psks[i]);
	ok(crypto_is_zero(psks, nkeys * sizeof(*psks)), "hs_psk_clear wipes");
	crypto_wipe(keys, nkeys * sizeof(*keys));
	free(psks);
	free(keys);
	return done_testing();
}
