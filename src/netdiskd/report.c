/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "report.h"

void
report_init(struct report *r, FILE *copy)
{
	r->copy = copy;
	r->nwarnings = 0;
}

void
report_warnx(struct report *r, const char *fmt, ...)
{
	char msg[1024];
	int error = errno;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s", msg);
	if (r != NULL) {
		r->nwarnings++;
		if (r->copy != NULL)
			fprintf(r->copy, "%s\n", msg);
	}
	errno = error;
}

void
report_lines(struct report *r, char *lines)
{
	char *line, *next;

	for (line = lines; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		report_warnx(r, "%s", line);
	}
}

void
report_note(struct report *r, const char *msg)
{
	log_warnx("%s", msg);
	if (r != NULL && r->copy != NULL)
		fprintf(r->copy, "note: %s\n", msg);
}
