/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl info, read, write, trim, zero and flush: one connection, one
 * request at a time, large ranges split into chunks the export takes.
 */
#ifndef CTL_IO_H
#define CTL_IO_H

#include "cmd.h"

/* info, read, write, trim, zero and flush; a NULL name ends the table. */
extern const struct ctl_cmd ctl_io_cmds[];

#endif
