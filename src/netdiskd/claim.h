/* SPDX-License-Identifier: ISC */
/*
 * Who may use an export: the exclusive claim of a read-write export (one
 * client id at a time, any number of its connections), the count of
 * distinct client ids for max_clients, and the connection slots of the
 * sessions, for fencing (docs/protocol.md, section 10.5).
 *
 * A claim is reference counted: an export that replaces another at a
 * reload or restart shares the claim of the one it replaces, so the
 * sessions of both count and fence each other.
 */
#ifndef CLAIM_H
#define CLAIM_H

#include <sys/queue.h>

#include <stdint.h>

#include "netdisk_proto.h"

struct claim;

struct claim *claim_new(void);		/* NULL: out of memory */
struct claim *claim_ref(struct claim *);
void claim_put(struct claim *);

/*
 * Claim for client id: ND_HS_OK, ND_HS_BUSY (a read-write claim held by
 * another client id, copied to holder), ND_HS_TOO_MANY (max_clients
 * distinct client ids; 0: no limit) or ND_HS_UNAVAILABLE (out of
 * memory).  shared: a read-only use, which does not take the exclusive
 * claim.  A conflicting claim is waited for a moment first: a client that
 * reconnects at once must not find its previous connection still there.
 * Release with the same id and shared.
 */
uint32_t claim_take(struct claim *, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared, int max_clients, uint8_t holder[ND_CLIENT_ID_LEN]);
void claim_release(struct claim *, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared);

/*
 * A session's connection slot, (client id, conn).  The session fills in
 * id, conn and two functions that claim.c calls with the claim locked:
 * fence makes the session start no more requests and shuts its
 * connection down; drained is 1 once none of its requests is executing.
 */
struct claim_slot {
	uint8_t id[ND_CLIENT_ID_LEN];
	uint16_t conn;
	void (*fence)(struct claim_slot *);
	int (*drained)(struct claim_slot *);
	/* Internal to claim.c. */
	LIST_ENTRY(claim_slot) entry;
	uint64_t gen;			/* order of entry */
	int superseded;			/* fenced by a newer session */
};

/*
 * Take slot: fence every older session of the same (id, conn) and wait up
 * to wait_ms until they have drained.  ND_HS_OK with the slot taken (give
 * it back with claim_slot_leave), or ND_HS_RETRY without: they did not
 * drain in time, or a newer session of the slot came meanwhile.
 */
uint32_t claim_slot_enter(struct claim *, struct claim_slot *, int wait_ms);
void claim_slot_leave(struct claim *, struct claim_slot *);
/* A fenced session has drained: wakes claim_slot_enter. */
void claim_slot_drained(struct claim *);

#endif
