/*
 * netdiskctl: the subcommands and what they share (messages, option and
 * key handling, connecting, and the pipelined I/O engine of copy and
 * bench).
 */
#ifndef CTL_H
#define CTL_H

#include <getopt.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

struct ctl_cmd {
	const char *name;
	int (*run)(const struct ctl_cmd *, int, char **);
	const char *synopsis;		/* arguments after the name */
};

int ctl_genkey(const struct ctl_cmd *, int, char **);
int ctl_info(const struct ctl_cmd *, int, char **);
int ctl_read(const struct ctl_cmd *, int, char **);
int ctl_write(const struct ctl_cmd *, int, char **);
int ctl_trim(const struct ctl_cmd *, int, char **);
int ctl_zero(const struct ctl_cmd *, int, char **);
int ctl_flush(const struct ctl_cmd *, int, char **);
int ctl_copy(const struct ctl_cmd *, int, char **);
int ctl_bench(const struct ctl_cmd *, int, char **);
/* The kernel client's devices; $NETDISK_SYSFS replaces /sys (for tests). */
int ctl_attach(const struct ctl_cmd *, int, char **);
int ctl_detach(const struct ctl_cmd *, int, char **);
int ctl_list(const struct ctl_cmd *, int, char **);
int ctl_status(const struct ctl_cmd *, int, char **);
int ctl_reload(const struct ctl_cmd *, int, char **);
int ctl_restart(const struct ctl_cmd *, int, char **);

/* "netdiskctl: message" on stderr; ctl_warn appends strerror(errno). */
void ctl_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void ctl_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
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
/* "1.5 GiB"; buf of at least 32 bytes. */
const char *ctl_human(uint64_t bytes, char *buf, size_t len);
int64_t ctl_now_ns(void);
/* Writes all len bytes to fd (a file or pipe); 0 or -1 (errno). */
int ctl_write_all(int fd, const void *buf, size_t len);

/*
 * The key comes from the file named by -k or $NETDISK_KEYFILE, never
 * from the command line itself.  CLIENT_OK or an exit code (message
 * printed).  The caller wipes the key with crypto_wipe.
 */
int ctl_load_key(const struct ctl_args *, uint8_t key[ND_KEY_LEN]);

/*
 * Connects to a netdisk URI with this invocation's client id (one random
 * id per process, shared by all its connections).  CLIENT_OK or an exit
 * code, the message printed.
 */
int ctl_open(const char *uri, const uint8_t key[ND_KEY_LEN],
    uint32_t options, struct client *c);

/*
 * Reports a failed request: r is an enum nd_error from the server or -1
 * for a broken connection (errno says why).  Returns the exit code.
 */
int ctl_request_fail(const struct client *c, const char *cmd, uint64_t off,
    uint64_t len, int r);

/*
 * The pipelined I/O engine.  A pool holds qd slots, each a request and
 * its buffer; a slot's index is its handle on the wire, so a slot is in
 * flight on at most one connection at a time and the number of slots
 * bounds the requests in flight.  A pipe drives one connection with a
 * sender and a receiver thread (one thread alone can deadlock once both
 * sides' socket buffers are full of WRITE payloads and replies).  Replies
 * complete out of order: the pipe calls done(slot) from its receiver
 * thread, or from whichever thread notices a broken connection, with
 * slot->error set to an enum nd_error or CTL_ECONN.  done must not block
 * on the pool and must not resubmit a CTL_ECONN slot.
 */
#define CTL_ECONN	0xffffffffU

struct ctl_slot {
	unsigned idx;			/* the handle */
	uint16_t type, flags;
	uint64_t offset;
	uint32_t length;
	uint32_t error;
	uint8_t *buf;
	int64_t sent_ns;		/* CLOCK_MONOTONIC, set by the sender */
	struct ctl_slot *next;
};

struct ctl_pool {
	struct ctl_slot *slots;
	unsigned n;
	sem_t avail;
	pthread_mutex_t lock;
	struct ctl_slot *free;
};

int ctl_pool_init(struct ctl_pool *, unsigned n, size_t bufsize);
void ctl_pool_free(struct ctl_pool *);
struct ctl_slot *ctl_pool_get(struct ctl_pool *);	/* blocks */
void ctl_pool_put(struct ctl_pool *, struct ctl_slot *);
void ctl_pool_drain(struct ctl_pool *);	/* waits until all are back */

struct ctl_pipe;
typedef void ctl_done_fn(struct ctl_pipe *, struct ctl_slot *, void *);

struct ctl_pipe {
	struct client *c;
	struct ctl_pool *pool;
	ctl_done_fn *done;
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t tx, rx;
	struct ctl_slot *qhead, *qtail;	/* waiting to be sent */
	uint8_t *inflight;		/* by handle: idle, being sent, in flight */
	unsigned ninflight;
	int closing, failed, err;	/* err: errno of the failure */
};

int ctl_pipe_start(struct ctl_pipe *, struct client *, struct ctl_pool *,
    ctl_done_fn *, void *arg);
void ctl_pipe_submit(struct ctl_pipe *, struct ctl_slot *);
/* Call once every slot is back in the pool; joins the threads. */
void ctl_pipe_stop(struct ctl_pipe *);

#endif
