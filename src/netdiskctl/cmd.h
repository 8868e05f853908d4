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
/* --server-key HEX|FILE, for the subcommands that connect. */
#define CTL_OPT_SERVER_KEY	0x100
#define CTL_SERVER_KEY_LONGOPT \
	{ "server-key", required_argument, NULL, CTL_OPT_SERVER_KEY }
struct ctl_args {
	const char *keyfile;
	const char *server_key;		/* --server-key; NULL: none */
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
/*
 * The server's public key from --server-key or $NETDISK_SERVER_KEY (64
 * hex digits, or a file holding them): *out is pub, or NULL if neither
 * is set (then the client speaks protocol version 2).  CLIENT_OK or an
 * exit code (message printed).
 */
int ctl_load_server_key(const struct ctl_args *, uint8_t pub[ND_KEY_LEN],
    const uint8_t **out);

/* What a connection authenticates with: the PSK, the server's key. */
struct ctl_keys {
	uint8_t key[ND_KEY_LEN];
	uint8_t pub[ND_KEY_LEN];
	const uint8_t *server_pub;	/* pub, or NULL: version 2 */
};
/*
 * Both of the above, if one of the n URIs is a netdisk:// one (NBD needs
 * no key); the caller wipes k with crypto_wipe.
 */
int ctl_load_keys(const struct ctl_args *, const char *const *uris, int n,
    struct ctl_keys *k);

#endif
