// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module parameters that every attach and every connection takes as
 * defaults: conns, dead_timeout and cache (an add line may set others),
 * and rekey_limit.  main.c has those of the netdisk0 attached at load.
 */
#include <linux/cpumask.h>
#include <linux/kernel.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/string.h>

#include "cache.h"
#include "netdisk.h"
#include "params.h"

unsigned int nd_param_conns;
module_param_named(conns, nd_param_conns, uint, 0444);
MODULE_PARM_DESC(conns,
		 "Connections (hardware queues) per device (default: 0 = number of online CPUs, at most 16)");

unsigned int nd_param_dead_timeout = ND_DEFAULT_DEAD_TIMEOUT;
module_param_named(dead_timeout, nd_param_dead_timeout, uint, 0444);
MODULE_PARM_DESC(dead_timeout,
		 "Seconds to keep reconnecting before I/O fails with EIO (default: 120)");

unsigned long long nd_param_rekey_limit = ND_REC_REKEY_LIMIT;
module_param_named(rekey_limit, nd_param_rekey_limit, ullong, 0444);
MODULE_PARM_DESC(rekey_limit,
		 "Records sent under one key before a KeyUpdate; lower it to test KeyUpdates (default: 16777216)");

u64 nd_param_cache;

/* A size with an optional K, M, G or T suffix; checked at load. */
int nd_parse_size(const char *val, u64 *size)
{
	char *end;
	u64 v;

	if (!*val || *val == '-' || *val == '+')
		return -EINVAL;
	v = memparse(val, &end);
	if (*end == '\n')
		end++;
	if (*end)
		return -EINVAL;
	*size = v;
	return 0;
}

static int cache_param_set(const char *val, const struct kernel_param *kp)
{
	int err = nd_parse_size(val, &nd_param_cache);

	if (err)
		pr_err(ND_DRV_NAME ": cache=%s is not a size (use 0, 64M, 1G)\n",
		       val);
	return err;
}

static int cache_param_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%llu\n", nd_param_cache);
}

static const struct kernel_param_ops cache_param_ops = {
	.set = cache_param_set,
	.get = cache_param_get,
};
module_param_cb(cache, &cache_param_ops, NULL, 0444);
MODULE_PARM_DESC(cache,
		 "Client cache of every device, bytes with K, M, G or T, used where no other client can write the export (default: 0 = off)");

unsigned int nd_default_conns(void)
{
	unsigned int n = nd_param_conns;

	if (!n)
		n = num_online_cpus();
	return min_t(unsigned int, n, ND_MAX_CONNS);
}

int nd_params_check(void)
{
	if (nd_param_rekey_limit < 2 ||
	    nd_param_rekey_limit > ND_REC_REKEY_LIMIT) {
		pr_err(ND_DRV_NAME ": rekey_limit must be in 2..%llu\n",
		       ND_REC_REKEY_LIMIT);
		return -EINVAL;
	}
	if (nd_param_dead_timeout > ND_MAX_DEAD_TIMEOUT) {
		pr_err(ND_DRV_NAME ": dead_timeout must be at most %u\n",
		       ND_MAX_DEAD_TIMEOUT);
		return -EINVAL;
	}
	return nd_cache_check_size(nd_param_cache, ND_DRV_NAME);
}
