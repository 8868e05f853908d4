/* SPDX-License-Identifier: ISC */
/*
 * The client side of protocol v2: resolve and connect with a deadline,
 * run the handshake, check what the server announced, then move requests
 * and replies through the record layer.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "nbd_client.h"
#include "nbd_proto.h"
#include "request.h"
#include "tls_client.h"
#include "util.h"

#define CLIENT_DEFAULT_TIMEOUT	30		/* seconds */
#define CLIENT_MAX_PAYLOAD	(32U << 20)	/* sanity bound */
#define CLIENT_SYNC_HANDLE	1
#define CLIENT_CLOSE_WAIT_MS	5000	/* for the server's EOF */
#define CLIENT_RETRY_MS		100	/* first wait after ND_HS_RETRY */
#define CLIENT_RETRY_MAX_MS	1000	/* longest */

static int
fail(char *err, size_t errlen, int code, const char *peer,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(char *err, size_t errlen, int code, const char *peer,
    const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (errlen > 0)
		snprintf(err, errlen, "%s: %s", peer, msg);
	return code;
}

/* strerror with a lower-case first letter, as in "connection refused". */
static const char *
lc_strerror(int e, char *buf, size_t len)
{
	snprintf(buf, len, "%s", strerror(e));
	if (buf[0] >= 'A' && buf[0] <= 'Z' && buf[1] >= 'a' && buf[1] <= 'z')
		buf[0] = buf[0] - 'A' + 'a';
	return buf;
}

/* Milliseconds left before the deadline, at least 0. */
static int
left_ms(int64_t deadline)
{
	int64_t left = deadline - mono_ms();

	return left < 0 ? 0 : (int)left;
}

static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&pfd, 1, left_ms(deadline));
	} while (n == -1 && errno == EINTR);
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

/* Non-blocking connect to one address, bounded by the deadline. */
static int
connect_one(const struct addrinfo *ai, int64_t deadline)
{
	socklen_t sl = sizeof(int);
	int fd, soerr = 0, saved;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd == -1)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
		return fd;
	if (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline) == -1)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == -1)
		goto fail;
	if (soerr == 0)
		return fd;
	errno = soerr;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int
resolve_connect(struct client *c, const struct nd_uri *u, int64_t deadline,
    char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	char ebuf[128];
	int r, fd = -1, last = ECONNREFUSED;

	r = getaddrinfo(u->host, u->port, &hints, &res);
	if (r != 0)
		return fail(err, errlen, CLIENT_ERR_CONNECT, c->peer,
		    "cannot resolve: %s", gai_strerror(r));
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		fd = connect_one(ai, deadline);
		if (fd == -1)
			last = errno;
	}
	freeaddrinfo(res);
	if (fd == -1)
		return fail(err, errlen, CLIENT_ERR_CONNECT, c->peer, "%s",
		    lc_strerror(last, ebuf, sizeof(ebuf)));
	c->fd = fd;
	return CLIENT_OK;
}

/* Move exactly len bytes over the non-blocking handshake socket. */
static int
hs_io(int fd, void *buf, size_t len, int writing, int64_t deadline)
{
	uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if (writing)
			n = send(fd, p, len, MSG_NOSIGNAL);
		else
			n = recv(fd, p, len, 0);
		if (n == 0) {
			errno = ECONNRESET;
			return -1;
		}
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN ||
		    wait_fd(fd, writing ? POLLOUT : POLLIN, deadline) == -1)
			return -1;
	}
	return 0;
}

/* A closed connection during the handshake means the hello was refused. */
static int
hs_io_fail(struct client *c, const char *what, char *err, size_t errlen)
{
	char ebuf[128];

	if (errno == ECONNRESET || errno == EPIPE)
		return fail(err, errlen, CLIENT_ERR_AUTH, c->peer,
		    "authentication failed (wrong key%s or no such export)",
		    c->version == ND_VERSION_3 ?
		    ", wrong server public key" : "");
	if (errno == ETIMEDOUT)
		return fail(err, errlen, CLIENT_ERR_CONNECT, c->peer,
		    "timed out %s", what);
	return fail(err, errlen, CLIENT_ERR_CONNECT, c->peer, "%s: %s", what,
	    lc_strerror(errno, ebuf, sizeof(ebuf)));
}

