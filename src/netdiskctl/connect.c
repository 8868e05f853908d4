/* SPDX-License-Identifier: ISC */
/*
 * Connections to netdiskd for netdiskctl's subcommands (connect.h):
 * opening one, and reporting a request that failed on it.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "connect.h"
#include "crypto.h"
#include "uri.h"
#include "warn.h"

/*
 * One random client id per invocation, shared by all its connections;
 * each connection gets a slot of its own.
 */
static int
client_id(uint8_t id[ND_CLIENT_ID_LEN], uint16_t *conn)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static uint8_t ours[ND_CLIENT_ID_LEN];
	static int have;
	static uint16_t next;
	int r = 0;

	pthread_mutex_lock(&lock);
	if (!have && crypto_random(ours, sizeof(ours)) == 0)
		have = 1;
	if (!have)
		r = -1;
	else if (next >= ND_CONN_SLOTS)
		r = -2;
	else {
		memcpy(id, ours, sizeof(ours));
		*conn = next++;
	}
	pthread_mutex_unlock(&lock);
	return r;
}

int
ctl_open(const char *uri, const struct ctl_keys *keys, uint32_t options,
    struct client *c)
{
	return ctl_open_opt(uri, keys, options, 0, 0, c);
}

int
ctl_open_opt(const char *uri, const struct ctl_keys *keys, uint32_t options,
    int timeout, int quiet, struct client *c)
{
	struct client_opts o;
	struct nd_uri u;
	char err[512], why[256];
	int r;

	if (uri_parse_why(uri, &u, why, sizeof(why)) == -1) {
		ctl_warnx("\"%s\" is not a netdisk or NBD URI: %s "
		    "(netdisk://HOST[:PORT]/EXPORT, nbd://HOST[:PORT]/EXPORT, "
		    "nbds://[IDENTITY@]HOST[:PORT]/EXPORT?tls-psk-file=FILE or "
		    "?tls-certificates=DIR)", uri, why);
		return CLIENT_ERR_USAGE;
	}
	memset(&o, 0, sizeof(o));
	o.key = keys->key;
	o.server_pub = keys->server_pub;
	o.options = options;
	o.timeout = timeout;
	if ((r = client_id(o.client_id, &o.conn)) == -2) {
		ctl_warnx("%s: more than %d connections", uri, ND_CONN_SLOTS);
		return CLIENT_ERR_USAGE;
	}
	if (r == -1) {
		ctl_warnx("cannot draw a random client id");
		return CLIENT_ERR_INTERNAL;
	}
	r = client_connect(c, &u, &o, err, sizeof(err));
	if (r != CLIENT_OK && !quiet)
		ctl_warnx("%s", err);
	return r;
}

static int
conn_fail(const struct client *c, const char *cmd, uint64_t off)
{
	if (errno == EBADMSG) {
		ctl_warnx("%s: %s at offset %" PRIu64 ": protocol error: %s",
		    c->peer, cmd, off, strerror(errno));
		return CLIENT_ERR_PROTO;
	}
	if (errno == ECONNRESET || errno == EPROTO || errno == EPIPE)
		ctl_warnx("%s: %s at offset %" PRIu64 ": connection closed "
		    "by the server", c->peer, cmd, off);
	else
		ctl_warnx("%s: %s at offset %" PRIu64 ": connection lost: %s",
		    c->peer, cmd, off, strerror(errno));
	return CLIENT_ERR_IO;
}

int
ctl_request_fail(const struct client *c, const char *cmd, uint64_t off,
    uint64_t len, int r)
{
	switch (r) {
	case -1:
		return conn_fail(c, cmd, off);
	case ND_EPERM:
		ctl_warnx("%s: export is read-only", c->peer);
		break;
	case ND_EOVERFLOW:
		ctl_warnx("%s: %s offset %" PRIu64 " length %" PRIu64 ": out "
		    "of range (export size %" PRIu64 ")", c->peer, cmd, off,
		    len, c->info.size);
		break;
	case ND_EINVAL:
		ctl_warnx("%s: %s offset %" PRIu64 " length %" PRIu64 ": not "
		    "aligned to block size %u", c->peer, cmd, off, len,
		    c->info.min_block);
		break;
	default:
		ctl_warnx("%s: %s at offset %" PRIu64 ": %s", c->peer, cmd,
		    off, client_nd_strerror((uint32_t)r));
		break;
	}
	return client_err_from_nd((uint32_t)r);
}
