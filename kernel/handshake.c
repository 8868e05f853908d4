// SPDX-License-Identifier: GPL-2.0-only
/*
 * The client side of the v2 and v3 handshakes (docs/protocol.md, sections
 * 4 to 6): message construction, checks and the key schedule, no I/O.
 * Version 3 differs only up to the ClientHello (the key hint, and pe in
 * place of early); from hs on both are the same code.  conn.c moves the
 * messages; selftest.c checks them against t/vectors/v2.txt and v3.txt.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <crypto/curve25519.h>
#include <linux/errno.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "crypto.h"
#include "handshake.h"
#include "netdisk_proto.h"

static const u8 zeros[ND_HASH_LEN];

int nd_traffic_derive(struct nd_traffic *t)
{
	int err;

	err = nd_expand_label(t->key, ND_KEY_LEN, t->secret, ND_LABEL_KEY,
			      NULL, 0);
	if (!err)
		err = nd_expand_label(t->iv, ND_IV_LEN, t->secret, ND_LABEL_IV,
				      NULL, 0);
	return err;
}

/* KeyUpdate: secret' = Expand-Label(secret, "upd", "", 32). */
int nd_traffic_update(struct nd_traffic *t)
{
	u8 next[ND_HASH_LEN];
	int err;

	err = nd_expand_label(next, sizeof(next), t->secret, ND_LABEL_UPDATE,
			      NULL, 0);
	if (!err) {
		memcpy(t->secret, next, sizeof(next));
		err = nd_traffic_derive(t);
	}
	memzero_explicit(next, sizeof(next));
	return err;
}

/*
 * Seal or open buf = ad || text || tag under the key and iv of secret,
 * with the handshake's own transform.
 */
static int crypt_with(struct nd_hs *hs, const u8 secret[ND_HASH_LEN], u8 *buf,
		      unsigned int adlen, unsigned int textlen, bool seal)
{
	struct nd_traffic t;
	int err;

	memcpy(t.secret, secret, sizeof(t.secret));
	err = nd_traffic_derive(&t);
	if (!err)
		err = nd_aead_setkey(&hs->aead, t.key);
	if (err)
		goto out;
	if (seal)
		err = nd_aead_seal(&hs->aead, t.iv, buf, adlen, textlen);
	else
		err = nd_aead_open(&hs->aead, t.iv, buf, adlen, textlen);
out:
	memzero_explicit(&t, sizeof(t));
	return err;
}

static void fill_client_payload(struct nd_client_payload *pl,
				const u8 client_id[ND_CLIENT_ID_LEN],
				u32 options, u16 conn, const char *name,
				unsigned int name_len)
{
	memset(pl, 0, sizeof(*pl));
	memcpy(pl->client_id, client_id, ND_CLIENT_ID_LEN);
	pl->options = cpu_to_be32(options);
	pl->name_len = cpu_to_be16(name_len);
	pl->conn = cpu_to_be16(conn);
	memcpy(pl->name, name, name_len);
}

/*
 * Seal hs->ch[adlen, adlen + textlen) under the key and iv of
 * Expand-Label(from, label, SHA-256(v[0] || ... || v[n - 1]), 32), with
 * AD hs->ch[0, adlen).
 */
static int seal_part(struct nd_hs *hs, const u8 from[ND_HASH_LEN],
		     const char *label, const struct nd_vec *v, unsigned int n,
		     unsigned int adlen, unsigned int textlen)
{
	u8 th[ND_HASH_LEN], secret[ND_HASH_LEN];
	int err;

	nd_sha256v(th, v, n);
	err = nd_expand_label(secret, sizeof(secret), from, label, th,
			      sizeof(th));
	if (!err)
		err = crypt_with(hs, secret, hs->ch, adlen, textlen, true);
	memzero_explicit(secret, sizeof(secret));
	return err;
}

/*
 * The v3 ClientHello's key hint and payload (docs/protocol.md, section
 * 4.4): es = X25519(e, S), the hint (key_id) sealed under c_hint, then
 * pe = Extract(Expand-Label(early, "psk es"), es) replaces early in
 * hs->psk_secret and seals the payload.  hs->psk_secret holds early and
 * the payload sits at its v3 offset.
 */
