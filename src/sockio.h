/*
 * Blocking socket transfers that move exactly the bytes asked for,
 * retrying after EINTR and short transfers; the address of a local
 * (AF_UNIX) socket.
 */
#ifndef SOCKIO_H
#define SOCKIO_H

#include <stddef.h>

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

struct sockaddr_un;
/* The address of the socket file path: 0, or -1 if path is too long. */
int sock_unix_addr(const char *path, struct sockaddr_un *sun);

#endif
