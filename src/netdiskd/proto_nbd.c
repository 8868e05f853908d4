/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define LIBBSD_OPENBSD_VIS	/* strnvis(dst, src, size, flags) */
#include <vis.h>

#include "conf.h"
#include "crypto.h"
#include "export.h"
#include "log.h"
#include "nbd_proto.h"
#include "nbd_wire.h"
#include "proto_nbd.h"
#include "protocol.h"
#include "request.h"
#include "rxbuf.h"
#include "session.h"
#include "sockio.h"
#include "tls.h"
#include "util.h"

/* The longest option the server reads; a longer one is skipped. */
#define NBD_OPT_MAX		(8 * 1024)
/* A longer one than this ends the connection. */
#define NBD_OPT_SKIP_MAX	(1024 * 1024)
/*
 * What the server tells NBD clients (NBD_INFO_BLOCK_SIZE); the minimum is
 * the export's (export_min_block).
 */
#define NBD_PREF_BLOCK		ND_PREF_BLOCK
#define NBD_MAX_PAYLOAD		(32U * 1024 * 1024)
/* The id of base:allocation, the one metadata context. */
#define NBD_META_ID		1
/* The longest option reply's data (the INFO and LIST ones are shorter). */
#define NBD_REP_MAX		2048
/* Seconds a WRITE's payload may take to arrive, once its header did. */
#define NBD_PAYLOAD_TIMEOUT	60

/* A connection's state; what encode_reply reads is fixed at GO. */
struct nbd_conn {
	struct tls_conn *tls;		/* after NBD_OPT_STARTTLS, else NULL */
	int structured;			/* NBD_OPT_STRUCTURED_REPLY */
	uint32_t meta_id;		/* base:allocation selected, else 0 */
	struct rxbuf rx;		/* requests read, not yet taken */
};

/* What the negotiation holds. */
struct nbd_hs {
	int no_zeroes;			/* client flag NBD_FLAG_NO_ZEROES */
	int done;			/* in transmission now */
	uint32_t option, len;		/* the current option */
	uint32_t skipped;		/* its length, if too long to read */
	uint8_t data[NBD_OPT_MAX];	/* its data */
	/* The export of the last NBD_OPT_SET_META_CONTEXT, if any selected. */
	char meta_export[ND_NAME_MAX + 1];
	int meta;
};

/* Negotiation: the socket, or TLS once it is on. */

/* Exactly len bytes by the handshake's deadline: as sock_read_until. */
static int
nbd_hs_read(struct session *s, void *buf, size_t len)
{
	struct nbd_conn *c = s->proto_state;
	uint8_t *p = buf;
	size_t got = 0;
	ssize_t n;

	if (c->tls == NULL)
		return sock_read_until(s->fd, buf, len, s->hs_deadline);
	while (got < len) {
		if ((n = tls_read(c->tls, p + got, len - got,
		    s->hs_deadline)) == -1)
			return -1;
		if (n == 0 && got == 0)
			return 0;
		if (n == 0) {
			errno = EPROTO;
			return -1;
		}
		got += (size_t)n;
	}
	return 1;
}

static int
nbd_hs_write(struct session *s, const void *buf, size_t len)
{
	struct nbd_conn *c = s->proto_state;
	struct iovec iov = { (void *)(uintptr_t)buf, len };

	if (c->tls == NULL)
		return sock_write_until(s->fd, buf, len, s->hs_deadline);
	return tls_writev(c->tls, &iov, 1, s->hs_deadline);
}

static const char *
nbd_write(struct session *s, const void *buf, size_t len)
{
	if (nbd_hs_write(s, buf, len) == -1)
		return session_read_why(s, -1, "option reply");
	return NULL;
}

/* An option reply: the header and len bytes of data. */
static const char *
nbd_reply(struct session *s, struct nbd_hs *hs, uint32_t type,
    const void *data, size_t len)
{
	struct nbd_rep_hdr h = {
		.magic = htobe64(NBD_REP_MAGIC), .option = htobe32(hs->option),
		.type = htobe32(type), .length = htobe32((uint32_t)len),
	};
	uint8_t buf[sizeof(h) + NBD_REP_MAX];

	if (len > NBD_REP_MAX)
		return "option reply too long";
	memcpy(buf, &h, sizeof(h));
	if (len > 0)
		memcpy(buf + sizeof(h), data, len);
	return nbd_write(s, buf, sizeof(h) + len);	/* one segment */
}

