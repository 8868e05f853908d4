/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "claim.h"

/*
 * How long a claim waits for a conflicting one to go away: a client that
 * disconnects and reconnects at once (one command after another) must
 * not find its own previous connection still holding the export.
 */
#define CLAIM_WAIT_MS	500

struct claim_client {
	uint8_t id[ND_CLIENT_ID_LEN];
	int conns;
};

struct claim {
	pthread_mutex_t lock;
	pthread_cond_t released;
	atomic_int refs;
	int excl_conns;		/* read-write sessions of excl_id */
	uint8_t excl_id[ND_CLIENT_ID_LEN];
	struct claim_client *clients;
	int nclients, cap;
	LIST_HEAD(, claim_slot) slots;	/* of the sessions, for fencing */
	uint64_t slot_gen;		/* of the last one entered */
};

static void
cond_init_monotonic(pthread_cond_t *cond)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cond, &ca);
	pthread_condattr_destroy(&ca);
}

struct claim *
claim_new(void)
{
	struct claim *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	cond_init_monotonic(&c->released);
	atomic_init(&c->refs, 1);
	LIST_INIT(&c->slots);
	return c;
}

struct claim *
claim_ref(struct claim *c)
{
	atomic_fetch_add(&c->refs, 1);
	return c;
}

void
claim_put(struct claim *c)
{
	if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	pthread_cond_destroy(&c->released);
	pthread_mutex_destroy(&c->lock);
	free(c->clients);
	free(c);
}

static struct claim_client *
claim_find(struct claim *c, const uint8_t id[ND_CLIENT_ID_LEN])
{
	int i;

	for (i = 0; i < c->nclients; i++)
		if (memcmp(c->clients[i].id, id, ND_CLIENT_ID_LEN) == 0)
			return &c->clients[i];
	return NULL;
}

static struct claim_client *
claim_add(struct claim *c, const uint8_t id[ND_CLIENT_ID_LEN])
{
	struct claim_client *cl;
	int cap;

	if (c->nclients == c->cap) {
		cap = c->cap ? 2 * c->cap : 8;
		cl = reallocarray(c->clients, cap, sizeof(*cl));
		if (cl == NULL)
			return NULL;
		c->clients = cl;
		c->cap = cap;
	}
	cl = &c->clients[c->nclients++];
	memcpy(cl->id, id, ND_CLIENT_ID_LEN);
	cl->conns = 0;
	return cl;
}

/* Called locked: what a claim would get now. */
static uint32_t
claim_check(struct claim *c, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared, int max_clients)
{
	if (!shared && c->excl_conns > 0 &&
	    memcmp(c->excl_id, id, ND_CLIENT_ID_LEN) != 0)
		return ND_HS_BUSY;
	if (max_clients > 0 && c->nclients >= max_clients &&
	    claim_find(c, id) == NULL)
		return ND_HS_TOO_MANY;
	return ND_HS_OK;
}

/* Called locked: take the claim. */
static uint32_t
claim_grant(struct claim *c, const uint8_t id[ND_CLIENT_ID_LEN], int shared)
{
	struct claim_client *cl;

	if ((cl = claim_find(c, id)) == NULL &&
	    (cl = claim_add(c, id)) == NULL)
		return ND_HS_UNAVAILABLE;
	cl->conns++;
	if (!shared && c->excl_conns++ == 0)
		memcpy(c->excl_id, id, ND_CLIENT_ID_LEN);
	return ND_HS_OK;
}

/* The monotonic clock ms milliseconds from now. */
static void
deadline_after(struct timespec *deadline, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

uint32_t
claim_take(struct claim *c, const uint8_t id[ND_CLIENT_ID_LEN], int shared,
    int max_clients, uint8_t holder[ND_CLIENT_ID_LEN])
{
	struct timespec deadline;
	uint32_t status;

	deadline_after(&deadline, CLAIM_WAIT_MS);
	pthread_mutex_lock(&c->lock);
	while ((status = claim_check(c, id, shared, max_clients)) !=
	    ND_HS_OK && pthread_cond_timedwait(&c->released, &c->lock,
	    &deadline) == 0)
		;
	if (status == ND_HS_BUSY)
		memcpy(holder, c->excl_id, ND_CLIENT_ID_LEN);
	else if (status == ND_HS_OK)
		status = claim_grant(c, id, shared);
	pthread_mutex_unlock(&c->lock);
	return status;
}

void
claim_release(struct claim *c, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared)
{
	struct claim_client *cl;

	pthread_mutex_lock(&c->lock);
	if ((cl = claim_find(c, id)) != NULL && --cl->conns == 0)
		*cl = c->clients[--c->nclients];
	if (!shared && c->excl_conns > 0)
		c->excl_conns--;
	pthread_cond_broadcast(&c->released);
	pthread_mutex_unlock(&c->lock);
}

/* Fencing. */

/*
 * Called locked: fences the older sessions of the slot; 1 if one of them
 * has not drained.
 */
static int
claim_fence(struct claim *c, struct claim_slot *slot)
{
	struct claim_slot *o;
	int busy = 0;

	LIST_FOREACH(o, &c->slots, entry) {
		if (o->gen >= slot->gen || o->conn != slot->conn ||
		    memcmp(o->id, slot->id, ND_CLIENT_ID_LEN) != 0)
			continue;
		if (!o->superseded)	/* it may be waiting to enter */
			pthread_cond_broadcast(&c->released);
		o->superseded = 1;
		o->fence(o);
		if (!o->drained(o))
			busy = 1;
	}
	return busy;
}

uint32_t
claim_slot_enter(struct claim *c, struct claim_slot *slot, int wait_ms)
{
	struct timespec deadline;
	int busy, timedout = 0;

	deadline_after(&deadline, wait_ms);
	pthread_mutex_lock(&c->lock);
	slot->gen = ++c->slot_gen;
	slot->superseded = 0;
	LIST_INSERT_HEAD(&c->slots, slot, entry);
	while ((busy = slot->superseded || claim_fence(c, slot)) &&
	    !timedout && !slot->superseded)
		timedout = pthread_cond_timedwait(&c->released, &c->lock,
		    &deadline) != 0;
	if (busy)
		LIST_REMOVE(slot, entry);
	pthread_mutex_unlock(&c->lock);
	return busy ? ND_HS_RETRY : ND_HS_OK;
}

void
claim_slot_leave(struct claim *c, struct claim_slot *slot)
{
	pthread_mutex_lock(&c->lock);
	LIST_REMOVE(slot, entry);
	pthread_cond_broadcast(&c->released);
	pthread_mutex_unlock(&c->lock);
}

void
claim_slot_drained(struct claim *c)
{
	pthread_mutex_lock(&c->lock);
	pthread_cond_broadcast(&c->released);
	pthread_mutex_unlock(&c->lock);
}
