/* Exact-length blocking socket reads and writes. */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "sockio.h"

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
