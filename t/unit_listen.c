/* SPDX-License-Identifier: ISC */
/*
 * The listeners (src/netdiskd/listen.c) on loopback ports the kernel
 * picks (port 0): an address listed twice is one listener, a rebuild
 * keeps the socket of an address it still has and closes the others at
 * the commit, a rebuild that fails closes what it opened and leaves the
 * running listeners alone, and accept hands a connection over with its
 * listener.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "listen.h"
#include "report.h"
#include "tap.h"

static struct conf_listen entries[4];

/* A configuration of n listen entries "HOST:0". */
static struct conf
conf_of(int n, const char *const *hosts)
{
	struct conf conf;
	int i;

	memset(&conf, 0, sizeof(conf));
	for (i = 0; i < n; i++) {
		snprintf(entries[i].host, sizeof(entries[i].host), "%s",
		    hosts[i]);
		snprintf(entries[i].port, sizeof(entries[i].port), "0");
	}
	conf.listen = entries;
	conf.nlisten = n;
	return conf;
}

static int
is_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

static int
open_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		n += is_open(fd);
	return n;
}

static int naccepted, accepted_proto = -1;

static void
accepted(void *arg, const struct listener *l, int fd,
    const struct sockaddr *peer, socklen_t peerlen)
{
	(void)arg;
	naccepted++;
	accepted_proto = (int)l->proto;
	if (peer->sa_family != AF_INET || peerlen == 0)
		accepted_proto = -2;
	close(fd);
}

/* Connect to listener i of set and accept. */
static void
test_accept(struct listeners *set, int i)
{
	struct pollfd pfd[LISTEN_MAX];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, n, timeout;

	fd = socket(set->l[i].want.ss_family, SOCK_STREAM, 0);
	n = listen_pollfds(set, pfd, &timeout);
	ok(n == set->n && timeout == -1 && pfd[i].fd == set->l[i].fd,
	    "accept: every listener is polled, no timeout");
	if (fd == -1 || getsockname(set->l[i].fd, (struct sockaddr *)&ss,
	    &sl) == -1 || connect(fd, (struct sockaddr *)&ss, sl) == -1) {
		ok(0, "accept: connect to %s: %s", set->l[i].name,
		    strerror(errno));
		return;
	}
	poll(&pfd[i], 1, 5000);
	listen_accept(set, i, 8, accepted, NULL);
	ok(naccepted == 1 && accepted_proto == LISTEN_PROTO_NETDISK,
	    "accept: one connection handed over with its listener, which "
	    "speaks the netdisk protocol");
	close(fd);
}

int
main(void)
{
	static const char *const one[] = { "127.0.0.1", "127.0.0.1" };
	static const char *const two[] = { "127.0.0.2", "127.0.0.1" };
	static const char *const bad[] = { "127.0.0.3", "192.0.2.1" };
	struct listeners cur, set;
	struct conf conf;
	struct report r;
	char *text = NULL;
	size_t len = 0;
	FILE *out;
	int fd1, fds;

	memset(&cur, 0, sizeof(cur));
	conf = conf_of(2, one);
	ok(listen_build(NULL, &conf, &set, NULL) == 0 && set.n == 1,
	    "an address listed twice is one listener");
	ok(strncmp(set.l[0].name, "127.0.0.1:", 10) == 0 &&
	    strcmp(set.l[0].name, "127.0.0.1:0") != 0,
	    "... named by the address it is bound to (%s)", set.l[0].name);
	listen_commit(&cur, &set);
	fd1 = cur.l[0].fd;
	test_accept(&cur, 0);

	conf = conf_of(2, two);
	ok(listen_build(&cur, &conf, &set, NULL) == 0 && set.n == 2 &&
	    set.l[1].fd == fd1 && set.l[0].fd != fd1,
	    "a rebuild keeps the socket of an address it still has");
	listen_commit(&cur, &set);
	ok(cur.n == 2 && is_open(fd1), "... and the commit keeps it open");

	fds = open_fds();
	conf = conf_of(2, bad);
	if ((out = open_memstream(&text, &len)) == NULL)
		return 99;
	report_init(&r, out);
	ok(listen_build(&cur, &conf, &set, &r) == -1,
	    "a rebuild with an address the host lacks fails");
	fclose(out);
	ok(text != NULL && strstr(text, "cannot listen on 192.0.2.1:0") !=
	    NULL, "... the report names it: %.*s",
	    text ? (int)strcspn(text, "\n") : 0, text ? text : "");
	ok(open_fds() == fds && cur.n == 2 && is_open(fd1),
	    "... what it opened is closed, the running listeners stay");
	free(text);

	conf = conf_of(1, two);
	ok(listen_build(&cur, &conf, &set, NULL) == 0 && set.n == 1 &&
	    set.l[0].fd != fd1, "a rebuild without 127.0.0.1");
	listen_commit(&cur, &set);
	ok(cur.n == 1 && !is_open(fd1), "... closes its socket at the commit");
	listen_close(&cur);
	ok(cur.n == 0 && open_fds() == fds - 2, "listen_close closes them all");
	return done_testing();
}
