/* SPDX-License-Identifier: ISC */
/*
 * The crypto primitives against published vectors, the protocol v2 and
 * v3 test vectors (t/vectors/v2.txt, v3.txt), and full handshakes in
 * memory.
 *
 *   t/unit_handshake [TOP_SRCDIR]   run the tests (TAP)
 *   t/unit_handshake --generate     print t/vectors/v2.txt
 *   t/unit_handshake --generate 3   print t/vectors/v3.txt
 *
 * The vectors are recomputed here from the key schedule in
 * docs/protocol.md with the crypto primitives alone, then compared with
 * the file and with what handshake.c and record.c produce.
 */
#include "config.h"

#include <sys/socket.h>

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "handshake.h"
#include "record.h"
#include "request.h"
#include "tap.h"

#define HDR_LEN		sizeof(struct nd_hello_hdr)
#define CH_LEN		ND_CLIENT_HELLO_LEN
#define SH_LEN		ND_SERVER_HELLO_LEN
#define CP_LEN		sizeof(struct nd_client_payload)
#define SP_LEN		sizeof(struct nd_server_payload)
#define VEC_MAX		96
#define CH3_LEN		ND_CLIENT_HELLO_V3_LEN
#define HINT_OFF	ND_CLIENT_HELLO_V3_HINT_OFF
#define PL3_OFF		ND_CLIENT_HELLO_V3_PAYLOAD_OFF
#define VEC_LEN		512

static const uint8_t zero32[32];

/* Hex. */

static size_t
unhex(uint8_t *out, size_t max, const char *hex)
{
	size_t n = 0;
	unsigned int b;

	while (hex[0] != '\0' && hex[1] != '\0' && n < max &&
	    sscanf(hex, "%2x", &b) == 1) {
		out[n++] = b;
		hex += 2;
	}
	return n;
}

static int
eqhex(const uint8_t *buf, size_t len, const char *hex)
{
	uint8_t want[VEC_LEN];

	return strlen(hex) == 2 * len && unhex(want, sizeof(want), hex) == len &&
	    memcmp(buf, want, len) == 0;
}

static void
fill_seq(uint8_t *buf, size_t len, uint8_t first)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = first + i;
}

/* (a) The primitives against published vectors. */

static void
x25519_vec(const char *what, const char *k, const char *u, const char *out)
{
	uint8_t kb[32], ub[32], r[32];

	unhex(kb, 32, k);
	unhex(ub, 32, u);
	ok(crypto_x25519(r, kb, ub) == 0 && eqhex(r, 32, out),
	    "X25519 RFC 7748 %s", what);
}

