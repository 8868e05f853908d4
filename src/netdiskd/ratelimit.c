/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <string.h>

#include "log.h"
#include "ratelimit.h"
#include "util.h"

void
ratelim_init(struct ratelim *rl, unsigned burst, int interval)
{
	memset(rl, 0, sizeof(*rl));
	pthread_mutex_init(&rl->lock, NULL);
	rl->burst = burst;
	rl->interval = interval;
	rl->start = mono_ms() / 1000;
}

void
ratelim_destroy(struct ratelim *rl)
{
	pthread_mutex_destroy(&rl->lock);
}

/* Called locked: starts a new window if the current one has ended. */
static void
ratelim_roll(struct ratelim *rl, int64_t now, const char *what)
{
	if (now - rl->start < rl->interval)
		return;
	if (rl->suppressed > 0)
		log_warnx("%u more %s suppressed", rl->suppressed, what);
	rl->start = now;
	rl->count = rl->suppressed = 0;
}

int
ratelim_pass(struct ratelim *rl, const char *what)
{
	int pass;

	pthread_mutex_lock(&rl->lock);
	ratelim_roll(rl, mono_ms() / 1000, what);
	pass = rl->count < rl->burst;
	if (pass)
		rl->count++;
	else
		rl->suppressed++;
	pthread_mutex_unlock(&rl->lock);
	return pass;
}

int
ratelim_flush(struct ratelim *rl, const char *what)
{
	int64_t now = mono_ms();
	int ms = -1;

	pthread_mutex_lock(&rl->lock);
	ratelim_roll(rl, now / 1000, what);
	if (rl->suppressed > 0) {
		ms = (int)((rl->start + rl->interval) * 1000 - now);
		if (ms < 0)
			ms = 0;
	}
	pthread_mutex_unlock(&rl->lock);
	return ms;
}
