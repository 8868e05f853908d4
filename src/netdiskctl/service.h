/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl status, reload and restart: requests to a running netdiskd
 * over its control socket (control_proto.h).
 */
#ifndef CTL_SERVICE_H
#define CTL_SERVICE_H

#include "cmd.h"

/* status, reload and restart; a NULL name ends the table. */
extern const struct ctl_cmd ctl_service_cmds[];

#endif
