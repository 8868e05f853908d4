/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/*
 * Send one message to $NOTIFY_SOCKET: a filesystem path, or an abstract
 * address written with a leading "@".  0, also without a socket; -1 if
 * it cannot be sent (logged once: the service manager then times out).
 */
static int
notify_send(const char *msg)
{
	static int warned;
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t len;
	size_t plen;
	int fd, r;

	if (path == NULL || *path == '\0')
		return 0;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
		if (!warned++)
			log_warnx("NOTIFY_SOCKET \"%s\" is not a socket path",
			    path);
		return -1;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen +
	    (path[0] == '/'));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		r = -1;
	else {
		r = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
		    (struct sockaddr *)&sun, len) == -1 ? -1 : 0;
		close(fd);
	}
	if (r == -1 && !warned++)
		log_warn("cannot notify the service manager at %s", path);
	return r;
}

void
notify_ready(size_t nexports)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=serving %zu export%s\n"
	    "MAINPID=%d\n", nexports, nexports == 1 ? "" : "s", (int)getpid());
	notify_send(msg);
}

void
notify_reloading(void)
{
	struct timespec ts;
	char msg[128];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nSTATUS=reloading\n"
	    "MONOTONIC_USEC=%llu\n", (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
	notify_send(msg);
}

void
notify_stopping(void)
{
	notify_send("STOPPING=1\nSTATUS=shutting down\n");
}
