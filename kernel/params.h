/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * params.c: the module parameters that are defaults of every attach
 * (conns, dead_timeout, cache) and of every connection (rekey_limit).
 */
#ifndef ND_PARAMS_H
#define ND_PARAMS_H

#include <linux/types.h>

extern unsigned int nd_param_conns;
extern unsigned int nd_param_dead_timeout;
extern unsigned long long nd_param_rekey_limit;
extern u64 nd_param_cache;

unsigned int nd_default_conns(void);
int nd_params_check(void);
int nd_parse_size(const char *val, u64 *size);

#endif /* ND_PARAMS_H */
