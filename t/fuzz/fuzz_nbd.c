/* SPDX-License-Identifier: ISC */
/*
 * The NBD listener's parsers (nbd_wire.c): the data of NBD_OPT_GO and
 * NBD_OPT_INFO, of NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT,
 * and request headers decoded into the engine's requests, then checked by
 * request_check against limits taken from the input.  Each parse is
 * compared with one recomputed here from the NBD project's doc/proto.md;
 * a request that passes request_check must be one the export can serve
 * as NBD allows it.
 *
 * Input: a head of HEAD_LEN bytes -- options (bit 0: structured replies
 * negotiated, bit 1: a metadata context selected, bit 2: request magic
 * forced right), a byte choosing min_block (below 0xf0: 1 << (b % 13),
 * else the u32 that follows as it is), that u32, the limits' flags (u32:
 * ND_FLAG_*, REQ_CAN_*), size (u64) and max_payload (u32) -- then the
 * data.  The data goes whole to
 * nbd_parse_go and to nbd_parse_meta (list and set), and each 28 bytes of
 * it, as a struct nbd_request, to nbd_request_decode.
 */
#include "config.h"

#include <endian.h>
#include <string.h>

#include "nbd_proto.h"
#include "nbd_wire.h"
#include "request.h"
#include "fuzz.h"

#define OPT_STRUCTURED	0x01
#define OPT_META	0x02
#define OPT_FORCE_MAGIC	0x04
#define HEAD_LEN	22
#define MAX_REQUESTS	512
/* The request types of nbd_proto.h: NBD_CMD_READ .. NBD_CMD_BLOCK_STATUS. */
#define NBD_CMD_LAST	NBD_CMD_BLOCK_STATUS
#define NBD_CMD_FLAGS_KNOWN	(NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_NO_HOLE | \
	NBD_CMD_FLAG_DF | NBD_CMD_FLAG_REQ_ONE | NBD_CMD_FLAG_FAST_ZERO)
#define REQ_FLAGS_KNOWN	(ND_CMD_FLAG_ALL | REQ_FLAG_NO_HOLE | \
	REQ_FLAG_FAST_ZERO | REQ_FLAG_REQ_ONE)

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static uint16_t
get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static int
inside(const void *p, uint64_t n, const uint8_t *data, uint32_t len)
{
	const uint8_t *q = p;

	return q >= data && q <= data + len && n <= (uint64_t)(data + len - q);
}

/* NBD_OPT_GO and NBD_OPT_INFO. */

/* What doc/proto.md says the data holds; -1 if it does not add up. */
static int
go_expected(const uint8_t *p, uint32_t len, uint32_t *namelen,
    uint16_t *nreq)
{
	uint64_t off;

	if (len < 4)
		return -1;
	*namelen = get32(p);
	off = 4 + (uint64_t)*namelen;
	if (off + 2 > len)
		return -1;
	*nreq = get16(p + off);
	return off + 2 + 2 * (uint64_t)*nreq == len ? 0 : -1;
}

static int
go_has(const uint8_t *req, uint16_t nreq, uint16_t type)
{
	uint32_t i;

	for (i = 0; i < nreq; i++)
		if (get16(req + 2 * i) == type)
			return 1;
	return 0;
}

static void
check_go(const uint8_t *p, uint32_t len)
{
	struct nbd_go g, again;
	uint32_t namelen = 0, i;
	uint16_t nreq = 0, t;
	int want = go_expected(p, len, &namelen, &nreq);
	int r = nbd_parse_go(p, len, &g);

	FUZZ_CHECK(r == want);
	FUZZ_CHECK(nbd_parse_go(p, len, &again) == r);
	if (r != 0)
		return;
	FUZZ_CHECK(g.name == (const char *)p + 4 && g.namelen == namelen);
	FUZZ_CHECK(inside(g.name, g.namelen, p, len));
	FUZZ_CHECK(g.nreq == nreq && g.req == p + 4 + namelen + 2);
	FUZZ_CHECK(inside(g.req, 2 * (uint64_t)g.nreq, p, len));
	FUZZ_CHECK(g.req + 2 * (size_t)g.nreq == p + len);
	FUZZ_CHECK(4 + (uint64_t)g.namelen + 2 + 2 * (uint64_t)g.nreq == len);
	FUZZ_CHECK(again.name == g.name && again.namelen == g.namelen &&
	    again.nreq == g.nreq && again.req == g.req);
	for (t = NBD_INFO_EXPORT; t <= NBD_INFO_BLOCK_SIZE + 1; t++)
		FUZZ_CHECK(nbd_go_wants(&g, t) == go_has(g.req, g.nreq, t));
	FUZZ_CHECK(nbd_go_wants(&g, UINT16_MAX) ==
	    go_has(g.req, g.nreq, UINT16_MAX));
	for (i = 0; i < g.nreq && i < 8; i++)
		FUZZ_CHECK(nbd_go_wants(&g, get16(g.req + 2 * i)));
	if (g.nreq == 0)
		FUZZ_CHECK(!nbd_go_wants(&g, NBD_INFO_NAME));
}

/* NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT. */

static int
meta_query_matches(const uint8_t *q, uint32_t len, int list)
{
	static const char base[] = NBD_META_BASE_ALLOCATION;

	if (len == strlen(base) && memcmp(q, base, len) == 0)
		return 1;
	return list && len == 5 && memcmp(q, "base:", 5) == 0;
}

/* The export name, the queries and whether one selects base:allocation. */
static int
meta_expected(const uint8_t *p, uint32_t len, int list, uint32_t *namelen,
    uint32_t *nq, int *base)
{
	uint64_t off, i, ql;

	*base = 0;
	if (len < 4)
		return -1;
	*namelen = get32(p);
	off = 4 + (uint64_t)*namelen;
	if (off + 4 > len)
		return -1;
	*nq = get32(p + off);
	off += 4;
	for (i = 0; i < *nq; i++) {
		if (off + 4 > len)
			return -1;
		ql = get32(p + off);
		off += 4;
		if (off + ql > len)
			return -1;
		if (meta_query_matches(p + off, (uint32_t)ql, list))
			*base = 1;
		off += ql;
	}
	if (list && *nq == 0)
		*base = 1;
	return off == len ? 0 : -1;
}

static void
check_meta(const uint8_t *p, uint32_t len, int list)
{
	struct nbd_meta m, again;
	uint32_t namelen = 0, nq = 0;
	int base, want = meta_expected(p, len, list, &namelen, &nq, &base);
	int r = nbd_parse_meta(p, len, list, &m);

	FUZZ_CHECK(r == want);
	FUZZ_CHECK(nbd_parse_meta(p, len, list, &again) == r);
	if (r != 0)
		return;
	FUZZ_CHECK(m.name == (const char *)p + 4 && m.namelen == namelen);
	FUZZ_CHECK(inside(m.name, m.namelen, p, len));
	FUZZ_CHECK(m.nqueries == nq && m.base_allocation == base);
	/* Each query is at least its 4-byte length. */
	FUZZ_CHECK(4 + (uint64_t)m.namelen + 4 + 4 * (uint64_t)m.nqueries <=
	    len);
	FUZZ_CHECK(again.name == m.name && again.namelen == m.namelen &&
	    again.nqueries == m.nqueries &&
	    again.base_allocation == m.base_allocation);
}

/* Requests. */

static void
read_limits(struct fuzz_in *in, struct request_limits *l, uint8_t *opts)
{
	uint8_t b;
	uint32_t raw;

	*opts = fuzz_u8(in);
	b = fuzz_u8(in);
	raw = fuzz_u32(in);
	l->min_block = b < 0xf0 ? 1U << (b % 13) : raw;
	l->flags = fuzz_u32(in);
	l->size = fuzz_u64(in);
	l->max_payload = fuzz_u32(in);
}

/* The engine's request type of an NBD command, as doc/proto.md has it. */
static int
engine_type(uint16_t nbd)
{
	static const int map[] = {
		[NBD_CMD_READ] = ND_CMD_READ,
		[NBD_CMD_WRITE] = ND_CMD_WRITE,
		[NBD_CMD_DISC] = ND_CMD_DISCONNECT,
		[NBD_CMD_FLUSH] = ND_CMD_FLUSH,
		[NBD_CMD_TRIM] = ND_CMD_TRIM,
		[NBD_CMD_CACHE] = REQ_CMD_CACHE,
		[NBD_CMD_WRITE_ZEROES] = ND_CMD_WRITE_ZEROES,
		[NBD_CMD_BLOCK_STATUS] = REQ_CMD_BLOCK_STATUS,
	};

	return nbd <= NBD_CMD_LAST ? map[nbd] : -1;
}