static const char *
nbd_ack(struct session *s, struct nbd_hs *hs)
{
	return nbd_reply(s, hs, NBD_REP_ACK, NULL, 0);
}

/* An error reply with a message for the user. */
static const char * __attribute__((format(printf, 4, 5)))
nbd_error(struct session *s, struct nbd_hs *hs, uint32_t type,
    const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	return nbd_reply(s, hs, type, msg, (size_t)n);
}

/* Negotiation: reading. */

/* The next option's header and data; a long one is skipped (len 0). */
static const char *
nbd_read_option(struct session *s, struct nbd_hs *hs, int *skipped)
{
	struct nbd_opt_hdr h;
	uint32_t left, n;
	int r;

	*skipped = 0;
	if ((r = nbd_hs_read(s, &h, sizeof(h))) != 1)
		return session_read_why(s, r, "option");
	if (be64toh(h.magic) != NBD_OPT_MAGIC)
		return "bad option magic";
	hs->option = be32toh(h.option);
	hs->len = be32toh(h.length);
	if (hs->len <= sizeof(hs->data)) {
		r = nbd_hs_read(s, hs->data, hs->len);
		return r == 1 || hs->len == 0 ? NULL :
		    session_trunc_why(s, r, "option data");
	}
	if (hs->len > NBD_OPT_SKIP_MAX) {
		snprintf(s->why, sizeof(s->why), "option %u of %u bytes "
		    "(at most %u)", hs->option, hs->len, NBD_OPT_SKIP_MAX);
		return s->why;
	}
	hs->skipped = hs->len;
	for (left = hs->len; left > 0; left -= n) {
		n = left < sizeof(hs->data) ? left : sizeof(hs->data);
		r = nbd_hs_read(s, hs->data, n);
		if (r != 1)
			return session_trunc_why(s, r, "option data");
	}
	hs->len = 0;
	*skipped = 1;
	return NULL;
}

/* Exports. */

/* An export name of len bytes as C string in out; -1 if none can be. */
static int
nbd_name(const char *name, uint32_t len, char out[ND_NAME_MAX + 1])
{
	if (len == 0 || len > ND_NAME_MAX || memchr(name, '\0', len) != NULL)
		return -1;
	memcpy(out, name, len);
	out[len] = '\0';
	return 0;
}

/* The name for a log line, made safe. */
static const char *
nbd_name_vis(const char *name, uint32_t len, char *out, size_t outlen)
{
	char raw[ND_NAME_MAX + 1];

	if (len > ND_NAME_MAX)
		len = ND_NAME_MAX;
	memcpy(raw, name, len);
	raw[len] = '\0';
	strnvis(out, raw, outlen, VIS_SAFE | VIS_OCTAL | VIS_CSTYLE | VIS_DQ);
	return out;
}

/* Whether the client sees e: nbd = plain, or nbd = tls over TLS. */
static int
nbd_offered(const struct session *s, const struct export *e)
{
	const struct nbd_conn *c = s->proto_state;

	return e->conf.nbd == CONF_NBD_PLAIN ||
	    (e->conf.nbd == CONF_NBD_TLS && c->tls != NULL);
}

/*
 * A reference to the export called name that the client sees, or NULL:
 * then *rep is NBD_REP_ERR_TLS_REQD if it would see it over TLS, else
 * NBD_REP_ERR_UNKNOWN.
 */
static struct export *
nbd_find(struct session *s, const char *name, uint32_t *rep)
{
	const struct sess_host *h = s->host;
	struct export_table *t = h->ops->table_get(h->srv);
	struct export *e;
	size_t i;

	*rep = NBD_REP_ERR_UNKNOWN;
	for (i = 0; (e = h->ops->table_at(t, i)) != NULL; i++)
		if (e->conf.nbd != CONF_NBD_NO &&
		    strcmp(e->conf.name, name) == 0)
			break;
	if (e != NULL && !nbd_offered(s, e)) {
		*rep = NBD_REP_ERR_TLS_REQD;
		e = NULL;
	}
	if (e != NULL)
		e = export_ref(e);
	h->ops->table_put(t);
	return e;
}

/* The error reply for an export nbd_find did not give. */
static const char *
nbd_not_found(struct session *s, struct nbd_hs *hs, uint32_t rep)
{
	if (rep == NBD_REP_ERR_TLS_REQD)
		return nbd_error(s, hs, rep, "the export needs TLS "
		    "(NBD_OPT_STARTTLS)");
	return nbd_error(s, hs, rep, "unknown export");
}

