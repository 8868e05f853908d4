/* SPDX-License-Identifier: ISC */
/*
 * The client's side of the handshake: hs_client_finish on a ServerHello
 * answering a fixed ClientHello (fixed key, fixed ephemeral key), and
 * hs_parse_reject.
 *
 * Input: one mode byte, then
 *   mode bit 0 clear: the ServerHello, ND_SERVER_HELLO_LEN bytes (the
 *     whole rest of the input also goes to hs_parse_reject);
 *   mode bit 0 set: the 48-byte nd_server_payload in clear, sealed here
 *     under the right handshake key so that the payload checks behind
 *     the AEAD are reached.  The header is the one a server sends, or
 *     with mode bit 1 its first 8 bytes (magic, versions, length) come
 *     from the input, before the payload.
 * An accepted ServerHello's ClientFinished and traffic keys are checked
 * against the key schedule recomputed from docs/protocol.md.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "handshake.h"
#include "fuzz.h"

#define MODE_SEALED	0x01
#define MODE_HDR	0x02

static const uint8_t zero32[32];

/* The client's state after its hello, and what the server side knows. */
static struct {
	int done;
	struct hs_state st;
	uint8_t server_pub[ND_KEY_LEN];
	uint8_t hs[ND_HASH_LEN];
} fx;

static void
fixture(void)
{
	struct hs_request req;
	uint8_t ch[ND_CLIENT_HELLO_LEN], dh[ND_KEY_LEN];

	if (fx.done)
		return;
	memset(&req, 0, sizeof(req));
	memset(req.client_id, 0x5a, sizeof(req.client_id));
	req.name_len = strlen("home");
	memcpy(req.name, "home", req.name_len);
	memcpy(fx.st.eph_priv, fuzz_client_priv, ND_KEY_LEN);
	if (hs_client_hello(&fx.st, fuzz_psk[0], &req, 1, ch) == -1 ||
	    crypto_x25519_public(fx.server_pub, fuzz_server_priv) == -1 ||
	    crypto_x25519(dh, fuzz_server_priv, fx.st.eph_pub) == -1)
		fuzz_fail(__FILE__, __LINE__, "fixture");
	fuzz_handshake_secret(fx.hs, fuzz_psk[0], dh);
	fx.done = 1;
}

/* docs/protocol.md's rules for a server payload, in host order. */
static int
info_valid(const struct hs_export_info *i)
{
	uint32_t m = i->min_block, p = i->pref_block;

	if (i->status > ND_HS_STATUS_MAX)
		return 0;
	if (i->status != ND_HS_OK)
		return i->flags == 0 && i->size == 0 && m == 0 && p == 0 &&
		    i->max_payload == 0 &&
		    memcmp(i->export_id, zero32, ND_EXPORT_ID_LEN) == 0;
	return (i->flags & ~ND_FLAG_ALL) == 0 &&
	    m >= ND_MIN_BLOCK && m <= 4096 && (m & (m - 1)) == 0 &&
	    p >= m && (p & (p - 1)) == 0 && i->max_payload >= m;
}

static void
payload_info(const struct nd_server_payload *p, struct hs_export_info *i)
{
	memset(i, 0, sizeof(*i));
	i->status = be32toh(p->status);
	i->flags = be32toh(p->flags);
	i->size = be64toh(p->size);
	i->min_block = be32toh(p->min_block);
	i->pref_block = be32toh(p->pref_block);
	i->max_payload = be32toh(p->max_payload);
	memcpy(i->export_id, p->export_id, ND_EXPORT_ID_LEN);
}

static int
info_equal(const struct hs_export_info *a, const struct hs_export_info *b)
{
	return a->status == b->status && a->flags == b->flags &&
	    a->size == b->size && a->min_block == b->min_block &&
	    a->pref_block == b->pref_block &&
	    a->max_payload == b->max_payload &&
	    memcmp(a->export_id, b->export_id, ND_EXPORT_ID_LEN) == 0;
}

/* The header a v2 client accepts, after offering version 2 only. */
static int
hdr_valid(const uint8_t *msg)
{
	struct nd_hello_hdr h;

	memcpy(&h, msg, sizeof(h));
	return be32toh(h.magic) == ND_HELLO_MAGIC &&
	    be16toh(h.length) == ND_SERVER_HELLO_LEN &&
	    h.version_min == ND_VERSION_2 && h.version_max == ND_VERSION_2;
}

