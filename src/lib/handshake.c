/* SPDX-License-Identifier: ISC */
/*
 * The v2 and v3 handshakes: message construction and checking, and the
 * key schedule of docs/protocol.md.  No I/O.  Everything taken from the peer
 * is checked; every failure returns -1 and the caller closes the
 * connection without saying why.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "handshake.h"

#define HDR_LEN		sizeof(struct nd_hello_hdr)
#define EPH_OFF		offsetof(struct nd_hello_hdr, ephemeral)

static const uint8_t zero_key[ND_HASH_LEN];

/* Key schedule. */

/* HKDF-Expand-Label (netdisk_proto.h). */
static int
expand_label(void *out, size_t outlen, const uint8_t secret[ND_HASH_LEN],
    const char *label, const void *ctx, size_t ctxlen)
{
	uint8_t info[ND_HKDF_LABEL_MAX];
	uint32_t n;

	if ((n = nd_hkdf_label(info, outlen, label, ctx, ctxlen)) == 0)
		return -1;
	return crypto_hkdf_expand(out, outlen, secret, info, n);
}

/* The same from a secret prepared as an HMAC key. */
static int
expand_label_key(void *out, size_t outlen,
    const struct crypto_hmac_key *secret, const char *label,
    const void *ctx, size_t ctxlen)
{
	uint8_t info[ND_HKDF_LABEL_MAX];
	uint32_t n;

	if ((n = nd_hkdf_label(info, outlen, label, ctx, ctxlen)) == 0)
		return -1;
	return crypto_hkdf_expand_key(out, outlen, secret, info, n);
}

/* The traffic secret in t is set; derive its key and iv. */
static int
traffic_keys(struct hs_traffic *t)
{
	struct crypto_hmac_key k;
	int rv;

	crypto_hmac_key_init(&k, t->secret, ND_HASH_LEN);
	rv = expand_label_key(t->key, ND_KEY_LEN, &k, ND_LABEL_KEY, NULL, 0) ||
	    expand_label_key(t->iv, ND_IV_LEN, &k, ND_LABEL_IV, NULL, 0) ?
	    -1 : 0;
	crypto_hmac_key_wipe(&k);
	return rv;
}

static int
traffic_from(struct hs_traffic *t, const uint8_t secret[ND_HASH_LEN],
    const char *label, const uint8_t th[ND_HASH_LEN])
{
	if (expand_label(t->secret, ND_HASH_LEN, secret, label, th,
	    ND_HASH_LEN) == -1)
		return -1;
	return traffic_keys(t);
}

static int
traffic_from_key(struct hs_traffic *t, const struct crypto_hmac_key *secret,
    const char *label, const uint8_t th[ND_HASH_LEN])
{
	if (expand_label_key(t->secret, ND_HASH_LEN, secret, label, th,
	    ND_HASH_LEN) == -1)
		return -1;
	return traffic_keys(t);
}

static void
early_secret(uint8_t early[ND_HASH_LEN], const uint8_t psk[ND_KEY_LEN])
{
	crypto_hkdf_extract(early, zero_key, sizeof(zero_key), psk,
	    ND_KEY_LEN);
}

/* Extract(salt = Expand-Label(secret, "derived", "", 32), ikm). */
static int
next_secret(uint8_t out[ND_HASH_LEN], const uint8_t secret[ND_HASH_LEN],
    const uint8_t ikm[ND_HASH_LEN])
{
	uint8_t salt[ND_HASH_LEN];
	int rv;

	rv = expand_label(salt, sizeof(salt), secret, ND_LABEL_DERIVED, NULL,
	    0);
	if (rv == 0)
		crypto_hkdf_extract(out, salt, sizeof(salt), ikm, ND_HASH_LEN);
	crypto_wipe(salt, sizeof(salt));
	return rv;
}

/* hs = Extract(Expand-Label(base, "derived"), dh); base: early or pe. */
static int
handshake_secret(uint8_t hs[ND_HASH_LEN], const uint8_t base[ND_HASH_LEN],
    const uint8_t dh[ND_KEY_LEN])
{
	return next_secret(hs, base, dh);
}

/* The length of the ClientHello in st (of its version). */
static size_t
ch_len(const struct hs_state *st)
{
	return nd_client_hello_len(st->version);
}

/* The ClientHello key: c_hello = Expand-Label(early, "c hello", th_ch). */
static int
client_hello_traffic(struct hs_traffic *t, const uint8_t psk[ND_KEY_LEN],
    const uint8_t th_ch[ND_HASH_LEN])
{
	uint8_t early[ND_HASH_LEN];
	int rv;

	early_secret(early, psk);
	rv = traffic_from(t, early, ND_LABEL_C_HELLO, th_ch);
	crypto_wipe(early, sizeof(early));
	return rv;
}

/* The ServerHello key: Expand-Label(hs, "s hs", SHA256(CH || SH hdr)). */
static int
server_hello_traffic(struct hs_traffic *t, const struct hs_state *st)
{
	struct crypto_vec v[] = {
		{ st->ch, ch_len(st) }, { st->sh, HDR_LEN },
	};
	uint8_t th[ND_HASH_LEN];

	crypto_sha256v(th, v, 2);
	return traffic_from(t, st->hs_secret, ND_LABEL_S_HS, th);
}

