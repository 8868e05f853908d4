/* SPDX-License-Identifier: ISC */
/*
 * Rate limiting of log lines: at most burst lines per interval seconds,
 * then one summary line "N more WHAT suppressed".  Used for the I/O
 * errors of an export and for the server's refused connections and
 * authentication failures.
 */
#ifndef RATELIMIT_H
#define RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

struct ratelim {
	pthread_mutex_t lock;
	int64_t start;			/* monotonic seconds */
	unsigned count, suppressed;
	unsigned burst;
	int interval;
};

void ratelim_init(struct ratelim *, unsigned burst, int interval);
void ratelim_destroy(struct ratelim *);
/*
 * 1 if the caller may log one more line.  First logs "N more WHAT
 * suppressed" if an earlier window ended with lines suppressed.
 */
int ratelim_pass(struct ratelim *, const char *what);
/* Logs a pending summary whose window has ended; ms until the next one is due, or -1. */
int ratelim_flush(struct ratelim *, const char *what);

#endif
