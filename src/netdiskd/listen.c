/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "listen.h"
#include "log.h"
#include "report.h"
#include "util.h"

#define ACCEPT_PAUSE_MS		1000	/* after running out of descriptors */

static socklen_t
sockaddr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

void
listen_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, sockaddr_len(sa), host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "(unknown address)");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
}

static int
listen_find(const struct listeners *set, const struct sockaddr *sa,
    socklen_t len)
{
	int i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (set->l[i].wantlen == len &&
		    memcmp(&set->l[i].want, sa, len) == 0)
			return i;
	return -1;
}

static int
listen_socket(const struct listener *l)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->want;
	int fd, on = 1, error;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, sa, l->wantlen) == -1 || listen(fd, SOMAXCONN) == -1) {
		error = errno;
		close(fd);
		errno = error;
		return -1;
	}
	return fd;
}

static const char *
listen_proto_name(enum listen_proto proto)
{
	return proto == LISTEN_PROTO_NBD ? " (NBD)" : "";
}

static int
listen_open(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	listen_addr_str((struct sockaddr *)&l->want, l->name, sizeof(l->name));
	if ((l->fd = listen_socket(l)) == -1)
		return -1;
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == 0)
		listen_addr_str((struct sockaddr *)&ss, l->name,
		    sizeof(l->name));
	log_info("listening on %s%s", l->name, listen_proto_name(l->proto));
	return 0;
}

/*
 * Add addr to set for proto, reusing the socket of cur if it has the
 * address (whatever protocol it spoke).
 */
static int
listen_add(const struct listeners *cur, struct listeners *set,
    const struct addrinfo *ai, enum listen_proto proto,
    struct report *report)
{
	struct listener *l = &set->l[set->n];
	char name[LISTEN_ADDRSTRLEN];
	int i;

	if ((i = listen_find(set, ai->ai_addr, ai->ai_addrlen)) != -1) {
		if (set->l[i].proto == proto)
			return 0;	/* listed twice */
		listen_addr_str(ai->ai_addr, name, sizeof(name));
		report_warnx(report, "%s is both a listen and an nbd_listen "
		    "address (one port speaks one protocol)", name);
		errno = EADDRINUSE;
		return -1;
	}
	if (set->n == LISTEN_MAX) {
		report_warnx(report, "more than %d listen addresses",
		    LISTEN_MAX);
		errno = E2BIG;
		return -1;
	}
	memset(l, 0, sizeof(*l));
	l->proto = proto;
	memcpy(&l->want, ai->ai_addr, ai->ai_addrlen);
	l->wantlen = ai->ai_addrlen;
	if ((i = listen_find(cur, ai->ai_addr, ai->ai_addrlen)) != -1) {
		*l = cur->l[i];
		l->proto = proto;
	} else if (listen_open(l) == -1) {
		report_warnx(report, "cannot listen on %s: %s", l->name,
		    strerror(errno));
		return -1;
	}
	set->n++;
	return 0;
}

/*
 * Every address of one listen entry.  An address of a family the host
 * lacks is skipped, as long as another one of the entry can be opened.
 */
static int
listen_entry(const struct listeners *cur, const struct conf_listen *cl,
    enum listen_proto proto, struct listeners *set, struct report *report)
{
	struct addrinfo hints, *res, *ai;
	int error, opened = 0, failed = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	error = getaddrinfo(cl->host[0] ? cl->host : NULL, cl->port, &hints,
	    &res);
	if (error != 0) {
		report_warnx(report, "%s on %s port %s: %s",
		    proto == LISTEN_PROTO_NBD ? "nbd_listen" : "listen",
		    cl->host[0] ? cl->host : "*", cl->port,
		    gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL && !failed; ai = ai->ai_next) {
		if (listen_add(cur, set, ai, proto, report) == 0)
			opened++;
		else if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL)
			failed = 1;
	}
	freeaddrinfo(res);
	return failed || opened == 0 ? -1 : 0;
}

static int
listen_entries(const struct listeners *cur, const struct conf_listen *cl,
    int n, enum listen_proto proto, struct listeners *set,
    struct report *report)
{
	int i;

	for (i = 0; i < n; i++)
		if (listen_entry(cur, &cl[i], proto, set, report) == -1)
			return -1;
	return 0;
}

static int
listen_has_fd(const struct listeners *set, int fd)
{
	int i;

	for (i = 0; set != NULL && i < set->n; i++)
		if (set->l[i].fd == fd)
			return 1;
	return 0;
}

/* Close the sockets of a that b (NULL: none) does not use. */
static void
listen_close_unused(const struct listeners *a, const struct listeners *b,
    int verbose)
{
	int i;

	for (i = 0; i < a->n; i++) {
		if (listen_has_fd(b, a->l[i].fd))
			continue;
		close(a->l[i].fd);
		if (verbose)
			log_info("no longer listening on %s", a->l[i].name);
	}
}

int
listen_build(const struct listeners *cur, const struct conf *conf,
    struct listeners *set, struct report *report)
{
	set->n = 0;
	set->resume = 0;
	if (listen_entries(cur, conf->listen, conf->nlisten,
	    LISTEN_PROTO_NETDISK, set, report) == -1 ||
	    listen_entries(cur, conf->nbd_listen, conf->nbd_nlisten,
	    LISTEN_PROTO_NBD, set, report) == -1) {
		listen_close_unused(set, cur, 0);
		return -1;
	}
	if (set->n == 0) {
		report_warnx(report, "no address to listen on");
		return -1;
	}
	return 0;
}

void
listen_commit(struct listeners *cur, const struct listeners *set)
{
	listen_close_unused(cur, set, 1);
	memcpy(cur->l, set->l, set->n * sizeof(*set->l));
	cur->n = set->n;
}

void
listen_close(struct listeners *set)
{
	listen_close_unused(set, NULL, 0);
	set->n = 0;
}

int
listen_pollfds(struct listeners *set, struct pollfd *pfd, int *timeout)
{
	int64_t now;
	int i;

	*timeout = -1;
	if (set->resume != 0) {
		if ((now = mono_ms()) < set->resume) {
			*timeout = (int)(set->resume - now);
			return 0;
		}
		set->resume = 0;
	}
	for (i = 0; i < set->n; i++) {
		pfd[i].fd = set->l[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return set->n;
}

/* 0 to go on accepting, -1 to stop for now. */
static int
listen_accept_error(struct listeners *set, const struct listener *l)
{
	switch (errno) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
		return 0;
	case EAGAIN:
#if EAGAIN != EWOULDBLOCK
	case EWOULDBLOCK:
#endif
		return -1;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		set->resume = mono_ms() + ACCEPT_PAUSE_MS;
		break;
	}
	log_warn("accept on %s", l->name);
	return -1;
}

void
listen_accept(struct listeners *set, int i, int max,
    listen_accepted_fn *accepted, void *arg)
{
	const struct listener *l = &set->l[i];
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, k;

	for (k = 0; k < max; k++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd != -1)
			accepted(arg, l, fd, (struct sockaddr *)&ss, len);
		else if (listen_accept_error(set, l) == -1)
			return;
	}
}
