/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * params.c: the module parameters that are defaults of every attach
 * (conns, dead_timeout) and of every connection (rekey_limit).
 */
#ifndef ND_PARAMS_H
#define ND_PARAMS_H

extern unsigned int nd_param_conns;
extern unsigned int nd_param_dead_timeout;
extern unsigned long long nd_param_rekey_limit;

unsigned int nd_default_conns(void);
int nd_params_check(void);

#endif /* ND_PARAMS_H */
