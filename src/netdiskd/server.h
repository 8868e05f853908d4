/* SPDX-License-Identifier: ISC */
/*
 * The server: its lifecycle (start, reload on SIGHUP or from the control
 * socket, restart of one export, shutdown on SIGTERM or SIGINT), the
 * poll loop, and the sessions it serves: the caps on handshakes and
 * sessions and who is admitted.  The parts it is made of: the export
 * table (exports.h), the listeners (listen.h), the authentication state
 * (auth.h), the control socket (control.h).
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdint.h>
#include <stdio.h>

#include "conf.h"

struct server;
struct control;
struct status;

/*
 * Open every export and listening socket of conf (logging what fails);
 * no thread is started yet, so the caller may still fork.  conf_path
 * is read again at each reload.  conf is not kept.
 */
struct server *server_create(const struct conf *conf, const char *conf_path);
/*
 * Serve until SIGTERM or SIGINT arrives on sigfd (a signalfd for
 * SIGTERM, SIGINT and SIGHUP), then stop accepting, let the sessions
 * finish their requests and sync every export.  0, or -1 if the server
 * could not start.
 */
int server_run(struct server *, int sigfd);
void server_destroy(struct server *);
/* The control socket server_run also serves (control.h), or NULL. */
void server_set_control(struct server *, struct control *);

/*
 * What fails is logged and, if report is not NULL, written to it too,
 * one line each.
 *
 * Reload: parse and validate the configuration file, then swap it in;
 * 0, or -1 with the running configuration kept.
 */
int server_reload(struct server *, FILE *report);
/*
 * Reopen the export called name and disconnect its clients.  0, or -1
 * with errno ENOENT (no such export) or EIO (it cannot be opened: the
 * running one is kept).
 */
int server_restart_export(struct server *, const char *name, FILE *report);
/* A snapshot for the status report: 0, or -1 (ENOMEM). */
int server_status(struct server *, struct status *);

#endif
