/*
 * An export's backing store (a regular file or a block device), its
 * identity, the I/O the requests need, and who may use it: the exclusive
 * claim of a read-write export and the client count for max_clients.
 *
 * Exports are reference counted: the server's export table holds one
 * reference, every session another.  A reload that changes or removes an
 * export retires the old object; sessions keep using it until they close.
 *
 * The claims also keep the connection slots of the sessions, for fencing
 * (docs/protocol.md, section 10.5).
 */
#ifndef EXPORT_H
#define EXPORT_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "health.h"
#include "netdisk_proto.h"

/* At most burst lines per interval seconds, then one summary line. */
struct ratelim {
	pthread_mutex_t lock;
	int64_t start;			/* monotonic seconds */
	unsigned count, suppressed;
	unsigned burst;
	int interval;
};

void ratelim_init(struct ratelim *, unsigned burst, int interval);
void ratelim_destroy(struct ratelim *);
/*
 * 1 if the caller may log one more line.  First logs "N more WHAT
 * suppressed" if an earlier window ended with lines suppressed.
 */
int ratelim_pass(struct ratelim *, const char *what);
/* Logs a pending summary whose window has ended; ms until the next one is due, or -1. */
int ratelim_flush(struct ratelim *, const char *what);

struct export_claims;

/* What the export served since it was opened (counted by the sessions). */
struct export_stats {
	atomic_uint_fast64_t read_requests, read_bytes;
	atomic_uint_fast64_t write_requests, write_bytes;
	atomic_uint_fast64_t errors;
};

struct export {
	struct conf_export conf;	/* own copy; entry unused */
	uint8_t key[ND_KEY_LEN];	/* the export's key, else the global one */
	uint64_t size;
	uint32_t flags;			/* ND_FLAG_* */
	uint8_t id[ND_EXPORT_ID_LEN];
	atomic_int retired;		/* changed or removed by a reload */
	const char *retired_why;	/* "reconfigured", "removed", "restarted" */
	time_t opened;			/* wall clock */
	struct export_stats stats;

	/* Internal to export.c. */
	atomic_int refs;
	int fd;
	int blockdev;
	atomic_int no_zero_range, no_punch_hole, no_rwf_dsync, no_rwf_nowait;
	struct export_claims *claims;
	struct health *health;		/* shared with the exports it replaces */
	struct ratelim errlog;
	char errwhat[ND_NAME_MAX + 48];
};

/*
 * Open (creating or growing a file as configured) the backing store of
 * ce.  key is the global key, used if ce has none (NULL: none).  prev, if
 * not NULL, is the export this one replaces at a reload: both share their
 * claims.  NULL on failure with err naming the export and its path.
 */
struct export *export_open(const struct conf_export *ce, const uint8_t *key,
    struct export *prev, char *err, size_t errlen);
struct export *export_ref(struct export *);
void export_put(struct export *);	/* the last one syncs and closes */

/*
 * I/O; each returns ND_OK or the enum nd_error to reply with.
 *
 * A write, trim or sync error fails the export (health.h): that request
 * and every later FLUSH, FUA WRITE and FUA WRITE_ZEROES get ND_EIO until
 * export_clear_failure.  ENOSPC or EDQUOT from a write (space ran out
 * before the data was taken) fails only that request, with ND_ENOSPC.
 */
uint32_t export_read(struct export *, void *buf, uint32_t len, uint64_t off);
/* 1 if all of it was read from the page cache, 0 if reading would block. */
int export_read_cached(struct export *, void *buf, uint32_t len,
    uint64_t off);
uint32_t export_write(struct export *, const void *buf, uint32_t len,
    uint64_t off, int fua);
uint32_t export_flush(struct export *);
uint32_t export_trim(struct export *, uint64_t off, uint32_t len);
uint32_t export_zero(struct export *, uint64_t off, uint32_t len, int fua);

/* Whether and why the export failed (state->error 0: it did not). */
void export_failure(struct export *, struct health_state *state);
/* After a restart reopened the store: healthy again. */
void export_clear_failure(struct export *);

/*
 * Count an answered request in the export's stats: READ in read, WRITE
 * and WRITE_ZEROES in written, any error reply in errors.
 */
void export_account(struct export *, uint16_t type, uint32_t len,
    uint32_t error);

/*
 * Claim the export for client id: ND_HS_OK, ND_HS_BUSY (a read-write
 * claim held by another client id, copied to holder), or ND_HS_TOO_MANY
 * (max_clients distinct client ids).  shared: a read-only use, which
 * does not take the exclusive claim.  Release with the same arguments.
 */
uint32_t export_claim(struct export *, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared, uint8_t holder[ND_CLIENT_ID_LEN]);
void export_release(struct export *, const uint8_t id[ND_CLIENT_ID_LEN],
    int shared);

/*
 * A session's connection slot, (client id, conn).  The session fills in
 * id, conn and two functions that export.c calls with the claims locked:
 * fence makes the session start no more requests and shuts its
 * connection down; drained is 1 once none of its requests is executing.
 */
struct export_slot {
	uint8_t id[ND_CLIENT_ID_LEN];
	uint16_t conn;
	void (*fence)(struct export_slot *);
	int (*drained)(struct export_slot *);
	/* Internal to export.c. */
	LIST_ENTRY(export_slot) entry;
	uint64_t gen;			/* order of entry */
	int superseded;			/* fenced by a newer session */
};

/*
 * Take slot: fence every older session of the same (id, conn), on this
 * export or on those it replaced or was replaced by, and wait up to
 * wait_ms until they have drained.  ND_HS_OK with the slot taken (give
 * it back with export_slot_leave), or ND_HS_RETRY without: they did not
 * drain in time, or a newer session of the slot came meanwhile.
 */
uint32_t export_slot_enter(struct export *, struct export_slot *,
    int wait_ms);
void export_slot_leave(struct export *, struct export_slot *);
/* A fenced session has drained: wakes export_slot_enter. */
void export_slot_drained(struct export *);

#endif