static int seal_v3(struct nd_hs *hs, const u8 server_pub[ND_KEY_LEN])
{
	const unsigned int hint = ND_CLIENT_HELLO_V3_HINT_OFF;
	const unsigned int pay = ND_CLIENT_HELLO_V3_PAYLOAD_OFF;
	struct nd_vec v[2] = { { server_pub, ND_KEY_LEN }, { hs->ch, hint } };
	u8 es[ND_KEY_LEN], k[ND_HASH_LEN];
	int err = -EKEYREJECTED;

	if (!curve25519(es, hs->eph_priv, server_pub)) {
		pr_err_ratelimited("server_pub is not a valid X25519 key (all-zero shared secret)\n");
		goto out;
	}
	err = nd_expand_label(hs->ch + hint, ND_KEY_ID_LEN, hs->psk_secret,
			      ND_LABEL_KEY_ID, NULL, 0);
	if (!err)
		err = nd_hkdf_extract(k, zeros, sizeof(zeros), es, sizeof(es));
	if (!err)
		err = seal_part(hs, k, ND_LABEL_C_HINT, v, 2, hint,
				sizeof(struct nd_key_hint));
	if (!err)
		err = nd_expand_label(k, sizeof(k), hs->psk_secret,
				      ND_LABEL_PSK_ES, NULL, 0);
	if (!err)
		err = nd_hkdf_extract(hs->psk_secret, k, sizeof(k), es,
				      sizeof(es));
	v[1].len = pay;
	if (!err)
		err = seal_part(hs, hs->psk_secret, ND_LABEL_C_HELLO, v, 2, pay,
				sizeof(struct nd_client_payload));
out:
	memzero_explicit(es, sizeof(es));
	memzero_explicit(k, sizeof(k));
	return err;
}

/*
 * Build the ClientHello of connection slot conn in hs->ch (hs->ch_len
 * bytes): version 3 if server_pub is the server's static public key,
 * version 2 if it is NULL; one version, never a range (netdisk_proto.h).
 * A fresh ephemeral key is drawn unless preset_eph (the self-test presets
 * hs->eph_priv).
 */
int nd_hs_client_hello(struct nd_hs *hs, const u8 psk[ND_KEY_LEN],
		       const u8 *server_pub,
		       const u8 client_id[ND_CLIENT_ID_LEN], u32 options,
		       u16 conn, const char *name, unsigned int name_len,
		       bool preset_eph)
{
	struct nd_hello_hdr *hdr = (struct nd_hello_hdr *)hs->ch;
	struct nd_vec v = { hdr, sizeof(*hdr) };
	unsigned int off;
	int err;

	if (name_len < 1 || name_len > ND_NAME_MAX ||
	    memchr(name, '\0', name_len) || (options & ~ND_OPT_ALL) ||
	    conn >= ND_CONN_SLOTS)
		return -EINVAL;
	if (!preset_eph)
		curve25519_generate_secret(hs->eph_priv);
	hs->version = server_pub ? ND_VERSION_3 : ND_VERSION_2;
	hs->ch_len = nd_client_hello_len(hs->version);
	off = server_pub ? ND_CLIENT_HELLO_V3_PAYLOAD_OFF : sizeof(*hdr);
	hdr->magic = cpu_to_be32(ND_HELLO_MAGIC);
	hdr->version_min = hs->version;
	hdr->version_max = hs->version;
	hdr->length = cpu_to_be16(hs->ch_len);
	if (!curve25519_generate_public(hdr->ephemeral, hs->eph_priv))
		return -EINVAL;
	fill_client_payload((struct nd_client_payload *)(hs->ch + off),
			    client_id, options, conn, name, name_len);

	err = nd_hkdf_extract(hs->psk_secret, zeros, sizeof(zeros), psk,
			      ND_KEY_LEN);
	if (err)
		return err;
	if (server_pub)
		return seal_v3(hs, server_pub);
	return seal_part(hs, hs->psk_secret, ND_LABEL_C_HELLO, &v, 1,
			 sizeof(*hdr), sizeof(struct nd_client_payload));
}

