/* SPDX-License-Identifier: ISC */
/*
 * The client side of TLS for nbds:// URIs, with mbedTLS: TLS 1.2 with
 * AEAD suites, as netdiskd's NBD listener speaks it (src/netdiskd/tls.c),
 * and with the files libnbd reads: a pre-shared key from a PSK file in
 * psktool's format (identity:hexkey lines), or X.509 from a directory
 * with ca-cert.pem (the server's certificate must chain to it and name
 * the host) and optionally client-cert.pem and client-key.pem.
 *
 * The files that hold secrets (the PSK file, client-key.pem) must be
 * regular files neither group nor others may access.  Keys are wiped
 * when freed and never reach a message.
 *
 * A connection is used by one receiving and one sending thread at the
 * same time: each call takes the connection's lock while mbedTLS runs
 * and waits for the socket without it.  The socket may be blocking or
 * not: the transfers use MSG_DONTWAIT and poll.
 */
#ifndef TLS_CLIENT_H
#define TLS_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct iovec;
struct tls_client;

/* The longest PSK identity and key (bytes). */
#define TLS_CLIENT_ID_MAX	128
#define TLS_CLIENT_KEY_MAX	32

struct tls_client_opts {
	const char *psk_file;	/* pre-shared keys, or NULL */
	const char *identity;	/* the PSK identity to look up in it */
	const char *cert_dir;	/* X.509, or NULL */
	const char *host;	/* the server's certificate must name it */
};

/*
 * Credentials and a TLS context for one connection: NULL with err naming
 * the file and the problem (unreadable, open to others, malformed, no key
 * for the identity).
 */
struct tls_client *tls_client_new(const struct tls_client_opts *o,
    char *err, size_t errlen);
/*
 * The handshake on fd by deadline (mono_ms()): 0, or -1 with errno
 * EACCES (wrong key or identity, a certificate refused either way),
 * ETIMEDOUT or EPROTO, and err saying which.
 */
int tls_client_handshake(struct tls_client *, int fd, int64_t deadline,
    char *err, size_t errlen);
/* "TLSv1.2 TLS-...": the version and suite the handshake agreed. */
const char *tls_client_suite(const struct tls_client *);
/* Later transfers give up at deadline (ETIMEDOUT); -1: they wait. */
void tls_client_set_deadline(struct tls_client *, int64_t deadline);
/* Up to len bytes: how many, 0 at the end of the stream, -1 (errno). */
ssize_t tls_client_read(struct tls_client *, void *buf, size_t len);
/* All the buffers, gathered into full records: 0 or -1 (errno). */
int tls_client_writev(struct tls_client *, const struct iovec *iov,
    int iovcnt);
/* close_notify if it can go at once, then everything freed and wiped. */
void tls_client_free(struct tls_client *);

#endif
