/* SPDX-License-Identifier: ISC */
/*
 * A receive buffer for a byte stream read in pieces of every size: many
 * small pieces come out of one read, and a long one is read straight into
 * its destination.  Both ends of NBD use it (src/lib/nbd_client.c,
 * src/netdiskd/proto_nbd.c), each with its own way to read: a socket with
 * a deadline, or TLS.
 */
#ifndef RXBUF_H
#define RXBUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RXBUF_SIZE	(64 * 1024)
/* What is left of a piece at least this long is read straight into it. */
#define RXBUF_DIRECT	(16 * 1024)

/*
 * Reads some bytes, at most len, into buf: their count, 0 at the end of
 * the stream, -1 (errno, never EINTR).
 */
typedef ssize_t (*rxbuf_fill_fn)(void *arg, void *buf, size_t len);

struct rxbuf {
	size_t pos, end;		/* of buf: bytes not yet taken */
	uint8_t buf[RXBUF_SIZE];
};

/* 1 if the next len bytes are here, so that rxbuf_read will not read. */
int rxbuf_ready(const struct rxbuf *rb, size_t len);

/*
 * The next len bytes into dst, reading with fill(arg, ...) as needed: 1,
 * 0 at the end of the stream before any byte, -1 (errno; EPROTO for the
 * end of the stream inside them).
 */
int rxbuf_read(struct rxbuf *rb, void *dst, size_t len, rxbuf_fill_fn fill,
    void *arg);

#endif
