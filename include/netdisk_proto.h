/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * netdisk protocol v2 and v3: the wire format, shared by netdiskd, netdiskctl and
 * the netdisk.ko kernel module.  docs/protocol.md is the specification;
 * this header is its machine-readable half.
 *
 * Every integer on the wire is big-endian.  Every struct has a fixed size,
 * asserted below, and no implicit padding.
 */
#ifndef NETDISK_PROTO_H
#define NETDISK_PROTO_H

#ifdef __KERNEL__
#include <asm/byteorder.h>
#include <linux/build_bug.h>
#include <linux/types.h>
#define ND_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
#define ND_BE16(x) be16_to_cpu(x)
#define ND_BE32(x) be32_to_cpu(x)
#else
#include <assert.h>
#include <endian.h>
#include <stddef.h>
#include <linux/types.h>
#define ND_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)
#define ND_BE16(x) be16toh(x)
#define ND_BE32(x) be32toh(x)
#endif

#define ND_DEFAULT_PORT		26547

/*
 * Protocol versions this header describes.  Version 1 had no connection
 * slots, so a server could not fence a broken session's requests; nobody
 * speaks it any more.  Version 2 authenticates with the PSK alone;
 * version 3 adds the server's static X25519 key, pinned on the client,
 * and a key hint in the ClientHello (docs/protocol.md, section 4.4).
 * The ClientHello's layout depends on the version, so a client offers
 * exactly one: version_min = version_max = ND_VERSION_3 if it knows the
 * server's public key, else ND_VERSION_2 (never a range spanning both).
 */
#define ND_VERSION_2		2
#define ND_VERSION_3		3
#define ND_VERSION_MIN		ND_VERSION_2
#define ND_VERSION_MAX		ND_VERSION_3

/* Sizes of the cryptographic objects (X25519, AES-256-GCM, SHA-256). */
#define ND_KEY_LEN		32	/* PSK, X25519 keys, AES-256 keys */
#define ND_IV_LEN		12	/* AES-GCM nonce / per-direction IV */
#define ND_TAG_LEN		16	/* AES-GCM tag */
#define ND_HASH_LEN		32	/* SHA-256 */
#define ND_CLIENT_ID_LEN	16
#define ND_EXPORT_ID_LEN	16
#define ND_NAME_MAX		128	/* export name, bytes, no NUL */
#define ND_KEY_ID_LEN		16	/* v3 key hint: Expand-Label(early, "key id") */

/*
 * Handshake.  Three messages, each of fixed size for a given version:
 *
 *   client -> server   ClientHello    = hello_hdr, E(hello_payload), tag
 *   server -> client   ServerHello    = hello_hdr, E(server_payload), tag
 *   client -> server   ClientFinished = 32-byte HMAC over the transcript
 *
 * A server that shares no version with the client answers with a bare
 * hello_hdr whose version fields carry the server's own range and whose
 * length is ND_VERSION_REJECT_LEN, then closes.
 */
#define ND_HELLO_MAGIC		0x6e646831U	/* "ndh1" */

struct nd_hello_hdr {
	__be32 magic;
	__u8 version_min;	/* client: lowest offered; server: chosen */
	__u8 version_max;	/* client: highest offered; server: chosen */
	__be16 length;		/* whole message, this header included */
	__u8 ephemeral[ND_KEY_LEN];	/* X25519 public key */
};
ND_STATIC_ASSERT(sizeof(struct nd_hello_hdr) == 40, "nd_hello_hdr size");

/* Options the client asks for (nd_client_payload.options). */
#define ND_OPT_READ_ONLY	(1U << 0)	/* attach read-only */
#define ND_OPT_BLOCK_STATUS	(1U << 1)	/* offer ND_CMD_BLOCK_STATUS */
#define ND_OPT_ALL		(ND_OPT_READ_ONLY | ND_OPT_BLOCK_STATUS)

/*
 * Connection slots of one client id: a connection keeps its slot on every
 * reconnect, and a new session of (client id, slot) fences the older ones
 * (docs/protocol.md, "Fencing").
 */
#define ND_CONN_SLOTS		64