/* What the client sees of the export: NBD_FLAG_*. */
static uint16_t
nbd_tx_flags(const struct session *s, const struct nbd_conn *c)
{
	uint32_t f = s->limits.flags;
	uint16_t tx = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_CACHE;

	if (f & ND_FLAG_READ_ONLY)
		tx |= NBD_FLAG_READ_ONLY;
	if (f & ND_FLAG_FLUSH)
		tx |= NBD_FLAG_SEND_FLUSH;
	if ((f & (ND_FLAG_FLUSH | ND_FLAG_FUA)) && !(f & ND_FLAG_READ_ONLY))
		tx |= NBD_FLAG_SEND_FUA;
	if (f & ND_FLAG_TRIM)
		tx |= NBD_FLAG_SEND_TRIM;
	if (f & ND_FLAG_WRITE_ZEROES)
		tx |= NBD_FLAG_SEND_WRITE_ZEROES | NBD_FLAG_SEND_FAST_ZERO;
	if (f & ND_FLAG_MULTI_CONN)
		tx |= NBD_FLAG_CAN_MULTI_CONN;
	if (c->structured)
		tx |= NBD_FLAG_SEND_DF;
	return tx;
}

/* What the session serves of e: s->limits. */
static void
nbd_limits(struct session *s, const struct export *e, int shared,
    const struct nbd_conn *c)
{
	uint32_t flags = e->flags;

	if (shared)
		flags = (flags & (ND_FLAG_FLUSH | ND_FLAG_MULTI_CONN)) |
		    ND_FLAG_READ_ONLY;
	s->limits.size = e->size;
	s->limits.min_block = export_min_block(e);
	s->limits.max_payload = NBD_MAX_PAYLOAD;
	s->limits.flags = flags | REQ_CAN_CACHE | REQ_CAN_WRITE_FLAGS |
	    (c->meta_id != 0 ? REQ_CAN_BLOCK_STATUS : 0);
}

/*
 * The client id of an NBD client: its TLS identity (PSK identity or
 * certificate name) if it has one, else its address (IPv4 mapped to
 * IPv6).
 */
static void
nbd_client_id(const struct session *s, uint8_t id[ND_CLIENT_ID_LEN])
{
	const struct nbd_conn *c = s->proto_state;
	const struct sockaddr_in *sin = (const void *)&s->peer_addr;
	const struct sockaddr_in6 *sin6 = (const void *)&s->peer_addr;
	static const char label[] = "netdisk nbd tls identity";
	struct crypto_vec v[2];
	uint8_t h[32];

	if (c->tls != NULL && tls_identity(c->tls)[0] != '\0') {
		v[0].base = label;
		v[0].len = sizeof(label);
		v[1].base = tls_identity(c->tls);
		v[1].len = strlen(tls_identity(c->tls));
		crypto_sha256v(h, v, 2);
		memcpy(id, h, ND_CLIENT_ID_LEN);
		return;
	}
	memset(id, 0, ND_CLIENT_ID_LEN);
	if (s->peer_addr.ss_family == AF_INET6) {
		memcpy(id, &sin6->sin6_addr, 16);
		return;
	}
	id[10] = id[11] = 0xff;
	memcpy(id + 12, &sin->sin_addr, 4);
}

/* Options. */

/* NBD_OPT_LIST: the exports this client may use, with descriptions. */
static const char *
nbd_opt_list(struct session *s, struct nbd_hs *hs)
{
	const struct sess_host *h = s->host;
	struct export_table *t;
	struct export *e;
	uint8_t buf[4 + ND_NAME_MAX + 1024];
	const char *why = NULL, *d;
	size_t i, n, dl;
	uint32_t nl;

	if (hs->len != 0)
		return nbd_error(s, hs, NBD_REP_ERR_INVALID,
		    "NBD_OPT_LIST takes no data");
	t = h->ops->table_get(h->srv);
	for (i = 0; why == NULL && (e = h->ops->table_at(t, i)) != NULL;
	    i++) {
		if (!nbd_offered(s, e) || !conf_allowed(&e->conf,
		    (struct sockaddr *)&s->peer_addr))
			continue;
		nl = (uint32_t)strlen(e->conf.name);
		d = e->conf.description != NULL ? e->conf.description : "";
		dl = strlen(d);
		if (dl > sizeof(buf) - 4 - nl)
			dl = sizeof(buf) - 4 - nl;
		n = 4 + nl + dl;
		nl = htobe32(nl);
		memcpy(buf, &nl, 4);
		memcpy(buf + 4, e->conf.name, strlen(e->conf.name));
		memcpy(buf + n - dl, d, dl);
		why = nbd_reply(s, hs, NBD_REP_SERVER, buf, n);
	}
	h->ops->table_put(t);
	return why != NULL ? why : nbd_ack(s, hs);
}

