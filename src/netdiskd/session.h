/* SPDX-License-Identifier: ISC */
/*
 * One client connection, whatever its wire protocol (protocol.h): the
 * protocol's handshake, then a reader that takes requests from the
 * protocol and runs those that cannot block itself, handing the others to
 * the worker queue.  Answered requests wait in the session's reply queue;
 * whoever answers one while no thread is sending becomes the sender and
 * hands everything queued to the protocol, as few writes as it takes.
 * Each session runs on its own detached thread.
 *
 * Fencing (docs/protocol.md, 8.6 and 10.5): a session whose reader meets
 * the end of the stream, an error or a bad record, or that a newer
 * session of its client id and slot supersedes, starts none of the
 * requests it holds and sends no more replies; those executing finish.
 *
 * The session knows the server that accepted it only through a struct
 * sess_host, which the server fills.
 */
#ifndef SESSION_H
#define SESSION_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "export.h"
#include "netdisk_proto.h"
#include "request.h"

struct budget;
struct export_table;
struct hs_keyring;
struct proto_ops;
struct server;
struct session;
struct tls_creds;
struct workq;

/* "ADDR:PORT" or "[ADDR]:PORT" of the peer, NUL included. */
#define SESSION_PEER_LEN	64

/* Bytes of request buffers in flight per connection (besides ND_MAX_INFLIGHT). */
#define SESSION_MAX_INFLIGHT_BYTES	(32U * 1024 * 1024)
#define SESSION_STACK_SIZE		(256 * 1024)
/* Seconds a reply may wait for the client to read: a stuck client must not hold the workers forever. */
#define SESSION_SEND_TIMEOUT		60
/*
 * Replies held back while the reader has more requests at hand, in bytes
 * and in number: then they go out, so that the client gets work
 * meanwhile.
 */
#define SESSION_REPLY_BATCH		(64 * 1024)
#define SESSION_REPLY_HOLD		16
/* Replies one send takes from the queue. */
#define SESSION_SEND_BATCH		64
/* The buffer a CACHE request reads ahead through. */
#define SESSION_CACHE_CHUNK		(1024 * 1024)
/* session_admit's conn for a protocol without connection slots. */
#define SESSION_NO_SLOT			UINT_MAX

/*
 * What a session asks of the server that accepted it (server.h says what
 * each function does).
 */
struct sess_host_ops {
	/*
	 * The export table, for a protocol's handshake: its keys, the
	 * replay cache of each, an export by name and key.
	 */
	struct export_table *(*table_get)(struct server *);
	void (*table_put)(struct export_table *);
	const struct hs_keyring *(*table_keyring)(const struct export_table *);
	int (*table_replayed)(const struct export_table *, size_t keyidx,
	    const uint8_t eph[ND_KEY_LEN]);
	struct export *(*table_find)(const struct export_table *,
	    const char *name, size_t keyidx, const char **why);
	/* A reference to the TLS credentials (tls.h), or NULL: none. */
	struct tls_creds *(*tls_get)(struct server *);
	/* Export i of the table (no reference), NULL past the last. */
	struct export *(*table_at)(const struct export_table *, size_t i);
	/* The client identity of a key (NULL: shared), its credential. */
	const char *(*table_identity)(const struct export_table *,
	    size_t keyidx, uint64_t *cred);
	/* "PEER: authentication failed: ...", rate-limited. */
	void (*auth_failed)(struct server *, const char *peer,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
	/* The session takes one of max_connections: enum nd_hs_status. */
	uint32_t (*admit)(struct server *, struct session *);
	/* It gives it back, a handshake again: 0, or -1 if it must end. */
	int (*unadmit)(struct server *, struct session *);
	/* "PEER: closed: WHY" of a failed handshake, rate-limited. */
	void (*handshake_closed)(struct server *, const char *peer,
	    const char *why);
	/*
	 * 1 if the current export table no longer lets the session's
	 * client identity use its export (a reload ran meanwhile).
	 */
	int (*revoked)(struct server *, struct session *);
	/* The session's last call: it leaves the server's list. */
	void (*done)(struct server *, struct session *);
	void (*addr_str)(const struct sockaddr *, char *buf, size_t len);
};

/* The server, as its sessions see it: it fills one for all of them. */
struct sess_host {
	struct server *srv;		/* the first argument of the calls */
	const struct sess_host_ops *ops;
	struct workq *wq;
	struct budget *budget;		/* request payloads in memory */
};

struct sess_req;

struct session {
	TAILQ_ENTRY(session) entry;	/* the server's list */
	const struct sess_host *host;
	const struct proto_ops *proto;
	void *proto_state;		/* the protocol's, once its handshake ran */
	int fd;
	struct sockaddr_storage peer_addr;
	char peer[SESSION_PEER_LEN];
	int hs_timeout;			/* seconds */
	int64_t hs_deadline;		/* mono_ms(): the whole handshake ends */
	/* The reason the session closed. */
	char why[ND_NAME_MAX * 4 + CONF_CLIENT_NAME_MAX + 160];