/* Encrypted part of the ClientHello, under the PSK-derived hello key. */
struct nd_client_payload {
	__u8 client_id[ND_CLIENT_ID_LEN];
	__be32 options;
	__be16 name_len;	/* 1..ND_NAME_MAX */
	__be16 conn;		/* connection slot, 0..ND_CONN_SLOTS-1 */
	__u8 name[ND_NAME_MAX];	/* export name, zero padded */
};
ND_STATIC_ASSERT(sizeof(struct nd_client_payload) == 152, "nd_client_payload size");

/* The v2 ClientHello: header, sealed payload (208 bytes). */
#define ND_CLIENT_HELLO_LEN \
	(sizeof(struct nd_hello_hdr) + sizeof(struct nd_client_payload) + ND_TAG_LEN)
#define ND_CLIENT_HELLO_V2_LEN	ND_CLIENT_HELLO_LEN

/*
 * The v3 key hint's plaintext, sealed under the "c hint" key that derives
 * from es = X25519(client ephemeral, server static) alone.
 */
struct nd_key_hint {
	__u8 key_id[ND_KEY_ID_LEN];
};
ND_STATIC_ASSERT(sizeof(struct nd_key_hint) == 16, "nd_key_hint size");

#define ND_KEY_HINT_LEN		(sizeof(struct nd_key_hint) + ND_TAG_LEN)

/*
 * The v3 ClientHello (240 bytes):
 *   [0, 40)    hello_hdr (versions 3..3), AD of the hint
 *   [40, 72)   E(key_hint), tag          under c_hint
 *   [72, 240)  E(client_payload), tag    under c_hello; AD = [0, 72)
 */
#define ND_CLIENT_HELLO_V3_HINT_OFF	sizeof(struct nd_hello_hdr)
#define ND_CLIENT_HELLO_V3_PAYLOAD_OFF \
	(ND_CLIENT_HELLO_V3_HINT_OFF + ND_KEY_HINT_LEN)
#define ND_CLIENT_HELLO_V3_LEN \
	(ND_CLIENT_HELLO_V3_PAYLOAD_OFF + sizeof(struct nd_client_payload) + \
	 ND_TAG_LEN)
ND_STATIC_ASSERT(ND_CLIENT_HELLO_V3_LEN == 240, "v3 ClientHello size");
/* The largest ClientHello of any version. */
#define ND_CLIENT_HELLO_MAX	ND_CLIENT_HELLO_V3_LEN

/* The length of the ClientHello of a version, or 0 for an unknown one. */
static inline __u32 nd_client_hello_len(__u8 version)
{
	switch (version) {
	case ND_VERSION_2:
		return ND_CLIENT_HELLO_V2_LEN;
	case ND_VERSION_3:
		return ND_CLIENT_HELLO_V3_LEN;
	default:
		return 0;
	}
}

/* Handshake status (nd_server_payload.status). */
enum nd_hs_status {
	ND_HS_OK = 0,
	ND_HS_BUSY = 1,		/* read-write export held by another client id */
	ND_HS_DENIED = 2,	/* peer address not in the export's allow list */
	ND_HS_TOO_MANY = 3,	/* export's max_clients reached */
	ND_HS_BAD_OPTIONS = 4,	/* unknown option bits, conn out of range */
	ND_HS_UNAVAILABLE = 5,	/* export cannot be opened or is shutting down */
	ND_HS_RETRY = 6,	/* an earlier session of this client id and slot
				 * is still finishing requests; try again */
};
#define ND_HS_STATUS_MAX	ND_HS_RETRY

/* Export flags (nd_server_payload.flags). */
#define ND_FLAG_READ_ONLY	(1U << 0)
#define ND_FLAG_FLUSH		(1U << 1)
#define ND_FLAG_FUA		(1U << 2)
#define ND_FLAG_TRIM		(1U << 3)
#define ND_FLAG_WRITE_ZEROES	(1U << 4)
#define ND_FLAG_MULTI_CONN	(1U << 5)	/* safe to use several connections */
#define ND_FLAG_BLOCK_STATUS	(1U << 6)	/* ND_CMD_BLOCK_STATUS is served */
#define ND_FLAG_ALL		((1U << 7) - 1)

