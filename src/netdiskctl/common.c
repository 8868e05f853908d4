/*
 * What netdiskctl's subcommands share: messages, option parsing, the key,
 * connecting, and the pipelined I/O engine used by copy and bench.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "ctl.h"
#include "record.h"
#include "request.h"
#include "key.h"
#include "util.h"

#define CTL_PROGNAME	"netdiskctl"
/*
 * Requests the sender takes from the queue for one send, and the WRITE
 * data after which it takes no more: large requests gain nothing from
 * waiting for each other.
 */
#define CTL_TX_BATCH		64
#define CTL_TX_BATCH_BYTES	(256 * 1024)

/* A pipe's inflight[] by handle. */
enum { SLOT_IDLE, SLOT_INFLIGHT, SLOT_SENDING };

static void
vwarn_common(int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;

	fprintf(stderr, "%s: ", CTL_PROGNAME);
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
}

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_common(0, fmt, ap);
	va_end(ap);
}

void
ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_common(1, fmt, ap);
	va_end(ap);
}

int
ctl_usage(const struct ctl_cmd *cmd)
{
	fprintf(stderr, "usage: %s %s %s\n", CTL_PROGNAME, cmd->name,
	    cmd->synopsis);
	return CLIENT_ERR_USAGE;
}

int
ctl_common_opt(const struct ctl_cmd *cmd, int ch, char **argv,
    struct ctl_args *a)
{
	switch (ch) {
	case 'k':
		a->keyfile = optarg;
		return 0;
	case 'h':
		printf("usage: %s %s %s\n", CTL_PROGNAME, cmd->name,
		    cmd->synopsis);
		exit(0);
	case ':':
		ctl_warnx("%s: option %s needs an argument", cmd->name,
		    argv[optind - 1]);
		break;
	default:
		if (optopt != 0)
			ctl_warnx("%s: unknown option -%c", cmd->name, optopt);
		else
			ctl_warnx("%s: unknown option %s", cmd->name,
			    argv[optind - 1]);
		break;
	}
	return ctl_usage(cmd);
}

int
ctl_operands(const struct ctl_cmd *cmd, int argc, int n)
{
	if (argc - optind == n)
		return CLIENT_OK;
	ctl_warnx("%s: %s operands", cmd->name,
	    argc - optind < n ? "missing" : "too many");
	return ctl_usage(cmd);
}

int
ctl_parse_size(const char *what, const char *s, uint64_t *out)
{
	if (parse_size(s, out) == 0)
		return 0;
	ctl_warnx("%s \"%s\" is not a size (use 512, 64K, 1M, 10G)", what, s);
	return -1;
}

