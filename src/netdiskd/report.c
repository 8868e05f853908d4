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

static void __attribute__((format(printf, 4, 0)))
report_vwarn(struct report *r, int error, const char *prefix,
    const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (error != 0)
		log_warnx("%s: %s", msg, strerror(error));
	else
		log_warnx("%s", msg);
	if (r == NULL || r->copy == NULL)
		return;
	if (error != 0)
		fprintf(r->copy, "%s%s: %s\n", prefix, msg, strerror(error));
	else
		fprintf(r->copy, "%s%s\n", prefix, msg);
}

void
report_warnx(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_vwarn(r, 0, "", fmt, ap);
	va_end(ap);
	if (r != NULL)
		r->nwarnings++;
}

void
report_warn(struct report *r, const char *fmt, ...)
{
	int error = errno;
	va_list ap;

	va_start(ap, fmt);
	report_vwarn(r, error, "", fmt, ap);
	va_end(ap);
	if (r != NULL)
		r->nwarnings++;
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
report_note(struct report *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report_vwarn(r, 0, "note: ", fmt, ap);
	va_end(ap);
}
