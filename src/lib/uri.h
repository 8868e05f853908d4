/* SPDX-License-Identifier: ISC */
/*
 * netdisk URIs: netdisk://HOST[:PORT]/EXPORT, HOST a name, an IPv4
 * address or [IPv6]; and NBD's, nbd://HOST[:PORT]/EXPORT (port 10809).
 * uri_parse and uri_port_parse return 0 on success and -1 on error;
 * uri_is_uri is a predicate (1 or 0).
 */
#ifndef URI_H
#define URI_H

#include <stddef.h>

#include "netdisk_proto.h"

enum uri_scheme {
	URI_NETDISK = 0,
	URI_NBD,		/* netdiskd's NBD listener, or any NBD server */
};

struct nd_uri {
	enum uri_scheme scheme;
	char host[256];
	char port[8];		/* default "26547", 10809 for nbd:// */
	char export[ND_NAME_MAX + 1];
};
int uri_parse(const char *s, struct nd_uri *u);
int uri_is_uri(const char *s);	/* starts with netdisk:// or nbd:// */
/* A netdisk:// URI, whose connections need the key. */
int uri_needs_key(const char *s);
/* Port 1..65535: the len digits at s, normalised ("080" -> "80"). */
int uri_port_parse(const char *s, size_t len, char port[8]);

#endif
