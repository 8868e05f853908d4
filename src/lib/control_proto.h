/* SPDX-License-Identifier: ISC */
/*
 * The control socket of netdiskd: a local stream socket (mode 0660,
 * owned by the service user and group) over which netdiskctl asks for
 * the status, a reload or the restart of one export.
 *
 * Protocol: the client sends one line (at most CONTROL_LINE_MAX bytes
 * with its "\n"): "status", "status json", "reload", "restart NAME", or
 * an overlay request (below).  The server answers with one line, "ok" or
 * "error KIND" (KIND is one of the CONTROL_ERR_* words), then the text
 * of the answer, and closes.
 *
 * Overlay requests (netdiskctl overlay, docs/overlay.md):
 *   "overlay list [--json] EXPORT"
 *   "overlay reset [--force] EXPORT CLIENT"
 *   "overlay prune EXPORT DAYS"
 *   "overlay commit EXPORT CLIENT FILE"	(FILE absolute, to the end)
 * Before its answer, a commit sends a line "progress DONE TOTAL" (bytes)
 * when it starts copying and then every CONTROL_PROGRESS_S seconds; the client
 * skips them, and gives up when CONTROL_WAIT seconds pass without a line.
 */
#ifndef CONTROL_PROTO_H
#define CONTROL_PROTO_H

#define CONTROL_LINE_MAX	4608	/* a path (PATH_MAX) and the rest */
#define CONTROL_TIMEOUT		2	/* seconds netdiskd waits for a request */
#define CONTROL_WAIT		60	/* seconds netdiskctl waits for an answer */

#define CONTROL_OK		"ok"
#define CONTROL_ERR		"error"
#define CONTROL_ERR_CONFIG	"config"	/* reload: the file has errors */
#define CONTROL_ERR_NO_EXPORT	"no-export"	/* restart: no such export */
#define CONTROL_ERR_FAILED	"failed"	/* could not be done */
#define CONTROL_ERR_REQUEST	"request"	/* not a request */
#define CONTROL_ERR_NO_OVERLAY	"no-overlay"	/* no overlay export, client */
#define CONTROL_ERR_BUSY	"busy"		/* the client is attached */
#define CONTROL_ERR_EXISTS	"exists"	/* commit: the file exists */
#define CONTROL_PROGRESS	"progress"	/* a commit's progress line */
#define CONTROL_PROGRESS_S	2

#define CONTROL_MAX_CLIENTS	8	/* at once; more wait in the backlog */

#endif
