/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl genkey: a fresh 256-bit key as 64 hex digits; with --server
 * the server's static X25519 key of protocol version 3, whose public key
 * it prints.  netdiskctl pubkey: the public key of such a key file.
 */
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

/* Prints the X25519 public key of the private key priv. */
static int
print_public(const uint8_t priv[ND_KEY_LEN])
{
	uint8_t pub[ND_KEY_LEN];
	char line[2 * ND_KEY_LEN + 2];

	if (crypto_x25519_public(pub, priv) == -1) {
		ctl_warnx("cannot compute the public key");
		return CLIENT_ERR_INTERNAL;
	}
	key_format_hex(pub, line);
	line[2 * ND_KEY_LEN] = '\n';
	line[2 * ND_KEY_LEN + 1] = '\0';
	return emit(NULL, line, 2 * ND_KEY_LEN + 1);
}

/* A new key to path (stdout if NULL); with server, its public key after. */
static int
genkey(const char *path, int server)
{
	uint8_t key[ND_KEY_LEN];
	char line[2 * ND_KEY_LEN + 2];
	int r;

	if (crypto_random(key, sizeof(key)) == -1) {
		ctl_warnx("cannot draw random bytes for the key");
		return CLIENT_ERR_INTERNAL;
	}
	key_format_hex(key, line);
	line[2 * ND_KEY_LEN] = '\n';
	line[2 * ND_KEY_LEN + 1] = '\0';
	r = emit(path, line, 2 * ND_KEY_LEN + 1);
	crypto_wipe(line, sizeof(line));
	if (r == CLIENT_OK && server)
		r = print_public(key);
	crypto_wipe(key, sizeof(key));
	return r;
}

static int
ctl_genkey(const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS, { "server", no_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	const char *path = NULL;
	struct ctl_args a = { NULL };
	int ch, r, server = 0;

	while ((ch = getopt_long(argc, argv, ":ho:", longopts, NULL)) != -1) {
		if (ch == 'o')
			path = optarg;
		else if (ch == 's')
			server = 1;
		else if ((r = ctl_common_opt(cmd, ch, argv, &a)) != 0)
			return r;
	}
	if ((r = ctl_operands(cmd, argc, 0)) != CLIENT_OK)
		return r;
	if (server && path == NULL) {
		ctl_warnx("genkey --server: name the private key's file with "
		    "-o FILE (the public key goes to stdout)");
		return ctl_usage(cmd);
	}
	return genkey(path, server);
}

static int
ctl_pubkey(const struct ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 }
	};
	uint8_t key[ND_KEY_LEN];
	struct ctl_args a = { NULL };
	char err[512];
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
		if ((r = ctl_common_opt(cmd, ch, argv, &a)) != 0)
			return r;
	if ((r = ctl_operands(cmd, argc, 1)) != CLIENT_OK)
		return r;
	if (key_load_file(argv[optind], key, err, sizeof(err)) == -1) {
		ctl_warnx("%s", err);
		return CLIENT_ERR_USAGE;
	}
	r = print_public(key);
	crypto_wipe(key, sizeof(key));
	return r;
}

const struct ctl_cmd ctl_genkey_cmds[] = {
	{ "genkey", ctl_genkey, "[--server] [-o FILE]" },
	{ "pubkey", ctl_pubkey, "FILE" },
	{ NULL, NULL, NULL }
};