/* CF = HMAC(Expand-Label(hs, "c finished", "", 32), SHA256(CH || SH)). */
static int
client_finished(uint8_t cf[ND_CLIENT_FINISHED_LEN], const struct hs_state *st)
{
	struct crypto_vec v[] = {
		{ st->ch, ch_len(st) }, { st->sh, sizeof(st->sh) },
	};
	uint8_t fk[ND_HASH_LEN], th[ND_HASH_LEN];
	int rv;

	crypto_sha256v(th, v, 2);
	rv = expand_label(fk, sizeof(fk), st->hs_secret, ND_LABEL_C_FINISHED,
	    NULL, 0);
	if (rv == 0)
		crypto_hmac_sha256(cf, fk, sizeof(fk), th, sizeof(th));
	crypto_wipe(fk, sizeof(fk));
	return rv;
}

static int
application_keys(struct hs_keys *k, const struct hs_state *st,
    const uint8_t cf[ND_CLIENT_FINISHED_LEN])
{
	struct crypto_vec v[] = {
		{ st->ch, ch_len(st) }, { st->sh, sizeof(st->sh) },
		{ cf, ND_CLIENT_FINISHED_LEN },
	};
	uint8_t th[ND_HASH_LEN], master[ND_HASH_LEN];
	int rv;

	crypto_sha256v(th, v, 3);
	rv = next_secret(master, st->hs_secret, zero_key);
	if (rv == 0)
		rv = traffic_from(&k->c2s, master, ND_LABEL_C_AP, th);
	if (rv == 0)
		rv = traffic_from(&k->s2c, master, ND_LABEL_S_AP, th);
	crypto_wipe(master, sizeof(master));
	if (rv != 0)
		hs_keys_clear(k);
	return rv;
}

void
hs_traffic_update(struct hs_traffic *t)
{
	uint8_t next[ND_HASH_LEN];

	/* Fixed lengths: HKDF-Expand cannot fail here. */
	if (expand_label(next, sizeof(next), t->secret, ND_LABEL_UPDATE, NULL,
	    0))
		abort();
	memcpy(t->secret, next, sizeof(next));
	crypto_wipe(next, sizeof(next));
	if (traffic_keys(t) == -1)
		abort();
}

/*
 * AES-256-GCM with a traffic key: nonce = iv, AD = the ad bytes of msg
 * before the sealed part (the hello header, or in a v3 ClientHello the
 * header and the key hint).
 */

/* Seals msg's len bytes after ad in place; the tag follows them. */
static int
traffic_seal_at(const struct hs_traffic *t, uint8_t *msg, size_t ad,
    size_t len)
{
	struct crypto_aead *a;
	int rv;

	if ((a = crypto_aead_new(t->key)) == NULL)
		return -1;
	rv = crypto_aead_seal(a, t->iv, msg, ad, msg + ad, len, msg + ad,
	    msg + ad + len);
	crypto_aead_free(a);
	return rv;
}

static int
traffic_open_at(const struct hs_traffic *t, const uint8_t *msg, size_t ad,
    size_t len, void *out)
{
	struct crypto_aead *a;
	int rv;

	if ((a = crypto_aead_new(t->key)) == NULL)
		return -1;
	rv = crypto_aead_open(a, t->iv, msg, ad, msg + ad, len, out,
	    msg + ad + len);
	crypto_aead_free(a);
	return rv;
}

static int
traffic_seal(const struct hs_traffic *t, uint8_t *msg, size_t len)
{
	return traffic_seal_at(t, msg, HDR_LEN, len);
}

static int
traffic_open(const struct hs_traffic *t, const uint8_t *msg, size_t len,
    void *out)
{
	return traffic_open_at(t, msg, HDR_LEN, len, out);
}

/* Message headers and payloads. */

static void
hdr_build(uint8_t *out, uint8_t vmin, uint8_t vmax, uint16_t len,
    const uint8_t eph[ND_KEY_LEN])
{
	struct nd_hello_hdr h;

	h.magic = htobe32(ND_HELLO_MAGIC);
	h.version_min = vmin;
	h.version_max = vmax;
	h.length = htobe16(len);
	if (eph != NULL)
		memcpy(h.ephemeral, eph, ND_KEY_LEN);
	else
		memset(h.ephemeral, 0, ND_KEY_LEN);
	memcpy(out, &h, sizeof(h));
}

static int
request_valid(const struct hs_request *r)
{
	if (r->name_len < 1 || r->name_len > ND_NAME_MAX ||
	    memchr(r->name, '\0', r->name_len) != NULL)
		return -1;
	if (r->version_min == 0 && r->version_max == 0)
		return 0;	/* this implementation's range */
	if (r->version_min < 1 || r->version_min > r->version_max)
		return -1;
	return 0;
}

