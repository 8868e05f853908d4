/* SPDX-License-Identifier: ISC */
/*
 * What every netdiskctl subcommand's command line shares: its table
 * entry, the usage line, the options all of them take, the operand count,
 * option values, and the key named by -k.
 */
#ifndef CTL_CMD_H
#define CTL_CMD_H

#include <getopt.h>
#include <stdint.h>

#include "netdisk_proto.h"

/*
 * A subcommand: run gets argc and argv from the subcommand's name on.  A
 * family of them (attach.h, io.h ...) is a table ended by a NULL name.
 */
struct ctl_cmd {
	const char *name;
	int (*run)(const struct ctl_cmd *, int, char **);
	const char *synopsis;		/* arguments after the name */
};

/* Prints the command's usage line to stderr; returns CLIENT_ERR_USAGE. */
int ctl_usage(const struct ctl_cmd *);

/*
 * Options every subcommand takes: -k KEYFILE and -h/--help.  Start the
 * short options with CTL_COMMON_SHORTOPTS, put CTL_COMMON_LONGOPTS in the
 * long option table, and hand every option character the subcommand does
 * not know to ctl_common_opt: 0 if it took the option, CLIENT_ERR_USAGE
 * (message printed) if not.  --help prints the synopsis and exits 0.
 */
#define CTL_COMMON_SHORTOPTS	":hk:"
#define CTL_COMMON_LONGOPTS	{ "help", no_argument, NULL, 'h' }
struct ctl_args {
	const char *keyfile;
};
int ctl_common_opt(const struct ctl_cmd *, int ch, char **argv,
    struct ctl_args *);
/* Checks that exactly n operands remain after getopt. */
int ctl_operands(const struct ctl_cmd *, int argc, int n);

/* Parsers that name the bad value in their message; 0 or -1. */
int ctl_parse_size(const char *what, const char *s, uint64_t *out);
int ctl_parse_int(const char *what, const char *s, long min, long max,
    long *out);

/*
 * The key comes from the file named by -k or $NETDISK_KEYFILE, never
 * from the command line itself.  CLIENT_OK or an exit code (message
 * printed).  The caller wipes the key with crypto_wipe.
 */
int ctl_load_key(const struct ctl_args *, uint8_t key[ND_KEY_LEN]);

#endif
