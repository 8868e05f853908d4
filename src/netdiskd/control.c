/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define LIBBSD_OPENBSD_VIS	/* strnvis(dst, src, size, flags) */
#include <vis.h>

#include "control.h"
#include "log.h"
#include "sockio.h"
#include "status.h"
#include "util.h"

struct control_client {
	int fd;
	size_t len;			/* of line so far */
	int64_t deadline;		/* monotonic ms */
	char line[CONTROL_LINE_MAX];
};

struct control {
	char *path;
	int fd;				/* listening */
	struct control_client clients[CONTROL_MAX_CLIENTS];
	int nclients;
};

/* The requester of a request being answered. */
struct control_req {
	const struct control_ops *ops;
	void *arg;
};

static int
control_addr(const char *path, struct sockaddr_un *sun)
{
	if (sock_unix_addr(path, sun) == 0)
		return 0;
	log_warnx("control socket %s: path too long (at most %zu bytes)",
	    path, sizeof(sun->sun_path) - 1);
	return -1;
}

/* Remove a socket nobody answers on: 0, or -1 (logged) if it must stay. */
static int
control_clear(const char *path, const struct sockaddr_un *sun)
{
	struct stat sb;
	int fd, live;

	if (lstat(path, &sb) == -1)
		return errno == ENOENT ? 0 : (log_warn("control socket %s",
		    path), -1);
	if (!S_ISSOCK(sb.st_mode)) {
		log_warnx("control socket %s: exists and is not a socket",
		    path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("control socket");
		return -1;
	}
	live = connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0;
	close(fd);
	if (live) {
		log_warnx("control socket %s: in use by another netdiskd",
		    path);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("control socket %s: cannot remove the stale one",
		    path);
		return -1;
	}
	return 0;
}

/*
 * Create the socket's directory if it is missing (its parent must
 * exist), for the service user and group: mode 0750.
 */
static int
control_mkdir(const char *path, uid_t uid, gid_t gid)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	strlcpy(dir, path, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) == -1)
		return errno == EEXIST ? 0 : (log_warn("control socket "
		    "directory %s", dir), -1);
	if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    chown(dir, uid, gid) == -1) {
		log_warn("control socket directory %s", dir);
		return -1;
	}
	log_info("created %s for the control socket", dir);
	return 0;
}

/* The listening socket at path: its descriptor, or -1 (logged). */
static int
control_listen(const char *path, const struct sockaddr_un *sun, uid_t uid,
    gid_t gid)
{
	mode_t old;
	int fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("control socket");
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (const struct sockaddr *)sun, sizeof(*sun)) == -1) {
		umask(old);
		log_warn("control socket %s", path);
		close(fd);
		return -1;
	}
	umask(old);
	if (chmod(path, 0660) == -1 || ((uid != (uid_t)-1 ||
	    gid != (gid_t)-1) && chown(path, uid, gid) == -1) ||
	    listen(fd, 16) == -1) {
		log_warn("control socket %s", path);
		close(fd);
		unlink(path);
		return -1;
	}
	return fd;
}

struct control *
control_open(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun;
	struct control *c;

	if (control_addr(path, &sun) == -1 ||
	    control_mkdir(path, uid, gid) == -1 ||
	    control_clear(path, &sun) == -1)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		log_warn("control socket");
		free(c);
		return NULL;
	}
	if ((c->fd = control_listen(path, &sun, uid, gid)) == -1) {
		free(c->path);
		free(c);
		return NULL;
	}
	log_info("control socket %s", path);
	return c;
}

void
control_close(struct control *c)
{
	int i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nclients; i++)
		close(c->clients[i].fd);
	close(c->fd);
	if (unlink(c->path) == -1 && errno != ENOENT)
		log_debug("control socket %s: %s", c->path, strerror(errno));
	free(c->path);
	free(c);
}