/*
 * Check the first sizeof(struct nd_hello_hdr) bytes of hs->sh
 * (netdisk_proto.h), the answer to a hello of hs->version: 0 if a full
 * ServerHello of that version follows, -EPROTONOSUPPORT
 * for a version reject (the server's range is in
 * hs->srv_version_min/max), -EPROTO for anything else.
 */
int nd_hs_check_server_hdr(struct nd_hs *hs)
{
	const struct nd_hello_hdr *hdr = (const struct nd_hello_hdr *)hs->sh;

	switch (nd_server_hdr_check(hdr, hs->version, hs->version)) {
	case ND_SERVER_HDR_HELLO:
		return 0;
	case ND_SERVER_HDR_REJECT:
		hs->srv_version_min = hdr->version_min;
		hs->srv_version_max = hdr->version_max;
		return -EPROTONOSUPPORT;
	default:
		return -EPROTO;
	}
}

/*
 * Decode the decrypted server payload after the checks every netdisk
 * implementation makes (netdisk_proto.h).
 */
static int parse_server_payload(const struct nd_server_payload *pl,
				struct nd_export_info *info)
{
	const char *why = nd_server_payload_invalid(pl);

	if (why) {
		pr_warn_ratelimited("ServerHello refused: %s\n", why);
		return -EPROTO;
	}
	info->status = be32_to_cpu(pl->status);
	info->flags = be32_to_cpu(pl->flags);
	info->size = be64_to_cpu(pl->size);
	info->min_block = be32_to_cpu(pl->min_block);
	info->pref_block = be32_to_cpu(pl->pref_block);
	info->max_payload = be32_to_cpu(pl->max_payload);
	memcpy(info->export_id, pl->export_id, ND_EXPORT_ID_LEN);
	return 0;
}

/*
 * hs_secret from the X25519 shared secret and early (v2) or pe (v3);
 * fails on an all-zero result.
 */
static int derive_hs_secret(struct nd_hs *hs, const u8 peer[ND_KEY_LEN])
{
	u8 dh[ND_KEY_LEN], derived[ND_HASH_LEN];
	int err = -EPROTO;

	if (!curve25519(dh, hs->eph_priv, peer))
		goto out;
	err = nd_expand_label(derived, sizeof(derived), hs->psk_secret,
			      ND_LABEL_DERIVED, NULL, 0);
	if (!err)
		err = nd_hkdf_extract(hs->hs_secret, derived, sizeof(derived),
				      dh, sizeof(dh));
out:
	memzero_explicit(dh, sizeof(dh));
	memzero_explicit(derived, sizeof(derived));
	return err;
}

/* Decrypt a copy of the ServerHello payload (hs->sh keeps wire bytes). */
static int open_server_hello(struct nd_hs *hs, struct nd_export_info *info)
{
	struct nd_vec v[2] = {
		{ hs->ch, hs->ch_len },
		{ hs->sh, sizeof(struct nd_hello_hdr) },
	};
	u8 th[ND_HASH_LEN], secret[ND_HASH_LEN];
	int err;

	nd_sha256v(th, v, 2);
	err = nd_expand_label(secret, sizeof(secret), hs->hs_secret,
			      ND_LABEL_S_HS, th, sizeof(th));
	if (err)
		goto out;
	memcpy(hs->sh_plain, hs->sh, sizeof(hs->sh));
	err = crypt_with(hs, secret, hs->sh_plain, sizeof(struct nd_hello_hdr),
			 sizeof(struct nd_server_payload), false);
	if (!err)
		err = parse_server_payload((struct nd_server_payload *)
					   (hs->sh_plain +
					    sizeof(struct nd_hello_hdr)), info);
	memzero_explicit(hs->sh_plain, sizeof(hs->sh_plain));
out:
	memzero_explicit(secret, sizeof(secret));
	return err;
}

