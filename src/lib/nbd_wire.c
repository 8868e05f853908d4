/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <endian.h>
#include <string.h>

#include "nbd_wire.h"

/* A flag or type no engine request has: request_check refuses it. */
#define UNKNOWN_FLAG		(1U << 15)
#define UNKNOWN_TYPE		UINT16_MAX

/* A reader of an option's data. */
struct parse {
	const uint8_t *p;
	uint32_t left;
	int bad;
};

static const uint8_t *
take(struct parse *ps, uint32_t len)
{
	const uint8_t *p = ps->p;

	if (ps->bad || len > ps->left) {
		ps->bad = 1;
		return NULL;
	}
	ps->p += len;
	ps->left -= len;
	return p;
}

static uint32_t
take_u32(struct parse *ps)
{
	const uint8_t *p = take(ps, 4);
	uint32_t v;

	if (p == NULL)
		return 0;
	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint16_t
take_u16(struct parse *ps)
{
	const uint8_t *p = take(ps, 2);
	uint16_t v;

	if (p == NULL)
		return 0;
	memcpy(&v, p, 2);
	return be16toh(v);
}

int
nbd_parse_go(const uint8_t *data, uint32_t len, struct nbd_go *g)
{
	struct parse ps = { data, len, 0 };

	g->namelen = take_u32(&ps);
	g->name = (const char *)take(&ps, g->namelen);
	g->nreq = take_u16(&ps);
	g->req = take(&ps, (uint32_t)g->nreq * 2);
	return ps.bad || ps.left != 0 ? -1 : 0;
}

int
nbd_go_wants(const struct nbd_go *g, uint16_t type)
{
	uint16_t v;
	uint16_t i;

	for (i = 0; i < g->nreq; i++) {
		memcpy(&v, g->req + 2 * i, 2);
		if (be16toh(v) == type)
			return 1;
	}
	return 0;
}

/* Whether a query selects base:allocation (listing: also "base:"). */
static int
meta_match(const uint8_t *q, uint32_t len, int list)
{
	static const char base[] = NBD_META_BASE_ALLOCATION;

	if (len == sizeof(base) - 1 && memcmp(q, base, len) == 0)
		return 1;
	return list && len == 5 && memcmp(q, "base:", 5) == 0;
}

int
nbd_parse_meta(const uint8_t *data, uint32_t len, int list,
    struct nbd_meta *m)
{
	struct parse ps = { data, len, 0 };
	const uint8_t *q;
	uint32_t i, ql;

	memset(m, 0, sizeof(*m));
	m->namelen = take_u32(&ps);
	m->name = (const char *)take(&ps, m->namelen);
	m->nqueries = take_u32(&ps);
	for (i = 0; i < m->nqueries && !ps.bad; i++) {
		ql = take_u32(&ps);
		if ((q = take(&ps, ql)) != NULL && meta_match(q, ql, list))
			m->base_allocation = 1;
	}
	if (list && m->nqueries == 0)
		m->base_allocation = 1;		/* every context there is */
	return ps.bad || ps.left != 0 ? -1 : 0;
}

/* NBD_CMD_* to the engine's request type. */
static uint16_t
cmd_type(uint16_t type)
{
	switch (type) {
	case NBD_CMD_READ:
		return ND_CMD_READ;
	case NBD_CMD_WRITE:
		return ND_CMD_WRITE;
	case NBD_CMD_DISC:
		return ND_CMD_DISCONNECT;
	case NBD_CMD_FLUSH:
		return ND_CMD_FLUSH;
	case NBD_CMD_TRIM:
		return ND_CMD_TRIM;
	case NBD_CMD_CACHE:
		return REQ_CMD_CACHE;
	case NBD_CMD_WRITE_ZEROES:
		return ND_CMD_WRITE_ZEROES;
	case NBD_CMD_BLOCK_STATUS:
		return REQ_CMD_BLOCK_STATUS;
	}
	return UNKNOWN_TYPE;
}

static uint16_t
cmd_flags(uint16_t type, uint16_t flags, int structured)
{
	static const struct {
		uint16_t nbd, req;
	} map[] = {
		{ NBD_CMD_FLAG_FUA, ND_CMD_FLAG_FUA },
		{ NBD_CMD_FLAG_NO_HOLE, REQ_FLAG_NO_HOLE },
		{ NBD_CMD_FLAG_FAST_ZERO, REQ_FLAG_FAST_ZERO },
		{ NBD_CMD_FLAG_REQ_ONE, REQ_FLAG_REQ_ONE },
	};
	uint16_t out = 0;
	size_t i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].nbd) {
			out |= map[i].req;
			flags &= (uint16_t)~map[i].nbd;
		}
	if ((flags & NBD_CMD_FLAG_DF) && structured && type == NBD_CMD_READ)
		flags &= (uint16_t)~NBD_CMD_FLAG_DF;
	if (type != NBD_CMD_WRITE && type != NBD_CMD_WRITE_ZEROES &&
	    type != NBD_CMD_TRIM)
		out &= (uint16_t)~ND_CMD_FLAG_FUA;
	return flags != 0 ? out | UNKNOWN_FLAG : out;
}

int
nbd_request_decode(const struct nbd_request *w, int structured, int meta,
    struct request *q)
{
	uint16_t type = be16toh(w->type);

	if (be32toh(w->magic) != NBD_REQUEST_MAGIC)
		return -1;
	q->type = type == NBD_CMD_BLOCK_STATUS && !meta ? UNKNOWN_TYPE :
	    cmd_type(type);
	q->flags = cmd_flags(type, be16toh(w->flags), structured);
	q->handle = w->cookie;		/* opaque: back as it came */
	q->offset = be64toh(w->offset);
	q->length = be32toh(w->length);
	return 0;
}
