/* SPDX-License-Identifier: ISC */
/*
 * The v2 and v3 handshakes (docs/protocol.md, "Handshake"): pure message
 * processing, no I/O.  The caller moves the fixed-size messages over the
 * socket.  Every function wipes what it no longer needs; hs_*_clear wipes
 * the rest.  Functions return 0 on success, -1 on failure.
 */
#ifndef HANDSHAKE_H
#define HANDSHAKE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "netdisk_proto.h"

/* Traffic secrets and the keys derived from them, one set per direction. */
struct hs_traffic {
	uint8_t secret[ND_HASH_LEN];
	uint8_t key[ND_KEY_LEN];
	uint8_t iv[ND_IV_LEN];
};

struct hs_keys {
	struct hs_traffic c2s;		/* client -> server */
	struct hs_traffic s2c;		/* server -> client */
};

/* What the server announces; host byte order. */
struct hs_export_info {
	uint32_t status;		/* enum nd_hs_status */
	uint32_t flags;
	uint64_t size;
	uint32_t min_block;
	uint32_t pref_block;
	uint32_t max_payload;
	uint8_t export_id[ND_EXPORT_ID_LEN];
};

/* What the client asks for; host byte order. */
struct hs_request {
	uint8_t client_id[ND_CLIENT_ID_LEN];
	uint32_t options;		/* ND_OPT_* */
	uint16_t conn;			/* connection slot */
	size_t name_len;
	char name[ND_NAME_MAX + 1];	/* NUL terminated */
	uint8_t version_min, version_max;
};

/* The transcript so far and the secrets of one handshake. */
struct hs_state {
	uint8_t eph_priv[ND_KEY_LEN];
	uint8_t eph_pub[ND_KEY_LEN];
	uint8_t psk[ND_KEY_LEN];
	uint8_t base[ND_HASH_LEN];	/* v2: early; v3: pe */
	uint8_t hs_secret[ND_HASH_LEN];
	uint8_t ch[ND_CLIENT_HELLO_MAX];	/* nd_client_hello_len(version) */
	uint8_t sh[ND_SERVER_HELLO_LEN];
	uint8_t version;		/* of the ClientHello */
};

/*
 * A candidate key of the server with what it derives from the key alone:
 * early = HKDF-Extract(0, key), ready as the HMAC key that expands it
 * into the "c hello" secret of each v2 hello, and for v3 its key id and
 * the salt of pe, Expand-Label(early, "psk es").  Computed once when the
 * key is loaded rather than for every hello; hs_psk_clear wipes it.
 */
struct hs_psk {
	uint8_t key[ND_KEY_LEN];
	struct crypto_hmac_key early;
	uint8_t key_id[ND_KEY_ID_LEN];
	uint8_t psk_es[ND_HASH_LEN];
};

void hs_psk_init(struct hs_psk *, const uint8_t key[ND_KEY_LEN]);
void hs_psk_clear(struct hs_psk *);

/*
 * Client.  hs_client_hello draws a fresh ephemeral key unless
 * st->eph_priv was preset and preset_eph is 1 (test vectors only).
 * hs_client_finish returns -1 if the ServerHello does not authenticate
 * or is malformed; on success it fills info (check info->status) and, if
 * the status is ND_HS_OK, the ClientFinished message and the keys.
 * If the server rejected every offered version, it returns -1 with
 * errno EPROTONOSUPPORT; hs_parse_reject on the same bytes gives the
 * server's range.
 */
int hs_client_hello(struct hs_state *st, const uint8_t psk[ND_KEY_LEN],
    const struct hs_request *req, int preset_eph,
    uint8_t out[ND_CLIENT_HELLO_LEN]);
/*
 * The v3 ClientHello, to the server whose static public key is
 * server_pub (versions 0..0 in req mean 3..3); -1 with errno EINVAL if
 * server_pub is a low-order point.  hs_client_finish then as for v2.
 */
int hs_client_hello_v3(struct hs_state *st, const uint8_t psk[ND_KEY_LEN],
    const uint8_t server_pub[ND_KEY_LEN], const struct hs_request *req,
    int preset_eph, uint8_t out[ND_CLIENT_HELLO_V3_LEN]);
int hs_client_finish(struct hs_state *st,
    const uint8_t sh[ND_SERVER_HELLO_LEN], struct hs_export_info *info,
    uint8_t cf[ND_CLIENT_FINISHED_LEN], struct hs_keys *keys);
/* A version-reject message: 0 and the server's range if it is one. */
int hs_parse_reject(const uint8_t *msg, size_t len, uint8_t *srv_min,
    uint8_t *srv_max);

