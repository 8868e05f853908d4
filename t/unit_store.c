/* SPDX-License-Identifier: ISC */
/*
 * The file store (src/netdiskd/store_file.c) on real files in a temporary
 * directory, through the store interface (store.h): opening, creating
 * and growing, the size, reads and writes with and without FUA, flush,
 * trim and zero reading back zeroes, the allocation query over a sparse
 * file, read-only refusals, unknown flags, the default asynchronous path,
 * and a wrapper store layered over a file store (with FUA emulated and
 * trim a no-op for a store without those capabilities).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extent_list.h"
#include "store_file.h"
#include "tap.h"

#define MIB		(1024 * 1024)
#define BLK		4096

static char dir[256];
static char path[300];

static struct store *
open_file(const char *p, uint64_t size, int readonly, char *err,
    size_t errlen)
{
	struct store_params sp = { p, size, 512, readonly, NULL };

	return store_open(&store_file_ops, &sp, NULL, err, errlen);
}

static int
all_bytes(const uint8_t *buf, size_t len, uint8_t c)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (buf[i] != c)
			return 0;
	return 1;
}

/* Creating, growing, sizes and the errors that name the path. */
static void
test_open(void)
{
	char err[512], small[300];
	struct store *s;
	struct stat st;
	int fd;

	s = open_file(path, MIB, 0, err, sizeof(err));
	ok(s != NULL && s->size == MIB && stat(path, &st) == 0 &&
	    st.st_size == MIB && (st.st_mode & 0777) == 0600,
	    "a missing file with a size is created, 0600, of that size");
	ok(s != NULL && s->caps == STORE_CAN_ALL,
	    "read-write file: every capability");
	store_close(s);
	s = open_file(path, 2 * MIB, 0, err, sizeof(err));
	ok(s != NULL && stat(path, &st) == 0 && st.st_size == 2 * MIB,
	    "a smaller file is grown to the size");
	store_close(s);
	s = open_file(path, 0, 0, err, sizeof(err));
	ok(s != NULL && s->size == 2 * MIB, "size 0: the file's size");
	store_close(s);
	snprintf(small, sizeof(small), "%s/small", dir);
	fd = open(small, O_CREAT | O_WRONLY, 0600);
	ok(fd != -1 && ftruncate(fd, 1000) == 0, "a file of 1000 bytes");
	close(fd);
	s = open_file(small, 0, 0, err, sizeof(err));
	ok(s != NULL && s->size == 512, "size 0: rounded down to 512");
	store_close(s);
	s = open_file(small, 4 * MIB, 1, err, sizeof(err));
	ok(s == NULL && strstr(err, small) != NULL &&
	    strstr(err, "a read-only export is not grown") != NULL,
	    "read-only and too small: \"%s\"", err);
	s = open_file(small, 1000, 0, err, sizeof(err));
	ok(s == NULL && strstr(err, "size 1000 is not a multiple of 512"),
	    "size not a multiple: \"%s\"", err);
	snprintf(small, sizeof(small), "%s/missing", dir);
	s = open_file(small, 0, 0, err, sizeof(err));
	ok(s == NULL && strstr(err, "(set size to create it)") != NULL,
	    "missing and no size: \"%s\"", err);
	s = open_file("/dev/null", 0, 0, err, sizeof(err));
	ok(s == NULL && strstr(err, "not a regular file or block device"),
	    "a character device: \"%s\"", err);
}

static void
test_rw(struct store *s)
{
	static uint8_t buf[2 * BLK], back[2 * BLK];
	struct store_fault f;
	int r;

	memset(buf, 0x5a, sizeof(buf));
	ok(store_pwrite(s, buf, sizeof(buf), 3 * BLK, 0, &f) == 0 &&
	    store_pread(s, back, sizeof(back), 3 * BLK, 0, &f) == 0 &&
	    memcmp(buf, back, sizeof(buf)) == 0, "write, read back");
	memset(buf, 0xa5, sizeof(buf));
	ok(store_pwrite(s, buf, sizeof(buf), 3 * BLK, STORE_FUA, &f) == 0 &&
	    store_pread(s, back, sizeof(back), 3 * BLK, 0, &f) == 0 &&
	    memcmp(buf, back, sizeof(buf)) == 0, "FUA write, read back");
	ok(store_flush(s, &f) == 0, "flush");
	r = store_pread(s, back, BLK, 3 * BLK, STORE_NOWAIT, &f);
	ok((r == 0 && all_bytes(back, BLK, 0xa5)) ||
	    (r == -1 && f.error == EAGAIN),
	    "a NOWAIT read: the data, or EAGAIN (%d)", r);
	ok(store_pwrite(s, buf, BLK, 0, 0x80, &f) == -1 &&
	    f.error == EINVAL, "an unknown flag: EINVAL");
	ok(store_pwrite(s, buf, BLK, 0, STORE_NOWAIT, &f) == -1 &&
	    f.error == EINVAL && store_pread(s, back, BLK, 0, STORE_FUA,
	    &f) == -1 && f.error == EINVAL,
	    "a flag the operation does not take: EINVAL");
}