static void
test_x25519_rfc7748(void)
{
	uint8_t k[32] = { 9 }, u[32] = { 9 }, r[32];
	int i, good = 1;

	x25519_vec("5.2 vector 1",
	    "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
	    "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
	    "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
	x25519_vec("5.2 vector 2 (u with the top bit set)",
	    "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
	    "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
	    "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
	for (i = 1; i <= 1000 && good; i++) {
		good = crypto_x25519(r, k, u) == 0;
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			ok(eqhex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f"
			    "7897b87bb6854b783c60e80311ae3079"),
			    "X25519 RFC 7748 5.2 after 1 iteration");
	}
	ok(good && eqhex(k, 32, "684cf59ba83309552800ef566f2f4d3c"
	    "1c3887c49360e3875f2eb94d99532c51"),
	    "X25519 RFC 7748 5.2 after 1000 iterations");
}

static void
test_x25519_dh(void)
{
	uint8_t a[32], b[32], apub[32], bpub[32], s1[32], s2[32];

	unhex(a, 32, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	unhex(b, 32, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	ok(crypto_x25519_public(apub, a) == 0 && eqhex(apub, 32,
	    "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
	    "X25519 RFC 7748 6.1 Alice's public key");
	ok(crypto_x25519_public(bpub, b) == 0 && eqhex(bpub, 32,
	    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
	    "X25519 RFC 7748 6.1 Bob's public key");
	ok(crypto_x25519(s1, a, bpub) == 0 && crypto_x25519(s2, b, apub) == 0 &&
	    eqhex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25"
	    "e07e21c947d19e3376f09b3c1e161742") && memcmp(s1, s2, 32) == 0,
	    "X25519 RFC 7748 6.1 shared secret, both sides");
}

static void
test_x25519_low_order(void)
{
	static const char *pts[] = {
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"0000000000000000000000000000000000000000000000000000000000000080",
	};
	uint8_t priv[32], pub[32], peer[32], out[32];
	size_t i;

	ok(crypto_x25519_keypair(priv, pub) == 0 && (priv[0] & 7) == 0 &&
	    (priv[31] & 0xc0) == 0x40, "keypair draws a clamped private key");
	for (i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
		unhex(peer, 32, pts[i]);
		memset(out, 0x55, sizeof(out));
		ok(crypto_x25519(out, priv, peer) == -1,
		    "X25519 refuses low-order point %.8s...", pts[i]);
	}
}

static void
test_hkdf(void)
{
	uint8_t ikm[22], salt[13], info[10], prk[32], okm[42];

	memset(ikm, 0x0b, sizeof(ikm));
	fill_seq(salt, sizeof(salt), 0x00);
	fill_seq(info, sizeof(info), 0xf0);
	crypto_hkdf_extract(prk, salt, sizeof(salt), ikm, sizeof(ikm));
	ok(eqhex(prk, 32, "077709362c2e32df0ddc3f0dc47bba63"
	    "90b6c73bb50f9c3122ec844ad7c2b3e5"), "HKDF RFC 5869 case 1 PRK");
	ok(crypto_hkdf_expand(okm, sizeof(okm), prk, info, sizeof(info)) == 0 &&
	    eqhex(okm, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
	    "2d56ecc4c5bf34007208d5b887185865"), "HKDF RFC 5869 case 1 OKM");
	ok(crypto_hkdf_expand(okm, 255 * 32 + 1, prk, info, 0) == -1,
	    "HKDF-Expand refuses more than 255 blocks");
}

static void
test_hash(void)
{
	struct crypto_vec v[] = { { "a", 1 }, { "", 0 }, { "bc", 2 } };
	uint8_t out[32];

	crypto_sha256v(out, v, 3);
	ok(eqhex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad"), "SHA-256 \"abc\" in pieces");
	crypto_hmac_sha256(out, "Jefe", 4, "what do ya want for nothing?", 28);
	ok(eqhex(out, 32, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843"), "HMAC-SHA256 RFC 4231 case 2");
	ok(crypto_equal("abcd", "abcd", 4) == 1 &&
	    crypto_equal("abcd", "abce", 4) == 0 &&
	    crypto_equal("\x80", "\x00", 1) == 0 && crypto_equal("", "", 0) == 1,
	    "crypto_equal");
}

#define GCM_KEY	"feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"
#define GCM_IV	"cafebabefacedbaddecaf888"
#define GCM_P	"d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72" \
		"1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define GCM_C	"522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa" \
		"8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"

/* McGrew-Viega test case 15 (no AD, 64 bytes) or 16 (AD, 60 bytes). */
static void
test_gcm_case(int tc, const char *tag)
{
	uint8_t key[32], iv[12], ad[20], p[64], c[64], t[16], buf[64];
	size_t len = tc == 15 ? 64 : 60, adlen = tc == 15 ? 0 : 20;
	struct crypto_aead *a;

	unhex(key, 32, GCM_KEY);
	unhex(iv, 12, GCM_IV);
	unhex(ad, 20, "feedfacedeadbeeffeedfacedeadbeefabaddad2");
	unhex(p, 64, GCM_P);
	unhex(c, 64, GCM_C);
	a = crypto_aead_new(key);
	ok(a != NULL && crypto_aead_seal(a, iv, ad, adlen, p, len, buf, t) == 0 &&
	    memcmp(buf, c, len) == 0 && eqhex(t, 16, tag),
	    "AES-256-GCM test case %d seal", tc);
	ok(crypto_aead_open(a, iv, ad, adlen, c, len, buf, t) == 0 &&
	    memcmp(buf, p, len) == 0, "AES-256-GCM test case %d open", tc);
	memcpy(buf, c, len);
	ok(crypto_aead_open(a, iv, ad, adlen, buf, len, buf, t) == 0 &&
	    memcmp(buf, p, len) == 0, "AES-256-GCM test case %d open in place", tc);
	t[15] ^= 1;
	ok(crypto_aead_open(a, iv, ad, adlen, c, len, buf, t) == -1,
	    "AES-256-GCM test case %d: a changed tag fails", tc);
	t[15] ^= 1;
	c[7] ^= 0x10;
	ok(crypto_aead_open(a, iv, ad, adlen, c, len, buf, t) == -1,
	    "AES-256-GCM test case %d: a changed ciphertext fails", tc);
	crypto_aead_free(a);
}

static void
test_primitives(void)
{
	test_x25519_rfc7748();
	test_x25519_dh();
	test_x25519_low_order();
	test_hkdf();
	test_hash();
	test_gcm_case(15, "b094dac5d93471bdec1a502270e3cc6c");
	test_gcm_case(16, "76fc6ece0f4e1768cddf8853bb2d551b");
	crypto_aead_free(NULL);
}

/*
 * The key schedule again, written from the specification with the
 * primitives alone.  It builds the vectors and hand-made messages.
 */

struct vecset {
	struct {
		const char *name;
		uint8_t val[VEC_LEN];
		size_t len;
	} v[VEC_MAX];
	int n;
};

static void
vs_add(struct vecset *vs, const char *name, const void *val, size_t len)
{
	if (vs == NULL)
		return;
	if (vs->n == VEC_MAX || len > VEC_LEN) {
		fprintf(stderr, "vector %s does not fit\n", name);
		exit(1);
	}
	vs->v[vs->n].name = name;
	memcpy(vs->v[vs->n].val, val, len);
	vs->v[vs->n].len = len;
	vs->n++;
}

static int
vs_find(const struct vecset *vs, const char *name)
{
	int i;

	for (i = 0; i < vs->n; i++)
		if (strcmp(vs->v[i].name, name) == 0)
			return i;
	return -1;
}

static void
t_label(uint8_t *out, size_t outlen, const uint8_t secret[32],
    const char *label, const uint8_t *ctx, size_t ctxlen)
{
	uint8_t info[128];
	size_t n = 0;

	info[n++] = outlen >> 8;
	info[n++] = outlen;
	info[n++] = 4 + strlen(label);
	n += sprintf((char *)info + n, "nd1 %s", label);
	info[n++] = ctxlen;
	if (ctxlen > 0)
		memcpy(info + n, ctx, ctxlen);
	n += ctxlen;
	if (crypto_hkdf_expand(out, outlen, secret, info, n) != 0)
		abort();
}

static void
t_sha(uint8_t out[32], const void *a, size_t alen, const void *b, size_t blen,
    const void *c, size_t clen)
{
	struct crypto_vec v[] = { { a, alen }, { b, blen }, { c, clen } };

	crypto_sha256v(out, v, 3);
}

static void
t_seal(const uint8_t key[32], const uint8_t iv[12], const uint8_t *ad,
    size_t adlen, const uint8_t *in, size_t len, uint8_t *out)
{
	struct crypto_aead *a = crypto_aead_new(key);

	if (a == NULL || crypto_aead_seal(a, iv, ad, adlen, in, len, out,
	    out + len) != 0)
		abort();
	crypto_aead_free(a);
}

static void
t_hdr(uint8_t out[40], uint8_t vmin, uint8_t vmax, uint16_t len,
    const uint8_t eph[32])
{
	uint32_t magic = htobe32(ND_HELLO_MAGIC);

	memcpy(out, &magic, 4);
	out[4] = vmin;
	out[5] = vmax;
	out[6] = len >> 8;
	out[7] = len & 0xff;
	memcpy(out + 8, eph, 32);
}

static void
t_client_payload(uint8_t p[CP_LEN], const uint8_t id[16], uint32_t options,
    uint16_t name_len, const char *name, uint16_t conn)
{
	struct nd_client_payload pl;

	memset(&pl, 0, sizeof(pl));
	memcpy(pl.client_id, id, 16);
	pl.options = htobe32(options);
	pl.name_len = htobe16(name_len);
	pl.conn = htobe16(conn);
	memcpy(pl.name, name, strlen(name));
	memcpy(p, &pl, sizeof(pl));
}

static void
t_server_payload(uint8_t p[SP_LEN], const struct hs_export_info *i)
{
	struct nd_server_payload pl;

	pl.status = htobe32(i->status);
	pl.flags = htobe32(i->flags);
	pl.size = htobe64(i->size);
	pl.min_block = htobe32(i->min_block);
	pl.pref_block = htobe32(i->pref_block);
	pl.max_payload = htobe32(i->max_payload);
	pl.reserved = 0;
	memcpy(pl.export_id, i->export_id, 16);
	memcpy(p, &pl, sizeof(pl));
}

/* key(secret) and iv(secret) into key and iv, and the seal under them. */
static void
t_seal_secret(const uint8_t secret[32], uint8_t key[32], uint8_t iv[12],
    const uint8_t *ad, size_t adlen, const uint8_t *in, size_t len,
    uint8_t *out)
{
	t_label(key, 32, secret, "key", NULL, 0);
	t_label(iv, 12, secret, "iv", NULL, 0);
	t_seal(key, iv, ad, adlen, in, len, out);
}

/* CH = hdr || E(payload) || tag under the PSK's hello key. */
static void
t_make_ch(uint8_t ch[CH_LEN], const uint8_t psk[32], const uint8_t hdr[40],
    const uint8_t payload[CP_LEN], struct vecset *vs)
{
	uint8_t early[32], th[32], c_hello[32], key[32], iv[12];

	crypto_hkdf_extract(early, zero32, 32, psk, 32);
	t_sha(th, hdr, HDR_LEN, NULL, 0, NULL, 0);
	t_label(c_hello, 32, early, "c hello", th, 32);
	memcpy(ch, hdr, HDR_LEN);
	t_seal_secret(c_hello, key, iv, hdr, HDR_LEN, payload, CP_LEN,
	    ch + HDR_LEN);
	vs_add(vs, "early", early, 32);
	vs_add(vs, "ch_hdr", hdr, HDR_LEN);
	vs_add(vs, "th_ch", th, 32);
	vs_add(vs, "c_hello", c_hello, 32);
	vs_add(vs, "ch_key", key, 32);
	vs_add(vs, "ch_iv", iv, 12);
	vs_add(vs, "ch_payload", payload, CP_LEN);
	vs_add(vs, "ch", ch, CH_LEN);
}

/* early = Extract(0, psk), returned. */
static const uint8_t *
t_early(uint8_t early[32], const uint8_t psk[32])
{
	crypto_hkdf_extract(early, zero32, 32, psk, 32);
	return early;
}

/*
 * v3: CH = hdr || E(key_id) || tag under c_hint || E(payload) || tag
 * under c_hello; pe receives the secret that hs derives from.
 */
static void
t_make_ch3(uint8_t ch[CH3_LEN], uint8_t pe[32], const uint8_t psk[32],
    const uint8_t spub[32], const uint8_t c_priv[32], const uint8_t hdr[40],
    const uint8_t payload[CP_LEN], struct vecset *vs)
{
	uint8_t early[32], key_id[16], es[32], prk[32], th[32], c_hint[32];
	uint8_t key[32], iv[12], psk_es[32], c_hello[32];

	crypto_hkdf_extract(early, zero32, 32, psk, 32);
	t_label(key_id, 16, early, "key id", NULL, 0);
	if (crypto_x25519(es, c_priv, spub) != 0)
		abort();
	crypto_hkdf_extract(prk, zero32, 32, es, 32);
	t_sha(th, spub, 32, hdr, HDR_LEN, NULL, 0);
	t_label(c_hint, 32, prk, "c hint", th, 32);
	memcpy(ch, hdr, HDR_LEN);
	t_seal_secret(c_hint, key, iv, hdr, HDR_LEN, key_id, 16,
	    ch + HINT_OFF);
	vs_add(vs, "early", early, 32);
	vs_add(vs, "key_id", key_id, 16);
	vs_add(vs, "ch_hdr", hdr, HDR_LEN);
	vs_add(vs, "es", es, 32);
	vs_add(vs, "es_prk", prk, 32);
	vs_add(vs, "th_hint", th, 32);
	vs_add(vs, "c_hint", c_hint, 32);
	vs_add(vs, "hint_key", key, 32);
	vs_add(vs, "hint_iv", iv, 12);
	t_label(psk_es, 32, early, "psk es", NULL, 0);
	crypto_hkdf_extract(pe, psk_es, 32, es, 32);
	t_sha(th, spub, 32, ch, PL3_OFF, NULL, 0);
	t_label(c_hello, 32, pe, "c hello", th, 32);
	t_seal_secret(c_hello, key, iv, ch, PL3_OFF, payload, CP_LEN,
	    ch + PL3_OFF);
	vs_add(vs, "psk_es", psk_es, 32);
	vs_add(vs, "pe", pe, 32);
	vs_add(vs, "th_ch", th, 32);
	vs_add(vs, "c_hello", c_hello, 32);
	vs_add(vs, "ch_key", key, 32);
	vs_add(vs, "ch_iv", iv, 12);
	vs_add(vs, "ch_payload", payload, CP_LEN);
	vs_add(vs, "ch", ch, CH3_LEN);
}

/*
 * SH for a given dh; hs receives the handshake secret, derived from base
 * (v2: early, v3: pe) of the ClientHello ch of chlen bytes.
 */
static void
t_make_sh(uint8_t sh[SH_LEN], uint8_t hs[32], const uint8_t base[32],
    const uint8_t *ch, size_t chlen, const uint8_t hdr[40],
    const uint8_t dh[32], const uint8_t payload[SP_LEN], struct vecset *vs)
{
	uint8_t derived[32], th[32], s_hs[32], key[32], iv[12];

	t_label(derived, 32, base, "derived", NULL, 0);
	crypto_hkdf_extract(hs, derived, 32, dh, 32);
	t_sha(th, ch, chlen, hdr, HDR_LEN, NULL, 0);
	t_label(s_hs, 32, hs, "s hs", th, 32);
	memcpy(sh, hdr, HDR_LEN);
	t_seal_secret(s_hs, key, iv, hdr, HDR_LEN, payload, SP_LEN,
	    sh + HDR_LEN);
	vs_add(vs, "dh", dh, 32);
	vs_add(vs, chlen == CH_LEN ? "early_derived" : "pe_derived", derived,
	    32);
	vs_add(vs, "hs", hs, 32);
	vs_add(vs, "sh_hdr", hdr, HDR_LEN);
	vs_add(vs, "th_sh", th, 32);
	vs_add(vs, "s_hs", s_hs, 32);
	vs_add(vs, "sh_key", key, 32);
	vs_add(vs, "sh_iv", iv, 12);
	vs_add(vs, "sh_payload", payload, SP_LEN);
	vs_add(vs, "sh", sh, SH_LEN);
}

static void
t_make_cf(uint8_t cf[32], const uint8_t hs[32], const uint8_t *ch,
    size_t chlen, const uint8_t *sh, struct vecset *vs)
{
	uint8_t fk[32], th[32];

	t_label(fk, 32, hs, "c finished", NULL, 0);
	t_sha(th, ch, chlen, sh, SH_LEN, NULL, 0);
	crypto_hmac_sha256(cf, fk, 32, th, 32);
	vs_add(vs, "finished_key", fk, 32);
	vs_add(vs, "th_ch_sh", th, 32);
	vs_add(vs, "cf", cf, 32);
}

static void
t_traffic(struct hs_traffic *t, const uint8_t master[32], const char *label,
    const uint8_t th[32])
{
	t_label(t->secret, 32, master, label, th, 32);
	t_label(t->key, 32, t->secret, "key", NULL, 0);
	t_label(t->iv, 12, t->secret, "iv", NULL, 0);
}

static void
vs_add_traffic(struct vecset *vs, const char *const names[3],
    const struct hs_traffic *t)
{
	vs_add(vs, names[0], t->secret, 32);
	vs_add(vs, names[1], t->key, 32);
	vs_add(vs, names[2], t->iv, 12);
}

static void
t_make_keys(struct hs_keys *k, const uint8_t hs[32], const uint8_t *ch,
    size_t chlen, const uint8_t *sh, const uint8_t *cf, struct vecset *vs)
{
	static const char *const c2s[] = { "c2s_secret", "c2s_key", "c2s_iv" };
	static const char *const s2c[] = { "s2c_secret", "s2c_key", "s2c_iv" };
	uint8_t th[32], derived[32], master[32];

	t_sha(th, ch, chlen, sh, SH_LEN, cf, 32);
	t_label(derived, 32, hs, "derived", NULL, 0);
	crypto_hkdf_extract(master, derived, 32, zero32, 32);
	t_traffic(&k->c2s, master, "c ap", th);
	t_traffic(&k->s2c, master, "s ap", th);
	vs_add(vs, "th_ap", th, 32);
	vs_add(vs, "hs_derived", derived, 32);
	vs_add(vs, "master", master, 32);
	vs_add_traffic(vs, c2s, &k->c2s);
	vs_add_traffic(vs, s2c, &k->s2c);
}

/* One record: header || E(content || type) || tag; its length. */
static size_t
t_record(uint8_t *out, const struct hs_traffic *t, uint64_t seq,
    const void *content, size_t len, uint8_t type)
{
	uint8_t nonce[12], in[VEC_LEN];
	size_t clen = len + 1 + 16;
	int i;

	memcpy(nonce, t->iv, 12);
	for (i = 0; i < 8; i++)
		nonce[11 - i] ^= seq >> (8 * i);
	out[0] = 23;
	out[1] = 3;
	out[2] = 3;
	out[3] = clen >> 8;
	out[4] = clen & 0xff;
	memcpy(in, content, len);
	in[len] = type;
	t_seal(t->key, nonce, out, 5, in, len + 1, out + 5);
	return 5 + clen;
}

/* The fixed inputs of the vectors. */

struct inputs {
	uint8_t psk[32], c_priv[32], s_priv[32], c_pub[32], s_pub[32];
	uint8_t st_priv[32], st_pub[32];	/* v3: the server's static key */
	int version;
	struct hs_request req;
	struct hs_export_info info;
};

static void
inputs_init(struct inputs *in, int version)
{
	memset(in, 0, sizeof(*in));
	in->version = version;
	fill_seq(in->psk, 32, 0x00);
	fill_seq(in->c_priv, 32, 0x20);
	fill_seq(in->s_priv, 32, 0x40);
	fill_seq(in->st_priv, 32, 0x80);
	fill_seq(in->req.client_id, 16, 0x60);
	strcpy(in->req.name, "demo");
	in->req.name_len = 4;
	in->req.conn = 3;
	in->req.version_min = in->req.version_max = version;
	in->info.status = ND_HS_OK;
	in->info.flags = ND_FLAG_FLUSH | ND_FLAG_FUA | ND_FLAG_TRIM |
	    ND_FLAG_WRITE_ZEROES | ND_FLAG_MULTI_CONN;
	in->info.size = 64ULL << 20;
	in->info.min_block = 512;
	in->info.pref_block = 4096;
	in->info.max_payload = 1U << 20;
	fill_seq(in->info.export_id, 16, 0x70);
	if (crypto_x25519_public(in->c_pub, in->c_priv) != 0 ||
	    crypto_x25519_public(in->s_pub, in->s_priv) != 0 ||
	    crypto_x25519_public(in->st_pub, in->st_priv) != 0)
		abort();
}

static void
read_request(struct nd_request *w, uint64_t handle, uint64_t offset)
{
	struct request r = { 0, ND_CMD_READ, handle, offset, 4096 };

	request_encode(&r, w);
}

/* The data-phase vectors: records under the application keys. */
static void
t_records(struct vecset *vs, struct hs_keys *k)
{
	static const char *const upd[] = {
		"c2s_upd_secret", "c2s_upd_key", "c2s_upd_iv",
	};
	struct nd_request rq;
	struct nd_reply rp;
	struct reply r = { ND_OK, 1 };
	uint8_t rec[VEC_LEN], content[VEC_LEN];
	static const uint8_t ku[5] = { 0x18, 0, 0, 1, 0 };

	read_request(&rq, 1, 4096);
	vs_add(vs, "c2s_rec0_content", &rq, sizeof(rq));
	vs_add(vs, "c2s_rec0", rec, t_record(rec, &k->c2s, 0, &rq,
	    sizeof(rq), 23));
	reply_encode(&r, &rp);
	memcpy(content, &rp, sizeof(rp));
	memset(content + sizeof(rp), 0xaa, 32);
	vs_add(vs, "s2c_rec0_content", content, sizeof(rp) + 32);
	vs_add(vs, "s2c_rec0", rec, t_record(rec, &k->s2c, 0, content,
	    sizeof(rp) + 32, 23));
	vs_add(vs, "c2s_rec1_keyupdate", rec, t_record(rec, &k->c2s, 1, ku,
	    5, 22));
	t_label(k->c2s.secret, 32, k->c2s.secret, "upd", NULL, 0);
	t_label(k->c2s.key, 32, k->c2s.secret, "key", NULL, 0);
	t_label(k->c2s.iv, 12, k->c2s.secret, "iv", NULL, 0);
	vs_add_traffic(vs, upd, &k->c2s);
	read_request(&rq, 2, 8192);
	vs_add(vs, "c2s_upd_rec0_content", &rq, sizeof(rq));
	vs_add(vs, "c2s_upd_rec0", rec, t_record(rec, &k->c2s, 0, &rq,
	    sizeof(rq), 23));
}

static void
compute_vectors(struct vecset *vs, const struct inputs *in)
{
	uint8_t hdr[40], cp[CP_LEN], sp[SP_LEN], ch[ND_CLIENT_HELLO_MAX];
	uint8_t sh[SH_LEN], dh[32], hs[32], cf[32], base[32];
	size_t chlen = nd_client_hello_len(in->version);
	struct hs_keys k;

	vs_add(vs, "psk", in->psk, 32);
	if (in->version == ND_VERSION_3) {
		vs_add(vs, "server_static_priv", in->st_priv, 32);
		vs_add(vs, "server_static_pub", in->st_pub, 32);
	}
	vs_add(vs, "client_eph_priv", in->c_priv, 32);
	vs_add(vs, "client_eph_pub", in->c_pub, 32);
	vs_add(vs, "server_eph_priv", in->s_priv, 32);
	vs_add(vs, "server_eph_pub", in->s_pub, 32);
	vs_add(vs, "client_id", in->req.client_id, 16);
	vs_add(vs, "export_id", in->info.export_id, 16);
	t_hdr(hdr, in->version, in->version, chlen, in->c_pub);
	t_client_payload(cp, in->req.client_id, 0, 4, "demo", in->req.conn);
	if (in->version == ND_VERSION_3)
		t_make_ch3(ch, base, in->psk, in->st_pub, in->c_priv, hdr, cp,
		    vs);
	else {
		t_make_ch(ch, in->psk, hdr, cp, vs);
		crypto_hkdf_extract(base, zero32, 32, in->psk, 32);
	}
	if (crypto_x25519(dh, in->s_priv, in->c_pub) != 0)
		abort();
	t_hdr(hdr, in->version, in->version, SH_LEN, in->s_pub);
	t_server_payload(sp, &in->info);
	t_make_sh(sh, hs, base, ch, chlen, hdr, dh, sp, vs);
	t_make_cf(cf, hs, ch, chlen, sh, vs);
	t_make_keys(&k, hs, ch, chlen, sh, cf, vs);
	t_records(vs, &k);
}

/* (b) The vectors against handshake.c, record.c and the file. */

static int gen_mode, gen_failed;

static void __attribute__((format(printf, 2, 3)))
check(int cond, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (gen_mode && !cond) {
		fprintf(stderr, "unit_handshake: mismatch: %s\n", msg);
		gen_failed = 1;
	} else if (!gen_mode)
		ok(cond, "%s", msg);
}

static int
vs_eq(const struct vecset *vs, const char *name, const void *buf, size_t len)
{
	int i = vs_find(vs, name);

	return i >= 0 && vs->v[i].len == len &&
	    memcmp(vs->v[i].val, buf, len) == 0;
}

static int
traffic_eq(const struct vecset *vs, const char *dir, const struct hs_traffic *t)
{
	char n[3][32];

	snprintf(n[0], 32, "%s_secret", dir);
	snprintf(n[1], 32, "%s_key", dir);
	snprintf(n[2], 32, "%s_iv", dir);
	return vs_eq(vs, n[0], t->secret, 32) && vs_eq(vs, n[1], t->key, 32) &&
	    vs_eq(vs, n[2], t->iv, 12);
}

struct real_hs {
	struct hs_state c, s;
	struct hs_request sreq;
	struct hs_export_info cinfo;
	uint8_t ch[ND_CLIENT_HELLO_MAX], sh[SH_LEN], cf[32];
	struct hs_keys ck, sk;
};

/* Client hello and server open of the version of in: 0 or -1. */
static int
real_open(struct real_hs *r, const struct inputs *in)
{
	struct hs_keyring *kr;
	struct hs_psk psk;
	int rv;

	if (in->version == ND_VERSION_2)
		return hs_client_hello(&r->c, in->psk, &in->req, 1, r->ch) ||
		    hs_server_open_hello(&r->s, r->ch, &in->psk, 1,
		    &r->sreq) ? -1 : 0;
	hs_psk_init(&psk, in->psk);
	if ((kr = hs_keyring_new(&psk, 1, in->st_priv, 2)) == NULL)
		return -1;
	rv = hs_client_hello_v3(&r->c, in->psk, in->st_pub, &in->req, 1,
	    r->ch) || hs_server_open(&r->s, r->ch, kr, &r->sreq) ? -1 : 0;
	hs_keyring_free(kr);
	hs_psk_clear(&psk);
	return rv;
}

/* The handshake through handshake.c with the vectors' inputs. */
static void
real_handshake(struct real_hs *r, const struct inputs *in,
    const struct vecset *vs)
{
	int v = in->version;

	memset(r, 0, sizeof(*r));
	memcpy(r->c.eph_priv, in->c_priv, 32);
	check(real_open(r, in) == 0 &&
	    vs_eq(vs, "ch", r->ch, nd_client_hello_len(v)),
	    "handshake.c v%d: ClientHello = ch", v);
	check(r->sreq.name_len == 4 && strcmp(r->sreq.name, "demo") == 0 &&
	    memcmp(r->sreq.client_id, in->req.client_id, 16) == 0 &&
	    r->sreq.options == 0 && r->sreq.conn == 3 && r->s.version == v &&
	    r->sreq.version_min == v && r->sreq.version_max == v,
	    "handshake.c v%d: server opens ch", v);
	memcpy(r->s.eph_priv, in->s_priv, 32);
	check(hs_server_hello(&r->s, &in->info, 1, r->sh) == 0 &&
	    vs_eq(vs, "sh", r->sh, SH_LEN),
	    "handshake.c v%d: ServerHello = sh", v);
	check(hs_client_finish(&r->c, r->sh, &r->cinfo, r->cf, &r->ck) == 0 &&
	    memcmp(&r->cinfo, &in->info, sizeof(r->cinfo)) == 0 &&
	    vs_eq(vs, "cf", r->cf, 32), "handshake.c v%d: client finish, cf",
	    v);
	check(hs_server_finish(&r->s, r->cf, &r->sk) == 0,
	    "handshake.c v%d: server finish", v);
	check(traffic_eq(vs, "c2s", &r->ck.c2s) &&
	    traffic_eq(vs, "s2c", &r->ck.s2c) &&
	    memcmp(&r->ck, &r->sk, sizeof(r->ck)) == 0,
	    "handshake.c v%d: traffic keys, both sides", v);
}

static int
read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		if ((n = read(fd, buf + got, len - got)) <= 0)
			return -1;
		got += n;
	}
	return 0;
}

static int
sent_as(int rawfd, const struct vecset *vs, const char *name)
{
	uint8_t buf[VEC_LEN];
	int i = vs_find(vs, name);

	return i >= 0 && read_exact(rawfd, buf, vs->v[i].len) == 0 &&
	    memcmp(buf, vs->v[i].val, vs->v[i].len) == 0;
}

/* Feeds a vector to the peer's raw end; the conn must read content. */
static int
received_as(struct record_conn *rc, int rawfd, const struct vecset *vs,
    const char *rec, const char *content)
{
	uint8_t buf[VEC_LEN];
	int i = vs_find(vs, rec), j = vs_find(vs, content);

	if (i < 0 || j < 0 || write(rawfd, vs->v[i].val, vs->v[i].len) !=
	    (ssize_t)vs->v[i].len)
		return 0;
	return record_recv(rc, buf, vs->v[j].len) == 1 &&
	    memcmp(buf, vs->v[j].val, vs->v[j].len) == 0;
}

/* The records through record.c; a and b are socketpairs (conn, raw). */
static void
real_records(const struct real_hs *r, const struct vecset *vs, int a[2],
    int b[2])
{
	struct record_conn cc, sc;
	struct nd_request rq;
	struct nd_reply rp;
	struct reply rr = { ND_OK, 1 };
	uint8_t data[32];
	struct iovec iov[2] = { { &rp, sizeof(rp) }, { data, sizeof(data) } };

	check(record_init(&cc, a[0], &r->ck, 0) == 0 &&
	    record_init(&sc, b[0], &r->sk, 1) == 0, "record_init");
	cc.rekey_limit = sc.rekey_limit = 2;
	read_request(&rq, 1, 4096);
	check(record_send(&cc, &rq, sizeof(rq)) == 0 &&
	    sent_as(a[1], vs, "c2s_rec0"), "record.c: c2s_rec0");
	reply_encode(&rr, &rp);
	memset(data, 0xaa, sizeof(data));
	check(record_sendv(&sc, iov, 2) == 0 && sent_as(b[1], vs, "s2c_rec0"),
	    "record.c: s2c_rec0 (one record from two iovecs)");
	read_request(&rq, 2, 8192);
	check(record_send(&cc, &rq, sizeof(rq)) == 0 &&
	    sent_as(a[1], vs, "c2s_rec1_keyupdate") &&
	    sent_as(a[1], vs, "c2s_upd_rec0") && cc.tx_updates == 1 &&
	    traffic_eq(vs, "c2s_upd", &cc.tx.traffic),
	    "record.c: KeyUpdate record, updated c2s keys, c2s_upd_rec0");
	check(received_as(&sc, b[1], vs, "c2s_rec0", "c2s_rec0_content") &&
	    received_as(&cc, a[1], vs, "s2c_rec0", "s2c_rec0_content"),
	    "record.c: receives c2s_rec0 and s2c_rec0");
	check(write(b[1], vs->v[vs_find(vs, "c2s_rec1_keyupdate")].val, 27) == 27 &&
	    received_as(&sc, b[1], vs, "c2s_upd_rec0", "c2s_upd_rec0_content") &&
	    sc.rx_updates == 1, "record.c: receives the KeyUpdate and c2s_upd_rec0");
	record_free(&cc);
	record_free(&sc);
}

static void
check_real(const struct inputs *in, const struct vecset *vs)
{
	struct real_hs r;
	struct hs_traffic t;
	int a[2], b[2];

	real_handshake(&r, in, vs);
	t = r.ck.c2s;
	hs_traffic_update(&t);
	check(traffic_eq(vs, "c2s_upd", &t), "handshake.c: hs_traffic_update");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b) == -1) {
		check(0, "socketpair: %s", strerror(errno));
		return;
	}
	real_records(&r, vs, a, b);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	hs_state_clear(&r.c);
	hs_state_clear(&r.s);
}

static const char vec_header[] =
"# netdisk protocol v2 test vectors (docs/protocol.md).\n"
"# Generated by `t/unit_handshake --generate`; checked by t/unit_handshake.\n"
"# Every value is hex; multi-byte integers inside messages are big-endian.\n"
"#\n"
"# Inputs:\n"
"#   psk             = 00 01 02 .. 1f\n"
"#   client_eph_priv = 20 21 .. 3f  (clamped per RFC 7748 when used)\n"
"#   server_eph_priv = 40 41 .. 5f  (clamped per RFC 7748 when used)\n"
"#   client_id       = 60 61 .. 6f\n"
"#   ClientHello: versions 2..2, export name \"demo\", options 0, conn 3\n"
"#   ServerHello: version 2, status OK (0), flags FLUSH|FUA|TRIM|\n"
"#     WRITE_ZEROES|MULTI_CONN (0x3e), size 64 MiB, min_block 512,\n"
"#     pref_block 4096, max_payload 1 MiB, export_id = 70 71 .. 7f\n"
"#\n"
"# Key schedule: early = Extract(0^32, psk); th_ch = SHA256(ch_hdr);\n"
"#   c_hello = Expand-Label(early, \"c hello\", th_ch); ch_key/ch_iv from it;\n"
"#   dh = X25519(server_eph_priv, client_eph_pub);\n"
"#   early_derived = Expand-Label(early, \"derived\", \"\"); hs = Extract(early_derived, dh);\n"
"#   th_sh = SHA256(ch || sh_hdr); s_hs = Expand-Label(hs, \"s hs\", th_sh);\n"
"#   finished_key = Expand-Label(hs, \"c finished\", \"\"); th_ch_sh = SHA256(ch || sh);\n"
"#   cf = HMAC(finished_key, th_ch_sh); th_ap = SHA256(ch || sh || cf);\n"
"#   hs_derived = Expand-Label(hs, \"derived\", \"\"); master = Extract(hs_derived, 0^32);\n"
"#   c2s/s2c_secret = Expand-Label(master, \"c ap\"/\"s ap\", th_ap).\n"
"#   Labels carry the prefix \"nd1 \".\n"
"#\n"
"# Records:\n"
"#   c2s_rec0: c2s seq 0, nd_request READ handle 1 offset 4096 length 4096\n"
"#   s2c_rec0: s2c seq 0, nd_reply OK handle 1 + 32 bytes 0xaa (a short read)\n"
"#   c2s_rec1_keyupdate: c2s seq 1, KeyUpdate (inner type 22, 18 00 00 01 00),\n"
"#     as sent with a rekey limit of 2; c2s_upd_* are the keys after it\n"
"#   c2s_upd_rec0: updated c2s keys, seq 0, READ handle 2 offset 8192 length 4096\n"
"\n";

static const char vec3_header[] =
"# netdisk protocol v3 test vectors (docs/protocol.md, section 4.4).\n"
"# Generated by `t/unit_handshake --generate 3`; checked by t/unit_handshake.\n"
"# Every value is hex; multi-byte integers inside messages are big-endian.\n"
"#\n"
"# Inputs: those of v2.txt, and\n"
"#   server_static_priv = 80 81 .. 9f  (the server's static key; clamped)\n"
"#   ClientHello: versions 3..3, 240 bytes; ServerHello: version 3\n"
"#\n"
"# Key schedule: early = Extract(0^32, psk);\n"
"#   key_id = Expand-Label(early, \"key id\", \"\", 16);\n"
"#   es = X25519(client_eph_priv, server_static_pub);\n"
"#   es_prk = Extract(0^32, es); th_hint = SHA256(server_static_pub || ch_hdr);\n"
"#   c_hint = Expand-Label(es_prk, \"c hint\", th_hint); hint_key/hint_iv from it;\n"
"#   ch[40..72) = AEAD(hint_key, hint_iv, AD = ch_hdr, key_id);\n"
"#   psk_es = Expand-Label(early, \"psk es\", \"\"); pe = Extract(psk_es, es);\n"
"#   th_ch = SHA256(server_static_pub || ch[0..72));\n"
"#   c_hello = Expand-Label(pe, \"c hello\", th_ch); ch_key/ch_iv from it;\n"
"#   ch[72..240) = AEAD(ch_key, ch_iv, AD = ch[0..72), ch_payload);\n"
"#   dh = X25519(server_eph_priv, client_eph_pub);\n"
"#   pe_derived = Expand-Label(pe, \"derived\", \"\"); hs = Extract(pe_derived, dh);\n"
"#   from hs on as in v2.txt, with ch the 240-byte ClientHello.\n"
"#\n"
"# Records: as in v2.txt, under the v3 keys.\n"
"\n";

static int
generate(int version)
{
	static struct vecset vs;
	struct inputs in;
	int i;
	size_t j;

	if (version != ND_VERSION_2 && version != ND_VERSION_3) {
		fprintf(stderr, "unit_handshake: --generate 2 or 3\n");
		return 2;
	}
	gen_mode = 1;
	inputs_init(&in, version);
	compute_vectors(&vs, &in);
	check_real(&in, &vs);
	if (gen_failed)
		return 1;
	fputs(version == ND_VERSION_3 ? vec3_header : vec_header, stdout);
	for (i = 0; i < vs.n; i++) {
		printf("%s = ", vs.v[i].name);
		for (j = 0; j < vs.v[i].len; j++)
			printf("%02x", vs.v[i].val[j]);
		printf("\n");
	}
	return 0;
}

/* "name = hex" lines, '#' comments. */
static int
load_vectors(const char *path, struct vecset *vs)
{
	static char names[VEC_MAX][64];
	char line[2048], hex[2048];
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (vs->n == VEC_MAX || sscanf(line, "%63s = %2047s",
		    names[vs->n], hex) != 2)
			break;
		vs->v[vs->n].name = names[vs->n];
		vs->v[vs->n].len = unhex(vs->v[vs->n].val, VEC_LEN, hex);
		if (strlen(hex) != 2 * vs->v[vs->n].len)
			break;
		vs->n++;
	}
	fclose(f);
	return 0;
}

static void
test_vectors(const char *top, int version)
{
	static struct vecset want, got;
	struct inputs in;
	char path[4096];
	int i, j;

	memset(&want, 0, sizeof(want));
	memset(&got, 0, sizeof(got));
	snprintf(path, sizeof(path), "%s/t/vectors/v%d.txt", top, version);
	inputs_init(&in, version);
	compute_vectors(&got, &in);
	i = load_vectors(path, &want);
	if (!ok(i == 0 && want.n == got.n, "%s: %d vectors (computed %d)",
	    path, want.n, got.n))
		return;
	for (i = 0; i < got.n; i++) {
		j = vs_find(&want, got.v[i].name);
		ok(j >= 0 && want.v[j].len == got.v[i].len &&
		    memcmp(want.v[j].val, got.v[i].val, got.v[i].len) == 0,
		    "v%d vector %s", version, got.v[i].name);
	}
	check_real(&in, &want);
}

/* (c) Full handshakes in memory. */

struct run {
	uint8_t psk[32];
	struct hs_request req, sreq;
	struct hs_export_info info, cinfo;
	struct hs_state c, s;
	uint8_t ch[ND_CLIENT_HELLO_MAX], sh[SH_LEN], cf[32];
	struct hs_keys ck, sk;
};

static void
run_init(struct run *r)
{
	struct inputs in;

	memset(r, 0, sizeof(*r));
	inputs_init(&in, ND_VERSION_2);
	crypto_random(r->psk, 32);
	r->req = in.req;
	r->info = in.info;
}

/* Client hello and server open: the key index or -1. */
static int
run_open(struct run *r, const uint8_t (*keys)[32], size_t nkeys)
{
	if (hs_client_hello(&r->c, r->psk, &r->req, 0, r->ch) == -1)
		return -2;
	return hs_server_open_hello(&r->s, r->ch, keys, nkeys, &r->sreq);
}

static int
run_full(struct run *r)
{
	const uint8_t (*keys)[32] = &r->psk;

	if (run_open(r, keys, 1) != 0 ||
	    hs_server_hello(&r->s, &r->info, 0, r->sh) == -1 ||
	    hs_client_finish(&r->c, r->sh, &r->cinfo, r->cf, &r->ck) == -1)
		return -1;
	if (r->cinfo.status != ND_HS_OK)
		return 0;
	return hs_server_finish(&r->s, r->cf, &r->sk);
}

static int
all_zero(const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0 && p[len - 1] == 0)
		len--;
	return len == 0;
}

