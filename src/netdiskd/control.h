/* SPDX-License-Identifier: ISC */
/*
 * netdiskd's side of the control socket (its protocol: control_proto.h).
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/types.h>

#include <stdio.h>

#include "control_proto.h"

struct pollfd;
struct control;
struct status;

/*
 * What the requests ask of the daemon, supplied by its owner (arg is
 * passed back).  reload and restart write what fails to report, one line
 * each; status fills a snapshot that control_* frees with status_free.
 */
struct control_ops {
	/* 0, or -1 (ENOMEM). */
	int (*status)(void *arg, struct status *);
	/* Reload the configuration: 0, or -1 with the running one kept. */
	int (*reload)(void *arg, FILE *report);
	/*
	 * Reopen the export called name and disconnect its clients: 0, or
	 * -1 with errno ENOENT (no such export) or EIO (the running one is
	 * kept).
	 */
	int (*restart)(void *arg, const char *name, FILE *report);
	/*
	 * Answer the overlay request (the line after "overlay ") on a copy
	 * of fd, later: 0, or -1 with errno (EAGAIN: too many at once).
	 */
	int (*overlay)(void *arg, int fd, const char *request);
};

/*
 * Create the socket at path, owned by uid:gid ((uid_t)-1 and (gid_t)-1:
 * unchanged), mode 0660, and its directory if missing (mode 0750, the
 * same owner).  A stale socket is replaced; one a running daemon answers
 * on is not.  NULL on failure (logged).
 */
struct control *control_open(const char *path, uid_t uid, gid_t gid);
/* Close it, its clients, and remove the socket file. */
void control_close(struct control *);

/*
 * For the server's poll loop, which never blocks on a control client:
 * the descriptors to poll (at most 1 + CONTROL_MAX_CLIENTS) in pfd, their
 * number returned; *timeout lowered to the next client's deadline.
 */
int control_pollfds(struct control *, struct pollfd *pfd, int *timeout);
/*
 * Accept, read and answer what poll reported on those descriptors,
 * calling ops with arg for the requests.
 */
void control_events(struct control *, const struct control_ops *ops,
    void *arg, const struct pollfd *pfd, int n);

#endif
