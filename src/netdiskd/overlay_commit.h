/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl overlay commit's copy: everything a store reads, written to
 * a new image file.  The file is made under a temporary name in its
 * folder (FILE.tmp-XXXXXX), sparse where the store reads zeroes, synced,
 * then linked to its name, which must not exist (link(2) never replaces
 * a file), and the folder synced: a crash or a failure leaves no half
 * image under the name, at most a temporary file.
 */
#ifndef OVERLAY_COMMIT_H
#define OVERLAY_COMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define COMMIT_BLOCK	(1024 * 1024)	/* bytes read at once */
#define COMMIT_HOLE	4096		/* zeroes left as holes, aligned */

/*
 * Called between blocks with what is copied so far: 0 to go on, -1 to
 * give up (the copy fails with ECANCELED).
 */
typedef int commit_progress_fn(void *arg, uint64_t done, uint64_t total);

/*
 * Copy all of s to a new file at path (mode 0600).  0, or -1 with errno
 * (EEXIST: path exists, nothing written) and err naming the file or the
 * store's failure.
 */
int commit_image(struct store *s, const char *path,
    commit_progress_fn *progress, void *arg, char *err, size_t errlen);

#endif
