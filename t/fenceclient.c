/* SPDX-License-Identifier: ISC */
/*
 * fenceclient: the client half of t/fence.sh.  It drives netdiskd (run
 * under t/storefault.so) through a broken connection while the export's
 * store is stalled, and reports what the server let through.
 *
 *   fenceclient -k KEYFILE -d STOREFAULT_DIR stale|queued|slots URI
 *   fenceclient pattern A|B|C|D   one block of the pattern, to stdout
 *
 * stale:
 * Connection 1 writes pattern A to block 0 while the store is stalled (a
 * plain page-aligned WRITE: the session's reader runs it itself, so it
 * is executing once STOREFAULT_DIR/stalled exists), queues WRITEs of
 * pattern A to blocks 1..QUEUED behind it, then drops the connection
 * without DISCONNECT.  Connection 2, same client id, tries to connect
 * while the store is still stalled, then (the stall removed) writes
 * pattern B to block 0 and reads it back.  Lines on stdout:
 *
 *   reconnect while stalled: admitted | refused
 *   write B: ok | error ...
 *   read back: B | A | other
 *
 * The caller checks the backing file afterwards: block 0 holds B, blocks
 * 1..QUEUED are unwritten.
 *
 * queued: one connection sends MANY FUA WRITEs of pattern A to blocks
 * 10..10+MANY-1 while the store is stalled (the reader hands them to the
 * worker threads, fewer than MANY, which stall in the store), then ends
 * its stream (shutdown for writing: the server's reader meets the end of
 * the stream, while replies could still be sent); a moment later the
 * stall is removed, and later still the connection closed.  The caller
 * checks that only as many blocks as there are workers (at most 32) got
 * written.
 *
 * slots: connections in slots 0 and 1 of one client id; slot 1 writes C
 * to block 60 while the store is stalled; slot 0 is dropped and
 * reconnects.  Lines:
 *
 *   slot 0 reconnect while slot 1 stalled: admitted | refused
 *   slot 1 write: ok | error ...
 *   slot 1 read back: C | other
 *   slot 0 write and read back: ok | error ...
 *
 * Exit 0 if the run went through, 1 if a step failed, 2 on a usage error.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "key.h"
#include "util.h"

#define BLOCK		4096
#define QUEUED		8		/* writes queued behind it */
#define MANY		40		/* FUA writes: more than the workers */
#define MANY_FIRST	10		/* their first block */
#define SLOT_BLOCK	60		/* slot 1: C here; slot 0: D after */
#define STALL_WAIT_MS	10000
#define STALLED_TIMEOUT	5		/* s: connect while stalled */
#define CONNECT_TIMEOUT	15		/* s: once the stall is over */

struct fc {
	struct nd_uri u;
	struct client_opts opts;
	const char *dir;		/* STOREFAULT_DIR */
};

