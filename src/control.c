#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#define LIBBSD_OPENBSD_VIS	/* strnvis(dst, src, size, flags) */
#include <vis.h>

#include "control.h"
#include "log.h"
#include "server.h"
#include "sockio.h"
#include "status.h"

static int
control_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		log_warnx("control socket %s: path too long (at most %zu "
		    "bytes)", path, sizeof(sun->sun_path) - 1);
		return -1;
	}
	strlcpy(sun->sun_path, path, sizeof(sun->sun_path));
	return 0;
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

int
control_open(const char *path, uid_t uid, gid_t gid)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	if (control_addr(path, &sun) == -1 ||
	    control_mkdir(path, uid, gid) == -1 ||
	    control_clear(path, &sun) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("control socket");
		return -1;
	}
	old = umask(0117);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
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
		control_close(fd, path);
		return -1;
	}
	log_info("control socket %s", path);
	return fd;
}

void
control_close(int fd, const char *path)
{
	if (fd == -1)
		return;
	close(fd);
	if (unlink(path) == -1 && errno != ENOENT)
		log_debug("control socket %s: %s", path, strerror(errno));
}

/* Read the request line: its length without "\n", or -1. */
static int
control_read_line(int fd, char *line, size_t size)
{
	size_t len = 0;
	ssize_t n;
	char *nl;

	while (len < size - 1) {
		n = read(fd, line + len, size - 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		line[len] = '\0';
		if ((nl = memchr(line, '\n', len)) != NULL) {
			*nl = '\0';
			return (int)(nl - line);
		}
	}
	return -1;
}

static void
control_status(struct server *srv, const char *arg, FILE *out, FILE *body)
{
	struct status st;

	if (server_status(srv, &st) == -1) {
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
control_reload(struct server *srv, FILE *out, FILE *body)
{
	if (server_reload(srv, body) == 0) {
		fprintf(out, "%s\n", CONTROL_OK);
		fprintf(body, "configuration reloaded\n");
	} else
		fprintf(out, "%s %s\n", CONTROL_ERR, CONTROL_ERR_CONFIG);
}

static void
control_restart(struct server *srv, const char *name, FILE *out, FILE *body)
{
	char vis[4 * CONTROL_LINE_MAX + 1];

	strnvis(vis, name, sizeof(vis), VIS_SAFE | VIS_OCTAL | VIS_CSTYLE |
	    VIS_DQ);
	if (server_restart_export(srv, name, body) == 0) {
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

static void
control_dispatch(struct server *srv, int fd, char *line, FILE *out,
    FILE *body)
{
	char who[64], vis[4 * CONTROL_LINE_MAX + 1];

	control_peer(fd, who, sizeof(who));
	if (strcmp(line, "status") == 0 || strcmp(line, "status json") == 0) {
		log_debug("control: status requested by %s", who);
		control_status(srv, line[6] ? line + 7 : "", out, body);
		return;
	}
	strnvis(vis, line, sizeof(vis), VIS_SAFE | VIS_OCTAL | VIS_CSTYLE |
	    VIS_DQ);
	log_info("control: \"%s\" requested by %s", vis, who);
	if (strcmp(line, "reload") == 0)
		control_reload(srv, out, body);
	else if (strncmp(line, "restart ", 8) == 0 && line[8] != '\0')
		control_restart(srv, line + 8, out, body);
	else {
		fprintf(out, "%s %s\n", CONTROL_ERR, CONTROL_ERR_REQUEST);
		fprintf(body, "unknown request \"%s\"\n", vis);
	}
}

/* Answer one request on fd: status line, then the body. */
static void
control_serve(struct server *srv, int fd)
{
	char line[CONTROL_LINE_MAX], *head = NULL, *text = NULL;
	size_t headlen = 0, textlen = 0;
	FILE *out, *body;

	if (control_read_line(fd, line, sizeof(line)) == -1) {
		log_debug("control: no request line");
		return;
	}
	if ((out = open_memstream(&head, &headlen)) == NULL ||
	    (body = open_memstream(&text, &textlen)) == NULL) {
		if (out != NULL)
			fclose(out);
		free(head);
		log_warn("control");
		return;
	}
	control_dispatch(srv, fd, line, out, body);
	if ((fclose(out) | fclose(body)) == 0 &&
	    (sock_write_full(fd, head, headlen) == -1 ||
	    sock_write_full(fd, text, textlen) == -1))
		log_debug("control: cannot send the answer: %s",
		    strerror(errno));
	free(head);
	free(text);
}

void
control_accept(struct server *srv, int lfd)
{
	struct timeval tv = { .tv_sec = CONTROL_TIMEOUT };
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("control socket: accept");
		return;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		log_warn("control socket: timeouts");
	else
		control_serve(srv, fd);
	close(fd);
}