static void
client_payload_encode(const struct hs_request *r, struct nd_client_payload *p)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->client_id, r->client_id, ND_CLIENT_ID_LEN);
	p->options = htobe32(r->options);
	p->name_len = htobe16(r->name_len);
	p->conn = htobe16(r->conn);
	memcpy(p->name, r->name, r->name_len);
}

static int
client_payload_decode(const struct nd_client_payload *p, const uint8_t *hdr,
    struct hs_request *r)
{
	size_t n = be16toh(p->name_len);

	if (n < 1 || n > ND_NAME_MAX ||
	    memchr(p->name, '\0', n) != NULL ||
	    !crypto_is_zero(p->name + n, ND_NAME_MAX - n))
		return -1;
	memset(r, 0, sizeof(*r));
	memcpy(r->client_id, p->client_id, ND_CLIENT_ID_LEN);
	r->options = be32toh(p->options);
	r->conn = be16toh(p->conn);
	r->name_len = n;
	memcpy(r->name, p->name, n);
	r->version_min = hdr[offsetof(struct nd_hello_hdr, version_min)];
	r->version_max = hdr[offsetof(struct nd_hello_hdr, version_max)];
	return 0;
}

/* A non-OK status carries nothing else. */
static void
server_payload_encode(const struct hs_export_info *i,
    struct nd_server_payload *p)
{
	memset(p, 0, sizeof(*p));
	p->status = htobe32(i->status);
	if (i->status != ND_HS_OK)
		return;
	p->flags = htobe32(i->flags);
	p->size = htobe64(i->size);
	p->min_block = htobe32(i->min_block);
	p->pref_block = htobe32(i->pref_block);
	p->max_payload = htobe32(i->max_payload);
	memcpy(p->export_id, i->export_id, ND_EXPORT_ID_LEN);
}

static int
server_payload_decode(const struct nd_server_payload *p,
    struct hs_export_info *i)
{
	i->status = be32toh(p->status);
	i->flags = be32toh(p->flags);
	i->size = be64toh(p->size);
	i->min_block = be32toh(p->min_block);
	i->pref_block = be32toh(p->pref_block);
	i->max_payload = be32toh(p->max_payload);
	memcpy(i->export_id, p->export_id, ND_EXPORT_ID_LEN);
	return nd_server_payload_invalid(p) ? -1 : 0;
}

static int
ephemeral(struct hs_state *st, int preset_eph)
{
	if (preset_eph)
		return crypto_x25519_public(st->eph_pub, st->eph_priv);
	return crypto_x25519_keypair(st->eph_priv, st->eph_pub);
}

/* Version 3 (docs/protocol.md, section 4.4). */

/* key_id and the salt of pe, from the PSK's early secret. */
static int
v3_psk_values(uint8_t key_id[ND_KEY_ID_LEN], uint8_t psk_es[ND_HASH_LEN],
    const uint8_t early[ND_HASH_LEN])
{
	if (expand_label(key_id, ND_KEY_ID_LEN, early, ND_LABEL_KEY_ID, NULL,
	    0) == -1)
		return -1;
	return expand_label(psk_es, ND_HASH_LEN, early, ND_LABEL_PSK_ES, NULL,
	    0);
}

/* SHA-256(S || the first len bytes of the ClientHello ch). */
static void
v3_hash(uint8_t th[ND_HASH_LEN], const uint8_t spub[ND_KEY_LEN],
    const uint8_t *ch, size_t len)
{
	struct crypto_vec v[] = { { spub, ND_KEY_LEN }, { ch, len } };

	crypto_sha256v(th, v, 2);
}

/* c_hint = Expand-Label(Extract(0, es), "c hint", SHA256(S || CH.hdr)). */
static int
v3_hint_traffic(struct hs_traffic *t, const uint8_t es[ND_KEY_LEN],
    const uint8_t spub[ND_KEY_LEN], const uint8_t *ch)
{
	uint8_t prk[ND_HASH_LEN], th[ND_HASH_LEN];
	int rv;

	crypto_hkdf_extract(prk, zero_key, sizeof(zero_key), es, ND_KEY_LEN);
	v3_hash(th, spub, ch, HDR_LEN);
	rv = traffic_from(t, prk, ND_LABEL_C_HINT, th);
	crypto_wipe(prk, sizeof(prk));
	return rv;
}

/*
 * pe = Extract(psk_es, es) into st->base, and the payload key
 * c_hello = Expand-Label(pe, "c hello", SHA256(S || CH.hint)).
 */
static int
v3_hello_traffic(struct hs_traffic *t, struct hs_state *st,
    const uint8_t psk_es[ND_HASH_LEN], const uint8_t es[ND_KEY_LEN],
    const uint8_t spub[ND_KEY_LEN], const uint8_t *ch)
{
	uint8_t th[ND_HASH_LEN];

	crypto_hkdf_extract(st->base, psk_es, ND_HASH_LEN, es, ND_KEY_LEN);
	v3_hash(th, spub, ch, ND_CLIENT_HELLO_V3_PAYLOAD_OFF);
	return traffic_from(t, st->base, ND_LABEL_C_HELLO, th);
}

