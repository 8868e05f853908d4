/* SPDX-License-Identifier: ISC */
/*
 * The administration of overlay exports over the control socket
 * (netdiskctl overlay; docs/overlay.md, "Administration"): list an
 * export's overlay files, reset (remove) one identity's overlay, prune
 * those not seen for some days, and commit the base plus one identity's
 * overlay to a new image file.
 *
 * Each request runs on a thread of its own, which answers on its own
 * copy of the control connection and closes it: the server's poll loop
 * never waits for an overlay file, a client to leave or a copy of many
 * gigabytes.  At most OVADM_MAX run at once.
 */
#ifndef OVERLAY_ADMIN_H
#define OVERLAY_ADMIN_H

#include <stdint.h>

#include "control_proto.h"

#define OVADM_MAX		4	/* requests at once */
#define OVADM_KICK_MS		10000	/* a forced reset's sessions end */
#define OVADM_SEND_TIMEOUT	10	/* seconds per write of an answer */
#define OVADM_PROGRESS_MS	(CONTROL_PROGRESS_S * 1000)

struct export_table;
struct session;
struct ovadm;

/* What the server lends: its table and its sessions. */
struct ovadm_host_ops {
	/* A reference to the current export table (exports_put). */
	struct export_table *(*table)(void *arg);
	/* Calls fn(fnarg, s) for every session, the server's lock held. */
	void (*sessions)(void *arg, void (*fn)(void *, struct session *),
	    void *fnarg);
};

/* NULL out of memory. */
struct ovadm *ovadm_new(const struct ovadm_host_ops *, void *arg);
/*
 * Answer request (the control line after "overlay ") on a copy of fd,
 * from a new thread.  0, or -1 with errno (EAGAIN: OVADM_MAX run).
 */
int ovadm_start(struct ovadm *, int fd, const char *request);
/*
 * Ask the running requests to give up (a commit stops and removes its
 * temporary file), wait up to wait_ms for them, free.  A request still
 * running then is left its state (logged).
 */
void ovadm_free(struct ovadm *, int wait_ms);

/*
 * The parts of an overlay file's name in an overlay_dir: NAME.ovl (kept
 * 0) or NAME.ovl.STAMP[.N], an overlay set aside by base_changed = new
 * (kept 1), with NAME a valid client name copied to client.  0, or -1
 * for any other file (temporary ones, NAME.ovl.new-XXXXXX, included).
 */
int ovadm_file_name(const char *file, char *client, size_t len, int *kept);
/* Seconds from "DAYS" (0 to 36500): 0, or -1 (not a number of days). */
int ovadm_days(const char *s, int64_t *seconds);

#endif
