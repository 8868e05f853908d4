/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/queue.h>

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "budget.h"

/* A reader in line, on its own stack. */
struct budget_waiter {
	TAILQ_ENTRY(budget_waiter) entry;
	pthread_cond_t cond;
	size_t bytes;
};

struct budget {
	pthread_mutex_t lock;
	size_t limit, used, peak;
	unsigned waiting;
	TAILQ_HEAD(, budget_waiter) line;
};

struct budget *
budget_new(size_t limit)
{
	struct budget *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	TAILQ_INIT(&b->line);
	b->limit = limit;
	return b;
}

void
budget_free(struct budget *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* Called locked: wake the first in line, which checks whether it fits. */
static void
budget_wake(struct budget *b)
{
	struct budget_waiter *w = TAILQ_FIRST(&b->line);

	if (w != NULL)
		pthread_cond_signal(&w->cond);
}

void
budget_set_limit(struct budget *b, size_t limit)
{
	pthread_mutex_lock(&b->lock);
	b->limit = limit;
	budget_wake(b);
	pthread_mutex_unlock(&b->lock);
}

/* Called locked. */
static int
budget_fits(const struct budget *b, size_t bytes)
{
	return b->used == 0 || (b->used <= b->limit &&
	    bytes <= b->limit - b->used);
}

/* Called locked. */
static void
budget_account(struct budget *b, size_t bytes)
{
	b->used += bytes;
	if (b->used > b->peak)
		b->peak = b->used;
}

int
budget_try(struct budget *b, size_t bytes)
{
	int r = -1;

	pthread_mutex_lock(&b->lock);
	if (TAILQ_EMPTY(&b->line) && budget_fits(b, bytes)) {
		budget_account(b, bytes);
		r = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

static void
deadline_ms(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_nsec += (long)ms * 1000000L;
	ts->tv_sec += ts->tv_nsec / 1000000000L;
	ts->tv_nsec %= 1000000000L;
}

/* Called locked: w leaves the line; the next one may fit now. */
static void
budget_leave(struct budget *b, struct budget_waiter *w)
{
	TAILQ_REMOVE(&b->line, w, entry);
	b->waiting--;
	budget_wake(b);
}

int
budget_take(struct budget *b, size_t bytes, int (*stop)(void *), void *arg)
{
	struct budget_waiter w = { .bytes = bytes };
	struct timespec ts;
	pthread_condattr_t ca;
	int r = 0;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_lock(&b->lock);
	TAILQ_INSERT_TAIL(&b->line, &w, entry);
	b->waiting++;
	while (TAILQ_FIRST(&b->line) != &w || !budget_fits(b, bytes)) {
		deadline_ms(&ts, BUDGET_POLL_MS);
		pthread_cond_timedwait(&w.cond, &b->lock, &ts);
		pthread_mutex_unlock(&b->lock);
		r = stop != NULL && stop(arg) ? -1 : 0;
		pthread_mutex_lock(&b->lock);
		if (r == -1)
			break;
	}
	if (r == 0)
		budget_account(b, bytes);
	budget_leave(b, &w);
	pthread_mutex_unlock(&b->lock);
	pthread_cond_destroy(&w.cond);
	return r;
}

void
budget_give(struct budget *b, size_t bytes)
{
	if (bytes == 0)
		return;
	pthread_mutex_lock(&b->lock);
	b->used -= bytes;
	budget_wake(b);
	pthread_mutex_unlock(&b->lock);
}

void
budget_info(struct budget *b, struct budget_info *info)
{
	pthread_mutex_lock(&b->lock);
	info->limit = b->limit;
	info->used = b->used;
	info->peak = b->peak;
	info->waiting = b->waiting;
	pthread_mutex_unlock(&b->lock);
}
