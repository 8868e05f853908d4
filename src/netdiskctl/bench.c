/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl bench: keeps qd requests in flight on each of --conns
 * connections for --time seconds and reports IOPS, throughput and
 * latency percentiles (from a log-linear histogram per connection).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "client.h"
#include "cmd.h"
#include "connect.h"
#include "crypto.h"
#include "pipe.h"
#include "pool.h"
#include "util.h"
#include "warn.h"

#define BENCH_DEFAULT_BS	4096
#define BENCH_DEFAULT_QD	32
#define BENCH_MAX_CONNS		64
#define BENCH_MAX_TIME		86400.0
#define BENCH_POLL_NS		50000000	/* checks for dead connections */

/* Log-linear histogram of nanoseconds: 16 linear steps per power of two. */
#define HIST_SUB_BITS		4
#define HIST_SUB		(1U << HIST_SUB_BITS)
#define HIST_NBUCKETS		((64 - HIST_SUB_BITS + 1) * HIST_SUB)

enum bench_mode { RANDREAD, RANDWRITE, SEQREAD, SEQWRITE };

static const char *mode_names[] = {
	[RANDREAD] = "randread", [RANDWRITE] = "randwrite",
	[SEQREAD] = "read", [SEQWRITE] = "write",
};

struct bench;

struct bench_conn {
	struct bench *b;
	struct client c;
	struct ctl_pool pool;
	struct ctl_pipe pipe;
	int pooled, piped;
	uint64_t rng;		/* xorshift64 state, never zero */
	uint64_t seq;		/* next block of the sequential modes */
	uint64_t ios;		/* receiver only */
	atomic_uint_fast64_t errors;	/* any thread that fails a slot */
	uint32_t first_error;	/* enum nd_error or CTL_ECONN */
	uint64_t first_off;
	uint64_t hist[HIST_NBUCKETS];
};

struct bench {
	enum bench_mode mode;
	uint32_t bs;
	unsigned qd, conns;
	double time;
	int json, destructive;
	struct ctl_args args;
	uint64_t nblocks;	/* bs-sized blocks in the export */
	atomic_int stop;
	struct bench_conn *cc;
	double elapsed;
};

static int
is_write_mode(enum bench_mode m)
{
	return m == RANDWRITE || m == SEQWRITE;
}

/* Histogram. */

static unsigned
hist_bucket(uint64_t v)
{
	unsigned msb;

	if (v < HIST_SUB)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	return (msb - HIST_SUB_BITS + 1) * HIST_SUB +
	    (unsigned)((v >> (msb - HIST_SUB_BITS)) & (HIST_SUB - 1));
}

/* The middle of a bucket's range. */
static uint64_t
hist_value(unsigned b)
{
	unsigned msb, sub;
	uint64_t width;

	if (b < HIST_SUB)
		return b;
	msb = b / HIST_SUB - 1 + HIST_SUB_BITS;
	sub = b % HIST_SUB;
	width = 1ULL << (msb - HIST_SUB_BITS);
	return (uint64_t)(HIST_SUB + sub) * width + width / 2;
}

static uint64_t
hist_percentile(const uint64_t *hist, uint64_t total, double p)
{
	uint64_t want = (uint64_t)((double)total * p + 0.999999), seen = 0;
	unsigned b;

	if (total == 0)
		return 0;
	for (b = 0; b < HIST_NBUCKETS; b++) {
		seen += hist[b];
		if (seen >= want)
			return hist_value(b);
	}
	return hist_value(HIST_NBUCKETS - 1);
}

/* Offsets. */

static uint64_t
xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint64_t
next_offset(struct bench_conn *bc)
{
	struct bench *b = bc->b;
	uint64_t blk;

	if (b->mode == RANDREAD || b->mode == RANDWRITE)
		blk = xorshift64(&bc->rng) % b->nblocks;
	else {
		blk = bc->seq;
		bc->seq = (bc->seq + 1) % b->nblocks;
	}
	return blk * b->bs;
}

static void
fill_slot(struct bench_conn *bc, struct ctl_slot *s)
{
	s->type = is_write_mode(bc->b->mode) ? ND_CMD_WRITE : ND_CMD_READ;
	s->flags = 0;
	s->offset = next_offset(bc);
	s->length = bc->b->bs;
}

