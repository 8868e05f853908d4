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
struct session;
struct export_table;
struct control;
struct status;
struct auth_log;
struct budget;

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

/* For the sessions. */

/* A reference to the current export table (exports_put gives it back). */
struct export_table *server_table_get(struct server *);
/* The rate-limited log of failed handshakes (auth.h). */
struct auth_log *server_auth(struct server *);
/*
 * The session's hello authenticated: it stops counting against the
 * handshake caps and takes one of max_connections.  ND_HS_OK, or
 * ND_HS_TOO_MANY (logged, rate-limited) if they are all taken.
 */
uint32_t server_session_admit(struct server *, struct session *);
/* The memory budget of request payloads (budget.h). */
struct budget *server_budget(struct server *);
/* The session's last call into the server: it leaves the session list. */
void server_session_done(struct server *, struct session *);

#endif
