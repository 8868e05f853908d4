/* SPDX-License-Identifier: ISC */
/* netdiskctl genkey: a fresh 256-bit key as 64 hex digits. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "crypto.h"
#include "genkey.h"
#include "key.h"
#include "output.h"
#include "warn.h"

/* Creates FILE 0600; never replaces an existing file. */
static int
open_out(const char *path)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 && errno == EEXIST)
		ctl_warnx("%s: already exists; not overwriting a key file "
		    "(remove it first)", path);
	else if (fd == -1)
		ctl_warn("%s", path);
	return fd;
}

static int
emit(const char *path, const char *line, size_t len)
{
	int fd = STDOUT_FILENO;

	if (path != NULL && (fd = open_out(path)) == -1)
		return CLIENT_ERR_INTERNAL;
	if (ctl_write_all(fd, line, len) == -1 ||
	    (path != NULL && fsync(fd) == -1)) {
		ctl_warn("%s", path != NULL ? path : "stdout");
		if (path != NULL) {
			close(fd);
			unlink(path);
		}
		return CLIENT_ERR_INTERNAL;
	}
	if (path != NULL && close(fd) == -1) {
		ctl_warn("%s", path);
		return CLIENT_ERR_INTERNAL;
	}
	return CLIENT_OK;
}

static int
ctl_genkey(const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 }
	};
	uint8_t key[ND_KEY_LEN];
	char line[2 * ND_KEY_LEN + 2];
	const char *path = NULL;
	struct ctl_args a = { NULL };
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		if (ch == 'o')
			path = optarg;
		else if ((r = ctl_common_opt(cmd, ch, argv, &a)) != 0)
			return r;
	}
	if ((r = ctl_operands(cmd, argc, 0)) != CLIENT_OK)
		return r;
	if (crypto_random(key, sizeof(key)) == -1) {
		ctl_warnx("cannot draw random bytes for the key");
		return CLIENT_ERR_INTERNAL;
	}
	key_format_hex(key, line);
	crypto_wipe(key, sizeof(key));
	line[2 * ND_KEY_LEN] = '\n';
	line[2 * ND_KEY_LEN + 1] = '\0';
	r = emit(path, line, 2 * ND_KEY_LEN + 1);
	crypto_wipe(line, sizeof(line));
	return r;
}

const struct ctl_cmd ctl_genkey_cmds[] = {
	{ "genkey", ctl_genkey, "[-o FILE]" },
	{ NULL, NULL, NULL }
};
