/* SPDX-License-Identifier: ISC */
/*
 * A replay cache: an array that grows by doubling up to REPLAY_SLOTS
 * entries, then a ring that overwrites its oldest entry.  A key that is
 * never used costs no more than the structure.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define REPLAY_FIRST	64		/* entries of the first array */

struct replay {
	atomic_int refs;
	pthread_mutex_t lock;
	uint8_t (*eph)[ND_KEY_LEN];
	size_t cap, used, next;
};

struct replay *
replay_new(void)
{
	struct replay *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

struct replay *
replay_ref(struct replay *r)
{
	atomic_fetch_add(&r->refs, 1);
	return r;
}

void
replay_put(struct replay *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->eph);
	free(r);
}

/* Called locked: room for one more entry at r->next, if memory allows. */
static void
replay_grow(struct replay *r)
{
	size_t cap = r->cap == 0 ? REPLAY_FIRST : 2 * r->cap;
	uint8_t (*eph)[ND_KEY_LEN];

	if (r->used < r->cap || r->cap == REPLAY_SLOTS)
		return;
	if (cap > REPLAY_SLOTS)
		cap = REPLAY_SLOTS;
	if ((eph = realloc(r->eph, cap * sizeof(*eph))) == NULL)
		return;		/* the ring stays as it is */
	r->eph = eph;
	r->cap = cap;
	r->next = r->used;
}

int
replay_seen(struct replay *r, const uint8_t eph[ND_KEY_LEN])
{
	int seen = 0;
	size_t i;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < r->used && !seen; i++)
		seen = memcmp(r->eph[i], eph, ND_KEY_LEN) == 0;
	if (!seen) {
		replay_grow(r);
		if (r->cap > 0) {
			memcpy(r->eph[r->next], eph, ND_KEY_LEN);
			r->next = (r->next + 1) % r->cap;
			if (r->used < r->cap)
				r->used++;
		}
	}
	pthread_mutex_unlock(&r->lock);
	return seen;
}
