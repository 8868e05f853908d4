/* SPDX-License-Identifier: ISC */
/*
 * The warnings of a reload or a restart: each is logged and, when a
 * control client asked for the reload, copied to it too, one line each.
 * A struct report is passed explicitly to whatever may fail during the
 * call, so that nothing stores a caller's output on a shared object.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

struct report {
	FILE *copy;			/* NULL: the log only */
	unsigned nwarnings;		/* reported so far */
};

/* A report that copies to copy (NULL: none). */
void report_init(struct report *, FILE *copy);
/* Log and copy one line (r NULL: log only); errno is kept. */
void report_warnx(struct report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Each line of lines (modified in place), as report_warnx. */
void report_lines(struct report *, char *lines);
/*
 * Not a failure: logged as a warning, told the client as
 * "note: MESSAGE"; does not count in nwarnings.
 */
void report_note(struct report *, const char *msg);

#endif
