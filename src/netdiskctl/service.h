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

/*
 * Send one request line (without its newline) to the control socket at
 * path and print the answer: its text on stdout if it succeeded, on
 * stderr if not.  Progress lines before it are skipped; each read waits
 * at most CONTROL_WAIT seconds.  The exit code.
 */
int service_request(const char *path, const char *request);

#endif
