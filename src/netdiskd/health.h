/* SPDX-License-Identifier: ISC */
/*
 * The health of an export's backing store: healthy until a write or a
 * sync of the store fails, then failed until "netdiskctl restart" reopens
 * it.  Linux reports a writeback error once per open file: whoever syncs
 * first sees it, and every later sync succeeds although the data is lost.
 * So the failure is remembered here and told to every later FLUSH and FUA
 * write instead.
 *
 * One health is shared by an export and those that replace it at a reload
 * (they open the same file anew, and a new open file does not see errors
 * from before it was opened).  A restart clears it.
 */
#ifndef HEALTH_H
#define HEALTH_H

#include <time.h>

struct health;

struct health_state {
	int error;			/* errno that failed the store; 0: healthy */
	const char *op;			/* what failed: "write", "flush", ... */
	time_t since;			/* wall clock */
};

struct health *health_new(void);	/* healthy; NULL out of memory */
struct health *health_ref(struct health *);
void health_put(struct health *);

/*
 * Record a failure (op: a string constant).  1 if it failed the store
 * now, 0 if the store had failed before (the first failure is kept).
 */
int health_fail(struct health *, int error, const char *op);
/* The errno that failed the store, or 0; cheap enough for every request. */
int health_failed(struct health *);
/* The state, for the status report. */
void health_get(struct health *, struct health_state *);
/* Healthy again (a restart reopened the store). */
void health_clear(struct health *);

#endif
