/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "health.h"

struct health {
	atomic_int refs;
	atomic_int error;		/* also under lock, read without */
	pthread_mutex_t lock;		/* op and since, and changes of error */
	const char *op;
	time_t since;
};

struct health *
health_new(void)
{
	struct health *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	atomic_init(&h->refs, 1);
	atomic_init(&h->error, 0);
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

struct health *
health_ref(struct health *h)
{
	atomic_fetch_add(&h->refs, 1);
	return h;
}

void
health_put(struct health *h)
{
	if (h == NULL || atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h);
}

int
health_fail(struct health *h, int error, const char *op)
{
	int first;

	pthread_mutex_lock(&h->lock);
	first = atomic_load(&h->error) == 0;
	if (first) {
		h->op = op;
		h->since = time(NULL);
		atomic_store(&h->error, error != 0 ? error : EIO);
	}
	pthread_mutex_unlock(&h->lock);
	return first;
}

int
health_failed(struct health *h)
{
	return atomic_load(&h->error);
}

void
health_get(struct health *h, struct health_state *hs)
{
	pthread_mutex_lock(&h->lock);
	hs->error = atomic_load(&h->error);
	hs->op = h->op;
	hs->since = h->since;
	pthread_mutex_unlock(&h->lock);
}

void
health_clear(struct health *h)
{
	pthread_mutex_lock(&h->lock);
	atomic_store(&h->error, 0);
	h->op = NULL;
	h->since = 0;
	pthread_mutex_unlock(&h->lock);
}
