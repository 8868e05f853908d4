/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "workq.h"

#define WORKQ_STACK_SIZE	(256 * 1024)

struct workq {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	STAILQ_HEAD(, workq_job) jobs;
	int stopping;
	int nthreads;
	pthread_t threads[WORKQ_MAX_THREADS];
};

static void *
workq_main(void *arg)
{
	struct workq *wq = arg;
	struct workq_job *job;

	pthread_mutex_lock(&wq->lock);
	for (;;) {
		while (STAILQ_EMPTY(&wq->jobs) && !wq->stopping)
			pthread_cond_wait(&wq->cond, &wq->lock);
		job = STAILQ_FIRST(&wq->jobs);
		if (job == NULL)
			break;		/* stopping and drained */
		STAILQ_REMOVE_HEAD(&wq->jobs, entry);
		pthread_mutex_unlock(&wq->lock);
		job->fn(job);
		pthread_mutex_lock(&wq->lock);
	}
	pthread_mutex_unlock(&wq->lock);
	return NULL;
}

static int
workq_default_threads(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	long n = ncpu > 0 ? 2 * ncpu : 4;

	if (n < 4)
		n = 4;
	return n > WORKQ_MAX_THREADS ? WORKQ_MAX_THREADS : (int)n;
}

static int
workq_start(struct workq *wq, int n)
{
	pthread_attr_t attr;
	int error = 0;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKQ_STACK_SIZE);
	for (wq->nthreads = 0; wq->nthreads < n; wq->nthreads++) {
		error = pthread_create(&wq->threads[wq->nthreads], &attr,
		    workq_main, wq);
		if (error != 0)
			break;
	}
	pthread_attr_destroy(&attr);
	errno = error;
	return error != 0 ? -1 : 0;
}

struct workq *
workq_create(int nthreads)
{
	struct workq *wq;

	if (nthreads <= 0)
		nthreads = workq_default_threads();
	if (nthreads > WORKQ_MAX_THREADS)
		nthreads = WORKQ_MAX_THREADS;
	if ((wq = calloc(1, sizeof(*wq))) == NULL)
		return NULL;
	pthread_mutex_init(&wq->lock, NULL);
	pthread_cond_init(&wq->cond, NULL);
	STAILQ_INIT(&wq->jobs);
	if (workq_start(wq, nthreads) == -1) {
		log_warnx("cannot start worker threads: %s", strerror(errno));
		workq_destroy(wq);
		return NULL;
	}
	log_debug("%d worker threads", wq->nthreads);
	return wq;
}

int
workq_nthreads(const struct workq *wq)
{
	return wq->nthreads;
}

void
workq_submit(struct workq *wq, struct workq_job *job)
{
	pthread_mutex_lock(&wq->lock);
	STAILQ_INSERT_TAIL(&wq->jobs, job, entry);
	pthread_cond_signal(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}

int
workq_cancel(struct workq *wq, int (*match)(const struct workq_job *, void *),
    void *arg, void (*drop)(struct workq_job *))
{
	STAILQ_HEAD(, workq_job) keep = STAILQ_HEAD_INITIALIZER(keep);
	STAILQ_HEAD(, workq_job) gone = STAILQ_HEAD_INITIALIZER(gone);
	struct workq_job *job;
	int n = 0;

	pthread_mutex_lock(&wq->lock);
	while ((job = STAILQ_FIRST(&wq->jobs)) != NULL) {
		STAILQ_REMOVE_HEAD(&wq->jobs, entry);
		if (match(job, arg))
			STAILQ_INSERT_TAIL(&gone, job, entry);
		else
			STAILQ_INSERT_TAIL(&keep, job, entry);
	}
	STAILQ_CONCAT(&wq->jobs, &keep);
	pthread_mutex_unlock(&wq->lock);
	while ((job = STAILQ_FIRST(&gone)) != NULL) {
		STAILQ_REMOVE_HEAD(&gone, entry);
		drop(job);
		n++;
	}
	return n;
}

void
workq_destroy(struct workq *wq)
{
	int i;

	if (wq == NULL)
		return;
	pthread_mutex_lock(&wq->lock);
	wq->stopping = 1;
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
	for (i = 0; i < wq->nthreads; i++)
		pthread_join(wq->threads[i], NULL);
	pthread_cond_destroy(&wq->cond);
	pthread_mutex_destroy(&wq->lock);
	free(wq);
}
