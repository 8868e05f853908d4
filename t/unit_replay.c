/* SPDX-License-Identifier: ISC */
/* The replay cache of one key (src/netdiskd/replay.c). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "replay.h"
#include "tap.h"

static void
eph_of(uint32_t n, uint8_t eph[ND_KEY_LEN])
{
	memset(eph, 0xa5, ND_KEY_LEN);
	memcpy(eph, &n, sizeof(n));
}

/* 1 if every ephemeral key first..last-1 is seen by r. */
static int
all_seen(struct replay *r, uint32_t first, uint32_t last)
{
	uint8_t eph[ND_KEY_LEN];
	uint32_t n;
	int all = 1;

	for (n = first; n < last; n++) {
		eph_of(n, eph);
		all &= replay_seen(r, eph);
	}
	return all;
}

static int
none_seen(struct replay *r, uint32_t first, uint32_t last)
{
	uint8_t eph[ND_KEY_LEN];
	uint32_t n;
	int none = 1;

	for (n = first; n < last; n++) {
		eph_of(n, eph);
		none &= !replay_seen(r, eph);
	}
	return none;
}

int
main(void)
{
	struct replay *a = replay_new(), *b = replay_new(), *a2;
	uint8_t eph[ND_KEY_LEN];

	ok(a != NULL && b != NULL, "two caches");
	ok(none_seen(a, 0, 10), "10 new keys are not replays");
	ok(all_seen(a, 0, 10), "the same 10 again are");
	eph_of(5, eph);
	ok(!replay_seen(b, eph), "another key's cache does not know them");
	ok(none_seen(b, 100, 100 + 2 * REPLAY_SLOTS),
	    "%d new hellos under the other key", 2 * REPLAY_SLOTS);
	ok(all_seen(a, 0, 10), "the first key still remembers its 10");
	ok(none_seen(a, 1000, 1000 + REPLAY_SLOTS - 10),
	    "the first key takes as many more as it holds");
	ok(all_seen(a, 0, 10), "and still remembers the oldest");
	ok(none_seen(a, 50000, 50010), "10 more under it");
	ok(none_seen(a, 0, 10), "push its 10 oldest out");
	a2 = replay_ref(a);
	replay_put(a);
	ok(all_seen(a2, 50000, 50010), "a second reference sees the same "
	    "cache after the first is dropped");
	replay_put(a2);
	replay_put(b);
	replay_put(NULL);
	return done_testing();
}
