/* SPDX-License-Identifier: ISC */
/*
 * The status report of netdiskd: a snapshot of the exports, their
 * counters and their clients, taken by the server and printed here as
 * text for people or as JSON for scripts (netdiskctl status).
 */
#ifndef STATUS_H
#define STATUS_H

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "budget.h"
#include "conf.h"
#include "health.h"
#include "netdisk_proto.h"

/* One client id (and identity) on one export, with all its connections. */
struct status_client {
	uint8_t id[ND_CLIENT_ID_LEN];
	char identity[CONF_CLIENT_NAME_MAX + 1];	/* "": a shared key */
	struct sockaddr_storage addr;	/* of its first connection */
	int connections;
	time_t since;			/* its oldest connection */
	int overlay;			/* of an overlay export: what follows */
	uint64_t ovl_allocated;		/* bytes of its overlay's chunks */
	uint64_t ovl_quota;		/* bytes; 0: none */
	/* Its overlay's failure (error 0: none), on an overlay export. */
	struct health_state failure;
	char ovl_file[PATH_MAX];	/* that overlay file */
};

struct status_export {
	char name[ND_NAME_MAX + 1];
	const char *path;
	uint64_t size;
	int readonly;
	time_t opened;
	uint64_t read_requests, read_bytes;
	uint64_t write_requests, write_bytes;
	uint64_t errors;
	struct health_state failure;	/* error 0: not failed */
	struct status_client *clients;
	int nclients;
	int cap;
};

struct status {
	pid_t pid;
	const char *config;
	time_t started;
	char (*listen)[64];
	int nlisten;
	struct budget_info memory;	/* request payloads */
	size_t identities;		/* client identities configured */
	struct status_export *exports;
	int nexports;
};

/*
 * Add one connection of client id, authenticated as identity ("": by a
 * shared key), to e: 0, or -1 out of memory.
 */
int status_add_client(struct status_export *e, const uint8_t *id,
    const char *identity, const struct sockaddr_storage *addr, time_t since);
/* The overlay usage of client id (added before) on an overlay export. */
void status_client_overlay(struct status_export *e, const uint8_t *id,
    const char *identity, uint64_t allocated, uint64_t quota);
/*
 * The overlay of client id and identity on e failed (health.h): shown
 * on that client.  0, or -1 if it has no connection in e.
 */
int status_client_failed(struct status_export *e, const uint8_t *id,
    const char *identity, const struct health_state *failure,
    const char *overlay);
void status_free(struct status *);

void status_text(FILE *, const struct status *);
void status_json(FILE *, const struct status *);

#endif
