/* SPDX-License-Identifier: ISC */
/*
 * The NBD protocol (include/nbd_proto.h, docs/nbd.md) for the session
 * engine: fixed newstyle negotiation of the exports offered to NBD
 * clients (nbd = plain), then requests and replies, simple or
 * structured, with base:allocation for BLOCK_STATUS.
 */
#ifndef PROTO_NBD_H
#define PROTO_NBD_H

#include "protocol.h"

extern const struct proto_ops proto_nbd;

#endif
