/* SPDX-License-Identifier: ISC */
/*
 * The attachments of an overlay export (overlays.h): one client id per
 * identity (busy for another), a reconnect of the same client id within
 * the hold keeps the overlay and its base, a fresh attach reopens it on
 * the current base applying base_changed, ephemeral overlays start empty
 * and go away, a corrupt overlay is refused, a hold that is over closes
 * the attachment (overlays_expire), the base identity is the file
 * opened.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "overlays.h"
#include "store_overlay.h"
#include "tap.h"

#define SIZE	(1024 * 1024)
#define BLK	4096

static char dir[256], base_path[300], base2_path[300], ovl_dir[300];
static uint8_t buf[BLK];

static int
make_base(const char *path, uint8_t fill)
{
	static uint8_t b[SIZE];
	int fd, r;

	memset(b, fill, sizeof(b));
	if ((fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600)) == -1)
		return -1;
	r = write(fd, b, sizeof(b)) == (ssize_t)sizeof(b) ? 0 : -1;
	close(fd);
	return r;
}

/* The first byte at off through st, or -1. */
static int
byte_at(struct store *st, uint64_t off)
{
	struct store_fault f;

	if (store_pread(st, buf, BLK, off, 0, &f) == -1)
		return -1;
	return buf[0];
}

static int
put_byte(struct store *st, uint64_t off, uint8_t v)
{
	struct store_fault f;

	memset(buf, v, sizeof(buf));
	return store_pwrite(st, buf, BLK, off, 0, &f);
}

static int
aside_count(const char *name)
{
	char pat[400];
	glob_t g;
	int n;

	snprintf(pat, sizeof(pat), "%s/%s.ovl.*", ovl_dir, name);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	n = (int)g.gl_pathc;
	globfree(&g);
	return n;
}

static void
conf_for(struct conf_export *ce, int ephemeral, int refuse, int hold)
{
	memset(ce, 0, sizeof(*ce));
	snprintf(ce->name, sizeof(ce->name), "gold");
	ce->path = base_path;
	ce->overlay_dir = ovl_dir;
	ce->overlay_ephemeral = ephemeral;
	ce->base_changed_refuse = refuse;
	ce->overlay_hold = hold;
}

static const uint8_t id1[ND_CLIENT_ID_LEN] = { 1 };
static const uint8_t id2[ND_CLIENT_ID_LEN] = { 2 };

static void
test_exclusive_and_reconnect(void)
{
	struct conf_export ce;
	struct overlays *o = overlays_new("gold");
	struct overlay_att *a, *b, *c;
	struct store *sa, *sb, *sc;
	struct store_fault f;
	uint8_t holder[ND_CLIENT_ID_LEN];

	conf_for(&ce, 0, 0, 60);
	ok(overlays_attach(o, &ce, "alice", id1, 0, &a, &sa, holder) ==
	    ND_HS_OK, "alice attaches from client id 1");
	ok(byte_at(sa, 0) == 0xb1, "she reads the base");
	ok(put_byte(sa, 0, 0xa1) == 0 && byte_at(sa, 0) == 0xa1,
	    "she reads her write");
	ok(store_pread(sa, buf, BLK, SIZE / 2, STORE_NOWAIT, &f) == 0 &&
	    buf[0] == 0xb1, "a read of the cached base may run inline "
	    "(STORE_NOWAIT)");
	ok(store_pread(sa, buf, BLK, 0, STORE_NOWAIT, &f) == -1 &&
	    f.error == EAGAIN, "a read of her own chunk goes to a worker "
	    "(EAGAIN)");
	ok(overlays_attach(o, &ce, "alice", id2, 0, &b, &sb, holder) ==
	    ND_HS_BUSY && memcmp(holder, id1, sizeof(holder)) == 0,
	    "alice from client id 2: busy, held by client id 1");
	ok(overlays_attach(o, &ce, "bob", id2, 0, &b, &sb, holder) ==
	    ND_HS_OK && byte_at(sb, 0) == 0xb1,
	    "bob attaches from client id 2 and reads the base");
	ok(overlays_attach(o, &ce, "alice", id1, 0, &c, &sc, holder) ==
	    ND_HS_OK && sc == sa, "a second session of client id 1 shares "
	    "alice's overlay");
	overlays_detach(o, c, id1, 0);
	overlays_detach(o, a, id1, 0);

	/* A new base is published (renamed over the path). */
	make_base(base2_path, 0xb2);
	ok(rename(base2_path, base_path) == 0, "a new base is published");
	ok(overlays_attach(o, &ce, "alice", id1, 0, &a, &sa, holder) ==
	    ND_HS_OK && byte_at(sa, 0) == 0xa1 && byte_at(sa, BLK) == 0xb1,
	    "alice reconnects from client id 1: her data and the old base");
	ok(aside_count("alice") == 0, "no overlay set aside");
	overlays_detach(o, a, id1, 0);
	ok(overlays_attach(o, &ce, "alice", id2, 0, &a, &sa, holder) ==
	    ND_HS_OK && byte_at(sa, 0) == 0xb2,
	    "alice from client id 2 (fresh): a new overlay on the new base");
	ok(aside_count("alice") == 1, "the old overlay was set aside");
	overlays_detach(o, a, id2, 0);
	ok(byte_at(sb, BLK) == 0xb1, "bob, still attached, reads the old base");
	overlays_detach(o, b, id2, 0);
	ok(overlays_count(o) == 2, "both stay attached for the hold");
	overlays_put(o);
}

