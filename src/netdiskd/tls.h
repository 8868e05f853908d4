/* SPDX-License-Identifier: ISC */
/*
 * TLS for the NBD listener (NBD_OPT_STARTTLS), with mbedTLS: TLS 1.2
 * with AEAD suites, pre-shared keys in the PSK file format of GnuTLS's
 * psktool (identity:hexkey lines, as qemu, nbdkit and libnbd read them)
 * and X.509 certificates, with client certificates when a CA is given.
 *
 * The credentials (struct tls_creds) are loaded at start and at every
 * reload and reference counted: a connection keeps those it started
 * with.  A connection (struct tls_conn) is used by the session's reader
 * and its sender at the same time: each call takes the connection's
 * lock while mbedTLS runs and waits for the socket without it.  The
 * socket stays blocking; the calls use MSG_DONTWAIT.
 *
 * Secrets: the PSK file's keys, the private key and the session keys
 * are wiped when freed; no key reaches a log.  An unknown PSK identity
 * fails like a wrong key (the handshake goes on with a random key).
 */
#ifndef TLS_H
#define TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "netdisk_proto.h"

struct conf;
struct iovec;
struct tls_creds;
struct tls_conn;

/* Longest PSK identity and key (bytes) the PSK file may hold. */
#define TLS_PSK_ID_MAX		128
#define TLS_PSK_KEY_MAX		32

/*
 * The credentials conf names (nbd_tls_*): NULL, with err naming the file
 * and the problem, if one cannot be loaded; NULL with err "" if conf
 * names none.
 */
struct tls_creds *tls_creds_load(const struct conf *conf, char *err,
    size_t errlen);
struct tls_creds *tls_creds_ref(struct tls_creds *);
void tls_creds_put(struct tls_creds *);	/* NULL is fine */

/*
 * The TLS handshake as the server on fd, by deadline (mono_ms()).  NULL
 * on failure with why filled in (no secret in it).
 */
struct tls_conn *tls_accept(struct tls_creds *, int fd, int64_t deadline,
    char *why, size_t whylen);
/* The client's PSK identity or certificate's common name; "" if none. */
const char *tls_identity(const struct tls_conn *);
/* "TLS1.2 SUITE", for the log. */
const char *tls_suite(const struct tls_conn *);
/*
 * Up to len bytes, waiting for the first until deadline (-1: none).
 * > 0; 0 at the end of the stream; -1 with errno (ETIMEDOUT, EPROTO for
 * a bad record, or the socket's).
 */
ssize_t tls_read(struct tls_conn *, void *buf, size_t len,
    int64_t deadline);
/* All of iov, by deadline (-1: none): 0, or -1 with errno. */
int tls_writev(struct tls_conn *, const struct iovec *, int iovcnt,
    int64_t deadline);
/* A close_notify if the socket takes it now, then free and wipe. */
void tls_close(struct tls_conn *);

#endif
