/* SPDX-License-Identifier: ISC */
/*
 * The file store: an export's blocks in a regular file or on a block
 * device, one implementation for both.  What differs (how to discard and
 * zero a range, whether it has holes, whether it can grow) is decided
 * when it is opened; nothing outside store_file.c knows which it is.
 *
 * A file is created (mode 0600) if missing and a size is set, grown to
 * the size set if smaller (unless read-only); a block device must be as
 * large as the size set.  FUA writes use RWF_DSYNC where the kernel has
 * it, else a write and fdatasync.  Trim punches a hole or discards, and
 * does nothing where that is not supported (it is advisory); zero tries
 * FALLOC_FL_ZERO_RANGE or BLKZEROOUT, then (files) a punched hole, then
 * writes zeroes.  STORE_NOWAIT reads use RWF_NOWAIT.
 */
#ifndef STORE_FILE_H
#define STORE_FILE_H

#include "store.h"

extern const struct store_ops store_file_ops;

/*
 * The descriptor of an open file store, for fstat(2) of the very file
 * it serves (the overlay's base identity); -1 with EINVAL for a store
 * of another kind.  It stays the store's: not to be closed.
 */
int store_file_fd(struct store *);

#endif
