/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/net_sockets.h>
#include <mbedtls/platform_util.h>

#include "tls_io.h"
#include "util.h"

const int tls_io_suites_psk[TLS_IO_NSUITES_PSK + 1] = {
	MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_DHE_PSK_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_DHE_PSK_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_PSK_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_PSK_WITH_AES_128_GCM_SHA256,
	0
};
const int tls_io_suites_x509[TLS_IO_NSUITES_X509 + 1] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_DHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_DHE_RSA_WITH_AES_128_GCM_SHA256,
	0
};
const mbedtls_ecp_group_id tls_io_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE
};

/* Wait for events on fd until deadline (-1: none): 0 or an mbedTLS error. */
static int
tls_io_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline < 0 ? -1 : deadline - mono_ms();
		if (deadline >= 0 && left <= 0)
			return MBEDTLS_ERR_SSL_TIMEOUT;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;	/* POLLERR and POLLHUP: the I/O says */
		if (n == -1 && errno != EINTR)
			return MBEDTLS_ERR_SSL_INTERNAL_ERROR;
	}
}

/* After WANT_READ or WANT_WRITE (r): the socket's turn, else r. */
static int
tls_io_again(struct tls_io *io, int r, int64_t deadline)
{
	if (r != MBEDTLS_ERR_SSL_WANT_READ && r != MBEDTLS_ERR_SSL_WANT_WRITE)
		return r;
	return tls_io_wait(io->fd, r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN :
	    POLLOUT, deadline);
}

static int
tls_io_send(void *arg, const unsigned char *buf, size_t len)
{
	struct tls_io *io = arg;
	ssize_t n;

	do
		n = send(io->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
tls_io_recv(void *arg, unsigned char *buf, size_t len)
{
	struct tls_io *io = arg;
	ssize_t n;

	do
		n = recv(io->fd, buf, len, MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n >= 0)
		return (int)n;	/* 0: mbedTLS's end of stream */
	if (errno == EAGAIN || errno == EWOULDBLOCK)
		return MBEDTLS_ERR_SSL_WANT_READ;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

void
tls_io_init(struct tls_io *io)
{
	mbedtls_ssl_init(&io->ssl);
	pthread_mutex_init(&io->lock, NULL);
	io->fd = -1;
	io->handshaken = 0;
}

int
tls_io_setup(struct tls_io *io, const mbedtls_ssl_config *conf)
{
	int r;

	if ((r = mbedtls_ssl_setup(&io->ssl, conf)) != 0)
		return r;
	mbedtls_ssl_set_bio(&io->ssl, io, tls_io_send, tls_io_recv, NULL);
	return 0;
}

int
tls_io_handshake(struct tls_io *io, int fd, int64_t deadline)
{
	int r, on = 1;

	io->fd = fd;
	/* mbedTLS sends each handshake message by itself. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	while ((r = mbedtls_ssl_handshake(&io->ssl)) ==
	    MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE)
		if ((r = tls_io_again(io, r, deadline)) != 0)
			break;
	if (r != 0)
		return r;
	io->handshaken = 1;
	snprintf(io->suite, sizeof(io->suite), "%s %s",
	    mbedtls_ssl_get_version(&io->ssl),
	    mbedtls_ssl_get_ciphersuite(&io->ssl));
	return 0;
}

ssize_t
tls_io_read(struct tls_io *io, void *buf, size_t len, int64_t deadline)
{
	int r;

	do {
		pthread_mutex_lock(&io->lock);
		r = mbedtls_ssl_read(&io->ssl, buf, len);
		pthread_mutex_unlock(&io->lock);
		if (r > 0)
			return r;
		if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY ||
		    r == MBEDTLS_ERR_SSL_CONN_EOF)
			return 0;
	} while ((r = tls_io_again(io, r, deadline)) == 0);
	errno = r == MBEDTLS_ERR_SSL_TIMEOUT ? ETIMEDOUT :
	    r == MBEDTLS_ERR_NET_RECV_FAILED ? ECONNRESET : EBADMSG;
	return -1;
}

/* One record's worth of bytes, all of them. */
static int
tls_io_write(struct tls_io *io, const uint8_t *p, size_t len,
    int64_t deadline)
{
	int r;

	while (len > 0) {
		pthread_mutex_lock(&io->lock);
		r = mbedtls_ssl_write(&io->ssl, p, len);
		pthread_mutex_unlock(&io->lock);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
		} else if ((r = tls_io_again(io, r, deadline)) != 0) {
			errno = r == MBEDTLS_ERR_SSL_TIMEOUT ? ETIMEDOUT : EPIPE;
			return -1;
		}
	}
	return 0;
}

int
tls_io_writev(struct tls_io *io, const struct iovec *iov, int iovcnt,
    int64_t deadline)
{
	size_t have = 0, n, off;
	int i;

	for (i = 0; i < iovcnt; i++)
		for (off = 0; off < iov[i].iov_len; off += n) {
			n = iov[i].iov_len - off;
			if (n > sizeof(io->out) - have)
				n = sizeof(io->out) - have;
			memcpy(io->out + have, (const uint8_t *)iov[i].iov_base +
			    off, n);
			have += n;
			if (have == sizeof(io->out)) {
				if (tls_io_write(io, io->out, have, deadline) ==
				    -1)
					return -1;
				have = 0;
			}
		}
	return have > 0 ? tls_io_write(io, io->out, have, deadline) : 0;
}

void
tls_io_free(struct tls_io *io)
{
	if (io->handshaken) {
		pthread_mutex_lock(&io->lock);
		(void)mbedtls_ssl_close_notify(&io->ssl);	/* if it fits now */
		pthread_mutex_unlock(&io->lock);
	}
	mbedtls_ssl_free(&io->ssl);
	pthread_mutex_destroy(&io->lock);
	mbedtls_platform_zeroize(io, sizeof(*io));
}

FILE *
tls_io_open_secret(const char *what, const char *path, char *err,
    size_t errlen)
{
	struct stat st;
	FILE *f;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s \"%s\": %s", what, path,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "%s \"%s\": not a regular file", what,
		    path);
	else if (st.st_mode & 077)
		snprintf(err, errlen, "%s \"%s\": permissions %04o are too "
		    "open (group or others may access it; chmod 600)", what,
		    path, (unsigned)(st.st_mode & 07777));
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s \"%s\": %s", what, path,
		    strerror(errno));
		close(fd);
	}
	return f;
}