static int
is_wiped(const struct hs_state *st)
{
	return all_zero(st->eph_priv, 32) && all_zero(st->psk, 32) &&
	    all_zero(st->hs_secret, 32) && all_zero(st->base, 32);
}

static void
test_success(void)
{
	struct run r, r2;

	run_init(&r);
	ok(run_full(&r) == 0, "handshake succeeds");
	ok(memcmp(&r.ck.c2s, &r.sk.c2s, sizeof(r.ck.c2s)) == 0 &&
	    memcmp(&r.ck.s2c, &r.sk.s2c, sizeof(r.ck.s2c)) == 0,
	    "client and server keys match per direction");
	ok(memcmp(r.ck.c2s.key, r.ck.s2c.key, 32) != 0 &&
	    memcmp(r.ck.c2s.iv, r.ck.s2c.iv, 12) != 0,
	    "the two directions have different keys");
	ok(memcmp(&r.cinfo, &r.info, sizeof(r.info)) == 0,
	    "client receives the export info");
	ok(strcmp(r.sreq.name, "demo") == 0 && r.sreq.name_len == 4 &&
	    memcmp(r.sreq.client_id, r.req.client_id, 16) == 0 &&
	    r.sreq.conn == 3 &&
	    r.sreq.version_min == 2 && r.sreq.version_max == 2,
	    "server receives the request");
	r2 = r;
	memset(&r2.c, 0, sizeof(r2.c));
	memset(&r2.s, 0, sizeof(r2.s));
	ok(run_full(&r2) == 0 && memcmp(r2.ch, r.ch, CH_LEN) != 0 &&
	    memcmp(&r2.ck, &r.ck, sizeof(r.ck)) != 0,
	    "fresh ephemerals give fresh messages and keys");
	ok(is_wiped(&r.c) && is_wiped(&r.s), "finished states hold no secret");
}

