/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * conn.c: a device's TCP connections: connect and handshake, the receive
 * thread, reset on failure, reconnect with backoff until dead_timeout.
 */
#ifndef ND_CONN_H
#define ND_CONN_H

#include <linux/net.h>

#include "handshake.h"
#include "netdisk.h"

/*
 * What a connection asks of the device that owns it (dev.c), which calls
 * down into conn.c:
 * @check_export: after a reconnect, before the connection resumes: 0 if
 *	the export is still the one the device attached (a grown size and
 *	changed features are followed), else -ESTALE and the device dies.
 * @kill: the server stayed away past dead_timeout: the device dies, its
 *	I/O fails.
 */
struct nd_conn_ops {
	int (*check_export)(struct nd_device *dev,
			    const struct nd_export_info *info);
	void (*kill)(struct nd_device *dev);
};

int nd_conn_open(struct nd_conn *conn, struct socket **sockp,
		 struct nd_export_info *info, struct nd_keys *keys);
void nd_conn_init(struct nd_conn *conn, struct nd_device *dev,
		  unsigned int index, const struct nd_conn_ops *ops);
int nd_conn_alloc(struct nd_conn *conn);
void nd_conn_free(struct nd_conn *conn);
int nd_conn_start(struct nd_conn *conn, struct socket *sock,
		  const struct nd_keys *keys);
bool nd_conn_disconnect(struct nd_conn *conn, unsigned long deadline);
void nd_conn_halt(struct nd_conn *conn);
bool nd_conn_up(struct nd_conn *conn);
void nd_conn_fail(struct nd_conn *conn);
void nd_conn_shutdown(struct nd_conn *conn);
void nd_conn_release(struct nd_conn *conn);
int nd_conn_memalloc_hold(struct socket **sockp);
void nd_conn_sock_release(struct socket *sock);
bool nd_conn_usable(struct nd_conn *conn);
int nd_conn_add(struct nd_conn *conn, unsigned long deadline);
void nd_conn_retire(struct nd_conn *conn, bool on);
unsigned int nd_conn_busy(struct nd_conn *conn, bool peek);
void nd_conn_close(struct nd_conn *conn);
int nd_wq_init(void);
void nd_wq_exit(void);

#endif /* ND_CONN_H */
