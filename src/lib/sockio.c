/* SPDX-License-Identifier: ISC */
/* Exact-length blocking socket reads and writes. */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sockio.h"
#include "util.h"

int
sock_read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = recv(fd, p + done, len - done, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EPROTO;
			return done == 0 ? 0 : -1;
		}
		done += (size_t)n;
	}
	return 1;
}

int
sock_write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sock_writev_full(int fd, struct iovec *iov, int iovcnt)
{
	struct msghdr msg;
	ssize_t n;

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)iovcnt;
	while (msg.msg_iovlen > 0) {
		n = sendmsg(fd, &msg, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		while (msg.msg_iovlen > 0 && (size_t)n >= msg.msg_iov->iov_len) {
			n -= (ssize_t)msg.msg_iov->iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen > 0) {
			msg.msg_iov->iov_base = (uint8_t *)msg.msg_iov->iov_base +
			    n;
			msg.msg_iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* Wait until fd is ready for events or the deadline passes (ETIMEDOUT). */
static int
sock_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - mono_ms()) <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return -1;
	}
}

int
sock_wait_readable(int fd, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	if (deadline >= 0)
		return sock_wait(fd, POLLIN, deadline);
	while ((n = poll(&pfd, 1, -1)) == -1 && errno == EINTR)
		;
	return n == -1 ? -1 : 0;
}

int
sock_read_until(int fd, void *buf, size_t len, int64_t deadline)
{
	uint8_t *p = buf;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (sock_wait(fd, POLLIN, deadline) == -1)
			return -1;
		n = recv(fd, p + done, len - done, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			errno = EPROTO;
			return done == 0 ? 0 : -1;
		}
		done += (size_t)n;
	}
	return 1;
}

int
sock_write_until(int fd, const void *buf, size_t len, int64_t deadline)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		if (sock_wait(fd, POLLOUT, deadline) == -1)
			return -1;
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK))
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
sock_unix_addr(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len >= sizeof(sun->sun_path))
		return -1;
	memcpy(sun->sun_path, path, len);
	return 0;
}
