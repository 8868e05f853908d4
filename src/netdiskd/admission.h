/* SPDX-License-Identifier: ISC */
/*
 * Admission of new connections: how many have not finished their
 * handshake, in all and per source address, against the caps of the
 * configuration.  IPv4 addresses (and IPv4-mapped IPv6 ones) count one
 * by one, IPv6 addresses per /64 prefix, what one host usually holds.
 * Not thread-safe: the server calls it under its lock.
 */
#ifndef ADMISSION_H
#define ADMISSION_H

#include <sys/socket.h>

struct admission;

enum admission_refusal {
	ADMIT_OK = 0,
	ADMIT_TOTAL,			/* max handshakes in progress */
	ADMIT_ADDRESS,			/* max handshakes of this address */
	ADMIT_NOMEM
};

struct admission *admission_new(void);
void admission_free(struct admission *);
/*
 * Count a new connection from sa if fewer than per_addr handshakes from
 * its address and fewer than max in all are in progress (0: no limit);
 * else count nothing and say why not, the address first: ADMIT_TOTAL
 * means the address had room.
 */
enum admission_refusal admission_enter(struct admission *,
    const struct sockaddr *sa, int max, int per_addr);
/* The connection from sa finished or gave up its handshake. */
void admission_leave(struct admission *, const struct sockaddr *sa);
/* Handshakes in progress: in all, and from the address of sa. */
int admission_count(const struct admission *, const struct sockaddr *sa);
int admission_total(const struct admission *);

#endif
