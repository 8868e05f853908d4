// SPDX-License-Identifier: GPL-2.0-only
/*
 * The module parameters that every attach and every connection takes as
 * defaults: conns and dead_timeout (an add line may set others), and
 * rekey_limit.  main.c has those of the netdisk0 attached at load.
 */
#include <linux/cpumask.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>

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
	return 0;
}
