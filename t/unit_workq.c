/* SPDX-License-Identifier: ISC */
/*
 * The work queue (src/netdiskd/workq.c): the number of workers, FIFO
 * order, jobs running in parallel, workq_cancel taking one session's
 * queued jobs off (never a running one), and workq_destroy running every
 * job still queued before it returns.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tap.h"
#include "workq.h"

#define NJOBS	64

struct job {
	struct workq_job wj;		/* first */
	int owner;			/* the "session" it belongs to */
	int seq;
};

/* What the jobs did. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int order[NJOBS], nran, dropped[NJOBS], ndropped;
static int gate_open, gate_entered, running, most_running;

static void
reset(void)
{
	pthread_mutex_lock(&lock);
	memset(order, -1, sizeof(order));
	memset(dropped, -1, sizeof(dropped));
	nran = ndropped = gate_open = gate_entered = 0;
	running = most_running = 0;
	pthread_mutex_unlock(&lock);
}

/* Append the job's number to list (of n so far). */
static void
note(int *list, int *n, const struct workq_job *wj)
{
	pthread_mutex_lock(&lock);
	if (*n < NJOBS)
		list[*n] = ((const struct job *)wj)->seq;
	(*n)++;
	pthread_mutex_unlock(&lock);
}

static void
record(struct workq_job *wj)
{
	note(order, &nran, wj);
}

static void
drop(struct workq_job *wj)
{
	note(dropped, &ndropped, wj);
}

static int
owned_by(const struct workq_job *wj, void *arg)
{
	return ((const struct job *)wj)->owner == *(int *)arg;
}

