/* SPDX-License-Identifier: ISC */
/*
 * Requests and replies in host byte order, their wire encoding, and the
 * checks a server applies to a request before any disk access.
 */
#ifndef REQUEST_H
#define REQUEST_H

#include <stdint.h>

#include "netdisk_proto.h"

struct request {
	uint16_t flags;
	uint16_t type;
	uint64_t handle;
	uint64_t offset;
	uint32_t length;
};

struct reply {
	uint32_t error;
	uint64_t handle;
};

/*
 * What the server's engine serves beyond the netdisk protocol's commands
 * and flags, for NBD clients: request types and flags above the wire's
 * (ND_CMD_*, ND_CMD_FLAG_*), each refused unless the session's limits
 * carry its REQ_CAN_* bit.  A netdisk session sets REQ_CAN_BLOCK_STATUS
 * alone, when its client asked for ND_OPT_BLOCK_STATUS, and maps the
 * wire's ND_CMD_BLOCK_STATUS and ND_CMD_FLAG_REQ_ONE onto these; its
 * clients get ND_EINVAL for the rest, as for any unknown type or flag.
 */
#define REQ_CMD_CACHE		0x100	/* read ahead; no data in the reply */
#define REQ_CMD_BLOCK_STATUS	0x101	/* which parts of a range are holes */

#define REQ_FLAG_NO_HOLE	(1U << 8)	/* WRITE_ZEROES: leave it allocated */
#define REQ_FLAG_FAST_ZERO	(1U << 9)	/* WRITE_ZEROES: ND_ENOTSUP rather than slow */
#define REQ_FLAG_REQ_ONE	(1U << 10)	/* BLOCK_STATUS: one extent is enough */

#define REQ_CAN_CACHE		(1U << 16)
#define REQ_CAN_BLOCK_STATUS	(1U << 17)
#define REQ_CAN_WRITE_FLAGS	(1U << 18)	/* NO_HOLE, FAST_ZERO, FUA on TRIM */

/*
 * A BLOCK_STATUS reply's data: up to REQ_EXTENTS_MAX consecutive extents
 * from the request's offset, each a big-endian 32-bit length and 32-bit
 * flags (NBD's base:allocation descriptors).
 */
#define REQ_EXTENT_HOLE		(1U << 0)	/* not allocated */
#define REQ_EXTENT_ZERO		(1U << 1)	/* reads as zeroes */
#define REQ_EXTENT_LEN		8
#define REQ_EXTENTS_MAX		4096

/* What the checks need to know about an export. */
struct request_limits {
	uint64_t size;
	uint32_t min_block;
	uint32_t max_payload;
	uint32_t flags;		/* ND_FLAG_* the export announced, REQ_CAN_* */
};

/* One extent of a BLOCK_STATUS reply, host byte order. */
struct extent {
	uint32_t length;
	uint32_t flags;			/* ND_EXTENT_* */
};

void request_encode(const struct request *, struct nd_request *);
/* -1 if the magic or the reserved field is wrong: the stream is broken. */
int request_decode(const struct nd_request *, struct request *);
void reply_encode(const struct reply *, struct nd_reply *);
int reply_decode(const struct nd_reply *, struct reply *);
/*
 * netdisk's BLOCK_STATUS reply (netdisk_proto.h, ND_EXTENTS_HDR_LEN):
 * reply_extents_hdr writes the header of a successful one with count
 * extents to hdr, and returns its length.  reply_extents_decode checks
 * the count extents at wire (what follows the header) of the reply to a
 * request of len bytes and decodes them to out: 0, or -1 if they break
 * the rules (a count of 0 or above ND_EXTENTS_MAX, or above 1 for
 * one = ND_CMD_FLAG_REQ_ONE, a zero length, more than len in all,
 * unknown flags).
 */
size_t reply_extents_hdr(const struct reply *, uint32_t count, void *hdr);
int reply_extents_decode(const void *wire, uint32_t count, uint32_t len,
    int one, struct extent *out);

/* 1 if a WRITE's payload follows on the wire and may be read (length within max_payload). */
int request_has_payload(const struct request *, const struct request_limits *);
/* ND_OK or the error to reply with; checked before any disk access. */
uint32_t request_check(const struct request *, const struct request_limits *);
const char *request_cmd_name(uint16_t type);

#endif
