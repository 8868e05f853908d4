/* SPDX-License-Identifier: ISC */
/*
 * The server's side of a version 3 ClientHello: hs_server_open on a key
 * ring of FUZZ_NKEYS keys and a fixed static key, then hs_server_hello.
 *
 * Input: one mode byte, then
 *   mode bit 0 clear: the ClientHello, ND_CLIENT_HELLO_V3_LEN bytes;
 *   mode bit 0 set:   a key byte (which of the keys, or none of them),
 *     the 40-byte header, the 152-byte nd_client_payload in clear and,
 *     with mode bit 2, 16 bytes of key id to put in the hint instead of
 *     the key's: the hint and the payload are sealed here (with the
 *     schedule of docs/protocol.md, section 4.4, recomputed with
 *     crypto.h alone) for the ring's static key or, with mode bit 1, for
 *     another one, so that the checks behind both AEADs are reached;
 * then a status byte for the ServerHello.
 */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "crypto.h"
#include "handshake.h"
#include "fuzz.h"

#define MODE_SEALED	0x01
#define MODE_WRONG_S	0x02
#define MODE_KEY_ID	0x04
#define HINT_OFF	ND_CLIENT_HELLO_V3_HINT_OFF
#define PL_OFF		ND_CLIENT_HELLO_V3_PAYLOAD_OFF

static const uint8_t static_priv[2][ND_KEY_LEN] = {
	{ 0x5a, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07 },
	{ 0xa5, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17 },
};

struct hello3_case {
	uint8_t mode, keysel, status;
	int sealed;			/* the sealing here worked */
	uint8_t ch[ND_CLIENT_HELLO_V3_LEN];
	struct nd_hello_hdr hdr;
	struct nd_client_payload pl;
	uint8_t key_id[ND_KEY_ID_LEN];
};

static struct hs_keyring *
ring(void)
{
	static struct hs_psk psks[FUZZ_NKEYS];
	static struct hs_keyring *kr;
	int i;

	if (kr != NULL)
		return kr;
	for (i = 0; i < FUZZ_NKEYS; i++)
		hs_psk_init(&psks[i], fuzz_psk[i]);
	if ((kr = hs_keyring_new(psks, FUZZ_NKEYS, static_priv[0],
	    ND_VERSION_2)) == NULL)
		fuzz_fail(__FILE__, __LINE__, "hs_keyring_new");
	return kr;
}

static void
seal(const uint8_t key[ND_KEY_LEN], const uint8_t iv[ND_IV_LEN],
    uint8_t *msg, size_t ad, size_t len)
{
	struct crypto_aead *a = crypto_aead_new(key);

	if (a == NULL || crypto_aead_seal(a, iv, msg, ad, msg + ad, len,
	    msg + ad, msg + ad + len) != 0)
		fuzz_fail(__FILE__, __LINE__, "seal");
	crypto_aead_free(a);
}

/* SHA-256(S || the first len bytes of ch). */
static void
th_of(uint8_t th[ND_HASH_LEN], const uint8_t spub[ND_KEY_LEN],
    const uint8_t *ch, size_t len)
{
	struct crypto_vec v[] = { { spub, ND_KEY_LEN }, { ch, len } };

	crypto_sha256v(th, v, 2);
}

