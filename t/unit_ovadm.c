/* SPDX-License-Identifier: ISC */
/*
 * The parts of netdiskctl overlay's daemon side that need no daemon:
 * which file names in an overlay_dir are overlays (overlay_admin.h), the
 * DAYS of prune, and commit's copy (overlay_commit.h): the image equals
 * the store byte for byte, is sparse where it reads zeroes, never
 * replaces a file, and leaves no temporary file, also when cancelled.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overlay_admin.h"
#include "overlay_commit.h"
#include "store_file.h"
#include "tap.h"

#define SIZE	(3 * COMMIT_BLOCK + 12288)	/* a short last block */

static char dir[256];

static void
test_names(void)
{
	static const struct {
		const char *file, *client;
		int kept;
	} good[] = {
		{ "alice.ovl", "alice", 0 },
		{ "a.b-c_d.ovl", "a.b-c_d", 0 },
		{ "alice.ovl.20261204T151000Z", "alice", 1 },
		{ "alice.ovl.20261204T151000Z.3", "alice", 1 },
		{ "x.ovl.y.ovl", "x.ovl.y", 0 },
	};
	static const char *bad[] = {
		"alice", "alice.ovl.new-AbC123", "alice.ovl.20261204T1510Z",
		"alice.ovl.20261204T151000Z.", "alice.ovl.20261204T151000Z.x",
		".ovl", ".hidden.ovl", "-x.ovl", "alice.ovl~", "alice.img",
	};
	char client[65];
	size_t i;
	int kept, r = 1;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (ovadm_file_name(good[i].file, client, sizeof(client),
		    &kept) != 0 || strcmp(client, good[i].client) != 0 ||
		    kept != good[i].kept) {
			r = 0;
			printf("# %s\n", good[i].file);
		}
	ok(r, "overlay files: NAME.ovl and NAME.ovl.STAMP[.N] (kept)");
	r = 1;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ovadm_file_name(bad[i], client, sizeof(client), &kept) !=
		    -1) {
			r = 0;
			printf("# %s taken\n", bad[i]);
		}
	ok(r, "other files, temporary ones included, are not overlays");
}

static void
test_days(void)
{
	static const char *bad[] = { "", "x", "3x", "-1", "+3", "36501",
	    "99999999999999999999", "1.5" };
	int64_t s;
	size_t i;
	int r = 1;

	ok(ovadm_days("0", &s) == 0 && s == 0 && ovadm_days("7", &s) == 0 &&
	    s == 7 * 86400 && ovadm_days("36500", &s) == 0,
	    "days: 0, 7, 36500");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ovadm_days(bad[i], &s) != -1)
			r = 0;
	ok(r, "days: not a whole number from 0 to 36500 is refused");
}

/* A source image: data, a zero block, data, zeroes at the end. */
static int
make_source(const char *path, uint8_t *img)
{
	size_t i;
	int fd, r;

	for (i = 0; i < SIZE; i++)
		img[i] = (uint8_t)(i * 7 + i / 4096 + 1);
	memset(img + COMMIT_BLOCK, 0, COMMIT_BLOCK);
	memset(img + 2 * COMMIT_BLOCK + 4096, 0, 8192);	/* pieces */
	memset(img + SIZE - 4096, 0, 4096);
	if ((fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600)) == -1)
		return -1;
	r = write(fd, img, SIZE) == SIZE ? 0 : -1;
	close(fd);
	return r;
}

static int
same_file(const char *path, const uint8_t *img)
{
	uint8_t *b = malloc(SIZE + 1);
	int fd, r = 0;

	if (b != NULL && (fd = open(path, O_RDONLY)) != -1) {
		r = read(fd, b, SIZE + 1) == SIZE && memcmp(b, img, SIZE) == 0;
		close(fd);
	}
	free(b);
	return r;
}