static void
control_status(const struct control_req *rq, const char *arg, FILE *out,
    FILE *body)
{
	struct status st;

	if (rq->ops->status(rq->arg, &st) == -1) {
		fprintf(out, "%s %s\n", CONTROL_ERR, CONTROL_ERR_FAILED);
		fprintf(body, "out of memory\n");
		return;
	}
	if (strcmp(arg, "json") == 0)
		status_json(body, &st);
	else
		status_text(body, &st);
	status_free(&st);
	fprintf(out, "%s\n", CONTROL_OK);
}

static void
control_reload(const struct control_req *rq, FILE *out, FILE *body)
{
	if (rq->ops->reload(rq->arg, body) == 0) {
		fprintf(out, "%s\n", CONTROL_OK);
		fprintf(body, "configuration reloaded\n");
	} else
		fprintf(out, "%s %s\n", CONTROL_ERR, CONTROL_ERR_CONFIG);
}

static void
control_restart(const struct control_req *rq, const char *name, FILE *out,
    FILE *body)
{
	char vis[4 * CONTROL_LINE_MAX + 1];

	strnvis(vis, name, sizeof(vis), VIS_SAFE | VIS_OCTAL | VIS_CSTYLE |
	    VIS_DQ);
	if (rq->ops->restart(rq->arg, name, body) == 0) {
		fprintf(out, "%s\n", CONTROL_OK);
		fprintf(body, "export \"%s\" restarted\n", vis);
	} else if (errno == ENOENT) {
		fprintf(out, "%s %s\n", CONTROL_ERR, CONTROL_ERR_NO_EXPORT);
		fprintf(body, "no export \"%s\"\n", vis);
	} else
		fprintf(out, "%s %s\n", CONTROL_ERR, CONTROL_ERR_FAILED);
}

/* Who asked, for the log. */
static void
control_peer(int fd, char *buf, size_t len)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0)
		snprintf(buf, len, "uid %u pid %d", (unsigned)cred.uid,
		    (int)cred.pid);
	else
		snprintf(buf, len, "unknown peer");
}

/* An overlay request: 1 if another thread answers it, else 0 (answered). */
static int
control_overlay(const struct control_req *rq, int fd, const char *request,
    FILE *out, FILE *body)
{
	if (rq->ops->overlay(rq->arg, fd, request) == 0)
		return 1;
	fprintf(out, "%s %s\n", CONTROL_ERR, errno == EAGAIN ?
	    CONTROL_ERR_BUSY : CONTROL_ERR_FAILED);
	fprintf(body, "cannot start the overlay request: %s\n", errno ==
	    EAGAIN ? "too many at once, try again" : strerror(errno));
	return 0;
}

/* Answer line in out and body: 0, or 1 if another thread answers it. */
static int
control_dispatch(const struct control_req *rq, int fd, char *line, FILE *out,
    FILE *body)
{
	char who[64], vis[4 * CONTROL_LINE_MAX + 1];

	control_peer(fd, who, sizeof(who));
	if (strcmp(line, "status") == 0 || strcmp(line, "status json") == 0) {
		log_debug("control: status requested by %s", who);
		control_status(rq, line[6] ? line + 7 : "", out, body);
		return 0;
	}
	strnvis(vis, line, sizeof(vis), VIS_SAFE | VIS_OCTAL | VIS_CSTYLE |
	    VIS_DQ);
	log_info("control: \"%s\" requested by %s", vis, who);
	if (strcmp(line, "reload") == 0)
		control_reload(rq, out, body);
	else if (strncmp(line, "restart ", 8) == 0 && line[8] != '\0')
		control_restart(rq, line + 8, out, body);
	else if (strncmp(line, "overlay ", 8) == 0)
		return control_overlay(rq, fd, line + 8, out, body);
	else {
		fprintf(out, "%s %s\n", CONTROL_ERR, CONTROL_ERR_REQUEST);
		fprintf(body, "unknown request \"%s\"\n", vis);
	}
	return 0;
}

/*
 * Answer the request in line on fd: status line, then the body.  The
 * socket blocks for this, with a send timeout: the answer normally fits
 * in its buffer.
 */