static void
flag_set(int *flag)
{
	pthread_mutex_lock(&lock);
	*flag = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static void
flag_wait(const int *flag)
{
	pthread_mutex_lock(&lock);
	while (!*flag)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
}

/* A job that holds its worker until the gate opens. */
static void
gate(struct workq_job *wj)
{
	(void)wj;
	flag_set(&gate_entered);
	flag_wait(&gate_open);
}

static void
test_threads(void)
{
	struct workq *wq;
	int n;

	wq = workq_create(3);
	ok(wq != NULL && workq_nthreads(wq) == 3, "3 workers asked, 3 started");
	workq_destroy(wq);
	wq = workq_create(0);
	n = wq != NULL ? workq_nthreads(wq) : -1;
	ok(n >= 4 && n <= WORKQ_MAX_THREADS, "the default is 4 to %d "
	    "workers (%d)", WORKQ_MAX_THREADS, n);
	workq_destroy(wq);
	wq = workq_create(1000);
	ok(wq != NULL && workq_nthreads(wq) == WORKQ_MAX_THREADS,
	    "at most %d workers", WORKQ_MAX_THREADS);
	workq_destroy(wq);
}

/* One worker, held by the job g (a gate) until gate_open. */
static struct workq *
gated_queue(struct workq_job *g)
{
	struct workq *wq;

	reset();
	if ((wq = workq_create(1)) == NULL)
		exit(99);
	g->fn = gate;
	workq_submit(wq, g);
	flag_wait(&gate_entered);
	return wq;
}

/* Queue the NJOBS jobs, numbered; every third for session 0, else 1. */
static void
queue_jobs(struct workq *wq, struct job *jobs)
{
	int i;

	for (i = 0; i < NJOBS; i++) {
		jobs[i].wj.fn = record;
		jobs[i].seq = i;
		jobs[i].owner = i % 3 == 0 ? 0 : 1;
		workq_submit(wq, &jobs[i].wj);
	}
}

/* One worker runs the jobs in the order they were queued. */
static void
test_order(void)
{
	struct workq_job g;
	struct job jobs[NJOBS];
	struct workq *wq = gated_queue(&g);
	int i, in_order = 1;

	queue_jobs(wq, jobs);
	flag_set(&gate_open);
	workq_destroy(wq);
	for (i = 0; i < NJOBS; i++)
		in_order &= order[i] == i;
	ok(nran == NJOBS && in_order, "FIFO: %d jobs ran in the order they "
	    "were queued", nran);
}

/* Two sessions' jobs queued behind a busy worker; one session's cancelled. */
static void
test_cancel(void)
{
	struct workq_job g;
	struct job jobs[NJOBS];
	struct workq *wq = gated_queue(&g);
	int i, a = 0, n, only_b = 1, a_in_order = 1;

	queue_jobs(wq, jobs);
	n = workq_cancel(wq, owned_by, &a, drop);
	ok(n == (NJOBS + 2) / 3 && ndropped == n, "cancel: the %d queued jobs "
	    "of session a are dropped (%d, drop called %d times)",
	    (NJOBS + 2) / 3, n, ndropped);
	for (i = 0; i < n && i < NJOBS; i++)
		a_in_order &= dropped[i] == 3 * i;
	ok(a_in_order, "cancel: drop is called in queue order");
	ok(workq_cancel(wq, owned_by, &a, drop) == 0, "cancel: a second "
	    "cancel finds none");
	flag_set(&gate_open);
	workq_destroy(wq);
	for (i = 0; i < nran && i < NJOBS; i++)
		only_b &= order[i] % 3 != 0;
	ok(nran == NJOBS - n && only_b, "cancel: only session b's %d jobs ran "
	    "(%d)", NJOBS - n, nran);
}

static int
is_gate(const struct workq_job *wj, void *arg)
{
	(void)arg;
	return wj->fn == gate;
}

/* A job a worker runs already is not queued: cancel cannot take it. */
static void
test_cancel_running(void)
{
	struct workq_job g;
	struct workq *wq = gated_queue(&g);

	ok(workq_cancel(wq, is_gate, NULL, drop) == 0 && ndropped == 0,
	    "cancel: a running job is not cancelled");
	flag_set(&gate_open);
	workq_destroy(wq);
}

/* Each job waits (up to 5 s) until all NPAR run at once. */
#define NPAR	4
static void
together(struct workq_job *wj)
{
	struct timespec deadline;

	(void)wj;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 5;
	pthread_mutex_lock(&lock);
	if (++running > most_running)
		most_running = running;
	pthread_cond_broadcast(&cond);
	while (most_running < NPAR &&
	    pthread_cond_timedwait(&cond, &lock, &deadline) == 0)
		;
	running--;
	pthread_mutex_unlock(&lock);
}

static void
test_parallel(void)
{
	struct workq_job jobs[NPAR];
	struct workq *wq;
	int i;

	reset();
	if ((wq = workq_create(NPAR)) == NULL)
		exit(99);
	for (i = 0; i < NPAR; i++) {
		jobs[i].fn = together;
		workq_submit(wq, &jobs[i]);
	}
	workq_destroy(wq);
	ok(most_running == NPAR, "%d workers run %d jobs at once (%d)", NPAR,
	    NPAR, most_running);
}

static void
slow(struct workq_job *wj)
{
	usleep(1000);
	record(wj);
}

/* Destroy right after submitting: every queued job still runs. */
static void
test_shutdown(void)
{
	struct job jobs[NJOBS];
	struct workq *wq;
	int i;

	reset();
	if ((wq = workq_create(2)) == NULL)
		exit(99);
	for (i = 0; i < NJOBS; i++) {
		jobs[i].wj.fn = slow;
		jobs[i].seq = i;
		workq_submit(wq, &jobs[i].wj);
	}
	workq_destroy(wq);
	ok(nran == NJOBS, "shutdown: the %d queued jobs ran before "
	    "workq_destroy returned (%d)", NJOBS, nran);
}

int
main(void)
{
	test_threads();
	test_order();
	test_cancel();
	test_cancel_running();
	test_parallel();
	test_shutdown();
	return done_testing();
}
