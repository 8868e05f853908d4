/*
 * The control socket of netdiskd: a local stream socket (mode 0660,
 * owned by the service user and group) over which netdiskctl asks for
 * the status, a reload or the restart of one export.
 *
 * Protocol: the client sends one line (at most CONTROL_LINE_MAX bytes
 * with its "\n"): "status", "status json", "reload" or "restart NAME".
 * The server answers with one line, "ok" or "error KIND" (KIND is one of
 * the CONTROL_ERR_* words), then the text of the answer, and closes.
 */
#ifndef CONTROL_H
#define CONTROL_H

#include <sys/types.h>

#define CONTROL_LINE_MAX	512
#define CONTROL_TIMEOUT		2	/* seconds netdiskd waits for a request */
#define CONTROL_WAIT		60	/* seconds netdiskctl waits for an answer */

#define CONTROL_OK		"ok"
#define CONTROL_ERR		"error"
#define CONTROL_ERR_CONFIG	"config"	/* reload: the file has errors */
#define CONTROL_ERR_NO_EXPORT	"no-export"	/* restart: no such export */
#define CONTROL_ERR_FAILED	"failed"	/* could not be done */
#define CONTROL_ERR_REQUEST	"request"	/* not a request */

#define CONTROL_MAX_CLIENTS	8	/* at once; more wait in the backlog */

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