static void
test_keys(void)
{
	uint8_t keys[4][32];
	struct run r;

	run_init(&r);
	crypto_random(keys, sizeof(keys));
	errno = 0;
	ok(run_open(&r, (const uint8_t (*)[32])keys, 4) == -1 &&
	    errno == EACCES, "wrong PSK: the server cannot open the hello");
	hs_state_clear(&r.c);
	memcpy(keys[2], r.psk, 32);
	ok(run_open(&r, (const uint8_t (*)[32])keys, 4) == 2,
	    "the server finds the right key among 4 candidates (index 2)");
	hs_state_clear(&r.c);
	hs_state_clear(&r.s);
	ok(run_open(&r, (const uint8_t (*)[32])keys, 0) == -1,
	    "no candidate keys: the hello does not open");
}

/* Every single-bit change in [from, to) of the CH fails to open. */
static int
ch_tamper(struct run *r, size_t from, size_t to)
{
	const uint8_t (*keys)[32] = &r->psk;
	struct hs_request req;
	struct hs_state s;
	size_t i;
	int bad = 0;

	for (i = from; i < to; i++) {
		memset(&s, 0, sizeof(s));
		r->ch[i] ^= 1 << (i % 8);
		if (hs_server_open_hello(&s, r->ch, keys, 1, &req) != -1)
			bad++;
		r->ch[i] ^= 1 << (i % 8);
	}
	return bad == 0;
}

