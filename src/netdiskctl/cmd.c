/* SPDX-License-Identifier: ISC */
/* The command line of every netdiskctl subcommand (cmd.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "cmd.h"
#include "crypto.h"
#include "key.h"
#include "util.h"
#include "warn.h"

int
ctl_usage(const struct ctl_cmd *cmd)
{
	fprintf(stderr, "usage: %s %s %s\n", CTL_PROGNAME, cmd->name,
	    cmd->synopsis);
	return CLIENT_ERR_USAGE;
}

int
ctl_common_opt(const struct ctl_cmd *cmd, int ch, char **argv,
    struct ctl_args *a)
{
	switch (ch) {
	case 'k':
		a->keyfile = optarg;
		return 0;
	case CTL_OPT_SERVER_KEY:
		a->server_key = optarg;
		return 0;
	case 'h':
		printf("usage: %s %s %s\n", CTL_PROGNAME, cmd->name,
		    cmd->synopsis);
		exit(0);
	case ':':
		ctl_warnx("%s: option %s needs an argument", cmd->name,
		    argv[optind - 1]);
		break;
	default:
		if (optopt != 0)
			ctl_warnx("%s: unknown option -%c", cmd->name, optopt);
		else
			ctl_warnx("%s: unknown option %s", cmd->name,
			    argv[optind - 1]);
		break;
	}
	return ctl_usage(cmd);
}

int
ctl_operands(const struct ctl_cmd *cmd, int argc, int n)
{
	if (argc - optind == n)
		return CLIENT_OK;
	ctl_warnx("%s: %s operands", cmd->name,
	    argc - optind < n ? "missing" : "too many");
	return ctl_usage(cmd);
}

int
ctl_parse_size(const char *what, const char *s, uint64_t *out)
{
	if (parse_size(s, out) == 0)
		return 0;
	ctl_warnx("%s \"%s\" is not a size (use 512, 64K, 1M, 10G)", what, s);
	return -1;
}

int
ctl_parse_int(const char *what, const char *s, long min, long max,
    long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		ctl_warnx("%s \"%s\" is not a number from %ld to %ld", what, s,
		    min, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
ctl_load_server_key(const struct ctl_args *a, uint8_t pub[ND_KEY_LEN],
    const uint8_t **out)
{
	const char *s = a->server_key;
	char err[512];

	*out = NULL;
	if (s == NULL)
		s = getenv("NETDISK_SERVER_KEY");
	if (s == NULL || *s == '\0')
		return CLIENT_OK;
	if (key_load_public(s, pub, err, sizeof(err)) == -1) {
		ctl_warnx("%s", err);
		return CLIENT_ERR_USAGE;
	}
	*out = pub;
	return CLIENT_OK;
}

int
ctl_load_keys(const struct ctl_args *a, const char *const *uris, int n,
    struct ctl_keys *k)
{
	int i, r;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < n && !uri_needs_key(uris[i]); i++)
		;
	if (i == n)
		return CLIENT_OK;	/* nbd:// only: no key */
	if ((r = ctl_load_server_key(a, k->pub, &k->server_pub)) != CLIENT_OK)
		return r;
	return ctl_load_key(a, k->key);
}

int
ctl_load_key(const struct ctl_args *a, uint8_t key[ND_KEY_LEN])
{
	const char *path = a->keyfile;
	char err[512];

	if (path == NULL)
		path = getenv("NETDISK_KEYFILE");
	if (path == NULL || *path == '\0') {
		ctl_warnx("no key: use -k KEYFILE or set NETDISK_KEYFILE");
		return CLIENT_ERR_USAGE;
	}
	if (key_load_file(path, key, err, sizeof(err)) == -1) {
		crypto_wipe(key, ND_KEY_LEN);
		ctl_warnx("%s", err);
		return CLIENT_ERR_USAGE;
	}
	return CLIENT_OK;
}