/* Seals the hint and the payload already in st->ch. */
static int
v3_seal(struct hs_state *st, const uint8_t psk[ND_KEY_LEN],
    const uint8_t spub[ND_KEY_LEN], const uint8_t es[ND_KEY_LEN])
{
	uint8_t early[ND_HASH_LEN], psk_es[ND_HASH_LEN];
	struct hs_traffic t;
	int rv;

	early_secret(early, psk);
	rv = v3_psk_values(st->ch + ND_CLIENT_HELLO_V3_HINT_OFF, psk_es,
	    early);
	if (rv == 0)
		rv = v3_hint_traffic(&t, es, spub, st->ch);
	if (rv == 0)
		rv = traffic_seal_at(&t, st->ch, HDR_LEN,
		    sizeof(struct nd_key_hint));
	if (rv == 0)
		rv = v3_hello_traffic(&t, st, psk_es, es, spub, st->ch);
	if (rv == 0)
		rv = traffic_seal_at(&t, st->ch,
		    ND_CLIENT_HELLO_V3_PAYLOAD_OFF,
		    sizeof(struct nd_client_payload));
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(early, sizeof(early));
	crypto_wipe(psk_es, sizeof(psk_es));
	return rv;
}

/* Client. */

int
hs_client_hello_v3(struct hs_state *st, const uint8_t psk[ND_KEY_LEN],
    const uint8_t server_pub[ND_KEY_LEN], const struct hs_request *req,
    int preset_eph, uint8_t out[ND_CLIENT_HELLO_V3_LEN])
{
	struct nd_client_payload pl;
	uint8_t es[ND_KEY_LEN];
	uint8_t vmin = req->version_min, vmax = req->version_max;
	int rv = -1;

	if (request_valid(req) == -1 || ephemeral(st, preset_eph) == -1 ||
	    crypto_x25519(es, st->eph_priv, server_pub) == -1) {
		crypto_wipe(st->eph_priv, sizeof(st->eph_priv));
		errno = EINVAL;
		return -1;
	}
	if (vmin == 0 && vmax == 0)
		vmin = vmax = ND_VERSION_3;
	memcpy(st->psk, psk, ND_KEY_LEN);
	st->version = ND_VERSION_3;
	hdr_build(st->ch, vmin, vmax, ND_CLIENT_HELLO_V3_LEN, st->eph_pub);
	client_payload_encode(req, &pl);
	memcpy(st->ch + ND_CLIENT_HELLO_V3_PAYLOAD_OFF, &pl, sizeof(pl));
	if (v3_seal(st, psk, server_pub, es) == 0) {
		memcpy(out, st->ch, ND_CLIENT_HELLO_V3_LEN);
		rv = 0;
	}
	crypto_wipe(&pl, sizeof(pl));
	crypto_wipe(es, sizeof(es));
	return rv;
}

int
hs_client_hello(struct hs_state *st, const uint8_t psk[ND_KEY_LEN],
    const struct hs_request *req, int preset_eph,
    uint8_t out[ND_CLIENT_HELLO_LEN])
{
	struct nd_client_payload pl;
	struct hs_traffic t;
	struct crypto_vec v = { st->ch, HDR_LEN };
	uint8_t th[ND_HASH_LEN];
	uint8_t vmin = req->version_min, vmax = req->version_max;
	int rv = -1;

	if (request_valid(req) == -1 || ephemeral(st, preset_eph) == -1) {
		errno = EINVAL;
		return -1;
	}
	if (vmin == 0 && vmax == 0) {
		vmin = ND_VERSION_2;
		vmax = ND_VERSION_2;
	}
	memcpy(st->psk, psk, ND_KEY_LEN);
	early_secret(st->base, psk);
	st->version = ND_VERSION_2;	/* the layout of this hello */
	hdr_build(st->ch, vmin, vmax, ND_CLIENT_HELLO_LEN, st->eph_pub);
	client_payload_encode(req, &pl);
	memcpy(st->ch + HDR_LEN, &pl, sizeof(pl));
	crypto_sha256v(th, &v, 1);
	if (client_hello_traffic(&t, psk, th) == 0 &&
	    traffic_seal(&t, st->ch, sizeof(pl)) == 0) {
		memcpy(out, st->ch, ND_CLIENT_HELLO_LEN);
		rv = 0;
	}
	crypto_wipe(&pl, sizeof(pl));
	crypto_wipe(&t, sizeof(t));
	return rv;
}

/* The ServerHello header answers the ClientHello in st. */
static int
client_check_sh_hdr(struct hs_state *st, const uint8_t *sh)
{
	struct nd_hello_hdr h;
	struct nd_hello_hdr c;

	memcpy(&h, sh, sizeof(h));
	memcpy(&c, st->ch, sizeof(c));
	if (nd_server_hdr_check(&h, c.version_min, c.version_max) !=
	    ND_SERVER_HDR_HELLO || h.version_min != st->version)
		return -1;	/* only the version whose hello was sent */
	return 0;
}