static const char *
nbd_opt_structured(struct session *s, struct nbd_hs *hs)
{
	struct nbd_conn *c = s->proto_state;

	if (hs->len != 0)
		return nbd_error(s, hs, NBD_REP_ERR_INVALID,
		    "NBD_OPT_STRUCTURED_REPLY takes no data");
	c->structured = 1;
	return nbd_ack(s, hs);
}

/*
 * NBD_OPT_LIST_META_CONTEXT and NBD_OPT_SET_META_CONTEXT: base:allocation
 * is the only context.
 */
static const char *
nbd_opt_meta(struct session *s, struct nbd_hs *hs)
{
	struct nbd_conn *c = s->proto_state;
	int list = hs->option == NBD_OPT_LIST_META_CONTEXT;
	char ename[ND_NAME_MAX + 1];
	uint8_t rep[4 + sizeof(NBD_META_BASE_ALLOCATION) - 1];
	struct nbd_meta m;
	struct export *e;
	const char *why;
	uint32_t id, err;

	if (!list)
		hs->meta = 0;	/* whatever comes of it */
	if (nbd_parse_meta(hs->data, hs->len, list, &m) == -1)
		return nbd_error(s, hs, NBD_REP_ERR_INVALID,
		    "malformed metadata context request");
	if (!c->structured)
		return nbd_error(s, hs, NBD_REP_ERR_INVALID,
		    "metadata contexts need structured replies first");
	if (nbd_name(m.name, m.namelen, ename) == -1)
		return nbd_not_found(s, hs, NBD_REP_ERR_UNKNOWN);
	if ((e = nbd_find(s, ename, &err)) == NULL)
		return nbd_not_found(s, hs, err);
	export_put(e);
	if (m.base_allocation) {
		id = htobe32(list ? 0 : NBD_META_ID);
		memcpy(rep, &id, 4);
		memcpy(rep + 4, NBD_META_BASE_ALLOCATION, sizeof(rep) - 4);
		if ((why = nbd_reply(s, hs, NBD_REP_META_CONTEXT, rep,
		    sizeof(rep))) != NULL)
			return why;
	}
	if (!list && m.base_allocation) {
		hs->meta = 1;
		memcpy(hs->meta_export, ename, sizeof(ename));
	}
	return nbd_ack(s, hs);
}

/* One NBD_REP_INFO: type and len bytes. */
static const char *
nbd_info(struct session *s, struct nbd_hs *hs, uint16_t type,
    const void *data, size_t len)
{
	uint8_t buf[2 + 1024];
	uint16_t t = htobe16(type);

	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	memcpy(buf, &t, 2);
	memcpy(buf + 2, data, len);
	return nbd_reply(s, hs, NBD_REP_INFO, buf, 2 + len);
}

/*
 * The NBD_REP_INFO replies of INFO and GO: size and flags, block sizes,
 * and the name and description if asked for.
 */
static const char *
nbd_infos(struct session *s, struct nbd_hs *hs, const struct nbd_go *g)
{
	struct nbd_conn *c = s->proto_state;
	const struct export *e = s->export;
	uint8_t ex[10];
	uint32_t bs[3] = { htobe32(s->limits.min_block),
	    htobe32(NBD_PREF_BLOCK), htobe32(NBD_MAX_PAYLOAD) };
	uint64_t size = htobe64(s->limits.size);
	uint16_t flags = htobe16(nbd_tx_flags(s, c));
	const char *why = NULL;

	memcpy(ex, &size, 8);
	memcpy(ex + 8, &flags, 2);
	if ((why = nbd_info(s, hs, NBD_INFO_EXPORT, ex, sizeof(ex))) != NULL ||
	    (why = nbd_info(s, hs, NBD_INFO_BLOCK_SIZE, bs, sizeof(bs))) !=
	    NULL)
		return why;
	if (nbd_go_wants(g, NBD_INFO_NAME))
		why = nbd_info(s, hs, NBD_INFO_NAME, e->conf.name,
		    strlen(e->conf.name));
	if (why == NULL && nbd_go_wants(g, NBD_INFO_DESCRIPTION) &&
	    e->conf.description != NULL)
		why = nbd_info(s, hs, NBD_INFO_DESCRIPTION,
		    e->conf.description, strlen(e->conf.description));
	return why;
}

