/* SPDX-License-Identifier: ISC */
/*
 * Requests: request_decode, then request_check and request_has_payload
 * against limits taken from the input; replies: reply_decode.  What is
 * decoded must encode back to the same bytes, and a request that passes
 * request_check must be one docs/protocol.md allows.
 *
 * Input: 32 bytes of nd_request, then the limits: a byte choosing
 * min_block (below 0xf0: 512 << (b % 4), else a u32 that follows) and
 * whether the magic and reserved field are forced right (bit 7 of a
 * second byte), the flags (u8), size (u64) and max_payload (u32).  The
 * first 16 bytes are also decoded as an nd_reply.
 */
#include "config.h"

#include <endian.h>
#include <string.h>

#include "request.h"
#include "fuzz.h"

#define FORCE_VALID	0x80

static void
read_limits(struct fuzz_in *in, struct request_limits *l, int *force)
{
	uint8_t b = fuzz_u8(in), opts = fuzz_u8(in);

	*force = (opts & FORCE_VALID) != 0;
	l->min_block = b < 0xf0 ? (uint32_t)ND_MIN_BLOCK << (b % 4) :
	    fuzz_u32(in);
	l->flags = fuzz_u8(in);
	l->size = fuzz_u64(in);
	l->max_payload = fuzz_u32(in);
}

static int
is_rw(uint16_t type)
{
	return type == ND_CMD_READ || type == ND_CMD_WRITE;
}

static int
writes(uint16_t type)
{
	return type == ND_CMD_WRITE || type == ND_CMD_TRIM ||
	    type == ND_CMD_WRITE_ZEROES;
}

/* An accepted request is one the export can serve as it stands. */
static void
check_accepted(const struct request *r, const struct request_limits *l)
{
	uint32_t b = l->min_block;

	FUZZ_CHECK(r->type <= ND_CMD_DISCONNECT);
	FUZZ_CHECK((r->flags & ~ND_CMD_FLAG_ALL) == 0);
	if (r->flags & ND_CMD_FLAG_FUA)
		FUZZ_CHECK(r->type == ND_CMD_WRITE ||
		    r->type == ND_CMD_WRITE_ZEROES);
	if (writes(r->type))
		FUZZ_CHECK(!(l->flags & ND_FLAG_READ_ONLY));
	if (r->type == ND_CMD_FLUSH)
		FUZZ_CHECK(l->flags & ND_FLAG_FLUSH);
	if (r->type == ND_CMD_TRIM)
		FUZZ_CHECK(l->flags & ND_FLAG_TRIM);
	if (r->type == ND_CMD_WRITE_ZEROES)
		FUZZ_CHECK(l->flags & ND_FLAG_WRITE_ZEROES);
	if (r->type == ND_CMD_FLUSH || r->type == ND_CMD_DISCONNECT) {
		FUZZ_CHECK(r->offset == 0 && r->length == 0);
		return;
	}
	FUZZ_CHECK(r->length > 0);
	FUZZ_CHECK(r->offset <= l->size && r->length <= l->size - r->offset);
	if (is_rw(r->type))
		FUZZ_CHECK(r->length <= l->max_payload);
	if (b != 0 && (b & (b - 1)) == 0)
		FUZZ_CHECK(r->offset % b == 0 && r->length % b == 0);
}

static void
check_request(const struct nd_request *w, const struct request_limits *l)
{
	struct nd_request again;
	struct request r;
	uint32_t err;

	if (request_decode(w, &r) == -1) {
		FUZZ_CHECK(be32toh(w->magic) != ND_REQUEST_MAGIC ||
		    w->reserved != 0);
		return;
	}
	request_encode(&r, &again);
	FUZZ_CHECK(memcmp(&again, w, sizeof(again)) == 0);
	FUZZ_CHECK(request_cmd_name(r.type) != NULL);
	err = request_check(&r, l);
	FUZZ_CHECK(err == ND_OK || err == ND_EPERM || err == ND_EINVAL ||
	    err == ND_EOVERFLOW || err == ND_ENOTSUP);
	if (err == ND_OK)
		check_accepted(&r, l);
	if (request_has_payload(&r, l))
		FUZZ_CHECK(r.type == ND_CMD_WRITE && r.length <= l->max_payload);
	else
		FUZZ_CHECK(r.type != ND_CMD_WRITE || r.length > l->max_payload);
}

static void
check_reply(const uint8_t *p)
{
	struct nd_reply w, again;
	struct reply r;

	memcpy(&w, p, sizeof(w));
	if (reply_decode(&w, &r) == -1) {
		FUZZ_CHECK(be32toh(w.magic) != ND_REPLY_MAGIC);
		return;
	}
	reply_encode(&r, &again);
	FUZZ_CHECK(memcmp(&again, &w, sizeof(w)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct request_limits l;
	struct nd_request w;
	int force;

	fuzz_bytes(&in, &w, sizeof(w));
	read_limits(&in, &l, &force);
	check_reply((const uint8_t *)&w);
	if (force) {
		w.magic = htobe32(ND_REQUEST_MAGIC);
		w.reserved = 0;
	}
	check_request(&w, &l);
	return 0;
}

/* Seeds. */

static void
seed(fuzz_emit_fn emit, void *arg, const char *name, uint16_t type,
    uint16_t flags, uint64_t offset, uint32_t length, uint8_t eflags)
{
	const struct request r = { flags, type, 0x1234, offset, length };
	struct nd_request w;
	struct fuzz_buf b = { NULL, 0, 0 };

	request_encode(&r, &w);
	fuzz_put(&b, &w, sizeof(w));
	fuzz_put_u8(&b, 0);		/* min_block 512 */
	fuzz_put_u8(&b, 0);
	fuzz_put_u8(&b, eflags);
	fuzz_put_u64(&b, 1 << 30);
	fuzz_put_u32(&b, ND_MAX_PAYLOAD);
	emit(arg, name, b.p, b.len);
	fuzz_buf_free(&b);
}

void
fuzz_seeds(fuzz_emit_fn emit, void *arg)
{
	const uint8_t all = ND_FLAG_ALL & ~ND_FLAG_READ_ONLY;
	const struct reply rp = { ND_OK, 0x1234 };
	struct nd_reply w;

	seed(emit, arg, "read", ND_CMD_READ, 0, 4096, 65536, all);
	seed(emit, arg, "write-fua", ND_CMD_WRITE, ND_CMD_FLAG_FUA, 0, 512,
	    all);
	seed(emit, arg, "write-ro", ND_CMD_WRITE, 0, 0, 512,
	    ND_FLAG_READ_ONLY);
	seed(emit, arg, "flush", ND_CMD_FLUSH, 0, 0, 0, all);
	seed(emit, arg, "trim-end", ND_CMD_TRIM, 0, (1 << 30) - 4096, 4096,
	    all);
	seed(emit, arg, "zeroes-over", ND_CMD_WRITE_ZEROES, 0, 1 << 30, 512,
	    all);
	seed(emit, arg, "read-wraps", ND_CMD_READ, 0, -(uint64_t)4096, 8192,
	    all);
	seed(emit, arg, "disconnect", ND_CMD_DISCONNECT, 0, 0, 0, 0);
	reply_encode(&rp, &w);
	emit(arg, "reply", &w, sizeof(w));
}
