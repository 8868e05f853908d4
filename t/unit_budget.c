/* SPDX-License-Identifier: ISC */
/* The memory budget of request payloads (src/netdiskd/budget.c). */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "tap.h"

#define MIB	(1024 * 1024)

struct taker {
	pthread_t tid;
	struct budget *b;
	size_t bytes;
	atomic_int stop;
	atomic_int done;		/* 1: took it, -1: left the line */
};

static int
taker_stop(void *arg)
{
	struct taker *t = arg;

	return atomic_load(&t->stop);
}

static void *
taker_main(void *arg)
{
	struct taker *t = arg;
	int r = budget_take(t->b, t->bytes, taker_stop, t);

	atomic_store(&t->done, r == 0 ? 1 : -1);
	return NULL;
}

static void
taker_start(struct taker *t, struct budget *b, size_t bytes)
{
	t->b = b;
	t->bytes = bytes;
	atomic_init(&t->stop, 0);
	atomic_init(&t->done, 0);
	if (pthread_create(&t->tid, NULL, taker_main, t) != 0)
		exit(99);
}

static void
msleep(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to 5 s for the taker to finish; its done value. */
static int
taker_wait(struct taker *t)
{
	int i;

	for (i = 0; i < 500 && atomic_load(&t->done) == 0; i++)
		msleep(10);
	if (atomic_load(&t->done) != 0)
		pthread_join(t->tid, NULL);
	return atomic_load(&t->done);
}

/* Wait until n readers are in line. */
static int
waiting(struct budget *b, unsigned n)
{
	struct budget_info info;
	int i;

	for (i = 0; i < 500; i++) {
		budget_info(b, &info);
		if (info.waiting == n)
			return 1;
		msleep(10);
	}
	return 0;
}

static void
test_try(void)
{
	struct budget *b = budget_new(4 * MIB);
	struct budget_info info;

	ok(budget_try(b, 3 * MIB) == 0, "3 MiB of 4 fit");
	ok(budget_try(b, 2 * MIB) == -1, "2 more do not");
	ok(budget_try(b, MIB) == 0, "1 more does");
	budget_give(b, 4 * MIB);
	ok(budget_try(b, 8 * MIB) == 0,
	    "a request larger than the budget goes when nothing is taken");
	ok(budget_try(b, 512) == -1, "... and nothing else meanwhile");
	budget_info(b, &info);
	ok(info.used == 8 * MIB && info.peak == 8 * MIB && info.limit == 4 * MIB,
	    "info: used, peak, limit");
	budget_give(b, 8 * MIB);
	budget_free(b);
}

static void
test_line(void)
{
	struct budget *b = budget_new(4 * MIB);
	struct taker big, small;

	budget_try(b, 3 * MIB);
	taker_start(&big, b, 2 * MIB);
	ok(waiting(b, 1), "a reader that does not fit waits");
	taker_start(&small, b, MIB);
	ok(waiting(b, 2), "a smaller one after it waits too, though it "
	    "would fit (first come, first served)");
	ok(budget_try(b, 512) == -1, "budget_try does not jump the line");
	budget_give(b, MIB);
	ok(taker_wait(&big) == 1, "1 MiB given back: the first gets its 2");
	ok(waiting(b, 1) && atomic_load(&small.done) == 0,
	    "... and the second, which no longer fits, still waits");
	budget_give(b, MIB);
	ok(taker_wait(&small) == 1, "1 MiB more: the second gets its turn");
	budget_give(b, 4 * MIB);
	budget_free(b);
}

static void
test_stop(void)
{
	struct budget *b = budget_new(MIB);
	struct taker first, second;

	budget_try(b, MIB);
	taker_start(&first, b, MIB);
	ok(waiting(b, 1), "first in line");
	taker_start(&second, b, MIB);
	ok(waiting(b, 2), "second in line");
	atomic_store(&first.stop, 1);
	ok(taker_wait(&first) == -1, "a stopped reader leaves the line");
	ok(waiting(b, 1), "... and the other stays");
	budget_give(b, MIB);
	ok(taker_wait(&second) == 1, "... and gets its turn");
	budget_give(b, MIB);
	budget_free(b);
}

static void
test_limit_change(void)
{
	struct budget *b = budget_new(MIB);
	struct taker t;

	budget_try(b, MIB);
	taker_start(&t, b, MIB);
	ok(waiting(b, 1), "waiting at a limit of 1 MiB");
	budget_set_limit(b, 2 * MIB);
	ok(taker_wait(&t) == 1, "a reload that raises the limit lets it in");
	budget_give(b, 2 * MIB);
	budget_free(b);
}

int
main(void)
{
	test_try();
	test_line();
	test_stop();
	test_limit_change();
	return done_testing();
}