/* c->ch from c->hdr, key id and c->pl for the static key spub: 0 or -1. */
static int
seal_v3(struct hello3_case *c, const uint8_t psk[ND_KEY_LEN],
    const uint8_t spub[ND_KEY_LEN])
{
	static const uint8_t zero[ND_HASH_LEN];
	uint8_t early[ND_HASH_LEN], es[ND_KEY_LEN], prk[ND_HASH_LEN];
	uint8_t th[ND_HASH_LEN], salt[ND_HASH_LEN], pe[ND_HASH_LEN];
	struct hs_traffic t;

	if (crypto_x25519(es, fuzz_client_priv, spub) != 0)
		return -1;
	memcpy(c->hdr.ephemeral, fuzz_client_pub(), ND_KEY_LEN);
	memcpy(c->ch, &c->hdr, sizeof(c->hdr));
	crypto_hkdf_extract(early, zero, sizeof(zero), psk, ND_KEY_LEN);
	if (!(c->mode & MODE_KEY_ID))
		fuzz_expand_label(c->key_id, ND_KEY_ID_LEN, early, "key id",
		    NULL, 0);
	memcpy(c->ch + HINT_OFF, c->key_id, ND_KEY_ID_LEN);
	crypto_hkdf_extract(prk, zero, sizeof(zero), es, ND_KEY_LEN);
	th_of(th, spub, c->ch, sizeof(c->hdr));
	fuzz_traffic(&t, prk, "c hint", th);
	seal(t.key, t.iv, c->ch, HINT_OFF, ND_KEY_ID_LEN);
	fuzz_expand_label(salt, sizeof(salt), early, "psk es", NULL, 0);
	crypto_hkdf_extract(pe, salt, sizeof(salt), es, ND_KEY_LEN);
	memcpy(c->ch + PL_OFF, &c->pl, sizeof(c->pl));
	th_of(th, spub, c->ch, PL_OFF);
	fuzz_traffic(&t, pe, "c hello", th);
	seal(t.key, t.iv, c->ch, PL_OFF, sizeof(c->pl));
	return 0;
}

static void
case_read(struct hello3_case *c, const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	uint8_t spub[ND_KEY_LEN];

	c->mode = fuzz_u8(&in);
	if (c->mode & MODE_SEALED) {
		c->keysel = fuzz_u8(&in) % (FUZZ_NKEYS + 1);
		fuzz_bytes(&in, &c->hdr, sizeof(c->hdr));
		fuzz_bytes(&in, &c->pl, sizeof(c->pl));
		if (c->mode & MODE_KEY_ID)
			fuzz_bytes(&in, c->key_id, sizeof(c->key_id));
		if (crypto_x25519_public(spub,
		    static_priv[(c->mode & MODE_WRONG_S) != 0]) != 0)
			fuzz_fail(__FILE__, __LINE__, "X25519 public key");
		c->sealed = seal_v3(c, c->keysel < FUZZ_NKEYS ?
		    fuzz_psk[c->keysel] : fuzz_other_psk, spub) == 0;
	} else
		fuzz_bytes(&in, c->ch, sizeof(c->ch));
	c->status = fuzz_u8(&in) % (ND_HS_STATUS_MAX + 2);
}

/* docs/protocol.md's payload checks, independently of handshake.c. */
static int
payload_valid(const struct nd_client_payload *p)
{
	size_t n = be16toh(p->name_len), i;

	if (n < 1 || n > ND_NAME_MAX || memchr(p->name, 0, n) != NULL)
		return 0;
	for (i = n; i < ND_NAME_MAX; i++)
		if (p->name[i] != 0)
			return 0;
	return 1;
}

/* The key a sealed case must open with, or -1. */
static int
expected_key(const struct hello3_case *c)
{
	uint8_t real[ND_KEY_ID_LEN], early[ND_HASH_LEN];
	static const uint8_t zero[ND_HASH_LEN];

	if (!c->sealed || (c->mode & MODE_WRONG_S) ||
	    c->keysel >= FUZZ_NKEYS || !payload_valid(&c->pl))
		return -1;
	if (c->mode & MODE_KEY_ID) {
		crypto_hkdf_extract(early, zero, sizeof(zero),
		    fuzz_psk[c->keysel], ND_KEY_LEN);
		fuzz_expand_label(real, sizeof(real), early, "key id", NULL, 0);
		if (memcmp(real, c->key_id, sizeof(real)) != 0)
			return -1;
	}
	return c->keysel;
}

