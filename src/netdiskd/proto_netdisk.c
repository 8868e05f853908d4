/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define LIBBSD_OPENBSD_VIS	/* strnvis(dst, src, size, flags) */
#include <vis.h>

#include "crypto.h"
#include "export.h"
#include "handshake.h"
#include "log.h"
#include "netdisk_proto.h"
#include "proto_netdisk.h"
#include "protocol.h"
#include "record.h"
#include "request.h"
#include "session.h"
#include "sockio.h"
#include "util.h"

/* What a read-only session announces besides ND_FLAG_READ_ONLY: no write features. */
#define RO_SESSION_FLAGS	(ND_FLAG_FLUSH | ND_FLAG_MULTI_CONN)

/* What one handshake holds; wiped at the end. */
struct netdisk_hs {
	struct hs_state st;
	struct hs_request req;
	struct hs_keys keys;
	struct export_table *table;
	uint8_t ch[ND_CLIENT_HELLO_MAX];
	uint8_t sh[ND_SERVER_HELLO_LEN];
	uint8_t cf[ND_CLIENT_FINISHED_LEN];
};

/* Handshake. */

/* The versions the server speaks now (its current key ring's). */
static void
netdisk_versions(struct session *s, uint8_t *smin, uint8_t *smax)
{
	const struct sess_host *h = s->host;
	struct export_table *t = h->ops->table_get(h->srv);

	hs_keyring_versions(h->ops->table_keyring(t), smin, smax);
	h->ops->table_put(t);
}

/*
 * The first 8 bytes and the rest of the ClientHello, of a version the
 * server speaks: NULL or why not.
 */
static const char *
netdisk_read_hello(struct session *s, struct netdisk_hs *hs)
{
	uint8_t reject[ND_VERSION_REJECT_LEN], smin, smax;
	int r;

	if ((r = sock_read_until(s->fd, hs->ch, 8, s->hs_deadline)) != 1)
		return session_read_why(s, r, "hello");
	netdisk_versions(s, &smin, &smax);
	if (hs_server_check_hdr(hs->ch, smin, smax, &hs->st.version) == -1) {
		if (errno != EPROTONOSUPPORT)
			return "not a netdisk hello";
		log_info("%s: unsupported versions %u-%u offered (server "
		    "speaks %u-%u)", s->peer, hs->ch[4], hs->ch[5], smin,
		    smax);
		hs_server_reject(reject, smin, smax);
		sock_write_until(s->fd, reject, sizeof(reject),
		    s->hs_deadline);
		return "unsupported version";
	}
	r = sock_read_until(s->fd, hs->ch + 8,
	    nd_client_hello_len(hs->st.version) - 8, s->hs_deadline);
	if (r != 1)
		return session_trunc_why(s, r, "hello");
	return NULL;
}

static const char *
netdisk_auth_failed(struct session *s, const char *reason)
{
	s->host->ops->auth_failed(s->host->srv, s->peer, "%s", reason);
	return "authentication failed";
}

/* Authenticate the hello and find its export: NULL or why not. */
static const char *
netdisk_authenticate(struct session *s, struct netdisk_hs *hs)
{
	const struct sess_host *h = s->host;
	const struct nd_hello_hdr *hdr = (const void *)hs->ch;
	const char *why, *ident;
	char name[ND_NAME_MAX * 4 + 1];
	int idx;

	hs->table = h->ops->table_get(h->srv);
	idx = hs_server_open(&hs->st, hs->ch,
	    h->ops->table_keyring(hs->table), &hs->req);
	if (idx < 0 && errno == EBADMSG)
		return netdisk_auth_failed(s, "malformed hello payload");
	if (idx < 0)
		return netdisk_auth_failed(s, hs->st.version == ND_VERSION_3 ?
		    "no key authenticates the version 3 hello (wrong key, "
		    "wrong server public key, unknown export or tampered)" :
		    "no key authenticates the hello (wrong key, unknown "
		    "export or tampered)");
	if (h->ops->table_replayed(hs->table, (size_t)idx, hdr->ephemeral))
		return netdisk_auth_failed(s, "replayed hello");
	ident = h->ops->table_identity(hs->table, (size_t)idx, &s->cred);
	if (ident != NULL)
		snprintf(s->identity, sizeof(s->identity), "%s", ident);
	s->export = h->ops->table_find(hs->table, hs->req.name, (size_t)idx, &why);
	if (s->export != NULL)
		return NULL;
	strnvis(name, hs->req.name, sizeof(name), VIS_SAFE | VIS_OCTAL |
	    VIS_CSTYLE | VIS_DQ);
	snprintf(s->why, sizeof(s->why), "%s \"%s\"%s%s%s", why, name,
	    ident != NULL ? " (client \"" : "", ident != NULL ? ident : "",
	    ident != NULL ? "\")" : "");
	return netdisk_auth_failed(s, s->why);
}

