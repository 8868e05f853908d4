/* SPDX-License-Identifier: ISC */
/*
 * The overlay store (src/netdiskd/store_overlay.c) and its format
 * (overlay_map.c) on real files in a temporary directory: the header
 * and map blocks encoded and decoded, every shape of write into BASE,
 * DATA and ZERO chunks against a model of the disk, trim and write
 * zeroes, extents, the quota, a base of another identity, corrupt and
 * truncated files, threads racing for one chunk, ephemeral overlays,
 * overlay_info, and crash ordering: pwrite, fdatasync and fallocate are
 * wrapped (-Wl,--wrap) to log what reaches the overlay file, and the
 * file a crash would leave after every logged call (what was synced,
 * plus none, all, some or a torn part of what was not) is reopened and
 * checked: each sector holds what it held at the last completed flush
 * or FUA write, or what a later request wrote there.  Last, a benchmark
 * of overlay writes against plain file-store writes (TAP diagnostics
 * only, never asserted).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "extent_list.h"
#include "store_file.h"
#include "store_overlay.h"
#include "tap.h"

#define KIB		1024
#define SECT		512
#define BASE_TAG	0xba5eU

static char dir[256];
static char base_path[300], ovl_path[300], crash_path[300];

/* The wrapped file calls. */

ssize_t __real_pwrite(int, const void *, size_t, off_t);
int __real_fdatasync(int);
int __real_fallocate(int, int, off_t, off_t);
ssize_t __wrap_pwrite(int, const void *, size_t, off_t);
int __wrap_fdatasync(int);
int __wrap_fallocate(int, int, off_t, off_t);

enum rec_kind { REC_WRITE, REC_PUNCH, REC_SYNC };

struct rec {
	enum rec_kind kind;
	uint64_t off, len;
	uint8_t *data;
};

static struct {
	ino_t ino;			/* the file watched; 0: none */
	dev_t dev;
	struct rec *v;
	size_t n, cap;
	size_t fail_at;			/* calls from here fail: EIO */
} wlog;

static int
watched(int fd)
{
	struct stat st;

	return wlog.ino != 0 && fstat(fd, &st) == 0 &&
	    st.st_ino == wlog.ino && st.st_dev == wlog.dev;
}

static void
log_rec(enum rec_kind kind, uint64_t off, uint64_t len, const void *data)
{
	struct rec *r;

	if (wlog.n == wlog.cap) {
		wlog.cap = wlog.cap ? 2 * wlog.cap : 256;
		if ((wlog.v = realloc(wlog.v, wlog.cap * sizeof(*r))) == NULL)
			abort();
	}
	r = &wlog.v[wlog.n++];
	*r = (struct rec){ kind, off, len, NULL };
	if (data != NULL) {
		if ((r->data = malloc(len)) == NULL)
			abort();
		memcpy(r->data, data, len);
	}
}

/* A watched call: -1 (EIO) if it is to fail, else 0. */
static int
wlog_fails(void)
{
	if (wlog.fail_at != 0 && wlog.n + 1 >= wlog.fail_at) {
		errno = EIO;
		return -1;
	}
	return 0;
}

ssize_t
__wrap_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t n;

	if (!watched(fd))
		return __real_pwrite(fd, buf, len, off);
	if (wlog_fails() == -1)
		return -1;
	if ((n = __real_pwrite(fd, buf, len, off)) > 0)
		log_rec(REC_WRITE, (uint64_t)off, (uint64_t)n, buf);
	return n;
}

int
__wrap_fdatasync(int fd)
{
	if (!watched(fd))
		return __real_fdatasync(fd);
	if (wlog_fails() == -1)
		return -1;
	if (__real_fdatasync(fd) == -1)
		return -1;
	log_rec(REC_SYNC, 0, 0, NULL);
	return 0;
}

int
__wrap_fallocate(int fd, int mode, off_t off, off_t len)
{
	if (!watched(fd))
		return __real_fallocate(fd, mode, off, len);
	if (wlog_fails() == -1)
		return -1;
	if (__real_fallocate(fd, mode, off, len) == -1)
		return -1;
	log_rec(REC_PUNCH, (uint64_t)off, (uint64_t)len, NULL);
	return 0;
}

static void
wlog_watch(const char *path)
{
	struct stat st;
	size_t i;

	for (i = 0; i < wlog.n; i++)
		free(wlog.v[i].data);
	wlog.n = 0;
	wlog.fail_at = 0;
	wlog.ino = 0;
	if (path != NULL && stat(path, &st) == 0) {
		wlog.ino = st.st_ino;
		wlog.dev = st.st_dev;
	}
}

/* Files and stores. */

/* Sector s of the disk as written by tag: the 64-bit (tag << 32 | s). */
static void
fill(uint8_t *p, uint64_t first_sect, uint64_t nsect, uint32_t tag)
{
	uint64_t i, j, v;

	for (i = 0; i < nsect; i++) {
		v = tag == 0 ? 0 : (uint64_t)tag << 32 | (first_sect + i);
		for (j = 0; j < SECT / 8; j++)
			memcpy(p + i * SECT + j * 8, &v, 8);
	}
}