/* Admission to the export (s->export) for GO and EXPORT_NAME. */
static uint32_t
nbd_admit(struct session *s)
{
	uint8_t id[ND_CLIENT_ID_LEN];

	nbd_client_id(s, id);
	return session_admit(s, id, SESSION_NO_SLOT, 0);
}

static const char *
nbd_refusal(uint32_t status, uint32_t *type)
{
	*type = NBD_REP_ERR_POLICY;
	switch (status) {
	case ND_HS_BUSY:
		return "export busy: another client (another address, or "
		    "another TLS identity) has it open for writing";
	case ND_HS_TOO_MANY:
		return "too many clients (max_clients)";
	case ND_HS_DENIED:
		return "address not allowed";
	}
	*type = NBD_REP_ERR_SHUTDOWN;
	return "export unavailable (being reconfigured, or the server is "
	    "stopping)";
}

/* The export for a session that goes on: the meta context if it is its. */
static void
nbd_enter(struct session *s, struct nbd_hs *hs)
{
	struct nbd_conn *c = s->proto_state;
	char peer_name[ND_NAME_MAX * 4 + 1];

	c->meta_id = hs->meta && c->structured &&
	    strcmp(hs->meta_export, s->export->conf.name) == 0 ?
	    NBD_META_ID : 0;
	nbd_limits(s, s->export, s->shared, c);
	hs->done = 1;
	strnvis(peer_name, s->export->conf.name, sizeof(peer_name),
	    VIS_SAFE | VIS_OCTAL | VIS_CSTYLE | VIS_DQ);
	if (c->tls != NULL)
		log_info("%s: NBD: export \"%s\"%s%s, %s%s%s%s", s->peer,
		    peer_name, s->shared ? " read-only" : "",
		    c->structured ? " structured replies" : "",
		    tls_suite(c->tls), tls_identity(c->tls)[0] != '\0' ?
		    " identity \"" : "", tls_identity(c->tls),
		    tls_identity(c->tls)[0] != '\0' ? "\"" : "");
	else
		log_info("%s: NBD: export \"%s\"%s%s", s->peer, peer_name,
		    s->shared ? " read-only" : "",
		    c->structured ? " structured replies" : "");
}

/* NBD_OPT_INFO and NBD_OPT_GO. */
static const char *
nbd_opt_go(struct session *s, struct nbd_hs *hs)
{
	int go = hs->option == NBD_OPT_GO;
	char name[ND_NAME_MAX + 1], shown[ND_NAME_MAX * 4 + 1];
	const char *why, *msg;
	uint32_t status, type;
	struct nbd_go g;

	if (nbd_parse_go(hs->data, hs->len, &g) == -1)
		return nbd_error(s, hs, NBD_REP_ERR_INVALID,
		    "malformed NBD_OPT_%s", go ? "GO" : "INFO");
	type = NBD_REP_ERR_UNKNOWN;
	if (nbd_name(g.name, g.namelen, name) == -1 ||
	    (s->export = nbd_find(s, name, &type)) == NULL) {
		log_info("%s: NBD: %s \"%s\"", s->peer,
		    type == NBD_REP_ERR_TLS_REQD ? "without TLS: export" :
		    "unknown export",
		    nbd_name_vis(g.name, g.namelen, shown, sizeof(shown)));
		return nbd_not_found(s, hs, type);
	}
	if ((status = session_allowed(s)) == ND_HS_OK && go)
		status = nbd_admit(s);
	if (status != ND_HS_OK) {
		/* The client may try another export, or give up. */
		msg = nbd_refusal(status, &type);
		if ((why = nbd_error(s, hs, type, "%s", msg)) != NULL)
			return why;
		return session_unadmit(s) == -1 ? msg : NULL;
	}
	nbd_limits(s, s->export, go ? s->shared : s->export->conf.readonly,
	    s->proto_state);
	if ((why = nbd_infos(s, hs, &g)) != NULL ||
	    (why = nbd_ack(s, hs)) != NULL)
		return why;
	if (go)
		nbd_enter(s, hs);
	else {
		export_put(s->export);
		s->export = NULL;
	}
	return NULL;
}

