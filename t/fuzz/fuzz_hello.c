/* SPDX-License-Identifier: ISC */
/*
 * The server's side of the handshake: hs_server_check_hdr and
 * hs_server_open_hello on a ClientHello with a fixed list of
 * FUZZ_NKEYS keys, then hs_server_hello and hs_server_finish.
 *
 * Input: one mode byte, then
 *   mode bit 0 clear: the ClientHello, ND_CLIENT_HELLO_LEN bytes;
 *   mode bit 0 set:   a key byte (which of the keys, or none of them),
 *     the 40-byte header and the 152-byte nd_client_payload in clear:
 *     the payload is sealed here under that key, so that the payload
 *     checks behind the AEAD are reached.  With mode bit 1 the header's
 *     ephemeral key is replaced by the fixed client key's, so the
 *     handshake can be completed by a real client (hs_client_finish).
 * then the server's answer: a status byte, a flags byte, and 32 bytes of
 * ClientFinished (mode bit 1: the first one, if not zero, says which bit
 * of the real ClientFinished to flip for a second, failing try).
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "handshake.h"
#include "fuzz.h"

#define MODE_SEALED	0x01
#define MODE_CLIENT	0x02
#define CLIENT_MODE(c)	(((c)->mode & (MODE_SEALED | MODE_CLIENT)) == \
			(MODE_SEALED | MODE_CLIENT))

struct hello_case {
	uint8_t mode, keysel;
	uint8_t ch[ND_CLIENT_HELLO_LEN];
	struct nd_hello_hdr hdr;		/* sealed mode */
	struct nd_client_payload pl;		/* sealed mode */
	uint8_t status, flags;
	uint8_t cf[ND_CLIENT_FINISHED_LEN];
};

static void
case_read(struct hello_case *c, const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };

	c->mode = fuzz_u8(&in);
	if (c->mode & MODE_SEALED) {
		c->keysel = fuzz_u8(&in) % (FUZZ_NKEYS + 1);
		fuzz_bytes(&in, &c->hdr, sizeof(c->hdr));
		fuzz_bytes(&in, &c->pl, sizeof(c->pl));
		if (CLIENT_MODE(c))
			memcpy(c->hdr.ephemeral, fuzz_client_pub(), ND_KEY_LEN);
		fuzz_seal_client_hello(c->ch, c->keysel < FUZZ_NKEYS ?
		    fuzz_psk[c->keysel] : fuzz_other_psk, &c->hdr, &c->pl);
	} else
		fuzz_bytes(&in, c->ch, sizeof(c->ch));
	c->status = fuzz_u8(&in);
	c->flags = fuzz_u8(&in);
	fuzz_bytes(&in, c->cf, sizeof(c->cf));
}

/* docs/protocol.md's payload checks, independently of handshake.c. */
static int
payload_valid(const struct nd_client_payload *p)
{
	size_t n = be16toh(p->name_len), i;

	if (n < 1 || n > ND_NAME_MAX)	/* any conn: the caller checks it */
		return 0;
	for (i = 0; i < ND_NAME_MAX; i++)
		if ((i < n) != (p->name[i] != 0))
			return 0;
	return 1;
}

static void
check_hdr(const struct hello_case *c, int *hdr_ok)
{
	uint8_t v = 0, rej[ND_VERSION_REJECT_LEN], lo, hi;
	struct nd_hello_hdr h;

	memcpy(&h, c->ch, sizeof(h));
	errno = 0;
	*hdr_ok = hs_server_check_hdr(c->ch, ND_VERSION_2, ND_VERSION_2, &v) == 0;
	if (*hdr_ok) {
		FUZZ_CHECK(v == ND_VERSION_2);
		FUZZ_CHECK(h.version_min <= v && v <= h.version_max);
		return;
	}
	FUZZ_CHECK(errno == EBADMSG || errno == EPROTONOSUPPORT);
	if (errno != EPROTONOSUPPORT)
		return;
	hs_server_reject(rej, ND_VERSION_2, ND_VERSION_2);
	FUZZ_CHECK(hs_parse_reject(rej, sizeof(rej), &lo, &hi) == 0);
	FUZZ_CHECK(lo == ND_VERSION_2 && hi == ND_VERSION_2);
}