static void
fill_request(struct hs_request *req, const struct nd_uri *u,
    const struct client_opts *o)
{
	memset(req, 0, sizeof(*req));
	memcpy(req->client_id, o->client_id, ND_CLIENT_ID_LEN);
	req->options = o->options;
	req->conn = o->conn;
	req->name_len = strlen(u->export);
	memcpy(req->name, u->export, req->name_len);
	req->version_min = o->version_min ? o->version_min :
	    o->server_pub != NULL ? ND_VERSION_3 : ND_VERSION_2;
	req->version_max = o->version_max ? o->version_max : req->version_min;
}

static int
read_reject(struct client *c, const struct hs_request *req, uint8_t *msg,
    int64_t deadline, char *err, size_t errlen)
{
	uint8_t smin, smax;

	if (hs_io(c->fd, msg + 8, ND_VERSION_REJECT_LEN - 8, 0, deadline))
		return hs_io_fail(c, "reading the server's answer", err,
		    errlen);
	if (hs_parse_reject(msg, ND_VERSION_REJECT_LEN, &smin, &smax) == -1)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "malformed version reject from the server");
	if (req->version_max < ND_VERSION_3 && smin >= ND_VERSION_3)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server speaks protocol versions %u-%u only: it needs "
		    "its public key (--server-key)", smin, smax);
	if (req->version_min >= ND_VERSION_3 && smax < ND_VERSION_3)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server speaks protocol versions %u-%u: it has no "
		    "static key (server_key), so it cannot authenticate "
		    "with the server public key given", smin, smax);
	return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
	    "server speaks protocol versions %u-%u, we speak %u-%u",
	    smin, smax, req->version_min, req->version_max);
}

/* Read the ServerHello (or a version reject) into sh. */
static int
read_server_hello(struct client *c, const struct hs_request *req,
    uint8_t sh[ND_SERVER_HELLO_LEN], int64_t deadline, char *err,
    size_t errlen)
{
	uint32_t magic;
	uint16_t len;

	if (hs_io(c->fd, sh, 8, 0, deadline) == -1)
		return hs_io_fail(c, "reading the server hello", err, errlen);
	memcpy(&magic, sh, 4);
	memcpy(&len, sh + 6, 2);
	if (be32toh(magic) != ND_HELLO_MAGIC)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "not a netdisk server (bad hello magic)");
	if (be16toh(len) == ND_VERSION_REJECT_LEN)
		return read_reject(c, req, sh, deadline, err, errlen);
	if (be16toh(len) != ND_SERVER_HELLO_LEN)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server hello has unexpected length %u", be16toh(len));
	if (hs_io(c->fd, sh + 8, ND_SERVER_HELLO_LEN - 8, 0, deadline))
		return hs_io_fail(c, "reading the server hello", err, errlen);
	return CLIENT_OK;
}

static int
status_error(struct client *c, uint32_t status, char *err, size_t errlen)
{
	switch (status) {
	case ND_HS_OK:
		return CLIENT_OK;
	case ND_HS_BUSY:
		return fail(err, errlen, CLIENT_ERR_BUSY, c->peer,
		    "export busy (in use by another client)");
	case ND_HS_DENIED:
		return fail(err, errlen, CLIENT_ERR_DENIED, c->peer,
		    "access denied (address not allowed)");
	case ND_HS_TOO_MANY:
		return fail(err, errlen, CLIENT_ERR_DENIED, c->peer,
		    "too many clients");
	case ND_HS_BAD_OPTIONS:
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server rejected the connection options or slot");
	case ND_HS_UNAVAILABLE:
		return fail(err, errlen, CLIENT_ERR_IO, c->peer,
		    "export unavailable (cannot be opened or server "
		    "shutting down)");
	case ND_HS_RETRY:
		return fail(err, errlen, CLIENT_ERR_BUSY, c->peer,
		    "an earlier connection of this client is still finishing "
		    "requests on the server (try again)");
	}
	return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
	    "unknown handshake status %u", status);
}