/* NBD_OPT_EXPORT_NAME: no reply but the export's, or a closed socket. */
static const char *
nbd_opt_export_name(struct session *s, struct nbd_hs *hs)
{
	uint8_t buf[10 + NBD_EXPORT_NAME_PAD];
	char name[ND_NAME_MAX + 1], shown[ND_NAME_MAX * 4 + 1];
	uint64_t size;
	uint16_t flags;
	uint32_t status, type;

	type = NBD_REP_ERR_UNKNOWN;
	if (nbd_name((const char *)hs->data, hs->len, name) == -1 ||
	    (s->export = nbd_find(s, name, &type)) == NULL) {
		snprintf(s->why, sizeof(s->why), "NBD: %s \"%s\"",
		    type == NBD_REP_ERR_TLS_REQD ? "without TLS: export" :
		    "unknown export", nbd_name_vis((const char *)hs->data,
		    hs->len, shown, sizeof(shown)));
		return s->why;
	}
	if ((status = session_allowed(s)) == ND_HS_OK)
		status = nbd_admit(s);
	if (status != ND_HS_OK)
		return nbd_refusal(status, &type);
	nbd_limits(s, s->export, s->shared, s->proto_state);
	size = htobe64(s->limits.size);
	flags = htobe16(nbd_tx_flags(s, s->proto_state));
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &size, 8);
	memcpy(buf + 8, &flags, 2);
	if (nbd_hs_write(s, buf, hs->no_zeroes ? 10 : sizeof(buf)) == -1)
		return session_read_why(s, -1, "export reply");
	hs->meta = 0;		/* it needs GO */
	nbd_enter(s, hs);
	return NULL;
}

/*
 * NBD_OPT_STARTTLS: the TLS handshake, then the negotiation starts over
 * inside TLS (what was agreed before is forgotten).
 */
static const char *
nbd_opt_starttls(struct session *s, struct nbd_hs *hs)
{
	const struct sess_host *h = s->host;
	struct nbd_conn *c = s->proto_state;
	struct tls_creds *creds;
	const char *why;

	if (hs->len != 0)
		return nbd_error(s, hs, NBD_REP_ERR_INVALID,
		    "NBD_OPT_STARTTLS takes no data");
	if (c->tls != NULL)
		return nbd_error(s, hs, NBD_REP_ERR_INVALID,
		    "TLS is already on");
	if ((creds = h->ops->tls_get(h->srv)) == NULL)
		return nbd_error(s, hs, NBD_REP_ERR_POLICY, "no TLS here "
		    "(netdiskd has no nbd_tls_psk or nbd_tls_cert)");
	if ((why = nbd_ack(s, hs)) == NULL &&
	    (c->tls = tls_accept(creds, s->fd, s->hs_deadline, s->why,
	    sizeof(s->why))) == NULL) {
		h->ops->auth_failed(h->srv, s->peer, "%s", s->why);
		why = s->why;
	}
	tls_creds_put(creds);
	c->structured = 0;
	hs->meta = 0;
	return why;
}

static const char *
nbd_option(struct session *s, struct nbd_hs *hs)
{
	switch (hs->option) {
	case NBD_OPT_EXPORT_NAME:
		return nbd_opt_export_name(s, hs);
	case NBD_OPT_ABORT:
		nbd_ack(s, hs);
		return "client aborted the negotiation";
	case NBD_OPT_LIST:
		return nbd_opt_list(s, hs);
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		return nbd_opt_go(s, hs);
	case NBD_OPT_STRUCTURED_REPLY:
		return nbd_opt_structured(s, hs);
	case NBD_OPT_LIST_META_CONTEXT:
	case NBD_OPT_SET_META_CONTEXT:
		return nbd_opt_meta(s, hs);
	case NBD_OPT_STARTTLS:
		return nbd_opt_starttls(s, hs);
	}
	return nbd_error(s, hs, NBD_REP_ERR_UNSUP, "unknown option %u",
	    hs->option);
}

