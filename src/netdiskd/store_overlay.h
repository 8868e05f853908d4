/* SPDX-License-Identifier: ISC */
/*
 * The overlay store: a copy-on-write layer over a read-only base store
 * (the inner store), kept in one overlay file (docs/overlay.md; the
 * format is overlay_map.h).  Reads of chunks never written come from
 * the base; the first write to a chunk copies it into the overlay's
 * sparse data area; trim and write zeroes make whole chunks read as
 * zeroes.  The base is never written.
 *
 * Opening: store_params' path is the overlay file, its size 0 or the
 * base's size, readonly opens the overlay without writing it, and kind
 * points at a struct overlay_params.  An overlay made on another base
 * (base identity or size) is refused with errno ESTALE, for the caller
 * to apply its policy (a new overlay, or a refusal); any other failure
 * leaves errno as the cause (EUCLEAN for a corrupt or truncated file).
 *
 * Durability: flush makes every write before it durable, the map never
 * ahead of the data on disk; FUA is a write then a flush (store.c).
 */
#ifndef STORE_OVERLAY_H
#define STORE_OVERLAY_H

#include "overlay_map.h"
#include "store.h"

/* Flags of overlay_params. */
#define OVL_CREATE	0x0001	/* create the file if it is missing */
#define OVL_FRESH	0x0002	/* discard an existing file, start anew */
#define OVL_UNLINK	0x0004	/* remove the file when the store closes */
#define OVL_F_ALL	0x0007
/* An ephemeral overlay: a clean one for each open, gone at close. */
#define OVL_EPHEMERAL	(OVL_CREATE | OVL_FRESH | OVL_UNLINK)

struct overlay_params {
	unsigned flags;			/* OVL_* */
	uint32_t chunk;			/* creation; 0 for OVL_CHUNK_DEFAULT */
	uint64_t quota;			/* bytes of chunks; 0: none */
	struct ovl_base base;		/* the base it must have been made on */
};

/* What overlay_info reports, without opening the overlay for I/O. */
struct overlay_info {
	struct ovl_header hdr;		/* chunk size, base, creation time */
	uint64_t data_chunks, zero_chunks;
	uint64_t allocated;		/* bytes of DATA chunks */
	uint64_t disk_bytes;		/* the file's blocks on disk */
	int64_t mtime_ns;		/* the file's last change */
	uint64_t repaired;		/* map blocks read from the older slot */
};

extern const struct store_ops store_overlay_ops;

/*
 * The identity of the base at path (device, inode, size, modification
 * time; a block device's size from BLKGETSIZE64) with the
 * configuration's generation.  0, or -1 with errno.
 */
int overlay_base_stat(const char *path, uint64_t generation,
    struct ovl_base *);
/* The same of the base open on fd: the file opened, whatever the path
 * names now. */
int overlay_base_fstat(int fd, uint64_t generation, struct ovl_base *);
/* fsync of the folder path is in, so that a new name in it lasts. */
int overlay_sync_dir(const char *path);
/* The overlay at path, checked as open does.  0, or -1 with err. */
int overlay_info(const char *path, struct overlay_info *, char *err,
    size_t errlen);

/*
 * Of an open overlay store: the bytes its chunks take (DATA, and those
 * reserved by writes under way) and its quota (0: none).  Not an
 * overlay store: both 0.
 */
void overlay_store_usage(struct store *, uint64_t *allocated,
    uint64_t *quota);

#endif
