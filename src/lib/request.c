/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <endian.h>
#include <stddef.h>
#include <string.h>

#include "request.h"

void
request_encode(const struct request *r, struct nd_request *w)
{
	w->magic = htobe32(ND_REQUEST_MAGIC);
	w->flags = htobe16(r->flags);
	w->type = htobe16(r->type);
	w->handle = htobe64(r->handle);
	w->offset = htobe64(r->offset);
	w->length = htobe32(r->length);
	w->reserved = 0;
}

int
request_decode(const struct nd_request *w, struct request *r)
{
	if (be32toh(w->magic) != ND_REQUEST_MAGIC || w->reserved != 0)
		return -1;
	r->flags = be16toh(w->flags);
	r->type = be16toh(w->type);
	r->handle = be64toh(w->handle);
	r->offset = be64toh(w->offset);
	r->length = be32toh(w->length);
	return 0;
}

void
reply_encode(const struct reply *r, struct nd_reply *w)
{
	w->magic = htobe32(ND_REPLY_MAGIC);
	w->error = htobe32(r->error);
	w->handle = htobe64(r->handle);
}

int
reply_decode(const struct nd_reply *w, struct reply *r)
{
	if (be32toh(w->magic) != ND_REPLY_MAGIC)
		return -1;
	r->error = be32toh(w->error);
	r->handle = be64toh(w->handle);
	return 0;
}

size_t
reply_extents_hdr(const struct reply *r, uint32_t count, void *hdr)
{
	struct nd_reply w;
	uint32_t n = htobe32(count);

	reply_encode(r, &w);
	memcpy(hdr, &w, sizeof(w));
	memcpy((uint8_t *)hdr + sizeof(w), &n, sizeof(n));
	return ND_EXTENTS_HDR_LEN;
}

int
reply_extents_decode(const void *wire, uint32_t count, uint32_t len, int one,
    struct extent *out)
{
	const uint8_t *p = wire;
	struct nd_extent w;
	uint64_t sum = 0;
	uint32_t i;

	if (count == 0 || count > ND_EXTENTS_MAX || (one && count > 1))
		return -1;
	for (i = 0; i < count; i++) {
		memcpy(&w, p + i * sizeof(w), sizeof(w));
		out[i].length = be32toh(w.length);
		out[i].flags = be32toh(w.flags);
		sum += out[i].length;
		if (out[i].length == 0 || sum > len ||
		    (out[i].flags & ~ND_EXTENT_FLAGS_ALL))
			return -1;
	}
	return 0;
}

int
request_has_payload(const struct request *r, const struct request_limits *l)
{
	return r->type == ND_CMD_WRITE && r->length <= l->max_payload;
}

/* The command's required export flag, 0 if it needs none, -1 if unknown. */
static int64_t
cmd_flag(uint16_t type)
{
	switch (type) {
	case ND_CMD_READ:
	case ND_CMD_WRITE:
	case ND_CMD_DISCONNECT:
		return 0;
	case ND_CMD_FLUSH:
		return ND_FLAG_FLUSH;
	case ND_CMD_TRIM:
		return ND_FLAG_TRIM;
	case ND_CMD_WRITE_ZEROES:
		return ND_FLAG_WRITE_ZEROES;
	case REQ_CMD_CACHE:
		return REQ_CAN_CACHE;
	case REQ_CMD_BLOCK_STATUS:
		return REQ_CAN_BLOCK_STATUS;
	}
	return -1;
}

/* The flags a request of type may carry, with the limits' features. */
static uint16_t
cmd_flags_ok(uint16_t type, uint32_t features)
{
	switch (type) {
	case ND_CMD_WRITE:
		return ND_CMD_FLAG_FUA;
	case ND_CMD_WRITE_ZEROES:
		return ND_CMD_FLAG_FUA | (features & REQ_CAN_WRITE_FLAGS ?
		    REQ_FLAG_NO_HOLE | REQ_FLAG_FAST_ZERO : 0);
	case ND_CMD_TRIM:
		return features & REQ_CAN_WRITE_FLAGS ? ND_CMD_FLAG_FUA : 0;
	case REQ_CMD_BLOCK_STATUS:
		return REQ_FLAG_REQ_ONE;
	}
	return 0;
}

static int
is_write(uint16_t type)
{
	return type == ND_CMD_WRITE || type == ND_CMD_TRIM ||
	    type == ND_CMD_WRITE_ZEROES;
}

static uint32_t
check_range(const struct request *r, const struct request_limits *l)
{
	uint64_t mask = l->min_block - 1;

	if (r->type == ND_CMD_FLUSH || r->type == ND_CMD_DISCONNECT)
		return r->offset == 0 && r->length == 0 ? ND_OK : ND_EINVAL;
	if (r->length == 0)
		return ND_EINVAL;
	if ((r->type == ND_CMD_READ || r->type == ND_CMD_WRITE) &&
	    r->length > l->max_payload)
		return ND_EINVAL;
	if (r->offset > l->size || r->length > l->size - r->offset)
		return ND_EOVERFLOW;
	if ((r->offset & mask) || (r->length & mask))
		return ND_EINVAL;
	return ND_OK;
}

uint32_t
request_check(const struct request *r, const struct request_limits *l)
{
	int64_t need = cmd_flag(r->type);

	if (need < 0 || (r->flags & ~cmd_flags_ok(r->type, l->flags)))
		return ND_EINVAL;
	if (is_write(r->type) && (l->flags & ND_FLAG_READ_ONLY))
		return ND_EPERM;
	if (need && !(l->flags & need))
		return ND_ENOTSUP;
	return check_range(r, l);
}

const char *
request_cmd_name(uint16_t type)
{
	static const char *names[] = {
		[ND_CMD_READ] = "READ", [ND_CMD_WRITE] = "WRITE",
		[ND_CMD_FLUSH] = "FLUSH", [ND_CMD_TRIM] = "TRIM",
		[ND_CMD_WRITE_ZEROES] = "WRITE_ZEROES",
		[ND_CMD_DISCONNECT] = "DISCONNECT",
	};

	if (type == REQ_CMD_CACHE)
		return "CACHE";
	if (type == REQ_CMD_BLOCK_STATUS)
		return "BLOCK_STATUS";
	if (type < sizeof(names) / sizeof(names[0]))
		return names[type];
	return "UNKNOWN";
}
