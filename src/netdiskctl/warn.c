/* SPDX-License-Identifier: ISC */
/* netdiskctl's messages (warn.h). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "warn.h"

static void
vwarn_common(int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;

	fprintf(stderr, "%s: ", CTL_PROGNAME);
	vfprintf(stderr, fmt, ap);
	if (with_errno)
		fprintf(stderr, ": %s", strerror(saved));
	fputc('\n', stderr);
}

void
ctl_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_common(0, fmt, ap);
	va_end(ap);
}

void
ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_common(1, fmt, ap);
	va_end(ap);
}
