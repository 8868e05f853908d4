/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The NBD protocol's wire format, as netdiskd's NBD listener speaks it
 * (fixed newstyle negotiation, simple and structured replies): the
 * constants and the fixed-size messages of the NetworkBlockDevice
 * project's doc/proto.md, which is the authority.  docs/nbd.md says which
 * parts netdisk implements.  All integers are big-endian on the wire.
 */
#ifndef NBD_PROTO_H
#define NBD_PROTO_H

#include <assert.h>
#include <stdint.h>

#define NBD_DEFAULT_PORT	10809

/* Handshake: "NBDMAGIC", then "IHAVEOPT" and the server's flags. */
#define NBD_MAGIC		0x4e42444d41474943ULL
#define NBD_OPT_MAGIC		0x49484156454f5054ULL	/* "IHAVEOPT" */
#define NBD_REP_MAGIC		0x0003e889045565a9ULL

/* Handshake flags (server, 16 bits) and client flags (32 bits). */
#define NBD_FLAG_FIXED_NEWSTYLE	(1U << 0)
#define NBD_FLAG_NO_ZEROES	(1U << 1)
#define NBD_HS_FLAGS_ALL	(NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES)
/* Zero bytes after NBD_OPT_EXPORT_NAME's reply, unless NO_ZEROES. */
#define NBD_EXPORT_NAME_PAD	124

/* Options. */
#define NBD_OPT_EXPORT_NAME	1
#define NBD_OPT_ABORT		2
#define NBD_OPT_LIST		3
#define NBD_OPT_STARTTLS	5
#define NBD_OPT_INFO		6
#define NBD_OPT_GO		7
#define NBD_OPT_STRUCTURED_REPLY 8
#define NBD_OPT_LIST_META_CONTEXT 9
#define NBD_OPT_SET_META_CONTEXT 10

/* Option replies; errors have the top bit set. */
#define NBD_REP_ACK		1
#define NBD_REP_SERVER		2
#define NBD_REP_INFO		3
#define NBD_REP_META_CONTEXT	4
#define NBD_REP_ERR(n)		((1U << 31) + (n))
#define NBD_REP_ERR_UNSUP	NBD_REP_ERR(1)
#define NBD_REP_ERR_POLICY	NBD_REP_ERR(2)
#define NBD_REP_ERR_INVALID	NBD_REP_ERR(3)
#define NBD_REP_ERR_PLATFORM	NBD_REP_ERR(4)
#define NBD_REP_ERR_TLS_REQD	NBD_REP_ERR(5)
#define NBD_REP_ERR_UNKNOWN	NBD_REP_ERR(6)
#define NBD_REP_ERR_SHUTDOWN	NBD_REP_ERR(7)
#define NBD_REP_ERR_BLOCK_SIZE_REQD NBD_REP_ERR(8)
#define NBD_REP_ERR_TOO_BIG	NBD_REP_ERR(9)

/* NBD_REP_INFO types. */
#define NBD_INFO_EXPORT		0
#define NBD_INFO_NAME		1
#define NBD_INFO_DESCRIPTION	2
#define NBD_INFO_BLOCK_SIZE	3

/* Transmission flags (16 bits). */
#define NBD_FLAG_HAS_FLAGS	(1U << 0)
#define NBD_FLAG_READ_ONLY	(1U << 1)
#define NBD_FLAG_SEND_FLUSH	(1U << 2)
#define NBD_FLAG_SEND_FUA	(1U << 3)
#define NBD_FLAG_ROTATIONAL	(1U << 4)
#define NBD_FLAG_SEND_TRIM	(1U << 5)
#define NBD_FLAG_SEND_WRITE_ZEROES (1U << 6)
#define NBD_FLAG_SEND_DF	(1U << 7)
#define NBD_FLAG_CAN_MULTI_CONN	(1U << 8)
#define NBD_FLAG_SEND_CACHE	(1U << 10)
#define NBD_FLAG_SEND_FAST_ZERO	(1U << 11)

