/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "export.h"
#include "log.h"
#include "protocol.h"
#include "request.h"
#include "session.h"
#include "util.h"
#include "workq.h"

#define KEEPALIVE_IDLE		60	/* seconds */
#define KEEPALIVE_INTVL		10
#define KEEPALIVE_CNT		6
/*
 * Longest wait for the fenced sessions of a slot to drain, unless half
 * the handshake timeout is shorter.
 */
#define FENCE_WAIT_MS		2000

/*
 * One request from the reader to the reply queue, maybe through the
 * worker queue.  It counts in the session's inflight until it is sent.
 */
struct sess_req {
	struct workq_job job;		/* first */
	STAILQ_ENTRY(sess_req) next;	/* in the reply queue */
	struct session *s;
	struct request req;
	/* Once answered: the protocol's reply header, hdrlen bytes. */
	uint8_t hdr[PROTO_REPLY_HDR_MAX] __attribute__((aligned(8)));
	uint32_t hdrlen;
	uint32_t rlen;			/* bytes of data after the reply */
	uint32_t len;			/* of data */
	/* READ result or WRITE payload; aligned for the copies. */
	uint8_t data[] __attribute__((aligned(16)));
};

static void *sess_main(void *);

/* Socket helpers. */

static void
sess_timeouts(int fd, int rcv_sec, int snd_sec)
{
	struct timeval rcv = { rcv_sec, 0 }, snd = { snd_sec, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcv, sizeof(rcv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &snd, sizeof(snd));
}

static void
sess_sockopts(int fd)
{
	int on = 1, idle = KEEPALIVE_IDLE, intvl = KEEPALIVE_INTVL;
	int cnt = KEEPALIVE_CNT;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

const char *
session_stop_why(struct session *s)
{
	int stopping, fenced, error;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	fenced = s->fenced;
	pthread_mutex_unlock(&s->lock);
	if (fenced)
		return "superseded by a newer connection of the client's slot";
	if (stopping && s->export != NULL && atomic_load(&s->export->retired)) {
		snprintf(s->why, sizeof(s->why), "export %s",
		    s->export->retired_why);
		return s->why;
	}
	if (stopping && atomic_load(&s->kicked) != NULL)
		return atomic_load(&s->kicked);
	if (stopping && atomic_load(&s->revoked)) {
		snprintf(s->why, sizeof(s->why), "client \"%s\": key removed "
		    "or changed, or no longer allowed on the export",
		    s->identity);
		return s->why;
	}
	if (stopping)
		return "server shutting down";
	if ((error = atomic_load(&s->send_error)) == 0)
		return NULL;
	snprintf(s->why, sizeof(s->why), "cannot send a reply: %s",
	    strerror(error));
	return s->why;
}

const char *
session_read_why(struct session *s, int r, const char *what)
{
	int error = errno;
	const char *why;

	if ((why = session_stop_why(s)) != NULL)
		return why;
	if (r == 0)
		return "client closed the connection";
	if (error == EBADMSG)
		return "bad record";
	if (error == ETIMEDOUT)
		snprintf(s->why, sizeof(s->why), "%s: handshake timed out "
		    "(handshake_timeout %d s)", what, s->hs_timeout);
	else if (error == EAGAIN || error == EWOULDBLOCK)
		snprintf(s->why, sizeof(s->why), "%s timed out", what);
	else if (error == EPROTO)
		snprintf(s->why, sizeof(s->why), "%s truncated", what);
	else
		snprintf(s->why, sizeof(s->why), "%s: %s", what,
		    strerror(error));
	return s->why;
}

const char *
session_trunc_why(struct session *s, int r, const char *what)
{
	if (r == 0)
		errno = EPROTO;
	return session_read_why(s, -1, what);
}

/* Fencing. */

/* Called with the export's claims locked, by a newer session of the slot. */
static void
sess_slot_fence(struct claim_slot *slot)
{
	struct session *s = (struct session *)((char *)slot -
	    offsetof(struct session, slot));
	int first;

	pthread_mutex_lock(&s->lock);
	first = !s->fenced;
	s->fenced = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (first)
		log_info("%s: fenced: a newer connection of the client took "
		    "slot %u", s->peer, slot->conn);
	shutdown(s->fd, SHUT_RDWR);
}

static int
sess_slot_drained(struct claim_slot *slot)
{
	struct session *s = (struct session *)((char *)slot -
	    offsetof(struct session, slot));
	int drained;

	pthread_mutex_lock(&s->lock);
	drained = s->fenced && s->executing == 0;
	pthread_mutex_unlock(&s->lock);
	return drained;
}

/* The session starts no more requests: its client has gone. */
static void
sess_fence(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	s->fenced = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/* Before a request touches the store: 0, or -1 if the session is fenced. */
static int
sess_begin(struct session *s)
{
	int r = -1;

	pthread_mutex_lock(&s->lock);
	if (!s->fenced) {
		s->executing++;
		r = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static void
sess_end(struct session *s)
{
	int drained;

	pthread_mutex_lock(&s->lock);
	s->executing--;
	drained = s->fenced && s->executing == 0;
	pthread_mutex_unlock(&s->lock);
	if (drained)
		export_slot_drained(s->export);
}

/* Take the client's slot once its older sessions drained: nd_hs_status. */
static uint32_t
sess_take_slot(struct session *s, unsigned conn)
{
	int wait_ms = s->hs_timeout * 1000 / 2;
	char hex[2 * ND_CLIENT_ID_LEN + 1];
	uint32_t status;

	memcpy(s->slot.id, s->client_id, ND_CLIENT_ID_LEN);
	s->slot.conn = (uint16_t)conn;
	s->slot.fence = sess_slot_fence;
	s->slot.drained = sess_slot_drained;
	if (wait_ms > FENCE_WAIT_MS)
		wait_ms = FENCE_WAIT_MS;
	status = export_slot_enter(s->export, &s->slot, wait_ms);
	s->slotted = status == ND_HS_OK;
	if (status == ND_HS_RETRY) {
		hex_format(s->client_id, ND_CLIENT_ID_LEN, hex);
		log_info("%s: export \"%s\": client %s slot %u: an earlier "
		    "session still executes requests after %d ms", s->peer,
		    s->export->conf.name, hex, conn, wait_ms);
	}
	return status;
}

/* Claim the export for the client: enum nd_hs_status. */
static uint32_t
sess_claim(struct session *s, const uint8_t client_id[ND_CLIENT_ID_LEN],
    unsigned conn, int readonly)
{
	struct export *e = s->export;
	uint8_t holder[ND_CLIENT_ID_LEN];
	char hex[2 * ND_CLIENT_ID_LEN + 1];
	uint32_t status;

	memcpy(s->client_id, client_id, ND_CLIENT_ID_LEN);
	s->shared = e->conf.readonly || readonly;
	/* Without a slot (conn SESSION_NO_SLOT) nothing is fenced. */
	status = export_claim(e, s->client_id, s->shared, holder);
	if (status == ND_HS_BUSY) {
		hex_format(holder, sizeof(holder), hex);
		log_info("%s: export \"%s\" busy: held by client %s", s->peer,
		    e->conf.name, hex);
	} else if (status == ND_HS_TOO_MANY)
		log_info("%s: export \"%s\": too many clients (max_clients %d)",
		    s->peer, e->conf.name, e->conf.max_clients);
	if (status == ND_HS_OK && (status = export_attach(e, s->identity,
	    s->client_id, s->shared, &s->att)) != ND_HS_OK)
		export_release(e, s->client_id, s->shared);
	else if (status == ND_HS_OK && conn != SESSION_NO_SLOT &&
	    (status = sess_take_slot(s, conn)) != ND_HS_OK) {
		export_detach(e, s->att, s->client_id, s->shared);
		export_release(e, s->client_id, s->shared);
	}
	s->claimed = status == ND_HS_OK;
	return status;
}

uint32_t
session_allowed(struct session *s)
{
	struct export *e = s->export;

	if (conf_allowed(&e->conf, (struct sockaddr *)&s->peer_addr))
		return ND_HS_OK;
	log_info("%s: export \"%s\": address not allowed", s->peer,
	    e->conf.name);
	return ND_HS_DENIED;
}

uint32_t
session_admit(struct session *s, const uint8_t client_id[ND_CLIENT_ID_LEN],
    unsigned conn, int readonly)
{
	struct export *e = s->export;
	const char *why = NULL;
	uint32_t status;

	if (atomic_load(&e->retired))
		why = "being reconfigured";
	else if (session_stop_why(s) != NULL)
		why = "server shutting down";
	if (why != NULL) {
		log_info("%s: export \"%s\": unavailable: %s", s->peer,
		    e->conf.name, why);
		return ND_HS_UNAVAILABLE;
	}
	if ((status = s->host->ops->admit(s->host->srv, s)) != ND_HS_OK)
		return status;
	return sess_claim(s, client_id, conn, readonly);
}

int
session_unadmit(struct session *s)
{
	if (s->export != NULL) {
		export_put(s->export);
		s->export = NULL;
	}
	return s->host->ops->unadmit(s->host->srv, s);
}

/* After the protocol's handshake: the socket of the data phase. */
static const char *
sess_handshake(struct session *s)
{
	const char *why;

	if ((why = s->proto->handshake(s)) != NULL)
		return why;
	s->established = 1;
	sess_timeouts(s->fd, 0, SESSION_SEND_TIMEOUT);
	sess_sockopts(s->fd);
	return NULL;
}

/* Data phase. */

/* Writes n replies and frees them: the bytes of budget they held. */
static size_t
sess_write_batch(struct session *s, struct sess_req **batch, int n)
{
	struct iovec iov[2 * SESSION_SEND_BATCH];
	size_t bytes = 0;
	int i, k = 0;

	for (i = 0; i < n; i++) {
		iov[k].iov_base = batch[i]->hdr;
		iov[k++].iov_len = batch[i]->hdrlen;
		if (batch[i]->rlen == 0)
			continue;
		iov[k].iov_base = batch[i]->data;
		iov[k++].iov_len = batch[i]->rlen;
	}
	if (atomic_load(&s->send_error) == 0 &&
	    s->proto->send(s, iov, k) == -1) {
		atomic_store(&s->send_error, errno != 0 ? errno : EIO);
		shutdown(s->fd, SHUT_RDWR);	/* wakes a reading reader */
	}
	for (i = 0; i < n; i++) {
		bytes += batch[i]->len;
		free(batch[i]);
	}
	return bytes;
}

/*
 * Sends the queued replies.  Called locked with no sender and replies
 * queued; the caller is the sender until they are all out, and returns
 * locked.  A failed send ends the connection: what is queued then is
 * dropped, since nobody can read it.
 */
static void
sess_send_locked(struct session *s)
{
	struct sess_req *batch[SESSION_SEND_BATCH];
	size_t bytes;
	int n;

	s->sending = 1;
	do {
		for (n = 0; n < SESSION_SEND_BATCH &&
		    !STAILQ_EMPTY(&s->replies); n++) {
			batch[n] = STAILQ_FIRST(&s->replies);
			STAILQ_REMOVE_HEAD(&s->replies, next);
			s->reply_bytes -= batch[n]->hdrlen + batch[n]->rlen;
		}
		s->nreplies -= (unsigned)n;
		pthread_mutex_unlock(&s->lock);
		bytes = sess_write_batch(s, batch, n);
		pthread_mutex_lock(&s->lock);
		s->inflight -= (unsigned)n;
		s->inflight_bytes -= bytes;
		budget_give(s->host->budget, bytes);
		pthread_cond_broadcast(&s->cond);
	} while (!STAILQ_EMPTY(&s->replies));
	s->sending = 0;
}

/*
 * Sends what is queued unless another thread is at it.  For the reader,
 * before it may wait: it is no longer there to send what it held back.
 */
void
session_flush(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	s->reader_busy = 0;
	if (!s->sending && !STAILQ_EMPTY(&s->replies))
		sess_send_locked(s);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Queues the reply to r.  While the reader is busy with requests at hand
 * it sends the queue before it waits for more (session_flush), so replies
 * stay queued until then, or until enough of them wait; otherwise the
 * thread that answers sends, unless another is at it.
 */
static void
sess_answer(struct sess_req *r, uint32_t error)
{
	struct session *s = r->s;
	struct reply rep = { .error = error, .handle = r->req.handle };

	if (error != ND_OK)
		r->rlen = 0;
	r->hdrlen = (uint32_t)s->proto->encode_reply(s, &r->req, &rep,
	    r->rlen, r->hdr);
	export_account(s->export, r->req.type, r->req.length, error);
	pthread_mutex_lock(&s->lock);
	if (s->fenced) {		/* nobody to tell */
		s->inflight--;
		s->inflight_bytes -= r->len;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		free(r);
		return;
	}
	STAILQ_INSERT_TAIL(&s->replies, r, next);
	s->reply_bytes += r->hdrlen + r->rlen;
	s->nreplies++;
	if (!s->sending && (!s->reader_busy ||
	    s->reply_bytes >= SESSION_REPLY_BATCH ||
	    s->nreplies >= SESSION_REPLY_HOLD))
		sess_send_locked(s);
	pthread_mutex_unlock(&s->lock);
}

static int
sess_budget_abort(void *arg)
{
	return session_stop_why(arg) != NULL;
}

/*
 * Take bytes of the server's memory budget (budget.h), in line behind
 * the other sessions' readers if it is spent.  The replies held back go
 * out first: their bytes must come back while the reader waits.
 */
static int
sess_take_memory(struct session *s, size_t bytes)
{
	struct budget *b = s->host->budget;

	if (bytes == 0 || budget_try(b, bytes) == 0)
		return 0;
	session_flush(s);
	return budget_take(b, bytes, sess_budget_abort, s);
}

static void
sess_unreserve(struct session *s, size_t bytes)
{
	pthread_mutex_lock(&s->lock);
	s->inflight--;
	s->inflight_bytes -= bytes;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

/*
 * Wait until the request fits in the session's budget, then count it;
 * then take its bytes of the server's.  Replies held back count too:
 * they go out before the reader waits.
 */
static int
sess_reserve(struct session *s, size_t bytes)
{
	int r = 0;

	pthread_mutex_lock(&s->lock);
	while (!s->stopping && !s->fenced && !atomic_load(&s->send_error) &&
	    (s->inflight >= ND_MAX_INFLIGHT || (s->inflight > 0 &&
	    s->inflight_bytes + bytes > SESSION_MAX_INFLIGHT_BYTES))) {
		s->reader_busy = 0;
		if (!s->sending && !STAILQ_EMPTY(&s->replies))
			sess_send_locked(s);
		else
			pthread_cond_wait(&s->cond, &s->lock);
	}
	s->reader_busy = 1;
	if (s->stopping || s->fenced || atomic_load(&s->send_error))
		r = -1;
	else {
		s->inflight++;
		s->inflight_bytes += bytes;
	}
	pthread_mutex_unlock(&s->lock);
	if (r == 0 && sess_take_memory(s, bytes) == -1) {
		sess_unreserve(s, bytes);
		r = -1;
	}
	return r;
}

/* Counts a reply that must go out whatever the budget says. */
static void
sess_count(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	s->inflight++;
	pthread_mutex_unlock(&s->lock);
}

static void
sess_release(struct session *s, size_t bytes)
{
	sess_unreserve(s, bytes);
	budget_give(s->host->budget, bytes);
}

/* Free an unanswered request and give its budget back. */
static void
sess_req_done(struct sess_req *r)
{
	struct session *s = r->s;
	size_t bytes = r->len;

	free(r);
	sess_release(s, bytes);
}

/* A BLOCK_STATUS reply's extents (request.h), as the store tells them. */
struct sess_extents {
	uint8_t *out;
	uint32_t n, max;		/* extents written, room for */
	uint64_t end;			/* of the range asked for */
	uint32_t len, flags;		/* of the last one */
	int one;			/* REQ_FLAG_REQ_ONE */
};

static void
sess_extent_put(struct sess_extents *x)
{
	uint32_t w[2] = { htobe32(x->len), htobe32(x->flags) };

	memcpy(x->out + (x->n - 1) * REQ_EXTENT_LEN, w, sizeof(w));
}

/* store_extent_fn: append [off, off + len), merged with the last one. */
static int
sess_extent(void *arg, uint64_t off, uint64_t len, int data)
{
	struct sess_extents *x = arg;
	uint32_t flags = data ? 0 : REQ_EXTENT_HOLE | REQ_EXTENT_ZERO;

	if (off >= x->end)
		return -1;
	if (len > x->end - off)
		len = x->end - off;	/* the range is at most 4 GiB */
	if (x->n > 0 && x->flags == flags)
		x->len += (uint32_t)len;
	else if (x->n == x->max || (x->n > 0 && x->one))
		return -1;
	else {
		x->n++;
		x->len = (uint32_t)len;
		x->flags = flags;
	}
	sess_extent_put(x);
	return 0;
}

static uint32_t
sess_block_status(struct session *s, struct sess_req *r)
{
	const struct request *q = &r->req;
	struct sess_extents x = {
		.out = r->data, .max = r->len / REQ_EXTENT_LEN,
		.end = q->offset + q->length,
		.one = (q->flags & REQ_FLAG_REQ_ONE) != 0,
	};
	uint32_t error;

	error = export_extents(s->export, s->att, q->offset, q->length,
	    sess_extent, &x);
	if (error == ND_OK && x.n == 0)
		error = ND_EIO;		/* the store said nothing */
	r->rlen = x.n * REQ_EXTENT_LEN;
	return error;
}

/* The store flags of a WRITE_ZEROES. */
static unsigned
sess_zero_flags(const struct request *q)
{
	return (q->flags & ND_CMD_FLAG_FUA ? STORE_FUA : 0) |
	    (q->flags & REQ_FLAG_NO_HOLE ? STORE_NO_HOLE : 0) |
	    (q->flags & REQ_FLAG_FAST_ZERO ? STORE_FAST : 0);
}

/*
 * Run the request r holds; a reply's data (r->rlen bytes) goes in
 * r->data.  A read-only session's FLUSH syncs nothing: it has nothing to
 * make durable, and a sync could use up a writeback error that the
 * writer's FLUSH must see.
 */
static uint32_t
sess_exec(struct session *s, struct sess_req *r)
{
	const struct request *q = &r->req;
	struct export *e = s->export;
	int fua = (q->flags & ND_CMD_FLAG_FUA) != 0;
	uint32_t error;

	switch (q->type) {
	case ND_CMD_READ:
		error = export_read(e, s->att, r->data, q->length, q->offset);
		r->rlen = q->length;
		return error;
	case ND_CMD_WRITE:
		return export_write(e, s->att, r->data, q->length, q->offset,
		    fua);
	case ND_CMD_FLUSH:
		return s->shared ? ND_OK : export_flush(e, s->att);
	case ND_CMD_TRIM:
		return export_trim(e, s->att, q->offset, q->length, fua);
	case ND_CMD_WRITE_ZEROES:
		return export_zero(e, s->att, q->offset, q->length,
		    sess_zero_flags(q));
	case REQ_CMD_CACHE:
		return export_cache(e, s->att, r->data, r->len, q->offset,
		    q->length);
	case REQ_CMD_BLOCK_STATUS:
		return sess_block_status(s, r);
	}
	return ND_EINVAL;
}

static void
sess_job(struct workq_job *job)
{
	struct sess_req *r = (struct sess_req *)job;
	struct session *s = r->s;
	uint32_t error;

	if (sess_begin(s) == -1) {
		sess_req_done(r);	/* fenced: dropped unstarted */
		return;
	}
	if (atomic_load(&s->send_error))
		error = ND_EIO;		/* nobody to tell the result to */
	else
		error = sess_exec(s, r);
	sess_end(s);
	sess_answer(r, error);
}

/*
 * Run a request on the reader's thread if that cannot block for long: a
 * READ the page cache holds, a plain page-aligned WRITE (which needs no
 * read-modify-write).  This saves two thread switches per request.  1 if
 * done and answered, 0 to hand it to a worker.
 */
static int
sess_inline(struct session *s, struct sess_req *r)
{
	const struct request *q = &r->req;
	uint32_t error;
	int cached;

	if (q->type != ND_CMD_READ && (q->type != ND_CMD_WRITE ||
	    (q->flags & ND_CMD_FLAG_FUA) ||
	    ((q->offset | q->length) & (ND_PREF_BLOCK - 1))))
		return 0;
	if (sess_begin(s) == -1) {
		sess_req_done(r);	/* fenced: dropped unstarted */
		return 1;
	}
	if (q->type == ND_CMD_READ) {
		cached = export_read_cached(s->export, s->att, r->data,
		    r->len, q->offset);
		sess_end(s);
		r->rlen = r->len;
		if (cached)
			sess_answer(r, ND_OK);
		return cached;
	}
	error = export_write(s->export, s->att, r->data, r->len, q->offset,
	    0);
	sess_end(s);
	sess_answer(r, error);
	return 1;
}

static struct sess_req *
sess_req_new(struct session *s, const struct request *q, uint32_t len)
{
	struct sess_req *r;

	if ((r = malloc(sizeof(*r) + len)) == NULL)
		return NULL;
	r->job.fn = sess_job;
	r->s = s;
	r->req = *q;
	r->len = len;
	r->rlen = 0;
	return r;
}

/* An error reply on the way out of the session; skipped without memory. */
static void
sess_answer_last(struct session *s, const struct request *q, uint32_t error)
{
	struct sess_req *r;

	if ((r = sess_req_new(s, q, 0)) == NULL)
		return;
	sess_count(s);
	sess_answer(r, error);
}

/* One request: NULL, or why the session must end. */
static const char *
sess_request(struct session *s, const struct request *q)
{
	uint32_t error = request_check(q, &s->limits);
	uint32_t len = 0;
	struct sess_req *r;
	const char *why;

	if (q->type == ND_CMD_WRITE && !request_has_payload(q, &s->limits)) {
		sess_answer_last(s, q, ND_EINVAL);
		snprintf(s->why, sizeof(s->why), "WRITE of %u bytes exceeds "
		    "max_payload %u", q->length, s->limits.max_payload);
		return s->why;
	}
	if (q->type == ND_CMD_WRITE || (q->type == ND_CMD_READ && !error))
		len = q->length;
	else if (q->type == REQ_CMD_CACHE && !error)
		len = q->length < SESSION_CACHE_CHUNK ? q->length :
		    SESSION_CACHE_CHUNK;
	else if (q->type == REQ_CMD_BLOCK_STATUS && !error)
		len = REQ_EXTENTS_MAX * REQ_EXTENT_LEN;
	if (sess_reserve(s, len) == -1)
		return session_stop_why(s);
	if ((r = sess_req_new(s, q, len)) == NULL) {
		sess_release(s, len);
		sess_answer_last(s, q, ND_ENOMEM);
		return "out of memory";		/* cannot skip a payload */
	}
	if (q->type == ND_CMD_WRITE &&
	    (why = s->proto->read_payload(s, r->data, len)) != NULL) {
		sess_req_done(r);
		return why;
	}
	if (error != ND_OK) {
		log_debug("%s: %s: error %u", s->peer,
		    request_cmd_name(q->type), error);
		sess_answer(r, error);
	} else if (!sess_inline(s, r))
		workq_submit(s->host->wq, &r->job);
	return NULL;
}

/*
 * Read requests until the client leaves or the session must stop.  A
 * DISCONNECT or a server stop is an orderly end (*orderly = 1): what was
 * read is still done; any other end fences the session.
 */
static const char *
sess_serve(struct session *s, int *orderly)
{
	struct request q;
	const char *why;

	for (;;) {
		if ((why = session_stop_why(s)) != NULL)
			return why;
		if ((why = s->proto->read_request(s, &q)) != NULL)
			return why;
		if (q.type == ND_CMD_DISCONNECT) {
			*orderly = 1;
			return "client disconnected";
		}
		if ((why = sess_request(s, &q)) != NULL)
			return why;
	}
}

/* Was the session stopped by the server (shutdown, reload)? */
static int
sess_stopped(struct session *s)
{
	int stopping;

	pthread_mutex_lock(&s->lock);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

static int
sess_job_of(const struct workq_job *job, void *s)
{
	return ((const struct sess_req *)job)->s == s;
}

static void
sess_job_drop(struct workq_job *job)
{
	sess_req_done((struct sess_req *)job);
}

/* A fenced session's queued requests leave the worker queue at once. */
static void
sess_cancel(struct session *s)
{
	int fenced, n;

	pthread_mutex_lock(&s->lock);
	fenced = s->fenced;
	pthread_mutex_unlock(&s->lock);
	if (fenced && (n = workq_cancel(s->host->wq, sess_job_of, s,
	    sess_job_drop)) > 0)
		log_debug("%s: %d queued requests dropped", s->peer, n);
}

/*
 * Wait for the requests in flight: their replies are sent or fail, and
 * no thread is sending any more.
 */
static void
sess_drain(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	s->reader_busy = 0;
	while (s->inflight > 0 || s->sending) {
		if (!s->sending && !STAILQ_EMPTY(&s->replies))
			sess_send_locked(s);
		else
			pthread_cond_wait(&s->cond, &s->lock);
	}
	pthread_mutex_unlock(&s->lock);
}

/*
 * The session serves its export from now on: the status report shows it
 * and a reload that retires the export stops it.  NULL, or why not: the
 * export was retired while the handshake ran.
 */
static const char *
sess_serving(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	s->serving = 1;
	s->since = time(NULL);
	pthread_mutex_unlock(&s->lock);
	if (atomic_load(&s->export->retired))
		session_stop(s, 0);
	else if (s->identity[0] != '\0' &&
	    s->host->ops->revoked(s->host->srv, s))
		session_revoke(s);
	else
		return NULL;
	return session_stop_why(s);
}

static void
sess_teardown(struct session *s)
{
	pthread_mutex_lock(&s->lock);
	s->serving = 0;
	pthread_mutex_unlock(&s->lock);
	if (s->slotted)
		export_slot_leave(s->export, &s->slot);
	if (s->claimed) {
		export_detach(s->export, s->att, s->client_id, s->shared);
		export_release(s->export, s->client_id, s->shared);
	}
	if (s->export != NULL)
		export_put(s->export);
	s->proto->close(s);
	s->export = NULL;
	s->att = NULL;
	s->claimed = s->slotted = 0;
}

static void *
sess_main(void *arg)
{
	struct session *s = arg;
	const char *why;
	int orderly = 0;

	why = sess_handshake(s);
	pthread_mutex_lock(&s->lock);
	s->handshaking = 0;	/* session_stop may now cut reads */
	pthread_mutex_unlock(&s->lock);
	if (why == NULL)
		why = sess_serving(s);
	if (why == NULL)
		why = sess_serve(s, &orderly);
	if (!orderly && !sess_stopped(s))
		sess_fence(s);
	sess_cancel(s);
	sess_drain(s);
	if (s->established)
		log_info("%s: closed: %s", s->peer, why);
	else
		s->host->ops->handshake_closed(s->host->srv, s->peer, why);
	sess_teardown(s);
	s->host->ops->done(s->host->srv, s);
	close(s->fd);
	session_free(s);
	return NULL;
}

/* Life cycle. */

struct session *
session_new(const struct sess_host *host, const struct proto_ops *proto,
    int fd, const struct sockaddr *peer, socklen_t peerlen, int hs_timeout)
{
	struct session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->host = host;
	s->proto = proto;
	s->fd = fd;
	if (peerlen > sizeof(s->peer_addr))
		peerlen = sizeof(s->peer_addr);
	memcpy(&s->peer_addr, peer, peerlen);
	host->ops->addr_str(peer, s->peer, sizeof(s->peer));
	s->hs_timeout = hs_timeout;
	s->hs_deadline = mono_ms() + (int64_t)hs_timeout * 1000;
	s->handshaking = 1;
	STAILQ_INIT(&s->replies);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return s;
}

int
session_start(struct session *s)
{
	pthread_attr_t attr;
	pthread_t tid;
	int error;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, SESSION_STACK_SIZE);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	error = pthread_create(&tid, &attr, sess_main, s);
	pthread_attr_destroy(&attr);
	if (error != 0) {
		errno = error;
		return -1;
	}
	return 0;
}

void
session_free(struct session *s)
{
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void
session_stop(struct session *s, int now)
{
	int cut;

	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	cut = now || !s->handshaking;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (cut)
		shutdown(s->fd, SHUT_RD);
}

void
session_abort(struct session *s)
{
	session_stop(s, 1);
	shutdown(s->fd, SHUT_RDWR);
}

int
session_retire(struct session *s)
{
	int hit;

	pthread_mutex_lock(&s->lock);
	hit = s->serving && atomic_load(&s->export->retired);
	pthread_mutex_unlock(&s->lock);
	if (hit)
		session_stop(s, 0);
	return hit;
}

void
session_revoke(struct session *s)
{
	atomic_store(&s->revoked, 1);
	session_stop(s, 0);
}

void
session_disconnect(struct session *s, const char *why)
{
	atomic_store(&s->kicked, why);
	session_stop(s, 0);
}

/* Called with s->lock held, serving: the state of s's attachment. */
static void
sess_att_failure(struct session *s, struct session_info *info)
{
	const char *file;

	export_att_failure(s->att, &info->failure, &file);
	snprintf(info->overlay, sizeof(info->overlay), "%s", file);
}

int
session_info(struct session *s, struct session_info *info)
{
	int serving;

	pthread_mutex_lock(&s->lock);
	if ((serving = s->serving)) {
		info->export = s->export;
		memcpy(info->identity, s->identity, sizeof(info->identity));
		info->cred = s->cred;
		memcpy(info->client_id, s->client_id, ND_CLIENT_ID_LEN);
		info->addr = s->peer_addr;
		info->since = s->since;
		memset(&info->failure, 0, sizeof(info->failure));
		info->overlay[0] = '\0';
		if (s->att != NULL)
			sess_att_failure(s, info);
	}
	pthread_mutex_unlock(&s->lock);
	return serving;
}