/* Called by the connection's receiver: account, then go again. */
static void
bench_done(struct ctl_pipe *p, struct ctl_slot *s, void *arg)
{
	struct bench_conn *bc = arg;

	if (s->error == ND_OK) {
		bc->ios++;
		bc->hist[hist_bucket((uint64_t)(mono_ns() - s->sent_ns))]++;
	} else if (atomic_fetch_add(&bc->errors, 1) == 0) {
		bc->first_error = s->error;
		bc->first_off = s->offset;
	}
	if (s->error == CTL_ECONN || atomic_load(&bc->b->stop)) {
		ctl_pool_put(&bc->pool, s);
		return;
	}
	fill_slot(bc, s);
	ctl_pipe_submit(p, s);
}

/* Setup. */

static int
conn_checks(struct bench *b, const struct client *c)
{
	if (is_write_mode(b->mode) && (c->info.flags & ND_FLAG_READ_ONLY)) {
		ctl_warnx("%s: export is read-only", c->peer);
		return CLIENT_ERR_READONLY;
	}
	if (b->bs % c->info.min_block != 0 || b->bs > c->info.max_payload) {
		ctl_warnx("%s: --bs %u must be a multiple of the block size %u "
		    "and at most the max payload %u", c->peer, b->bs,
		    c->info.min_block, c->info.max_payload);
		return CLIENT_ERR_RANGE;
	}
	b->nblocks = c->info.size / b->bs;
	if (b->nblocks == 0) {
		ctl_warnx("%s: export size %" PRIu64 " is smaller than --bs %u",
		    c->peer, c->info.size, b->bs);
		return CLIENT_ERR_RANGE;
	}
	return CLIENT_OK;
}

static int
conn_open(struct bench *b, unsigned i, const char *uri,
    const struct ctl_keys *keys)
{
	struct bench_conn *bc = &b->cc[i];
	uint32_t opts = is_write_mode(b->mode) ? 0 : ND_OPT_READ_ONLY;
	int r;

	bc->b = b;
	if ((r = ctl_open(uri, keys, opts, &bc->c)) != CLIENT_OK)
		return r;
	if ((r = conn_checks(b, &bc->c)) != CLIENT_OK)
		return r;
	if (crypto_random(&bc->rng, sizeof(bc->rng)) == -1 || bc->rng == 0)
		bc->rng = 0x9e3779b97f4a7c15ULL + i;
	bc->seq = b->nblocks * i / b->conns;
	return CLIENT_OK;
}

static int
open_conns(struct bench *b, const char *uri)
{
	struct ctl_keys keys;
	unsigned i;
	int r;

	r = ctl_load_keys(&b->args, &uri, 1, &keys);
	for (i = 0; i < b->conns && r == CLIENT_OK; i++)
		r = conn_open(b, i, uri, &keys);
	crypto_wipe(&keys, sizeof(keys));
	return r;
}

static int
conn_start(struct bench *b, struct bench_conn *bc)
{
	unsigned i;

	if (ctl_pool_init(&bc->pool, b->qd, b->bs) == -1) {
		ctl_warn("bench buffers");
		return CLIENT_ERR_INTERNAL;
	}
	bc->pooled = 1;
	for (i = 0; i < b->qd && is_write_mode(b->mode); i++)
		if (crypto_random(bc->pool.slots[i].buf, b->bs) == -1)
			memset(bc->pool.slots[i].buf, 0xa5, b->bs);
	if (ctl_pipe_start(&bc->pipe, &bc->c, &bc->pool, bench_done, bc)) {
		ctl_warn("bench threads");
		return CLIENT_ERR_INTERNAL;
	}
	bc->piped = 1;
	return CLIENT_OK;
}

/* Offsets are drawn before the first submit: the receiver draws later. */
static void
conn_kick(struct bench *b, struct bench_conn *bc)
{
	struct ctl_slot *s, *list = NULL;
	unsigned i;

	for (i = 0; i < b->qd; i++) {
		s = ctl_pool_get(&bc->pool);
		fill_slot(bc, s);
		s->next = list;
		list = s;
	}
	while ((s = list) != NULL) {
		list = s->next;
		ctl_pipe_submit(&bc->pipe, s);
	}
}

/* 1 once every slot is back: only broken connections give them up. */
static int
all_conns_broken(struct bench *b)
{
	unsigned i;
	int v;

	for (i = 0; i < b->conns; i++)
		if (sem_getvalue(&b->cc[i].pool.avail, &v) == -1 ||
		    (unsigned)v < b->qd)
			return 0;
	return 1;
}

/* Until the deadline, or until no connection is left. */
static void
bench_wait(struct bench *b, int64_t deadline)
{
	struct timespec ts = { 0, 0 };
	int64_t left;

	while ((left = deadline - mono_ns()) > 0 && !all_conns_broken(b)) {
		ts.tv_nsec = left < BENCH_POLL_NS ? left : BENCH_POLL_NS;
		nanosleep(&ts, NULL);
	}
}

