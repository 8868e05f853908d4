/* SPDX-License-Identifier: ISC */
/* Logging, in the OpenBSD daemons' style: stderr in the foreground, syslog otherwise. */
#ifndef LOG_H
#define LOG_H

#include <stdarg.h>

void log_init(int foreground, int facility);	/* facility: LOG_DAEMON */
void log_setlevel(int level);	/* LOG_ERR .. LOG_DEBUG */
int log_getlevel(void);
void log_procname(const char *name);

void log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