/* Authenticates and decrypts the ServerHello into info. */
static int
client_open_sh(struct hs_state *st, const uint8_t *sh,
    struct hs_export_info *info)
{
	struct nd_server_payload pl;
	struct hs_traffic t;
	uint8_t dh[ND_KEY_LEN];
	int rv = -1;

	if (client_check_sh_hdr(st, sh) == -1 ||
	    crypto_x25519(dh, st->eph_priv, sh + EPH_OFF) == -1)
		return -1;
	memcpy(st->sh, sh, ND_SERVER_HELLO_LEN);
	if (handshake_secret(st->hs_secret, st->base, dh) == 0 &&
	    server_hello_traffic(&t, st) == 0 &&
	    traffic_open(&t, st->sh, sizeof(pl), &pl) == 0 &&
	    server_payload_decode(&pl, info) == 0)
		rv = 0;
	crypto_wipe(dh, sizeof(dh));
	crypto_wipe(&t, sizeof(t));
	crypto_wipe(&pl, sizeof(pl));
	return rv;
}

int
hs_client_finish(struct hs_state *st,
    const uint8_t sh[ND_SERVER_HELLO_LEN], struct hs_export_info *info,
    uint8_t cf[ND_CLIENT_FINISHED_LEN], struct hs_keys *keys)
{
	uint8_t srv_min, srv_max;
	int rv = -1;

	memset(keys, 0, sizeof(*keys));
	memset(cf, 0, ND_CLIENT_FINISHED_LEN);
	if (hs_parse_reject(sh, ND_VERSION_REJECT_LEN, &srv_min,
	    &srv_max) == 0) {
		memset(info, 0, sizeof(*info));
		errno = EPROTONOSUPPORT;
		return -1;
	}
	if (client_open_sh(st, sh, info) == 0) {
		rv = 0;
		if (info->status == ND_HS_OK &&
		    (client_finished(cf, st) == -1 ||
		    application_keys(keys, st, cf) == -1))
			rv = -1;
	}
	crypto_wipe(st->eph_priv, sizeof(st->eph_priv));
	crypto_wipe(st->psk, sizeof(st->psk));
	crypto_wipe(st->base, sizeof(st->base));
	crypto_wipe(st->hs_secret, sizeof(st->hs_secret));
	if (rv == -1) {
		memset(info, 0, sizeof(*info));
		memset(cf, 0, ND_CLIENT_FINISHED_LEN);
		errno = EBADMSG;
	}
	return rv;
}

int
hs_parse_reject(const uint8_t *msg, size_t len, uint8_t *srv_min,
    uint8_t *srv_max)
{
	struct nd_hello_hdr h;

	if (len < ND_VERSION_REJECT_LEN)
		goto bad;
	memcpy(&h, msg, sizeof(h));
	if (nd_server_hdr_check(&h, ND_VERSION_MIN, ND_VERSION_MAX) !=
	    ND_SERVER_HDR_REJECT)
		goto bad;
	*srv_min = h.version_min;
	*srv_max = h.version_max;
	return 0;
bad:
	errno = EBADMSG;
	return -1;
}

/* Server. */

/*
 * The highest version in both ranges whose ClientHello is len bytes
 * long (docs/protocol.md, section 6.2, steps 2 and 3).
 */
int
hs_server_check_hdr(const uint8_t *hdr8, uint8_t smin, uint8_t smax,
    uint8_t *version)
{
	uint32_t magic;
	uint16_t len;
	uint8_t vmin = hdr8[4], vmax = hdr8[5], lo, hi, v;

	memcpy(&magic, hdr8, sizeof(magic));
	memcpy(&len, hdr8 + 6, sizeof(len));
	if (be32toh(magic) != ND_HELLO_MAGIC || vmin > vmax) {
		errno = EBADMSG;
		return -1;
	}
	lo = vmin > smin ? vmin : smin;
	hi = vmax < smax ? vmax : smax;
	if (lo > hi || smin < ND_VERSION_MIN || smax > ND_VERSION_MAX) {
		errno = EPROTONOSUPPORT;
		return -1;
	}
	for (v = hi; v >= lo; v--)
		if (nd_client_hello_len(v) == be16toh(len)) {
			*version = v;
			return 0;
		}
	errno = EBADMSG;
	return -1;
}

uint32_t
hs_request_check(const struct hs_request *req)
{
	if ((req->options & ~ND_OPT_ALL) || req->conn >= ND_CONN_SLOTS)
		return ND_HS_BAD_OPTIONS;
	return ND_HS_OK;
}

uint32_t
hs_server_flags(uint32_t flags, uint32_t options)
{
	flags &= ~ND_FLAG_BLOCK_STATUS;
	if (options & ND_OPT_BLOCK_STATUS)
		flags |= ND_FLAG_BLOCK_STATUS;
	return flags;
}

void
hs_server_reject(uint8_t out[ND_VERSION_REJECT_LEN], uint8_t smin,
    uint8_t smax)
{
	hdr_build(out, smin, smax, ND_VERSION_REJECT_LEN, NULL);
}

