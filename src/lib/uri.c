/* SPDX-License-Identifier: ISC */
/*
 * netdisk://HOST[:PORT]/EXPORT, HOST a name, an IPv4 address or [IPv6];
 * nbd:// alike, and nbds://[IDENTITY@]HOST[:PORT]/EXPORT?QUERY.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nbd_proto.h"
#include "uri.h"
#include "util.h"

#define URI_SCHEME	"netdisk://"
#define URI_SCHEME_NBD	"nbd://"
#define URI_SCHEME_NBDS	"nbds://"
/* RFC 3986's unreserved characters, and '%' for the encoded others. */
#define URI_USERCHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789.-_~%"
#define URI_HOSTCHARS	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz" \
			"0123456789.-_"

int
uri_needs_key(const char *s)
{
	return s != NULL && strncasecmp(s, URI_SCHEME, strlen(URI_SCHEME)) == 0;
}

static int
uri_is_nbd(const char *s)
{
	return s != NULL &&
	    strncasecmp(s, URI_SCHEME_NBD, strlen(URI_SCHEME_NBD)) == 0;
}

static int
uri_is_nbds(const char *s)
{
	return s != NULL &&
	    strncasecmp(s, URI_SCHEME_NBDS, strlen(URI_SCHEME_NBDS)) == 0;
}

int
uri_is_uri(const char *s)
{
	return uri_needs_key(s) || uri_is_nbd(s) || uri_is_nbds(s);
}

static int
uri_bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
uri_bad(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
hexdigit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* The len bytes at s, %XX decoded, into out (size bytes): 0, or -1. */
static int
uri_decode(const char *s, size_t len, char *out, size_t size)
{
	size_t i, n = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (n + 1 >= size)
			return -1;
		if (s[i] != '%') {
			out[n++] = s[i];
			continue;
		}
		if (i + 2 >= len)
			return -1;
		if ((hi = hexdigit(s[i + 1])) < 0 ||
		    (lo = hexdigit(s[i + 2])) < 0 || (hi == 0 && lo == 0))
			return -1;
		out[n++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[n] = '\0';
	return n > 0 ? 0 : -1;
}

int
uri_port_parse(const char *s, size_t len, char port[8])
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	snprintf(port, 8, "%lu", v);
	return 0;
}

/* "[v6]" at s; copies the address into host, returns what follows. */
static const char *
uri_host_v6(const char *s, char *host, size_t hostlen)
{
	struct in6_addr a;
	const char *end;
	size_t len;

	if ((end = strchr(s, ']')) == NULL)
		return NULL;
	len = (size_t)(end - s - 1);
	if (len == 0 || len >= hostlen)
		return NULL;
	memcpy(host, s + 1, len);
	host[len] = '\0';
	if (inet_pton(AF_INET6, host, &a) != 1)
		return NULL;
	return end + 1;
}

/* A host name or IPv4 address at s; returns what follows. */
static const char *
uri_host_name(const char *s, char *host, size_t hostlen)
{
	size_t len = strspn(s, URI_HOSTCHARS);

	if (len == 0 || len >= hostlen)
		return NULL;
	memcpy(host, s, len);
	host[len] = '\0';
	return s + len;
}

/* nbds://: "IDENTITY@" at *p, if there; moves *p past it. */
static int
uri_identity(const char **p, struct nd_uri *u, char *why, size_t whylen)
{
	size_t len = strspn(*p, URI_USERCHARS);

	if ((*p)[len] != '@')
		return 0;
	if (u->tls == URI_TLS_NONE)
		return uri_bad(why, whylen, "only nbds:// takes an identity "
		    "(IDENTITY@HOST)");
	if (len == 0 || uri_decode(*p, len, u->identity,
	    sizeof(u->identity)) == -1)
		return uri_bad(why, whylen, "the identity before '@' is not 1 "
		    "to %d characters (%%XX for others)", URI_IDENTITY_MAX);
	*p += len + 1;
	return 0;
}

/* One "key=value" of nbds://'s query, len bytes at s. */
static int
uri_param(const char *s, size_t len, struct nd_uri *u, char *why,
    size_t whylen)
{
	static const struct {
		const char *key;
		enum uri_tls tls;
	} keys[] = {
		{ "tls-psk-file", URI_TLS_PSK },
		{ "tls-certificates", URI_TLS_X509 },
	};
	const char *eq = memchr(s, '=', len);
	size_t i, klen = eq != NULL ? (size_t)(eq - s) : len;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strlen(keys[i].key) == klen &&
		    memcmp(keys[i].key, s, klen) == 0)
			break;
	if (i == sizeof(keys) / sizeof(keys[0]))
		return uri_bad(why, whylen, "unknown query parameter \"%.*s\" "
		    "(tls-psk-file=FILE or tls-certificates=DIR)", (int)klen, s);
	if (u->tls_path[0] != '\0')
		return uri_bad(why, whylen, "%s: tls-psk-file or "
		    "tls-certificates given already", keys[i].key);
	if (eq == NULL || uri_decode(eq + 1, len - klen - 1, u->tls_path,
	    sizeof(u->tls_path)) == -1)
		return uri_bad(why, whylen, "%s: not a path (1 to %d bytes, "
		    "%%XX for '&', '%%', '#')", keys[i].key, URI_PATH_MAX - 1);
	u->tls = keys[i].tls;
	return 0;
}