static int
bench_run(struct bench *b)
{
	int64_t start;
	unsigned i;
	int r = CLIENT_OK;

	for (i = 0; i < b->conns && r == CLIENT_OK; i++)
		r = conn_start(b, &b->cc[i]);
	if (r != CLIENT_OK)
		return r;
	start = mono_ns();
	for (i = 0; i < b->conns; i++)
		conn_kick(b, &b->cc[i]);
	bench_wait(b, start + (int64_t)(b->time * 1e9));
	atomic_store(&b->stop, 1);
	for (i = 0; i < b->conns; i++)
		ctl_pool_drain(&b->cc[i].pool);
	b->elapsed = (double)(mono_ns() - start) / 1e9;
	return CLIENT_OK;
}

static void
bench_teardown(struct bench *b)
{
	struct bench_conn *bc;
	unsigned i;

	for (i = 0; i < b->conns; i++) {
		bc = &b->cc[i];
		if (bc->piped)
			ctl_pipe_stop(&bc->pipe);
		if (bc->pooled)
			ctl_pool_free(&bc->pool);
		client_close(&bc->c);
	}
}

/* Results. */

struct bench_result {
	uint64_t ios, errors, p50, p99;
	double iops, mbps;
};

static void
bench_sum(struct bench *b, struct bench_result *res, uint64_t *hist)
{
	unsigned i, k;

	memset(res, 0, sizeof(*res));
	for (i = 0; i < b->conns; i++) {
		res->ios += b->cc[i].ios;
		res->errors += b->cc[i].errors;
		for (k = 0; k < HIST_NBUCKETS; k++)
			hist[k] += b->cc[i].hist[k];
	}
	res->p50 = (hist_percentile(hist, res->ios, 0.50) + 500) / 1000;
	res->p99 = (hist_percentile(hist, res->ios, 0.99) + 500) / 1000;
	if (b->elapsed > 0) {
		res->iops = (double)res->ios / b->elapsed;
		res->mbps = res->iops * b->bs / 1e6;
	}
}

/* One message for the first failed request, naming its connection. */
static void
report_first_error(struct bench *b)
{
	struct bench_conn *bc;
	unsigned i;
	int r;

	for (i = 0; i < b->conns; i++) {
		bc = &b->cc[i];
		if (bc->errors == 0)
			continue;
		r = (int)bc->first_error;
		if (bc->first_error == CTL_ECONN) {
			errno = bc->pipe.err;
			r = -1;
		}
		ctl_request_fail(&bc->c, is_write_mode(b->mode) ? "write" :
		    "read", bc->first_off, b->bs, r);
		return;
	}
}

static int
bench_report(struct bench *b)
{
	uint64_t *hist = calloc(HIST_NBUCKETS, sizeof(*hist));
	struct bench_result res;

	if (hist == NULL) {
		ctl_warn("histogram");
		return CLIENT_ERR_INTERNAL;
	}
	bench_sum(b, &res, hist);
	free(hist);
	if (b->json)
		printf("{\"rw\":\"%s\",\"bs\":%u,\"qd\":%u,\"conns\":%u,"
		    "\"seconds\":%.3f,\"ios\":%" PRIu64 ",\"iops\":%.0f,"
		    "\"mbps\":%.1f,\"lat_p50_us\":%" PRIu64 ","
		    "\"lat_p99_us\":%" PRIu64 ",\"errors\":%" PRIu64 "}\n",
		    mode_names[b->mode], b->bs, b->qd, b->conns, b->elapsed,
		    res.ios, res.iops, res.mbps, res.p50, res.p99, res.errors);
	else
		printf("rw=%s bs=%u qd=%u conns=%u time=%.1fs: %.0f IOPS, "
		    "%.1f MB/s, latency p50 %" PRIu64 " us, p99 %" PRIu64
		    " us%s\n", mode_names[b->mode], b->bs, b->qd, b->conns,
		    b->elapsed, res.iops, res.mbps, res.p50, res.p99,
		    res.errors ? ", with errors" : "");
	fflush(stdout);
	if (res.errors == 0)
		return CLIENT_OK;
	report_first_error(b);
	ctl_warnx("bench: %" PRIu64 " of %" PRIu64 " requests failed",
	    res.errors, res.errors + res.ios);
	return CLIENT_ERR_IO;
}

/* Command line. */

