/* SPDX-License-Identifier: ISC */
/*
 * The claim rules (src/netdiskd/claim.c): one read-write client id at a
 * time with any number of its connections, read-only (shared) uses beside
 * it, max_clients distinct client ids, the wait for a conflicting claim
 * to go away, release, a claim shared by an export and its replacement,
 * and a reconnecting client whose new session fences its old one while
 * both hold the claim.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "claim.h"
#include "fake_slot.h"
#include "tap.h"
#include "util.h"

#define RW	0
#define RO	1

static uint8_t ida[ND_CLIENT_ID_LEN], idb[ND_CLIENT_ID_LEN],
    idc[ND_CLIENT_ID_LEN];

static uint32_t
take_timed(struct claim *c, const uint8_t *id, int shared, int max,
    uint8_t *holder, int64_t *ms)
{
	int64_t t0 = mono_ms();
	uint32_t st;

	st = claim_take(c, id, shared, max, holder);
	*ms = mono_ms() - t0;
	return st;
}

static const char *
status_name(uint32_t st)
{
	switch (st) {
	case ND_HS_OK:
		return "OK";
	case ND_HS_BUSY:
		return "BUSY";
	case ND_HS_TOO_MANY:
		return "TOO_MANY";
	}
	return "another status";
}

/*
 * Release one connection of rel, then claim for id: want is what that
 * gets, a refusal after the wait or OK at once.  An OK claim is released
 * again.
 */
static void
after_release(struct claim *c, const uint8_t *rel, int rel_shared,
    const uint8_t *id, int shared, int max, uint32_t want, const char *what)
{
	uint8_t holder[ND_CLIENT_ID_LEN];
	int64_t ms;
	uint32_t st;

	claim_release(c, rel, rel_shared);
	st = take_timed(c, id, shared, max, holder, &ms);
	ok(st == want && (want != ND_HS_OK || ms < 400), "%s: %s (%lld ms)",
	    what, status_name(st), (long long)ms);
	if (st == ND_HS_OK)
		claim_release(c, id, shared);
}

/* One read-write client id; shared uses beside it. */
static void
test_exclusive(void)
{
	struct claim *c = claim_new();
	uint8_t holder[ND_CLIENT_ID_LEN];
	int64_t ms;
	uint32_t st;

	ok(claim_take(c, ida, RW, 0, holder) == ND_HS_OK, "A read-write: OK");
	ok(claim_take(c, ida, RW, 0, holder) == ND_HS_OK,
	    "A read-write on a second connection: OK");
	memset(holder, 0, sizeof(holder));
	st = take_timed(c, idb, RW, 0, holder, &ms);
	ok(st == ND_HS_BUSY && memcmp(holder, ida, sizeof(ida)) == 0,
	    "B read-write: BUSY, held by A");
	ok(ms >= 400 && ms < 2000,
	    "B waited for A to go away first (%lld ms)", (long long)ms);
	st = take_timed(c, idb, RO, 0, holder, &ms);
	ok(st == ND_HS_OK && ms < 400, "B read-only: OK at once (%lld ms)",
	    (long long)ms);
	after_release(c, idb, RO, idc, RW, 0, ND_HS_BUSY,
	    "B's read-only release leaves A's claim: C read-write");
	after_release(c, ida, RW, idb, RW, 0, ND_HS_BUSY,
	    "A released one of its two connections: B read-write");
	after_release(c, ida, RW, idb, RW, 0, ND_HS_OK,
	    "A released both: B read-write");
	claim_put(c);
}

struct releaser {
	struct claim *c;
	const uint8_t *id;
	int shared;
	int delay_ms;
	int64_t released;		/* mono_ms() just before the release */
};

static void *
release_later(void *arg)
{
	struct releaser *r = arg;

	usleep(r->delay_ms * 1000);
	r->released = mono_ms();
	claim_release(r->c, r->id, r->shared);
	return NULL;
}

/*
 * A conflicting claim that goes away within the wait: OK then, once it
 * went.  Ordered by the release, not by the clock, so that a loaded
 * machine that runs the releaser late does not fail it (unless later
 * than the whole 500 ms wait).
 */
