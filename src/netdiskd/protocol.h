/* SPDX-License-Identifier: ISC */
/*
 * A wire protocol, as the session engine (session.h) drives it.  A
 * listener knows its protocol; the session it accepts runs the protocol's
 * handshake, then reads requests through it and hands it the replies to
 * write, until the client leaves.  Everything between (flow control, the
 * memory budget, dispatch to the export and the worker queue, the reply
 * queue and who sends it, fencing, draining) is the engine's and the same
 * for every protocol.
 *
 * What a protocol provides (one file, proto_NAME.c, whose header declares
 * its const struct proto_ops; a new listener kind points at it):
 *
 * - handshake: negotiate with the client on s->fd, within s->hs_deadline
 *   (mono_ms(); sockio.h's *_until functions keep it).  It finds the
 *   export (s->host->ops: netdisk finds it by the key that opens the
 *   hello; a protocol without per-export keys will want a lookup by name
 *   alone there), sets s->export (a reference the engine drops at the
 *   end) and s->limits, and lets the engine admit the client with
 *   session_allowed() and session_admit() before it tells the client the
 *   export is open.
 *   Per-connection state goes in s->proto_state (freed by close).  NULL
 *   when the session may serve the export; else why not, for the log.
 * - read_request: the next request, decoded into the engine's neutral
 *   struct request (request.h: ND_CMD_* types and flags; a client's
 *   orderly goodbye is ND_CMD_DISCONNECT).  NULL, or why the session
 *   ends.  Before a read that may block, call session_flush(s): replies
 *   held back for batching must go out while the reader waits.
 * - read_payload: the len bytes of data after a WRITE request; the same
 *   rules.
 * - encode_reply: the wire header of the reply to q into hdr (at most
 *   PROTO_REPLY_HDR_MAX bytes): its length.  datalen bytes of data follow
 *   it on the wire (a READ's or a BLOCK_STATUS's, when it succeeded;
 *   else 0).  Runs on the thread that answers, with no lock held; what
 *   it reads of s->proto_state must not change after the handshake.
 * - send: write the iovec (headers and data of one or more replies, in
 *   order) to the client: 0, or -1 with errno.  Only one thread at a time
 *   sends, while another may be in read_request or read_payload.
 * - close: free s->proto_state (wiping any keys).  Called once, whether
 *   the handshake succeeded or not; s->proto_state may be NULL.
 *
 * A protocol reports a reader's failure with session_stop_why(s) first:
 * a session the server stopped or fenced says so rather than "client
 * disconnected".  Status codes of the admission are enum nd_hs_status
 * (netdisk_proto.h); a protocol maps them onto its own refusals.
 */
#ifndef PROTOCOL_H
#define PROTOCOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct request;
struct reply;
struct session;

/* Longest reply header of any protocol (netdisk: 16 bytes). */
#define PROTO_REPLY_HDR_MAX	32

struct proto_ops {
	const char *name;
	const char *(*handshake)(struct session *);
	const char *(*read_request)(struct session *, struct request *);
	const char *(*read_payload)(struct session *, void *buf, size_t len);
	size_t (*encode_reply)(struct session *, const struct request *q,
	    const struct reply *, uint32_t datalen, void *hdr);
	int (*send)(struct session *, const struct iovec *, int iovcnt);
	void (*close)(struct session *);
};

#endif