	/* Set by the handshake. */
	struct export *export;
	/* The client identity whose key opened the hello; "": a shared key. */
	char identity[CONF_CLIENT_NAME_MAX + 1];
	uint64_t cred;			/* that key's credential (auth.h) */
	atomic_int revoked;		/* a reload took the identity's access */
	const char *_Atomic kicked;	/* why the administrator stopped it */
	uint8_t client_id[ND_CLIENT_ID_LEN];
	int claimed, shared;
	/* What its requests use (export_attach), once claimed: NULL for a
	 * plain export's own store. */
	struct overlay_att *att;
	struct claim_slot slot;		/* taken if slotted */
	int slotted;
	struct request_limits limits;	/* what the client was told */
	int established;		/* the handshake succeeded */
	/* Under the server's lock: */
	int admitted;			/* counts in max_connections */
	int evicted;			/* handshake cut off for a newer one */

	atomic_int send_error;		/* errno of a failed send, else 0 */

	pthread_mutex_t lock;		/* what follows */
	pthread_cond_t cond;
	int handshaking;
	int serving;			/* authenticated, export set */
	time_t since;			/* wall clock, once serving */
	int stopping;
	int fenced;			/* starts no request, sends no reply */
	unsigned executing;		/* requests in the store right now */
	unsigned inflight;		/* requests read and not yet sent */
	size_t inflight_bytes;
	STAILQ_HEAD(, sess_req) replies;	/* answered, to be sent */
	size_t reply_bytes;		/* in replies */
	unsigned nreplies;
	int sending;			/* a thread sends replies */
	int reader_busy;		/* has requests at hand; sends before it waits */
};

struct session *session_new(const struct sess_host *,
    const struct proto_ops *, int fd, const struct sockaddr *peer,
    socklen_t peerlen, int hs_timeout);
/* Start the session's thread.  -1 (errno): the caller frees the session. */
int session_start(struct session *);
void session_free(struct session *);	/* does not close fd */
/*
 * Stop reading requests; the ones in flight complete and are answered.
 * A handshake in progress goes on and answers "unavailable", unless now.
 */
void session_stop(struct session *, int now);
/* Stop sending too: for a client that does not read its replies. */
void session_abort(struct session *);
/*
 * After a reload: stops the session (as session_stop) if the export it
 * serves was retired.  1 if it did.
 */
int session_retire(struct session *);
/* Stop the session (as session_stop), its client's access revoked. */
void session_revoke(struct session *);
/* Stop the session (as session_stop) for the administrator; why: static. */
void session_disconnect(struct session *, const char *why);

/* For the protocols (protocol.h). */

/*
 * Whether the peer's address may use s->export: ND_HS_OK, or
 * ND_HS_DENIED (logged).
 */
uint32_t session_allowed(struct session *);
/*
 * The rest of the admission to s->export, once the protocol checked the
 * client's options: the export is not retired, the server not stopping,
 * a connection is free, the claim (shared if readonly) and the
 * connection slot conn of client_id are taken (none for
 * SESSION_NO_SLOT: no session is fenced).  enum nd_hs_status, logged;
 * ND_HS_OK: the session releases them when it ends.
 */
uint32_t session_admit(struct session *,
    const uint8_t client_id[ND_CLIENT_ID_LEN], unsigned conn, int readonly);
/*
 * After session_admit refused: give back what it took (one of
 * max_connections), so that the protocol's negotiation may go on and try
 * again.  0, or -1 if the session must end (the handshake caps are full).
 * s->export is dropped either way.
 */
int session_unadmit(struct session *);
/*
 * Why a protocol's read of what failed, for the log: r is 0 (the end of
 * the stream) or -1 (errno: ETIMEDOUT is the handshake's deadline,
 * EPROTO a truncated message, EBADMSG a bad record); a stopped session
 * says why it stopped.  session_trunc_why: the same for a read that must
 * not meet the end of the stream.
 */
const char *session_read_why(struct session *, int r, const char *what);
const char *session_trunc_why(struct session *, int r, const char *what);
/* Why the session must stop reading (in s->why or static), or NULL. */
const char *session_stop_why(struct session *);
/* Before the reader may wait for the client: held replies go out. */
void session_flush(struct session *);

/* What the status report shows of a session. */
struct session_info {
	const struct export *export;	/* to compare only */
	char identity[CONF_CLIENT_NAME_MAX + 1];	/* "": shared key */
	uint64_t cred;
	uint8_t client_id[ND_CLIENT_ID_LEN];
	struct sockaddr_storage addr;
	time_t since;
	/* On an overlay export: its attachment's failure and file. */
	struct health_state failure;	/* error 0: not failed */
	char overlay[PATH_MAX];
};
/* 1 and *info filled if the session serves an export, else 0. */
int session_info(struct session *, struct session_info *info);

#endif
