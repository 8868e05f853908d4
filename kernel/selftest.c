// SPDX-License-Identifier: GPL-2.0-only
/*
 * The protocol test vectors (t/vectors/v2.txt and v3.txt, compiled in as
 * nd_vectors.h and nd_vectors_v3.h by gen-vectors.sh) against this
 * module's primitives, key schedule, handshake and record layer.  The
 * records are those of v2 (the record layer does not depend on the
 * version; v3's handshake is checked up to the traffic keys).  Run at
 * load with selftest=1; the first mismatch fails the load.
 */
#include <crypto/curve25519.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "crypto.h"
#include "handshake.h"
#include "nd_vectors.h"
#include "nd_vectors_v3.h"
#include "netdisk.h"
#include "record.h"
#include "selftest.h"

#define SHOW_MAX	64	/* bytes of a mismatch that are logged */

static const u8 zeros[ND_HASH_LEN];

/* ver: "" for the v2 vectors, "v3 " for those of v3 */
static int vcheck(const char *ver, const char *name, const u8 *got,
		  size_t gotlen, const u8 *want, size_t wantlen)
{
	if (gotlen == wantlen && !memcmp(got, want, wantlen))
		return 0;
	pr_err(ND_DRV_NAME ": selftest: %s%s mismatch (%zu bytes, want %zu)\n",
	       ver, name, gotlen, wantlen);
	pr_err(ND_DRV_NAME ": selftest:  got  %*phN\n",
	       (int)min_t(size_t, gotlen, SHOW_MAX), got);
	pr_err(ND_DRV_NAME ": selftest:  want %*phN\n",
	       (int)min_t(size_t, wantlen, SHOW_MAX), want);
	return -EINVAL;
}

static int check(const char *name, const u8 *got, size_t gotlen,
		 const u8 *want, size_t wantlen)
{
	return vcheck("", name, got, gotlen, want, wantlen);
}

