/* Exact-length blocking socket reads and writes. */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

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