/* What the server learnt from an accepted hello. */
static void
check_request(const struct hello_case *c, const struct hs_request *r)
{
	struct nd_hello_hdr h;

	memcpy(&h, c->ch, sizeof(h));
	FUZZ_CHECK(r->name_len >= 1 && r->name_len <= ND_NAME_MAX);
	FUZZ_CHECK(strlen(r->name) == r->name_len);
	FUZZ_CHECK(r->version_min == h.version_min &&
	    r->version_max == h.version_max);
	if (!(c->mode & MODE_SEALED))
		return;
	FUZZ_CHECK(memcmp(r->name, c->pl.name, r->name_len) == 0);
	FUZZ_CHECK(memcmp(r->client_id, c->pl.client_id,
	    ND_CLIENT_ID_LEN) == 0);
	FUZZ_CHECK(r->options == be32toh(c->pl.options));
}

static void
server_info(const struct hello_case *c, struct hs_export_info *info)
{
	size_t i;

	memset(info, 0, sizeof(*info));
	info->status = c->status % (ND_HS_STATUS_MAX + 1);
	if (info->status != ND_HS_OK)
		return;
	info->flags = c->flags & ND_FLAG_ALL;
	info->size = (uint64_t)c->flags << 20;
	info->min_block = ND_MIN_BLOCK;
	info->pref_block = ND_PREF_BLOCK;
	info->max_payload = ND_MAX_PAYLOAD;
	for (i = 0; i < ND_EXPORT_ID_LEN; i++)
		info->export_id[i] = (uint8_t)(0xe0 + i);
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

/* The real client finishes; the server must agree on everything. */
static void
finish_with_client(const struct hello_case *c, struct hs_state *srv, int key,
    const uint8_t sh[ND_SERVER_HELLO_LEN], const struct hs_export_info *info)
{
	static const uint8_t zero[ND_HASH_LEN];
	struct hs_state cli, srv2 = *srv;
	struct hs_export_info got;
	struct hs_keys ck, sk;
	uint8_t cf[ND_CLIENT_FINISHED_LEN];

	memset(&cli, 0, sizeof(cli));
	memset(&sk, 0, sizeof(sk));
	memcpy(cli.eph_priv, fuzz_client_priv, ND_KEY_LEN);
	memcpy(cli.psk, fuzz_psk[key], ND_KEY_LEN);
	crypto_hkdf_extract(cli.base, zero, sizeof(zero), cli.psk, ND_KEY_LEN);
	cli.version = ND_VERSION_2;
	memcpy(cli.ch, c->ch, ND_CLIENT_HELLO_LEN);
	FUZZ_CHECK(hs_client_finish(&cli, sh, &got, cf, &ck) == 0);
	FUZZ_CHECK(info_equal(&got, info));
	if (info->status == ND_HS_OK) {
		FUZZ_CHECK(hs_server_finish(srv, cf, &sk) == 0);
		FUZZ_CHECK(memcmp(&ck, &sk, sizeof(ck)) == 0);
		if (c->cf[0] != 0) {
			cf[c->cf[0] % ND_CLIENT_FINISHED_LEN] ^=
			    1u << (c->cf[0] % 8);
			FUZZ_CHECK(hs_server_finish(&srv2, cf, &sk) == -1);
		}
	}
	hs_state_clear(&cli);
	hs_state_clear(&srv2);
	hs_keys_clear(&ck);
	hs_keys_clear(&sk);
}

static void
answer(const struct hello_case *c, struct hs_state *st, int key)
{
	struct hs_export_info info;
	struct hs_keys keys;
	uint8_t sh[ND_SERVER_HELLO_LEN];
	int rv;

	server_info(c, &info);
	memcpy(st->eph_priv, fuzz_server_priv, ND_KEY_LEN);
	rv = hs_server_hello(st, &info, 1, sh);
	if (CLIENT_MODE(c)) {
		FUZZ_CHECK(rv == 0);
		finish_with_client(c, st, key, sh, &info);
	} else if (rv == 0 && info.status == ND_HS_OK) {
		if (hs_server_finish(st, c->cf, &keys) == 0)
			hs_keys_clear(&keys);
	} else if (rv == -1)
		FUZZ_CHECK(errno == EBADMSG);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hello_case c;
	struct hs_state st;
	struct hs_request req;
	int hdr_ok, key;

	memset(&c, 0, sizeof(c));
	case_read(&c, data, size);
	check_hdr(&c, &hdr_ok);
	memset(&st, 0, sizeof(st));
	key = hs_server_open_hello(&st, c.ch, fuzz_psk, FUZZ_NKEYS, &req);
	FUZZ_CHECK(key >= -1 && key < FUZZ_NKEYS);
	if (!hdr_ok)
		FUZZ_CHECK(key == -1);
	if (c.mode & MODE_SEALED)
		FUZZ_CHECK(key == (hdr_ok && c.keysel < FUZZ_NKEYS &&
		    payload_valid(&c.pl) ? c.keysel : -1));
	if (key >= 0) {
		check_request(&c, &req);
		answer(&c, &st, key);
	}
	hs_state_clear(&st);
	return 0;
}

/* Seeds. */

static void
seed_sealed(fuzz_emit_fn emit, void *arg, const char *name, uint8_t mode,
    uint8_t keysel, uint8_t vmin, uint8_t vmax, const char *export,
    uint8_t status, uint8_t flip, const uint8_t *eph)
{
	struct nd_hello_hdr h;
	struct fuzz_buf b = { NULL, 0, 0 };

	fuzz_hello_hdr(&h, vmin, vmax, ND_CLIENT_HELLO_LEN, eph);
	fuzz_put_sealed(&b, mode, keysel, &h, export);
	fuzz_put_u8(&b, status);
	fuzz_put_u8(&b, ND_FLAG_ALL);
	fuzz_put_u8(&b, flip);
	emit(arg, name, b.p, b.len);
	fuzz_buf_free(&b);
}

/* A ClientHello from hs_client_hello, as a client sends it. */
static void
seed_raw(fuzz_emit_fn emit, void *arg, const char *name, int key,
    const char *export, uint32_t options)
{
	struct hs_request req;
	struct hs_state st;
	struct fuzz_buf b = { NULL, 0, 0 };
	uint8_t ch[ND_CLIENT_HELLO_LEN];

	memset(&req, 0, sizeof(req));
	memset(&st, 0, sizeof(st));
	memset(req.client_id, 0xa5, sizeof(req.client_id));
	req.options = options;
	req.name_len = strlen(export);
	memcpy(req.name, export, req.name_len);
	memcpy(st.eph_priv, fuzz_client_priv, ND_KEY_LEN);
	if (hs_client_hello(&st, fuzz_psk[key], &req, 1, ch) == -1)
		fuzz_fail(__FILE__, __LINE__, "hs_client_hello");
	fuzz_put_u8(&b, 0);
	fuzz_put(&b, ch, sizeof(ch));
	fuzz_put_u8(&b, ND_HS_OK);
	fuzz_put_u8(&b, ND_FLAG_ALL);
	emit(arg, name, b.p, b.len);
	fuzz_buf_free(&b);
	hs_state_clear(&st);
}

void
fuzz_seeds(fuzz_emit_fn emit, void *arg)
{
	static const uint8_t order8[ND_KEY_LEN] = {	/* a point of order 8 */
		0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56,
		0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb,
		0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
		0xb8, 0x00,
	};
	const uint8_t *pub = fuzz_client_pub();
	char longname[ND_NAME_MAX + 1];

	memset(longname, 'x', ND_NAME_MAX);
	longname[ND_NAME_MAX] = '\0';
	seed_raw(emit, arg, "raw-key1", 1, "home", 0);
	seed_raw(emit, arg, "raw-key2-ro", 2, longname, ND_OPT_READ_ONLY);
	seed_sealed(emit, arg, "sealed-ok", MODE_SEALED | MODE_CLIENT, 0, 1, 1,
	    "home", ND_HS_OK, 0, pub);
	seed_sealed(emit, arg, "sealed-ok-badcf", MODE_SEALED | MODE_CLIENT, 2,
	    1, 3, "disk.0", ND_HS_OK, 77, pub);
	seed_sealed(emit, arg, "sealed-busy", MODE_SEALED | MODE_CLIENT, 1, 1,
	    1, "home", ND_HS_BUSY, 0, pub);
	seed_sealed(emit, arg, "sealed-otherkey", MODE_SEALED, FUZZ_NKEYS, 1,
	    1, "home", ND_HS_OK, 0, pub);
	seed_sealed(emit, arg, "sealed-noversion", MODE_SEALED, 0, 2, 5,
	    "home", ND_HS_OK, 0, pub);
	seed_sealed(emit, arg, "sealed-zero-eph", MODE_SEALED, 1, 1, 1,
	    "home", ND_HS_OK, 0, NULL);
	seed_sealed(emit, arg, "sealed-order8-eph", MODE_SEALED, 1, 1, 1,
	    "home", ND_HS_OK, 0, order8);
}
