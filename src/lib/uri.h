/* SPDX-License-Identifier: ISC */
/*
 * netdisk URIs: netdisk://HOST[:PORT]/EXPORT, HOST a name, an IPv4
 * address or [IPv6]; and NBD's, nbd://HOST[:PORT]/EXPORT (port 10809)
 * and, over TLS, libnbd's nbds://[IDENTITY@]HOST[:PORT]/EXPORT?QUERY
 * with one of tls-psk-file=FILE (the identity defaults to the local
 * user's name) or tls-certificates=DIR; values may be %-encoded.
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

/* nbds://: how the TLS session authenticates. */
enum uri_tls {
	URI_TLS_NONE = 0,	/* nbd://, netdisk:// */
	URI_TLS_PSK,		/* ?tls-psk-file=FILE */
	URI_TLS_X509,		/* ?tls-certificates=DIR */
};

#define URI_IDENTITY_MAX	128
#define URI_PATH_MAX		4096

struct nd_uri {
	enum uri_scheme scheme;	/* nbds:// is URI_NBD with tls */
	char host[256];
	char port[8];		/* default "26547", 10809 for nbd(s):// */
	char export[ND_NAME_MAX + 1];
	enum uri_tls tls;
	char identity[URI_IDENTITY_MAX + 1];	/* "": the local user's */
	char tls_path[URI_PATH_MAX];	/* the PSK file or the directory */
};
int uri_parse(const char *s, struct nd_uri *u);
/* The same, with what is wrong in why (whylen bytes) on -1. */
int uri_parse_why(const char *s, struct nd_uri *u, char *why,
    size_t whylen);
/* Starts with netdisk://, nbd:// or nbds://. */
int uri_is_uri(const char *s);
/* A netdisk:// URI, whose connections need the key. */
int uri_needs_key(const char *s);
/* Port 1..65535: the len digits at s, normalised ("080" -> "80"). */
int uri_port_parse(const char *s, size_t len, char port[8]);

#endif
