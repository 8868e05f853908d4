/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl status, reload and restart: requests to a running netdiskd
 * over its control socket (control.h has the protocol).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "conf.h"
#include "control_proto.h"
#include "service.h"
#include "sockio.h"
#include "util.h"
#include "warn.h"

struct service {
	const char *socket;
	int json;
};

static int
service_parse(const struct ctl_cmd *cmd, struct service *sv, int argc,
    char **argv, int operands)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS,
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_args args = { 0 };
	int ch;

	sv->socket = CONF_CONTROL_SOCKET;
	sv->json = 0;
	while ((ch = getopt_long(argc, argv, ":hs:", longopts, NULL)) != -1) {
		if (ch == 's')
			sv->socket = optarg;
		else if (ch == 'j' && strcmp(cmd->name, "status") == 0)
			sv->json = 1;
		else if (ch == 'j') {
			ctl_warnx("%s: unknown option --json", cmd->name);
			return ctl_usage(cmd);
		} else if (ctl_common_opt(cmd, ch, argv, &args) != 0)
			return CLIENT_ERR_USAGE;
	}
	return ctl_operands(cmd, argc, operands);
}

/* Connect to the control socket: the descriptor, or -1 (message printed). */
static int
service_connect(const char *path)
{
	struct sockaddr_un sun;
	struct timeval tv = { .tv_sec = CONTROL_WAIT };
	int fd;

	if (sock_unix_addr(path, &sun) == -1) {
		ctl_warnx("control socket %s: path too long", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		ctl_warn("socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			ctl_warnx("cannot reach netdiskd at %s: %s (is it "
			    "running? see control_socket in netdisk.conf)",
			    path, strerror(errno));
		else
			ctl_warn("cannot reach netdiskd at %s", path);
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The whole answer, NUL-terminated: 0, or -1 (message printed). */
static int
service_read_all(int fd, const char *path, char **out, size_t *outlen)
{
	char *buf, *n;
	size_t len;

	if (fd_read_all(fd, SIZE_MAX, &buf, &len) == -1) {
		if (errno == ENOMEM)
			ctl_warn("answer of netdiskd");
		else
			ctl_warn("no answer from netdiskd at %s", path);
		free(buf);
		return -1;
	}
	if ((n = realloc(buf, len + 1)) == NULL) {
		ctl_warn("answer of netdiskd");
		free(buf);
		return -1;
	}
	n[len] = '\0';
	*out = n;
	*outlen = len;
	return 0;
}

/* The exit code for an answer's first line. */
static int
service_code(const char *head)
{
	static const struct {
		const char *kind;
		int code;
	} kinds[] = {
		{ CONTROL_ERR_CONFIG, CLIENT_ERR_CONFIG },
		{ CONTROL_ERR_NO_EXPORT, CLIENT_ERR_AUTH },
		{ CONTROL_ERR_FAILED, CLIENT_ERR_IO },
		{ CONTROL_ERR_REQUEST, CLIENT_ERR_PROTO },
		{ CONTROL_ERR_NO_OVERLAY, CLIENT_ERR_AUTH },
		{ CONTROL_ERR_BUSY, CLIENT_ERR_BUSY },
		{ CONTROL_ERR_EXISTS, CLIENT_ERR_USAGE },
	};
	size_t i, n = strlen(CONTROL_ERR);

	if (strcmp(head, CONTROL_OK) == 0)
		return CLIENT_OK;
	if (strncmp(head, CONTROL_ERR, n) == 0 && head[n] == ' ')
		for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strcmp(head + n + 1, kinds[i].kind) == 0)
				return kinds[i].code;
	return -1;
}

/* The answer past the progress lines a long request sends first. */
static char *
service_skip_progress(char *answer)
{
	size_t n = strlen(CONTROL_PROGRESS);
	char *nl;

	while (strncmp(answer, CONTROL_PROGRESS, n) == 0 && answer[n] == ' ' &&
	    (nl = strchr(answer, '\n')) != NULL)
		answer = nl + 1;
	return answer;
}

int
service_request(const char *path, const char *request)
{
	char *answer, *head, *body;
	size_t len;
	int fd, code;

	if ((fd = service_connect(path)) == -1)
		return CLIENT_ERR_CONNECT;
	if (sock_write_full(fd, request, strlen(request)) == -1 ||
	    sock_write_full(fd, "\n", 1) == -1) {
		ctl_warn("cannot send to netdiskd at %s", path);
		close(fd);
		return CLIENT_ERR_CONNECT;
	}
	code = service_read_all(fd, path, &answer, &len);
	close(fd);
	if (code == -1)
		return CLIENT_ERR_CONNECT;
	head = service_skip_progress(answer);
	if ((body = strchr(head, '\n')) == NULL ||
	    (*body++ = '\0', code = service_code(head)) == -1) {
		ctl_warnx("netdiskd at %s: not an answer", path);
		free(answer);
		return CLIENT_ERR_PROTO;
	}
	fputs(body, code == CLIENT_OK ? stdout : stderr);
	free(answer);
	return code;
}

static int
ctl_status(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct service sv;
	int r;

	if ((r = service_parse(cmd, &sv, argc, argv, 0)) != CLIENT_OK)
		return r;
	return service_request(sv.socket, sv.json ? "status json" : "status");
}

static int
ctl_reload(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct service sv;
	int r;

	if ((r = service_parse(cmd, &sv, argc, argv, 0)) != CLIENT_OK)
		return r;
	return service_request(sv.socket, "reload");
}

static int
ctl_restart(const struct ctl_cmd *cmd, int argc, char **argv)
{
	char request[CONTROL_LINE_MAX];
	const char *name;
	struct service sv;
	int r;

	if ((r = service_parse(cmd, &sv, argc, argv, 1)) != CLIENT_OK)
		return r;
	name = argv[optind];
	if (*name == '\0' || strlen(name) > ND_NAME_MAX ||
	    strchr(name, '\n') != NULL) {
		ctl_warnx("restart: \"%s\" is not an export name", name);
		return CLIENT_ERR_USAGE;
	}
	snprintf(request, sizeof(request), "restart %s", name);
	return service_request(sv.socket, request);
}

const struct ctl_cmd ctl_service_cmds[] = {
	{ "status", ctl_status, "[-s SOCKET] [--json]" },
	{ "reload", ctl_reload, "[-s SOCKET]" },
	{ "restart", ctl_restart, "[-s SOCKET] EXPORT" },
	{ NULL, NULL, NULL }
};