static void
test_tamper_ch(void)
{
	const uint8_t (*keys)[32];
	struct run r;

	run_init(&r);
	keys = &r.psk;
	ok(run_open(&r, keys, 1) == 0, "untampered hello opens");
	ok(ch_tamper(&r, 0, HDR_LEN), "every flipped bit in the CH header fails");
	ok(ch_tamper(&r, HDR_LEN, HDR_LEN + CP_LEN),
	    "every flipped bit in the CH ciphertext fails");
	ok(ch_tamper(&r, HDR_LEN + CP_LEN, CH_LEN),
	    "every flipped bit in the CH tag fails");
}

static void
test_tamper_sh(void)
{
	struct hs_export_info info;
	struct hs_keys k;
	struct hs_state saved;
	uint8_t cf[32];
	struct run r;
	size_t i, bad = 0;

	run_init(&r);
	ok(run_open(&r, &r.psk, 1) == 0 &&
	    hs_server_hello(&r.s, &r.info, 0, r.sh) == 0, "server hello");
	saved = r.c;
	for (i = 0; i < SH_LEN; i++) {
		r.c = saved;
		r.sh[i] ^= 0x80 >> (i % 8);
		if (hs_client_finish(&r.c, r.sh, &info, cf, &k) != -1 ||
		    !all_zero(&k, sizeof(k)))
			bad++;
		r.sh[i] ^= 0x80 >> (i % 8);
	}
	ok(bad == 0, "every flipped bit in the SH fails at the client");
	r.c = saved;
	ok(hs_client_finish(&r.c, r.sh, &info, cf, &k) == 0,
	    "the untampered SH still succeeds");
	hs_keys_clear(&k);
}

static void
test_bad_cf(void)
{
	struct hs_state saved;
	struct run r;
	size_t i, bad = 0;

	run_init(&r);
	ok(run_open(&r, &r.psk, 1) == 0 &&
	    hs_server_hello(&r.s, &r.info, 0, r.sh) == 0 &&
	    hs_client_finish(&r.c, r.sh, &r.cinfo, r.cf, &r.ck) == 0,
	    "handshake up to the ClientFinished");
	saved = r.s;
	for (i = 0; i < 8 * 32; i++) {
		r.s = saved;
		r.cf[i / 8] ^= 1 << (i % 8);
		if (hs_server_finish(&r.s, r.cf, &r.sk) != -1 ||
		    !all_zero(&r.sk, sizeof(r.sk)))
			bad++;
		r.cf[i / 8] ^= 1 << (i % 8);
	}
	ok(bad == 0, "every flipped bit in the CF fails at the server");
	r.s = saved;
	ok(hs_server_finish(&r.s, zero32, &r.sk) == -1, "an all-zero CF fails");
	r.s = saved;
	ok(hs_server_finish(&r.s, r.cf, &r.sk) == 0 &&
	    memcmp(&r.sk, &r.ck, sizeof(r.sk)) == 0, "the right CF succeeds");
}

static int
check_hdr(uint8_t vmin, uint8_t vmax, uint16_t len, uint32_t magic,
    uint8_t *v)
{
	uint8_t hdr[8];

	magic = htobe32(magic);
	memcpy(hdr, &magic, 4);
	hdr[4] = vmin;
	hdr[5] = vmax;
	hdr[6] = len >> 8;
	hdr[7] = len & 0xff;
	*v = 0;
	errno = 0;
	return hs_server_check_hdr(hdr, ND_VERSION_2, ND_VERSION_2, v);
}

static void
test_versions(void)
{
	uint8_t v, rej[SH_LEN], mn, mx, cf[32];
	struct hs_export_info info;
	struct hs_keys k;
	struct run r;

	ok(check_hdr(2, 2, CH_LEN, ND_HELLO_MAGIC, &v) == 0 && v == 2,
	    "versions 2..2: version 2");
	ok(check_hdr(0, 9, CH_LEN, ND_HELLO_MAGIC, &v) == 0 && v == 2,
	    "versions 0..9: version 2");
	ok(check_hdr(1, 1, CH_LEN, ND_HELLO_MAGIC, &v) == -1 &&
	    errno == EPROTONOSUPPORT,
	    "versions 1..1 (v1 has no fencing): EPROTONOSUPPORT");
	ok(check_hdr(3, 4, CH_LEN, ND_HELLO_MAGIC, &v) == -1 &&
	    errno == EPROTONOSUPPORT, "versions 3..4: EPROTONOSUPPORT");
	ok(check_hdr(3, 4, 300, ND_HELLO_MAGIC, &v) == -1 &&
	    errno == EPROTONOSUPPORT,
	    "versions 3..4 with another length: EPROTONOSUPPORT");
	ok(check_hdr(0, 0, CH_LEN, ND_HELLO_MAGIC, &v) == -1 &&
	    errno == EPROTONOSUPPORT, "versions 0..0: EPROTONOSUPPORT");
	ok(check_hdr(2, 1, CH_LEN, ND_HELLO_MAGIC, &v) == -1 &&
	    errno == EBADMSG, "versions 2..1: EBADMSG");
	ok(check_hdr(2, 2, CH_LEN + 1, ND_HELLO_MAGIC, &v) == -1 &&
	    errno == EBADMSG, "wrong length: EBADMSG");
	ok(check_hdr(2, 2, CH_LEN, 0x47455420, &v) == -1 && errno == EBADMSG,
	    "bad magic (\"GET \"): EBADMSG");
	memset(rej, 0xee, sizeof(rej));
	hs_server_reject(rej, ND_VERSION_2, ND_VERSION_2);
	ok(rej[6] == 0 && rej[7] == 40 && all_zero(rej + 8, 32) &&
	    hs_parse_reject(rej, 40, &mn, &mx) == 0 && mn == 2 && mx == 2,
	    "hs_server_reject / hs_parse_reject round trip");
	ok(hs_parse_reject(rej, 39, &mn, &mx) == -1,
	    "hs_parse_reject refuses a short message");
	run_init(&r);
	r.req.version_min = 3;
	r.req.version_max = 4;
	ok(hs_client_hello(&r.c, r.psk, &r.req, 0, r.ch) == 0 &&
	    hs_server_check_hdr(r.ch, ND_VERSION_2, ND_VERSION_2, &v) == -1 && errno == EPROTONOSUPPORT,
	    "a client offering 3..4 is refused with EPROTONOSUPPORT");
	errno = 0;
	ok(hs_client_finish(&r.c, rej, &info, cf, &k) == -1 &&
	    errno == EPROTONOSUPPORT, "the client sees EPROTONOSUPPORT");
	ok(hs_parse_reject(r.sh, SH_LEN, &mn, &mx) == -1,
	    "hs_parse_reject refuses a ServerHello-sized zero buffer");
	hs_state_clear(&r.c);
}

static void
test_bad_magic_open(void)
{
	struct run r;

	run_init(&r);
	ok(run_open(&r, &r.psk, 1) == 0, "hello opens");
	r.ch[0] ^= 0xff;
	errno = 0;
	ok(hs_server_open_hello(&r.s, r.ch, &r.psk, 1, &r.sreq) == -1 &&
	    errno == EBADMSG, "bad magic: hs_server_open_hello EBADMSG");
}

/* A hello authentic under psk with the given ephemeral and payload. */
static void
craft_ch(uint8_t ch[CH_LEN], const uint8_t psk[32], const uint8_t eph[32],
    const uint8_t cp[CP_LEN])
{
	uint8_t hdr[40];

	t_hdr(hdr, 2, 2, CH_LEN, eph);
	t_make_ch(ch, psk, hdr, cp, NULL);
}