/* Whether this client may use the export now: enum nd_hs_status. */
static uint32_t
netdisk_admit(struct session *s, const struct hs_request *req)
{
	struct export *e = s->export;
	uint32_t status;

	if ((status = session_allowed(s)) != ND_HS_OK)
		return status;
	if (hs_request_check(req) != ND_HS_OK) {
		log_info("%s: export \"%s\": unknown options 0x%x or "
		    "connection slot %u out of range (0-%d)", s->peer,
		    e->conf.name, req->options, req->conn, ND_CONN_SLOTS - 1);
		return ND_HS_BAD_OPTIONS;
	}
	return session_admit(s, req->client_id, req->conn,
	    (req->options & ND_OPT_READ_ONLY) != 0);
}

/*
 * What the server announces.  ND_FLAG_BLOCK_STATUS answers
 * ND_OPT_BLOCK_STATUS and goes to no client that did not ask (older ones
 * refuse unknown flags); the engine then serves the query.
 */
static void
netdisk_export_info(struct session *s, uint32_t status, uint32_t options,
    struct hs_export_info *info)
{
	struct export *e = s->export;

	memset(info, 0, sizeof(*info));
	info->status = status;
	if (status != ND_HS_OK)
		return;
	info->flags = e->flags;
	if (s->shared)
		info->flags = (e->flags & RO_SESSION_FLAGS) | ND_FLAG_READ_ONLY;
	info->flags = hs_server_flags(info->flags, options);
	info->size = e->size;
	info->min_block = ND_MIN_BLOCK;
	info->pref_block = ND_PREF_BLOCK;
	info->max_payload = ND_MAX_PAYLOAD;
	memcpy(info->export_id, e->id, ND_EXPORT_ID_LEN);
	s->limits.size = info->size;
	s->limits.min_block = info->min_block;
	s->limits.max_payload = info->max_payload;
	s->limits.flags = info->flags |
	    (info->flags & ND_FLAG_BLOCK_STATUS ? REQ_CAN_BLOCK_STATUS : 0);
}

static const char *
netdisk_status_why(uint32_t status)
{
	switch (status) {
	case ND_HS_BUSY:
		return "export busy";
	case ND_HS_DENIED:
		return "address not allowed";
	case ND_HS_TOO_MANY:
		return "too many clients";
	case ND_HS_BAD_OPTIONS:
		return "unknown options or connection slot";
	case ND_HS_RETRY:
		return "an earlier session of the slot is still finishing";
	}
	return "export unavailable";
}

/* The record layer of the data phase, with the handshake's keys. */
static const char *
netdisk_records(struct session *s, const struct hs_keys *keys)
{
	struct record_conn *rc;

	if ((rc = calloc(1, sizeof(*rc))) == NULL)
		return "out of memory";
	if (record_init(rc, s->fd, keys, 1) == -1) {
		free(rc);
		return "out of memory";
	}
	s->proto_state = rc;
	return NULL;
}

/* ServerHello, then the ClientFinished: NULL or why not. */
static const char *
netdisk_finish(struct session *s, struct netdisk_hs *hs)
{
	struct hs_export_info info;
	uint32_t status;
	int r;

	status = netdisk_admit(s, &hs->req);
	netdisk_export_info(s, status, hs->req.options, &info);
	if (hs_server_hello(&hs->st, &info, 0, hs->sh) == -1)
		return errno == EBADMSG ? "bad client ephemeral key" :
		    "cannot build the server hello";
	if (sock_write_until(s->fd, hs->sh, sizeof(hs->sh),
	    s->hs_deadline) == -1)
		return session_read_why(s, -1, "server hello");
	if (status != ND_HS_OK)
		return netdisk_status_why(status);
	if ((r = sock_read_until(s->fd, hs->cf, sizeof(hs->cf),
	    s->hs_deadline)) != 1)
		return session_trunc_why(s, r, "client finished");
	if (hs_server_finish(&hs->st, hs->cf, &hs->keys) == -1)
		return netdisk_auth_failed(s, "bad client finished");
	return netdisk_records(s, &hs->keys);
}

