/* SPDX-License-Identifier: ISC */
/*
 * Blocking socket transfers that move exactly the bytes asked for,
 * retrying after EINTR and short transfers, with or without a deadline;
 * the address of a local
 * (AF_UNIX) socket.
 */
#ifndef SOCKIO_H
#define SOCKIO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Reads exactly len bytes from fd.  1: all of len read; 0: EOF before the
 * first byte; -1: error (errno; EPROTO for EOF after some bytes).
 */
int sock_read_full(int fd, void *buf, size_t len);

/*
 * Writes all len bytes to fd with MSG_NOSIGNAL (a closed peer gives EPIPE,
 * not SIGPIPE).  0: all written; -1: error (errno).
 */
int sock_write_full(int fd, const void *buf, size_t len);
/* The same for iovcnt buffers, in order; iov is used up on the way. */
struct iovec;
int sock_writev_full(int fd, struct iovec *iov, int iovcnt);

/*
 * The same, for every byte by deadline (monotonic ms, mono_ms()): one
 * limit for the whole transfer however the peer spreads its bytes.  When
 * it passes they fail with errno ETIMEDOUT.
 */
int sock_read_until(int fd, void *buf, size_t len, int64_t deadline);
int sock_write_until(int fd, const void *buf, size_t len, int64_t deadline);

/* Until fd is readable or deadline passes (-1: none): 0, or -1 (errno). */
int sock_wait_readable(int fd, int64_t deadline);

struct sockaddr_un;
/* The address of the socket file path: 0, or -1 if path is too long. */
int sock_unix_addr(const char *path, struct sockaddr_un *sun);

#endif