static void
test_low_order(void)
{
	struct hs_export_info info;
	struct hs_keys k;
	uint8_t cp[CP_LEN], sp[SP_LEN], hdr[40], hs[32], cf[32], early[32];
	struct run r;

	run_init(&r);
	t_client_payload(cp, r.req.client_id, 0, 4, "demo", 0);
	craft_ch(r.ch, r.psk, zero32, cp);
	ok(hs_server_open_hello(&r.s, r.ch, &r.psk, 1, &r.sreq) == 0,
	    "a hello with an all-zero ephemeral authenticates");
	ok(hs_server_hello(&r.s, &r.info, 0, r.sh) == -1,
	    "the server refuses the all-zero client ephemeral");
	run_init(&r);
	ok(hs_client_hello(&r.c, r.psk, &r.req, 0, r.ch) == 0, "client hello");
	t_hdr(hdr, 2, 2, SH_LEN, zero32);
	t_server_payload(sp, &r.info);
	t_make_sh(r.sh, hs, t_early(early, r.psk), r.ch, CH_LEN, hdr, zero32, sp, NULL);
	ok(hs_client_finish(&r.c, r.sh, &info, cf, &k) == -1,
	    "the client refuses an all-zero server ephemeral");
}

static void
test_status(void)
{
	struct run r;

	run_init(&r);
	r.info.status = ND_HS_BUSY;
	memset(r.cf, 0x55, sizeof(r.cf));
	memset(&r.ck, 0x55, sizeof(r.ck));
	ok(run_full(&r) == 0 && r.cinfo.status == ND_HS_BUSY,
	    "non-OK status: the client sees ND_HS_BUSY");
	ok(r.cinfo.flags == 0 && r.cinfo.size == 0 && r.cinfo.min_block == 0 &&
	    all_zero(r.cinfo.export_id, 16),
	    "non-OK status carries no export info");
	ok(all_zero(&r.ck, sizeof(r.ck)) && all_zero(r.cf, 32),
	    "non-OK status: no keys, no ClientFinished");
	run_init(&r);
	r.info.status = ND_HS_RETRY;
	ok(run_full(&r) == 0 && r.cinfo.status == ND_HS_RETRY,
	    "status RETRY: the server sends it, the client sees it");
	run_init(&r);
	r.info.status = ND_HS_STATUS_MAX + 1;
	ok(run_full(&r) == -1, "the server refuses to send an unknown status");
	run_init(&r);
	r.info.min_block = 100;
	ok(run_full(&r) == -1, "the server refuses a bad min_block");
}

/*
 * A ServerHello crafted here, authentic for a client that offered
 * versions omin..omax, with version fields smin, smax: 1 if accepted.
 */
static int
client_accepts_v(const struct hs_export_info *si, uint8_t omin, uint8_t omax,
    uint8_t smin, uint8_t smax)
{
	struct hs_export_info info;
	struct hs_keys k;
	uint8_t sp[SP_LEN], hdr[40], hs[32], cf[32], dh[32], priv[32], pub[32];
	uint8_t early[32];
	struct run r;
	int rv;

	run_init(&r);
	r.req.version_min = omin;
	r.req.version_max = omax;
	if (hs_client_hello(&r.c, r.psk, &r.req, 0, r.ch) != 0 ||
	    crypto_x25519_keypair(priv, pub) != 0 ||
	    crypto_x25519(dh, priv, r.ch + 8) != 0)
		return -1;
	t_hdr(hdr, smin, smax, SH_LEN, pub);
	t_server_payload(sp, si);
	t_make_sh(r.sh, hs, t_early(early, r.psk), r.ch, CH_LEN, hdr, dh, sp, NULL);
	rv = hs_client_finish(&r.c, r.sh, &info, cf, &k) == 0;
	hs_keys_clear(&k);
	return rv;
}

static int
client_accepts(const struct hs_export_info *si)
{
	return client_accepts_v(si, 2, 2, 2, 2);
}

static void
test_client_checks_info(void)
{
	struct hs_export_info i;
	struct run r;

	run_init(&r);
	i = r.info;
	ok(client_accepts(&i) == 1, "crafted ServerHello accepted");
	i.flags |= 1U << 7;
	ok(client_accepts(&i) == 0, "unknown export flag refused");
	i = r.info;
	i.min_block = 8192;
	ok(client_accepts(&i) == 0, "min_block 8192 refused");
	i = r.info;
	i.pref_block = 256;
	ok(client_accepts(&i) == 0, "pref_block below min_block refused");
	i = r.info;
	i.max_payload = 0;
	ok(client_accepts(&i) == 0, "max_payload 0 refused");
	i = r.info;
	i.status = ND_HS_DENIED;
	ok(client_accepts(&i) == 0, "non-OK status with export info refused");
	memset(&i, 0, sizeof(i));
	i.status = ND_HS_RETRY;
	ok(client_accepts(&i) == 1, "status RETRY (6) accepted");
	i.status = ND_HS_STATUS_MAX + 1;
	ok(client_accepts(&i) == 0, "unknown status refused");
	ok(client_accepts_v(&r.info, 0, 0, 2, 2) == 1,
	    "versions 0..0 in hs_request mean this implementation's range");
	ok(client_accepts_v(&r.info, 3, 4, 2, 2) == 0,
	    "the client refuses a version it did not offer");
	ok(client_accepts_v(&r.info, 2, 3, 3, 3) == 0,
	    "the client refuses a version it does not implement");
	ok(client_accepts_v(&r.info, 1, 1, 1, 1) == 0,
	    "the client refuses version 1");
	ok(client_accepts_v(&r.info, 2, 2, 2, 3) == 0,
	    "the client refuses a ServerHello with a version range");
}

/* nd_server_payload_invalid on a payload with the given fields. */
struct sp_case {
	uint32_t status, flags, min, pref, max, reserved;
	uint64_t size;
	uint8_t id0;
	int valid;
	const char *what;
};

static const struct sp_case sp_cases[] = {
	{ 0, ND_FLAG_ALL, 512, 4096, 1 << 20, 0, 1 << 30, 0x70, 1,
	    "OK, every flag, 512/4096/1 MiB: valid" },
	{ 0, 0, 4096, 4096, 4096, 0, 0, 0, 1,
	    "OK, min = pref = max_payload = 4096, size 0: valid" },
	{ 0, 0, 512, 1U << 17, 1 << 20, 0, 1 << 30, 1, 1,
	    "OK, pref_block 128 KiB: valid (no upper bound, section 5.3)" },
	{ 0, 0, 512, 1U << 31, 1 << 20, 0, 1 << 30, 1, 1,
	    "OK, pref_block 2 GiB: valid" },
	{ 0, 0, 512, 512, 512, 0, 1 << 30, 1, 1,
	    "OK, max_payload = min_block: valid" },
	{ 0, 0, 512, 512, 0xffffffffU, 0, 1 << 30, 1, 1,
	    "OK, max_payload 4 GiB - 1: valid" },
	{ 0, ND_FLAG_ALL + 1, 512, 4096, 1 << 20, 0, 1 << 30, 1, 0,
	    "OK, the lowest unknown flag bit: refused" },
	{ 0, 0, 256, 4096, 1 << 20, 0, 1 << 30, 1, 0, "min_block 256: refused" },
	{ 0, 0, 8192, 8192, 1 << 20, 0, 1 << 30, 1, 0,
	    "min_block 8192: refused" },
	{ 0, 0, 1536, 4096, 1 << 20, 0, 1 << 30, 1, 0,
	    "min_block 1536 (not a power of two): refused" },
	{ 0, 0, 0, 4096, 1 << 20, 0, 1 << 30, 1, 0, "min_block 0: refused" },
	{ 0, 0, 4096, 2048, 1 << 20, 0, 1 << 30, 1, 0,
	    "pref_block below min_block: refused" },
	{ 0, 0, 512, 12288, 1 << 20, 0, 1 << 30, 1, 0,
	    "pref_block 12288 (not a power of two): refused" },
	{ 0, 0, 512, 0, 1 << 20, 0, 1 << 30, 1, 0, "pref_block 0: refused" },
	{ 0, 0, 4096, 4096, 2048, 0, 1 << 30, 1, 0,
	    "max_payload below min_block: refused" },
	{ 0, 0, 512, 4096, 0, 0, 1 << 30, 1, 0, "max_payload 0: refused" },
	{ 0, 0, 512, 4096, 1 << 20, 1, 1 << 30, 1, 0,
	    "OK with reserved 1: refused" },
	{ ND_HS_STATUS_MAX + 1, 0, 0, 0, 0, 0, 0, 0, 0,
	    "unknown status: refused" },
	{ ND_HS_BUSY, 0, 0, 0, 0, 0, 0, 0, 1, "BUSY, all zero: valid" },
	{ ND_HS_STATUS_MAX, 0, 0, 0, 0, 0, 0, 0, 1,
	    "highest status, all zero: valid" },
	{ ND_HS_BUSY, 0, 0, 0, 0, 1, 0, 0, 0, "BUSY with reserved 1: refused" },
	{ ND_HS_DENIED, ND_FLAG_READ_ONLY, 0, 0, 0, 0, 0, 0, 0,
	    "DENIED with flags: refused" },
	{ ND_HS_DENIED, 0, 0, 0, 0, 0, 1 << 20, 0, 0,
	    "DENIED with a size: refused" },
	{ ND_HS_DENIED, 0, 512, 0, 0, 0, 0, 0, 0,
	    "DENIED with min_block: refused" },
	{ ND_HS_DENIED, 0, 0, 4096, 0, 0, 0, 0, 0,
	    "DENIED with pref_block: refused" },
	{ ND_HS_DENIED, 0, 0, 0, 1 << 20, 0, 0, 0, 0,
	    "DENIED with max_payload: refused" },
	{ ND_HS_DENIED, 0, 0, 0, 0, 0, 0, 0x80, 0,
	    "DENIED with an export_id: refused" },
};

static void
test_server_payload_rules(void)
{
	const struct sp_case *c;
	struct nd_server_payload p;
	size_t i;

	for (i = 0; i < sizeof(sp_cases) / sizeof(sp_cases[0]); i++) {
		c = &sp_cases[i];
		memset(&p, 0, sizeof(p));
		p.status = htobe32(c->status);
		p.flags = htobe32(c->flags);
		p.size = htobe64(c->size);
		p.min_block = htobe32(c->min);
		p.pref_block = htobe32(c->pref);
		p.max_payload = htobe32(c->max);
		p.reserved = htobe32(c->reserved);
		p.export_id[ND_EXPORT_ID_LEN - 1] = c->id0;
		ok((nd_server_payload_invalid(&p) == NULL) == c->valid,
		    "nd_server_payload_invalid: %s", c->what);
	}
}

