/* SPDX-License-Identifier: ISC */
/* netdiskctl's messages: "netdiskctl: message" on stderr. */
#ifndef CTL_WARN_H
#define CTL_WARN_H

#define CTL_PROGNAME	"netdiskctl"

/* ctl_warn appends strerror(errno). */
void ctl_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void ctl_warn(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
