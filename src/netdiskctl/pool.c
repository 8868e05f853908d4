/* SPDX-License-Identifier: ISC */
/* The slots of netdiskctl's pipelined I/O engine (pool.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

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
