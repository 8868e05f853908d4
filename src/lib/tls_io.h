/* SPDX-License-Identifier: ISC */
/*
 * What both ends of netdisk's TLS share (netdiskd's NBD listener,
 * src/netdiskd/tls.c; netdiskctl's nbds:// URIs, tls_client.c): the suites
 * they offer, and mbedTLS over a socket that one thread reads while another
 * writes.  Each call takes the connection's lock while mbedTLS runs and
 * waits for the socket without it; the transfers use MSG_DONTWAIT and
 * poll, so the socket may be blocking or not.
 */
#ifndef TLS_IO_H
#define TLS_IO_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <mbedtls/ecp.h>
#include <mbedtls/ssl.h>

struct iovec;

/* What a record carries at most: writes are gathered up to it. */
#define TLS_IO_RECORD		16384

/*
 * TLS 1.2 AEAD suites in the order of preference, 0-terminated: with a
 * PSK (ECDHE-PSK with ChaCha20-Poly1305 first, as GnuTLS clients choose;
 * GnuTLS and mbedTLS share no ECDHE-PSK suite with AES-GCM), with X.509;
 * and the groups of ECDHE.
 */
extern const int tls_io_suites_psk[];
extern const int tls_io_suites_x509[];
extern const mbedtls_ecp_group_id tls_io_curves[];
#define TLS_IO_NSUITES_PSK	6
#define TLS_IO_NSUITES_X509	8

struct tls_io {
	mbedtls_ssl_context ssl;	/* first: a callback's way back */
	int fd;
	int handshaken;
	pthread_mutex_t lock;		/* around every mbedTLS call */
	char suite[96];			/* "TLSv1.2 TLS-...", once handshaken */
	uint8_t out[TLS_IO_RECORD];	/* what tls_io_writev gathers */
};

void tls_io_init(struct tls_io *);
/* The connection's context with conf: 0, or an mbedTLS error. */
int tls_io_setup(struct tls_io *, const mbedtls_ssl_config *conf);
/*
 * The handshake on fd by deadline (mono_ms(), -1: none): 0 or an mbedTLS
 * error.
 */
int tls_io_handshake(struct tls_io *, int fd, int64_t deadline);
/*
 * Up to len bytes, waiting until deadline (-1: none): how many; 0 at the
 * end of the stream; -1 with errno ETIMEDOUT, ECONNRESET (the socket
 * failed) or EBADMSG (a bad record).
 */
ssize_t tls_io_read(struct tls_io *, void *buf, size_t len, int64_t deadline);
/* All the buffers, gathered into full records, by deadline: 0 or -1. */
int tls_io_writev(struct tls_io *, const struct iovec *iov, int iovcnt,
    int64_t deadline);
/* A close_notify if the socket takes it now; everything freed and wiped. */
void tls_io_free(struct tls_io *);

/*
 * A regular file that neither group nor others may access, open for
 * reading; NULL with err naming it (what: the setting) and the problem.
 */
FILE *tls_io_open_secret(const char *what, const char *path, char *err,
    size_t errlen);

#endif