static void
test_zeroes(struct store *s)
{
	static uint8_t buf[4 * BLK];
	struct store_fault f;

	memset(buf, 0xff, sizeof(buf));
	store_pwrite(s, buf, sizeof(buf), 16 * BLK, 0, &f);
	ok(store_trim(s, 16 * BLK, 2 * BLK, 0, &f) == 0 &&
	    store_pread(s, buf, sizeof(buf), 16 * BLK, 0, &f) == 0 &&
	    all_bytes(buf, 2 * BLK, 0) && all_bytes(buf + 2 * BLK, 2 * BLK,
	    0xff), "trim: the range reads back zeroes, the rest is kept");
	memset(buf, 0xff, sizeof(buf));
	store_pwrite(s, buf, sizeof(buf), 16 * BLK, 0, &f);
	ok(store_zero(s, 17 * BLK, 1000, 0, &f) == 0 &&
	    store_pread(s, buf, sizeof(buf), 16 * BLK, 0, &f) == 0 &&
	    all_bytes(buf, BLK, 0xff) && all_bytes(buf + BLK, 1000, 0) &&
	    all_bytes(buf + BLK + 1000, 3 * BLK - 1000, 0xff),
	    "zero of 1000 bytes: those read back zeroes, the rest is kept");
	ok(store_zero(s, 16 * BLK, 4 * BLK, STORE_FUA, &f) == 0 &&
	    store_pread(s, buf, sizeof(buf), 16 * BLK, 0, &f) == 0 &&
	    all_bytes(buf, sizeof(buf), 0), "FUA zero");
}

/* Data at [0, 64K) and [512K, 576K) of a fresh sparse 1 MiB file. */
static void
test_extents(void)
{
	static uint8_t buf[64 * 1024];
	struct extent_list l = { .n = 0 };
	char err[512], sparse[300];
	struct store_fault f;
	struct store *s;
	uint64_t end = 0;
	int i, contiguous = 1;

	snprintf(sparse, sizeof(sparse), "%s/sparse", dir);
	s = open_file(sparse, MIB, 0, err, sizeof(err));
	memset(buf, 1, sizeof(buf));
	store_pwrite(s, buf, sizeof(buf), 0, 0, &f);
	store_pwrite(s, buf, sizeof(buf), MIB / 2, 0, &f);
	ok(store_extents(s, 0, MIB, extent_add, &l, &f) == 0,
	    "extents of a sparse file");
	for (i = 0; i < l.n; i++) {
		contiguous &= l.off[i] == end;
		end = l.off[i] + l.len[i];
	}
	ok(contiguous && end == MIB, "they cover the range, in order");
	if (l.n == 1 && l.data[0]) {	/* generic lseek: no holes known */
		printf("ok %d # SKIP the filesystem reports no holes\n",
		    ++tap_n);
		store_close(s);
		return;
	}
	ok(l.n == 4 && l.data[0] && l.len[0] == sizeof(buf) &&
	    !l.data[1] && l.data[2] && l.off[2] == MIB / 2 &&
	    l.len[2] == sizeof(buf) && !l.data[3],
	    "data, hole, data, hole (%d extents)", l.n);
	l.n = 0;
	ok(store_extents(s, 4096, 8192, extent_add, &l, &f) == 0 &&
	    l.n == 1 && l.data[0] && l.off[0] == 4096 && l.len[0] == 8192,
	    "a range inside the data: one data extent");
	store_trim(s, 0, sizeof(buf), 0, &f);
	l.n = 0;
	ok(store_extents(s, 0, MIB / 2, extent_add, &l, &f) == 0 &&
	    l.n == 1 && !l.data[0] && l.len[0] == MIB / 2,
	    "after a trim: a hole");
	store_close(s);
}

static void
test_readonly(void)
{
	static uint8_t buf[BLK];
	struct store_fault f;
	char err[512];
	struct store *s;

	s = open_file(path, 0, 1, err, sizeof(err));
	ok(s != NULL && !(s->caps & STORE_CAN_WRITE),
	    "read-only: no STORE_CAN_WRITE");
	if (s == NULL)
		return;
	ok(store_pread(s, buf, BLK, 3 * BLK, 0, &f) == 0 &&
	    all_bytes(buf, BLK, 0xa5), "read-only: reads");
	ok(store_pwrite(s, buf, BLK, 0, 0, &f) == -1 && f.error == EROFS &&
	    strcmp(f.op, "write") == 0, "write refused: EROFS");
	ok(store_trim(s, 0, BLK, 0, &f) == -1 && f.error == EROFS,
	    "trim refused: EROFS");
	ok(store_zero(s, 0, BLK, 0, &f) == -1 && f.error == EROFS,
	    "zero refused: EROFS");
	store_close(s);
}

static void
req_done(struct store_req *r)
{
	(*(int *)r->arg)++;
}

