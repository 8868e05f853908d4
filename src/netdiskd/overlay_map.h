/* SPDX-License-Identifier: ISC */
/*
 * The overlay file's format (docs/overlay.md), without I/O: the header,
 * the allocation map in memory, and the map blocks as they are on disk,
 * encoded into and decoded from buffers.  store_overlay.c does the I/O;
 * t/fuzz/fuzz_overlay_map.c and t/unit_overlay.c drive these directly.
 *
 * The file: a header block, the map area (each map block twice, slots A
 * and B), then the sparse data area, chunk i at data_off + i * chunk.
 * Every chunk is in one state: BASE (read from the base), DATA (read
 * from the data area) or ZERO (reads zeroes).  Little-endian throughout;
 * each block ends with a checksum (the first 8 bytes of its SHA-256).
 */
#ifndef OVERLAY_MAP_H
#define OVERLAY_MAP_H

#include <stddef.h>
#include <stdint.h>

#define OVL_MAGIC		"NDISKOVL"	/* 8 bytes, the header's */
#define OVL_MAP_MAGIC		"NDOVLMAP"	/* 8 bytes, a map block's */
#define OVL_VERSION		1
#define OVL_HDR_LEN		4096
#define OVL_BLOCK_LEN		4096		/* a map block */
#define OVL_BLOCK_HDR		24		/* magic, index, sequence */
#define OVL_SUM_LEN		8		/* the checksum, at the end */
/* Chunks per map block: 2 bits each between its header and checksum. */
#define OVL_PER_BLOCK		((OVL_BLOCK_LEN - OVL_BLOCK_HDR - \
				    OVL_SUM_LEN) * 4)
#define OVL_CHUNK_MIN		4096
#define OVL_CHUNK_MAX		(8 * 1024 * 1024)
#define OVL_CHUNK_DEFAULT	(64 * 1024)
#define OVL_SIZE_MAX		(1ULL << 50)	/* 1 PiB of virtual disk */

/* A chunk's state, as stored (2 bits; 3 is invalid). */
enum ovl_state {
	OVL_BASE = 0,
	OVL_DATA = 1,
	OVL_ZERO = 2,
};

/* What the overlay was made on: compared, not interpreted. */
struct ovl_base {
	uint64_t dev, ino, size;
	int64_t mtime_ns;
	uint64_t generation;		/* from the configuration */
};

struct ovl_header {
	uint32_t version;
	uint32_t chunk;			/* bytes, a power of two */
	uint64_t size;			/* the virtual disk, bytes */
	uint64_t nchunks;
	uint64_t map_off;		/* OVL_HDR_LEN */
	uint64_t map_blocks;
	uint64_t data_off;		/* a multiple of chunk */
	struct ovl_base base;
	int64_t created_ns;		/* CLOCK_REALTIME */
};

/*
 * The map in memory: one byte per chunk (an enum ovl_state), and per map
 * block the slot (0 or 1) holding its newest copy on disk; seq is the
 * highest sequence number on disk.
 */
struct ovl_map {
	uint64_t nchunks, nblocks;
	uint8_t *state;
	uint8_t *newer;
	uint64_t seq;
	uint64_t repaired;		/* blocks with one slot invalid */
};

/*
 * A header for a new overlay of size bytes in chunks of chunk bytes;
 * computes the layout.  0, or -1 with why filled in.
 */
int ovl_header_init(struct ovl_header *, uint64_t size, uint32_t chunk,
    const struct ovl_base *, int64_t created_ns, char *why, size_t whylen);
void ovl_header_encode(const struct ovl_header *, uint8_t buf[OVL_HDR_LEN]);
/* 0, or -1 with why saying what is wrong ("header: ..."). */
int ovl_header_decode(struct ovl_header *, const uint8_t *buf, size_t len,
    char *why, size_t whylen);
/* The file's length, and where slot (0 or 1) of map block b is. */
uint64_t ovl_file_size(const struct ovl_header *);
uint64_t ovl_map_end(const struct ovl_header *);
uint64_t ovl_slot_off(const struct ovl_header *, uint64_t b, int slot);
/* 1 if a and b are the same base, else 0 and what differs in why. */
int ovl_base_same(const struct ovl_base *was, const struct ovl_base *now,
    char *why, size_t whylen);

/* A map of h's chunks, all BASE; 0 or -1 (ENOMEM). */
int ovl_map_init(struct ovl_map *, const struct ovl_header *);
void ovl_map_free(struct ovl_map *);
/* Map block b of m's states with sequence seq, into buf. */
void ovl_block_encode(const struct ovl_map *, uint64_t b, uint64_t seq,
    uint8_t buf[OVL_BLOCK_LEN]);
/*
 * Checks buf as a copy of map block b: 0 with its sequence number, or -1
 * with why.  With apply, its states go into m (only if it is valid).
 */
int ovl_block_decode(struct ovl_map *, uint64_t b, const uint8_t *buf,
    int apply, uint64_t *seq, char *why, size_t whylen);
/*
 * The map from the map area (area: ovl_map_end - map_off bytes): each
 * block from its valid slot with the higher sequence number.  m is
 * initialised here; on failure it is freed and why names the block.
 */
int ovl_map_load(struct ovl_map *, const struct ovl_header *,
    const uint8_t *area, size_t len, char *why, size_t whylen);
/*
 * A whole file's beginning (img: its first len bytes, at least up to the
 * map's end) of a file of filelen bytes: header, lengths, map.  0, or -1
 * with why.
 */
int ovl_image_decode(struct ovl_header *, struct ovl_map *,
    const uint8_t *img, size_t len, uint64_t filelen, char *why,
    size_t whylen);
/* Prints a message into why; returns -1, for "return ovl_why(...)". */
int ovl_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* How many chunks are in state st. */
uint64_t ovl_map_count(const struct ovl_map *, enum ovl_state st);

#endif
