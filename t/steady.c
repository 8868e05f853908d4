/* SPDX-License-Identifier: ISC */
/*
 * steady: a netdisk client that keeps writing and reading back one
 * export, checking every byte, for the reload and restart tests.
 *
 *   steady [-r] [-m MIB] -k KEYFILE -f STOPFILE URI
 *
 * It writes 4 KiB blocks with a pattern that depends on the block and a
 * generation number and reads random blocks back, comparing those whose
 * content it knows, until STOPFILE exists.  One client id for the whole
 * run.  Without -r a broken connection is a failure; with -r it
 * reconnects (a fresh handshake) and goes on, forgetting the block a
 * write was in flight to.  Every connection prints a line
 *   connected: size N readonly 0|1
 * and the end a summary
 *   steady: N writes, N reads, N verified, N failures, N reconnects
 * Exit 0 if nothing failed, 1 otherwise, 2 on a usage error.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "key.h"

#define BLOCK		4096
#define RECONNECT_SECS	30

struct steady {
	struct nd_uri u;
	struct client_opts opts;
	struct client c;
	int connected;
	uint32_t nblocks;
	uint32_t *gen;			/* 0: content unknown */
	uint64_t rng;
	unsigned long writes, reads, verified, failures, reconnects;
};

static uint64_t
rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
pattern(uint32_t block, uint32_t gen, uint8_t *buf)
{
	uint64_t s = ((uint64_t)block << 32) | gen, v;
	size_t i;

	for (i = 0; i < BLOCK; i += 8) {
		v = rng_next(&s);
		memcpy(buf + i, &v, 8);
	}
}

static int
steady_connect(struct steady *st)
{
	char err[512];
	int r;

	r = client_connect(&st->c, &st->u, &st->opts, err, sizeof(err));
	if (r != CLIENT_OK) {
		fprintf(stderr, "steady: %s\n", err);
		return -1;
	}
	st->connected = 1;
	printf("connected: size %llu readonly %d\n",
	    (unsigned long long)st->c.info.size,
	    (st->c.info.flags & ND_FLAG_READ_ONLY) != 0);
	fflush(stdout);
	return 0;
}

/* After a broken connection: reconnect if allowed.  0 to go on. */
static int
steady_broken(struct steady *st, int reconnect, const char *what)
{
	time_t end = time(NULL) + RECONNECT_SECS;

	fprintf(stderr, "steady: %s: connection broken: %s\n", what,
	    strerror(errno));
	client_close(&st->c);
	st->connected = 0;
	if (!reconnect) {
		st->failures++;
		return -1;
	}
	while (time(NULL) < end) {
		if (steady_connect(st) == 0) {
			st->reconnects++;
			return 0;
		}
		usleep(200000);
	}
	st->failures++;
	return -1;
}

/* One write and one read: 0, or -1 to stop. */
static int
steady_step(struct steady *st, int reconnect)
{
	uint8_t buf[BLOCK], want[BLOCK];
	uint32_t b = (uint32_t)(rng_next(&st->rng) % st->nblocks);
	uint32_t g = (uint32_t)rng_next(&st->rng) | 1;
	int r;

	pattern(b, g, buf);
	st->gen[b] = 0;			/* unknown until the reply */
	if ((r = client_write(&st->c, (uint64_t)b * BLOCK, BLOCK, buf, 0)) < 0)
		return steady_broken(st, reconnect, "write");
	st->writes++;
	if (r != 0) {
		fprintf(stderr, "steady: write of block %u: %s\n", b,
		    client_nd_strerror((uint32_t)r));
		st->failures++;
	} else
		st->gen[b] = g;
	b = (uint32_t)(rng_next(&st->rng) % st->nblocks);
	if ((r = client_read(&st->c, (uint64_t)b * BLOCK, BLOCK, buf)) < 0)
		return steady_broken(st, reconnect, "read");
	st->reads++;
	if (r != 0) {
		fprintf(stderr, "steady: read of block %u: %s\n", b,
		    client_nd_strerror((uint32_t)r));
		st->failures++;
	} else if (st->gen[b] != 0) {
		pattern(b, st->gen[b], want);
		if (memcmp(buf, want, BLOCK) != 0) {
			fprintf(stderr, "steady: block %u: wrong data\n", b);
			st->failures++;
		} else
			st->verified++;
	}
	return 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: steady [-r] [-m MIB] -k KEYFILE -f STOPFILE "
	    "URI\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	struct steady st;
	uint8_t key[ND_KEY_LEN];
	const char *keyfile = NULL, *stop = NULL;
	char err[512];
	long mib = 4;
	int ch, reconnect = 0;

	memset(&st, 0, sizeof(st));
	while ((ch = getopt(argc, argv, "f:k:m:r")) != -1) {
		switch (ch) {
		case 'f':
			stop = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'm':
			mib = strtol(optarg, NULL, 10);
			break;
		case 'r':
			reconnect = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || keyfile == NULL || stop == NULL ||
	    mib < 1 || mib > 1024 || uri_parse(argv[optind], &st.u) == -1)
		usage();
	if (key_load_file(keyfile, key, err, sizeof(err)) == -1) {
		fprintf(stderr, "steady: %s\n", err);
		return 2;
	}
	st.opts.key = key;
	crypto_random(st.opts.client_id, sizeof(st.opts.client_id));
	crypto_random(&st.rng, sizeof(st.rng));
	if (steady_connect(&st) == -1)
		return 1;
	st.nblocks = (uint32_t)((uint64_t)mib * 1048576 / BLOCK);
	if ((uint64_t)st.nblocks * BLOCK > st.c.info.size)
		st.nblocks = (uint32_t)(st.c.info.size / BLOCK);
	if (st.nblocks == 0 || (st.gen = calloc(st.nblocks,
	    sizeof(*st.gen))) == NULL) {
		fprintf(stderr, "steady: export too small or out of memory\n");
		return 1;
	}
	while (access(stop, F_OK) == -1 && steady_step(&st, reconnect) == 0)
		;
	if (st.connected)
		client_close(&st.c);
	crypto_wipe(key, sizeof(key));
	printf("steady: %lu writes, %lu reads, %lu verified, %lu failures, "
	    "%lu reconnects\n", st.writes, st.reads, st.verified, st.failures,
	    st.reconnects);
	free(st.gen);
	return st.failures == 0 ? 0 : 1;
}
