/* SPDX-License-Identifier: ISC */
/* What netdiskctl's subcommands print and write. */
#ifndef CTL_OUTPUT_H
#define CTL_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* "1.5 GiB"; buf of at least 32 bytes. */
const char *ctl_human(uint64_t bytes, char *buf, size_t len);
/* Writes all len bytes to fd (a file or pipe); 0 or -1 (errno). */
int ctl_write_all(int fd, const void *buf, size_t len);

#endif
