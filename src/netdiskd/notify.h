/* SPDX-License-Identifier: ISC */
/*
 * Readiness notification for the service manager: the sd_notify(3)
 * datagram protocol, spoken directly.  Without $NOTIFY_SOCKET every call
 * does nothing.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stddef.h>

/* READY=1: clients can connect. */
void notify_ready(size_t nexports);
/* RELOADING=1 with the time, before a reload. */
void notify_reloading(void);
/* STOPPING=1, when shutting down. */
void notify_stopping(void);

#endif