/* ClientFinished and the traffic keys, from docs/protocol.md. */
static void
expected_keys(const uint8_t sh[ND_SERVER_HELLO_LEN],
    uint8_t cf[ND_CLIENT_FINISHED_LEN], struct hs_keys *k)
{
	struct crypto_vec v[] = {
		{ fx.st.ch, ND_CLIENT_HELLO_LEN }, { sh, ND_SERVER_HELLO_LEN },
		{ cf, ND_CLIENT_FINISHED_LEN },
	};
	uint8_t fk[ND_HASH_LEN], th[ND_HASH_LEN], salt[ND_HASH_LEN];
	uint8_t master[ND_HASH_LEN];

	crypto_sha256v(th, v, 2);
	fuzz_expand_label(fk, sizeof(fk), fx.hs, "c finished", NULL, 0);
	crypto_hmac_sha256(cf, fk, sizeof(fk), th, sizeof(th));
	crypto_sha256v(th, v, 3);
	fuzz_expand_label(salt, sizeof(salt), fx.hs, "derived", NULL, 0);
	crypto_hkdf_extract(master, salt, sizeof(salt), zero32, sizeof(zero32));
	fuzz_traffic(&k->c2s, master, "c ap", th);
	fuzz_traffic(&k->s2c, master, "s ap", th);
}

/* hs_parse_reject on any length, against the rules. */
static void
check_reject(const uint8_t *msg, size_t len)
{
	struct nd_hello_hdr h;
	uint8_t lo = 0, hi = 0;
	int want, got;

	got = hs_parse_reject(msg, len, &lo, &hi) == 0;
	if (len < ND_VERSION_REJECT_LEN) {
		FUZZ_CHECK(!got);
		return;
	}
	memcpy(&h, msg, sizeof(h));
	want = be32toh(h.magic) == ND_HELLO_MAGIC &&
	    be16toh(h.length) == ND_VERSION_REJECT_LEN &&
	    h.version_min <= h.version_max &&
	    memcmp(h.ephemeral, zero32, ND_KEY_LEN) == 0;
	FUZZ_CHECK(got == want);
	if (got)
		FUZZ_CHECK(lo == h.version_min && hi == h.version_max);
}

/* What hs_client_finish gave, whatever the ServerHello. */
static void
check_result(int rv, int err, const uint8_t sh[ND_SERVER_HELLO_LEN],
    const struct hs_export_info *info, const uint8_t *cf,
    const struct hs_keys *keys)
{
	struct hs_keys want;
	uint8_t wcf[ND_CLIENT_FINISHED_LEN], lo, hi;
	static const struct hs_keys zero_keys;

	if (hs_parse_reject(sh, ND_VERSION_REJECT_LEN, &lo, &hi) == 0)
		FUZZ_CHECK(rv == -1 && err == EPROTONOSUPPORT);
	if (rv == -1) {
		FUZZ_CHECK(err == EBADMSG || err == EPROTONOSUPPORT);
		FUZZ_CHECK(memcmp(cf, zero32, ND_CLIENT_FINISHED_LEN) == 0);
		FUZZ_CHECK(memcmp(keys, &zero_keys, sizeof(*keys)) == 0);
		return;
	}
	FUZZ_CHECK(rv == 0);
	FUZZ_CHECK(hdr_valid(sh));
	FUZZ_CHECK(info_valid(info));
	if (info->status != ND_HS_OK) {
		FUZZ_CHECK(memcmp(keys, &zero_keys, sizeof(*keys)) == 0);
		return;
	}
	expected_keys(sh, wcf, &want);
	FUZZ_CHECK(memcmp(cf, wcf, sizeof(wcf)) == 0);
	FUZZ_CHECK(memcmp(keys, &want, sizeof(want)) == 0);
}

/* Builds the ServerHello; the payload sent (sealed mode) in *pl. */
static void
read_sh(const uint8_t *data, size_t size, uint8_t sh[ND_SERVER_HELLO_LEN],
    struct nd_server_payload *pl, uint8_t *mode)
{
	struct fuzz_in in = { data, size };
	struct nd_hello_hdr h;