/*
 * The NBD flags an accepted command may carry: those doc/proto.md
 * defines for it that the server announced.  FUA is valid on every
 * command (the server MUST accept it, if only by ignoring it); netdiskd
 * announces FUA for TRIM, NO_HOLE and FAST_ZERO with REQ_CAN_WRITE_FLAGS,
 * DF with structured replies.
 */
static uint16_t
nbd_flags_allowed(uint16_t nbd, uint32_t features, int structured)
{
	int wf = (features & REQ_CAN_WRITE_FLAGS) != 0;

	switch (nbd) {
	case NBD_CMD_READ:
		return NBD_CMD_FLAG_FUA | (structured ? NBD_CMD_FLAG_DF : 0);
	case NBD_CMD_TRIM:
		return wf ? NBD_CMD_FLAG_FUA : 0;
	case NBD_CMD_WRITE_ZEROES:
		return NBD_CMD_FLAG_FUA | (wf ? NBD_CMD_FLAG_NO_HOLE |
		    NBD_CMD_FLAG_FAST_ZERO : 0);
	case NBD_CMD_BLOCK_STATUS:
		return NBD_CMD_FLAG_FUA | NBD_CMD_FLAG_REQ_ONE;
	}
	return NBD_CMD_FLAG_FUA;
}

/* A command that does not write: FUA on it means nothing. */
static int
nbd_reads(uint16_t nbd)
{
	return nbd == NBD_CMD_READ || nbd == NBD_CMD_DISC ||
	    nbd == NBD_CMD_FLUSH || nbd == NBD_CMD_CACHE ||
	    nbd == NBD_CMD_BLOCK_STATUS;
}