void (*hs_trial_hook)(size_t);

void
hs_psk_init(struct hs_psk *p, const uint8_t key[ND_KEY_LEN])
{
	uint8_t early[ND_HASH_LEN];

	memcpy(p->key, key, ND_KEY_LEN);
	early_secret(early, key);
	crypto_hmac_key_init(&p->early, early, sizeof(early));
	/* Fixed lengths: HKDF-Expand cannot fail here. */
	if (v3_psk_values(p->key_id, p->psk_es, early) == -1)
		abort();
	crypto_wipe(early, sizeof(early));
}

void
hs_psk_clear(struct hs_psk *p)
{
	crypto_wipe(p, sizeof(*p));
}

/* Opens the ClientHello's payload with one candidate key: 0 or -1. */
static int
try_key(const struct hs_psk *psk, const uint8_t *ch,
    const uint8_t th_ch[ND_HASH_LEN], struct nd_client_payload *pl)
{
	struct hs_traffic t;
	int rv = -1;

	if (traffic_from_key(&t, &psk->early, ND_LABEL_C_HELLO, th_ch) == 0)
		rv = traffic_open(&t, ch, sizeof(*pl), pl);
	crypto_wipe(&t, sizeof(t));
	return rv;
}

/* dst = src if take (0 or 1), without a branch on take. */
static void
select_bytes(void *dst, const void *src, size_t len, int take)
{
	uint8_t *d = dst, mask = (uint8_t)-take;
	const uint8_t *s = src;
	size_t i;

	for (i = 0; i < len; i++)
		d[i] = (uint8_t)((d[i] & ~mask) | (s[i] & mask));
}

/*
 * Every candidate key is tried, whichever opens the hello, so that the
 * time to the ServerHello does not tell which one did: the index of the
 * last key that opened it, or -1.
 */
static long
try_all_keys(const struct hs_psk *psks, size_t n, const uint8_t *ch,
    const uint8_t th[ND_HASH_LEN], struct nd_client_payload *pl)
{
	struct nd_client_payload trial;
	long found = -1;
	size_t i;
	int hit;

	for (i = 0; i < n; i++) {
		if (hs_trial_hook != NULL)
			hs_trial_hook(i);
		hit = try_key(&psks[i], ch, th, &trial) == 0;
		select_bytes(pl, &trial, sizeof(*pl), hit);
		found = hit ? (long)i : found;
	}
	crypto_wipe(&trial, sizeof(trial));
	return found;
}

int
hs_server_open_hello_psk(struct hs_state *st,
    const uint8_t ch[ND_CLIENT_HELLO_LEN], const struct hs_psk *psks,
    size_t npsks, struct hs_request *req)
{
	struct nd_client_payload pl;
	struct crypto_vec v = { ch, HDR_LEN };
	uint8_t th[ND_HASH_LEN];
	long i;

	if (npsks > INT_MAX || hs_server_check_hdr(ch, ND_VERSION_2,
	    ND_VERSION_2, &st->version) == -1)
		return -1;
	crypto_sha256v(th, &v, 1);
	memset(&pl, 0, sizeof(pl));
	if ((i = try_all_keys(psks, npsks, ch, th, &pl)) < 0) {
		errno = EACCES;
		return -1;
	}
	if (client_payload_decode(&pl, ch, req) == -1) {
		crypto_wipe(&pl, sizeof(pl));
		errno = EBADMSG;
		return -1;
	}
	crypto_wipe(&pl, sizeof(pl));
	memcpy(st->psk, psks[i].key, ND_KEY_LEN);
	early_secret(st->base, st->psk);
	memcpy(st->ch, ch, ND_CLIENT_HELLO_LEN);
	return (int)i;
}

int
hs_server_open_hello(struct hs_state *st,
    const uint8_t ch[ND_CLIENT_HELLO_LEN],
    const uint8_t (*keys)[ND_KEY_LEN], size_t nkeys, struct hs_request *req)
{
	struct hs_psk *psks;
	size_t i;
	int rv, error;

	if (nkeys > INT_MAX)
		return -1;
	if ((psks = calloc(nkeys + 1, sizeof(*psks))) == NULL)
		return -1;
	for (i = 0; i < nkeys; i++)
		hs_psk_init(&psks[i], keys[i]);
	rv = hs_server_open_hello_psk(st, ch, psks, nkeys, req);
	error = errno;
	crypto_wipe(psks, nkeys * sizeof(*psks));
	free(psks);
	errno = error;
	return rv;
}

int
hs_server_hello(struct hs_state *st, const struct hs_export_info *info,
    int preset_eph, uint8_t out[ND_SERVER_HELLO_LEN])
{
	struct nd_server_payload pl;
	int rv;

	server_payload_encode(info, &pl);
	if (nd_server_payload_invalid(&pl)) {
		crypto_wipe(&pl, sizeof(pl));
		crypto_wipe(st->eph_priv, sizeof(st->eph_priv));
		crypto_wipe(st->psk, sizeof(st->psk));
		crypto_wipe(st->base, sizeof(st->base));
		errno = EINVAL;
		return -1;
	}
	rv = hs_server_hello_raw(st, &pl, preset_eph, out);
	crypto_wipe(&pl, sizeof(pl));
	return rv;
}

