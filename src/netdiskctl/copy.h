/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl copy SRC DST: between a local file or block device and an
 * export, either way round, with many requests in flight.
 */
#ifndef CTL_COPY_H
#define CTL_COPY_H

#include "cmd.h"

/* copy; a NULL name ends the table. */
extern const struct ctl_cmd ctl_copy_cmds[];

#endif
