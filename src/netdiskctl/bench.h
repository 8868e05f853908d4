/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl bench: IOPS, throughput and latency percentiles of an export
 * under a steady load.
 */
#ifndef CTL_BENCH_H
#define CTL_BENCH_H

#include "cmd.h"

/* bench; a NULL name ends the table. */
extern const struct ctl_cmd ctl_bench_cmds[];

#endif