static int
is_pow2(uint32_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

/* What the server announced must make sense before anybody uses it. */
static int
check_info(struct client *c, uint32_t options, char *err, size_t errlen)
{
	const struct hs_export_info *i = &c->info;

	if (!is_pow2(i->min_block) || i->min_block < 512 ||
	    i->min_block > 4096)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server announced an invalid block size %u",
		    i->min_block);
	if (!is_pow2(i->pref_block) || i->pref_block < i->min_block)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server announced an invalid preferred block size %u",
		    i->pref_block);
	if (i->max_payload < i->min_block ||
	    i->max_payload > CLIENT_MAX_PAYLOAD)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server announced an invalid max payload %u",
		    i->max_payload);
	if (i->flags & ~ND_FLAG_ALL)
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server announced unknown flags 0x%x", i->flags);
	if (nd_server_flags_unasked(i->flags, options))
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer,
		    "server announced flags 0x%x that answer options 0x%x "
		    "did not ask for", i->flags, options);
	return CLIENT_OK;
}

struct hs_ctx {
	struct hs_state st;
	struct hs_request req;
	struct hs_keys keys;
	uint8_t ch[ND_CLIENT_HELLO_MAX];
	uint8_t sh[ND_SERVER_HELLO_LEN];
	uint8_t cf[ND_CLIENT_FINISHED_LEN];
};

static int
set_blocking(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		return -1;
	return 0;
}

static int
finish_handshake(struct client *c, struct hs_ctx *h, int64_t deadline,
    char *err, size_t errlen)
{
	int r;

	if (hs_client_finish(&h->st, h->sh, &c->info, h->cf, &h->keys) == -1)
		return fail(err, errlen, CLIENT_ERR_AUTH, c->peer,
		    "authentication failed (wrong key%s or no such export)",
		    h->st.version == ND_VERSION_3 ?
		    ", wrong server public key" : "");
	if ((r = status_error(c, c->info.status, err, errlen)) != CLIENT_OK)
		return r;
	if (hs_io(c->fd, h->cf, sizeof(h->cf), 1, deadline) == -1)
		return hs_io_fail(c, "sending the client finished", err,
		    errlen);
	if ((r = check_info(c, h->req.options, err, errlen)) != CLIENT_OK)
		return r;
	if (set_blocking(c->fd) == -1 ||
	    record_init(&c->rc, c->fd, &h->keys, 0) == -1)
		return fail(err, errlen, CLIENT_ERR_INTERNAL, c->peer,
		    "cannot set up the record layer: %s", strerror(errno));
	return CLIENT_OK;
}

static int
handshake(struct client *c, struct hs_ctx *h, const struct nd_uri *u,
    const struct client_opts *o, int64_t deadline, char *err,
    size_t errlen)
{
	int r;

	fill_request(&h->req, u, o);
	if ((o->server_pub != NULL ? hs_client_hello_v3(&h->st, o->key,
	    o->server_pub, &h->req, 0, h->ch) : hs_client_hello(&h->st,
	    o->key, &h->req, 0, h->ch)) == -1)
		return fail(err, errlen, o->server_pub != NULL ?
		    CLIENT_ERR_USAGE : CLIENT_ERR_INTERNAL, c->peer,
		    "cannot build the client hello%s", o->server_pub != NULL ?
		    " (is the server public key valid?)" : "");
	c->version = h->st.version;	/* of the hello, until the answer */
	if (hs_io(c->fd, h->ch, nd_client_hello_len(h->st.version), 1,
	    deadline) == -1)
		return hs_io_fail(c, "sending the client hello", err, errlen);
	r = read_server_hello(c, &h->req, h->sh, deadline, err, errlen);
	if (r != CLIENT_OK)
		return r;
	c->version = h->sh[4];
	return finish_handshake(c, h, deadline, err, errlen);
}

