/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl: the netdisk command-line client.  main() only picks the
 * subcommand; each family of them has its own file (attach.c, io.c ...).
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "attach.h"
#include "bench.h"
#include "client.h"
#include "cmd.h"
#include "conf.h"
#include "copy.h"
#include "genkey.h"
#include "io.h"
#include "overlay.h"
#include "service.h"
#include "tab.h"
#include "warn.h"

/* The command families, in the order of the usage message. */
static const struct ctl_cmd *const families[] = {
	ctl_genkey_cmds, ctl_io_cmds, ctl_copy_cmds, ctl_bench_cmds,
	ctl_attach_cmds, ctl_service_cmds, ctl_overlay_cmds,
};
#define NFAMILIES	(sizeof(families) / sizeof(families[0]))

static int
usage(FILE *f)
{
	const struct ctl_cmd *c;
	size_t i;

	fprintf(f, "usage: netdiskctl COMMAND [ARGS]\n");
	for (i = 0; i < NFAMILIES; i++)
		for (c = families[i]; c->name != NULL; c++)
			fprintf(f, "       netdiskctl %s %s\n", c->name,
			    c->synopsis);
	fprintf(f, "       netdiskctl -h | --help\n");
	fprintf(f, "URI: netdisk://HOST[:PORT]/EXPORT; the key is read from "
	    "-k KEYFILE or $NETDISK_KEYFILE\n");
	fprintf(f, "     or nbd://HOST[:PORT]/EXPORT (NBD, no key) for info, "
	    "read, write, flush, trim,\n     zero, copy and bench; "
	    "nbds://[IDENTITY@]HOST[:PORT]/EXPORT?tls-psk-file=FILE\n"
	    "     or ?tls-certificates=DIR for NBD over TLS\n");
	fprintf(f, "DEVICE: /dev/netdiskN, netdiskN or N (the kernel client's "
	    "devices)\n");
	fprintf(f, "SOCKET: netdiskd's control socket (default %s)\n",
	    CONF_CONTROL_SOCKET);
	fprintf(f, "NAME: an entry of TABFILE (default %s)\n", TAB_DEFAULT_PATH);
	return f == stdout ? CLIENT_OK : CLIENT_ERR_USAGE;
}

int
main(int argc, char *argv[])
{
	const struct ctl_cmd *c;
	size_t i;

	signal(SIGPIPE, SIG_IGN);	/* a dead peer is an error, not a signal */
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	for (i = 0; i < NFAMILIES; i++)
		for (c = families[i]; c->name != NULL; c++)
			if (strcmp(argv[1], c->name) == 0)
				return c->run(c, argc - 1, argv + 1);
	ctl_warnx("unknown command \"%s\"", argv[1]);
	return usage(stderr);
}
