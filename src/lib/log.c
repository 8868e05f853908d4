/* SPDX-License-Identifier: ISC */
/*
 * Logging in the OpenBSD daemons' style: "procname: message" on stderr in
 * the foreground, syslog otherwise.  Each message is formatted into a local
 * buffer and emitted with a single write(2) or syslog(3) call, so lines
 * from different threads never interleave.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX	4096

static int log_foreground = 1;
static atomic_int log_level = LOG_INFO;
static char log_name[64];

static void vlog(int, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

void
log_procname(const char *name)
{
	strlcpy(log_name, name, sizeof(log_name));
}

static const char *
procname(void)
{
	if (log_name[0] == '\0')
		log_procname(getprogname());
	return log_name;
}

void
log_init(int foreground, int facility)
{
	log_foreground = foreground;
	(void)procname();
	if (!foreground) {
		tzset();
		openlog(procname(), LOG_PID | LOG_NDELAY, facility);
	}
}

void
log_setlevel(int level)
{
	if (level < LOG_ERR)
		level = LOG_ERR;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	atomic_store(&log_level, level);
}

int
log_getlevel(void)
{
	return atomic_load(&log_level);
}

/* strerror_r in either flavour, into buf. */
static const char *
errstr(int code, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
	return strerror_r(code, buf, len);
#else
	if (strerror_r(code, buf, len) != 0)
		snprintf(buf, len, "error %d", code);
	return buf;
#endif
}

/* Append ": strerror(code)" if code is not 0; returns the new length. */
static size_t
append_errno(char *buf, size_t len, size_t size, int code)
{
	char eb[128];

	if (code == 0 || len >= size)
		return len;
	snprintf(buf + len, size - len, ": %s", errstr(code, eb, sizeof(eb)));
	return strlen(buf);
}

static void
emit(int pri, char *msg, size_t len)
{
	char line[LOG_LINE_MAX + 80];
	int n;

	if (!log_foreground) {
		syslog(pri, "%s", msg);
		return;
	}
	n = snprintf(line, sizeof(line), "%s: %.*s\n", procname(), (int)len,
	    msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (write(STDERR_FILENO, line, n) == -1)
		return;	/* nowhere left to report it */
}

static void
vlog(int pri, int code, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	size_t len;
	int n;

	if (pri > log_getlevel() && pri > LOG_ERR)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	len = (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1;
	len = append_errno(msg, len, sizeof(msg), code);
	emit(pri, msg, len);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