/* An NBD server's refusal, as a client_err with the server's words. */
static int
nbd_refused(struct client *c, const struct nd_uri *u, uint32_t rep,
    const char *msg, char *err, size_t errlen)
{
	const char *what = msg[0] != '\0' ? msg : "refused";

	switch (rep) {
	case NBD_REP_ERR_UNKNOWN:
		return fail(err, errlen, CLIENT_ERR_AUTH, c->peer, "no NBD "
		    "export \"%s\" (%s)", u->export, what);
	case NBD_REP_ERR_TLS_REQD:
		return fail(err, errlen, CLIENT_ERR_AUTH, c->peer, "export "
		    "\"%s\" needs TLS (%s; use nbds://)", u->export, what);
	case NBD_REP_ERR_POLICY:
		return fail(err, errlen, strstr(what, "busy") != NULL ?
		    CLIENT_ERR_BUSY : CLIENT_ERR_DENIED, c->peer, "export "
		    "\"%s\": %s", u->export, what);
	}
	return fail(err, errlen, CLIENT_ERR_PROTO, c->peer, "export \"%s\": "
	    "NBD error 0x%x (%s)", u->export, (unsigned)rep, what);
}

/* NBD's transmission flags as netdisk's. */
static uint32_t
nbd_nd_flags(uint16_t tx)
{
	uint32_t f = 0;

	if (tx & NBD_FLAG_READ_ONLY)
		f |= ND_FLAG_READ_ONLY;
	if (tx & NBD_FLAG_SEND_FLUSH)
		f |= ND_FLAG_FLUSH;
	if (tx & NBD_FLAG_SEND_FUA)
		f |= ND_FLAG_FUA;
	if (tx & NBD_FLAG_SEND_TRIM)
		f |= ND_FLAG_TRIM;
	if (tx & NBD_FLAG_SEND_WRITE_ZEROES)
		f |= ND_FLAG_WRITE_ZEROES;
	if (tx & NBD_FLAG_CAN_MULTI_CONN)
		f |= ND_FLAG_MULTI_CONN;
	return f;
}

/* nbds://: the credentials the URI names, in *tls. */
static int
nbd_tls_new(struct client *c, const struct nd_uri *u, struct tls_client **tls,
    char *err, size_t errlen)
{
	struct tls_client_opts to = { .host = u->host };
	struct passwd *pw;
	char msg[512];

	if (u->tls == URI_TLS_X509)
		to.cert_dir = u->tls_path;
	else {
		to.psk_file = u->tls_path;
		to.identity = u->identity;
		/* libnbd's default identity: the local user's name. */
		if (u->identity[0] == '\0' &&
		    (pw = getpwuid(geteuid())) != NULL)
			to.identity = pw->pw_name;
		if (to.identity[0] == '\0')
			return fail(err, errlen, CLIENT_ERR_USAGE, c->peer, "no "
			    "PSK identity: no name for uid %u (nbds://IDENTITY@"
			    "HOST/...)", (unsigned)geteuid());
	}
	if ((*tls = tls_client_new(&to, msg, sizeof(msg))) == NULL)
		return fail(err, errlen, CLIENT_ERR_USAGE, c->peer, "%s", msg);
	return CLIENT_OK;
}

/* nbd_client_go's failure r as a client_err and a message. */
static int
nbd_go_fail(struct client *c, const struct nd_uri *u, int r, uint32_t rep,
    const char *msg, char *err, size_t errlen)
{
	switch (r) {
	case NBD_CLIENT_REFUSED:
		return nbd_refused(c, u, rep, msg, err, errlen);
	case NBD_CLIENT_NO_TLS:
		return fail(err, errlen, CLIENT_ERR_PROTO, c->peer, "server does "
		    "not offer TLS (NBD_OPT_STARTTLS: NBD error 0x%x%s%s%s)",
		    (unsigned)rep, msg[0] != '\0' ? ", \"" : "", msg,
		    msg[0] != '\0' ? "\"" : "");
	case NBD_CLIENT_TLS_FAILED:
		return fail(err, errlen, errno == EACCES ? CLIENT_ERR_AUTH :
		    errno == ETIMEDOUT ? CLIENT_ERR_CONNECT : CLIENT_ERR_PROTO,
		    c->peer, "%s", msg);
	}
	return fail(err, errlen, errno == ETIMEDOUT ? CLIENT_ERR_CONNECT :
	    CLIENT_ERR_PROTO, c->peer, "%s", errno == ETIMEDOUT ?
	    "NBD negotiation timed out" :
	    "not an NBD server (fixed newstyle), or a broken reply");
}

