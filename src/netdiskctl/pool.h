/* SPDX-License-Identifier: ISC */
/*
 * The slots of the pipelined I/O engine of copy and bench.  A pool holds
 * qd slots, each a request and its buffer; a slot's index is its handle
 * on the wire, so a slot is in flight on at most one connection at a time
 * and the number of slots bounds the requests in flight.
 */
#ifndef CTL_POOL_H
#define CTL_POOL_H

#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#include "netdisk_proto.h"

/* slot->error of a request lost with its connection. */
#define CTL_ECONN	0xffffffffU

struct ctl_slot {
	unsigned idx;			/* the handle */
	uint16_t type, flags;
	uint64_t offset;
	uint32_t length;
	uint32_t error;			/* an enum nd_error or CTL_ECONN */
	uint8_t *buf;
	int64_t sent_ns;		/* CLOCK_MONOTONIC, set by the sender */
	struct ctl_slot *next;
};

struct ctl_pool {
	struct ctl_slot *slots;
	unsigned n;
	sem_t avail;
	pthread_mutex_t lock;
	struct ctl_slot *free;
};

int ctl_pool_init(struct ctl_pool *, unsigned n, size_t bufsize);
void ctl_pool_free(struct ctl_pool *);
struct ctl_slot *ctl_pool_get(struct ctl_pool *);	/* blocks */
void ctl_pool_put(struct ctl_pool *, struct ctl_slot *);
void ctl_pool_drain(struct ctl_pool *);	/* waits until all are back */

#endif