/*
 * The flags that answer an option: a server sets one only for a client
 * that asked (so that older clients, which refuse unknown flags, never
 * see it).  Non-zero if flags answer an option that options did not ask.
 */
static inline __u32 nd_server_flags_unasked(__u32 flags, __u32 options)
{
	return (flags & ND_FLAG_BLOCK_STATUS) &&
	    !(options & ND_OPT_BLOCK_STATUS);
}

/* Encrypted part of the ServerHello, under the handshake key. */
struct nd_server_payload {
	__be32 status;		/* enum nd_hs_status */
	__be32 flags;		/* ND_FLAG_*; zero unless status is ND_HS_OK */
	__be64 size;		/* bytes */
	__be32 min_block;	/* power of two, 512..4096 */
	__be32 pref_block;	/* power of two, >= min_block */
	__be32 max_payload;	/* largest READ/WRITE length, bytes */
	__be32 reserved;	/* zero */
	__u8 export_id[ND_EXPORT_ID_LEN];
};
ND_STATIC_ASSERT(sizeof(struct nd_server_payload) == 48, "nd_server_payload size");

#define ND_MIN_BLOCK		512
#define ND_MAX_BLOCK		4096	/* largest min_block */

static inline int nd_is_pow2(__u32 x)
{
	return x && !(x & (x - 1));
}

/*
 * The checks a client makes on a decrypted ServerHello payload
 * (docs/protocol.md, section 6.1, step 5), and a server on the payload it
 * is about to send: NULL if it is valid, else what is wrong.  Used by
 * netdiskd, netdiskctl and netdisk.ko alike.
 */
static inline const char *
nd_server_payload_invalid(const struct nd_server_payload *p)
{
	__u32 status = ND_BE32(p->status), flags = ND_BE32(p->flags);
	__u32 min = ND_BE32(p->min_block), pref = ND_BE32(p->pref_block);
	__u32 i, nonzero = 0;

	if (p->reserved)
		return "reserved field is not zero";
	if (status > ND_HS_STATUS_MAX)
		return "unknown status";
	if (status != ND_HS_OK) {
		for (i = 0; i < ND_EXPORT_ID_LEN; i++)
			nonzero |= p->export_id[i];
		if (nonzero || flags || p->size || min || pref ||
		    p->max_payload)
			return "a refusal with non-zero fields";
		return NULL;
	}
	if (flags & ~ND_FLAG_ALL)
		return "unknown export flags";
	if (!nd_is_pow2(min) || min < ND_MIN_BLOCK || min > ND_MAX_BLOCK)
		return "min_block is not a power of two in 512..4096";
	if (!nd_is_pow2(pref) || pref < min)
		return "pref_block is not a power of two of at least min_block";
	if (ND_BE32(p->max_payload) < min)
		return "max_payload is less than min_block";
	return NULL;
}

#define ND_SERVER_HELLO_LEN \
	(sizeof(struct nd_hello_hdr) + sizeof(struct nd_server_payload) + ND_TAG_LEN)
#define ND_CLIENT_FINISHED_LEN	ND_HASH_LEN
#define ND_VERSION_REJECT_LEN	sizeof(struct nd_hello_hdr)

/*
 * What the header of the server's answer to a ClientHello is: that of a
 * ServerHello (version_min is its version), a version reject (the
 * server's range), or neither.
 */
enum nd_server_hdr {
	ND_SERVER_HDR_INVALID = -1,
	ND_SERVER_HDR_HELLO = 0,
	ND_SERVER_HDR_REJECT = 1,
};

/*
 * The checks a client makes on the first sizeof(struct nd_hello_hdr)
 * bytes of the server's answer to a ClientHello that offered versions
 * vmin..vmax (docs/protocol.md, section 6.1, steps 2 to 4; a version
 * reject is exactly these bytes, section 5.5).  Used by netdiskctl and
 * netdisk.ko alike.
 */