/* The export feature a command needs, 0 if none. */
static uint32_t
needs(uint16_t type)
{
	switch (type) {
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
	return 0;
}

static int
writes(uint16_t type)
{
	return type == ND_CMD_WRITE || type == ND_CMD_TRIM ||
	    type == ND_CMD_WRITE_ZEROES;
}

/* An accepted request is one the export can serve as it stands. */
static void
check_accepted(const struct nbd_request *w, int structured, int meta,
    const struct request *q, const struct request_limits *l)
{
	uint16_t nbd = be16toh(w->type), nflags = be16toh(w->flags);
	uint32_t b = l->min_block;

	FUZZ_CHECK(nbd <= NBD_CMD_LAST && q->type == engine_type(nbd));
	FUZZ_CHECK((nflags & ~nbd_flags_allowed(nbd, l->flags, structured)) ==
	    0);
	FUZZ_CHECK((q->flags & ~REQ_FLAGS_KNOWN) == 0);
	if (q->flags & ND_CMD_FLAG_FUA)
		FUZZ_CHECK(writes(q->type));
	if (q->type == REQ_CMD_BLOCK_STATUS)
		FUZZ_CHECK(meta);
	if (writes(q->type))
		FUZZ_CHECK(!(l->flags & ND_FLAG_READ_ONLY));
	FUZZ_CHECK((l->flags & needs(q->type)) == needs(q->type));
	if (q->type == ND_CMD_FLUSH || q->type == ND_CMD_DISCONNECT) {
		FUZZ_CHECK(q->offset == 0 && q->length == 0);
		return;
	}
	FUZZ_CHECK(q->length > 0);
	FUZZ_CHECK(q->offset <= l->size && q->length <= l->size - q->offset);
	if (q->type == ND_CMD_READ || q->type == ND_CMD_WRITE)
		FUZZ_CHECK(q->length <= l->max_payload);
	if (b != 0 && (b & (b - 1)) == 0)
		FUZZ_CHECK(q->offset % b == 0 && q->length % b == 0);
}

/* The verdict on w with FUA flipped (w decoded). */
static uint32_t
check_fua_flipped(const struct nbd_request *w, int structured, int meta,
    const struct request_limits *l)
{
	struct nbd_request f = *w;
	struct request q;

	f.flags ^= htobe16(NBD_CMD_FLAG_FUA);
	FUZZ_CHECK(nbd_request_decode(&f, structured, meta, &q) == 0);
	return request_check(&q, l);
}

static void
check_request(const struct nbd_request *w, int structured, int meta,
    const struct request_limits *l)
{
	struct request q, again;
	uint32_t err;
	int r;

	memset(&q, 0, sizeof(q));
	memset(&again, 0, sizeof(again));
	r = nbd_request_decode(w, structured, meta, &q);
	FUZZ_CHECK(nbd_request_decode(w, structured, meta, &again) == r);
	FUZZ_CHECK(r == (be32toh(w->magic) == NBD_REQUEST_MAGIC ? 0 : -1));
	if (r != 0)
		return;
	FUZZ_CHECK(q.type == again.type && q.flags == again.flags &&
	    q.handle == again.handle && q.offset == again.offset &&
	    q.length == again.length);
	FUZZ_CHECK(q.handle == w->cookie);	/* back as it came */
	FUZZ_CHECK(q.offset == be64toh(w->offset));
	FUZZ_CHECK(q.length == be32toh(w->length));
	FUZZ_CHECK(request_cmd_name(q.type) != NULL);
	err = request_check(&q, l);
	FUZZ_CHECK(request_check(&q, l) == err);
	FUZZ_CHECK(err == ND_OK || err == ND_EPERM || err == ND_EINVAL ||
	    err == ND_EOVERFLOW || err == ND_ENOTSUP);
	if (be16toh(w->type) > NBD_CMD_LAST ||
	    (be16toh(w->flags) & ~NBD_CMD_FLAGS_KNOWN))
		FUZZ_CHECK(err != ND_OK);
	if (err == ND_OK)
		check_accepted(w, structured, meta, &q, l);
	if (nbd_reads(be16toh(w->type)))
		FUZZ_CHECK(check_fua_flipped(w, structured, meta, l) == err);
	FUZZ_CHECK(request_has_payload(&q, l) ==
	    (q.type == ND_CMD_WRITE && q.length <= l->max_payload));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	struct request_limits l;
	struct nbd_request w;
	const uint8_t *p;
	uint32_t len;
	uint8_t opts;
	size_t i;

	read_limits(&in, &l, &opts);
	if (size <= HEAD_LEN || size - HEAD_LEN > UINT32_MAX)
		return 0;
	p = data + HEAD_LEN;
	len = (uint32_t)(size - HEAD_LEN);
	check_go(p, len);
	check_meta(p, len, 0);
	check_meta(p, len, 1);
	for (i = 0; i + sizeof(w) <= len && i < MAX_REQUESTS * sizeof(w);
	    i += sizeof(w)) {
		memcpy(&w, p + i, sizeof(w));
		if (opts & OPT_FORCE_MAGIC)
			w.magic = htobe32(NBD_REQUEST_MAGIC);
		check_request(&w, opts & OPT_STRUCTURED, (opts & OPT_META) != 0,
		    &l);
	}
	return 0;
}

/* Seeds. */

#define SEED_SIZE	(1ULL << 30)
#define SEED_FLAGS	(ND_FLAG_FLUSH | ND_FLAG_FUA | ND_FLAG_TRIM | \
	ND_FLAG_WRITE_ZEROES | REQ_CAN_CACHE | REQ_CAN_BLOCK_STATUS | \
	REQ_CAN_WRITE_FLAGS)

/* The head: min_block 1 << shift, the limits netdiskd gives an NBD client. */
static void
put_head(struct fuzz_buf *b, uint8_t opts, uint8_t shift, uint32_t flags)
{
	fuzz_put_u8(b, opts);
	fuzz_put_u8(b, shift);
	fuzz_put_u32(b, 0);
	fuzz_put_u32(b, flags);
	fuzz_put_u64(b, SEED_SIZE);
	fuzz_put_u32(b, 32U * 1024 * 1024);
}

static void
put_string(struct fuzz_buf *b, const char *s)
{
	fuzz_put_u32(b, (uint32_t)strlen(s));
	fuzz_put(b, s, strlen(s));
}

static void
emit_buf(fuzz_emit_fn emit, void *arg, const char *name, struct fuzz_buf *b)
{
	emit(arg, name, b->p, b->len);
	fuzz_buf_free(b);
}

static void
seed_go(fuzz_emit_fn emit, void *arg, const char *name, const char *export,
    uint32_t namelen, uint16_t nreq, const uint16_t *req, uint16_t nput)
{
	struct fuzz_buf b = { NULL, 0, 0 };
	uint16_t i;

	put_head(&b, OPT_STRUCTURED, 9, SEED_FLAGS);
	fuzz_put_u32(&b, namelen);
	fuzz_put(&b, export, strlen(export));
	fuzz_put_u16(&b, nreq);
	for (i = 0; i < nput; i++)
		fuzz_put_u16(&b, req[i]);
	emit_buf(emit, arg, name, &b);
}