static int
parse_mode(const char *s, enum bench_mode *m)
{
	unsigned i;

	for (i = 0; i < sizeof(mode_names) / sizeof(mode_names[0]); i++) {
		if (strcmp(s, mode_names[i]) == 0) {
			*m = (enum bench_mode)i;
			return 0;
		}
	}
	ctl_warnx("--rw \"%s\" is not one of randread, randwrite, read, write",
	    s);
	return -1;
}

static int
parse_time(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end != s && *end == 's')
		end++;
	if (errno != 0 || end == s || *end != '\0' || !(v > 0) ||
	    v > BENCH_MAX_TIME) {
		ctl_warnx("--time \"%s\" is not a number of seconds above 0 "
		    "and at most 86400", s);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_bs(const char *s, uint32_t *out)
{
	uint64_t v;

	if (ctl_parse_size("--bs", s, &v) == -1)
		return -1;
	if (v == 0 || v > ND_MAX_PAYLOAD * 32ULL) {
		ctl_warnx("--bs \"%s\" must be from 1 to 32M", s);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static int
bench_opt(const struct ctl_cmd *cmd, struct bench *b, int ch, char **argv)
{
	long v;

	switch (ch) {
	case 'r':
		return parse_mode(optarg, &b->mode) ? CLIENT_ERR_USAGE : 0;
	case 'b':
		return parse_bs(optarg, &b->bs) ? CLIENT_ERR_USAGE : 0;
	case 'q':
		if (ctl_parse_int("--qd", optarg, 1, ND_MAX_INFLIGHT, &v))
			return CLIENT_ERR_USAGE;
		b->qd = (unsigned)v;
		return 0;
	case 'c':
		if (ctl_parse_int("--conns", optarg, 1, BENCH_MAX_CONNS, &v))
			return CLIENT_ERR_USAGE;
		b->conns = (unsigned)v;
		return 0;
	case 't':
		return parse_time(optarg, &b->time) ? CLIENT_ERR_USAGE : 0;
	case 'j':
		b->json = 1;
		return 0;
	case 'D':
		b->destructive = 1;
		return 0;
	}
	return ctl_common_opt(cmd, ch, argv, &b->args);
}

static int
bench_parse(const struct ctl_cmd *cmd, struct bench *b, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS, CTL_SERVER_KEY_LONGOPT,
		{ "rw", required_argument, NULL, 'r' },
		{ "bs", required_argument, NULL, 'b' },
		{ "qd", required_argument, NULL, 'q' },
		{ "conns", required_argument, NULL, 'c' },
		{ "time", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "destructive", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, r;

	while ((ch = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1)
		if ((r = bench_opt(cmd, b, ch, argv)) != CLIENT_OK)
			return r;
	if ((r = ctl_operands(cmd, argc, 1)) != CLIENT_OK)
		return r;
	if (is_write_mode(b->mode) && !b->destructive) {
		ctl_warnx("bench --rw %s overwrites and destroys the export's "
		    "data; add --destructive to go ahead", mode_names[b->mode]);
		return CLIENT_ERR_USAGE;
	}
	return CLIENT_OK;
}

static int
ctl_bench(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct bench *b;
	int r;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		ctl_warn("bench");
		return CLIENT_ERR_INTERNAL;
	}
	b->mode = RANDREAD;
	b->bs = BENCH_DEFAULT_BS;
	b->qd = BENCH_DEFAULT_QD;
	b->conns = 1;
	b->time = 10;
	if ((r = bench_parse(cmd, b, argc, argv)) == CLIENT_OK &&
	    (b->cc = calloc(b->conns, sizeof(*b->cc))) == NULL) {
		ctl_warn("bench");
		r = CLIENT_ERR_INTERNAL;
	}
	if (r == CLIENT_OK) {
		for (unsigned i = 0; i < b->conns; i++)
			b->cc[i].c.fd = -1;
		r = open_conns(b, argv[optind]);
	}
	if (r == CLIENT_OK && (r = bench_run(b)) == CLIENT_OK) {
		bench_teardown(b);
		r = bench_report(b);
	} else if (b->cc != NULL)
		bench_teardown(b);
	free(b->cc);
	free(b);
	return r;
}

const struct ctl_cmd ctl_bench_cmds[] = {
	{ "bench", ctl_bench, "[-k KEYFILE] [--server-key KEY] [--rw MODE] "
	    "[--bs SIZE] "
	    "[--qd N] [--conns N] [--time SECONDS] [--json] "
	    "[--destructive] URI" },
	{ NULL, NULL, NULL }
};
