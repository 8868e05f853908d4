/* SPDX-License-Identifier: ISC */
/* netdisk://HOST[:PORT]/EXPORT, HOST a name, an IPv4 address or [IPv6]. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "nbd_proto.h"
#include "uri.h"
#include "util.h"

#define URI_SCHEME	"netdisk://"
#define URI_SCHEME_NBD	"nbd://"
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

int
uri_is_uri(const char *s)
{
	return uri_needs_key(s) || uri_is_nbd(s);
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

int
uri_parse(const char *s, struct nd_uri *u)
{
	const char *p, *slash;

	if (!uri_is_uri(s))
		return -1;
	memset(u, 0, sizeof(*u));
	u->scheme = uri_is_nbd(s) ? URI_NBD : URI_NETDISK;
	p = s + strlen(u->scheme == URI_NBD ? URI_SCHEME_NBD : URI_SCHEME);
	if (*p == '[')
		p = uri_host_v6(p, u->host, sizeof(u->host));
	else
		p = uri_host_name(p, u->host, sizeof(u->host));
	if (p == NULL || (slash = strchr(p, '/')) == NULL)
		return -1;
	if (*p == ':') {
		if (uri_port_parse(p + 1, (size_t)(slash - p - 1),
		    u->port) == -1)
			return -1;
	} else if (p != slash)
		return -1;
	else
		snprintf(u->port, sizeof(u->port), "%d",
		    u->scheme == URI_NBD ? NBD_DEFAULT_PORT : ND_DEFAULT_PORT);
	if (!name_valid(slash + 1))
		return -1;
	strlcpy(u->export, slash + 1, sizeof(u->export));
	return 0;
}