static void
seed_meta(fuzz_emit_fn emit, void *arg, const char *name,
    const char *const *queries, uint32_t nq)
{
	struct fuzz_buf b = { NULL, 0, 0 };
	uint32_t i;

	put_head(&b, OPT_STRUCTURED, 9, SEED_FLAGS);
	put_string(&b, "disk");
	fuzz_put_u32(&b, nq);
	for (i = 0; i < nq; i++)
		put_string(&b, queries[i]);
	emit_buf(emit, arg, name, &b);
}

static void
put_request(struct fuzz_buf *b, uint16_t flags, uint16_t type,
    uint64_t offset, uint32_t length)
{
	fuzz_put_u32(b, NBD_REQUEST_MAGIC);
	fuzz_put_u16(b, flags);
	fuzz_put_u16(b, type);
	fuzz_put_u64(b, 0x0123456789abcdefULL);
	fuzz_put_u64(b, offset);
	fuzz_put_u32(b, length);
}

static void
seed_requests(fuzz_emit_fn emit, void *arg, const char *name, uint8_t opts,
    uint8_t shift, uint32_t flags)
{
	struct fuzz_buf b = { NULL, 0, 0 };

	put_head(&b, opts, shift, flags);
	put_request(&b, 0, NBD_CMD_READ, 4096, 65536);
	put_request(&b, NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 0, 512);
	put_request(&b, NBD_CMD_FLAG_FUA, NBD_CMD_FLUSH, 0, 0);
	put_request(&b, NBD_CMD_FLAG_FUA, NBD_CMD_TRIM, 1 << 20, 1 << 20);
	put_request(&b, NBD_CMD_FLAG_NO_HOLE | NBD_CMD_FLAG_FAST_ZERO,
	    NBD_CMD_WRITE_ZEROES, 0, 1 << 16);
	put_request(&b, 0, NBD_CMD_CACHE, 0, 1 << 20);
	put_request(&b, NBD_CMD_FLAG_REQ_ONE, NBD_CMD_BLOCK_STATUS, 0,
	    1 << 30);
	put_request(&b, NBD_CMD_FLAG_DF, NBD_CMD_READ, 0, 512);
	put_request(&b, 0, NBD_CMD_WRITE, 0, 32U * 1024 * 1024 + 512);
	put_request(&b, 0, NBD_CMD_READ, SEED_SIZE - 512, 1024);
	put_request(&b, 0, 9, 0, 512);
	put_request(&b, 1U << 7, NBD_CMD_READ, 0, 512);
	put_request(&b, 0, NBD_CMD_DISC, 0, 0);
	emit_buf(emit, arg, name, &b);
}

void
fuzz_seeds(fuzz_emit_fn emit, void *arg)
{
	static const uint16_t infos[] = {
		NBD_INFO_NAME, NBD_INFO_DESCRIPTION, NBD_INFO_BLOCK_SIZE,
	};
	static const char *const set[] = { NBD_META_BASE_ALLOCATION };
	static const char *const list[] = { "base:", "qemu:dirty-bitmap:a" };

	seed_go(emit, arg, "go", "disk", 4, 3, infos, 3);
	seed_go(emit, arg, "go-no-infos", "a", 1, 0, NULL, 0);
	seed_go(emit, arg, "go-name-too-long", "disk", 400, 1, infos, 1);
	seed_go(emit, arg, "go-nreq-too-many", "disk", 4, 9, infos, 3);
	seed_meta(emit, arg, "meta-set", set, 1);
	seed_meta(emit, arg, "meta-list", list, 2);
	seed_meta(emit, arg, "meta-list-all", NULL, 0);
	seed_requests(emit, arg, "requests", OPT_STRUCTURED | OPT_META, 9,
	    SEED_FLAGS);
	seed_requests(emit, arg, "requests-simple-ro", 0, 9,
	    ND_FLAG_READ_ONLY | ND_FLAG_FLUSH);
	seed_requests(emit, arg, "requests-min-block-1", OPT_STRUCTURED, 0,
	    SEED_FLAGS);
}
