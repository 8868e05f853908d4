/*
 * The server: listening sockets, the accept loop, the table of exports
 * built from the configuration, reload (SIGHUP) and shutdown (SIGTERM,
 * SIGINT), and the state the sessions share: the handshake replay cache
 * of each key, the caps on handshakes and sessions, and the rate-limited
 * logs of failed and refused connections.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "conf.h"
#include "netdisk_proto.h"

/* "ADDR:PORT" or "[ADDR]:PORT", NUL included. */
#define SERVER_ADDRSTRLEN	64

struct server;
struct session;
struct export;
struct export_table;

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
struct control;
/* The control socket server_run also serves (control.h), or NULL. */
void server_set_control(struct server *, struct control *);

/*
 * For the control socket (and SIGHUP): what fails is logged and, if
 * report is not NULL, written to it too, one line each.
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
struct status;
/* A snapshot for the status report: 0, or -1 (ENOMEM). */
int server_status(struct server *, struct status *);

void server_addr_str(const struct sockaddr *, char *buf, size_t len);

/* For the sessions. */

/* A reference to the current export table. */
struct export_table *server_table_get(struct server *);
void server_table_put(struct export_table *);
struct hs_psk;
/*
 * The candidate keys of the handshake, deduplicated, with their early
 * secrets (computed when the configuration was loaded, wiped when the
 * last table that has them goes).
 */
size_t server_table_keys(const struct export_table *,
    const struct hs_psk **psks);
/*
 * A reference to the export called name if key number keyidx is its key;
 * else NULL and why says which ("unknown export" or "key not valid").
 */
struct export *server_table_find(const struct export_table *,
    const char *name, size_t keyidx, const char **why);

/*
 * 1 if key number keyidx authenticated a hello with this client
 * ephemeral key before; else remembers it (each key its own cache).
 */
int server_table_replayed(const struct export_table *, size_t keyidx,
    const uint8_t eph[ND_KEY_LEN]);
/* "PEER: authentication failed: REASON", rate-limited. */
void server_auth_failed(struct server *, const char *peer,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * The session's hello authenticated: it stops counting against the
 * handshake caps and takes one of max_connections.  ND_HS_OK, or
 * ND_HS_TOO_MANY (logged, rate-limited) if they are all taken.
 */
uint32_t server_session_admit(struct server *, struct session *);
/*
 * "PEER: closed: WHY" of a connection that never completed a handshake,
 * rate-limited.
 */
void server_handshake_closed(struct server *, const char *peer,
    const char *why);
struct budget;
/* The memory budget of request payloads (budget.h). */
struct budget *server_budget(struct server *);
/* The session's last call into the server: it leaves the session list. */
void server_session_done(struct server *, struct session *);

#endif
