/* SPDX-License-Identifier: ISC */
/*
 * The parts of the NBD protocol (include/nbd_proto.h) that parse what the
 * peer sent: the data of the options netdiskd reads, and the requests of
 * the transmission phase, decoded into the engine's struct request
 * (request.h).  Pure functions over buffers, so that each has a fuzz
 * target.
 */
#ifndef NBD_WIRE_H
#define NBD_WIRE_H

#include <stdint.h>

#include "nbd_proto.h"
#include "request.h"

/* NBD_OPT_INFO's and NBD_OPT_GO's data; pointers into it. */
struct nbd_go {
	const char *name;		/* not NUL-terminated */
	uint32_t namelen;
	uint16_t nreq;			/* NBD_INFO_* asked for */
	const uint8_t *req;		/* nreq big-endian 16-bit values */
};
/* 0, or -1 if len does not hold exactly what it announces. */
int nbd_parse_go(const uint8_t *data, uint32_t len, struct nbd_go *);
/* 1 if the client asked for information type (NBD_INFO_*). */
int nbd_go_wants(const struct nbd_go *, uint16_t type);

/*
 * NBD_OPT_LIST_META_CONTEXT's and NBD_OPT_SET_META_CONTEXT's data: the
 * export and whether a query names base:allocation (or, listing, its
 * namespace "base:").
 */
struct nbd_meta {
	const char *name;
	uint32_t namelen;
	uint32_t nqueries;
	int base_allocation;
};
/* 0, or -1 if malformed (list: the option is LIST_META_CONTEXT). */
int nbd_parse_meta(const uint8_t *data, uint32_t len, int list,
    struct nbd_meta *);

/*
 * A request header into q: the NBD command and flags as the engine's.
 * FUA is dropped where it means nothing (a command that does not write:
 * NBD servers accept it on every command), DF on a READ when structured
 * replies are on (every reply is one chunk).  BLOCK_STATUS without a
 * metadata context (meta 0), and any flag or type the engine has no name
 * for, become what request_check() refuses with EINVAL.  The cookie is
 * kept as it came.  -1 if the magic is wrong.
 */
int nbd_request_decode(const struct nbd_request *, int structured, int meta,
    struct request *q);

#endif