/* The header is a v3 one the ring chooses 3 for. */
static int
hdr_v3(const uint8_t *ch)
{
	struct nd_hello_hdr h;

	memcpy(&h, ch, sizeof(h));
	return be32toh(h.magic) == ND_HELLO_MAGIC &&
	    h.version_min <= ND_VERSION_3 && h.version_max >= ND_VERSION_3 &&
	    be16toh(h.length) == ND_CLIENT_HELLO_V3_LEN;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hello3_case c;
	struct hs_export_info info;
	struct hs_state st;
	struct hs_request req;
	uint8_t sh[ND_SERVER_HELLO_LEN];
	int key;

	memset(&c, 0, sizeof(c));
	case_read(&c, data, size);
	memset(&st, 0, sizeof(st));
	errno = 0;
	key = hs_server_open(&st, c.ch, ring(), &req);
	FUZZ_CHECK(key >= -1 && key < FUZZ_NKEYS);
	if (!hdr_v3(c.ch))
		FUZZ_CHECK(key == -1);
	if ((c.mode & MODE_SEALED) && hdr_v3(c.ch))
		FUZZ_CHECK(key == expected_key(&c));
	if (key >= 0) {
		FUZZ_CHECK(st.version == ND_VERSION_3);
		FUZZ_CHECK(req.name_len >= 1 && req.name_len <= ND_NAME_MAX &&
		    strlen(req.name) == req.name_len);
		memset(&info, 0, sizeof(info));
		info.status = c.status;
		if (hs_server_hello(&st, &info, 0, sh) == -1)
			FUZZ_CHECK(errno == EINVAL || errno == EBADMSG);
	} else
		FUZZ_CHECK(errno == EACCES || errno == EBADMSG ||
		    errno == EPROTONOSUPPORT);
	hs_state_clear(&st);
	return 0;
}

/* Seeds. */

static void
seed(fuzz_emit_fn emit, void *arg, const char *name, uint8_t mode,
    uint8_t keysel, const char *export)
{
	static const uint8_t forged[ND_KEY_ID_LEN] = { 0xc3, 0xc3, 0xc3 };
	struct nd_hello_hdr h;
	struct fuzz_buf b = { NULL, 0, 0 };

	fuzz_hello_hdr(&h, ND_VERSION_3, ND_VERSION_3, ND_CLIENT_HELLO_V3_LEN,
	    fuzz_client_pub());
	fuzz_put_sealed(&b, mode, keysel, &h, export);
	if (mode & MODE_KEY_ID)
		fuzz_put(&b, forged, sizeof(forged));
	fuzz_put_u8(&b, ND_HS_OK);
	emit(arg, name, b.p, b.len);
	fuzz_buf_free(&b);
}

/* A ClientHello from hs_client_hello_v3, as a client sends it. */
static void
seed_raw(fuzz_emit_fn emit, void *arg)
{
	struct hs_request req;
	struct hs_state st;
	struct fuzz_buf b = { NULL, 0, 0 };
	uint8_t ch[ND_CLIENT_HELLO_V3_LEN], spub[ND_KEY_LEN];

	memset(&req, 0, sizeof(req));
	memset(&st, 0, sizeof(st));
	req.name_len = 4;
	memcpy(req.name, "demo", 4);
	memcpy(st.eph_priv, fuzz_client_priv, ND_KEY_LEN);
	if (crypto_x25519_public(spub, static_priv[0]) != 0 ||
	    hs_client_hello_v3(&st, fuzz_psk[1], spub, &req, 1, ch) != 0)
		fuzz_fail(__FILE__, __LINE__, "hs_client_hello_v3");
	fuzz_put_u8(&b, 0);
	fuzz_put(&b, ch, sizeof(ch));
	fuzz_put_u8(&b, ND_HS_OK);
	emit(arg, "raw-key1", b.p, b.len);
	fuzz_buf_free(&b);
	hs_state_clear(&st);
}

void
fuzz_seeds(fuzz_emit_fn emit, void *arg)
{
	seed(emit, arg, "sealed-key0", MODE_SEALED, 0, "demo");
	seed(emit, arg, "sealed-key2", MODE_SEALED, 2, "export-2");
	seed(emit, arg, "sealed-unknown-key", MODE_SEALED, FUZZ_NKEYS, "demo");
	seed(emit, arg, "sealed-wrong-server-key", MODE_SEALED | MODE_WRONG_S,
	    0, "demo");
	seed(emit, arg, "sealed-forged-key-id", MODE_SEALED | MODE_KEY_ID, 1,
	    "demo");
	seed(emit, arg, "sealed-bad-name", MODE_SEALED, 1, "");
	seed_raw(emit, arg);
}
