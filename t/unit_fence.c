/* SPDX-License-Identifier: ISC */
/*
 * Fencing on an export's claim (src/netdiskd/claim.c, through
 * export_slot_*), with fake sessions: which sessions a new one fences,
 * how long it waits for them to drain, ND_HS_RETRY, a superseded waiter,
 * and an export that replaced another (a reload or restart) sharing the
 * slots.  And workq_cancel (src/netdiskd/workq.c), which takes a fenced session's
 * jobs off the queue.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "fake_slot.h"
#include "tap.h"
#include "util.h"
#include "workq.h"

/* One export_slot_enter on a thread of its own. */
struct entering {
	struct export *e;
	struct fake *f;
	int wait_ms;
	uint32_t status;
	int64_t ms;			/* it took */
};

static uint32_t
enter_timed(struct export *e, struct fake *f, int wait_ms, int64_t *ms)
{
	int64_t t0 = mono_ms();
	uint32_t st;

	st = export_slot_enter(e, &f->slot, wait_ms);
	*ms = mono_ms() - t0;
	return st;
}

static void *
enter_thread(void *arg)
{
	struct entering *en = arg;

	en->status = enter_timed(en->e, en->f, en->wait_ms, &en->ms);
	return NULL;
}

static struct export *
open_export(const char *path, struct export *prev)
{
	static uint8_t key[ND_KEY_LEN];
	struct conf_export ce;
	struct export *e;
	char err[512];

	memset(&ce, 0, sizeof(ce));
	strcpy(ce.name, "fence");
	ce.path = (char *)path;
	ce.size = 1 << 20;
	ce.trim = 1;
	if ((e = export_open(&ce, key, prev, err, sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		exit(1);
	}
	return e;
}

/* Other ids and other slots are left alone; the same slot is fenced. */
static void
test_who(struct export *e)
{
	struct fake a, b, c, d;
	uint32_t st;
	int64_t ms;

	fake_init(&a, 1, 0);
	fake_init(&b, 1, 1);
	fake_init(&c, 2, 0);
	fake_init(&d, 1, 0);
	ok(export_slot_enter(e, &a.slot, 100) == ND_HS_OK &&
	    export_slot_enter(e, &b.slot, 100) == ND_HS_OK &&
	    export_slot_enter(e, &c.slot, 100) == ND_HS_OK,
	    "id 1 slot 0, id 1 slot 1, id 2 slot 0 enter");
	ok(atomic_load(&a.nfenced) == 0 && atomic_load(&b.nfenced) == 0 &&
	    atomic_load(&c.nfenced) == 0, "none of them is fenced");
	st = enter_timed(e, &d, 2000, &ms);
	ok(st == ND_HS_OK && ms < 1000,
	    "id 1 slot 0 again: OK at once, the old one has drained (%lld ms)",
	    (long long)ms);
	ok(atomic_load(&a.nfenced) > 0, "the old session of the slot is fenced");
	ok(atomic_load(&b.nfenced) == 0 && atomic_load(&c.nfenced) == 0 &&
	    atomic_load(&d.nfenced) == 0,
	    "another slot of the id and another id are not");
	export_slot_leave(e, &a.slot);
	export_slot_leave(e, &b.slot);
	export_slot_leave(e, &c.slot);
	export_slot_leave(e, &d.slot);
}

static void *
drain_later(void *arg)
{
	struct entering *en = arg;

	usleep(200000);
	atomic_store(&en->f->executing, 0);
	export_slot_drained(en->e);
	return NULL;
}

/* An old session still executing: RETRY after the wait, OK once drained. */
static void
test_wait(struct export *e)
{
	struct fake old, n1, n2;
	struct entering en;
	pthread_t t;
	uint32_t st;
	int64_t ms;

	fake_init(&old, 3, 5);
	fake_init(&n1, 3, 5);
	fake_init(&n2, 3, 5);
	ok(export_slot_enter(e, &old.slot, 100) == ND_HS_OK, "old enters");
	atomic_store(&old.executing, 1);
	st = enter_timed(e, &n1, 300, &ms);
	ok(st == ND_HS_RETRY && ms >= 250,
	    "old still executing: RETRY after the 300 ms wait (%lld ms)",
	    (long long)ms);
	ok(atomic_load(&old.nfenced) > 0, "old is fenced all the same");
	en.e = e;
	en.f = &old;
	pthread_create(&t, NULL, drain_later, &en);
	st = enter_timed(e, &n2, 5000, &ms);
	ok(st == ND_HS_OK && ms < 2000,
	    "old drains 200 ms later: OK then (%lld ms)", (long long)ms);
	pthread_join(t, NULL);
	export_slot_leave(e, &old.slot);
	export_slot_leave(e, &n2.slot);
}

/* A newer session supersedes one that waits: the waiter gives up. */
static void
test_superseded(struct export *e)
{
	struct fake old, waiter, newer;
	struct entering en;
	pthread_t t;
	int64_t ms;

	fake_init(&old, 4, 0);
	fake_init(&waiter, 4, 0);
	fake_init(&newer, 4, 0);
	export_slot_enter(e, &old.slot, 100);
	atomic_store(&old.executing, 1);
	en.e = e;
	en.f = &waiter;
	en.wait_ms = 3000;
	pthread_create(&t, NULL, enter_thread, &en);
	usleep(200000);
	ok(enter_timed(e, &newer, 200, &ms) == ND_HS_RETRY,
	    "newer: RETRY, old still executes");
	pthread_join(t, NULL);
	ok(en.status == ND_HS_RETRY && en.ms < 1500,
	    "the superseded waiter gives up with RETRY (%lld ms)",
	    (long long)en.ms);
	ok(atomic_load(&waiter.nfenced) > 0, "the waiter was fenced");
	ok(atomic_load(&newer.nfenced) == 0,
	    "the older waiter never fenced the newer session");
	atomic_store(&old.executing, 0);
	ok(export_slot_enter(e, &newer.slot, 1000) == ND_HS_OK,
	    "newer enters once old drained");
	export_slot_leave(e, &old.slot);
	export_slot_leave(e, &newer.slot);
}

/* The export that replaces another at a reload shares its slots. */
static void
test_reload(struct export *e1, struct export *e2)
{
	struct fake a, b;

	fake_init(&a, 5, 7);
	fake_init(&b, 5, 7);
	export_slot_enter(e1, &a.slot, 100);
	ok(export_slot_enter(e2, &b.slot, 1000) == ND_HS_OK &&
	    atomic_load(&a.nfenced) > 0,
	    "a session of the new export fences the old export's");
	export_slot_leave(e1, &a.slot);
	export_slot_leave(e2, &b.slot);
}

/* A job of owner 1 or 2; the blocker holds the only worker. */
struct tjob {
	struct workq_job job;		/* first */
	int owner;
	atomic_int *ran, *dropped;
};

static atomic_int gate;

static void
tjob_run(struct workq_job *job)
{
	atomic_fetch_add(((struct tjob *)job)->ran, 1);
}

static void
blocker_run(struct workq_job *job)
{
	(void)job;
	while (!atomic_load(&gate))
		usleep(1000);
}

static int
tjob_of(const struct workq_job *job, void *owner)
{
	return job->fn == tjob_run &&
	    ((const struct tjob *)job)->owner == *(int *)owner;
}

static void
tjob_drop(struct workq_job *job)
{
	atomic_fetch_add(((struct tjob *)job)->dropped, 1);
}

static void
test_workq_cancel(void)
{
	struct workq_job blocker = { .fn = blocker_run };
	atomic_int ran[3] = { 0 }, dropped[3] = { 0 };
	struct tjob jobs[8];
	struct workq *wq;
	int i, one = 1, n;

	if ((wq = workq_create(1)) == NULL) {
		printf("Bail out! workq_create failed\n");
		exit(1);
	}
	workq_submit(wq, &blocker);
	for (i = 0; i < 8; i++) {
		jobs[i].job.fn = tjob_run;
		jobs[i].owner = 1 + i % 2;
		jobs[i].ran = &ran[jobs[i].owner];
		jobs[i].dropped = &dropped[jobs[i].owner];
		workq_submit(wq, &jobs[i].job);
	}
	n = workq_cancel(wq, tjob_of, &one, tjob_drop);
	atomic_store(&gate, 1);
	workq_destroy(wq);	/* runs what is queued */
	ok(n == 4 && atomic_load(&dropped[1]) == 4 &&
	    atomic_load(&ran[1]) == 0,
	    "workq_cancel drops owner 1's 4 queued jobs: none runs");
	ok(atomic_load(&ran[2]) == 4 && atomic_load(&dropped[2]) == 0,
	    "owner 2's 4 jobs still run");
}

int
main(void)
{
	char path[] = "/tmp/unit_fence.XXXXXX";
	struct export *e, *e2;
	int fd;

	if ((fd = mkstemp(path)) == -1) {
		printf("Bail out! mkstemp: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	e = open_export(path, NULL);
	test_who(e);
	test_wait(e);
	test_superseded(e);
	e2 = open_export(path, e);
	test_reload(e, e2);
	export_put(e2);
	export_put(e);
	unlink(path);
	test_workq_cancel();
	return done_testing();
}
