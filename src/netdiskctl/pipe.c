/* SPDX-License-Identifier: ISC */
/*
 * One connection of netdiskctl's pipelined I/O engine (pipe.h): a sender
 * and a receiver thread.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "pipe.h"
#include "record.h"
#include "request.h"
#include "util.h"

/*
 * Requests the sender takes from the queue for one send, and the WRITE
 * data after which it takes no more: large requests gain nothing from
 * waiting for each other.
 */
#define CTL_TX_BATCH		CLIENT_BATCH_MAX
#define CTL_TX_BATCH_BYTES	(256 * 1024)

/* A pipe's inflight[] by handle. */
enum { SLOT_IDLE, SLOT_INFLIGHT, SLOT_SENDING };

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
	now = mono_ns();
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
	struct client_req q[CTL_TX_BATCH];
	int i;

	for (i = 0; i < n; i++)
		q[i] = (struct client_req){ .flags = batch[i]->flags,
		    .type = batch[i]->type, .handle = batch[i]->idx,
		    .offset = batch[i]->offset, .length = batch[i]->length,
		    .data = batch[i]->buf };
	return client_send_batch(p->c, q, n);
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
	if (rx_held && !client_recv_ready(p->c, len))
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