/*
 * Server.  hs_server_check_hdr checks magic, length and versions of the
 * first 8 bytes against the server's versions smin..smax: 0 and *version
 * chosen (the highest common one whose ClientHello has the header's
 * length), or -1 with errno EPROTONOSUPPORT (no common version: send
 * hs_server_reject with the same range), or EBADMSG (not netdisk, or no
 * common version of that length).
 * hs_server_open_hello_psk tries every one of the npsks candidate keys,
 * whichever authenticates the hello, so that its time does not depend
 * on which one does (the keys should be distinct).  It returns the index
 * of the key that authenticates the hello, or -1 with errno EACCES if
 * none does, EBADMSG if the payload authenticates but is malformed.
 * hs_server_open_hello does the same with bare keys, deriving their
 * early secrets first.
 */
int hs_server_check_hdr(const uint8_t *hdr8, uint8_t smin, uint8_t smax,
    uint8_t *version);
/*
 * What an authenticated request may get: ND_HS_OK, or ND_HS_BAD_OPTIONS
 * for unknown option bits or a connection slot out of range.
 */
uint32_t hs_request_check(const struct hs_request *req);
/*
 * The flags a ServerHello announces to a client whose request carried
 * options, from the flags of the export as the session sees it: those,
 * and the answers to the options the server serves (ND_FLAG_BLOCK_STATUS
 * for ND_OPT_BLOCK_STATUS), which no client gets without asking.
 */
uint32_t hs_server_flags(uint32_t flags, uint32_t options);
void hs_server_reject(uint8_t out[ND_VERSION_REJECT_LEN], uint8_t smin,
    uint8_t smax);
int hs_server_open_hello_psk(struct hs_state *st,
    const uint8_t ch[ND_CLIENT_HELLO_LEN], const struct hs_psk *psks,
    size_t npsks, struct hs_request *req);
int hs_server_open_hello(struct hs_state *st,
    const uint8_t ch[ND_CLIENT_HELLO_LEN],
    const uint8_t (*keys)[ND_KEY_LEN], size_t nkeys, struct hs_request *req);
/*
 * What a server authenticates hellos with: its candidate keys (psks,
 * not copied: they must outlive the ring), a hash table of their v3 key
 * ids, and its static private key (NULL: none, v2 only).  It speaks
 * versions min_version..3 with a static key, else 2..2; NULL with errno
 * EINVAL if min_version is outside that, ENOMEM.
 */
struct hs_keyring;
struct hs_keyring *hs_keyring_new(const struct hs_psk *psks, size_t npsks,
    const uint8_t *server_priv, uint8_t min_version);
void hs_keyring_free(struct hs_keyring *);	/* wipes; NULL is fine */
void hs_keyring_versions(const struct hs_keyring *, uint8_t *vmin,
    uint8_t *vmax);
/*
 * A v3 ClientHello: one X25519 with the static key, open the key hint,
 * look its key id up, open the payload with that key or, if the hint
 * did not open or no key has the id, with a dummy key, so that every
 * failure costs the same (docs/protocol.md, section 6.2, step 5').
 * The key's index, or -1 with errno EACCES (nothing authenticates it),
 * EBADMSG (the payload authenticates but is malformed).
 */
int hs_server_open_hello_v3(struct hs_state *st,
    const uint8_t ch[ND_CLIENT_HELLO_V3_LEN], const struct hs_keyring *kr,
    struct hs_request *req);
/* A whole ClientHello of any version the ring speaks: as above. */
int hs_server_open(struct hs_state *st, const uint8_t *ch,
    const struct hs_keyring *kr, struct hs_request *req);
/*
 * Tests: called with each key's index as hs_server_open_hello* tries it
 * (v3: once, with the index of the key whose id the hint names, or
 * SIZE_MAX when the payload is opened with the dummy key).
 */
extern void (*hs_trial_hook)(size_t idx);
/* Draws a fresh ephemeral key unless preset_eph (test vectors only). */
int hs_server_hello(struct hs_state *st, const struct hs_export_info *info,
    int preset_eph, uint8_t out[ND_SERVER_HELLO_LEN]);
/*
 * Seals the payload as it is, unchecked: only for test servers that must
 * send what netdiskd never sends (t/badserver).  hs_server_hello checks
 * and encodes info, then calls this.
 */
int hs_server_hello_raw(struct hs_state *st,
    const struct nd_server_payload *pl, int preset_eph,
    uint8_t out[ND_SERVER_HELLO_LEN]);
int hs_server_finish(struct hs_state *st,
    const uint8_t cf[ND_CLIENT_FINISHED_LEN], struct hs_keys *keys);

/* Next traffic secret (KeyUpdate); rederives key and iv. */
void hs_traffic_update(struct hs_traffic *t);
void hs_state_clear(struct hs_state *st);
void hs_keys_clear(struct hs_keys *k);

#endif