/* No submit of its own: the synchronous operation, completed at once. */
static void
test_submit(struct store *s)
{
	static uint8_t buf[BLK], back[BLK];
	struct store_req w = { 0 }, rd = { 0 }, bad = { 0 };
	int done = 0;

	memset(buf, 0x33, sizeof(buf));
	w = (struct store_req){ .cmd = STORE_WRITE, .flags = STORE_FUA,
	    .off = 5 * BLK, .len = BLK, .buf = buf, .done = req_done,
	    .arg = &done, .result = 1 };
	rd = (struct store_req){ .cmd = STORE_READ, .off = 5 * BLK,
	    .len = BLK, .buf = back, .done = req_done, .arg = &done,
	    .result = 1 };
	ok(store_submit(s, &w) == 0 && done == 1 && w.result == 0,
	    "submit a FUA write: completed");
	ok(store_submit(s, &rd) == 0 && done == 2 && rd.result == 0 &&
	    memcmp(buf, back, BLK) == 0, "submit a read: the data");
	bad = (struct store_req){ .cmd = STORE_TRIM, .flags = 0x80,
	    .len = BLK, .done = req_done, .arg = &done };
	ok(store_submit(s, &bad) == 0 && done == 3 && bad.result == -1 &&
	    bad.fault.error == EINVAL, "submit with an unknown flag: EINVAL");
}

/* A wrapper that counts reads and forwards everything to its inner store. */
struct counting {
	struct store base;		/* first */
	int reads, fua_writes, flushes;
};

static const struct store_ops counting_ops;

static struct store *
counting_open(const struct store_params *p, struct store *inner,
    char *err, size_t errlen)
{
	struct counting *c = calloc(1, sizeof(*c));

	(void)p;
	if (c == NULL) {
		store_close(inner);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->base = (struct store){ &counting_ops, inner, inner->size,
	    inner->caps & ~(unsigned)(STORE_CAN_EXTENTS | STORE_CAN_FUA |
	    STORE_CAN_TRIM) };
	return &c->base;
}

static void
counting_close(struct store *s)
{
	store_close(s->inner);
	free(s);
}

static int
counting_pread(struct store *s, void *buf, uint32_t len, uint64_t off,
    unsigned flags, struct store_fault *f)
{
	((struct counting *)s)->reads++;
	return store_pread(s->inner, buf, len, off, flags, f);
}

static int
counting_pwrite(struct store *s, const void *buf, uint32_t len,
    uint64_t off, unsigned flags, struct store_fault *f)
{
	if (flags & STORE_FUA)
		((struct counting *)s)->fua_writes++;
	return store_pwrite(s->inner, buf, len, off, flags, f);
}

static int
counting_flush(struct store *s, struct store_fault *f)
{
	((struct counting *)s)->flushes++;
	return store_flush(s->inner, f);
}

static const struct store_ops counting_ops = {
	.name = "counting",
	.open = counting_open,
	.close = counting_close,
	.pread = counting_pread,
	.pwrite = counting_pwrite,
	.flush = counting_flush,
};

static void
test_wrapper(void)
{
	struct store_params sp = { 0 };
	static uint8_t buf[BLK];
	struct store *inner, *s;
	struct store_fault f;
	char err[512];

	inner = open_file(path, 0, 0, err, sizeof(err));
	s = store_open(&counting_ops, &sp, inner, err, sizeof(err));
	ok(s != NULL && s->inner == inner && s->size == inner->size,
	    "a wrapper over a file store");
	ok(store_pread(s, buf, BLK, 5 * BLK, 0, &f) == 0 &&
	    all_bytes(buf, BLK, 0x33) && ((struct counting *)s)->reads == 1,
	    "reads go through it to the file");
	ok(store_extents(s, 0, BLK, extent_add, NULL, &f) == -1 &&
	    f.error == EOPNOTSUPP,
	    "a capability it takes away is refused: EOPNOTSUPP");
	ok(store_pwrite(s, buf, BLK, 5 * BLK, STORE_FUA, &f) == 0 &&
	    ((struct counting *)s)->fua_writes == 0 &&
	    ((struct counting *)s)->flushes == 1,
	    "no STORE_CAN_FUA: a FUA write is a write and a flush");
	ok(store_trim(s, 5 * BLK, BLK, 0, &f) == 0 &&
	    store_pread(s, buf, BLK, 5 * BLK, 0, &f) == 0 &&
	    all_bytes(buf, BLK, 0x33), "no STORE_CAN_TRIM: trim does nothing");
	store_close(s);
	inner = open_file(path, 0, 0, err, sizeof(err));
	sp.path = path;
	ok(store_open(&store_file_ops, &sp, inner, err, sizeof(err)) ==
	    NULL && strstr(err, "wraps no other store") != NULL,
	    "a file store over another store: \"%s\"", err);
}

static void
cleanup(void)
{
	static const char *const names[] = { "disk", "small", "sparse" };
	char p[300];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	if (rmdir(dir) == -1)
		printf("# rmdir %s: %s\n", dir, strerror(errno));
}

int
main(void)
{
	char err[512];
	struct store *s;
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/unit_store.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/disk", dir);
	test_open();
	if ((s = open_file(path, 0, 0, err, sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	test_rw(s);
	test_zeroes(s);
	test_submit(s);
	store_close(s);
	test_readonly();
	test_extents();
	test_wrapper();
	cleanup();
	return done_testing();
}