static void
test_wait(void)
{
	struct claim *c = claim_new();
	struct releaser r = { c, ida, RW, 50, 0 };
	uint8_t holder[ND_CLIENT_ID_LEN];
	pthread_t t;
	int64_t ms, t0 = mono_ms(), done;
	uint32_t st;

	claim_take(c, ida, RW, 0, holder);
	pthread_create(&t, NULL, release_later, &r);
	st = take_timed(c, idb, RW, 0, holder, &ms);
	done = mono_ms();
	pthread_join(t, NULL);
	ok(st == ND_HS_OK && done >= r.released,
	    "A releases 50 ms later: B gets it then, not before (%lld ms, "
	    "released at %lld ms)", (long long)ms,
	    (long long)(r.released - t0));
	claim_release(c, idb, RW);
	claim_put(c);
}

/* max_clients counts distinct client ids, not connections. */
static void
test_max_clients(void)
{
	struct claim *c = claim_new();
	uint8_t holder[ND_CLIENT_ID_LEN];
	int64_t ms;
	uint32_t st;

	ok(claim_take(c, ida, RO, 2, holder) == ND_HS_OK &&
	    claim_take(c, idb, RW, 2, holder) == ND_HS_OK,
	    "max_clients 2: A read-only and B read-write: OK");
	st = take_timed(c, idc, RO, 2, holder, &ms);
	ok(st == ND_HS_TOO_MANY && ms >= 400,
	    "C: TOO_MANY, after the wait (%lld ms)", (long long)ms);
	ok(claim_take(c, ida, RO, 2, holder) == ND_HS_OK,
	    "A again: OK, it is counted already");
	ok(claim_take(c, idc, RO, 0, holder) == ND_HS_OK,
	    "C with no limit (max_clients 0): OK");
	claim_release(c, idc, RO);
	after_release(c, ida, RO, idc, RO, 2, ND_HS_TOO_MANY,
	    "A released one of its two connections: C");
	after_release(c, ida, RO, idc, RO, 2, ND_HS_OK,
	    "A released its last connection: C");
	claim_release(c, idb, RW);
	claim_put(c);
}

/* An export and the one that replaced it (a reload) share one claim. */
static void
test_shared_by_replacement(void)
{
	struct claim *old = claim_new();
	struct claim *new = claim_ref(old);
	uint8_t holder[ND_CLIENT_ID_LEN];
	int64_t ms;

	claim_take(old, ida, RW, 0, holder);
	claim_put(old);			/* the old export is gone */
	ok(take_timed(new, idb, RW, 0, holder, &ms) == ND_HS_BUSY,
	    "A's claim on the old export holds the new one: B BUSY");
	claim_release(new, ida, RW);	/* A's old session closes */
	ok(claim_take(new, idb, RW, 0, holder) == ND_HS_OK,
	    "released: B OK on the new export");
	claim_release(new, idb, RW);
	claim_put(new);
}

/*
 * A client reconnects while its old session still holds the claim: the
 * new one claims at once (same id), fences the old one through its slot,
 * and keeps the export after the old one released.
 */
static void
test_reconnect(void)
{
	struct claim *c = claim_new();
	struct fake old, new;
	uint8_t holder[ND_CLIENT_ID_LEN];
	int64_t ms;
	uint32_t st;

	fake_init(&old, 0xa, 0);
	fake_init(&new, 0xa, 0);
	claim_take(c, ida, RW, 1, holder);
	claim_slot_enter(c, &old.slot, 100);
	st = take_timed(c, ida, RW, 1, holder, &ms);
	ok(st == ND_HS_OK && ms < 400,
	    "A's new session claims at once beside its old one (%lld ms)",
	    (long long)ms);
	ok(claim_slot_enter(c, &new.slot, 1000) == ND_HS_OK &&
	    atomic_load(&old.nfenced) > 0,
	    "its slot fences the old session");
	claim_slot_leave(c, &old.slot);
	claim_release(c, ida, RW);
	ok(take_timed(c, idb, RW, 0, holder, &ms) == ND_HS_BUSY &&
	    memcmp(holder, ida, sizeof(ida)) == 0,
	    "the old session gone, A still holds the export: B BUSY");
	ok(take_timed(c, idb, RO, 1, holder, &ms) == ND_HS_TOO_MANY,
	    "and counts as the one client of max_clients 1");
	claim_slot_leave(c, &new.slot);
	claim_release(c, ida, RW);
	ok(claim_take(c, idb, RW, 1, holder) == ND_HS_OK,
	    "A gone: B OK");
	claim_release(c, idb, RW);
	claim_put(c);
}

int
main(void)
{
	memset(ida, 0xa, sizeof(ida));
	memset(idb, 0xb, sizeof(idb));
	memset(idc, 0xc, sizeof(idc));
	test_exclusive();
	test_wait();
	test_max_clients();
	test_shared_by_replacement();
	test_reconnect();
	return done_testing();
}