static void
control_answer(const struct control_req *rq, int fd, char *line)
{
	struct timeval tv = { .tv_sec = CONTROL_TIMEOUT };
	char *head = NULL, *text = NULL;
	size_t headlen = 0, textlen = 0;
	FILE *out, *body;

	if ((out = open_memstream(&head, &headlen)) == NULL ||
	    (body = open_memstream(&text, &textlen)) == NULL) {
		if (out != NULL)
			fclose(out);
		free(head);
		log_warn("control");
		return;
	}
	if (control_dispatch(rq, fd, line, out, body) == 1) {
		fclose(out);	/* nothing written: another thread answers */
		fclose(body);
		free(head);
		free(text);
		return;
	}
	if ((fclose(out) | fclose(body)) == 0 &&
	    (fcntl(fd, F_SETFL, 0) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1 ||
	    sock_write_full(fd, head, headlen) == -1 ||
	    sock_write_full(fd, text, textlen) == -1))
		log_debug("control: cannot send the answer: %s",
		    strerror(errno));
	free(head);
	free(text);
}

static void
control_drop(struct control *c, int i)
{
	close(c->clients[i].fd);
	c->clients[i] = c->clients[--c->nclients];
}

/*
 * Read what client i sent: 1 while its line is incomplete, 0 when it is
 * done with (answered, or dropped for a broken or overlong request).
 */
static int
control_read(struct control *c, const struct control_req *rq, int i)
{
	struct control_client *cl = &c->clients[i];
	ssize_t n;
	char *nl;

	n = read(cl->fd, cl->line + cl->len, sizeof(cl->line) - 1 - cl->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0) {
		log_debug("control: no request line");
		return 0;
	}
	cl->len += (size_t)n;
	cl->line[cl->len] = '\0';
	if ((nl = memchr(cl->line, '\n', cl->len)) != NULL) {
		*nl = '\0';
		control_answer(rq, cl->fd, cl->line);
		return 0;
	}
	if (cl->len == sizeof(cl->line) - 1) {
		log_debug("control: request line too long");
		return 0;
	}
	return 1;
}

static void
control_accept(struct control *c)
{
	struct control_client *cl;
	int fd;

	while (c->nclients < CONTROL_MAX_CLIENTS) {
		fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("control socket: accept");
			return;
		}
		cl = &c->clients[c->nclients++];
		cl->fd = fd;
		cl->len = 0;
		cl->deadline = mono_ms() + CONTROL_TIMEOUT * 1000;
	}
}

int
control_pollfds(struct control *c, struct pollfd *pfd, int *timeout)
{
	int64_t now = mono_ms(), left;
	int i, n = 0;

	if (c->nclients < CONTROL_MAX_CLIENTS) {
		pfd[n].fd = c->fd;
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
	}
	for (i = 0; i < c->nclients; i++) {
		pfd[n].fd = c->clients[i].fd;
		pfd[n].events = POLLIN;
		pfd[n++].revents = 0;
		left = c->clients[i].deadline - now;
		if (left < 0)
			left = 0;
		if (*timeout < 0 || left < *timeout)
			*timeout = (int)left;
	}
	return n;
}

void
control_events(struct control *c, const struct control_ops *ops, void *arg,
    const struct pollfd *pfd, int n)
{
	const struct control_req rq = { ops, arg };
	int64_t now = mono_ms();
	int i, j, accept = 0;

	for (j = 0; j < n; j++) {
		if (pfd[j].fd == c->fd) {
			accept = (pfd[j].revents & POLLIN) != 0;
			continue;
		}
		for (i = 0; i < c->nclients; i++)
			if (c->clients[i].fd == pfd[j].fd)
				break;
		if (i == c->nclients)
			continue;
		if ((pfd[j].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    control_read(c, &rq, i) == 0)
			control_drop(c, i);
		else if (c->clients[i].deadline <= now) {
			log_debug("control: no request within %d s",
			    CONTROL_TIMEOUT);
			control_drop(c, i);
		}
	}
	if (accept)
		control_accept(c);
}
