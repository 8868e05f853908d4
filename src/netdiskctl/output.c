/* SPDX-License-Identifier: ISC */
/* What netdiskctl's subcommands print and write (output.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "output.h"

const char *
ctl_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	uint64_t scale = 1;
	int u = 0;

	while (u < 6 && bytes / scale >= 1024) {
		scale *= 1024;
		u++;
	}
	if (bytes % scale == 0)
		snprintf(buf, len, "%" PRIu64 " %s", bytes / scale, units[u]);
	else
		snprintf(buf, len, "%.1f %s", (double)bytes / (double)scale,
		    units[u]);
	return buf;
}

int
ctl_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