int
ctl_parse_int(const char *what, const char *s, long min, long max,
    long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		ctl_warnx("%s \"%s\" is not a number from %ld to %ld", what, s,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

const char *
ctl_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	uint64_t scale = 1;
	int u = 0;

	while (u < 6 && bytes / scale >= 1024) {
		scale *= 1024;
		u++;
	}
	if (bytes % scale == 0)
		snprintf(buf, len, "%" PRIu64 " %s", bytes / scale, units[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)scale,
		    units[u]);
	return buf;
}

int64_t
ctl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
ctl_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ctl_load_key(const struct ctl_args *a, uint8_t key[ND_KEY_LEN])
{
	const char *path = a->keyfile;
	char err[512];

	if (path == NULL)
		path = getenv("NETDISK_KEYFILE");
	if (path == NULL || *path == '\0') {
		ctl_warnx("no key: use -k KEYFILE or set NETDISK_KEYFILE");
		return CLIENT_ERR_USAGE;
	}
	if (key_load_file(path, key, err, sizeof(err)) == -1) {
		crypto_wipe(key, ND_KEY_LEN);
		ctl_warnx("%s", err);
		return CLIENT_ERR_USAGE;
	}
	return CLIENT_OK;
}

/*
 * One random client id per invocation, shared by all its connections;
 * each connection gets a slot of its own.
 */
static int
client_id(uint8_t id[ND_CLIENT_ID_LEN], uint16_t *conn)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint8_t ours[ND_CLIENT_ID_LEN];
	static int have;
	static uint16_t next;
	int r = 0;

	pthread_mutex_lock(&lock);
	if (!have && crypto_random(ours, sizeof(ours)) == 0)
		have = 1;
	if (!have)
		r = -1;
	else if (next >= ND_CONN_SLOTS)
		r = -2;
	else {
		memcpy(id, ours, sizeof(ours));
		*conn = next++;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

int
ctl_open(const char *uri, const uint8_t key[ND_KEY_LEN], uint32_t options,
    struct client *c)
{
	struct client_opts o;
	struct nd_uri u;
	char err[512];
	int r;

	if (uri_parse(uri, &u) == -1) {
		ctl_warnx("\"%s\" is not a netdisk URI "
		    "(netdisk://HOST[:PORT]/EXPORT)", uri);
		return CLIENT_ERR_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.key = key;
	o.options = options;
	if ((r = client_id(o.client_id, &o.conn)) == -2) {
		ctl_warnx("%s: more than %d connections", uri, ND_CONN_SLOTS);
		return CLIENT_ERR_USAGE;
	}
	if (r == -1) {
		ctl_warnx("cannot draw a random client id");
		return CLIENT_ERR_INTERNAL;
	}
	r = client_connect(c, &u, &o, err, sizeof(err));
	if (r != CLIENT_OK)
		ctl_warnx("%s", err);
	return r;
}

static int
conn_fail(const struct client *c, const char *cmd, uint64_t off)
{
	if (errno == EBADMSG) {
		ctl_warnx("%s: %s at offset %" PRIu64 ": protocol error: %s",
		    c->peer, cmd, off, strerror(errno));
		return CLIENT_ERR_PROTO;
	}
	if (errno == ECONNRESET || errno == EPROTO || errno == EPIPE)
		ctl_warnx("%s: %s at offset %" PRIu64 ": connection closed "
		    "by the server", c->peer, cmd, off);
	else
		ctl_warnx("%s: %s at offset %" PRIu64 ": connection lost: %s",
		    c->peer, cmd, off, strerror(errno));
	return CLIENT_ERR_IO;
}

int
ctl_request_fail(const struct client *c, const char *cmd, uint64_t off,
    uint64_t len, int r)
{
	switch (r) {
	case -1:
		return conn_fail(c, cmd, off);
	case ND_EPERM:
		ctl_warnx("%s: export is read-only", c->peer);
		break;
	case ND_EOVERFLOW:
		ctl_warnx("%s: %s offset %" PRIu64 " length %" PRIu64 ": out "
		    "of range (export size %" PRIu64 ")", c->peer, cmd, off,
		    len, c->info.size);
		break;
	case ND_EINVAL:
		ctl_warnx("%s: %s offset %" PRIu64 " length %" PRIu64 ": not "
		    "aligned to block size %u", c->peer, cmd, off, len,
		    c->info.min_block);
		break;
	default:
		ctl_warnx("%s: %s at offset %" PRIu64 ": %s", c->peer, cmd,
		    off, client_nd_strerror((uint32_t)r));
		break;
	}
	return client_err_from_nd((uint32_t)r);
}

/* The pool of slots: a semaphore counts the free ones. */

int
ctl_pool_init(struct ctl_pool *pool, unsigned n, size_t bufsize)
{
	unsigned i;

	memset(pool, 0, sizeof(*pool));
	pool->slots = calloc(n, sizeof(*pool->slots));
	if (pool->slots == NULL)
		return -1;
	pool->n = n;
	pthread_mutex_init(&pool->lock, NULL);
	sem_init(&pool->avail, 0, n);
	for (i = 0; i < n; i++) {
		pool->slots[i].idx = i;
		if (posix_memalign((void **)&pool->slots[i].buf, 4096,
		    bufsize) != 0) {
			ctl_pool_free(pool);
			errno = ENOMEM;
			return -1;
		}
		pool->slots[i].next = pool->free;
		pool->free = &pool->slots[i];
	}
	return 0;
}

void
ctl_pool_free(struct ctl_pool *pool)
{
	unsigned i;

	if (pool->slots == NULL)
		return;
	for (i = 0; i < pool->n; i++)
		free(pool->slots[i].buf);
	free(pool->slots);
	pool->slots = NULL;
	sem_destroy(&pool->avail);
	pthread_mutex_destroy(&pool->lock);
}

struct ctl_slot *
ctl_pool_get(struct ctl_pool *pool)
{
	struct ctl_slot *s;

	while (sem_wait(&pool->avail) == -1)
		;	/* EINTR */
	pthread_mutex_lock(&pool->lock);
	s = pool->free;
	pool->free = s->next;
	pthread_mutex_unlock(&pool->lock);
	s->next = NULL;
	s->error = ND_OK;
	return s;
}

void
ctl_pool_put(struct ctl_pool *pool, struct ctl_slot *s)
{
	pthread_mutex_lock(&pool->lock);
	s->next = pool->free;
	pool->free = s;
	pthread_mutex_unlock(&pool->lock);
	sem_post(&pool->avail);
}

void
ctl_pool_drain(struct ctl_pool *pool)
{
	unsigned i;

	for (i = 0; i < pool->n; i++)
		while (sem_wait(&pool->avail) == -1)
			;
	for (i = 0; i < pool->n; i++)
		sem_post(&pool->avail);
}

/*
 * The pipe: one connection, a sender and a receiver thread.
 *
 * The sender takes every request queued and sends them with one
 * record_sendv: as few records and system calls as they fit in.  The
 * receiver takes the replies from what one read brings; the requests its
 * completions queue again wake the sender only once no more replies are
 * at hand, so that they go out together.
 */

/* The pipe whose receiver this thread is, and whether it held a wakeup. */
static __thread struct ctl_pipe *rx_self;
static __thread int rx_held;

static void
pipe_break(struct ctl_pipe *p, int err)
{
	pthread_mutex_lock(&p->lock);
	if (!p->failed) {
		p->failed = 1;
		p->err = err;
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	shutdown(p->c->fd, SHUT_RDWR);	/* wakes the other thread */
}

static void
complete_list(struct ctl_pipe *p, struct ctl_slot *s)
{
	struct ctl_slot *next;

	for (; s != NULL; s = next) {
		next = s->next;
		s->next = NULL;
		s->error = CTL_ECONN;
		p->done(p, s, p->arg);
	}
}

void
ctl_pipe_submit(struct ctl_pipe *p, struct ctl_slot *s)
{
	s->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->failed) {
		pthread_mutex_unlock(&p->lock);
		complete_list(p, s);
		return;
	}
	if (p->qtail != NULL)
		p->qtail->next = s;
	else
		p->qhead = s;
	p->qtail = s;
	if (rx_self == p)
		rx_held = 1;	/* the receiver wakes the sender later */
	else
		pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

/*
 * The receiver, before it may wait: the sender gets what it held back.
 * Signalled without the lock, so the sender does not wake into a held
 * lock: it either saw the slots queued or was waiting already.
 */
static void
rx_kick(struct ctl_pipe *p)
{
	if (!rx_held)
		return;
	rx_held = 0;
	pthread_cond_broadcast(&p->cond);
}

/*
 * Under the lock: up to CTL_TX_BATCH queued slots, now in flight and
 * owned by the sender until it is done with them; 0 when it is done.
 */
static int
tx_take(struct ctl_pipe *p, struct ctl_slot **batch)
{
	struct ctl_slot *s;
	size_t bytes = 0;
	int64_t now;
	int n;

	while (p->qhead == NULL && !p->closing && !p->failed)
		pthread_cond_wait(&p->cond, &p->lock);
	if (p->failed)
		return 0;
	now = ctl_now_ns();
	for (n = 0; n < CTL_TX_BATCH && bytes < CTL_TX_BATCH_BYTES &&
	    (s = p->qhead) != NULL; n++) {
		if (s->type == ND_CMD_WRITE)
			bytes += s->length;
		p->qhead = s->next;
		s->next = NULL;
		s->sent_ns = now;
		p->inflight[s->idx] = SLOT_SENDING;
		p->ninflight++;
		batch[n] = s;
	}
	if (p->qhead == NULL)
		p->qtail = NULL;
	return n;
}

/* Sends the n requests (and WRITE payloads) of batch: 0 or -1 (errno). */
static int
tx_send(struct ctl_pipe *p, struct ctl_slot **batch, int n)
{
	struct nd_request w[CTL_TX_BATCH];
	struct iovec iov[2 * CTL_TX_BATCH];
	struct request q;
	int i, k = 0;

	for (i = 0; i < n; i++) {
		q = (struct request){ .flags = batch[i]->flags,
		    .type = batch[i]->type, .handle = batch[i]->idx,
		    .offset = batch[i]->offset, .length = batch[i]->length };
		request_encode(&q, &w[i]);
		iov[k].iov_base = &w[i];
		iov[k++].iov_len = sizeof(w[i]);
		if (q.type != ND_CMD_WRITE)
			continue;
		iov[k].iov_base = batch[i]->buf;
		iov[k++].iov_len = q.length;
	}
	return record_sendv(&p->c->rc, iov, k);
}

/*
 * After a send, under the lock: the slots still the sender's are in
 * flight, or if the pipe broke, failed (the receiver left them to us).
 */
static struct ctl_slot *
tx_sent(struct ctl_pipe *p, struct ctl_slot **batch, int n)
{
	struct ctl_slot *orphans = NULL;
	unsigned idx;
	int i;

	for (i = 0; i < n; i++) {
		idx = batch[i]->idx;
		if (p->inflight[idx] != SLOT_SENDING)
			continue;	/* answered already */
		if (!p->failed) {
			p->inflight[idx] = SLOT_INFLIGHT;
			continue;
		}
		p->inflight[idx] = SLOT_IDLE;
		p->ninflight--;
		batch[i]->next = orphans;
		orphans = batch[i];
	}
	return orphans;
}

static void *
tx_main(void *arg)
{
	struct ctl_pipe *p = arg;
	struct ctl_slot *batch[CTL_TX_BATCH], *orphans, *queued;
	int n;

	pthread_mutex_lock(&p->lock);
	while ((n = tx_take(p, batch)) > 0) {
		pthread_mutex_unlock(&p->lock);
		if (tx_send(p, batch, n) == -1)
			pipe_break(p, errno);
		pthread_mutex_lock(&p->lock);
		if ((orphans = tx_sent(p, batch, n)) != NULL) {
			pthread_mutex_unlock(&p->lock);
			complete_list(p, orphans);
			pthread_mutex_lock(&p->lock);
		}
	}
	queued = p->qhead;
	p->qhead = p->qtail = NULL;
	pthread_mutex_unlock(&p->lock);
	complete_list(p, queued);
	return NULL;
}

/* Fails every slot in flight except those the sender still holds. */
static void
rx_fail_inflight(struct ctl_pipe *p)
{
	struct ctl_slot *list = NULL, *s;
	unsigned i;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->pool->n; i++) {
		s = &p->pool->slots[i];
		if (p->inflight[i] != SLOT_INFLIGHT)
			continue;
		p->inflight[i] = SLOT_IDLE;
		p->ninflight--;
		s->next = list;
		list = s;
	}
	pthread_mutex_unlock(&p->lock);
	complete_list(p, list);
}

/*
 * 1 if the receiver has a reply to wait for: one in flight, or one
 * queued, which the sender will send (so the receiver need not wait
 * for the sender to wake it).
 */
static int
rx_wait(struct ctl_pipe *p)
{
	int more;

	rx_kick(p);
	pthread_mutex_lock(&p->lock);
	while (p->ninflight == 0 && p->qhead == NULL && !p->closing &&
	    !p->failed)
		pthread_cond_wait(&p->cond, &p->lock);
	more = !p->failed && (p->ninflight > 0 || p->qhead != NULL);
	pthread_mutex_unlock(&p->lock);
	return more;
}

/* Takes the slot a reply names out of flight; NULL for a bad handle. */
static struct ctl_slot *
rx_claim(struct ctl_pipe *p, uint64_t handle)
{
	struct ctl_slot *s = NULL;

	pthread_mutex_lock(&p->lock);
	if (handle < p->pool->n && p->inflight[handle] != SLOT_IDLE) {
		p->inflight[handle] = SLOT_IDLE;
		p->ninflight--;
		s = &p->pool->slots[handle];
	}
	pthread_mutex_unlock(&p->lock);
	return s;
}

/* Before the receiver reads len bytes that may not be here yet. */
static void
rx_need(struct ctl_pipe *p, size_t len)
{
	if (rx_held && !record_recv_ready(&p->c->rc, len))
		rx_kick(p);
}

/* Receives one reply (and READ data); 0, or -1 with errno. */
static int
rx_one(struct ctl_pipe *p)
{
	struct ctl_slot *s;
	uint64_t handle;
	uint32_t error;
	int r;

	rx_need(p, sizeof(struct nd_reply));
	r = client_recv_reply(p->c, &handle, &error);
	if (r != 1) {
		if (r == 0)
			errno = ECONNRESET;
		return -1;
	}
	if ((s = rx_claim(p, handle)) == NULL) {
		errno = EBADMSG;
		return -1;
	}
	s->error = error;
	if (s->type == ND_CMD_READ && error == ND_OK) {
		rx_need(p, s->length);
		if (client_recv_data(p->c, s->buf, s->length) == -1) {
			r = errno;
			complete_list(p, s);
			errno = r;
			return -1;
		}
	}
	p->done(p, s, p->arg);
	return 0;
}

static void *
rx_main(void *arg)
{
	struct ctl_pipe *p = arg;

	rx_self = p;
	while (rx_wait(p)) {
		if (rx_one(p) == -1) {
			pipe_break(p, errno);
			break;
		}
	}
	rx_kick(p);
	rx_self = NULL;
	rx_fail_inflight(p);
	return NULL;
}

static void
pipe_close(struct ctl_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	p->closing = 1;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

int
ctl_pipe_start(struct ctl_pipe *p, struct client *c, struct ctl_pool *pool,
    ctl_done_fn *done, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->c = c;
	p->pool = pool;
	p->done = done;
	p->arg = arg;
	p->inflight = calloc(pool->n, 1);
	if (p->inflight == NULL)
		return -1;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pthread_create(&p->tx, NULL, tx_main, p) != 0)
		goto fail;
	if (pthread_create(&p->rx, NULL, rx_main, p) != 0) {
		pipe_close(p);
		pthread_join(p->tx, NULL);
		goto fail;
	}
	return 0;
fail:
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->inflight);
	p->inflight = NULL;
	errno = EAGAIN;
	return -1;
}

void
ctl_pipe_stop(struct ctl_pipe *p)
{
	pipe_close(p);
	pthread_join(p->tx, NULL);
	pthread_join(p->rx, NULL);
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->lock);
	free(p->inflight);
	p->inflight = NULL;
}