/* The tag sector p holds (0: zeroes), or -1 if it is no sector we wrote. */
static int64_t
tag_of(const uint8_t *p, uint64_t s)
{
	uint64_t v, w;
	int j;

	memcpy(&v, p, 8);
	for (j = 1; j < SECT / 8; j++) {
		memcpy(&w, p + j * 8, 8);
		if (w != v)
			return -1;
	}
	if (v == 0)
		return 0;
	return (v & 0xffffffffU) == s ? (int64_t)(v >> 32) : -1;
}

static int
make_base(uint64_t size)
{
	uint8_t *buf = malloc(size);
	int fd, r;

	if (buf == NULL)
		return -1;
	fill(buf, 0, size / SECT, BASE_TAG);
	fd = open(base_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	r = fd == -1 || write(fd, buf, size) != (ssize_t)size ||
	    fsync(fd) == -1 ? -1 : 0;
	if (fd != -1)
		close(fd);
	free(buf);
	return r;
}

static struct store *
open_base(void)
{
	struct store_params bp = { base_path, 0, SECT, 1, NULL };
	char err[512];
	struct store *b = store_open(&store_file_ops, &bp, NULL, err,
	    sizeof(err));

	if (b == NULL)
		printf("# base: %s\n", err);
	return b;
}

static struct overlay_params oparams;

static struct store *
open_ovl_at(const char *path, int readonly, char *err, size_t errlen)
{
	struct store_params p = { path, 0, SECT, readonly, &oparams };
	struct store *b = open_base();

	if (b == NULL)
		return NULL;
	return store_open(&store_overlay_ops, &p, b, err, errlen);
}

static struct store *
open_ovl(void)
{
	char err[512];
	struct store *s = open_ovl_at(ovl_path, 0, err, sizeof(err));

	if (s == NULL)
		printf("# %s\n", err);
	return s;
}

static void
new_overlay(uint64_t base_size, uint32_t chunk, uint64_t quota)
{
	unlink(ovl_path);
	make_base(base_size);
	memset(&oparams, 0, sizeof(oparams));
	oparams.flags = OVL_CREATE;
	oparams.chunk = chunk;
	oparams.quota = quota;
	overlay_base_stat(base_path, 7, &oparams.base);
}

/* The model: what each sector of the virtual disk should hold. */
struct model {
	uint64_t nsect;
	uint32_t *tag;
};

static void
model_init(struct model *m, uint64_t size)
{
	uint64_t i;

	m->nsect = size / SECT;
	m->tag = malloc(m->nsect * sizeof(*m->tag));
	for (i = 0; i < m->nsect; i++)
		m->tag[i] = BASE_TAG;
}

static void
model_set(struct model *m, uint64_t off, uint64_t len, uint32_t tag)
{
	uint64_t i;

	for (i = off / SECT; i < (off + len) / SECT; i++)
		m->tag[i] = tag;
}

/* Does the store read back what the model says, every sector? */
static int
model_check(struct store *s, const struct model *m)
{
	uint8_t *buf = malloc(s->size);
	struct store_fault f;
	uint64_t i;
	int good = 1;

	if (buf == NULL || store_pread(s, buf, (uint32_t)s->size, 0, 0,
	    &f) == -1) {
		free(buf);
		return 0;
	}
	for (i = 0; i < m->nsect && good; i++)
		if (tag_of(buf + i * SECT, i) != m->tag[i]) {
			printf("# sector %" PRIu64 ": tag %" PRId64 ", want %"
			    PRIu32 "\n", i, tag_of(buf + i * SECT, i),
			    m->tag[i]);
			good = 0;
		}
	free(buf);
	return good;
}

static int
do_write(struct store *s, struct model *m, uint64_t off, uint64_t len,
    uint32_t tag, unsigned flags)
{
	uint8_t *buf = malloc(len);
	struct store_fault f;
	int r;

	fill(buf, off / SECT, len / SECT, tag);
	r = store_pwrite(s, buf, (uint32_t)len, off, flags, &f);
	if (r == 0 && m != NULL)
		model_set(m, off, len, tag);
	if (r == -1)
		printf("# write %" PRIu64 "+%" PRIu64 ": %s\n", off, len,
		    strerror(f.error));
	free(buf);
	return r;
}

/* The format. */

static void
test_header(void)
{
	struct ovl_base b = { 1, 2, 3, 4, 5 };
	uint8_t buf[OVL_HDR_LEN];
	struct ovl_header h, d;
	char why[256];

	ok(ovl_header_init(&h, 100 * KIB * KIB, 64 * KIB, &b, 99, why,
	    sizeof(why)) == 0 && h.nchunks == 1600 && h.map_blocks == 1 &&
	    h.data_off == 64 * KIB && ovl_file_size(&h) == 64 * KIB +
	    1600ULL * 64 * KIB, "header layout: 1600 chunks, data at 64K");
	ovl_header_encode(&h, buf);
	ok(ovl_header_decode(&d, buf, sizeof(buf), why, sizeof(why)) == 0 &&
	    memcmp(&d, &h, sizeof(h)) == 0, "header round trip");
	ok(ovl_header_init(&h, 1000, 3000, &b, 0, why, sizeof(why)) == -1 &&
	    strstr(why, "chunk size 3000 is not a power of two") != NULL,
	    "chunk size 3000: \"%s\"", why);
	buf[20] ^= 1;
	ok(ovl_header_decode(&d, buf, sizeof(buf), why, sizeof(why)) == -1 &&
	    strcmp(why, "header: checksum mismatch") == 0,
	    "a flipped header byte: \"%s\"", why);
	ok(ovl_header_decode(&d, buf, 100, why, sizeof(why)) == -1 &&
	    strstr(why, "truncated: 100 bytes") != NULL,
	    "a short header: \"%s\"", why);
	ok(ovl_base_same(&b, &b, why, sizeof(why)), "the same base");
	d.base = b;
	d.base.generation = 6;
	ok(!ovl_base_same(&b, &d.base, why, sizeof(why)) &&
	    strstr(why, "generation 5, the base's is 6") != NULL,
	    "another generation: \"%s\"", why);
}

static void
test_blocks(void)
{
	struct ovl_base b = { 0 };
	uint8_t s0[OVL_BLOCK_LEN], s1[OVL_BLOCK_LEN], area[4 * OVL_BLOCK_LEN];
	struct ovl_header h;
	struct ovl_map m, l;
	uint64_t seq = 0, n = OVL_PER_BLOCK + 10;
	char why[256];

	ovl_header_init(&h, n * 4096, 4096, &b, 0, why, sizeof(why));
	ovl_map_init(&m, &h);
	m.state[0] = OVL_DATA;
	m.state[OVL_PER_BLOCK - 1] = OVL_ZERO;
	m.state[OVL_PER_BLOCK + 9] = OVL_DATA;
	ovl_block_encode(&m, 0, 5, s0);
	ok(ovl_block_decode(&m, 0, s0, 0, &seq, why, sizeof(why)) == 0 &&
	    seq == 5, "a map block decodes, sequence 5");
	ok(ovl_block_decode(&m, 1, s0, 0, &seq, why, sizeof(why)) == -1 &&
	    strcmp(why, "holds block 0") == 0, "in another place: \"%s\"",
	    why);
	memcpy(s1, s0, sizeof(s1));
	s1[100] ^= 0x40;
	ok(ovl_block_decode(&m, 0, s1, 0, &seq, why, sizeof(why)) == -1 &&
	    strcmp(why, "checksum mismatch") == 0, "a flipped bit: \"%s\"",
	    why);
	/* Area: block 0 slot A older (4), slot B newer (5); block 1 A only. */
	ovl_block_encode(&m, 0, 4, area);
	memcpy(area + OVL_BLOCK_LEN, s0, OVL_BLOCK_LEN);
	ovl_block_encode(&m, 1, 5, area + 2 * OVL_BLOCK_LEN);
	memset(area + 3 * OVL_BLOCK_LEN, 0, OVL_BLOCK_LEN);
	ok(ovl_map_load(&l, &h, area, sizeof(area), why, sizeof(why)) == 0 &&
	    l.newer[0] == 1 && l.newer[1] == 0 && l.seq == 5 &&
	    l.repaired == 1 && l.state[0] == OVL_DATA &&
	    l.state[OVL_PER_BLOCK - 1] == OVL_ZERO &&
	    l.state[OVL_PER_BLOCK + 9] == OVL_DATA && l.state[1] == OVL_BASE,
	    "map load: the newer slot of each block, the states");
	ovl_map_free(&l);
	memset(area + 2 * OVL_BLOCK_LEN, 0, OVL_BLOCK_LEN);
	ok(ovl_map_load(&l, &h, area, sizeof(area), why, sizeof(why)) == -1 &&
	    strstr(why, "map block 1: no valid copy") != NULL,
	    "no valid slot: \"%s\"", why);
	memcpy(area, s0, OVL_BLOCK_LEN);
	ovl_block_encode(&m, 1, 5, area + 2 * OVL_BLOCK_LEN);
	ok(ovl_map_load(&l, &h, area, sizeof(area), why, sizeof(why)) == -1 &&
	    strstr(why, "both slots have sequence number 5") != NULL,
	    "equal sequence numbers: \"%s\"", why);
	/* A state of 3 in a validly sealed block. */
	m.state[7] = 3;
	ovl_block_encode(&m, 0, 9, s1);
	ok(ovl_block_decode(&m, 0, s1, 0, &seq, why, sizeof(why)) == -1 &&
	    strcmp(why, "chunk 7 has an invalid state") == 0,
	    "an invalid state: \"%s\"", why);
	ovl_map_free(&m);
}

/* Write shapes, trim and zero, against the model. */

static void
test_shapes(void)
{
	const uint64_t size = 1024 * KIB + 8 * KIB, C = 64 * KIB;
	struct model m;
	struct store_fault f;
	struct store *s;

	new_overlay(size, C, 0);
	model_init(&m, size);
	s = open_ovl();
	ok(s != NULL && s->size == size && (s->caps & STORE_CAN_WRITE) &&
	    !(s->caps & STORE_CAN_FUA), "a new overlay over a %" PRIu64
	    "-byte base", size);
	if (s == NULL)
		return;
	ok(model_check(s, &m), "a new overlay reads the base");
	ok(do_write(s, &m, 0, C, 1, 0) == 0 && model_check(s, &m),
	    "a whole chunk into BASE");
	ok(do_write(s, &m, C + 4 * KIB, 4 * KIB, 2, 0) == 0 &&
	    model_check(s, &m), "a partial chunk into BASE: the base around it");
	ok(do_write(s, &m, 3 * C - 1024, 2048, 3, 0) == 0 &&
	    model_check(s, &m), "across two BASE chunks");
	ok(do_write(s, &m, C + 512, 1024, 4, 0) == 0 && model_check(s, &m),
	    "a partial rewrite of a DATA chunk");
	ok(do_write(s, &m, size - 4 * KIB, 4 * KIB, 5, 0) == 0 &&
	    model_check(s, &m), "the last, short chunk");
	ok(store_trim(s, 4 * C, C, 0, &f) == 0 &&
	    (model_set(&m, 4 * C, C, 0), model_check(s, &m)),
	    "trim of a whole BASE chunk: zeroes");
	ok(do_write(s, &m, 4 * C + 8 * KIB, 4 * KIB, 6, 0) == 0 &&
	    model_check(s, &m), "a partial write into ZERO: zeroes around it");
	ok(store_trim(s, 5 * C + 512, 1024, 0, &f) == 0 &&
	    (model_set(&m, 5 * C + 512, 1024, 0), model_check(s, &m)),
	    "trim inside a BASE chunk: those bytes zeroes, never base data");
	ok(store_zero(s, 0, C + 4 * KIB, 0, &f) == 0 &&
	    (model_set(&m, 0, C + 4 * KIB, 0), model_check(s, &m)),
	    "write zeroes: a whole DATA chunk and part of another");
	ok(store_zero(s, 6 * C, 2 * C, STORE_FUA, &f) == 0 &&
	    (model_set(&m, 6 * C, 2 * C, 0), model_check(s, &m)),
	    "FUA write zeroes over two BASE chunks");
	ok(do_write(s, &m, 9 * C, 3 * C, 7, STORE_FUA) == 0 &&
	    model_check(s, &m), "a FUA write of three chunks");
	ok(store_flush(s, &f) == 0, "flush");
	store_close(s);
	s = open_ovl();
	ok(s != NULL && model_check(s, &m), "reopened: all of it again");
	store_close(s);
	free(m.tag);
}

static void
test_extents(void)
{
	const uint64_t C = 64 * KIB, size = 16 * C;
	struct extent_list l = { .n = 0 };
	struct store_fault f;
	struct store *s;
	int r;

	new_overlay(size, C, 0);
	if ((s = open_ovl()) == NULL)
		return;
	do_write(s, NULL, 2 * C, 512, 9, 0);
	store_trim(s, 4 * C, 2 * C, 0, &f);
	r = store_extents(s, 0, size, extent_add, &l, &f);
	ok(r == 0 && l.n == 5 && l.off[1] == 2 * C && l.len[1] == C &&
	    l.off[3] == 4 * C && l.len[3] == 2 * C && l.data[0] && l.data[1] &&
	    l.data[2] && !l.data[3] && l.data[4] && l.off[4] == 6 * C &&
	    l.len[4] == 10 * C, "extents: base, DATA, base, the ZERO chunks "
	    "a hole, base (%d)", l.n);
	store_close(s);
}

static void
test_quota(void)
{
	const uint64_t C = 64 * KIB, size = 16 * C;
	struct model m;
	struct store_fault f;
	struct store *s;
	uint8_t buf[4096];

	new_overlay(size, C, 2 * C + 100);
	model_init(&m, size);
	if ((s = open_ovl()) == NULL)
		return;
	ok(do_write(s, &m, 0, 4096, 1, 0) == 0 &&
	    do_write(s, &m, C, 4096, 2, 0) == 0, "two chunks, the quota");
	memset(buf, 1, sizeof(buf));
	ok(store_pwrite(s, buf, sizeof(buf), 5 * C, 0, &f) == -1 &&
	    f.error == ENOSPC && f.sync == 0 && strcmp(f.op, "write") == 0,
	    "a third chunk: ENOSPC, sync 0");
	ok(do_write(s, &m, C - 4096, 4096, 4, 0) == 0,
	    "at the quota, a write into a DATA chunk goes through");
	ok(store_pwrite(s, buf, sizeof(buf), 2 * C - 2048, 0, &f) == -1 &&
	    f.error == ENOSPC && model_check(s, &m),
	    "a write across a DATA chunk and a new one: ENOSPC, nothing "
	    "changed");
	ok(store_trim(s, 7 * C + 512, 512, 0, &f) == -1 && f.error == ENOSPC,
	    "a partial trim of a BASE chunk needs a chunk too: ENOSPC");
	ok(store_trim(s, 0, C, 0, &f) == 0 &&
	    (model_set(&m, 0, C, 0), do_write(s, &m, 5 * C, 4096, 3, 0)) == 0 &&
	    model_check(s, &m), "a trimmed chunk frees its place");
	store_close(s);
	oparams.quota = C;
	s = open_ovl();
	ok(s != NULL && store_pwrite(s, buf, sizeof(buf), 9 * C, 0, &f) == -1 &&
	    f.error == ENOSPC && model_check(s, &m), "reopened with a quota "
	    "below what it holds: a new chunk is refused");
	store_close(s);
	free(m.tag);
}

static void
test_identity(void)
{
	char err[512];
	struct store *s;

	new_overlay(256 * KIB, 0, 0);
	store_close(open_ovl());
	oparams.base.generation = 8;
	errno = 0;
	s = open_ovl_at(ovl_path, 0, err, sizeof(err));
	ok(s == NULL && errno == ESTALE && strstr(err, ovl_path) != NULL &&
	    strstr(err, "made on another base: generation 7, the base's is "
	    "8") != NULL, "another generation: ESTALE, \"%s\"", err);
	oparams.base.generation = 7;
	oparams.base.mtime_ns++;
	s = open_ovl_at(ovl_path, 0, err, sizeof(err));
	ok(s == NULL && errno == ESTALE && strstr(err, "modification time"),
	    "another modification time: \"%s\"", err);
	oparams.base.mtime_ns--;
	make_base(512 * KIB);
	overlay_base_stat(base_path, 7, &oparams.base);
	s = open_ovl_at(ovl_path, 0, err, sizeof(err));
	ok(s == NULL && errno == ESTALE && strstr(err, "size 262144, the "
	    "base has 524288") != NULL, "another size: \"%s\"", err);
}

/* Copies ovl_path to crash_path, changed by fn. */
static void
corrupt_copy(uint64_t off, uint8_t x, int64_t truncate_to)
{
	char cmd[700];
	int fd;
	uint8_t b;

	snprintf(cmd, sizeof(cmd), "cp --sparse=always %s %s", ovl_path,
	    crash_path);
	if (system(cmd) != 0)
		printf("# %s failed\n", cmd);
	fd = open(crash_path, O_RDWR);
	if (x != 0 && pread(fd, &b, 1, (off_t)off) == 1) {
		b ^= x;
		if (pwrite(fd, &b, 1, (off_t)off) != 1)
			printf("# pwrite: %s\n", strerror(errno));
	}
	if (truncate_to >= 0 && ftruncate(fd, truncate_to) == -1)
		printf("# ftruncate: %s\n", strerror(errno));
	close(fd);
}

static int
refused(const char *what, const char *want)
{
	char err[512];
	struct store *s = open_ovl_at(crash_path, 0, err, sizeof(err));

	if (s != NULL) {
		store_close(s);
		return ok(0, "%s: opened", what);
	}
	return ok(errno == EUCLEAN && strstr(err, crash_path) != NULL &&
	    strstr(err, want) != NULL, "%s: \"%s\"", what, err);
}

static void
test_corrupt(void)
{
	struct overlay_info info;
	char err[512];
	struct store *s;

	new_overlay(256 * KIB, 4096, 0);
	s = open_ovl();
	do_write(s, NULL, 0, 4096, 1, 0);
	store_close(s);
	corrupt_copy(40, 0x10, -1);
	refused("a flipped header byte", "header: checksum mismatch");
	corrupt_copy(0, 0x01, -1);
	refused("a flipped magic byte", "not an overlay file");
	corrupt_copy(0, 0, 100);
	refused("truncated to 100 bytes", "truncated: 100 bytes");
	corrupt_copy(0, 0, OVL_HDR_LEN + OVL_BLOCK_LEN);
	refused("truncated in the map", "truncated");
	corrupt_copy(0, 0, 3 * OVL_BLOCK_LEN + 100);
	refused("truncated in the data area", "truncated: 12388 bytes");
	/* Slot B (seq 2) is the newer after one flush; A still seq 1. */
	corrupt_copy(OVL_HDR_LEN + OVL_BLOCK_LEN + 30, 0x08, -1);
	ok(overlay_info(crash_path, &info, err, sizeof(err)) == 0 &&
	    info.repaired == 1 && info.data_chunks == 0,
	    "a flipped byte in the newer slot: the older one, reported");
	corrupt_copy(OVL_HDR_LEN + 30, 0x08, -1);
	ok(overlay_info(crash_path, &info, err, sizeof(err)) == 0 &&
	    info.repaired == 1 && info.data_chunks == 1,
	    "a flipped byte in the older slot: the newer one");
	corrupt_copy(OVL_HDR_LEN + 30, 0x08, -1);
	{
		int fd = open(crash_path, O_RDWR);
		uint8_t b;

		if (pread(fd, &b, 1, OVL_HDR_LEN + OVL_BLOCK_LEN + 30) == 1) {
			b ^= 0x08;
			(void)!pwrite(fd, &b, 1, OVL_HDR_LEN + OVL_BLOCK_LEN +
			    30);
		}
		close(fd);
	}
	refused("both slots flipped", "map block 0: no valid copy");
}

/* Threads racing to write parts of the same unallocated chunks. */

#define RACE_THREADS	8
#define RACE_CHUNKS	32

struct race {
	struct store *s;
	pthread_barrier_t *bar;
	int id;
	int failed;
};

static void *
race_run(void *arg)
{
	struct race *r = arg;
	uint64_t C = 64 * KIB, piece = C / RACE_THREADS;
	uint8_t buf[64 * KIB / RACE_THREADS];
	struct store_fault f;
	int c;

	for (c = 0; c < RACE_CHUNKS; c++) {
		pthread_barrier_wait(r->bar);
		fill(buf, (c * C + r->id * piece) / SECT, piece / SECT,
		    (uint32_t)(100 + r->id));
		if (store_pwrite(r->s, buf, (uint32_t)piece,
		    c * C + r->id * piece, 0, &f) == -1)
			r->failed++;
	}
	return NULL;
}

struct flusher {
	struct store *s;
	int stop, flushes, failed;
};

/* Flushes while the writers run, until told to stop (at least once). */
static void *
flush_run(void *arg)
{
	struct flusher *fl = arg;
	struct store_fault f;

	do {
		fl->failed += store_flush(fl->s, &f) == -1;
		fl->flushes++;
	} while (!__atomic_load_n(&fl->stop, __ATOMIC_ACQUIRE));
	return NULL;
}

static void
test_race(void)
{
	const uint64_t C = 64 * KIB, size = RACE_CHUNKS * C;
	struct race r[RACE_THREADS];
	pthread_t t[RACE_THREADS], ft;
	pthread_barrier_t bar;
	struct flusher fl;
	struct overlay_info info;
	struct model m;
	char err[512];
	int i, failed = 0;

	new_overlay(size, C, 0);
	model_init(&m, size);
	r[0].s = open_ovl();
	if (r[0].s == NULL)
		return;
	pthread_barrier_init(&bar, NULL, RACE_THREADS);
	fl = (struct flusher){ r[0].s, 0, 0, 0 };
	pthread_create(&ft, NULL, flush_run, &fl);
	for (i = 0; i < RACE_THREADS; i++) {
		r[i] = (struct race){ r[0].s, &bar, i, 0 };
		pthread_create(&t[i], NULL, race_run, &r[i]);
	}
	for (i = 0; i < RACE_THREADS; i++) {
		pthread_join(t[i], NULL);
		failed += r[i].failed;
	}
	__atomic_store_n(&fl.stop, 1, __ATOMIC_RELEASE);
	pthread_join(ft, NULL);
	pthread_barrier_destroy(&bar);
	ok(fl.failed == 0 && fl.flushes > 0, "%d flushes meanwhile",
	    fl.flushes);
	for (i = 0; i < RACE_CHUNKS * RACE_THREADS; i++)
		model_set(&m, i * (C / RACE_THREADS), C / RACE_THREADS,
		    100 + (uint32_t)(i % RACE_THREADS));
	ok(failed == 0 && model_check(r[0].s, &m), "%d threads writing "
	    "parts of the same new chunk, %d times: no write lost",
	    RACE_THREADS, RACE_CHUNKS);
	store_close(r[0].s);
	i = overlay_info(ovl_path, &info, err, sizeof(err));
	ok(i == 0 && info.data_chunks == RACE_CHUNKS && info.allocated == size,
	    "each chunk allocated once: %" PRIu64 " chunks", info.data_chunks);
	free(m.tag);
}

static void
test_ephemeral_info(void)
{
	struct overlay_info info;
	struct store *s;
	struct stat st;
	char err[512];

	new_overlay(512 * KIB, 4096, 0);
	oparams.flags = OVL_EPHEMERAL;
	s = open_ovl();
	do_write(s, NULL, 0, 8192, 1, 0);
	ok(s != NULL && overlay_info(ovl_path, &info, err, sizeof(err)) == 0 &&
	    info.hdr.chunk == 4096 && info.hdr.base.generation == 7 &&
	    info.hdr.base.ino == oparams.base.ino && info.hdr.created_ns > 0,
	    "overlay_info of an open overlay: chunk size, base, created");
	store_close(s);
	ok(stat(ovl_path, &st) == -1 && errno == ENOENT,
	    "an ephemeral overlay is gone at close");
	oparams.flags = OVL_CREATE;
	s = open_ovl();
	do_write(s, NULL, 0, 8192, 1, 0);
	store_close(s);
	oparams.flags = OVL_EPHEMERAL;
	s = open_ovl();
	ok(s != NULL && overlay_info(ovl_path, &info, err, sizeof(err)) == 0 &&
	    info.data_chunks == 0, "OVL_FRESH: an old overlay is replaced");
	store_close(s);
	oparams.flags = 0;
	s = open_ovl_at(ovl_path, 0, err, sizeof(err));
	ok(s == NULL && errno == ENOENT && strstr(err, ovl_path) != NULL,
	    "no OVL_CREATE and no file: \"%s\"", err);
}

/* Crash ordering. */

enum op_kind { OP_WRITE, OP_FUA, OP_TRIM, OP_ZERO, OP_FLUSH };

struct op {
	enum op_kind kind;
	uint64_t off, len;
	uint32_t tag;
	size_t start, end;		/* wlog.n before and after */
};

#define CR_CHUNK	4096
#define CR_SIZE		(32 * CR_CHUNK)
#define CR_OPS		48

static void
crash_ops(struct op *ops, int n, unsigned seed)
{
	int i;

	srand(seed);
	for (i = 0; i < n; i++) {
		ops[i].kind = (i % 5 == 4) ? OP_FLUSH : (enum op_kind)(rand() %
		    4);
		ops[i].off = (uint64_t)(rand() % (CR_SIZE / SECT - 24)) * SECT;
		ops[i].len = (uint64_t)(1 + rand() % 24) * SECT;
		if (rand() % 3 == 0) {	/* whole chunks */
			ops[i].off -= ops[i].off % CR_CHUNK;
			ops[i].len = CR_CHUNK * (uint64_t)(1 + rand() % 2);
		}
		ops[i].tag = (uint32_t)(i + 1);
		if (ops[i].kind == OP_TRIM || ops[i].kind == OP_ZERO)
			ops[i].tag = 0;
	}
}

static int
crash_run(struct store *s, struct op *o)
{
	struct store_fault f;
	int r = 0;

	o->start = wlog.n;
	switch (o->kind) {
	case OP_WRITE:
	case OP_FUA:
		r = do_write(s, NULL, o->off, o->len, o->tag,
		    o->kind == OP_FUA ? STORE_FUA : 0);
		break;
	case OP_TRIM:
		r = store_trim(s, o->off, (uint32_t)o->len, 0, &f);
		break;
	case OP_ZERO:
		r = store_zero(s, o->off, (uint32_t)o->len, 0, &f);
		break;
	case OP_FLUSH:
		r = store_flush(s, &f);
		break;
	}
	o->end = wlog.n;
	return r;
}

static void
rec_apply(uint8_t *img, uint64_t imglen, const struct rec *r, uint64_t len)
{
	if (r->off >= imglen)
		return;
	if (len > imglen - r->off)
		len = imglen - r->off;
	if (r->kind == REC_WRITE)
		memcpy(img + r->off, r->data, len);
	else if (r->kind == REC_PUNCH)
		memset(img + r->off, 0, len);
}

/*
 * The file after a crash at call k: what was synced, and of the rest
 * (variant) 0 nothing, 1 all, 2 a random part, 3 all with the last write
 * torn after its first sector.
 */
static void
crash_image(uint8_t *img, const uint8_t *init, uint64_t imglen, size_t k,
    int variant)
{
	size_t i, synced = 0, last = 0;

	memcpy(img, init, imglen);
	for (i = 0; i < k; i++)
		if (wlog.v[i].kind == REC_SYNC)
			synced = i;
	for (i = 0; i < synced; i++)
		rec_apply(img, imglen, &wlog.v[i], wlog.v[i].len);
	for (i = synced; i < k; i++)
		if (wlog.v[i].kind == REC_WRITE)
			last = i;
	for (i = synced; i < k; i++) {
		if (variant == 0 || (variant == 2 && rand() % 2))
			continue;
		rec_apply(img, imglen, &wlog.v[i], variant == 3 && i == last ?
		    SECT : wlog.v[i].len);
	}
}

/*
 * Is every sector of the reopened overlay what it was at the last
 * barrier (flush or FUA write) completed before call k, or what a later
 * request started by then wrote there?
 */
static int
crash_check(struct store *s, const struct op *ops, int nops, size_t k)
{
	uint8_t *buf = malloc(CR_SIZE);
	struct store_fault f;
	uint32_t durable[CR_SIZE / SECT];
	int64_t t;
	int i, b = -1, good = 1, allowed;
	uint64_t sec;

	for (i = 0; i < nops; i++)
		if ((ops[i].kind == OP_FLUSH || ops[i].kind == OP_FUA) &&
		    ops[i].end <= k)
			b = i;
	for (sec = 0; sec < CR_SIZE / SECT; sec++)
		durable[sec] = BASE_TAG;
	for (i = 0; i <= b; i++)
		for (sec = ops[i].off / SECT; ops[i].kind != OP_FLUSH &&
		    sec < (ops[i].off + ops[i].len) / SECT; sec++)
			durable[sec] = ops[i].tag;
	if (store_pread(s, buf, CR_SIZE, 0, 0, &f) == -1)
		good = 0;
	for (sec = 0; sec < CR_SIZE / SECT && good; sec++) {
		t = tag_of(buf + sec * SECT, sec);
		allowed = t == durable[sec];
		for (i = b + 1; i < nops && ops[i].start <= k && !allowed; i++)
			allowed = ops[i].kind != OP_FLUSH && sec >=
			    ops[i].off / SECT && sec < (ops[i].off +
			    ops[i].len) / SECT && t == ops[i].tag;
		if (!allowed) {
			printf("# cut %zu: sector %" PRIu64 " reads tag %"
			    PRId64 ", durable %" PRIu32 " (barrier op %d)\n",
			    k, sec, t, durable[sec], b);
			good = 0;
		}
	}
	free(buf);
	return good;
}

static int
crash_cut(const uint8_t *init, uint64_t imglen, const struct op *ops,
    int nops, size_t k, int variant)
{
	uint8_t *img = malloc(imglen);
	char err[512];
	struct store *s;
	int fd, good;

	crash_image(img, init, imglen, k, variant);
	fd = open(crash_path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	good = fd != -1 && write(fd, img, imglen) == (ssize_t)imglen;
	if (fd != -1)
		close(fd);
	free(img);
	s = open_ovl_at(crash_path, 1, err, sizeof(err));
	if (s == NULL) {
		printf("# cut %zu variant %d: %s\n", k, variant, err);
		return 0;
	}
	good = good && crash_check(s, ops, nops, k);
	store_close(s);
	return good;
}

static uint8_t *
read_file(const char *path, uint64_t *len)
{
	struct stat st;
	uint8_t *p;
	int fd = open(path, O_RDONLY);

	if (fd == -1 || fstat(fd, &st) == -1 ||
	    (p = malloc((size_t)st.st_size)) == NULL) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	*len = (uint64_t)st.st_size;
	if (pread(fd, p, *len, 0) != (ssize_t)*len) {
		free(p);
		p = NULL;
	}
	close(fd);
	return p;
}

static void
test_crash(unsigned seed)
{
	struct op ops[CR_OPS];
	uint64_t imglen = 0;
	uint8_t *init;
	struct store *s;
	size_t k, calls;
	int i, v, bad = 0, cuts = 0, failed = 0;

	new_overlay(CR_SIZE, CR_CHUNK, 0);
	store_close(open_ovl());
	if ((init = read_file(ovl_path, &imglen)) == NULL) {
		ok(0, "crash: reading the new overlay");
		return;
	}
	crash_ops(ops, CR_OPS, seed);
	wlog_watch(ovl_path);
	s = open_ovl();
	for (i = 0; s != NULL && i < CR_OPS; i++)
		failed += crash_run(s, &ops[i]) == -1;
	store_close(s);
	for (k = 0; k <= wlog.n && bad < 3; k++)
		for (v = 0; v < 6; v++, cuts++)
			bad += !crash_cut(init, imglen, ops, CR_OPS, k,
			    v < 4 ? v : 2);
	calls = wlog.n;
	wlog_watch(NULL);
	ok(s != NULL && failed == 0 && bad == 0, "crash ordering, seed %u: "
	    "%d cuts of %d requests (%zu file calls), every one consistent",
	    seed, cuts, CR_OPS, calls);
	free(init);
}

/* A failing map write: the flush fails, sync 1, and a later one works. */
static void
test_flush_fault(void)
{
	struct model m;
	struct store_fault f;
	struct store *s;

	new_overlay(CR_SIZE, CR_CHUNK, 0);
	model_init(&m, CR_SIZE);
	store_close(open_ovl());
	wlog_watch(ovl_path);
	s = open_ovl();
	do_write(s, &m, 0, 8192, 1, 0);
	wlog.fail_at = wlog.n + 2;	/* the data sync works, the map not */
	ok(store_flush(s, &f) == -1 && f.error == EIO && f.sync == 1 &&
	    strcmp(f.op, "flush") == 0, "a failing map write: the flush "
	    "fails, sync 1");
	wlog.fail_at = 0;
	ok(store_flush(s, &f) == 0, "the next flush works");
	store_close(s);
	wlog_watch(NULL);
	s = open_ovl();
	ok(s != NULL && model_check(s, &m), "and the data is there");
	store_close(s);
	free(m.tag);
}

/* The benchmark: overlay writes against file-store writes. */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * MiB/s of writes of bs bytes, one every stride bytes over the store's
 * first total bytes, and a flush.
 */
static double
bench_pass(struct store *s, uint32_t bs, uint64_t stride, uint64_t total)
{
	static uint8_t buf[1024 * KIB];
	struct store_fault f;
	double t0 = now_s();
	uint64_t off;

	memset(buf, 0x6b, sizeof(buf));
	for (off = 0; off < total; off += stride)
		if (store_pwrite(s, buf, bs, off, 0, &f) == -1)
			return 0;
	if (store_flush(s, &f) == -1)
		return 0;
	return (double)(total / stride * bs) / (1024 * KIB) /
	    (now_s() - t0);
}

static void
bench(void)
{
	const uint64_t size = 256 * 1024 * KIB;
	/* 1 MiB writes over 128 MiB; 4 KiB ones, each in its own chunk. */
	static const uint32_t sizes[] = { 1024 * KIB, 4 * KIB };
	static const uint64_t strides[] = { 1024 * KIB, 64 * KIB };
	static const uint64_t totals[] = { 128 * 1024 * KIB, 256 * 1024 * KIB };
	struct store_params fp = { crash_path, size, SECT, 0, NULL };
	struct store *s, *o;
	double plain, plain2, first, again;
	char err[512];
	size_t i;

	for (i = 0; i < 2; i++) {
		new_overlay(size, 0, 0);
		unlink(crash_path);
		s = store_open(&store_file_ops, &fp, NULL, err, sizeof(err));
		o = open_ovl();
		if (s == NULL || o == NULL) {
			store_close(s);
			store_close(o);
			printf("# bench: cannot open the stores\n");
			return;
		}
		plain = bench_pass(s, sizes[i], strides[i], totals[i]);
		plain2 = bench_pass(s, sizes[i], strides[i], totals[i]);
		first = bench_pass(o, sizes[i], strides[i], totals[i]);
		again = bench_pass(o, sizes[i], strides[i], totals[i]);
		printf("# bench %" PRIu32 " KiB writes%s, 64 KiB chunks, with a "
		    "flush, in %s: new file %.0f MiB/s, overlay into BASE %.0f "
		    "MiB/s (%.2f x); file rewrite %.0f MiB/s, overlay into DATA "
		    "%.0f MiB/s (%.2f x)\n", sizes[i] / KIB, i ? " one per chunk" :
		    "", dir, plain, first, plain > 0 ? first / plain : 0, plain2,
		    again, plain2 > 0 ? again / plain2 : 0);
		store_close(s);
		store_close(o);
	}
	unlink(crash_path);
}

static void
cleanup(void)
{
	unlink(base_path);
	unlink(ovl_path);
	unlink(crash_path);
	if (rmdir(dir) == -1)
		printf("# rmdir %s: %s\n", dir, strerror(errno));
}

int
main(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/unit_overlay.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(base_path, sizeof(base_path), "%s/base", dir);
	snprintf(ovl_path, sizeof(ovl_path), "%s/client.ovl", dir);
	snprintf(crash_path, sizeof(crash_path), "%s/crash.ovl", dir);
	if (argc > 1 && strcmp(argv[1], "bench") == 0) {
		bench();
		cleanup();
		return 0;
	}
	test_header();
	test_blocks();
	test_shapes();
	test_extents();
	test_quota();
	test_identity();
	test_corrupt();
	test_race();
	test_ephemeral_info();
	test_flush_fault();
	test_crash(1);
	test_crash(2);
	test_crash(3);
	bench();
	cleanup();
	return done_testing();
}
