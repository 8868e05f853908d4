/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "rxbuf.h"

int
rxbuf_ready(const struct rxbuf *rb, size_t len)
{
	return rb->end - rb->pos >= len;
}

/* Takes up to len buffered bytes into p: how many. */
static size_t
take(struct rxbuf *rb, uint8_t *p, size_t len)
{
	size_t n = rb->end - rb->pos;

	if (n > len)
		n = len;
	memcpy(p, rb->buf + rb->pos, n);
	rb->pos += n;
	if (rb->pos == rb->end)
		rb->pos = rb->end = 0;
	return n;
}

int
rxbuf_read(struct rxbuf *rb, void *dst, size_t len, rxbuf_fill_fn fill,
    void *arg)
{
	uint8_t *p = dst;
	size_t got = take(rb, p, len);
	ssize_t n;

	while (got < len) {
		if (len - got >= RXBUF_DIRECT)
			n = fill(arg, p + got, len - got);
		else
			n = fill(arg, rb->buf, sizeof(rb->buf));
		if (n <= 0) {
			if (n == 0 && got == 0)
				return 0;
			if (n == 0)
				errno = EPROTO;
			return -1;
		}
		if (len - got >= RXBUF_DIRECT) {
			got += (size_t)n;
			continue;
		}
		rb->end = (size_t)n;
		got += take(rb, p + got, len - got);
	}
	return 1;
}