/* The same rules through both sides of handshake.c. */
static void
test_server_payload_sides(void)
{
	struct hs_export_info i;
	struct run r;

	run_init(&r);
	i = r.info;
	i.pref_block = 1U << 17;
	ok(client_accepts(&i) == 1, "the client accepts pref_block 128 KiB");
	r.info = i;
	ok(run_full(&r) == 0 && r.cinfo.pref_block == 1U << 17,
	    "the server sends pref_block 128 KiB");
	run_init(&r);
	r.info.pref_block = 12288;
	ok(run_full(&r) == -1, "the server refuses pref_block 12288");
	run_init(&r);
	r.info.max_payload = 256;
	ok(run_full(&r) == -1,
	    "the server refuses max_payload below min_block");
	i = r.info;
	i.status = ND_HS_UNAVAILABLE;
	memset(i.export_id, 0, sizeof(i.export_id));
	i.flags = i.min_block = i.pref_block = i.max_payload = 0;
	ok(client_accepts(&i) == 0,
	    "the client refuses UNAVAILABLE with a size");
	i.size = 0;
	ok(client_accepts(&i) == 1, "the client accepts UNAVAILABLE, all zero");
}

static void
test_options(void)
{
	struct run r;

	run_init(&r);
	r.req.options = ND_OPT_READ_ONLY | 0x80000000U;
	ok(run_open(&r, &r.psk, 1) == 0 &&
	    r.sreq.options == (ND_OPT_READ_ONLY | 0x80000000U),
	    "unknown option bits reach the server caller");
	ok(hs_request_check(&r.sreq) == ND_HS_BAD_OPTIONS,
	    "unknown option bits: BAD_OPTIONS");
	r.sreq.options = ND_OPT_READ_ONLY;
	ok(hs_request_check(&r.sreq) == ND_HS_OK, "read-only option: OK");
}

/*
 * A whole handshake whose ServerHello carries the flags the server
 * answers a request with (hs_server_flags): 1 if the client sees
 * ND_FLAG_BLOCK_STATUS, 0 if not, -1 if the handshake fails.
 */
static int
run_block_status(uint32_t options, uint32_t export_flags)
{
	struct run r;

	run_init(&r);
	r.req.options = options;
	if (run_open(&r, &r.psk, 1) != 0 ||
	    hs_request_check(&r.sreq) != ND_HS_OK)
		return -1;
	r.info.flags = hs_server_flags(export_flags, r.sreq.options);
	if (hs_server_hello(&r.s, &r.info, 0, r.sh) == -1 ||
	    hs_client_finish(&r.c, r.sh, &r.cinfo, r.cf, &r.ck) == -1 ||
	    hs_server_finish(&r.s, r.cf, &r.sk) == -1 ||
	    nd_server_flags_unasked(r.cinfo.flags, options))
		return -1;
	return (r.cinfo.flags & ND_FLAG_BLOCK_STATUS) != 0;
}

/* ND_OPT_BLOCK_STATUS gets ND_FLAG_BLOCK_STATUS; nobody else sees it. */
static void
test_block_status_option(void)
{
	ok(ND_OPT_BLOCK_STATUS == 2 && ND_FLAG_BLOCK_STATUS == 0x40 &&
	    ND_OPT_ALL == 3 && ND_FLAG_ALL == 0x7f,
	    "block status: option bit 1, flag bit 6, the masks");
	ok(run_block_status(ND_OPT_BLOCK_STATUS, ND_FLAG_FLUSH) == 1,
	    "a client asking ND_OPT_BLOCK_STATUS gets ND_FLAG_BLOCK_STATUS");
	ok(run_block_status(ND_OPT_BLOCK_STATUS | ND_OPT_READ_ONLY,
	    ND_FLAG_READ_ONLY) == 1, "... also read-only");
	ok(run_block_status(0, ND_FLAG_FLUSH) == 0,
	    "a client not asking does not see the flag");
	ok(run_block_status(ND_OPT_READ_ONLY, ND_FLAG_ALL) == 0,
	    "... whatever flags the export has");
	ok(hs_server_flags(ND_FLAG_FLUSH, 0) == ND_FLAG_FLUSH &&
	    hs_server_flags(ND_FLAG_FLUSH, ND_OPT_BLOCK_STATUS) ==
	    (ND_FLAG_FLUSH | ND_FLAG_BLOCK_STATUS),
	    "hs_server_flags adds the answer and nothing else");
	ok(nd_server_flags_unasked(ND_FLAG_BLOCK_STATUS, 0) &&
	    !nd_server_flags_unasked(ND_FLAG_BLOCK_STATUS,
	    ND_OPT_BLOCK_STATUS) && !nd_server_flags_unasked(ND_FLAG_FLUSH, 0),
	    "a client refuses ND_FLAG_BLOCK_STATUS it did not ask for");
}

/* The connection slot, as the server caller sees it. */
static void
test_conn(void)
{
	static const uint16_t conns[] = { 0, 1, ND_CONN_SLOTS - 1,
	    ND_CONN_SLOTS, 0xffff };
	struct run r;
	size_t i;
	int in_range;

	for (i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		run_init(&r);
		r.req.conn = conns[i];
		in_range = conns[i] < ND_CONN_SLOTS;
		ok(run_open(&r, &r.psk, 1) == 0 && r.sreq.conn == conns[i] &&
		    hs_request_check(&r.sreq) ==
		    (in_range ? ND_HS_OK : ND_HS_BAD_OPTIONS),
		    "conn %u reaches the server: %s", conns[i],
		    in_range ? "OK" : "BAD_OPTIONS");
		hs_state_clear(&r.c);
		hs_state_clear(&r.s);
	}
}

/* Opens a crafted hello with the given payload fields. */
static int
open_payload(uint16_t name_len, const char *name, uint16_t conn)
{
	uint8_t cp[CP_LEN];
	struct run r;

	run_init(&r);
	t_client_payload(cp, r.req.client_id, 0, name_len, name, conn);
	craft_ch(r.ch, r.psk, r.psk, cp);
	errno = 0;
	return hs_server_open_hello(&r.s, r.ch, &r.psk, 1, &r.sreq);
}

static void
test_payload_checks(void)
{
	char name[ND_NAME_MAX + 2];
	struct run r;

	memset(name, 'a', sizeof(name));
	name[ND_NAME_MAX] = '\0';
	ok(open_payload(4, "demo", 0) == 0, "crafted hello opens");
	ok(open_payload(ND_NAME_MAX, name, 0) == 0, "name of 128 bytes opens");
	ok(open_payload(0, "", 0) == -1 && errno == EBADMSG,
	    "name_len 0 refused");
	ok(open_payload(ND_NAME_MAX + 1, name, 0) == -1, "name_len 129 refused");
	ok(open_payload(3, "demo", 0) == -1, "non-zero padding refused");
	ok(open_payload(4, "de", 0) == -1, "NUL inside the name refused");
	ok(open_payload(4, "demo", 0xffff) == 0,
	    "any conn opens (the caller checks the range)");
	run_init(&r);
	r.req.name_len = 0;
	ok(hs_client_hello(&r.c, r.psk, &r.req, 0, r.ch) == -1,
	    "the client refuses name_len 0");
	r.req.name_len = ND_NAME_MAX + 1;
	ok(hs_client_hello(&r.c, r.psk, &r.req, 0, r.ch) == -1,
	    "the client refuses name_len 129");
}

#define THREADS		8
#define PER_THREAD	25

static void *
handshake_thread(void *arg)
{
	int *failed = arg, i;
	struct run r;

	for (i = 0; i < PER_THREAD; i++) {
		run_init(&r);
		if (run_full(&r) != 0 || memcmp(&r.ck, &r.sk, sizeof(r.ck)) != 0)
			(*failed)++;
	}
	return NULL;
}

static void
test_threads(void)
{
	pthread_t t[THREADS];
	int failed[THREADS] = { 0 }, i, n = 0;

	for (i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, handshake_thread, &failed[i]))
			failed[i] = PER_THREAD;
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		n += failed[i];
	}
	ok(n == 0, "%d handshakes in %d threads at once: %d failed",
	    THREADS * PER_THREAD, THREADS, n);
}

/* (d) Version 3: the key hint and the key ring. */

struct run3 {
	struct run r;
	uint8_t st_priv[32], st_pub[32];
	struct hs_psk *psks;
	size_t n;
	struct hs_keyring *kr;
};

static size_t v3_tries, v3_last;

static void
v3_hook(size_t i)
{
	v3_tries++;
	v3_last = i;
}

/*
 * A ring of n random keys and a static key; the client's key is key
 * number client (none if client >= n).
 */
static void
run3_init(struct run3 *t, size_t n, size_t client, uint8_t min_version)
{
	uint8_t k[32];
	size_t i;

	memset(t, 0, sizeof(*t));
	run_init(&t->r);
	t->r.req.version_min = t->r.req.version_max = 0;
	t->n = n;
	if (crypto_x25519_keypair(t->st_priv, t->st_pub) != 0 ||
	    (t->psks = calloc(n + 1, sizeof(*t->psks))) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		crypto_random(k, 32);
		hs_psk_init(&t->psks[i], i == client ? t->r.psk : k);
	}
	t->kr = hs_keyring_new(t->psks, n, t->st_priv, min_version);
	if (t->kr == NULL)
		abort();
}

static void
run3_free(struct run3 *t)
{
	hs_keyring_free(t->kr);
	free(t->psks);
	hs_state_clear(&t->r.c);
	hs_state_clear(&t->r.s);
}

/* The server opens t->r.ch: the key index or -1; counts the opens. */
static int
run3_server(struct run3 *t)
{
	int rv;

	memset(&t->r.s, 0, sizeof(t->r.s));
	v3_tries = 0;
	v3_last = 0;
	hs_trial_hook = v3_hook;
	errno = 0;
	rv = hs_server_open(&t->r.s, t->r.ch, t->kr, &t->r.sreq);
	hs_trial_hook = NULL;
	return rv;
}

/* A v3 hello to the server key spub, opened: as run3_server, -2. */
static int
run3_open(struct run3 *t, const uint8_t spub[32])
{
	if (hs_client_hello_v3(&t->r.c, t->r.psk, spub, &t->r.req, 0,
	    t->r.ch) == -1)
		return -2;
	return run3_server(t);
}

static int
run3_finish(struct run3 *t)
{
	struct run *r = &t->r;

	if (hs_server_hello(&r->s, &r->info, 0, r->sh) == -1 ||
	    hs_client_finish(&r->c, r->sh, &r->cinfo, r->cf, &r->ck) == -1 ||
	    hs_server_finish(&r->s, r->cf, &r->sk) == -1)
		return -1;
	return memcmp(&r->ck, &r->sk, sizeof(r->ck)) == 0 ? 0 : -1;
}

/* Only the dummy key was tried, once: the cost of a failure. */
static int
dummy_only(void)
{
	return v3_tries == 1 && v3_last == SIZE_MAX;
}