/*
 * nbd://: NBD_OPT_GO, and what it told as c->info; nbds://, over TLS.
 * netdisk's commands need a minimum block of at least 512 (offsets in
 * sectors).  With ND_OPT_BLOCK_STATUS, base:allocation too:
 * ND_FLAG_BLOCK_STATUS if the server has it.
 */
static int
nbd_handshake(struct client *c, const struct nd_uri *u, uint32_t options,
    int64_t deadline, char *err, size_t errlen)
{
	struct tls_client *tls = NULL;
	struct nbd_client *nc;
	char msg[512];
	uint32_t rep = 0;
	int r;

	if ((nc = calloc(1, sizeof(*nc))) == NULL)
		return fail(err, errlen, CLIENT_ERR_INTERNAL, c->peer,
		    "out of memory");
	c->nbd = nc;
	if (u->tls != URI_TLS_NONE &&
	    (r = nbd_tls_new(c, u, &tls, err, errlen)) != CLIENT_OK)
		return r;
	r = nbd_client_go(nc, c->fd, u->export, (options &
	    ND_OPT_BLOCK_STATUS) != 0, tls, deadline, &rep, msg, sizeof(msg));
	if (nc->tls == NULL)
		tls_client_free(tls);	/* else client_free_nbd's */
	if (r == 0 && set_blocking(c->fd) == -1)
		r = -1;
	if (r != 0)
		return nbd_go_fail(c, u, r, rep, msg, err, errlen);
	c->info.status = ND_HS_OK;
	c->info.size = nc->size;
	c->info.flags = nbd_nd_flags(nc->tx_flags) |
	    (nc->allocation ? ND_FLAG_BLOCK_STATUS : 0);
	c->info.min_block = nc->min_block < ND_MIN_BLOCK ? ND_MIN_BLOCK :
	    nc->min_block;
	c->info.pref_block = nc->pref_block;
	c->info.max_payload = nc->max_payload < ND_MAX_PAYLOAD ?
	    nc->max_payload : ND_MAX_PAYLOAD;
	return CLIENT_OK;
}

static void
client_free_nbd(struct client *c)
{
	if (c->nbd != NULL)
		tls_client_free(c->nbd->tls);
	free(c->nbd);
	c->nbd = NULL;
}

static void
format_peer(struct client *c, const struct nd_uri *u)
{
	if (strchr(u->host, ':') != NULL)
		snprintf(c->peer, sizeof(c->peer), "[%.100s]:%.7s", u->host,
		    u->port);
	else
		snprintf(c->peer, sizeof(c->peer), "%.100s:%.7s", u->host,
		    u->port);
}

static int
connect_once(struct client *c, const struct nd_uri *u,
    const struct client_opts *o, int64_t deadline, char *err, size_t errlen)
{
	struct hs_ctx h;
	int r, one = 1;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	format_peer(c, u);
	if (strlen(u->export) < 1 || strlen(u->export) > ND_NAME_MAX)
		return fail(err, errlen, CLIENT_ERR_USAGE, c->peer,
		    "invalid export name");
	if ((r = resolve_connect(c, u, deadline, err, errlen)) != CLIENT_OK)
		return r;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (u->scheme == URI_NBD) {
		if ((r = nbd_handshake(c, u, o->options, deadline, err,
		    errlen)) != CLIENT_OK) {
			client_free_nbd(c);
			close(c->fd);
			c->fd = -1;
		}
		return r;
	}
	memset(&h, 0, sizeof(h));
	r = handshake(c, &h, u, o, deadline, err, errlen);
	hs_state_clear(&h.st);
	hs_keys_clear(&h.keys);
	crypto_wipe(&h, sizeof(h));
	if (r != CLIENT_OK) {
		close(c->fd);
		c->fd = -1;
	}
	return r;
}

/*
 * A server older than ND_OPT_BLOCK_STATUS refuses it as an unknown
 * option: the connection goes without (and ND_FLAG_BLOCK_STATUS).
 */
