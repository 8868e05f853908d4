/*
 * One client connection: the handshake, then a reader that decodes the
 * requests and runs those that cannot block itself, handing the others to
 * the worker queue.  Answered requests wait in the session's reply queue;
 * whoever answers one while no thread is sending becomes the sender and
 * writes everything queued, as few records and system calls as it takes.
 * Each session runs on its own detached thread.
 *
 * Fencing (docs/protocol.md, 8.6 and 10.5): a session whose reader meets
 * the end of the stream, an error or a bad record, or that a newer
 * session of its client id and slot supersedes, starts none of the
 * requests it holds and sends no more replies; those executing finish.
 */
#ifndef SESSION_H
#define SESSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "export.h"
#include "netdisk_proto.h"
#include "record.h"
#include "request.h"
#include "listen.h"

struct server;
struct workq;

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

struct sess_req;

struct session {
	TAILQ_ENTRY(session) entry;	/* the server's list */
	struct server *srv;
	struct workq *wq;
	int fd;
	struct sockaddr_storage peer_addr;
	char peer[LISTEN_ADDRSTRLEN];
	int hs_timeout;			/* seconds */
	int64_t hs_deadline;		/* mono_ms(): the whole handshake ends */
	char why[ND_NAME_MAX * 4 + 128];	/* reason the session closed */

	/* Set by the handshake. */
	struct export *export;
	uint8_t client_id[ND_CLIENT_ID_LEN];
	int claimed, shared;
	struct claim_slot slot;		/* taken if slotted */
	int slotted;
	/* Under the server's lock: */
	int admitted;			/* counts in max_connections */
	int evicted;			/* handshake cut off for a newer one */
	struct request_limits limits;
	struct record_conn rc;
	int rc_ready;

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
	int sending;			/* a thread owns rc.tx and sends replies */
	int reader_busy;		/* has requests at hand; sends before it waits */
};

struct session *session_new(struct server *, struct workq *, int fd,
    const struct sockaddr *peer, socklen_t peerlen, int hs_timeout);
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

/* What the status report shows of a session. */
struct session_info {
	const struct export *export;	/* to compare only */
	uint8_t client_id[ND_CLIENT_ID_LEN];
	struct sockaddr_storage addr;
	time_t since;
};
/* 1 and *info filled if the session serves an export, else 0. */
int session_info(struct session *, struct session_info *info);

#endif
