/* SPDX-License-Identifier: ISC */
/*
 * Connections to netdiskd for the subcommands that talk to it: info, read,
 * write, trim, zero, flush, copy and bench.
 */
#ifndef CTL_CONNECT_H
#define CTL_CONNECT_H

#include <stdint.h>

#include "netdisk_proto.h"

struct client;
struct ctl_keys;

/*
 * Connects to a netdisk URI with this invocation's client id (one random
 * id per process, shared by all its connections).  CLIENT_OK or an exit
 * code, the message printed.
 */
int ctl_open(const char *uri, const struct ctl_keys *keys,
    uint32_t options, struct client *c);
/*
 * The same with a connect and handshake timeout in seconds (0: the
 * default) and, if quiet, no message on failure.
 */
int ctl_open_opt(const char *uri, const struct ctl_keys *keys,
    uint32_t options, int timeout, int quiet, struct client *c);

/*
 * Reports a failed request: r is an enum nd_error from the server or -1
 * for a broken connection (errno says why).  Returns the exit code.
 */
int ctl_request_fail(const struct client *c, const char *cmd, uint64_t off,
    uint64_t len, int r);

#endif
