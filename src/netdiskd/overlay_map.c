/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "overlay_map.h"

/* Header fields: offsets in the header block. */
#define H_MAGIC		0
#define H_VERSION	8
#define H_CHUNK		12
#define H_SIZE		16
#define H_NCHUNKS	24
#define H_MAP_OFF	32
#define H_MAP_BLOCKS	40
#define H_DATA_OFF	48
#define H_BASE_DEV	56
#define H_BASE_INO	64
#define H_BASE_SIZE	72
#define H_BASE_MTIME	80
#define H_BASE_GEN	88
#define H_CREATED	96
#define H_END		104	/* zeroes from here to the checksum */

/* Map block fields. */
#define B_MAGIC		0
#define B_INDEX		8
#define B_SEQ		16

static void
put64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return le64toh(v);
}

static uint32_t
get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return le32toh(v);
}

/* The checksum of a block of len bytes: its last OVL_SUM_LEN bytes. */
static void
ovl_sum(uint8_t *blk, size_t len, uint8_t out[OVL_SUM_LEN])
{
	struct crypto_vec v = { blk, len - OVL_SUM_LEN };
	uint8_t h[32];

	crypto_sha256v(h, &v, 1);
	memcpy(out, h, OVL_SUM_LEN);
}

static void
ovl_seal(uint8_t *blk, size_t len)
{
	ovl_sum(blk, len, blk + len - OVL_SUM_LEN);
}

static int
ovl_sealed(const uint8_t *blk, size_t len)
{
	uint8_t sum[OVL_SUM_LEN];

	ovl_sum((uint8_t *)(uintptr_t)blk, len, sum);
	return memcmp(sum, blk + len - OVL_SUM_LEN, OVL_SUM_LEN) == 0;
}