static int
connect_old(struct client *c, const struct nd_uri *u,
    const struct client_opts *o, int64_t deadline, char *err, size_t errlen)
{
	struct client_opts old = *o;
	int r;

	r = connect_once(c, u, o, deadline, err, errlen);
	if (r == CLIENT_OK || c->info.status != ND_HS_BAD_OPTIONS ||
	    !(o->options & ND_OPT_BLOCK_STATUS))
		return r;
	old.options &= ~ND_OPT_BLOCK_STATUS;
	return connect_once(c, u, &old, deadline, err, errlen);
}

int
client_connect(struct client *c, const struct nd_uri *u,
    const struct client_opts *o, char *err, size_t errlen)
{
	int timeout = o->timeout > 0 ? o->timeout : CLIENT_DEFAULT_TIMEOUT;
	int64_t deadline = mono_ms() + (int64_t)timeout * 1000;
	int r, wait = CLIENT_RETRY_MS, retried = 0;

	while ((r = connect_old(c, u, o, deadline, err, errlen)) !=
	    CLIENT_OK && c->info.status == ND_HS_RETRY &&
	    left_ms(deadline) > wait) {
		retried = 1;
		usleep((useconds_t)wait * 1000);
		wait = wait * 2 > CLIENT_RETRY_MAX_MS ? CLIENT_RETRY_MAX_MS :
		    wait * 2;
	}
	/* Out of time while the server still drains: say so. */
	if (r != CLIENT_OK && retried && left_ms(deadline) == 0)
		r = status_error(c, ND_HS_RETRY, err, errlen);
	return r;
}

/*
 * After DISCONNECT the server releases the export, then closes: waiting
 * for its EOF means the export is free again when we return, so the next
 * invocation does not find it busy.
 */
static void
wait_server_close(int fd)
{
	int64_t deadline = mono_ms() + CLIENT_CLOSE_WAIT_MS;
	uint8_t scratch[4096];
	ssize_t n;

	shutdown(fd, SHUT_WR);
	for (;;) {
		n = recv(fd, scratch, sizeof(scratch), 0);
		if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR))
			return;
		if (n == -1 && errno == EAGAIN &&
		    wait_fd(fd, POLLIN, deadline) == -1)
			return;
	}
}

void
client_close(struct client *c)
{
	int fl;

	if (c->fd == -1)
		return;
	/* Best effort: never block on a peer that stopped reading. */
	fl = fcntl(c->fd, F_GETFL);
	if (fl != -1)
		fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
	if (c->nbd != NULL && c->nbd->tls != NULL)
		tls_client_set_deadline(c->nbd->tls,
		    mono_ms() + CLIENT_CLOSE_WAIT_MS);
	if (client_send(c, ND_CMD_DISCONNECT, 0, 0, 0, 0, NULL) == 0)
		wait_server_close(c->fd);
	if (c->nbd != NULL)
		client_free_nbd(c);
	else
		record_free(&c->rc);
	close(c->fd);
	c->fd = -1;
}

/* netdisk's request type as NBD's; UINT16_MAX if NBD has none. */
static uint16_t
nbd_type(uint16_t type)
{
	switch (type) {
	case ND_CMD_READ:
		return NBD_CMD_READ;
	case ND_CMD_WRITE:
		return NBD_CMD_WRITE;
	case ND_CMD_FLUSH:
		return NBD_CMD_FLUSH;
	case ND_CMD_TRIM:
		return NBD_CMD_TRIM;
	case ND_CMD_WRITE_ZEROES:
		return NBD_CMD_WRITE_ZEROES;
	case ND_CMD_DISCONNECT:
		return NBD_CMD_DISC;
	}
	return UINT16_MAX;
}

static int
client_send_nbd(struct client *c, uint16_t type, uint16_t flags,
    uint64_t handle, uint64_t offset, uint32_t length, const void *data)
{
	uint16_t t = nbd_type(type);

	if (t == UINT16_MAX || (flags & ~ND_CMD_FLAG_FUA)) {
		errno = EINVAL;
		return -1;
	}
	return nbd_client_send(c->nbd, t, flags & ND_CMD_FLAG_FUA ?
	    NBD_CMD_FLAG_FUA : 0, handle, offset, length, data);
}

