/* SPDX-License-Identifier: ISC */
/*
 * The replay cache of one key (docs/protocol.md, section 6.3): the
 * client ephemeral keys of the most recent hellos that key
 * authenticated.  Each key has its own, so that the hellos of one key
 * cannot push another key's out.  Reference-counted, so that the export
 * tables before and after a reload share the cache of a key they both
 * have; thread-safe.
 */
#ifndef REPLAY_H
#define REPLAY_H

#include <stdint.h>

#include "netdisk_proto.h"

#define REPLAY_SLOTS	4096		/* ephemeral keys remembered per key */

struct replay;

/* An empty cache (it grows as it fills), or NULL out of memory. */
struct replay *replay_new(void);
struct replay *replay_ref(struct replay *);
void replay_put(struct replay *);		/* NULL is fine */
/*
 * 1 if eph was seen before; else 0 and it is remembered (the oldest of
 * REPLAY_SLOTS is forgotten).
 */
int replay_seen(struct replay *, const uint8_t eph[ND_KEY_LEN]);

#endif
