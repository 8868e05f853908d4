/* SPDX-License-Identifier: ISC */
/*
 * A fixed pool of worker threads fed by one FIFO of jobs.  A job is
 * embedded in the caller's own object, so submitting allocates nothing.
 */
#ifndef WORKQ_H
#define WORKQ_H

#include <sys/queue.h>

struct workq_job {
	STAILQ_ENTRY(workq_job) entry;
	void (*fn)(struct workq_job *);
};

struct workq;

/* nthreads <= 0: max(4, 2 * online CPUs), at most WORKQ_MAX_THREADS. */
#define WORKQ_MAX_THREADS	32
struct workq *workq_create(int nthreads);
int workq_nthreads(const struct workq *);
/* Queue job; one worker calls job->fn(job).  job->fn must be set. */
void workq_submit(struct workq *, struct workq_job *job);
/*
 * Take the queued jobs for which match(job, arg) is 1 off the queue (jobs
 * a worker runs already are not queued) and call drop(job) for each,
 * outside the queue's lock.  The number dropped.
 */
int workq_cancel(struct workq *, int (*match)(const struct workq_job *,
    void *), void *arg, void (*drop)(struct workq_job *));
/* Runs every job already queued, then joins the workers and frees. */
void workq_destroy(struct workq *);

#endif
