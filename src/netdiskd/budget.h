/* SPDX-License-Identifier: ISC */
/*
 * The memory budget of the request payloads netdiskd holds at once, across
 * all sessions: WRITE data read from the client and not yet written, READ
 * buffers not yet sent.  A session's reader takes a request's bytes before
 * it allocates them and gives them back once the reply is sent.
 *
 * When the budget is spent, readers wait in line (first come, first
 * served) rather than allocate.  Nobody waits while holding part of a
 * request's bytes, and every byte taken belongs to a request already
 * being served, which finishes without taking more; so the bytes come
 * back and the first in line always gets its turn.  A request larger than
 * the whole budget is let through once nothing else is taken.
 */
#ifndef BUDGET_H
#define BUDGET_H

#include <stddef.h>

struct budget;

struct budget *budget_new(size_t limit);	/* NULL out of memory */
void budget_free(struct budget *);
void budget_set_limit(struct budget *, size_t limit);	/* at a reload */

/*
 * Take bytes now if they fit and nobody waits: 0, else -1 (nothing
 * taken).  Before waiting, the caller must send what it holds back.
 */
int budget_try(struct budget *, size_t bytes);
/*
 * Wait in line until bytes fit, then take them: 0.  stop(arg) is asked
 * every BUDGET_POLL_MS, without the budget's lock held: if it returns
 * non-zero, leave the line and return -1 with nothing taken.
 */
#define BUDGET_POLL_MS	50
int budget_take(struct budget *, size_t bytes, int (*stop)(void *),
    void *arg);
void budget_give(struct budget *, size_t bytes);

struct budget_info {
	size_t limit, used, peak;
	unsigned waiting;		/* readers in line */
};
void budget_info(struct budget *, struct budget_info *);

#endif