static void
fill(uint8_t *buf, uint8_t seed)
{
	size_t i;

	for (i = 0; i < BLOCK; i++)
		buf[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static int
ctl_path(const struct fc *f, const char *name, char *path, size_t len)
{
	if ((size_t)snprintf(path, len, "%s/%s", f->dir, name) >= len) {
		fprintf(stderr, "fenceclient: %s/%s: path too long\n", f->dir,
		    name);
		return -1;
	}
	return 0;
}

static int
stall_set(const struct fc *f, int on)
{
	char path[4096];
	int fd;

	if (ctl_path(f, "stall", path, sizeof(path)) == -1)
		return -1;
	if (!on)
		return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "fenceclient: %s: %s\n", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/* Wait until a store call is blocked in the stall. */
static int
stall_wait(const struct fc *f)
{
	int64_t end = mono_ms() + STALL_WAIT_MS;
	char path[4096];

	if (ctl_path(f, "stalled", path, sizeof(path)) == -1)
		return -1;
	while (access(path, F_OK) == -1) {
		if (mono_ms() > end) {
			fprintf(stderr, "fenceclient: %s did not appear in "
			    "%d ms\n", path, STALL_WAIT_MS);
			return -1;
		}
		usleep(10000);
	}
	return 0;
}

static int
fc_connect(struct fc *f, struct client *c, int timeout, int quiet)
{
	char err[512];
	int r;

	f->opts.timeout = timeout;
	f->opts.conn = 0;
	r = client_connect(c, &f->u, &f->opts, err, sizeof(err));
	if (r != CLIENT_OK && !quiet)
		fprintf(stderr, "fenceclient: %s\n", err);
	if (r != CLIENT_OK && quiet)
		printf("# %s\n", err);
	return r == CLIENT_OK ? 0 : -1;
}

/* Break the connection as a crash would: no DISCONNECT, no waiting. */
static void
fc_drop(struct client *c)
{
	record_free(&c->rc);
	close(c->fd);
	c->fd = -1;
}

/* Connection 1: A to block 0 stalled, QUEUED writes behind it, dropped. */
static int
fc_old_session(struct fc *f)
{
	struct client c;
	uint8_t a[BLOCK];
	uint64_t i;

	if (fc_connect(f, &c, CONNECT_TIMEOUT, 0) == -1)
		return -1;
	fill(a, 'A');
	if (stall_set(f, 1) == -1 ||
	    client_send(&c, ND_CMD_WRITE, 0, 1, 0, BLOCK, a) == -1 ||
	    stall_wait(f) == -1)
		goto fail;
	for (i = 1; i <= QUEUED; i++)
		if (client_send(&c, ND_CMD_WRITE, 0, 1 + i, i * BLOCK, BLOCK,
		    a) == -1)
			goto fail;
	fc_drop(&c);
	return 0;
fail:
	fprintf(stderr, "fenceclient: first connection: %s\n",
	    strerror(errno));
	fc_drop(&c);
	return -1;
}

/* Write B to block 0 on c; the stall is removed once B was sent. */
static int
fc_write_b(struct fc *f, struct client *c, const uint8_t *b)
{
	uint64_t handle;
	uint32_t error;

	if (client_send(c, ND_CMD_WRITE, 0, 1, 0, BLOCK, b) == -1 ||
	    stall_set(f, 0) == -1 ||
	    client_recv_reply(c, &handle, &error) != 1) {
		printf("write B: error: connection: %s\n", strerror(errno));
		return -1;
	}
	if (error != ND_OK) {
		printf("write B: error: %s\n", client_nd_strerror(error));
		return -1;
	}
	printf("write B: ok\n");
	return 0;
}

static int
fc_read_back(struct client *c, const uint8_t *a, const uint8_t *b)
{
	uint8_t got[BLOCK];
	int r;

	if ((r = client_read(c, 0, BLOCK, got)) != 0) {
		printf("read back: error %d\n", r);
		return -1;
	}
	printf("read back: %s\n", memcmp(got, b, BLOCK) == 0 ? "B" :
	    memcmp(got, a, BLOCK) == 0 ? "A" : "other");
	return 0;
}

static int
fc_stale(struct fc *f)
{
	struct client c;
	uint8_t a[BLOCK], b[BLOCK];
	int admitted, rv = 0;

	fill(a, 'A');
	fill(b, 'B');
	if (fc_old_session(f) == -1)
		return 1;
	admitted = fc_connect(f, &c, STALLED_TIMEOUT, 1) == 0;
	printf("reconnect while stalled: %s\n", admitted ? "admitted" :
	    "refused");
	fflush(stdout);
	if (!admitted && (stall_set(f, 0) == -1 ||
	    fc_connect(f, &c, CONNECT_TIMEOUT, 0) == -1))
		return 1;
	if (fc_write_b(f, &c, b) == -1 || fc_read_back(&c, a, b) == -1)
		rv = 1;
	client_close(&c);
	return rv;
}

/* MANY FUA writes, more than the workers, on a stalled store; dropped. */
static int
fc_queued(struct fc *f)
{
	struct client c;
	uint8_t a[BLOCK];
	uint64_t i;

	fill(a, 'A');
	if (fc_connect(f, &c, CONNECT_TIMEOUT, 0) == -1)
		return 1;
	if (stall_set(f, 1) == -1)
		goto fail;
	for (i = 0; i < MANY; i++)
		if (client_send(&c, ND_CMD_WRITE, ND_CMD_FLAG_FUA, 1 + i,
		    (MANY_FIRST + i) * BLOCK, BLOCK, a) == -1)
			goto fail;
	if (stall_wait(f) == -1 || shutdown(c.fd, SHUT_WR) == -1)
		goto fail;
	usleep(1000000);	/* the reader meets the end of the stream */
	if (stall_set(f, 0) == -1)
		goto fail;
	usleep(500000);		/* what runs, runs */
	fc_drop(&c);
	return 0;
fail:
	fprintf(stderr, "fenceclient: queued writes: %s\n", strerror(errno));
	fc_drop(&c);
	stall_set(f, 0);
	return 1;
}

/* Connect in a slot; quiet failures are printed as TAP comments. */
static int
fc_connect_slot(struct fc *f, struct client *c, uint16_t conn, int timeout,
    int quiet)
{
	char err[512];
	int r;

	f->opts.timeout = timeout;
	f->opts.conn = conn;
	r = client_connect(c, &f->u, &f->opts, err, sizeof(err));
	if (r != CLIENT_OK)
		fprintf(quiet ? stdout : stderr, "%s%s\n",
		    quiet ? "# " : "fenceclient: ", err);
	return r == CLIENT_OK ? 0 : -1;
}

/* Slot 1's stalled write, answered once the stall is removed. */
static int
fc_slot1_finish(struct fc *f, struct client *c1, const uint8_t *cc)
{
	uint8_t got[BLOCK];
	uint64_t handle;
	uint32_t error;
	int r;

	if (stall_set(f, 0) == -1 ||
	    client_recv_reply(c1, &handle, &error) != 1) {
		printf("slot 1 write: error: connection: %s\n",
		    strerror(errno));
		return -1;
	}
	if (error != ND_OK) {
		printf("slot 1 write: error: %s\n", client_nd_strerror(error));
		return -1;
	}
	printf("slot 1 write: ok\n");
	if ((r = client_read(c1, SLOT_BLOCK * BLOCK, BLOCK, got)) != 0) {
		printf("slot 1 read back: error %d\n", r);
		return -1;
	}
	printf("slot 1 read back: %s\n", memcmp(got, cc, BLOCK) == 0 ? "C" :
	    "other");
	return 0;
}

/* Slot 0, reconnected: D to the block after slot 1's, read back. */
static int
fc_slot0_check(struct client *c0)
{
	uint8_t d[BLOCK], got[BLOCK];
	uint64_t off = (SLOT_BLOCK + 1) * BLOCK;
	int r;

	fill(d, 'D');
	if ((r = client_write(c0, off, BLOCK, d, 0)) != 0 ||
	    (r = client_read(c0, off, BLOCK, got)) != 0) {
		printf("slot 0 write and read back: error %d\n", r);
		return -1;
	}
	printf("slot 0 write and read back: %s\n", memcmp(got, d, BLOCK) ?
	    "error: wrong data" : "ok");
	return 0;
}

static int
fc_slots(struct fc *f)
{
	struct client c0, c1;
	uint8_t cc[BLOCK];
	int admitted, rv = 0;

	fill(cc, 'C');
	if (fc_connect_slot(f, &c0, 0, CONNECT_TIMEOUT, 0) == -1)
		return 1;
	if (fc_connect_slot(f, &c1, 1, CONNECT_TIMEOUT, 0) == -1) {
		client_close(&c0);
		return 1;
	}
	if (stall_set(f, 1) == -1 || client_send(&c1, ND_CMD_WRITE, 0, 1,
	    SLOT_BLOCK * BLOCK, BLOCK, cc) == -1 || stall_wait(f) == -1) {
		fprintf(stderr, "fenceclient: slot 1: %s\n", strerror(errno));
		stall_set(f, 0);
		return 1;
	}
	fc_drop(&c0);
	admitted = fc_connect_slot(f, &c0, 0, STALLED_TIMEOUT, 1) == 0;
	printf("slot 0 reconnect while slot 1 stalled: %s\n", admitted ?
	    "admitted" : "refused");
	if (fc_slot1_finish(f, &c1, cc) == -1)
		rv = 1;
	if (!admitted &&
	    fc_connect_slot(f, &c0, 0, CONNECT_TIMEOUT, 0) == -1)
		rv = 1;
	else if (fc_slot0_check(&c0) == -1)
		rv = 1;
	client_close(&c0);	/* nothing if it is not connected */
	client_close(&c1);
	return rv;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fenceclient -k KEYFILE -d STOREFAULT_DIR "
	    "stale|queued|slots URI\n"
	    "       fenceclient pattern A|B|C|D\n");
	exit(2);
}

static int
fc_pattern(const char *which)
{
	uint8_t buf[BLOCK];

	if (strlen(which) != 1 || strchr("ABCD", which[0]) == NULL)
		usage();
	fill(buf, (uint8_t)which[0]);
	return fwrite(buf, BLOCK, 1, stdout) == 1 && fflush(stdout) == 0 ?
	    0 : 1;
}

int
main(int argc, char *argv[])
{
	struct fc f;
	uint8_t key[ND_KEY_LEN];
	const char *keyfile = NULL;
	const char *mode;
	char err[512];
	int ch, rv;

	memset(&f, 0, sizeof(f));
	if (argc == 3 && strcmp(argv[1], "pattern") == 0)
		return fc_pattern(argv[2]);
	while ((ch = getopt(argc, argv, "d:k:")) != -1) {
		switch (ch) {
		case 'd':
			f.dir = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 2 || keyfile == NULL || f.dir == NULL ||
	    uri_parse(argv[optind + 1], &f.u) == -1)
		usage();
	mode = argv[optind];
	if (strcmp(mode, "stale") != 0 && strcmp(mode, "queued") != 0 &&
	    strcmp(mode, "slots") != 0)
		usage();
	if (key_load_file(keyfile, key, err, sizeof(err)) == -1) {
		fprintf(stderr, "fenceclient: %s\n", err);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	f.opts.key = key;
	crypto_random(f.opts.client_id, sizeof(f.opts.client_id));
	if (strcmp(mode, "stale") == 0)
		rv = fc_stale(&f);
	else if (strcmp(mode, "queued") == 0)
		rv = fc_queued(&f);
	else
		rv = fc_slots(&f);
	crypto_wipe(key, sizeof(key));
	return rv;
}
