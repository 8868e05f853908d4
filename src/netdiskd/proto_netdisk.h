/* SPDX-License-Identifier: ISC */
/*
 * The netdisk protocol (docs/protocol.md) for the session engine: the
 * handshake (hello authenticated by trial of the export keys, replay
 * check, ServerHello with the export's parameters, ClientFinished), then
 * requests and replies in sealed records (record.h), key updates
 * included.
 */
#ifndef PROTO_NETDISK_H
#define PROTO_NETDISK_H

#include "protocol.h"

extern const struct proto_ops proto_netdisk;

#endif
