/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl info, read, write, trim, zero and flush: one connection,
 * one request at a time, large ranges split into chunks the export takes.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "cmd.h"
#include "connect.h"
#include "crypto.h"
#include "io.h"
#include "output.h"
#include "util.h"
#include "warn.h"

#define IO_ALLOW_JSON	0x1
#define IO_ALLOW_FUA	0x2
/* TRIM and WRITE_ZEROES chunks: large, aligned, within 32 bits. */
#define IO_SIMPLE_CHUNK	(1U << 30)

struct io_cmd {
	const struct ctl_cmd *cmd;
	struct ctl_args args;
	int json, fua, fua_by_flush;
	char **ops;		/* the operands, URI first */
	struct client c;
};

static int
io_opt(struct io_cmd *io, int ch, int allow, char **argv)
{
	if (ch == 'j' && (allow & IO_ALLOW_JSON))
		io->json = 1;
	else if (ch == 'f' && (allow & IO_ALLOW_FUA))
		io->fua = 1;
	else if (ch == 'j' || ch == 'f') {
		ctl_warnx("%s: unknown option %s", io->cmd->name,
		    argv[optind - 1]);
		return ctl_usage(io->cmd);
	} else
		return ctl_common_opt(io->cmd, ch, argv, &io->args);
	return CLIENT_OK;
}

static int
io_parse(const struct ctl_cmd *cmd, struct io_cmd *io, int argc,
    char **argv, int nops, int allow)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS, CTL_SERVER_KEY_LONGOPT,
		{ "json", no_argument, NULL, 'j' },
		{ "fua", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, r;

	memset(io, 0, sizeof(*io));
	io->cmd = cmd;
	io->c.fd = -1;
	while ((ch = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS, longopts,
	    NULL)) != -1)
		if ((r = io_opt(io, ch, allow, argv)) != CLIENT_OK)
			return r;
	if ((r = ctl_operands(cmd, argc, nops)) != CLIENT_OK)
		return r;
	io->ops = argv + optind;
	return CLIENT_OK;
}

/* Connects; the key is wiped as soon as the handshake is over. */
static int
io_open(struct io_cmd *io, uint32_t options)
{
	struct ctl_keys keys;
	int r;

	if ((r = ctl_load_keys(&io->args, (const char *const *)io->ops, 1,
	    &keys)) == CLIENT_OK)
		r = ctl_open(io->ops[0], &keys, options, &io->c);
	crypto_wipe(&keys, sizeof(keys));
	return r;
}

static int
io_done(struct io_cmd *io, int r)
{
	client_close(&io->c);
	return r;
}

static int
check_aligned(const struct client *c, const char *what, uint64_t v)
{
	if (v % c->info.min_block == 0)
		return CLIENT_OK;
	ctl_warnx("%s: %s %" PRIu64 " is not aligned to block size %u",
	    c->peer, what, v, c->info.min_block);
	return CLIENT_ERR_RANGE;
}

static int
check_range(const struct client *c, const char *cmd, uint64_t off,
    uint64_t len)
{
	if (off <= c->info.size && len <= c->info.size - off)
		return CLIENT_OK;
	ctl_warnx("%s: %s offset %" PRIu64 " length %" PRIu64 ": out of "
	    "range (export size %" PRIu64 ")", c->peer, cmd, off, len,
	    c->info.size);
	return CLIENT_ERR_RANGE;
}

static int
check_writable(const struct client *c)
{
	if (!(c->info.flags & ND_FLAG_READ_ONLY))
		return CLIENT_OK;
	ctl_warnx("%s: export is read-only", c->peer);
	return CLIENT_ERR_READONLY;
}

/* The largest READ/WRITE length the export takes, in whole blocks. */
static uint32_t
chunk_len(const struct client *c)
{
	return c->info.max_payload - c->info.max_payload % c->info.min_block;
}

/* info */

static const struct {
	uint32_t flag;
	const char *name;
} info_flags[] = {
	{ ND_FLAG_FLUSH, "flush" }, { ND_FLAG_FUA, "fua" },
	{ ND_FLAG_TRIM, "trim" }, { ND_FLAG_WRITE_ZEROES, "write_zeroes" },
	{ ND_FLAG_MULTI_CONN, "multi_conn" },
};
#define NINFO_FLAGS	(sizeof(info_flags) / sizeof(info_flags[0]))