/* The greeting and the client's flags. */
static const char *
nbd_greet(struct session *s, struct nbd_hs *hs)
{
	uint8_t g[18];
	uint64_t m = htobe64(NBD_MAGIC), o = htobe64(NBD_OPT_MAGIC);
	uint16_t f = htobe16(NBD_HS_FLAGS_ALL);
	uint32_t cf;
	int r;

	memcpy(g, &m, 8);
	memcpy(g + 8, &o, 8);
	memcpy(g + 16, &f, 2);
	if (sock_write_until(s->fd, g, sizeof(g), s->hs_deadline) == -1)
		return session_read_why(s, -1, "greeting");
	if ((r = sock_read_until(s->fd, &cf, 4, s->hs_deadline)) != 1)
		return session_read_why(s, r, "client flags");
	cf = be32toh(cf);
	if (!(cf & NBD_FLAG_FIXED_NEWSTYLE))
		return "NBD client without fixed newstyle negotiation";
	if (cf & ~NBD_HS_FLAGS_ALL) {
		snprintf(s->why, sizeof(s->why), "NBD client flags 0x%x "
		    "unknown", cf & ~NBD_HS_FLAGS_ALL);
		return s->why;
	}
	hs->no_zeroes = (cf & NBD_FLAG_NO_ZEROES) != 0;
	return NULL;
}

static const char *
nbd_handshake(struct session *s)
{
	struct nbd_hs *hs;
	const char *why;
	int skipped, on = 1;

	/* Each option's reply goes out at once: the client waits for it. */
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if ((s->proto_state = calloc(1, sizeof(struct nbd_conn))) == NULL ||
	    (hs = calloc(1, sizeof(*hs))) == NULL)
		return "out of memory";
	why = nbd_greet(s, hs);
	while (why == NULL && !hs->done) {
		if ((why = nbd_read_option(s, hs, &skipped)) != NULL)
			break;
		if (skipped && hs->option == NBD_OPT_EXPORT_NAME) {
			/* It has no error reply: the protocol says close. */
			snprintf(s->why, sizeof(s->why), "NBD_OPT_EXPORT_NAME "
			    "of %u bytes (at most %u)", hs->skipped,
			    NBD_OPT_MAX);
			why = s->why;
		} else if (skipped)
			why = nbd_error(s, hs, NBD_REP_ERR_TOO_BIG,
			    "option of more than %u bytes", NBD_OPT_MAX);
		else
			why = nbd_option(s, hs);
	}
	free(hs);
	return why;
}

/* Transmission. */

/* Where rxbuf_read reads from: the client, by a deadline (-1: none). */
struct nbd_reader {
	struct session *s;
	int64_t deadline;
};