static void
test_v3_success(void)
{
	struct run3 t;

	run3_init(&t, 5, 2, ND_VERSION_2);
	ok(run3_open(&t, t.st_pub) == 2 && v3_tries == 1 && v3_last == 2,
	    "v3: the hint finds key 2 of 5 with one payload open");
	ok(t.r.s.version == 3 && t.r.sreq.version_min == 3 &&
	    t.r.sreq.version_max == 3 && strcmp(t.r.sreq.name, "demo") == 0 &&
	    t.r.sreq.conn == 3, "v3: the request, versions 3..3");
	ok(run3_finish(&t) == 0 && t.r.cinfo.status == ND_HS_OK,
	    "v3: handshake completes, both sides have the same keys");
	ok(is_wiped(&t.r.c) && is_wiped(&t.r.s),
	    "v3: secrets wiped on both sides");
	run3_free(&t);
	run3_init(&t, 1000, 999, ND_VERSION_3);
	ok(run3_open(&t, t.st_pub) == 999 && v3_tries == 1,
	    "v3: 1000 keys: the last one found with one payload open");
	run3_free(&t);
}

static void
test_v3_wrong_keys(void)
{
	uint8_t priv[32], pub[32];
	struct run3 t;

	run3_init(&t, 5, 1, ND_VERSION_2);
	crypto_x25519_keypair(priv, pub);
	ok(run3_open(&t, pub) == -1 && errno == EACCES && dummy_only(),
	    "v3: wrong server public key: EACCES after a dummy open");
	run3_free(&t);
	run3_init(&t, 5, 5, ND_VERSION_2);
	ok(run3_open(&t, t.st_pub) == -1 && errno == EACCES && dummy_only(),
	    "v3: hint opens but no key has its id (wrong PSK): EACCES "
	    "after a dummy open");
	run3_free(&t);
	run3_init(&t, 0, 0, ND_VERSION_2);
	ok(run3_open(&t, t.st_pub) == -1 && errno == EACCES && dummy_only(),
	    "v3: no keys at all: EACCES after a dummy open");
	run3_free(&t);
}

/* Flips each bit of ch[from, to): 1 if none opens; dummy: how it failed. */
static int
v3_tamper(struct run3 *t, size_t from, size_t to, int dummy)
{
	size_t i, bad = 0;

	for (i = from; i < to; i++) {
		t->r.ch[i] ^= 1 << (i % 8);
		if (run3_server(t) != -1 || (dummy == 1 && !dummy_only()) ||
		    (dummy == 0 && (v3_tries != 1 || v3_last != 0)))
			bad++;
		t->r.ch[i] ^= 1 << (i % 8);
	}
	return bad == 0;
}

static void
test_v3_tamper(void)
{
	struct run3 t;

	run3_init(&t, 3, 0, ND_VERSION_2);
	ok(run3_open(&t, t.st_pub) == 0, "v3: untampered hello opens");
	ok(v3_tamper(&t, 8, HDR_LEN, -1),
	    "v3: every flipped bit in the ephemeral key fails");
	ok(v3_tamper(&t, HINT_OFF, PL3_OFF, 1),
	    "v3: every flipped bit in the sealed hint fails, after a dummy "
	    "open");
	ok(v3_tamper(&t, PL3_OFF, CH3_LEN, 0),
	    "v3: every flipped bit in the sealed payload fails, after the "
	    "key's open");
	ok(run3_server(&t) == 0, "v3: the untampered hello still opens");
	run3_free(&t);
}

static void
test_v3_replay(void)
{
	uint8_t cf[32];
	struct run3 t;

	run3_init(&t, 2, 1, ND_VERSION_2);
	ok(run3_open(&t, t.st_pub) == 1 && run3_finish(&t) == 0,
	    "v3: a handshake");
	memcpy(cf, t.r.cf, 32);
	ok(run3_server(&t) == 1 &&
	    hs_server_hello(&t.r.s, &t.r.info, 0, t.r.sh) == 0,
	    "v3: a replayed hello opens (netdiskd's replay cache refuses it)");
	ok(hs_server_finish(&t.r.s, cf, &t.r.sk) == -1,
	    "v3: the recorded ClientFinished does not finish the replay");
	run3_free(&t);
}

static int
check_hdr_v(uint8_t vmin, uint8_t vmax, uint16_t len, uint8_t smin,
    uint8_t smax)
{
	uint8_t hdr[8] = { 0x6e, 0x64, 0x68, 0x31 }, v = 0;

	hdr[4] = vmin;
	hdr[5] = vmax;
	hdr[6] = len >> 8;
	hdr[7] = len & 0xff;
	errno = 0;
	return hs_server_check_hdr(hdr, smin, smax, &v) == 0 ? v : -1;
}

static void
test_v3_versions_hdr(void)
{
	ok(check_hdr_v(2, 2, CH_LEN, 2, 3) == 2 &&
	    check_hdr_v(3, 3, CH3_LEN, 2, 3) == 3,
	    "server 2..3: a v2 hello gets 2, a v3 hello 3");
	ok(check_hdr_v(2, 3, CH_LEN, 2, 3) == 2 &&
	    check_hdr_v(2, 3, CH3_LEN, 2, 3) == 3 &&
	    check_hdr_v(1, 9, CH_LEN, 2, 3) == 2,
	    "a range: the version whose hello length was sent");
	ok(check_hdr_v(3, 3, CH_LEN, 2, 3) == -1 && errno == EBADMSG,
	    "versions 3..3 with the v2 length: EBADMSG");
	ok(check_hdr_v(2, 2, CH_LEN, 3, 3) == -1 && errno == EPROTONOSUPPORT,
	    "server 3..3 (min_version 3): a v2 hello gets EPROTONOSUPPORT");
	ok(check_hdr_v(3, 3, CH3_LEN, 2, 2) == -1 &&
	    errno == EPROTONOSUPPORT,
	    "server without a static key: a v3 hello gets EPROTONOSUPPORT");
	ok(check_hdr_v(2, 3, CH_LEN, 3, 3) == -1 && errno == EBADMSG,
	    "server 3..3: 2..3 with the v2 length: EBADMSG");
}

static void
test_v3_versions_ring(void)
{
	struct hs_psk psk;
	struct hs_keyring *kr;
	uint8_t priv[32] = { 1 }, lo, hi;
	struct run3 t;

	hs_psk_init(&psk, priv);
	errno = 0;
	ok(hs_keyring_new(&psk, 1, NULL, 3) == NULL && errno == EINVAL,
	    "a ring with min_version 3 needs a static key");
	lo = hi = 0;
	if ((kr = hs_keyring_new(&psk, 1, NULL, 2)) != NULL)
		hs_keyring_versions(kr, &lo, &hi);
	ok(lo == 2 && hi == 2, "no static key: versions 2..2");
	hs_keyring_free(kr);
	lo = hi = 0;
	if ((kr = hs_keyring_new(&psk, 1, priv, 2)) != NULL)
		hs_keyring_versions(kr, &lo, &hi);
	ok(lo == 2 && hi == 3, "a static key: versions 2..3");
	hs_keyring_free(kr);
	run3_init(&t, 2, 0, ND_VERSION_2);
	ok(hs_client_hello(&t.r.c, t.r.psk, &t.r.req, 0, t.r.ch) == 0 &&
	    run3_server(&t) == 0 && t.r.s.version == 2 && run3_finish(&t) == 0,
	    "ring 2..3: a v2 client is still served");
	run3_free(&t);
	run3_init(&t, 2, 0, ND_VERSION_3);
	ok(hs_client_hello(&t.r.c, t.r.psk, &t.r.req, 0, t.r.ch) == 0 &&
	    run3_server(&t) == -1 && errno == EPROTONOSUPPORT,
	    "ring 3..3: a v2 hello is refused (EPROTONOSUPPORT)");
	run3_free(&t);
}

/* The v3 client against a v2 ServerHello and a version reject. */
static void
test_v3_downgrade(void)
{
	struct hs_export_info info;
	struct hs_keys k;
	uint8_t rej[ND_VERSION_REJECT_LEN], cf[32];
	struct run v2;
	struct hs_state saved;
	struct run3 t;

	run3_init(&t, 1, 0, ND_VERSION_2);
	ok(run3_open(&t, t.st_pub) == 0, "v3 hello");
	saved = t.r.c;
	run_init(&v2);
	memcpy(v2.psk, t.r.psk, 32);
	ok(run_open(&v2, &v2.psk, 1) == 0 &&
	    hs_server_hello(&v2.s, &v2.info, 0, v2.sh) == 0,
	    "a v2 ServerHello under the same PSK");
	ok(hs_client_finish(&t.r.c, v2.sh, &info, cf, &k) == -1 &&
	    errno == EBADMSG, "the v3 client refuses a version 2 ServerHello");
	t.r.c = saved;
	hs_server_reject(rej, 2, 2);
	memset(t.r.sh, 0, sizeof(t.r.sh));
	memcpy(t.r.sh, rej, sizeof(rej));
	ok(hs_client_finish(&t.r.c, t.r.sh, &info, cf, &k) == -1 &&
	    errno == EPROTONOSUPPORT,
	    "the v3 client fails on a version reject 2..2 (no fallback)");
	hs_state_clear(&saved);
	hs_state_clear(&v2.c);
	hs_state_clear(&v2.s);
	run3_free(&t);
}

static void
test_v3_low_order(void)
{
	struct run3 t;

	run3_init(&t, 1, 0, ND_VERSION_2);
	errno = 0;
	ok(hs_client_hello_v3(&t.r.c, t.r.psk, zero32, &t.r.req, 0,
	    t.r.ch) == -1 && errno == EINVAL && all_zero(t.r.c.eph_priv, 32),
	    "v3 client: an all-zero server public key is refused");
	ok(run3_open(&t, t.st_pub) == 0, "v3 hello");
	memset(t.r.ch + 8, 0, 32);
	ok(run3_server(&t) == -1 && errno == EACCES && v3_tries == 0,
	    "v3 server: an all-zero client ephemeral closes at once");
	run3_free(&t);
}

static void
test_v3(void)
{
	test_v3_success();
	test_v3_wrong_keys();
	test_v3_tamper();
	test_v3_replay();
	test_v3_versions_hdr();
	test_v3_versions_ring();
	test_v3_downgrade();
	test_v3_low_order();
}

static void
test_handshakes(void)
{
	test_success();
	test_keys();
	test_tamper_ch();
	test_tamper_sh();
	test_bad_cf();
	test_versions();
	test_bad_magic_open();
	test_low_order();
	test_status();
	test_client_checks_info();
	test_server_payload_rules();
	test_server_payload_sides();
	test_options();
	test_block_status_option();
	test_conn();
	test_payload_checks();
	test_threads();
}

int
main(int argc, char **argv)
{
	const char *top = getenv("top_srcdir");

	if (argc > 1 && strcmp(argv[1], "--generate") == 0)
		return generate(argc > 2 ? atoi(argv[2]) : ND_VERSION_2);
	if (argc > 1)
		top = argv[1];
	if (top == NULL)
		top = ".";
	test_primitives();
	test_vectors(top, ND_VERSION_2);
	test_vectors(top, ND_VERSION_3);
	test_handshakes();
	test_v3();
	return done_testing();
}
