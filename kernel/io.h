/* SPDX-License-Identifier: GPL-2.0-only */
/* io.c: requests and replies on a connection (struct nd_pdu, netdisk.h). */
#ifndef ND_IO_H
#define ND_IO_H

#include <linux/blk-mq.h>

#include "netdisk.h"

int nd_io_send(struct nd_conn *conn, struct request *rq);
int nd_io_push(struct nd_conn *conn);
int nd_io_recv(struct nd_conn *conn);
int nd_io_cmd_type(struct request *rq);
bool nd_io_give_up(struct nd_pdu *cmd);
bool nd_io_unanswered(struct nd_device *dev, struct nd_pdu *cmd);
void nd_io_end(struct request *rq, blk_status_t status);
void nd_io_requeue(struct request *rq);

#endif /* ND_IO_H */