static const char *
netdisk_handshake(struct session *s)
{
	struct netdisk_hs *hs;
	const char *why;
	char hex[2 * ND_CLIENT_ID_LEN + 1];

	if ((hs = calloc(1, sizeof(*hs))) == NULL)
		return "out of memory";
	if ((why = netdisk_read_hello(s, hs)) == NULL &&
	    (why = netdisk_authenticate(s, hs)) == NULL)
		why = netdisk_finish(s, hs);
	hs_state_clear(&hs->st);
	hs_keys_clear(&hs->keys);
	if (hs->table != NULL)
		s->host->ops->table_put(hs->table);
	crypto_wipe(hs, sizeof(*hs));
	free(hs);
	if (why != NULL)
		return why;
	hex_format(s->client_id, sizeof(s->client_id), hex);
	if (s->identity[0] != '\0')
		log_info("%s: authenticated: export \"%s\" client %s identity "
		    "\"%s\"", s->peer, s->export->conf.name, hex, s->identity);
	else
		log_info("%s: authenticated: export \"%s\" client %s", s->peer,
		    s->export->conf.name, hex);
	return NULL;
}

/* Data phase. */

/* len bytes from the records; replies held back go out before a wait. */
static int
netdisk_recv(struct session *s, void *buf, size_t len)
{
	struct record_conn *rc = s->proto_state;

	if (!record_recv_ready(rc, len))
		session_flush(s);
	return record_recv(rc, buf, len);
}

/*
 * The wire's BLOCK_STATUS and REQ_ONE as the engine's (request.h), on a
 * session that negotiated them; on another they stay unknown, as for an
 * older server.  The flag bits swap places, so that the wire bit at
 * REQ_FLAG_REQ_ONE's place, unknown, stays unknown: it becomes bit 1,
 * which the engine allows on no command, as it allows none of the other
 * unknown bits on a netdisk session.
 */
static void
netdisk_to_engine(const struct session *s, struct request *q)
{
	uint16_t f = q->flags & ~(ND_CMD_FLAG_REQ_ONE | REQ_FLAG_REQ_ONE);

	if (q->type == REQ_CMD_BLOCK_STATUS || q->type == REQ_CMD_CACHE) {
		q->type = UINT16_MAX;	/* not netdisk's: unknown */
		return;
	}
	if (!(s->limits.flags & REQ_CAN_BLOCK_STATUS))
		return;

	if (q->flags & ND_CMD_FLAG_REQ_ONE)
		f |= REQ_FLAG_REQ_ONE;
	if (q->flags & REQ_FLAG_REQ_ONE)
		f |= ND_CMD_FLAG_REQ_ONE;
	q->flags = f;
	if (q->type == ND_CMD_BLOCK_STATUS)
		q->type = REQ_CMD_BLOCK_STATUS;
}

static const char *
netdisk_read_request(struct session *s, struct request *q)
{
	struct nd_request w;
	int r;

	if ((r = netdisk_recv(s, &w, sizeof(w))) != 1)
		return session_read_why(s, r, "request");
	if (request_decode(&w, q) == -1)
		return "bad request magic";
	netdisk_to_engine(s, q);
	return NULL;
}

static const char *
netdisk_read_payload(struct session *s, void *buf, size_t len)
{
	int r;

	if ((r = netdisk_recv(s, buf, len)) != 1)
		return session_trunc_why(s, r, "WRITE payload");
	return NULL;
}

static size_t
netdisk_encode_reply(struct session *s, const struct request *q,
    const struct reply *rep, uint32_t datalen, void *hdr)
{
	/* A BLOCK_STATUS reply carries the engine's extents as they are. */
	_Static_assert(REQ_EXTENT_LEN == sizeof(struct nd_extent),
	    "extent size");
	_Static_assert(REQ_EXTENT_HOLE == ND_EXTENT_HOLE &&
	    REQ_EXTENT_ZERO == ND_EXTENT_ZERO, "extent flags");
	_Static_assert(REQ_EXTENTS_MAX <= ND_EXTENTS_MAX, "extents per reply");

	(void)s;
	if (q->type == REQ_CMD_BLOCK_STATUS && rep->error == ND_OK)
		return reply_extents_hdr(rep, datalen / REQ_EXTENT_LEN, hdr);
	reply_encode(rep, hdr);
	return sizeof(struct nd_reply);
}

static int
netdisk_send(struct session *s, const struct iovec *iov, int iovcnt)
{
	return record_sendv(s->proto_state, iov, iovcnt);
}

static void
netdisk_close(struct session *s)
{
	if (s->proto_state == NULL)
		return;
	record_free(s->proto_state);
	free(s->proto_state);
	s->proto_state = NULL;
}

const struct proto_ops proto_netdisk = {
	.name = "netdisk",
	.handshake = netdisk_handshake,
	.read_request = netdisk_read_request,
	.read_payload = netdisk_read_payload,
	.encode_reply = netdisk_encode_reply,
	.send = netdisk_send,
	.close = netdisk_close,
};