int
hs_server_hello_raw(struct hs_state *st, const struct nd_server_payload *pl,
    int preset_eph, uint8_t out[ND_SERVER_HELLO_LEN])
{
	struct hs_traffic t;
	uint8_t dh[ND_KEY_LEN];
	int rv = -1;

	if (ephemeral(st, preset_eph)) {
		errno = EINVAL;
		goto out;
	}
	if (crypto_x25519(dh, st->eph_priv, st->ch + EPH_OFF) == -1) {
		errno = EBADMSG;	/* a low-order client key */
		goto out;
	}
	hdr_build(st->sh, st->version, st->version, ND_SERVER_HELLO_LEN,
	    st->eph_pub);
	memcpy(st->sh + HDR_LEN, pl, sizeof(*pl));
	if (handshake_secret(st->hs_secret, st->base, dh) == 0 &&
	    server_hello_traffic(&t, st) == 0 &&
	    traffic_seal(&t, st->sh, sizeof(*pl)) == 0) {
		memcpy(out, st->sh, ND_SERVER_HELLO_LEN);
		rv = 0;
	}
	crypto_wipe(&t, sizeof(t));
out:
	crypto_wipe(dh, sizeof(dh));
	crypto_wipe(st->eph_priv, sizeof(st->eph_priv));
	crypto_wipe(st->psk, sizeof(st->psk));
	crypto_wipe(st->base, sizeof(st->base));
	return rv;
}

int
hs_server_finish(struct hs_state *st,
    const uint8_t cf[ND_CLIENT_FINISHED_LEN], struct hs_keys *keys)
{
	uint8_t expect[ND_CLIENT_FINISHED_LEN];
	int rv = -1;

	memset(keys, 0, sizeof(*keys));
	if (client_finished(expect, st) == 0 &&
	    crypto_equal(expect, cf, sizeof(expect)) &&
	    application_keys(keys, st, cf) == 0)
		rv = 0;
	crypto_wipe(expect, sizeof(expect));
	crypto_wipe(st->hs_secret, sizeof(st->hs_secret));
	if (rv == -1)
		errno = EBADMSG;
	return rv;
}

void
hs_state_clear(struct hs_state *st)
{
	crypto_wipe(st, sizeof(*st));
}

void
hs_keys_clear(struct hs_keys *k)
{
	crypto_wipe(k, sizeof(*k));
}

/* Server, version 3: the key ring (docs/protocol.md, section 6.2, step 5'). */

struct hs_keyring {
	const struct hs_psk *psks;
	size_t npsks;
	uint32_t *slots;		/* key index + 1; 0: empty */
	size_t mask;			/* number of slots - 1 */
	struct hs_psk dummy;		/* opens nothing: a random key */
	int has_server;
	uint8_t server_priv[ND_KEY_LEN];
	uint8_t server_pub[ND_KEY_LEN];
	uint8_t version_min, version_max;
};

/* The slot of a key id: its first bytes, uniformly random. */
static size_t
keyring_home(const struct hs_keyring *kr, const uint8_t id[ND_KEY_ID_LEN])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return (size_t)h & kr->mask;
}

static int
keyring_index(struct hs_keyring *kr)
{
	size_t n = 2, i, j;

	while (n < 2 * kr->npsks)
		n *= 2;
	if ((kr->slots = calloc(n, sizeof(*kr->slots))) == NULL)
		return -1;
	kr->mask = n - 1;
	for (i = 0; i < kr->npsks; i++) {
		j = keyring_home(kr, kr->psks[i].key_id);
		while (kr->slots[j] != 0)
			j = (j + 1) & kr->mask;
		kr->slots[j] = (uint32_t)(i + 1);
	}
	return 0;
}

struct hs_keyring *
hs_keyring_new(const struct hs_psk *psks, size_t npsks,
    const uint8_t *server_priv, uint8_t min_version)
{
	struct hs_keyring *kr;
	uint8_t rnd[ND_KEY_LEN];

	if (npsks >= INT_MAX || min_version < ND_VERSION_MIN ||
	    min_version > (server_priv != NULL ? ND_VERSION_3 : ND_VERSION_2)) {
		errno = EINVAL;
		return NULL;
	}
	if ((kr = calloc(1, sizeof(*kr))) == NULL)
		return NULL;
	kr->psks = psks;
	kr->npsks = npsks;
	kr->version_min = min_version;
	kr->version_max = server_priv != NULL ? ND_VERSION_3 : ND_VERSION_2;
	if (crypto_random(rnd, sizeof(rnd)) == -1 || keyring_index(kr) == -1 ||
	    (server_priv != NULL &&
	    crypto_x25519_public(kr->server_pub, server_priv) == -1)) {
		crypto_wipe(rnd, sizeof(rnd));
		hs_keyring_free(kr);
		return NULL;
	}
	hs_psk_init(&kr->dummy, rnd);
	crypto_wipe(rnd, sizeof(rnd));
	if (server_priv != NULL) {
		memcpy(kr->server_priv, server_priv, ND_KEY_LEN);
		kr->has_server = 1;
	}
	return kr;
}

