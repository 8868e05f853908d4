/* SPDX-License-Identifier: ISC */
/*
 * A fake session's connection slot (claim.h) for the unit tests of
 * fencing: it counts the calls of fence, and has drained once fenced with
 * none of its requests "in the store".
 */
#ifndef FAKE_SLOT_H
#define FAKE_SLOT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "claim.h"

struct fake {
	struct claim_slot slot;		/* first */
	atomic_int nfenced;		/* calls of fence */
	atomic_int executing;		/* requests "in the store" */
};

static inline void
fake_fence(struct claim_slot *slot)
{
	atomic_fetch_add(&((struct fake *)slot)->nfenced, 1);
}

static inline int
fake_drained(struct claim_slot *slot)
{
	struct fake *f = (struct fake *)slot;

	return atomic_load(&f->nfenced) > 0 && atomic_load(&f->executing) == 0;
}

/* A slot of the client id whose bytes are all id. */
static inline void
fake_init(struct fake *f, uint8_t id, uint16_t conn)
{
	memset(f, 0, sizeof(*f));
	memset(f->slot.id, id, ND_CLIENT_ID_LEN);
	f->slot.conn = conn;
	f->slot.fence = fake_fence;
	f->slot.drained = fake_drained;
}

#endif
