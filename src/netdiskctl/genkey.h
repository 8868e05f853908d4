/* SPDX-License-Identifier: ISC */
/* netdiskctl genkey: a fresh 256-bit key as 64 hex digits. */
#ifndef CTL_GENKEY_H
#define CTL_GENKEY_H

#include "cmd.h"

/* genkey; a NULL name ends the table. */
extern const struct ctl_cmd ctl_genkey_cmds[];

#endif