/* ClientFinished = HMAC(Expand-Label(hs, "c finished"), SHA256(CH || SH)). */
static int client_finished(struct nd_hs *hs)
{
	struct nd_vec v[2] = {
		{ hs->ch, hs->ch_len }, { hs->sh, sizeof(hs->sh) },
	};
	u8 th[ND_HASH_LEN], fkey[ND_HASH_LEN];
	struct nd_vec m = { th, sizeof(th) };
	int err;

	nd_sha256v(th, v, 2);
	err = nd_expand_label(fkey, sizeof(fkey), hs->hs_secret,
			      ND_LABEL_C_FINISHED, NULL, 0);
	if (!err)
		err = nd_hmac_sha256v(hs->cf, fkey, sizeof(fkey), &m, 1);
	memzero_explicit(fkey, sizeof(fkey));
	return err;
}

static int application_keys(struct nd_hs *hs, struct nd_keys *keys)
{
	struct nd_vec v[3] = {
		{ hs->ch, hs->ch_len }, { hs->sh, sizeof(hs->sh) },
		{ hs->cf, sizeof(hs->cf) },
	};
	u8 th[ND_HASH_LEN], derived[ND_HASH_LEN], master[ND_HASH_LEN];
	int err;

	nd_sha256v(th, v, 3);
	err = nd_expand_label(derived, sizeof(derived), hs->hs_secret,
			      ND_LABEL_DERIVED, NULL, 0);
	if (!err)
		err = nd_hkdf_extract(master, derived, sizeof(derived), zeros,
				      sizeof(zeros));
	if (!err)
		err = nd_expand_label(keys->c2s.secret, ND_HASH_LEN, master,
				      ND_LABEL_C_AP, th, sizeof(th));
	if (!err)
		err = nd_expand_label(keys->s2c.secret, ND_HASH_LEN, master,
				      ND_LABEL_S_AP, th, sizeof(th));
	if (!err)
		err = nd_traffic_derive(&keys->c2s);
	if (!err)
		err = nd_traffic_derive(&keys->s2c);
	memzero_explicit(derived, sizeof(derived));
	memzero_explicit(master, sizeof(master));
	return err;
}

/*
 * Process the full ServerHello in hs->sh.  On success info is filled; if
 * info->status is ND_HS_OK, hs->cf holds the ClientFinished message to send
 * and keys the traffic keys.  -EBADMSG: the ServerHello does not
 * authenticate; -EPROTO: it is malformed.
 */
int nd_hs_client_finish(struct nd_hs *hs, struct nd_export_info *info,
			struct nd_keys *keys)
{
	const struct nd_hello_hdr *hdr = (const struct nd_hello_hdr *)hs->sh;
	int err;

	err = nd_hs_check_server_hdr(hs);
	if (!err)
		err = derive_hs_secret(hs, hdr->ephemeral);
	if (!err)
		err = open_server_hello(hs, info);
	if (err || info->status != ND_HS_OK)
		return err;
	err = client_finished(hs);
	if (!err)
		err = application_keys(hs, keys);
	return err;
}

/* Wipe the secrets; the transform stays, under an all-zero key. */
void nd_hs_wipe(struct nd_hs *hs)
{
	static const u8 zero_key[ND_KEY_LEN];

	memzero_explicit(hs, offsetof(struct nd_hs, aead));
	if (hs->aead.tfm)
		nd_aead_setkey(&hs->aead, zero_key);
}

/* A handshake state with its transform; GFP_KERNEL, at attach. */
struct nd_hs *nd_hs_alloc(void)
{
	struct nd_hs *hs = kzalloc(sizeof(*hs), GFP_KERNEL);

	if (hs && nd_aead_alloc(&hs->aead)) {
		kfree(hs);
		hs = NULL;
	}
	return hs;
}

void nd_hs_free(struct nd_hs *hs)
{
	if (!hs)
		return;
	nd_aead_free(&hs->aead);	/* wipes the key */
	kfree_sensitive(hs);
}