static void
test_refuse_and_corrupt(void)
{
	struct conf_export ce;
	struct overlays *o = overlays_new("gold");
	struct overlay_att *a;
	struct store *sa;
	uint8_t holder[ND_CLIENT_ID_LEN];
	int fd;

	conf_for(&ce, 0, 1, 0);
	ok(overlays_attach(o, &ce, "carol", id1, 0, &a, &sa, holder) ==
	    ND_HS_OK && put_byte(sa, 0, 0xc1) == 0, "carol writes");
	overlays_detach(o, a, id1, 0);
	ok(overlays_count(o) == 0, "overlay_hold 0: closed at once");
	ce.base_generation = 5;
	ok(overlays_attach(o, &ce, "carol", id1, 0, &a, &sa, holder) ==
	    ND_HS_UNAVAILABLE, "another base generation, base_changed = "
	    "refuse: refused");
	ok(aside_count("carol") == 0, "... and her overlay is kept as it is");
	ce.base_generation = 0;
	fd = open("carol.ovl", O_WRONLY);
	ok(fd != -1 && pwrite(fd, "garbage!", 8, 200) == 8,
	    "carol's overlay is damaged");
	close(fd);
	ok(overlays_attach(o, &ce, "carol", id1, 0, &a, &sa, holder) ==
	    ND_HS_UNAVAILABLE, "a corrupt overlay is refused");
	overlays_put(o);
}

static void
test_ephemeral(void)
{
	struct conf_export ce;
	struct overlays *o = overlays_new("eph");
	struct overlay_att *a;
	struct store *sa;
	uint8_t holder[ND_CLIENT_ID_LEN];

	conf_for(&ce, 1, 0, 60);
	ok(overlays_attach(o, &ce, "dave", id1, 0, &a, &sa, holder) ==
	    ND_HS_OK && put_byte(sa, 0, 0xd1) == 0, "dave writes (ephemeral)");
	overlays_detach(o, a, id1, 0);
	ok(overlays_attach(o, &ce, "dave", id1, 0, &a, &sa, holder) ==
	    ND_HS_OK && byte_at(sa, 0) == 0xd1,
	    "a reconnect within the hold keeps his data");
	overlays_detach(o, a, id1, 0);
	ok(overlays_attach(o, &ce, "dave", id2, 0, &a, &sa, holder) ==
	    ND_HS_OK && byte_at(sa, 0) == 0xb2,
	    "a fresh attach starts empty");
	overlays_detach(o, a, id2, 0);
	overlays_put(o);
	ok(access("dave.ovl", F_OK) == -1 && errno == ENOENT,
	    "the ephemeral overlay is removed at close");
}