/* nbds://'s query at q (after the '?'): one of the two parameters. */
static int
uri_query(const char *q, struct nd_uri *u, char *why, size_t whylen)
{
	size_t len;

	if (q == NULL || *q == '\0')
		return uri_bad(why, whylen, "nbds:// needs ?tls-psk-file=FILE or "
		    "?tls-certificates=DIR");
	for (;; q += len + 1) {
		if ((len = strcspn(q, "&")) == 0)
			return uri_bad(why, whylen, "an empty query parameter");
		if (uri_param(q, len, u, why, whylen) == -1)
			return -1;
		if (q[len] == '\0')
			return 0;
	}
}

/* HOST[:PORT]/ at p: the host and port into u; returns the '/'. */
static const char *
uri_host_port(const char *p, struct nd_uri *u, char *why, size_t whylen)
{
	const char *slash;

	if (*p == '[')
		p = uri_host_v6(p, u->host, sizeof(u->host));
	else
		p = uri_host_name(p, u->host, sizeof(u->host));
	if (p == NULL) {
		uri_bad(why, whylen, "no host name, IPv4 address or [IPv6] "
		    "address");
		return NULL;
	}
	if ((slash = strchr(p, '/')) == NULL) {
		uri_bad(why, whylen, "no '/' before the export's name");
		return NULL;
	}
	if (*p == ':') {
		if (uri_port_parse(p + 1, (size_t)(slash - p - 1),
		    u->port) == -1) {
			uri_bad(why, whylen, "the port is not 1 to 65535");
			return NULL;
		}
	} else if (p != slash) {
		uri_bad(why, whylen, "\"%.*s\" after the host", (int)(slash - p),
		    p);
		return NULL;
	} else
		snprintf(u->port, sizeof(u->port), "%d",
		    u->scheme == URI_NBD ? NBD_DEFAULT_PORT : ND_DEFAULT_PORT);
	return slash;
}

int
uri_parse_why(const char *s, struct nd_uri *u, char *why, size_t whylen)
{
	const char *p, *slash, *q;
	size_t len;

	if (!uri_is_uri(s))
		return uri_bad(why, whylen, "not netdisk://, nbd:// or nbds://");
	memset(u, 0, sizeof(*u));
	u->scheme = uri_needs_key(s) ? URI_NETDISK : URI_NBD;
	p = strstr(s, "://") + 3;
	if (uri_is_nbds(s))
		u->tls = URI_TLS_PSK;	/* until the query says */
	if (uri_identity(&p, u, why, whylen) == -1 ||
	    (slash = uri_host_port(p, u, why, whylen)) == NULL)
		return -1;
	q = strchr(slash + 1, '?');
	len = q != NULL ? (size_t)(q - slash - 1) : strlen(slash + 1);
	if (len >= sizeof(u->export))
		return uri_bad(why, whylen, "the export's name is longer than "
		    "%d bytes", ND_NAME_MAX);
	memcpy(u->export, slash + 1, len);
	if (!name_valid(u->export))
		return uri_bad(why, whylen, "\"%s\" is not an export's name",
		    u->export);
	if (u->tls == URI_TLS_NONE)
		return q != NULL ? uri_bad(why, whylen, "only nbds:// takes a "
		    "query (?...)") : 0;
	return uri_query(q != NULL ? q + 1 : NULL, u, why, whylen);
}

int
uri_parse(const char *s, struct nd_uri *u)
{
	return uri_parse_why(s, u, NULL, 0);
}
