/* SPDX-License-Identifier: ISC */
/*
 * One connection of the pipelined I/O engine of copy and bench.  A pipe
 * drives it with a sender and a receiver thread (one thread alone can
 * deadlock once both sides' socket buffers are full of WRITE payloads and
 * replies) and the slots of a pool (pool.h).  Replies complete out of
 * order: the pipe calls done(slot) from its receiver thread, or from
 * whichever thread notices a broken connection, with slot->error set to
 * an enum nd_error or CTL_ECONN.  done must not block on the pool and
 * must not resubmit a CTL_ECONN slot.
 */
#ifndef CTL_PIPE_H
#define CTL_PIPE_H

#include <pthread.h>
#include <stdint.h>

#include "pool.h"

struct client;
struct ctl_pipe;
typedef void ctl_done_fn(struct ctl_pipe *, struct ctl_slot *, void *);

struct ctl_pipe {
	struct client *c;
	struct ctl_pool *pool;
	ctl_done_fn *done;
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t tx, rx;
	struct ctl_slot *qhead, *qtail;	/* waiting to be sent */
	uint8_t *inflight;		/* by handle: idle, being sent, in flight */
	unsigned ninflight;
	int closing, failed, err;	/* err: errno of the failure */
};

int ctl_pipe_start(struct ctl_pipe *, struct client *, struct ctl_pool *,
    ctl_done_fn *, void *arg);
void ctl_pipe_submit(struct ctl_pipe *, struct ctl_slot *);
/* Call once every slot is back in the pool; joins the threads. */
void ctl_pipe_stop(struct ctl_pipe *);

#endif
