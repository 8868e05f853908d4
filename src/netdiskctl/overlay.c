/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl overlay ACTION: each action checks its operands here, so
 * that a bad one is named before netdiskd is asked, then sends one
 * control line (control_proto.h) and prints the answer (service.h).
 */
#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "conf.h"
#include "control_proto.h"
#include "overlay.h"
#include "service.h"
#include "util.h"
#include "warn.h"

#define OVERLAY_DAYS_MAX	36500	/* overlay_admin.h's limit too */

struct overlay_args {
	const char *socket;
	int json, force;
	const char *days;
};

static int
overlay_parse(const struct ctl_cmd *cmd, const char *action,
    struct overlay_args *oa, int argc, char **argv, int operands)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS,
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "force", no_argument, NULL, 'f' },
		{ "older-than", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_args args = { 0 };
	int ch;

	memset(oa, 0, sizeof(*oa));
	oa->socket = CONF_CONTROL_SOCKET;
	while ((ch = getopt_long(argc, argv, ":hs:", longopts, NULL)) != -1) {
		if (ch == 's')
			oa->socket = optarg;
		else if (ch == 'j' && strcmp(action, "list") == 0)
			oa->json = 1;
		else if (ch == 'f' && strcmp(action, "reset") == 0)
			oa->force = 1;
		else if (ch == 'o' && strcmp(action, "prune") == 0)
			oa->days = optarg;
		else if (ch == 'j' || ch == 'f' || ch == 'o') {
			ctl_warnx("overlay %s: unknown option %s", action,
			    argv[optind - 1]);
			return ctl_usage(cmd);
		} else if (ctl_common_opt(cmd, ch, argv, &args) != 0)
			return CLIENT_ERR_USAGE;
	}
	return ctl_operands(cmd, argc, operands);
}

/* The export and client operands: CLIENT_OK, or CLIENT_ERR_USAGE. */
static int
overlay_names(const char *action, const char *export, const char *client)
{
	if (!name_valid(export)) {
		ctl_warnx("overlay %s: \"%s\" is not an export name", action,
		    export);
		return CLIENT_ERR_USAGE;
	}
	if (client != NULL && !conf_client_name_valid(client)) {
		ctl_warnx("overlay %s: \"%s\" is not a client name (1 to %d of "
		    "A-Z a-z 0-9 . _ -, not starting with \".\" or \"-\")",
		    action, client, CONF_CLIENT_NAME_MAX);
		return CLIENT_ERR_USAGE;
	}
	return CLIENT_OK;
}

/* FILE as an absolute path in abs: 0, or -1 (message printed). */
static int
overlay_image_path(const char *file, char *abs, size_t len)
{
	char cwd[PATH_MAX];

	if (*file == '\0' || strchr(file, '\n') != NULL) {
		ctl_warnx("overlay commit: \"%s\" is not a file name", file);
		return -1;
	}
	if (access(file, F_OK) == 0) {
		ctl_warnx("overlay commit: %s exists: the image is written to "
		    "a new file only", file);
		return -1;
	}
	if (*file == '/') {
		if (snprintf(abs, len, "%s", file) < (int)len)
			return 0;
	} else if (getcwd(cwd, sizeof(cwd)) == NULL)
		ctl_warn("overlay commit: current folder");
	else if (snprintf(abs, len, "%s/%s", cwd, file) < (int)len)
		return 0;
	ctl_warnx("overlay commit: %s: path too long", file);
	return -1;
}

/* prune's DAYS, as netdiskd takes it, in out: 0, or -1 (message printed). */
static int
overlay_days(const struct ctl_cmd *cmd, const char *days, char *out,
    size_t len)
{
	long v;

	if (days == NULL) {
		ctl_warnx("overlay prune: --older-than DAYS is required");
		ctl_usage(cmd);
		return -1;
	}
	if (ctl_parse_int("overlay prune: --older-than", days, 0,
	    OVERLAY_DAYS_MAX, &v) == -1)
		return -1;
	snprintf(out, len, "%ld", v);
	return 0;
}

/*
 * One action: its options and operands checked, then the request
 * "overlay ACTION [--json] [--force] EXPORT [CLIENT] [DAYS | FILE]".
 */
static int
overlay_action(const struct ctl_cmd *cmd, const char *action, int argc,
    char **argv)
{
	char request[CONTROL_LINE_MAX], last[PATH_MAX] = "";
	struct overlay_args oa;
	int r, n = strcmp(action, "reset") == 0 ? 2 :
	    strcmp(action, "commit") == 0 ? 3 : 1;

	if ((r = overlay_parse(cmd, action, &oa, argc, argv, n)) != CLIENT_OK ||
	    (r = overlay_names(action, argv[optind], n > 1 ?
	    argv[optind + 1] : NULL)) != CLIENT_OK)
		return r;
	if ((strcmp(action, "prune") == 0 && overlay_days(cmd, oa.days, last,
	    sizeof(last)) == -1) || (n == 3 &&
	    overlay_image_path(argv[optind + 2], last, sizeof(last)) == -1))
		return CLIENT_ERR_USAGE;
	if (snprintf(request, sizeof(request), "overlay %s%s%s %s%s%s%s%s",
	    action, oa.json ? " --json" : "", oa.force ? " --force" : "",
	    argv[optind], n > 1 ? " " : "", n > 1 ? argv[optind + 1] : "",
	    last[0] ? " " : "", last) >= (int)sizeof(request)) {
		ctl_warnx("overlay %s: %s: path too long", action, last);
		return CLIENT_ERR_USAGE;
	}
	return service_request(oa.socket, request);
}

/*
 * "overlay ACTION ...": the entry of ACTION, run with argv from ACTION
 * on (the usage names the entry's synopsis).
 */
static int
overlay_run(const struct ctl_cmd *cmd, int argc, char **argv)
{
	const struct ctl_cmd *c;
	size_t n;

	(void)cmd;
	if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0)) {
		for (c = ctl_overlay_cmds; c->name != NULL; c++)
			printf("usage: %s %s %s\n", CTL_PROGNAME, c->name,
			    c->synopsis);
		return CLIENT_OK;
	}
	if (argc < 2) {
		ctl_warnx("overlay: missing action (list, reset, prune or "
		    "commit)");
		for (c = ctl_overlay_cmds; c->name != NULL; c++)
			ctl_usage(c);
		return CLIENT_ERR_USAGE;
	}
	n = strlen(argv[1]);
	for (c = ctl_overlay_cmds; c->name != NULL; c++)
		if (strncmp(c->synopsis, argv[1], n) == 0 &&
		    c->synopsis[n] == ' ')
			break;
	if (c->name == NULL) {
		ctl_warnx("overlay: unknown action \"%s\" (list, reset, prune "
		    "or commit)", argv[1]);
		return CLIENT_ERR_USAGE;
	}
	return overlay_action(c, argv[1], argc - 1, argv + 1);
}

const struct ctl_cmd ctl_overlay_cmds[] = {
	{ "overlay", overlay_run, "list [-s SOCKET] [--json] EXPORT" },
	{ "overlay", overlay_run, "reset [-s SOCKET] [--force] EXPORT CLIENT" },
	{ "overlay", overlay_run,
	    "prune [-s SOCKET] --older-than DAYS EXPORT" },
	{ "overlay", overlay_run, "commit [-s SOCKET] EXPORT CLIENT FILE" },
	{ NULL, NULL, NULL }
};