	*mode = fuzz_u8(&in);
	if (!(*mode & MODE_SEALED)) {
		fuzz_bytes(&in, sh, ND_SERVER_HELLO_LEN);
		return;
	}
	fuzz_hello_hdr(&h, ND_VERSION_2, ND_VERSION_2, ND_SERVER_HELLO_LEN,
	    fx.server_pub);
	if (*mode & MODE_HDR)
		fuzz_bytes(&in, &h, 8);
	fuzz_bytes(&in, pl, sizeof(*pl));
	fuzz_seal_server_hello(sh, fx.hs, fx.st.ch, &h, pl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nd_server_payload pl;
	struct hs_export_info info, want;
	struct hs_state st;
	struct hs_keys keys;
	uint8_t sh[ND_SERVER_HELLO_LEN], cf[ND_CLIENT_FINISHED_LEN], mode;
	int rv, err;

	fixture();
	read_sh(data, size, sh, &pl, &mode);
	if (!(mode & MODE_SEALED) && size > 0)
		check_reject(data + 1, size - 1);
	st = fx.st;
	memset(&info, 0, sizeof(info));
	errno = 0;
	rv = hs_client_finish(&st, sh, &info, cf, &keys);
	err = errno;
	check_result(rv, err, sh, &info, cf, &keys);
	if (mode & MODE_SEALED) {
		payload_info(&pl, &want);
		FUZZ_CHECK((rv == 0) == (hdr_valid(sh) &&
		    pl.reserved == 0 && info_valid(&want)));
		if (rv == 0)
			FUZZ_CHECK(info_equal(&info, &want));
	}
	hs_state_clear(&st);
	hs_keys_clear(&keys);
	return 0;
}

/* Seeds. */

/* A ServerHello from hs_server_hello, answering the fixed hello. */
static void
seed_server(fuzz_emit_fn emit, void *arg, const char *name, uint32_t status)
{
	const struct hs_export_info ok = {
		.status = ND_HS_OK, .flags = ND_FLAG_ALL, .size = 1 << 30,
		.min_block = ND_MIN_BLOCK, .pref_block = ND_PREF_BLOCK,
		.max_payload = ND_MAX_PAYLOAD, .export_id = { 1, 2, 3 },
	};
	struct hs_export_info info = { .status = status };
	struct hs_state st;
	struct hs_request req;
	uint8_t sh[1 + ND_SERVER_HELLO_LEN];

	memset(&st, 0, sizeof(st));
	if (hs_server_open_hello(&st, fx.st.ch, fuzz_psk, FUZZ_NKEYS,
	    &req) != 0)
		fuzz_fail(__FILE__, __LINE__, "hs_server_open_hello");
	memcpy(st.eph_priv, fuzz_server_priv, ND_KEY_LEN);
	sh[0] = 0;
	if (hs_server_hello(&st, status == ND_HS_OK ? &ok : &info, 1,
	    sh + 1) == -1)
		fuzz_fail(__FILE__, __LINE__, "hs_server_hello");
	emit(arg, name, sh, sizeof(sh));
	hs_state_clear(&st);
}

static void
seed_sealed(fuzz_emit_fn emit, void *arg, const char *name, uint8_t mode,
    const struct hs_export_info *i)
{
	struct nd_hello_hdr h;
	struct fuzz_buf b = { NULL, 0, 0 };

	fuzz_put_u8(&b, mode);
	if (mode & MODE_HDR) {
		fuzz_hello_hdr(&h, ND_VERSION_2, ND_VERSION_2,
		    ND_SERVER_HELLO_LEN, NULL);
		fuzz_put(&b, &h, 8);
	}
	fuzz_put_u32(&b, i->status);
	fuzz_put_u32(&b, i->flags);
	fuzz_put_u64(&b, i->size);
	fuzz_put_u32(&b, i->min_block);
	fuzz_put_u32(&b, i->pref_block);
	fuzz_put_u32(&b, i->max_payload);
	fuzz_put_u32(&b, 0);
	fuzz_put(&b, i->export_id, ND_EXPORT_ID_LEN);
	emit(arg, name, b.p, b.len);
	fuzz_buf_free(&b);
}

void
fuzz_seeds(fuzz_emit_fn emit, void *arg)
{
	const struct hs_export_info ok = {
		.status = ND_HS_OK, .flags = ND_FLAG_FLUSH | ND_FLAG_TRIM,
		.size = 64 << 20, .min_block = 512, .pref_block = 4096,
		.max_payload = 1 << 20, .export_id = { 9, 8, 7, 6 },
	};
	const struct hs_export_info busy = { .status = ND_HS_BUSY };
	const struct hs_export_info bad = {
		.status = ND_HS_OK, .min_block = 1024, .pref_block = 512,
		.max_payload = 4096,
	};
	uint8_t rej[1 + ND_VERSION_REJECT_LEN], sh[1 + ND_SERVER_HELLO_LEN];
	struct nd_hello_hdr h;

	fixture();
	seed_server(emit, arg, "raw-ok", ND_HS_OK);
	seed_server(emit, arg, "raw-denied", ND_HS_DENIED);
	rej[0] = 0;
	hs_server_reject(rej + 1, ND_VERSION_2, ND_VERSION_2);
	emit(arg, "raw-reject", rej, sizeof(rej));
	memset(sh, 0, sizeof(sh));
	fuzz_hello_hdr(&h, ND_VERSION_2, ND_VERSION_2, ND_SERVER_HELLO_LEN,
	    NULL);
	memcpy(sh + 1, &h, sizeof(h));
	emit(arg, "raw-zero-eph", sh, sizeof(sh));
	seed_sealed(emit, arg, "sealed-ok", MODE_SEALED, &ok);
	seed_sealed(emit, arg, "sealed-hdr-ok", MODE_SEALED | MODE_HDR, &ok);
	seed_sealed(emit, arg, "sealed-busy", MODE_SEALED, &busy);
	seed_sealed(emit, arg, "sealed-badblock", MODE_SEALED, &bad);
}