/* got is an array of the vector's size, or a pointer with its length. */
#define CHECK(vec, got) \
	check(#vec, got, sizeof(got), ndv_##vec, sizeof(ndv_##vec))
#define CHECKN(vec, got, len) \
	check(#vec, got, len, ndv_##vec, sizeof(ndv_##vec))
#define CHECK3(vec, got) \
	vcheck("v3 ", #vec, got, sizeof(got), ndv3_##vec, sizeof(ndv3_##vec))
#define CHECK3N(vec, got, len) \
	vcheck("v3 ", #vec, got, len, ndv3_##vec, sizeof(ndv3_##vec))

/* The vectors of one whole handshake, for the tests of both versions. */
struct hs_vectors {
	const char *ver;		/* vcheck's */
	const u8 *server_pub;		/* NULL: version 2 */
	const u8 *psk, *client_eph_priv, *client_id, *ch_payload;
	const u8 *ch;
	size_t ch_len;
	const u8 *psk_secret;		/* early (v2) or pe (v3) */
	const u8 *sh, *sh_payload, *hs, *cf;
	const u8 *c2s_secret, *c2s_key, *c2s_iv;
	const u8 *s2c_secret, *s2c_key, *s2c_iv;
};

#define HS_VECTORS(p, _ver, _server_pub, _psk_secret) {			\
	.ver = _ver, .server_pub = _server_pub, .psk = p##_psk,		\
	.client_eph_priv = p##_client_eph_priv,				\
	.client_id = p##_client_id, .ch_payload = p##_ch_payload,	\
	.ch = p##_ch, .ch_len = sizeof(p##_ch),				\
	.psk_secret = _psk_secret, .sh = p##_sh,			\
	.sh_payload = p##_sh_payload, .hs = p##_hs, .cf = p##_cf,	\
	.c2s_secret = p##_c2s_secret, .c2s_key = p##_c2s_key,		\
	.c2s_iv = p##_c2s_iv, .s2c_secret = p##_s2c_secret,		\
	.s2c_key = p##_s2c_key, .s2c_iv = p##_s2c_iv,			\
}

static const struct hs_vectors v2_vectors =
	HS_VECTORS(ndv, "", NULL, ndv_early);
static const struct hs_vectors v3_vectors =
	HS_VECTORS(ndv3, "v3 ", ndv3_server_static_pub, ndv3_pe);

static_assert(sizeof(ndv_sh) == ND_SERVER_HELLO_LEN, "v2 sh");
static_assert(sizeof(ndv3_sh) == ND_SERVER_HELLO_LEN, "v3 sh");
static_assert(sizeof(ndv3_ch) == ND_CLIENT_HELLO_V3_LEN, "v3 ch");

static int st_x25519(void)
{
	u8 pub[CURVE25519_KEY_SIZE], dh[CURVE25519_KEY_SIZE];
	int err;

	if (!curve25519_generate_public(pub, ndv_client_eph_priv))
		return -EINVAL;
	err = CHECK(client_eph_pub, pub);
	if (!err && !curve25519_generate_public(pub, ndv_server_eph_priv))
		err = -EINVAL;
	if (!err)
		err = CHECK(server_eph_pub, pub);
	if (!err && !curve25519(dh, ndv_server_eph_priv, ndv_client_eph_pub))
		err = -EINVAL;
	if (!err)
		err = CHECK(dh, dh);
	if (!err && !curve25519(dh, ndv_client_eph_priv, ndv_server_eph_pub))
		err = -EINVAL;
	if (!err)
		err = CHECK(dh, dh);
	return err;
}

/* key(S) and iv(S) of a vector secret against the vector key and iv. */
static int st_traffic(const u8 *secret, const char *kname, const u8 *key,
		      const char *iname, const u8 *iv)
{
	struct nd_traffic t;
	int err;

	memcpy(t.secret, secret, sizeof(t.secret));
	err = nd_traffic_derive(&t);
	if (!err)
		err = check(kname, t.key, sizeof(t.key), key, ND_KEY_LEN);
	if (!err)
		err = check(iname, t.iv, sizeof(t.iv), iv, ND_IV_LEN);
	return err;
}

static int st_early(void)
{
	struct nd_vec v = { ndv_ch_hdr, sizeof(ndv_ch_hdr) };
	u8 early[ND_HASH_LEN], th[ND_HASH_LEN], s[ND_HASH_LEN];
	int err;

	err = nd_hkdf_extract(early, zeros, sizeof(zeros), ndv_psk,
			      sizeof(ndv_psk));
	if (!err)
		err = CHECK(early, early);
	nd_sha256v(th, &v, 1);
	if (!err)
		err = CHECK(th_ch, th);
	if (!err)
		err = nd_expand_label(s, sizeof(s), early, ND_LABEL_C_HELLO,
				      th, sizeof(th));
	if (!err)
		err = CHECK(c_hello, s);
	if (!err)
		err = st_traffic(s, "ch_key", ndv_ch_key, "ch_iv", ndv_ch_iv);
	if (!err)
		err = nd_expand_label(s, sizeof(s), early, ND_LABEL_DERIVED,
				      NULL, 0);
	if (!err)
		err = CHECK(early_derived, s);
	if (!err)
		err = nd_hkdf_extract(s, ndv_early_derived, ND_HASH_LEN,
				      ndv_dh, sizeof(ndv_dh));
	if (!err)
		err = CHECK(hs, s);
	return err;
}

static int st_server_hello_keys(void)
{
	struct nd_vec v[2] = {
		{ ndv_ch, sizeof(ndv_ch) }, { ndv_sh_hdr, sizeof(ndv_sh_hdr) },
	};
	u8 th[ND_HASH_LEN], s[ND_HASH_LEN];
	int err;

	nd_sha256v(th, v, 2);
	err = CHECK(th_sh, th);
	if (!err)
		err = nd_expand_label(s, sizeof(s), ndv_hs, ND_LABEL_S_HS, th,
				      sizeof(th));
	if (!err)
		err = CHECK(s_hs, s);
	if (!err)
		err = st_traffic(s, "sh_key", ndv_sh_key, "sh_iv", ndv_sh_iv);
	if (!err)
		err = nd_expand_label(s, sizeof(s), ndv_hs,
				      ND_LABEL_C_FINISHED, NULL, 0);
	if (!err)
		err = CHECK(finished_key, s);
	return err;
}

static int st_finished(void)
{
	struct nd_vec v[3] = {
		{ ndv_ch, sizeof(ndv_ch) }, { ndv_sh, sizeof(ndv_sh) },
		{ ndv_cf, sizeof(ndv_cf) },
	};
	u8 th[ND_HASH_LEN], s[ND_HASH_LEN];
	struct nd_vec m = { th, sizeof(th) };
	int err;

	nd_sha256v(th, v, 2);
	err = CHECK(th_ch_sh, th);
	if (!err)
		err = nd_hmac_sha256v(s, ndv_finished_key, ND_HASH_LEN, &m, 1);
	if (!err)
		err = CHECK(cf, s);
	nd_sha256v(th, v, 3);
	if (!err)
		err = CHECK(th_ap, th);
	return err;
}

static int st_application(void)
{
	u8 s[ND_HASH_LEN], master[ND_HASH_LEN];
	int err;

	err = nd_expand_label(s, sizeof(s), ndv_hs, ND_LABEL_DERIVED, NULL,
			      0);
	if (!err)
		err = CHECK(hs_derived, s);
	if (!err)
		err = nd_hkdf_extract(master, s, sizeof(s), zeros,
				      sizeof(zeros));
	if (!err)
		err = CHECK(master, master);
	if (!err)
		err = nd_expand_label(s, sizeof(s), master, ND_LABEL_C_AP,
				      ndv_th_ap, ND_HASH_LEN);
	if (!err)
		err = CHECK(c2s_secret, s);
	if (!err)
		err = st_traffic(s, "c2s_key", ndv_c2s_key, "c2s_iv",
				 ndv_c2s_iv);
	if (!err)
		err = nd_expand_label(s, sizeof(s), master, ND_LABEL_S_AP,
				      ndv_th_ap, ND_HASH_LEN);
	if (!err)
		err = CHECK(s2c_secret, s);
	if (!err)
		err = st_traffic(s, "s2c_key", ndv_s2c_key, "s2c_iv",
				 ndv_s2c_iv);
	return err;
}

/*
 * Open the sealed part of a message, msg[adlen, adlen + textlen + tag),
 * AD msg[0, adlen), with the vector key and iv.
 */
static int st_open(const char *ver, const char *name, const u8 *msg,
		   size_t adlen, size_t textlen, const u8 *key, const u8 *iv,
		   const u8 *want, size_t wantlen)
{
	struct nd_aead a;
	u8 *buf;
	int err;

	buf = kmemdup(msg, adlen + textlen + ND_TAG_LEN, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = nd_aead_init(&a, key);
	if (!err) {
		err = nd_aead_open(&a, iv, buf, adlen, textlen);
		nd_aead_free(&a);
	}
	if (!err)
		err = vcheck(ver, name, buf + adlen, textlen, want, wantlen);
	kfree(buf);
	return err;
}

static int st_payloads(void)
{
	const size_t hlen = sizeof(struct nd_hello_hdr);
	int err;

	err = st_open("", "ch_payload", ndv_ch, hlen, sizeof(ndv_ch_payload),
		      ndv_ch_key, ndv_ch_iv, ndv_ch_payload,
		      sizeof(ndv_ch_payload));
	if (!err)
		err = st_open("", "sh_payload", ndv_sh, hlen,
			      sizeof(ndv_sh_payload), ndv_sh_key, ndv_sh_iv,
			      ndv_sh_payload, sizeof(ndv_sh_payload));
	if (!err)
		err = st_open("v3 ", "key_id", ndv3_ch, hlen,
			      sizeof(ndv3_key_id), ndv3_hint_key, ndv3_hint_iv,
			      ndv3_key_id, sizeof(ndv3_key_id));
	if (!err)
		err = st_open("v3 ", "ch_payload", ndv3_ch,
			      ND_CLIENT_HELLO_V3_PAYLOAD_OFF,
			      sizeof(ndv3_ch_payload), ndv3_ch_key, ndv3_ch_iv,
			      ndv3_ch_payload, sizeof(ndv3_ch_payload));
	if (!err)
		err = st_open("v3 ", "sh_payload", ndv3_sh, hlen,
			      sizeof(ndv3_sh_payload), ndv3_sh_key, ndv3_sh_iv,
			      ndv3_sh_payload, sizeof(ndv3_sh_payload));
	return err;
}

/* v3: the static key, es, the key hint's secret and key_id. */
static int st3_hint(void)
{
	struct nd_vec v[2] = {
		{ ndv3_server_static_pub, sizeof(ndv3_server_static_pub) },
		{ ndv3_ch_hdr, sizeof(ndv3_ch_hdr) },
	};
	u8 s[ND_HASH_LEN], prk[ND_HASH_LEN], th[ND_HASH_LEN];
	int err = -EINVAL;

	if (curve25519_generate_public(s, ndv3_server_static_priv))
		err = CHECK3(server_static_pub, s);
	if (!err && !curve25519(s, ndv3_client_eph_priv,
				ndv3_server_static_pub))
		err = -EINVAL;
	if (!err)
		err = CHECK3(es, s);
	if (!err)
		err = nd_hkdf_extract(prk, zeros, sizeof(zeros), s, sizeof(s));
	if (!err)
		err = CHECK3(es_prk, prk);
	nd_sha256v(th, v, 2);
	if (!err)
		err = CHECK3(th_hint, th);
	if (!err)
		err = nd_expand_label(s, sizeof(s), prk, ND_LABEL_C_HINT, th,
				      sizeof(th));
	if (!err)
		err = CHECK3(c_hint, s);
	if (!err)
		err = st_traffic(s, "v3 hint_key", ndv3_hint_key, "v3 hint_iv",
				 ndv3_hint_iv);
	if (!err)
		err = nd_expand_label(s, ND_KEY_ID_LEN, ndv3_early,
				      ND_LABEL_KEY_ID, NULL, 0);
	if (!err)
		err = CHECK3N(key_id, s, ND_KEY_ID_LEN);
	return err;
}

/* v3: early, pe, the payload's secret and hs. */
static int st3_pe(void)
{
	struct nd_vec v[2] = {
		{ ndv3_server_static_pub, sizeof(ndv3_server_static_pub) },
		{ ndv3_ch, ND_CLIENT_HELLO_V3_PAYLOAD_OFF },
	};
	u8 s[ND_HASH_LEN], th[ND_HASH_LEN];
	int err;

	err = nd_hkdf_extract(s, zeros, sizeof(zeros), ndv3_psk,
			      sizeof(ndv3_psk));
	if (!err)
		err = CHECK3(early, s);
	if (!err)
		err = nd_expand_label(s, sizeof(s), ndv3_early,
				      ND_LABEL_PSK_ES, NULL, 0);
	if (!err)
		err = CHECK3(psk_es, s);
	if (!err)
		err = nd_hkdf_extract(s, ndv3_psk_es, ND_HASH_LEN, ndv3_es,
				      sizeof(ndv3_es));
	if (!err)
		err = CHECK3(pe, s);
	nd_sha256v(th, v, 2);
	if (!err)
		err = CHECK3(th_ch, th);
	if (!err)
		err = nd_expand_label(s, sizeof(s), ndv3_pe, ND_LABEL_C_HELLO,
				      th, sizeof(th));
	if (!err)
		err = CHECK3(c_hello, s);
	if (!err)
		err = st_traffic(s, "v3 ch_key", ndv3_ch_key, "v3 ch_iv",
				 ndv3_ch_iv);
	if (!err)
		err = nd_expand_label(s, sizeof(s), ndv3_pe, ND_LABEL_DERIVED,
				      NULL, 0);
	if (!err)
		err = CHECK3(pe_derived, s);
	if (!err)
		err = nd_hkdf_extract(s, ndv3_pe_derived, ND_HASH_LEN, ndv3_dh,
				      sizeof(ndv3_dh));
	if (!err)
		err = CHECK3(hs, s);
	return err;
}

/* What parse_server_payload made of sh_payload, encoded again. */
static int st_info(const struct hs_vectors *v,
		   const struct nd_export_info *info)
{
	struct nd_server_payload pl = {
		.status = cpu_to_be32(info->status),
		.flags = cpu_to_be32(info->flags),
		.size = cpu_to_be64(info->size),
		.min_block = cpu_to_be32(info->min_block),
		.pref_block = cpu_to_be32(info->pref_block),
		.max_payload = cpu_to_be32(info->max_payload),
	};

	memcpy(pl.export_id, info->export_id, ND_EXPORT_ID_LEN);
	return vcheck(v->ver, "sh_payload", (u8 *)&pl, sizeof(pl),
		      v->sh_payload, sizeof(pl));
}

static int st_keys(const struct hs_vectors *v, const struct nd_keys *k)
{
	const char *x = v->ver;
	int err;

	err = vcheck(x, "c2s_secret", k->c2s.secret, ND_HASH_LEN,
		     v->c2s_secret, ND_HASH_LEN);
	if (!err)
		err = vcheck(x, "c2s_key", k->c2s.key, ND_KEY_LEN, v->c2s_key,
			     ND_KEY_LEN);
	if (!err)
		err = vcheck(x, "c2s_iv", k->c2s.iv, ND_IV_LEN, v->c2s_iv,
			     ND_IV_LEN);
	if (!err)
		err = vcheck(x, "s2c_secret", k->s2c.secret, ND_HASH_LEN,
			     v->s2c_secret, ND_HASH_LEN);
	if (!err)
		err = vcheck(x, "s2c_key", k->s2c.key, ND_KEY_LEN, v->s2c_key,
			     ND_KEY_LEN);
	if (!err)
		err = vcheck(x, "s2c_iv", k->s2c.iv, ND_IV_LEN, v->s2c_iv,
			     ND_IV_LEN);
	return err;
}

/* The ClientHello of the vectors through handshake.c. */
static int st_client_hello(struct nd_hs *hs, const struct hs_vectors *v)
{
	const u8 *pl = v->ch_payload;
	int err;

	memcpy(hs->eph_priv, v->client_eph_priv, ND_KEY_LEN);
	err = nd_hs_client_hello(hs, v->psk, v->server_pub, v->client_id,
				 get_unaligned_be32(pl + 16),
				 get_unaligned_be16(pl + 22),
				 (const char *)pl + 24,
				 get_unaligned_be16(pl + 20), true);
	if (!err)
		err = vcheck(v->ver, "ch", hs->ch, hs->ch_len, v->ch,
			     v->ch_len);
	if (!err)
		err = vcheck(v->ver, "early or pe", hs->psk_secret, ND_HASH_LEN,
			     v->psk_secret, ND_HASH_LEN);
	return err;
}

/* The whole client handshake through handshake.c. */
static int st_handshake(struct nd_hs *hs, const struct hs_vectors *v)
{
	struct nd_export_info info;
	struct nd_keys keys;
	int err;

	err = st_client_hello(hs, v);
	if (err)
		return err;
	memcpy(hs->sh, v->sh, sizeof(hs->sh));
	err = nd_hs_client_finish(hs, &info, &keys);
	if (!err)
		err = vcheck(v->ver, "hs", hs->hs_secret, ND_HASH_LEN, v->hs,
			     ND_HASH_LEN);
	if (!err)
		err = st_info(v, &info);
	if (!err)
		err = vcheck(v->ver, "cf", hs->cf, sizeof(hs->cf), v->cf,
			     ND_CLIENT_FINISHED_LEN);
	if (!err)
		err = st_keys(v, &keys);
	memzero_explicit(&keys, sizeof(keys));
	return err;
}

/*
 * After the hello of v, the ServerHello sh (tampered in its last byte if
 * tamper) must fail with want: a tampered one does not authenticate, one
 * of the other version is refused (no downgrade).
 */
static int st_handshake_bad(struct nd_hs *hs, const struct hs_vectors *v,
			    const u8 *sh, bool tamper, int want)
{
	struct nd_export_info info;
	struct nd_keys keys;
	int err;

	err = st_client_hello(hs, v);
	if (err)
		return err;
	memcpy(hs->sh, sh, sizeof(hs->sh));
	if (tamper)
		hs->sh[sizeof(hs->sh) - 1] ^= 1;
	err = nd_hs_client_finish(hs, &info, &keys);
	memzero_explicit(&keys, sizeof(keys));
	if (err != want) {
		pr_err(ND_DRV_NAME ": selftest: %sbad ServerHello (%s): %d, want %d\n",
		       v->ver, tamper ? "tampered" : "other version", err,
		       want);
		return -EINVAL;
	}
	return 0;
}

static int st_handshakes(struct nd_hs *hs)
{
	int err;

	err = st_handshake(hs, &v2_vectors);
	if (!err)
		err = st_handshake_bad(hs, &v2_vectors, ndv_sh, true, -EBADMSG);
	if (!err)
		err = st_handshake(hs, &v3_vectors);
	if (!err)
		err = st_handshake_bad(hs, &v3_vectors, ndv3_sh, true,
				       -EBADMSG);
	if (!err)
		err = st_handshake_bad(hs, &v3_vectors, ndv_sh, false, -EPROTO);
	if (!err)
		err = st_handshake_bad(hs, &v2_vectors, ndv3_sh, false,
				       -EPROTO);
	return err;
}

static int dir_from_vectors(struct nd_rec_dir *d, const u8 *secret,
			    const u8 *key, const u8 *iv)
{
	struct nd_traffic t;
	int err;

	memcpy(t.secret, secret, sizeof(t.secret));
	memcpy(t.key, key, sizeof(t.key));
	memcpy(t.iv, iv, sizeof(t.iv));
	err = nd_rec_dir_init(d, &t);
	memzero_explicit(&t, sizeof(t));
	return err;
}

/* Seal content as record number d->seq and compare with want. */
static int st_seal(struct nd_rec_dir *d, u8 *buf, const void *content,
		   size_t len, u8 type, const char *name, const u8 *want,
		   size_t wantlen)
{
	int n;

	memcpy(buf + ND_REC_HDR_LEN, content, len);
	n = nd_rec_seal(d, buf, len, type);
	if (n < 0)
		return n;
	return check(name, buf, n, want, wantlen);
}

static int st_c2s_records(u8 *buf)
{
	static const struct nd_key_update ku = ND_KEY_UPDATE_INIT;
	struct nd_rec_dir d;
	int err;

	err = dir_from_vectors(&d, ndv_c2s_secret, ndv_c2s_key, ndv_c2s_iv);
	if (err)
		return err;
	err = st_seal(&d, buf, ndv_c2s_rec0_content,
		      sizeof(ndv_c2s_rec0_content), ND_REC_TYPE_DATA,
		      "c2s_rec0", ndv_c2s_rec0, sizeof(ndv_c2s_rec0));
	if (!err)
		err = st_seal(&d, buf, &ku, sizeof(ku), ND_REC_TYPE_HANDSHAKE,
			      "c2s_rec1_keyupdate", ndv_c2s_rec1_keyupdate,
			      sizeof(ndv_c2s_rec1_keyupdate));
	if (!err)
		err = nd_rec_dir_update(&d);
	if (!err)
		err = CHECK(c2s_upd_secret, d.traffic.secret);
	if (!err)
		err = CHECK(c2s_upd_key, d.traffic.key);
	if (!err)
		err = CHECK(c2s_upd_iv, d.traffic.iv);
	if (!err)
		err = st_seal(&d, buf, ndv_c2s_upd_rec0_content,
			      sizeof(ndv_c2s_upd_rec0_content),
			      ND_REC_TYPE_DATA, "c2s_upd_rec0", ndv_c2s_upd_rec0,
			      sizeof(ndv_c2s_upd_rec0));
	nd_rec_dir_free(&d);
	return err;
}

static int st_s2c_records(u8 *buf)
{
	struct nd_rec_dir d;
	unsigned int len;
	u8 type;
	int err;

	err = dir_from_vectors(&d, ndv_s2c_secret, ndv_s2c_key, ndv_s2c_iv);
	if (err)
		return err;
	memcpy(buf, ndv_s2c_rec0, sizeof(ndv_s2c_rec0));
	err = nd_rec_open(&d, buf, &len, &type);
	if (!err && type != ND_REC_TYPE_DATA)
		err = -EINVAL;
	if (!err)
		err = CHECKN(s2c_rec0_content, buf + ND_REC_HDR_LEN, len);
	/* the same record again is number 1 now: must not open */
	memcpy(buf, ndv_s2c_rec0, sizeof(ndv_s2c_rec0));
	if (!err && nd_rec_open(&d, buf, &len, &type) != -EBADMSG) {
		pr_err(ND_DRV_NAME ": selftest: replayed record opened\n");
		err = -EINVAL;
	}
	nd_rec_dir_free(&d);
	return err;
}

/* The c2s records as the server receives them: open, KeyUpdate, open. */
static int st_c2s_receive(u8 *buf)
{
	struct nd_rec_dir d;
	unsigned int len;
	u8 type;
	int err;

	err = dir_from_vectors(&d, ndv_c2s_secret, ndv_c2s_key, ndv_c2s_iv);
	if (err)
		return err;
	memcpy(buf, ndv_c2s_rec0, sizeof(ndv_c2s_rec0));
	err = nd_rec_open(&d, buf, &len, &type);
	if (!err)
		err = CHECKN(c2s_rec0_content, buf + ND_REC_HDR_LEN, len);
	memcpy(buf, ndv_c2s_rec1_keyupdate, sizeof(ndv_c2s_rec1_keyupdate));
	if (!err)
		err = nd_rec_open(&d, buf, &len, &type);
	if (!err && (type != ND_REC_TYPE_HANDSHAKE || len != ND_KEY_UPDATE_LEN))
		err = -EINVAL;
	if (!err)
		err = nd_rec_dir_update(&d);
	memcpy(buf, ndv_c2s_upd_rec0, sizeof(ndv_c2s_upd_rec0));
	if (!err)
		err = nd_rec_open(&d, buf, &len, &type);
	if (!err)
		err = CHECKN(c2s_upd_rec0_content, buf + ND_REC_HDR_LEN, len);
	if (err)
		pr_err(ND_DRV_NAME ": selftest: receiving the c2s records: %d\n",
		       err);
	nd_rec_dir_free(&d);
	return err;
}

int nd_selftest(void)
{
	struct nd_hs *hs;
	u8 *buf;
	int err;

	hs = nd_hs_alloc();
	buf = kmalloc(ND_REC_MAX_LEN, GFP_KERNEL);
	err = -ENOMEM;
	if (!hs || !buf)
		goto out;
	err = st_x25519();
	if (!err)
		err = st_early();
	if (!err)
		err = st_server_hello_keys();
	if (!err)
		err = st_finished();
	if (!err)
		err = st_application();
	if (!err)
		err = st3_hint();
	if (!err)
		err = st3_pe();
	if (!err)
		err = st_payloads();
	if (!err)
		err = st_handshakes(hs);
	if (!err)
		err = st_c2s_records(buf);
	if (!err)
		err = st_s2c_records(buf);
	if (!err)
		err = st_c2s_receive(buf);
out:
	nd_hs_free(hs);
	kfree(buf);
	if (err)
		pr_err(ND_DRV_NAME ": selftest failed (%d)\n", err);
	else
		pr_info(ND_DRV_NAME ": selftest passed\n");
	return err;
}