/* overlays_expire: the hold is a deadline, met without another attach. */
static void
test_expire(void)
{
	struct conf_export ce;
	struct overlays *o = overlays_new("eph");
	struct overlay_att *a;
	struct store *sa;
	uint8_t holder[ND_CLIENT_ID_LEN];
	int next;

	ok(overlays_expire(o) == -1, "nothing held: no deadline");
	conf_for(&ce, 1, 0, 1);
	ok(overlays_attach(o, &ce, "erin", id1, 0, &a, &sa, holder) ==
	    ND_HS_OK && put_byte(sa, 0, 0xe1) == 0, "erin writes (ephemeral, "
	    "overlay_hold 1)");
	ok(overlays_expire(o) == -1, "attached: no deadline");
	overlays_detach(o, a, id1, 0);
	next = overlays_expire(o);
	ok(next > 0 && next <= 1000 && overlays_count(o) == 1,
	    "detached: held, due in %d ms", next);
	ok(access("erin.ovl", F_OK) == 0, "... her file is there");
	conf_for(&ce, 0, 0, 3);
	ok(overlays_attach(o, &ce, "fred", id2, 0, &a, &sa, holder) ==
	    ND_HS_OK && put_byte(sa, 0, 0xf1) == 0, "fred writes (persistent, "
	    "overlay_hold 3)");
	overlays_detach(o, a, id2, 0);
	usleep((useconds_t)(next + 50) * 1000);
	next = overlays_expire(o);
	ok(overlays_count(o) == 1 && next > 0, "after erin's hold: hers "
	    "closed, fred's due in %d ms", next);
	ok(access("erin.ovl", F_OK) == -1 && errno == ENOENT,
	    "... her ephemeral overlay removed");
	usleep((useconds_t)(next + 50) * 1000);
	ok(overlays_expire(o) == -1 && overlays_count(o) == 0,
	    "after fred's: closed, nothing held");
	ok(access("fred.ovl", F_OK) == 0, "... his persistent overlay kept");
	conf_for(&ce, 0, 0, 1);
	ok(overlays_attach(o, &ce, "fred", id2, 0, &a, &sa, holder) ==
	    ND_HS_OK && byte_at(sa, 0) == 0xf1, "... with his data");
	overlays_detach(o, a, id2, 0);
	overlays_put(o);
}

/*
 * --wrap=open: once armed, the open of the base finds another file at
 * its path, put there just for that open and taken away after it (the
 * base replaced and replaced back: a stat before and after the open
 * sees the same file, which is not the one opened).
 */
static int swap_armed;
int __real_open(const char *, int, ...);
int __wrap_open(const char *, int, ...);

int
__wrap_open(const char *path, int flags, ...)
{
	char aside[400];
	mode_t mode = 0;
	va_list ap;
	int fd;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if (!swap_armed || strcmp(path, base_path) != 0)
		return __real_open(path, flags, mode);
	swap_armed = 0;
	snprintf(aside, sizeof(aside), "%s.aside", base_path);
	if (rename(base_path, aside) == -1 ||
	    rename(base2_path, base_path) == -1)
		return -1;
	fd = __real_open(path, flags, mode);
	if (rename(base_path, base2_path) == -1 ||
	    rename(aside, base_path) == -1)
		return -1;
	return fd;
}

/* The base identity an overlay records is the file opened (fstat). */
static void
test_base_identity(void)
{
	struct conf_export ce;
	struct overlays *o = overlays_new("gold");
	struct overlay_info info;
	struct overlay_att *a;
	struct store *sa;
	struct stat st;
	uint8_t holder[ND_CLIENT_ID_LEN];
	char err[512];

	conf_for(&ce, 0, 0, 0);
	ok(make_base(base2_path, 0xb3) == 0, "another base file");
	swap_armed = 1;
	ok(overlays_attach(o, &ce, "gina", id1, 0, &a, &sa, holder) ==
	    ND_HS_OK && !swap_armed && byte_at(sa, BLK) == 0xb3,
	    "gina attaches while the base is swapped for its open: she reads "
	    "the file opened");
	ok(stat(base2_path, &st) == 0 &&
	    overlay_info("gina.ovl", &info, err, sizeof(err)) == 0 &&
	    info.hdr.base.ino == (uint64_t)st.st_ino,
	    "her overlay records the identity of that file");
	overlays_detach(o, a, id1, 0);
	overlays_put(o);
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");

	log_init(1, LOG_DAEMON);
	log_setlevel(LOG_WARNING);
	snprintf(dir, sizeof(dir), "%s/unit_overlays.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL || chdir(dir) == -1) {
		printf("Bail out! mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(base_path, sizeof(base_path), "%s/base.img", dir);
	snprintf(base2_path, sizeof(base2_path), "%s/base2.img", dir);
	snprintf(ovl_dir, sizeof(ovl_dir), "%s", dir);
	if (make_base(base_path, 0xb1) == -1) {
		printf("Bail out! %s: %s\n", base_path, strerror(errno));
		return 1;
	}
	test_exclusive_and_reconnect();
	test_refuse_and_corrupt();
	test_ephemeral();
	test_expire();
	test_base_identity();
	if (system("rm -rf -- \"$PWD\"") != 0)
		printf("# could not remove %s\n", dir);
	return done_testing();
}
