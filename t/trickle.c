/* SPDX-License-Identifier: ISC */
/*
 * trickle - a hostile netdisk server that never finishes a ServerHello
 *
 *   t/trickle PORT MS
 *
 * Listens on 127.0.0.1:PORT.  For every connection (a child process
 * each, killed with its parent), it reads what the client sends and answers with the bytes of a
 * ServerHello header (magic, version, length), then zeros, one byte every
 * MS milliseconds: a client whose timeout applies to each receive call
 * rather than to the whole handshake waits for ever.  Prints "listening"
 * once, "accepted N" for each connection, on stdout, line buffered.
 * The kernel tests (t/kernel/guest-trickle.sh) run it in the guest.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "netdisk_proto.h"

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Drain what the client sent, without waiting. */
static void
drain(int fd)
{
	char buf[512];
	struct pollfd p = { fd, POLLIN, 0 };

	while (poll(&p, 1, 0) == 1 && (p.revents & POLLIN) &&
	    read(fd, buf, sizeof(buf)) > 0)
		;
}

static void
trickle(int fd, long ms)
{
	unsigned char sh[ND_SERVER_HELLO_LEN] = { 0 };
	struct nd_hello_hdr hdr = {
		.magic = htonl(ND_HELLO_MAGIC),
		.version_min = ND_VERSION_2,
		.version_max = ND_VERSION_2,
		.length = htons(ND_SERVER_HELLO_LEN),
	};
	size_t i;

	memcpy(sh, &hdr, sizeof(hdr));
	for (i = 0; i < sizeof(sh); i++) {
		msleep(ms);
		drain(fd);
		if (send(fd, &sh[i], 1, MSG_NOSIGNAL) != 1)
			return;
	}
	/* all sent: hold the connection until the client gives up */
	while (recv(fd, sh, sizeof(sh), 0) > 0)
		;
}

static int
listen_on(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, one = 1;

	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 64) == -1) {
		fprintf(stderr, "trickle: 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		exit(1);
	}
	return fd;
}

int
main(int argc, char **argv)
{
	unsigned long n = 0;
	long ms;
	int lfd, fd, port;

	if (argc != 3 || (port = atoi(argv[1])) <= 0 || port > 65535 ||
	    (ms = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: trickle PORT MS\n");
		return 2;
	}
	signal(SIGCHLD, SIG_IGN);	/* no zombies */
	setvbuf(stdout, NULL, _IOLBF, 0);
	lfd = listen_on(port);
	printf("listening\n");
	for (;;) {
		fd = accept(lfd, NULL, NULL);
		if (fd == -1) {
			if (errno == EINTR)
				continue;
			perror("trickle: accept");
			return 1;
		}
		printf("accepted %lu\n", ++n);
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(lfd);
			trickle(fd, ms);
			_exit(0);
		}
		close(fd);
	}
}