/* Files in dir whose name contains s. */
static int
count_files(const char *s)
{
	struct dirent *d;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL)
		if (strstr(d->d_name, s) != NULL)
			n++;
	closedir(dp);
	return n;
}

static int calls;

/* 1 if the filesystem of dir keeps holes: a 1M file with 4K written. */
static int
holes(void)
{
	char path[300];
	struct stat st;
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/probe", dir);
	if ((fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600)) == -1)
		return 0;
	if (pwrite(fd, "x", 1, COMMIT_BLOCK - 1) == 1 && fsync(fd) == 0 &&
	    fstat(fd, &st) == 0)
		r = st.st_blocks * 512 < COMMIT_BLOCK / 2;
	close(fd);
	unlink(path);
	return r;
}

/* Another writer takes the name while the copy runs. */
static int
take_name(void *arg, uint64_t done, uint64_t total)
{
	int fd;

	(void)total;
	if (done == 0 || done > COMMIT_BLOCK)
		return 0;
	if ((fd = open(arg, O_CREAT | O_EXCL | O_WRONLY, 0600)) == -1)
		return -1;
	close(fd);
	return 0;
}

static int
cancel_at_2(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	(void)done;
	(void)total;
	return ++calls == 2 ? -1 : 0;
}

static void
test_commit(void)
{
	char src[300], img[300], err[512];
	struct store_params p = { .path = src, .align = 512, .readonly = 1 };
	static uint8_t want[SIZE];
	struct store *s;
	struct stat st;

	snprintf(src, sizeof(src), "%s/src.img", dir);
	snprintf(img, sizeof(img), "%s/image", dir);
	if (make_source(src, want) == -1 ||
	    (s = store_open(&store_file_ops, &p, NULL, err, sizeof(err))) ==
	    NULL) {
		ok(0, "source store: %s", err);
		return;
	}
	ok(commit_image(s, img, NULL, NULL, err, sizeof(err)) == 0,
	    "commit to a new file");
	ok(same_file(img, want), "... equal byte for byte, same length");
	ok(stat(img, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "... mode 0600");
	if (holes())
		ok(st.st_blocks * 512 <= SIZE - COMMIT_BLOCK - 8192,
		    "... sparse where zeroes: %lld bytes on disk",
		    (long long)st.st_blocks * 512);
	else
		ok(1, "# SKIP the filesystem of %s keeps no holes", dir);
	ok(count_files(".tmp-") == 0, "... no temporary file left");
	errno = 0;
	ok(commit_image(s, img, NULL, NULL, err, sizeof(err)) == -1 &&
	    errno == EEXIST && strstr(err, "image") != NULL,
	    "an existing file is refused, named: %s", err);
	ok(same_file(img, want), "... and left as it was");
	snprintf(img, sizeof(img), "%s/cancelled", dir);
	errno = 0;
	ok(commit_image(s, img, cancel_at_2, NULL, err, sizeof(err)) == -1 &&
	    errno == ECANCELED, "a cancelled commit fails");
	ok(access(img, F_OK) == -1 && count_files(".tmp-") == 0,
	    "... leaving neither the image nor a temporary file");
	snprintf(img, sizeof(img), "%s/raced", dir);
	errno = 0;
	ok(commit_image(s, img, take_name, img, err, sizeof(err)) == -1 &&
	    errno == EEXIST, "a name taken during the copy is not replaced");
	ok(stat(img, &st) == 0 && st.st_size == 0 &&
	    count_files(".tmp-") == 0, "... it stays as the other made it, "
	    "no temporary file left");
	snprintf(img, sizeof(img), "%s/nosuch/image", dir);
	ok(commit_image(s, img, NULL, NULL, err, sizeof(err)) == -1 &&
	    errno == ENOENT, "a missing folder fails: %s", err);
	store_close(s);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/unit_ovadm.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_names();
	test_days();
	test_commit();
	if (system(NULL) != 0) {
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", dir);
	}
	return done_testing();
}