static int
zeroes(const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

int
ovl_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The header. */

static int
chunk_valid(uint32_t chunk)
{
	return chunk >= OVL_CHUNK_MIN && chunk <= OVL_CHUNK_MAX &&
	    (chunk & (chunk - 1)) == 0;
}

/* Fills in the layout of h from its size and chunk. */
static void
ovl_layout(struct ovl_header *h)
{
	uint64_t end;

	h->nchunks = (h->size + h->chunk - 1) / h->chunk;
	h->map_off = OVL_HDR_LEN;
	h->map_blocks = (h->nchunks + OVL_PER_BLOCK - 1) / OVL_PER_BLOCK;
	end = h->map_off + 2 * h->map_blocks * OVL_BLOCK_LEN;
	h->data_off = (end + h->chunk - 1) / h->chunk * h->chunk;
}

int
ovl_header_init(struct ovl_header *h, uint64_t size, uint32_t chunk,
    const struct ovl_base *base, int64_t created_ns, char *why,
    size_t whylen)
{
	memset(h, 0, sizeof(*h));
	if (!chunk_valid(chunk))
		return ovl_why(why, whylen, "chunk size %" PRIu32 " is not a "
		    "power of two from %d to %d", chunk, OVL_CHUNK_MIN,
		    OVL_CHUNK_MAX);
	if (size == 0 || size > OVL_SIZE_MAX)
		return ovl_why(why, whylen, "size %" PRIu64 " is not from 1 "
		    "to %llu", size, OVL_SIZE_MAX);
	h->version = OVL_VERSION;
	h->chunk = chunk;
	h->size = size;
	h->base = *base;
	h->created_ns = created_ns;
	ovl_layout(h);
	return 0;
}

void
ovl_header_encode(const struct ovl_header *h, uint8_t buf[OVL_HDR_LEN])
{
	memset(buf, 0, OVL_HDR_LEN);
	memcpy(buf + H_MAGIC, OVL_MAGIC, 8);
	put32(buf + H_VERSION, h->version);
	put32(buf + H_CHUNK, h->chunk);
	put64(buf + H_SIZE, h->size);
	put64(buf + H_NCHUNKS, h->nchunks);
	put64(buf + H_MAP_OFF, h->map_off);
	put64(buf + H_MAP_BLOCKS, h->map_blocks);
	put64(buf + H_DATA_OFF, h->data_off);
	put64(buf + H_BASE_DEV, h->base.dev);
	put64(buf + H_BASE_INO, h->base.ino);
	put64(buf + H_BASE_SIZE, h->base.size);
	put64(buf + H_BASE_MTIME, (uint64_t)h->base.mtime_ns);
	put64(buf + H_BASE_GEN, h->base.generation);
	put64(buf + H_CREATED, (uint64_t)h->created_ns);
	ovl_seal(buf, OVL_HDR_LEN);
}

static void
header_fields(struct ovl_header *h, const uint8_t *buf)
{
	h->version = get32(buf + H_VERSION);
	h->chunk = get32(buf + H_CHUNK);
	h->size = get64(buf + H_SIZE);
	h->nchunks = get64(buf + H_NCHUNKS);
	h->map_off = get64(buf + H_MAP_OFF);
	h->map_blocks = get64(buf + H_MAP_BLOCKS);
	h->data_off = get64(buf + H_DATA_OFF);
	h->base.dev = get64(buf + H_BASE_DEV);
	h->base.ino = get64(buf + H_BASE_INO);
	h->base.size = get64(buf + H_BASE_SIZE);
	h->base.mtime_ns = (int64_t)get64(buf + H_BASE_MTIME);
	h->base.generation = get64(buf + H_BASE_GEN);
	h->created_ns = (int64_t)get64(buf + H_CREATED);
}

/* The layout fields of h are those its size and chunk give. */
static int
header_layout_valid(const struct ovl_header *h, char *why, size_t whylen)
{
	struct ovl_header want = *h;

	ovl_layout(&want);
	if (h->nchunks != want.nchunks || h->map_off != want.map_off ||
	    h->map_blocks != want.map_blocks || h->data_off != want.data_off)
		return ovl_why(why, whylen, "header: layout (chunks %" PRIu64
		    ", map at %" PRIu64 ", %" PRIu64 " map blocks, data at %"
		    PRIu64 ") does not match size %" PRIu64 " and chunk size %"
		    PRIu32, h->nchunks, h->map_off, h->map_blocks, h->data_off,
		    h->size, h->chunk);
	return 0;
}

int
ovl_header_decode(struct ovl_header *h, const uint8_t *buf, size_t len,
    char *why, size_t whylen)
{
	memset(h, 0, sizeof(*h));
	if (len < OVL_HDR_LEN)
		return ovl_why(why, whylen, "truncated: %zu bytes, less than "
		    "a header (%d)", len, OVL_HDR_LEN);
	if (memcmp(buf + H_MAGIC, OVL_MAGIC, 8) != 0)
		return ovl_why(why, whylen, "not an overlay file (bad magic)");
	if (!ovl_sealed(buf, OVL_HDR_LEN))
		return ovl_why(why, whylen, "header: checksum mismatch");
	header_fields(h, buf);
	if (h->version != OVL_VERSION)
		return ovl_why(why, whylen, "header: format version %" PRIu32
		    " (this netdiskd reads %d)", h->version, OVL_VERSION);
	if (!zeroes(buf + H_END, OVL_HDR_LEN - H_END - OVL_SUM_LEN))
		return ovl_why(why, whylen, "header: reserved bytes not zero");
	if (!chunk_valid(h->chunk))
		return ovl_why(why, whylen, "header: chunk size %" PRIu32
		    " is not a power of two from %d to %d", h->chunk,
		    OVL_CHUNK_MIN, OVL_CHUNK_MAX);
	if (h->size == 0 || h->size > OVL_SIZE_MAX)
		return ovl_why(why, whylen, "header: size %" PRIu64 " is not "
		    "from 1 to %llu", h->size, OVL_SIZE_MAX);
	return header_layout_valid(h, why, whylen);
}

uint64_t
ovl_map_end(const struct ovl_header *h)
{
	return h->map_off + 2 * h->map_blocks * OVL_BLOCK_LEN;
}

uint64_t
ovl_file_size(const struct ovl_header *h)
{
	return h->data_off + h->nchunks * h->chunk;
}

uint64_t
ovl_slot_off(const struct ovl_header *h, uint64_t b, int slot)
{
	return h->map_off + (2 * b + (uint64_t)slot) * OVL_BLOCK_LEN;
}

int
ovl_base_same(const struct ovl_base *was, const struct ovl_base *now,
    char *why, size_t whylen)
{
	if (was->generation != now->generation)
		ovl_why(why, whylen, "generation %" PRIu64 ", the base's is %"
		    PRIu64, was->generation, now->generation);
	else if (was->dev != now->dev || was->ino != now->ino)
		ovl_why(why, whylen, "device %" PRIu64 " inode %" PRIu64
		    ", the base is device %" PRIu64 " inode %" PRIu64,
		    was->dev, was->ino, now->dev, now->ino);
	else if (was->size != now->size)
		ovl_why(why, whylen, "size %" PRIu64 ", the base has %" PRIu64,
		    was->size, now->size);
	else if (was->mtime_ns != now->mtime_ns)
		ovl_why(why, whylen, "modification time %" PRId64 " ns, the "
		    "base's is %" PRId64, was->mtime_ns, now->mtime_ns);
	else
		return 1;
	return 0;
}

/* The map. */

int
ovl_map_init(struct ovl_map *m, const struct ovl_header *h)
{
	memset(m, 0, sizeof(*m));
	m->nchunks = h->nchunks;
	m->nblocks = h->map_blocks;
	m->state = calloc(m->nchunks, 1);
	m->newer = calloc(m->nblocks, 1);
	if (m->state == NULL || m->newer == NULL) {
		ovl_map_free(m);
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

void
ovl_map_free(struct ovl_map *m)
{
	free(m->state);
	free(m->newer);
	m->state = m->newer = NULL;
}

/* The chunks of block b: [*first, *first + *n). */
static void
block_chunks(const struct ovl_map *m, uint64_t b, uint64_t *first,
    uint64_t *n)
{
	*first = b * OVL_PER_BLOCK;
	*n = m->nchunks - *first < OVL_PER_BLOCK ? m->nchunks - *first :
	    OVL_PER_BLOCK;
}

void
ovl_block_encode(const struct ovl_map *m, uint64_t b, uint64_t seq,
    uint8_t buf[OVL_BLOCK_LEN])
{
	uint8_t *bits = buf + OVL_BLOCK_HDR;
	uint64_t first, n, i;

	memset(buf, 0, OVL_BLOCK_LEN);
	memcpy(buf + B_MAGIC, OVL_MAP_MAGIC, 8);
	put64(buf + B_INDEX, b);
	put64(buf + B_SEQ, seq);
	block_chunks(m, b, &first, &n);
	for (i = 0; i < n; i++)
		bits[i / 4] |= (uint8_t)((__atomic_load_n(&m->state[first + i],
		    __ATOMIC_RELAXED) & 3) << (2 * (i % 4)));
	ovl_seal(buf, OVL_BLOCK_LEN);
}

/* The states in a block's bits: all valid, none past the map's end. */
static int
block_bits_valid(const uint8_t *bits, uint64_t n, char *why, size_t whylen)
{
	uint64_t i;
	unsigned v;

	for (i = 0; i < (uint64_t)(OVL_BLOCK_LEN - OVL_BLOCK_HDR -
	    OVL_SUM_LEN) * 4; i++) {
		v = (bits[i / 4] >> (2 * (i % 4))) & 3;
		if (i < n && v == 3)
			return ovl_why(why, whylen, "chunk %" PRIu64 " has an "
			    "invalid state", i);
		if (i >= n && v != 0)
			return ovl_why(why, whylen, "state past the last "
			    "chunk");
	}
	return 0;
}

int
ovl_block_decode(struct ovl_map *m, uint64_t b, const uint8_t *buf,
    int apply, uint64_t *seq, char *why, size_t whylen)
{
	const uint8_t *bits = buf + OVL_BLOCK_HDR;
	uint64_t first, n, i;

	if (memcmp(buf + B_MAGIC, OVL_MAP_MAGIC, 8) != 0)
		return ovl_why(why, whylen, "bad magic");
	if (!ovl_sealed(buf, OVL_BLOCK_LEN))
		return ovl_why(why, whylen, "checksum mismatch");
	if (get64(buf + B_INDEX) != b)
		return ovl_why(why, whylen, "holds block %" PRIu64,
		    get64(buf + B_INDEX));
	block_chunks(m, b, &first, &n);
	if (block_bits_valid(bits, n, why, whylen) == -1)
		return -1;
	*seq = get64(buf + B_SEQ);
	for (i = 0; apply && i < n; i++)
		m->state[first + i] = (bits[i / 4] >> (2 * (i % 4))) & 3;
	return 0;
}

/* Block b from its two slots a and b. */
static int
map_load_block(struct ovl_map *m, uint64_t b, const uint8_t *slot0,
    const uint8_t *slot1, char *why, size_t whylen)
{
	char why0[96], why1[96];
	uint64_t seq0 = 0, seq1 = 0;
	int ok0, ok1, pick;

	ok0 = ovl_block_decode(m, b, slot0, 0, &seq0, why0, sizeof(why0)) == 0;
	ok1 = ovl_block_decode(m, b, slot1, 0, &seq1, why1, sizeof(why1)) == 0;
	if (!ok0 && !ok1)
		return ovl_why(why, whylen, "map block %" PRIu64 ": no valid "
		    "copy (slot A: %s; slot B: %s)", b, why0, why1);
	if (ok0 && ok1 && seq0 == seq1)
		return ovl_why(why, whylen, "map block %" PRIu64 ": both "
		    "slots have sequence number %" PRIu64, b, seq0);
	pick = ok0 && (!ok1 || seq0 > seq1) ? 0 : 1;
	if (!ok0 || !ok1)
		m->repaired++;
	m->newer[b] = (uint8_t)pick;
	if (m->seq < (pick ? seq1 : seq0))
		m->seq = pick ? seq1 : seq0;
	return ovl_block_decode(m, b, pick ? slot1 : slot0, 1, &seq0, why,
	    whylen);
}

int
ovl_map_load(struct ovl_map *m, const struct ovl_header *h,
    const uint8_t *area, size_t len, char *why, size_t whylen)
{
	const uint8_t *p;
	uint64_t b;

	if (len / (2 * OVL_BLOCK_LEN) < h->map_blocks)
		return ovl_why(why, whylen, "truncated: the map needs %" PRIu64
		    " bytes, %zu there", 2 * h->map_blocks * OVL_BLOCK_LEN,
		    len);
	if (ovl_map_init(m, h) == -1)
		return ovl_why(why, whylen, "out of memory for %" PRIu64
		    " chunks", h->nchunks);
	for (b = 0; b < m->nblocks; b++) {
		p = area + 2 * b * OVL_BLOCK_LEN;
		if (map_load_block(m, b, p, p + OVL_BLOCK_LEN, why,
		    whylen) == -1) {
			ovl_map_free(m);
			return -1;
		}
	}
	return 0;
}

int
ovl_image_decode(struct ovl_header *h, struct ovl_map *m,
    const uint8_t *img, size_t len, uint64_t filelen, char *why,
    size_t whylen)
{
	memset(m, 0, sizeof(*m));
	if (ovl_header_decode(h, img, len, why, whylen) == -1)
		return -1;
	if (filelen < ovl_file_size(h))
		return ovl_why(why, whylen, "truncated: %" PRIu64 " bytes, "
		    "the format needs %" PRIu64 " (%" PRIu64 " chunks of %"
		    PRIu32 " from %" PRIu64 ")", filelen, ovl_file_size(h),
		    h->nchunks, h->chunk, h->data_off);
	if (len < ovl_map_end(h))
		return ovl_why(why, whylen, "truncated: %zu bytes, the map "
		    "ends at %" PRIu64, len, ovl_map_end(h));
	return ovl_map_load(m, h, img + h->map_off, len - h->map_off, why,
	    whylen);
}

uint64_t
ovl_map_count(const struct ovl_map *m, enum ovl_state st)
{
	uint64_t i, n = 0;

	for (i = 0; i < m->nchunks; i++)
		n += __atomic_load_n(&m->state[i], __ATOMIC_RELAXED) == st;
	return n;
}
