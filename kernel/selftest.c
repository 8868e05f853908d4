// SPDX-License-Identifier: GPL-2.0-only
/*
 * The protocol v2 test vectors (t/vectors/v2.txt, compiled in as
 * nd_vectors.h by gen-vectors.sh) against this module's primitives, key
 * schedule, handshake and record layer.  Run at load with selftest=1; the
 * first mismatch fails the load.
 */
#include <crypto/curve25519.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "compat.h"
#include "crypto.h"
#include "handshake.h"
#include "nd_vectors.h"
#include "netdisk.h"
#include "record.h"
#include "selftest.h"

#define SHOW_MAX	64	/* bytes of a mismatch that are logged */

static int check(const char *name, const u8 *got, size_t gotlen,
		 const u8 *want, size_t wantlen)
{
	if (gotlen == wantlen && !memcmp(got, want, wantlen))
		return 0;
	pr_err(ND_DRV_NAME ": selftest: %s mismatch (%zu bytes, want %zu)\n",
	       name, gotlen, wantlen);
	pr_err(ND_DRV_NAME ": selftest:  got  %*phN\n",
	       (int)min_t(size_t, gotlen, SHOW_MAX), got);
	pr_err(ND_DRV_NAME ": selftest:  want %*phN\n",
	       (int)min_t(size_t, wantlen, SHOW_MAX), want);
	return -EINVAL;
}

/* got is an array of the vector's size, or a pointer with its length. */
#define CHECK(vec, got) \
	check(#vec, got, sizeof(got), ndv_##vec, sizeof(ndv_##vec))
#define CHECKN(vec, got, len) \
	check(#vec, got, len, ndv_##vec, sizeof(ndv_##vec))

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
	static const u8 zeros[ND_HASH_LEN];
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
	static const u8 zeros[ND_HASH_LEN];
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

/* Open a sealed hello payload with the vector key and iv. */
static int st_open_hello(const char *name, const u8 *msg, size_t len,
			 const u8 *key, const u8 *iv, const u8 *want,
			 size_t wantlen)
{
	size_t hlen = sizeof(struct nd_hello_hdr);
	struct nd_aead a;
	u8 *buf;
	int err;

	buf = kmemdup(msg, len, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	err = nd_aead_init(&a, key);
	if (!err) {
		err = nd_aead_open(&a, iv, buf, hlen, len - hlen - ND_TAG_LEN);
		nd_aead_free(&a);
	}
	if (!err)
		err = check(name, buf + hlen, len - hlen - ND_TAG_LEN, want,
			    wantlen);
	kfree(buf);
	return err;
}

static int st_payloads(void)
{
	int err;

	err = st_open_hello("ch_payload", ndv_ch, sizeof(ndv_ch), ndv_ch_key,
			    ndv_ch_iv, ndv_ch_payload, sizeof(ndv_ch_payload));
	if (!err)
		err = st_open_hello("sh_payload", ndv_sh, sizeof(ndv_sh),
				    ndv_sh_key, ndv_sh_iv, ndv_sh_payload,
				    sizeof(ndv_sh_payload));
	return err;
}

/* What parse_server_payload made of sh_payload, encoded again. */
static int st_info(const struct nd_export_info *info)
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
	return CHECKN(sh_payload, (u8 *)&pl, sizeof(pl));
}

static int st_keys(const struct nd_keys *k)
{
	int err;

	err = CHECK(c2s_secret, k->c2s.secret);
	if (!err)
		err = CHECK(c2s_key, k->c2s.key);
	if (!err)
		err = CHECK(c2s_iv, k->c2s.iv);
	if (!err)
		err = CHECK(s2c_secret, k->s2c.secret);
	if (!err)
		err = CHECK(s2c_key, k->s2c.key);
	if (!err)
		err = CHECK(s2c_iv, k->s2c.iv);
	return err;
}

/* The whole client handshake through handshake.c. */
static int st_handshake(struct nd_hs *hs)
{
	const u8 *pl = ndv_ch_payload;
	struct nd_export_info info;
	struct nd_keys keys;
	int err;

	memcpy(hs->eph_priv, ndv_client_eph_priv, ND_KEY_LEN);
	err = nd_hs_client_hello(hs, ndv_psk, NULL, ndv_client_id,
				 get_unaligned_be32(pl + 16),
				 get_unaligned_be16(pl + 22),
				 (const char *)pl + 24,
				 get_unaligned_be16(pl + 20), true);
	if (!err)
		err = CHECK(ch, hs->ch);
	if (!err)
		err = CHECK(early, hs->psk_secret);
	if (err)
		return err;
	memcpy(hs->sh, ndv_sh, sizeof(hs->sh));
	err = nd_hs_client_finish(hs, &info, &keys);
	if (!err)
		err = CHECK(hs, hs->hs_secret);
	if (!err)
		err = st_info(&info);
	if (!err)
		err = CHECK(cf, hs->cf);
	if (!err)
		err = st_keys(&keys);
	memzero_explicit(&keys, sizeof(keys));
	return err;
}

/* A tampered ServerHello must not authenticate. */
static int st_handshake_tampered(struct nd_hs *hs)
{
	struct nd_export_info info;
	struct nd_keys keys;
	int err;

	memcpy(hs->sh, ndv_sh, sizeof(hs->sh));
	hs->sh[sizeof(hs->sh) - 1] ^= 1;
	err = nd_hs_client_finish(hs, &info, &keys);
	memzero_explicit(&keys, sizeof(keys));
	if (err != -EBADMSG) {
		pr_err(ND_DRV_NAME ": selftest: tampered ServerHello: %d, want %d\n",
		       err, -EBADMSG);
		return -EINVAL;
	}
	return 0;
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
		err = st_payloads();
	if (!err)
		err = st_handshake(hs);
	if (!err)
		err = st_handshake_tampered(hs);
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