static inline enum nd_server_hdr
nd_server_hdr_check(const struct nd_hello_hdr *h, __u8 vmin, __u8 vmax)
{
	__u32 i, nonzero = 0;

	if (ND_BE32(h->magic) != ND_HELLO_MAGIC)
		return ND_SERVER_HDR_INVALID;
	if (ND_BE16(h->length) == ND_VERSION_REJECT_LEN) {
		for (i = 0; i < ND_KEY_LEN; i++)
			nonzero |= h->ephemeral[i];
		if (nonzero || h->version_min > h->version_max)
			return ND_SERVER_HDR_INVALID;
		return ND_SERVER_HDR_REJECT;
	}
	if (ND_BE16(h->length) != ND_SERVER_HELLO_LEN ||
	    h->version_min != h->version_max ||
	    h->version_min < vmin || h->version_min > vmax ||
	    h->version_min < ND_VERSION_MIN || h->version_min > ND_VERSION_MAX)
		return ND_SERVER_HDR_INVALID;
	return ND_SERVER_HDR_HELLO;
}

/*
 * Key schedule (docs/protocol.md, "Key schedule"): TLS 1.3's
 * HKDF-Expand-Label over SHA-256, with labels of its own prefix:
 *
 *   Expand-Label(Secret, Label, Context, L) =
 *       HKDF-Expand(Secret, HkdfLabel, L)
 *   HkdfLabel = be16 L || u8 len || "nd1 " Label || u8 len || Context
 */
#define ND_LABEL_PREFIX		"nd1 "
#define ND_LABEL_KEY		"key"		/* key(S): AES-256-GCM key */
#define ND_LABEL_IV		"iv"		/* iv(S): the nonce's base */
#define ND_LABEL_UPDATE		"upd"		/* KeyUpdate: secret' */
#define ND_LABEL_C_HELLO	"c hello"	/* ClientHello, from early */
#define ND_LABEL_DERIVED	"derived"	/* salt of the next Extract */
#define ND_LABEL_S_HS		"s hs"		/* ServerHello, from hs */
#define ND_LABEL_C_FINISHED	"c finished"	/* ClientFinished HMAC key */
#define ND_LABEL_C_AP		"c ap"		/* client -> server traffic */
#define ND_LABEL_S_AP		"s ap"		/* server -> client traffic */
/* Version 3 (docs/protocol.md, section 4.4). */
#define ND_LABEL_KEY_ID		"key id"	/* key_id, from early */
#define ND_LABEL_C_HINT		"c hint"	/* key hint, from Extract(0, es) */
#define ND_LABEL_PSK_ES		"psk es"	/* salt of pe = Extract(., es) */

#define ND_LABEL_MAX		32	/* bytes: prefix and label */
#define ND_LABEL_CONTEXT_MAX	ND_HASH_LEN
#define ND_HKDF_LABEL_MAX	(2 + 1 + ND_LABEL_MAX + 1 + ND_LABEL_CONTEXT_MAX)

/*
 * Write the HkdfLabel of Expand-Label(., label, ctx, outlen) to info:
 * its length, or 0 if outlen, the label or the context is too long.
 */
static inline __u32 nd_hkdf_label(__u8 info[ND_HKDF_LABEL_MAX], __u32 outlen,
				  const char *label, const __u8 *ctx,
				  __u32 ctxlen)
{
	const char *prefix = ND_LABEL_PREFIX;
	__u32 i, n = 3;

	if (outlen > 0xffff || ctxlen > ND_LABEL_CONTEXT_MAX)
		return 0;
	for (i = 0; prefix[i]; i++)
		info[n++] = (__u8)prefix[i];
	for (i = 0; label[i]; i++) {
		if (n == 3 + ND_LABEL_MAX)
			return 0;
		info[n++] = (__u8)label[i];
	}
	info[0] = (__u8)(outlen >> 8);
	info[1] = (__u8)outlen;
	info[2] = (__u8)(n - 3);
	info[n++] = (__u8)ctxlen;
	for (i = 0; i < ctxlen; i++)
		info[n++] = ctx[i];
	return n;
}

/*
 * Data phase: TLS 1.3 records (RFC 8446 section 5) with AES-256-GCM.
 * Header = type 23, legacy version 0x0303, length of the encrypted part.
 * Inner plaintext = content, one byte of real content type, no padding.
 */
