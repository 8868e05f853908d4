/*
 * netdiskctl: the netdisk command-line client.  main() only picks the
 * subcommand; each lives in its own ctl_*.c file.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "conf.h"
#include "ctl.h"
#include "tab.h"

static const struct ctl_cmd cmds[] = {
	{ "genkey", ctl_genkey, "[-o FILE]" },
	{ "info", ctl_info, "[-k KEYFILE] [--json] URI" },
	{ "read", ctl_read, "[-k KEYFILE] URI OFFSET LENGTH" },
	{ "write", ctl_write, "[-k KEYFILE] [--fua] URI OFFSET" },
	{ "trim", ctl_trim, "[-k KEYFILE] URI OFFSET LENGTH" },
	{ "zero", ctl_zero, "[-k KEYFILE] URI OFFSET LENGTH" },
	{ "flush", ctl_flush, "[-k KEYFILE] URI" },
	{ "copy", ctl_copy, "[-k KEYFILE] [--qd N] [--bs SIZE] "
	    "[--progress | --no-progress] SRC DST" },
	{ "bench", ctl_bench, "[-k KEYFILE] [--rw MODE] [--bs SIZE] "
	    "[--qd N] [--conns N] [--time SECONDS] [--json] "
	    "[--destructive] URI" },
	/* attach and detach have more forms, one a line. */
	{ "attach", ctl_attach, "[-k KEYFILE] [--conns N] [--ro] "
	    "[--dead-timeout SECONDS] URI\n"
	    "       netdiskctl attach -a [-t TABFILE]\n"
	    "       netdiskctl attach [-t TABFILE] NAME" },
	{ "detach", ctl_detach, "DEVICE\n"
	    "       netdiskctl detach -a [-t TABFILE]" },
	{ "list", ctl_list, "[--json]" },
	{ "status", ctl_status, "[-s SOCKET] [--json]" },
	{ "reload", ctl_reload, "[-s SOCKET]" },
	{ "restart", ctl_restart, "[-s SOCKET] EXPORT" },
};
#define NCMDS	(sizeof(cmds) / sizeof(cmds[0]))

static int
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: netdiskctl COMMAND [ARGS]\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "       netdiskctl %s %s\n", cmds[i].name,
		    cmds[i].synopsis);
	fprintf(f, "       netdiskctl -h | --help\n");
	fprintf(f, "URI: netdisk://HOST[:PORT]/EXPORT; the key is read from "
	    "-k KEYFILE or $NETDISK_KEYFILE\n");
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
	size_t i;

	signal(SIGPIPE, SIG_IGN);	/* a dead peer is an error, not a signal */
	if (argc < 2)
		return usage(stderr);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0)
		return usage(stdout);
	for (i = 0; i < NCMDS; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(&cmds[i], argc - 1, argv + 1);
	ctl_warnx("unknown command \"%s\"", argv[1]);
	return usage(stderr);
}
