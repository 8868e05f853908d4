/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl attach, detach and list: the kernel client's devices, through
 * kmod.h, from a URI or from the entries of netdisktab (tab.h).
 */
#ifndef CTL_ATTACH_H
#define CTL_ATTACH_H

#include "cmd.h"

/* attach, detach and list; a NULL name ends the table. */
extern const struct ctl_cmd ctl_attach_cmds[];

#endif