#define ND_REC_HDR_LEN		5
#define ND_REC_TYPE_HANDSHAKE	22	/* inner type of a KeyUpdate */
#define ND_REC_TYPE_DATA	23
#define ND_REC_LEGACY_VERSION	0x0303
#define ND_REC_MAX_PLAINTEXT	16384
/* Encrypted part: content, the inner type byte, the tag. */
#define ND_REC_MIN_CIPHERTEXT	(1 + ND_TAG_LEN)
#define ND_REC_MAX_CIPHERTEXT	(ND_REC_MAX_PLAINTEXT + ND_REC_MIN_CIPHERTEXT)
/* The largest record, header included. */
#define ND_REC_MAX_LEN		(ND_REC_HDR_LEN + ND_REC_MAX_CIPHERTEXT)
/* Records per direction before that direction must be rekeyed. */
#define ND_REC_REKEY_LIMIT	(1ULL << 24)

/* The header of a record whose encrypted part has clen bytes. */
static inline void nd_rec_hdr_fill(__u8 hdr[ND_REC_HDR_LEN], __u32 clen)
{
	hdr[0] = ND_REC_TYPE_DATA;
	hdr[1] = ND_REC_LEGACY_VERSION >> 8;
	hdr[2] = ND_REC_LEGACY_VERSION & 0xff;
	hdr[3] = (__u8)(clen >> 8);
	hdr[4] = (__u8)clen;
}

/* The length of the encrypted part a valid record header announces, or 0. */
static inline __u32 nd_rec_hdr_length(const __u8 hdr[ND_REC_HDR_LEN])
{
	__u32 clen = (__u32)hdr[3] << 8 | hdr[4];

	if (hdr[0] != ND_REC_TYPE_DATA ||
	    hdr[1] != ND_REC_LEGACY_VERSION >> 8 ||
	    hdr[2] != (ND_REC_LEGACY_VERSION & 0xff) ||
	    clen < ND_REC_MIN_CIPHERTEXT || clen > ND_REC_MAX_CIPHERTEXT)
		return 0;
	return clen;
}

/* The nonce of record number seq: iv XOR (4 zero bytes || be64(seq)). */
static inline void nd_rec_nonce(__u8 nonce[ND_IV_LEN],
				const __u8 iv[ND_IV_LEN], __u64 seq)
{
	int i;

	for (i = 0; i < ND_IV_LEN; i++)
		nonce[i] = iv[i];
	for (i = 0; i < 8; i++)
		nonce[ND_IV_LEN - 1 - i] ^= (__u8)(seq >> (8 * i));
}

/*
 * The inner plaintext p of n bytes, decrypted: *len gets the length of
 * its content and *type its real content type, once the zero padding is
 * stripped.  0, or -1 if it is all zeros.
 */
static inline int nd_rec_inner(const __u8 *p, __u32 n, __u32 *len,
			       __u8 *type)
{
	while (n && !p[n - 1])
		n--;
	if (!n)
		return -1;
	*type = p[n - 1];
	*len = n - 1;
	return 0;
}

/*
 * KeyUpdate (RFC 8446 section 4.6.3), the content of a record of inner
 * type ND_REC_TYPE_HANDSHAKE: TLS handshake type 24, length 1,
 * update_not_requested.  No other handshake message is valid in the data
 * phase, and a KeyUpdate with any other bytes is an error.
 */
#define ND_HS_TYPE_KEY_UPDATE	24
#define ND_KEY_UPDATE_NOT_REQUESTED	0

#define ND_KEY_UPDATE_LEN	5

struct nd_key_update {
	__u8 msg_type;		/* ND_HS_TYPE_KEY_UPDATE */
	__u8 length[3];		/* be24: 1 */
	__u8 request_update;	/* ND_KEY_UPDATE_NOT_REQUESTED */
};
ND_STATIC_ASSERT(sizeof(struct nd_key_update) == ND_KEY_UPDATE_LEN,
		 "nd_key_update size");

/* The one KeyUpdate body: static const struct nd_key_update x = ...; */
#define ND_KEY_UPDATE_INIT \
	{ ND_HS_TYPE_KEY_UPDATE, { 0, 0, 1 }, ND_KEY_UPDATE_NOT_REQUESTED }