void
hs_keyring_free(struct hs_keyring *kr)
{
	if (kr == NULL)
		return;
	free(kr->slots);
	crypto_wipe(kr, sizeof(*kr));
	free(kr);
}

void
hs_keyring_versions(const struct hs_keyring *kr, uint8_t *vmin,
    uint8_t *vmax)
{
	*vmin = kr->version_min;
	*vmax = kr->version_max;
}

/* The index of the key whose key id is id, or -1; ids compared in constant time. */
static long
keyring_lookup(const struct hs_keyring *kr, const uint8_t id[ND_KEY_ID_LEN])
{
	size_t j = keyring_home(kr, id);
	uint32_t s;

	for (; (s = kr->slots[j]) != 0; j = (j + 1) & kr->mask)
		if (crypto_equal(kr->psks[s - 1].key_id, id, ND_KEY_ID_LEN))
			return (long)s - 1;
	return -1;
}

/*
 * es = X25519(s, E) and the key hint opened into hint: 0; -1 if the hint
 * does not open; -2 if es is all zero (a low-order E).
 */
static int
v3_open_hint(const struct hs_keyring *kr, const uint8_t *ch,
    uint8_t es[ND_KEY_LEN], struct nd_key_hint *hint)
{
	struct hs_traffic t;
	int rv = -1;

	if (crypto_x25519(es, kr->server_priv, ch + EPH_OFF) == -1)
		return -2;
	if (v3_hint_traffic(&t, es, kr->server_pub, ch) == 0 &&
	    traffic_open_at(&t, ch, HDR_LEN, sizeof(*hint), hint) == 0)
		rv = 0;
	crypto_wipe(&t, sizeof(t));
	return rv;
}

/*
 * Opens the payload with the key whose id the hint names, or with the
 * dummy key if there is none, so that every failure costs the same: the
 * key's index, or -1 if the payload does not open or no key matched.
 */
static long
v3_open_payload(struct hs_state *st, const struct hs_keyring *kr,
    const uint8_t *ch, const uint8_t es[ND_KEY_LEN], long idx,
    struct nd_client_payload *pl)
{
	const struct hs_psk *psk = idx >= 0 ? &kr->psks[idx] : &kr->dummy;
	struct hs_traffic t;
	int opened;

	if (hs_trial_hook != NULL)
		hs_trial_hook(idx >= 0 ? (size_t)idx : SIZE_MAX);
	opened = v3_hello_traffic(&t, st, psk->psk_es, es, kr->server_pub,
	    ch) == 0 && traffic_open_at(&t, ch,
	    ND_CLIENT_HELLO_V3_PAYLOAD_OFF, sizeof(*pl), pl) == 0;
	crypto_wipe(&t, sizeof(t));
	return opened ? idx : -1;
}

int
hs_server_open_hello_v3(struct hs_state *st,
    const uint8_t ch[ND_CLIENT_HELLO_V3_LEN], const struct hs_keyring *kr,
    struct hs_request *req)
{
	struct nd_client_payload pl;
	struct nd_key_hint hint;
	uint8_t es[ND_KEY_LEN];
	long idx = -1;
	int r;

	if (!kr->has_server ||
	    hs_server_check_hdr(ch, ND_VERSION_3, ND_VERSION_3,
	    &st->version) == -1)
		return -1;
	memset(&hint, 0, sizeof(hint));
	r = v3_open_hint(kr, ch, es, &hint);
	if (r != -2) {
		idx = keyring_lookup(kr, hint.key_id);
		idx = v3_open_payload(st, kr, ch, es, r == 0 ? idx : -1, &pl);
	}
	crypto_wipe(es, sizeof(es));
	crypto_wipe(&hint, sizeof(hint));
	if (idx < 0 || client_payload_decode(&pl, ch, req) == -1) {
		errno = idx < 0 ? EACCES : EBADMSG;
		crypto_wipe(&pl, sizeof(pl));
		crypto_wipe(st->base, sizeof(st->base));
		return -1;
	}
	crypto_wipe(&pl, sizeof(pl));
	memcpy(st->psk, kr->psks[idx].key, ND_KEY_LEN);
	memcpy(st->ch, ch, ND_CLIENT_HELLO_V3_LEN);
	return (int)idx;
}

int
hs_server_open(struct hs_state *st, const uint8_t *ch,
    const struct hs_keyring *kr, struct hs_request *req)
{
	if (hs_server_check_hdr(ch, kr->version_min, kr->version_max,
	    &st->version) == -1)
		return -1;
	if (st->version == ND_VERSION_3)
		return hs_server_open_hello_v3(st, ch, kr, req);
	return hs_server_open_hello_psk(st, ch, kr->psks, kr->npsks, req);
}