/* Commands and their flags. */
#define NBD_CMD_READ		0
#define NBD_CMD_WRITE		1
#define NBD_CMD_DISC		2
#define NBD_CMD_FLUSH		3
#define NBD_CMD_TRIM		4
#define NBD_CMD_CACHE		5
#define NBD_CMD_WRITE_ZEROES	6
#define NBD_CMD_BLOCK_STATUS	7

#define NBD_CMD_FLAG_FUA	(1U << 0)
#define NBD_CMD_FLAG_NO_HOLE	(1U << 1)
#define NBD_CMD_FLAG_DF		(1U << 2)
#define NBD_CMD_FLAG_REQ_ONE	(1U << 3)
#define NBD_CMD_FLAG_FAST_ZERO	(1U << 4)

/* Errors of the transmission phase (errno values, as Linux numbers them). */
#define NBD_EPERM		1
#define NBD_EIO			5
#define NBD_ENOMEM		12
#define NBD_EINVAL		22
#define NBD_ENOSPC		28
#define NBD_EOVERFLOW		75
#define NBD_ENOTSUP		95
#define NBD_ESHUTDOWN		108

/* Structured reply chunks. */
#define NBD_REPLY_FLAG_DONE	(1U << 0)
#define NBD_REPLY_TYPE_NONE	0
#define NBD_REPLY_TYPE_OFFSET_DATA 1
#define NBD_REPLY_TYPE_BLOCK_STATUS 5
#define NBD_REPLY_TYPE_ERROR	((1U << 15) + 1)

/* base:allocation's status flags. */
#define NBD_STATE_HOLE		(1U << 0)
#define NBD_STATE_ZERO		(1U << 1)
#define NBD_META_BASE_ALLOCATION "base:allocation"

#define NBD_REQUEST_MAGIC	0x25609513U
#define NBD_SIMPLE_REPLY_MAGIC	0x67446698U
#define NBD_STRUCTURED_REPLY_MAGIC 0x668e33efU

/* The fixed-size messages; packed, since the wire has no padding. */
struct nbd_opt_hdr {
	uint64_t magic;		/* NBD_OPT_MAGIC */
	uint32_t option;
	uint32_t length;	/* of the data that follows */
} __attribute__((packed));

struct nbd_rep_hdr {
	uint64_t magic;		/* NBD_REP_MAGIC */
	uint32_t option;
	uint32_t type;		/* NBD_REP_* */
	uint32_t length;
} __attribute__((packed));

struct nbd_request {
	uint32_t magic;		/* NBD_REQUEST_MAGIC */
	uint16_t flags;		/* NBD_CMD_FLAG_* */
	uint16_t type;		/* NBD_CMD_* */
	uint64_t cookie;
	uint64_t offset;
	uint32_t length;
} __attribute__((packed));

struct nbd_simple_reply {
	uint32_t magic;		/* NBD_SIMPLE_REPLY_MAGIC */
	uint32_t error;
	uint64_t cookie;
} __attribute__((packed));

struct nbd_chunk_hdr {
	uint32_t magic;		/* NBD_STRUCTURED_REPLY_MAGIC */
	uint16_t flags;		/* NBD_REPLY_FLAG_* */
	uint16_t type;		/* NBD_REPLY_TYPE_* */
	uint64_t cookie;
	uint32_t length;	/* of the payload */
} __attribute__((packed));

static_assert(sizeof(struct nbd_opt_hdr) == 16, "nbd_opt_hdr");
static_assert(sizeof(struct nbd_rep_hdr) == 20, "nbd_rep_hdr");
static_assert(sizeof(struct nbd_request) == 28, "nbd_request");
static_assert(sizeof(struct nbd_simple_reply) == 16, "nbd_simple_reply");
static_assert(sizeof(struct nbd_chunk_hdr) == 20, "nbd_chunk_hdr");

#endif