static int
client_batch_nbd(struct client *c, const struct client_req *q, int n)
{
	struct nbd_client_req b[CLIENT_BATCH_MAX];
	int i;

	for (i = 0; i < n; i++) {
		b[i].type = nbd_type(q[i].type);
		if (b[i].type == UINT16_MAX || (q[i].flags & ~ND_CMD_FLAG_FUA)) {
			errno = EINVAL;
			return -1;
		}
		b[i].flags = q[i].flags & ND_CMD_FLAG_FUA ? NBD_CMD_FLAG_FUA :
		    0;
		b[i].cookie = q[i].handle;
		b[i].offset = q[i].offset;
		b[i].length = q[i].length;
		b[i].data = q[i].data;
	}
	return nbd_client_sendv(c->nbd, b, n);
}

int
client_send_batch(struct client *c, const struct client_req *q, int n)
{
	struct nd_request w[CLIENT_BATCH_MAX];
	struct iovec iov[2 * CLIENT_BATCH_MAX];
	struct request r;
	int i, k = 0;

	if (n > CLIENT_BATCH_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (c->nbd != NULL)
		return client_batch_nbd(c, q, n);
	for (i = 0; i < n; i++) {
		r = (struct request){ .flags = q[i].flags, .type = q[i].type,
		    .handle = q[i].handle, .offset = q[i].offset,
		    .length = q[i].length };
		request_encode(&r, &w[i]);
		iov[k].iov_base = &w[i];
		iov[k++].iov_len = sizeof(w[i]);
		if (r.type != ND_CMD_WRITE)
			continue;
		iov[k].iov_base = (void *)q[i].data;
		iov[k++].iov_len = r.length;
	}
	return record_sendv(&c->rc, iov, k);
}

int
client_recv_ready(const struct client *c, size_t len)
{
	if (c->nbd != NULL)
		return nbd_client_ready(c->nbd, len);
	return record_recv_ready(&c->rc, len);
}

int
client_send(struct client *c, uint16_t type, uint16_t flags,
    uint64_t handle, uint64_t offset, uint32_t length, const void *data)
{
	struct request r = {
		.flags = flags, .type = type, .handle = handle,
		.offset = offset, .length = length,
	};
	struct nd_request w;
	struct iovec iov[2];
	int n = 1;

	if (c->nbd != NULL)
		return client_send_nbd(c, type, flags, handle, offset, length,
		    data);
	request_encode(&r, &w);
	iov[0].iov_base = &w;
	iov[0].iov_len = sizeof(w);
	if (type == ND_CMD_WRITE) {
		if (data == NULL && length > 0) {
			errno = EINVAL;
			return -1;
		}
		iov[1].iov_base = (void *)data;
		iov[1].iov_len = length;
		n = 2;
	}
	return record_sendv(&c->rc, iov, n);
}

int
client_recv_reply(struct client *c, uint64_t *handle, uint32_t *error)
{
	struct nd_reply w;
	struct reply r;
	int n;

	if (c->nbd != NULL)
		return nbd_client_recv_reply(c->nbd, handle, error);
	n = record_recv(&c->rc, &w, sizeof(w));
	if (n != 1)
		return n;
	if (reply_decode(&w, &r) == -1) {
		errno = EBADMSG;
		return -1;
	}
	*handle = r.handle;
	*error = r.error;
	return 1;
}

/* 0 once len bytes are in buf; -1 otherwise (EOF here is EPROTO). */
int
client_recv_data(struct client *c, void *buf, size_t len)
{
	int n;

	if (len == 0)
		return 0;
	if (c->nbd != NULL)
		return nbd_client_recv_data(c->nbd, buf, len);
	n = record_recv(&c->rc, buf, len);
	if (n == 0)
		errno = EPROTO;
	return n == 1 ? 0 : -1;
}

/* Wait for the reply to the one synchronous request in flight. */
static int
sync_reply(struct client *c, uint32_t *error)
{
	uint64_t handle;
	int n;

	n = client_recv_reply(c, &handle, error);
	if (n == 0)
		errno = ECONNRESET;
	if (n != 1)
		return -1;
	if (handle != CLIENT_SYNC_HANDLE) {
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
client_read(struct client *c, uint64_t off, uint32_t len, void *buf)
{
	uint32_t error;

	if (client_send(c, ND_CMD_READ, 0, CLIENT_SYNC_HANDLE, off, len,
	    NULL) == -1 || sync_reply(c, &error) == -1)
		return -1;
	if (error != ND_OK)
		return (int)error;
	return client_recv_data(c, buf, len);
}

int
client_write(struct client *c, uint64_t off, uint32_t len, const void *buf,
    int fua)
{
	uint16_t flags = fua ? ND_CMD_FLAG_FUA : 0;
	uint32_t error;

	if (client_send(c, ND_CMD_WRITE, flags, CLIENT_SYNC_HANDLE, off, len,
	    buf) == -1 || sync_reply(c, &error) == -1)
		return -1;
	return (int)error;
}

int
client_simple(struct client *c, uint16_t type, uint16_t flags, uint64_t off,
    uint32_t len)
{
	uint32_t error;

	if (type == ND_CMD_READ || type == ND_CMD_WRITE) {
		errno = EINVAL;
		return -1;
	}
	if (client_send(c, type, flags, CLIENT_SYNC_HANDLE, off, len,
	    NULL) == -1 || sync_reply(c, &error) == -1)
		return -1;
	return (int)error;
}

/* The count and the extents after a BLOCK_STATUS reply's header. */
static int
recv_extents(struct client *c, uint32_t len, struct extent *out, size_t max,
    size_t *n)
{
	struct extent *all = NULL;
	uint8_t *wire = NULL;
	uint32_t count;
	int r = -1;

	if (client_recv_data(c, &count, sizeof(count)) == -1)
		return -1;
	count = be32toh(count);
	if (count == 0 || count > ND_EXTENTS_MAX) {
		errno = EBADMSG;
		return -1;
	}
	if ((wire = malloc(count * sizeof(struct nd_extent))) == NULL ||
	    (all = malloc(count * sizeof(*all))) == NULL)
		goto out;	/* the stream is out of step: broken */
	if (client_recv_data(c, wire, count * sizeof(struct nd_extent)) == -1)
		goto out;
	if (reply_extents_decode(wire, count, len, 0, all) == -1) {
		errno = EBADMSG;
		goto out;
	}
	*n = count < max ? count : max;
	memcpy(out, all, *n * sizeof(*out));
	r = 0;
out:
	free(wire);
	free(all);
	return r;
}

int
client_block_status(struct client *c, uint64_t off, uint32_t len,
    struct extent *out, size_t max, size_t *n)
{
	uint32_t error;

	if (max == 0) {
		errno = EINVAL;
		return -1;
	}
	if (!(c->info.flags & ND_FLAG_BLOCK_STATUS)) {
		out[0] = (struct extent){ .length = len, .flags = 0 };
		*n = 1;
		return 0;
	}
	if (c->nbd != NULL)
		return nbd_client_block_status(c->nbd, CLIENT_SYNC_HANDLE, off,
		    len, out, max, n);
	if (client_send(c, ND_CMD_BLOCK_STATUS, 0, CLIENT_SYNC_HANDLE, off,
	    len, NULL) == -1 || sync_reply(c, &error) == -1)
		return -1;
	if (error != ND_OK)
		return (int)error;
	return recv_extents(c, len, out, max, n);
}

int
client_err_from_nd(uint32_t nd_error)
{
	switch (nd_error) {
	case ND_OK:
		return CLIENT_OK;
	case ND_EPERM:
		return CLIENT_ERR_READONLY;
	case ND_EINVAL:
	case ND_EOVERFLOW:
		return CLIENT_ERR_RANGE;
	}
	return CLIENT_ERR_IO;
}

const char *
client_nd_strerror(uint32_t nd_error)
{
	switch (nd_error) {
	case ND_OK:
		return "success";
	case ND_EPERM:
		return "export is read-only";
	case ND_EIO:
		return "I/O error on the server";
	case ND_ENOMEM:
		return "server out of memory";
	case ND_EINVAL:
		return "invalid request (bad alignment, length or flags)";
	case ND_ENOSPC:
		return "no space left on the server";
	case ND_EOVERFLOW:
		return "out of range";
	case ND_ENOTSUP:
		return "not supported by the export";
	case ND_ESHUTDOWN:
		return "server shutting down";
	}
	return "unknown error";
}
