/*
 * netdiskd's side of the control socket (its protocol: control_proto.h).
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/types.h>

#include "control_proto.h"

struct server;
struct pollfd;
struct control;

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
/* Accept, read and answer what poll reported on those descriptors. */
void control_events(struct control *, struct server *,
    const struct pollfd *pfd, int n);

#endif
