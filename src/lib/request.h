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

/* What the checks need to know about an export. */
struct request_limits {
	uint64_t size;
	uint32_t min_block;
	uint32_t max_payload;
	uint32_t flags;		/* ND_FLAG_* the export announced */
};

void request_encode(const struct request *, struct nd_request *);
/* -1 if the magic or the reserved field is wrong: the stream is broken. */
int request_decode(const struct nd_request *, struct request *);
void reply_encode(const struct reply *, struct nd_reply *);
int reply_decode(const struct nd_reply *, struct reply *);

/* 1 if a WRITE's payload follows on the wire and may be read (length within max_payload). */
int request_has_payload(const struct request *, const struct request_limits *);
/* ND_OK or the error to reply with; checked before any disk access. */
uint32_t request_check(const struct request *, const struct request_limits *);
const char *request_cmd_name(uint16_t type);

#endif