/* Some bytes, at most len, for rxbuf_read: as recv(2), with ETIMEDOUT. */
static ssize_t
nbd_fill(void *arg, void *buf, size_t len)
{
	const struct nbd_reader *r = arg;
	struct nbd_conn *c = r->s->proto_state;
	ssize_t n;

	if (c->tls != NULL)
		return tls_read(c->tls, buf, len, r->deadline);
	for (;;) {
		n = recv(r->s->fd, buf, len, r->deadline < 0 ? 0 :
		    MSG_DONTWAIT);
		if (n >= 0 || (errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			return n;
		if (errno != EINTR &&
		    sock_wait_readable(r->s->fd, r->deadline) == -1)
			return -1;
	}
}

/*
 * len bytes from the client, by deadline (-1: none); held replies go out
 * before a wait.
 */
static int
nbd_recv(struct session *s, void *buf, size_t len, int64_t deadline)
{
	struct nbd_conn *c = s->proto_state;
	struct nbd_reader r = { s, deadline };

	if (!rxbuf_ready(&c->rx, len))
		session_flush(s);
	return rxbuf_read(&c->rx, buf, len, nbd_fill, &r);
}

static const char *
nbd_read_request(struct session *s, struct request *q)
{
	struct nbd_conn *c = s->proto_state;
	struct nbd_request w;
	int r;

	if ((r = nbd_recv(s, &w, sizeof(w), -1)) != 1)
		return session_read_why(s, r, "request");
	if (nbd_request_decode(&w, c->structured, c->meta_id != 0, q) == -1)
		return "bad NBD request magic";
	return NULL;
}

/*
 * A WRITE's payload must come within NBD_PAYLOAD_TIMEOUT: its bytes are
 * taken from the server's request memory, which a stalled client must
 * not hold for long.
 */
static const char *
nbd_read_payload(struct session *s, void *buf, size_t len)
{
	int r;

	r = nbd_recv(s, buf, len, mono_ms() + NBD_PAYLOAD_TIMEOUT * 1000);
	if (r == -1 && errno == ETIMEDOUT && session_stop_why(s) == NULL) {
		snprintf(s->why, sizeof(s->why), "WRITE payload of %zu bytes "
		    "not received within %d s", len, NBD_PAYLOAD_TIMEOUT);
		return s->why;
	}
	if (r != 1)
		return session_trunc_why(s, r, "WRITE payload");
	return NULL;
}

/* The engine's error as NBD has it for the command. */
static uint32_t
nbd_errno(const struct request *q, uint32_t error)
{
	if (error != ND_EOVERFLOW)
		return error;		/* the same numbers */
	/* Beyond the end: what the NBD spec asks for, per command. */
	return q->type == ND_CMD_WRITE || q->type == ND_CMD_WRITE_ZEROES ?
	    NBD_ENOSPC : NBD_EINVAL;
}

static size_t
nbd_chunk(void *hdr, uint16_t type, uint64_t cookie, uint32_t len)
{
	struct nbd_chunk_hdr h = {
		.magic = htobe32(NBD_STRUCTURED_REPLY_MAGIC),
		.flags = htobe16(NBD_REPLY_FLAG_DONE), .type = htobe16(type),
		.cookie = cookie, .length = htobe32(len),
	};

	memcpy(hdr, &h, sizeof(h));
	return sizeof(h);
}

static size_t
nbd_encode_reply(struct session *s, const struct request *q,
    const struct reply *rep, uint32_t datalen, void *hdr)
{
	const struct nbd_conn *c = s->proto_state;
	struct nbd_simple_reply sr;
	uint8_t *p = hdr;
	uint64_t off;
	uint32_t v;
	uint16_t ml = 0;
	size_t n;

	if (c->structured && rep->error != ND_OK &&
	    (q->type == ND_CMD_READ || q->type == REQ_CMD_BLOCK_STATUS)) {
		n = nbd_chunk(p, NBD_REPLY_TYPE_ERROR, rep->handle, 6);
		v = htobe32(nbd_errno(q, rep->error));
		memcpy(p + n, &v, 4);
		memcpy(p + n + 4, &ml, 2);
		return n + 6;
	}
	if (c->structured && q->type == ND_CMD_READ) {
		n = nbd_chunk(p, NBD_REPLY_TYPE_OFFSET_DATA, rep->handle,
		    8 + datalen);
		off = htobe64(q->offset);
		memcpy(p + n, &off, 8);
		return n + 8;
	}
	if (q->type == REQ_CMD_BLOCK_STATUS) {
		n = nbd_chunk(p, NBD_REPLY_TYPE_BLOCK_STATUS, rep->handle,
		    4 + datalen);
		v = htobe32(c->meta_id);
		memcpy(p + n, &v, 4);
		return n + 4;
	}
	sr.magic = htobe32(NBD_SIMPLE_REPLY_MAGIC);
	sr.error = htobe32(nbd_errno(q, rep->error));
	sr.cookie = rep->handle;
	memcpy(p, &sr, sizeof(sr));
	return sizeof(sr);
}

static int
nbd_send(struct session *s, const struct iovec *iov, int iovcnt)
{
	struct nbd_conn *c = s->proto_state;
	struct iovec v[2 * SESSION_SEND_BATCH];

	if (c->tls != NULL)
		return tls_writev(c->tls, iov, iovcnt,
		    mono_ms() + SESSION_SEND_TIMEOUT * 1000);

	if (iovcnt > (int)(sizeof(v) / sizeof(v[0]))) {
		errno = EINVAL;
		return -1;
	}
	memcpy(v, iov, (size_t)iovcnt * sizeof(*iov));
	return sock_writev_full(s->fd, v, iovcnt);
}

static void
nbd_close(struct session *s)
{
	struct nbd_conn *c = s->proto_state;

	if (c == NULL)
		return;
	tls_close(c->tls);
	free(c);
	s->proto_state = NULL;
}

const struct proto_ops proto_nbd = {
	.name = "nbd",
	.handshake = nbd_handshake,
	.read_request = nbd_read_request,
	.read_payload = nbd_read_payload,
	.encode_reply = nbd_encode_reply,
	.send = nbd_send,
	.close = nbd_close,
};
