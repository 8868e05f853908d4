/* SPDX-License-Identifier: ISC */
/*
 * The listening sockets of the server: bound from the listen entries of
 * the configuration, rebuilt at a reload (an address listened on before
 * keeps its socket, so no connection in its backlog is lost), and the
 * accept loop, which hands each connection to the caller.
 */
#ifndef LISTEN_H
#define LISTEN_H

#include <stdint.h>
#include <sys/socket.h>

#include "conf.h"

#define LISTEN_MAX		64
/* "ADDR:PORT" or "[ADDR]:PORT", NUL included. */
#define LISTEN_ADDRSTRLEN	64

struct pollfd;
struct report;

/* The wire protocol a listener speaks to the connections it accepts. */
enum listen_proto {
	LISTEN_PROTO_NETDISK = 0,	/* docs/protocol.md */
	LISTEN_PROTO_NBD,		/* docs/nbd.md */
};

struct listener {
	int fd;
	enum listen_proto proto;
	struct sockaddr_storage want;	/* the configured address, resolved */
	socklen_t wantlen;
	char name[LISTEN_ADDRSTRLEN];	/* the bound address */
};

struct listeners {
	struct listener l[LISTEN_MAX];
	int n;
	int64_t resume;			/* monotonic ms; 0: accepting */
};

void listen_addr_str(const struct sockaddr *, char *buf, size_t len);

/*
 * The listeners conf asks for, in set, reusing the sockets of cur (NULL:
 * none yet): 0, or -1 (in report) with what was opened closed again.
 */
int listen_build(const struct listeners *cur, const struct conf *conf,
    struct listeners *set, struct report *report);
/* Make set the listeners: close (and log) those of cur it no longer has. */
void listen_commit(struct listeners *cur, const struct listeners *set);
void listen_close(struct listeners *);

/*
 * The descriptors to poll for accepting, in pfd (room for LISTEN_MAX):
 * their number, 0 while accepting is paused, with *timeout set to the
 * ms until it resumes (-1: no timeout).
 */
int listen_pollfds(struct listeners *, struct pollfd *pfd, int *timeout);

/* Called with each accepted connection; it owns fd. */
typedef void listen_accepted_fn(void *arg, const struct listener *, int fd,
    const struct sockaddr *peer, socklen_t peerlen);
/*
 * Accept up to max connections on listener i.  Running out of
 * descriptors or memory pauses accepting for a while (listen_pollfds).
 */
void listen_accept(struct listeners *, int i, int max,
    listen_accepted_fn *accepted, void *arg);

#endif
