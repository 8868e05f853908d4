/* SPDX-License-Identifier: ISC */
/*
 * The overlay file's loader (overlay_map.c, ovl_image_decode): the input
 * is an option byte, then the beginning of an overlay file (header and
 * map area).  Option bit 0 re-seals the header's checksum and bit 1
 * every map slot's (with SHA-256 from crypto.h, as docs/overlay.md says),
 * so that mutated fields get past the checksums to the checks behind
 * them; bit 2 gives the file the input's length instead of one long
 * enough for its data area.  What loads must be a map docs/overlay.md
 * allows, and its blocks must encode and decode back to the same states.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "overlay_map.h"
#include "fuzz.h"

#define OPT_SEAL_HDR	0x01
#define OPT_SEAL_MAP	0x02
#define OPT_SHORT_FILE	0x04
#define INPUT_MAX	(256 * 1024)

static void
seal(uint8_t *blk, size_t len)
{
	struct crypto_vec v = { blk, len - OVL_SUM_LEN };
	uint8_t h[32];

	crypto_sha256v(h, &v, 1);
	memcpy(blk + len - OVL_SUM_LEN, h, OVL_SUM_LEN);
}

static void
seal_input(uint8_t *img, size_t len, unsigned opts)
{
	size_t off;

	if ((opts & OPT_SEAL_HDR) && len >= OVL_HDR_LEN)
		seal(img, OVL_HDR_LEN);
	for (off = OVL_HDR_LEN; (opts & OPT_SEAL_MAP) &&
	    off + OVL_BLOCK_LEN <= len; off += OVL_BLOCK_LEN)
		seal(img + off, OVL_BLOCK_LEN);
}

/* A loaded map: its states valid, its blocks round trip. */
static void
check_map(const struct ovl_header *h, struct ovl_map *m)
{
	uint8_t blk[OVL_BLOCK_LEN];
	uint8_t *saved;
	uint64_t b, i, seq;
	char why[256];

	FUZZ_CHECK(h->chunk >= OVL_CHUNK_MIN && h->chunk <= OVL_CHUNK_MAX &&
	    (h->chunk & (h->chunk - 1)) == 0);
	FUZZ_CHECK(h->size > 0 && h->nchunks == (h->size + h->chunk - 1) /
	    h->chunk);
	FUZZ_CHECK(h->data_off % h->chunk == 0 && h->data_off >=
	    ovl_map_end(h));
	FUZZ_CHECK(m->nchunks == h->nchunks && m->nblocks == h->map_blocks);
	FUZZ_CHECK(m->nblocks * OVL_PER_BLOCK >= m->nchunks);
	for (i = 0; i < m->nchunks; i++)
		FUZZ_CHECK(m->state[i] <= OVL_ZERO);
	if ((saved = malloc(m->nchunks)) == NULL)
		abort();
	memcpy(saved, m->state, m->nchunks);
	for (b = 0; b < m->nblocks; b++) {
		FUZZ_CHECK(m->newer[b] <= 1);
		ovl_block_encode(m, b, m->seq + 1, blk);
		FUZZ_CHECK(ovl_block_decode(m, b, blk, 1, &seq, why,
		    sizeof(why)) == 0 && seq == m->seq + 1);
	}
	FUZZ_CHECK(memcmp(saved, m->state, m->nchunks) == 0);
	free(saved);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ovl_header h;
	struct ovl_map m;
	uint8_t *img;
	char why[512];
	unsigned opts;
	size_t len;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	opts = data[0];
	len = size - 1;
	if ((img = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(img, data + 1, len);
	seal_input(img, len, opts);
	why[0] = '\0';
	if (ovl_image_decode(&h, &m, img, len, opts & OPT_SHORT_FILE ?
	    len : UINT64_MAX, why, sizeof(why)) == 0) {
		check_map(&h, &m);
		ovl_map_free(&m);
	} else
		FUZZ_CHECK(why[0] != '\0' && m.state == NULL);
	free(img);
	return 0;
}

/* Seeds: sealed images of small overlays, one and two map blocks. */
static void
seed(fuzz_emit_fn emit, void *arg, const char *name, uint64_t size,
    uint32_t chunk, int damage)
{
	struct ovl_base base = { 2049, 131, 1 << 20, 1700000000000000000LL,
	    3 };
	struct ovl_header h;
	struct ovl_map m;
	struct fuzz_buf out = { 0 };
	uint8_t blk[OVL_HDR_LEN];
	uint64_t b, i;
	char why[256];

	if (ovl_header_init(&h, size, chunk, &base, 1, why, sizeof(why)) == -1 ||
	    ovl_map_init(&m, &h) == -1)
		abort();
	for (i = 0; i < m.nchunks; i++)
		m.state[i] = (uint8_t)(i % 7 == 0 ? OVL_DATA : i % 5 == 0 ?
		    OVL_ZERO : OVL_BASE);
	fuzz_put_u8(&out, damage ? OPT_SHORT_FILE : 0);
	ovl_header_encode(&h, blk);
	fuzz_put(&out, blk, OVL_HDR_LEN);
	for (b = 0; b < m.nblocks; b++) {
		ovl_block_encode(&m, b, 4 + b, blk);
		fuzz_put(&out, blk, OVL_BLOCK_LEN);
		ovl_block_encode(&m, b, 5 + b, blk);
		if (damage)
			blk[100] ^= 1;
		fuzz_put(&out, blk, OVL_BLOCK_LEN);
	}
	emit(arg, name, out.p, out.len);
	fuzz_buf_free(&out);
	ovl_map_free(&m);
}

void
fuzz_seeds(fuzz_emit_fn emit, void *arg)
{
	seed(emit, arg, "small", 64 * 4096, 4096, 0);
	seed(emit, arg, "two-blocks", (OVL_PER_BLOCK + 100) * 4096ULL, 4096,
	    0);
	seed(emit, arg, "torn-short", 300 * 65536ULL, 65536, 1);
}