/* A record's KeyUpdate, sealed: header, body, inner type, tag. */
#define ND_KEY_UPDATE_REC_LEN \
	(ND_REC_HDR_LEN + ND_KEY_UPDATE_LEN + ND_REC_MIN_CIPHERTEXT)

/* Requests, carried in the record stream. */
#define ND_REQUEST_MAGIC	0x6e647271U	/* "ndrq" */
#define ND_REPLY_MAGIC		0x6e647270U	/* "ndrp" */

enum nd_cmd {
	ND_CMD_READ = 0,
	ND_CMD_WRITE = 1,
	ND_CMD_FLUSH = 2,
	ND_CMD_TRIM = 3,
	ND_CMD_WRITE_ZEROES = 4,
	ND_CMD_DISCONNECT = 5,
	ND_CMD_BLOCK_STATUS = 6,	/* with ND_FLAG_BLOCK_STATUS only */
};

#define ND_CMD_FLAG_FUA		(1U << 0)	/* WRITE, WRITE_ZEROES */
#define ND_CMD_FLAG_REQ_ONE	(1U << 1)	/* BLOCK_STATUS: one extent */
#define ND_CMD_FLAG_ALL		(ND_CMD_FLAG_FUA | ND_CMD_FLAG_REQ_ONE)

struct nd_request {
	__be32 magic;		/* ND_REQUEST_MAGIC */
	__be16 flags;		/* ND_CMD_FLAG_* */
	__be16 type;		/* enum nd_cmd */
	__be64 handle;		/* echoed in the reply */
	__be64 offset;		/* bytes */
	__be32 length;		/* bytes; WRITE payload follows the request */
	__be32 reserved;	/* zero */
};
ND_STATIC_ASSERT(sizeof(struct nd_request) == 32, "nd_request size");

/* Reply errors: Linux errno values, as NBD does. */
enum nd_error {
	ND_OK = 0,
	ND_EPERM = 1,		/* write to a read-only export */
	ND_EIO = 5,		/* backing store failed */
	ND_ENOMEM = 12,
	ND_EINVAL = 22,		/* bad alignment, length, flags or command */
	ND_ENOSPC = 28,
	ND_EOVERFLOW = 75,	/* beyond the end of the export */
	ND_ENOTSUP = 95,	/* command not supported by this export */
	ND_ESHUTDOWN = 108,	/* server shutting down */
};

struct nd_reply {
	__be32 magic;		/* ND_REPLY_MAGIC */
	__be32 error;		/* enum nd_error; READ data follows if ND_OK */
	__be64 handle;
};
ND_STATIC_ASSERT(sizeof(struct nd_reply) == 16, "nd_reply size");

/*
 * A BLOCK_STATUS reply with error ND_OK: the nd_reply, a be32 count of
 * 1..ND_EXTENTS_MAX, then count extents, consecutive from the request's
 * offset, each of non-zero length, together at most the length asked
 * (with ND_CMD_FLAG_REQ_ONE: count is 1).  With an error: nothing.
 */
#define ND_EXTENT_HOLE		(1U << 0)	/* not allocated */
#define ND_EXTENT_ZERO		(1U << 1)	/* reads as zeroes */
#define ND_EXTENT_FLAGS_ALL	(ND_EXTENT_HOLE | ND_EXTENT_ZERO)
#define ND_EXTENTS_MAX		4096		/* extents per reply */

struct nd_extent {
	__be32 length;		/* bytes, non-zero */
	__be32 flags;		/* ND_EXTENT_* */
};
ND_STATIC_ASSERT(sizeof(struct nd_extent) == 8, "nd_extent size");

/* The nd_reply and the count before the extents (no struct: no padding). */
#define ND_EXTENTS_HDR_LEN	(sizeof(struct nd_reply) + 4)

#define ND_PREF_BLOCK		4096
#define ND_MAX_PAYLOAD		(1U << 20)	/* 1 MiB */
#define ND_MAX_INFLIGHT		128		/* requests per connection */

#endif /* NETDISK_PROTO_H */
