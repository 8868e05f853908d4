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

struct server;

/*
 * Create the socket at path, owned by uid:gid ((uid_t)-1 and (gid_t)-1:
 * unchanged), mode 0660, and its directory if missing (mode 0750, the
 * same owner).  A stale socket is replaced; one a running daemon answers
 * on is not.  The listening descriptor, or -1 (logged).
 */
int control_open(const char *path, uid_t uid, gid_t gid);
/* Close it and remove the socket file. */
void control_close(int fd, const char *path);
/* Accept one control connection on fd and answer it. */
void control_accept(struct server *, int fd);

#endif