static void
info_json(const char *name, const struct hs_export_info *i)
{
	size_t k;

	printf("{\"export\":");
	json_string(stdout, name);
	printf(",\"size\":%" PRIu64 ",\"readonly\":%s,\"block_size\":%u,"
	    "\"preferred_block_size\":%u,\"max_payload\":%u", i->size,
	    (i->flags & ND_FLAG_READ_ONLY) ? "true" : "false", i->min_block,
	    i->pref_block, i->max_payload);
	for (k = 0; k < NINFO_FLAGS; k++)
		printf(",\"%s\":%s", info_flags[k].name,
		    (i->flags & info_flags[k].flag) ? "true" : "false");
	printf("}\n");
}

static void
info_text(const char *name, const struct hs_export_info *i)
{
	char human[32];
	size_t k;
	int any = 0;

	printf("export: %s\n", name);
	printf("size: %" PRIu64 " (%s)\n", i->size,
	    ctl_human(i->size, human, sizeof(human)));
	printf("readonly: %s\n", (i->flags & ND_FLAG_READ_ONLY) ? "yes" : "no");
	printf("block_size: %u\n", i->min_block);
	printf("preferred_block_size: %u\n", i->pref_block);
	printf("max_payload: %u\n", i->max_payload);
	printf("flags:");
	for (k = 0; k < NINFO_FLAGS; k++) {
		if (i->flags & info_flags[k].flag) {
			printf(" %s", info_flags[k].name);
			any = 1;
		}
	}
	printf("%s\n", any ? "" : " none");
}

static int
ctl_info(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct io_cmd io;
	struct nd_uri u;
	int r;

	if ((r = io_parse(cmd, &io, argc, argv, 1, IO_ALLOW_JSON)) != 0)
		return r;
	if ((r = io_open(&io, 0)) != CLIENT_OK)
		return r;
	uri_parse(io.ops[0], &u);
	if (io.json)
		info_json(u.export, &io.c.info);
	else
		info_text(u.export, &io.c.info);
	if (fflush(stdout) == EOF) {
		ctl_warn("stdout");
		r = CLIENT_ERR_IO;
	}
	return io_done(&io, r);
}

/* read */

/* Copies the part of [pos, pos+n) that lies in [off, end) to stdout. */
static int
read_slice(const uint8_t *buf, uint64_t pos, uint32_t n, uint64_t off,
    uint64_t end)
{
	uint64_t from = pos < off ? off : pos;
	uint64_t to = pos + n > end ? end : pos + n;

	if (to <= from)
		return 0;
	if (ctl_write_all(STDOUT_FILENO, buf + (from - pos),
	    to - from) == -1) {
		ctl_warn("stdout");
		return CLIENT_ERR_IO;
	}
	return 0;
}

static int
read_range(struct client *c, uint64_t off, uint64_t len)
{
	uint64_t bs = c->info.min_block, end = off + len;
	uint64_t pos = off - off % bs, aend = (end + bs - 1) / bs * bs;
	uint32_t chunk = chunk_len(c), n;
	uint8_t *buf;
	int r = CLIENT_OK;

	if ((buf = malloc(chunk)) == NULL) {
		ctl_warn("read buffer");
		return CLIENT_ERR_INTERNAL;
	}
	for (; pos < aend && r == CLIENT_OK; pos += n) {
		n = aend - pos < chunk ? (uint32_t)(aend - pos) : chunk;
		if ((r = client_read(c, pos, n, buf)) != 0)
			r = ctl_request_fail(c, "read", pos, n, r);
		else
			r = read_slice(buf, pos, n, off, end);
	}
	free(buf);
	return r;
}

static int
ctl_read(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct io_cmd io;
	uint64_t off, len;
	int r;

	if ((r = io_parse(cmd, &io, argc, argv, 3, 0)) != CLIENT_OK)
		return r;
	if (ctl_parse_size("OFFSET", io.ops[1], &off) == -1 ||
	    ctl_parse_size("LENGTH", io.ops[2], &len) == -1)
		return CLIENT_ERR_USAGE;
	if ((r = io_open(&io, ND_OPT_READ_ONLY)) != CLIENT_OK)
		return r;
	if ((r = check_range(&io.c, "read", off, len)) == CLIENT_OK)
		r = read_range(&io.c, off, len);
	return io_done(&io, r);
}

/* An export that does not announce FLUSH has nothing to flush. */
static int
flush_export(struct client *c)
{
	int r;

	if (!(c->info.flags & ND_FLAG_FLUSH))
		return CLIENT_OK;
	if ((r = client_simple(c, ND_CMD_FLUSH, 0, 0, 0)) != 0)
		return ctl_request_fail(c, "flush", 0, 0, r);
	return CLIENT_OK;
}

/* write */

/* Fills buf from stdin; the byte count, short only at EOF; -1 on error. */
static ssize_t
read_in(uint8_t *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = read(STDIN_FILENO, buf + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* When stdin is a regular file, its size is known before anything is sent. */
static int
write_precheck(const struct client *c, uint64_t off)
{
	struct stat st;
	off_t pos;
	uint64_t len;

	if (fstat(STDIN_FILENO, &st) == -1 || !S_ISREG(st.st_mode))
		return CLIENT_OK;
	pos = lseek(STDIN_FILENO, 0, SEEK_CUR);
	if (pos == -1 || pos > st.st_size)
		return CLIENT_OK;
	len = (uint64_t)(st.st_size - pos);
	if (len % c->info.min_block != 0) {
		ctl_warnx("%s: input length %" PRIu64 " is not a multiple of "
		    "the block size %u", c->peer, len, c->info.min_block);
		return CLIENT_ERR_RANGE;
	}
	return check_range(c, "write", off, len);
}

static int
write_tail_error(const struct client *c, uint64_t total, uint64_t done)
{
	if (done == 0)
		ctl_warnx("%s: input length %" PRIu64 " is not a multiple of "
		    "the block size %u", c->peer, total, c->info.min_block);
	else
		ctl_warnx("%s: input length %" PRIu64 " is not a multiple of "
		    "the block size %u (the first %" PRIu64 " bytes were "
		    "written)", c->peer, total, c->info.min_block, done);
	return CLIENT_ERR_RANGE;
}

/* One chunk from stdin; *n is 0 at EOF. */
static int
write_chunk(struct io_cmd *io, uint8_t *buf, uint64_t pos, uint64_t done,
    size_t *n)
{
	struct client *c = &io->c;
	ssize_t got;
	int r;

	if ((got = read_in(buf, chunk_len(c))) == -1) {
		ctl_warn("stdin");
		return CLIENT_ERR_IO;
	}
	*n = (size_t)got;
	if (got == 0)
		return CLIENT_OK;
	if (*n % c->info.min_block != 0)
		return write_tail_error(c, done + *n, done);
	if ((r = check_range(c, "write", pos, *n)) != CLIENT_OK)
		return r;
	r = client_write(c, pos, (uint32_t)*n, buf, io->fua);
	if (r != 0)
		return ctl_request_fail(c, "write", pos, *n, r);
	return CLIENT_OK;
}

static int
write_stream(struct io_cmd *io, uint64_t off)
{
	uint64_t done = 0;
	uint8_t *buf;
	size_t n = 1;
	int r = CLIENT_OK;

	if ((buf = malloc(chunk_len(&io->c))) == NULL) {
		ctl_warn("write buffer");
		return CLIENT_ERR_INTERNAL;
	}
	while (r == CLIENT_OK && n > 0) {
		r = write_chunk(io, buf, off + done, done, &n);
		done += n;
	}
	free(buf);
	return r;
}

static int
ctl_write(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct io_cmd io;
	uint64_t off;
	int r;

	if ((r = io_parse(cmd, &io, argc, argv, 2, IO_ALLOW_FUA)) != 0)
		return r;
	if (ctl_parse_size("OFFSET", io.ops[1], &off) == -1)
		return CLIENT_ERR_USAGE;
	if ((r = io_open(&io, 0)) != CLIENT_OK)
		return r;
	/* Without FUA, a FLUSH after the last WRITE gives the same promise. */
	if (io.fua && !(io.c.info.flags & ND_FLAG_FUA)) {
		io.fua = 0;
		io.fua_by_flush = 1;
	}
	if ((r = check_writable(&io.c)) == CLIENT_OK &&
	    (r = check_aligned(&io.c, "offset", off)) == CLIENT_OK &&
	    (r = write_precheck(&io.c, off)) == CLIENT_OK)
		r = write_stream(&io, off);
	if (r == CLIENT_OK && io.fua_by_flush)
		r = flush_export(&io.c);
	return io_done(&io, r);
}

/* trim, zero */

/* WRITE_ZEROES for an export without it: plain WRITEs of zeros. */
static int
zero_by_writes(struct client *c, uint64_t off, uint64_t len)
{
	uint32_t chunk = chunk_len(c), n;
	uint8_t *buf;
	int r = CLIENT_OK;

	if ((buf = calloc(1, chunk)) == NULL) {
		ctl_warn("zero buffer");
		return CLIENT_ERR_INTERNAL;
	}
	for (; len > 0 && r == CLIENT_OK; off += n, len -= n) {
		n = len < chunk ? (uint32_t)len : chunk;
		if ((r = client_write(c, off, n, buf, 0)) != 0)
			r = ctl_request_fail(c, "write", off, n, r);
	}
	free(buf);
	return r;
}

static int
simple_range(struct client *c, uint16_t type, uint64_t off, uint64_t len)
{
	const char *name = type == ND_CMD_TRIM ? "trim" : "zero";
	uint32_t chunk = IO_SIMPLE_CHUNK - IO_SIMPLE_CHUNK % c->info.min_block;
	uint32_t n;
	int r;

	for (; len > 0; off += n, len -= n) {
		n = len < chunk ? (uint32_t)len : chunk;
		if ((r = client_simple(c, type, 0, off, n)) != 0)
			return ctl_request_fail(c, name, off, n, r);
	}
	return CLIENT_OK;
}

static int
simple_checks(struct client *c, const char *name, uint64_t off,
    uint64_t len)
{
	int r;

	if ((r = check_writable(c)) != CLIENT_OK ||
	    (r = check_aligned(c, "offset", off)) != CLIENT_OK ||
	    (r = check_aligned(c, "length", len)) != CLIENT_OK)
		return r;
	return check_range(c, name, off, len);
}

static int
simple_cmd(const struct ctl_cmd *cmd, int argc, char **argv, uint16_t type)
{
	const char *name = type == ND_CMD_TRIM ? "trim" : "zero";
	struct io_cmd io;
	uint64_t off, len;
	uint32_t flags;
	int r;

	if ((r = io_parse(cmd, &io, argc, argv, 3, 0)) != CLIENT_OK)
		return r;
	if (ctl_parse_size("OFFSET", io.ops[1], &off) == -1 ||
	    ctl_parse_size("LENGTH", io.ops[2], &len) == -1)
		return CLIENT_ERR_USAGE;
	if ((r = io_open(&io, 0)) != CLIENT_OK)
		return r;
	if ((r = simple_checks(&io.c, name, off, len)) != CLIENT_OK)
		return io_done(&io, r);
	flags = io.c.info.flags;
	if (type == ND_CMD_TRIM && !(flags & ND_FLAG_TRIM)) {
		ctl_warnx("%s: export does not support trim", io.c.peer);
		r = CLIENT_ERR_IO;
	} else if (type == ND_CMD_WRITE_ZEROES &&
	    !(flags & ND_FLAG_WRITE_ZEROES))
		r = zero_by_writes(&io.c, off, len);
	else
		r = simple_range(&io.c, type, off, len);
	return io_done(&io, r);
}

static int
ctl_trim(const struct ctl_cmd *cmd, int argc, char **argv)
{
	return simple_cmd(cmd, argc, argv, ND_CMD_TRIM);
}

static int
ctl_zero(const struct ctl_cmd *cmd, int argc, char **argv)
{
	return simple_cmd(cmd, argc, argv, ND_CMD_WRITE_ZEROES);
}

/* flush */

static int
ctl_flush(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct io_cmd io;
	int r;

	if ((r = io_parse(cmd, &io, argc, argv, 1, 0)) != CLIENT_OK)
		return r;
	if ((r = io_open(&io, 0)) != CLIENT_OK)
		return r;
	return io_done(&io, flush_export(&io.c));
}

/* --server-key: the server's public key (protocol version 3). */
#define IO_KEYS	"[-k KEYFILE] [--server-key KEY] "

const struct ctl_cmd ctl_io_cmds[] = {
	{ "info", ctl_info, IO_KEYS "[--json] URI" },
	{ "read", ctl_read, IO_KEYS "URI OFFSET LENGTH" },
	{ "write", ctl_write, IO_KEYS "[--fua] URI OFFSET" },
	{ "trim", ctl_trim, IO_KEYS "URI OFFSET LENGTH" },
	{ "zero", ctl_zero, IO_KEYS "URI OFFSET LENGTH" },
	{ "flush", ctl_flush, IO_KEYS "URI" },
	{ NULL, NULL, NULL }
};
