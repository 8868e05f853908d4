/* SPDX-License-Identifier: ISC */
/*
 * What the configuration tests (unit_conf, unit_exports) share: a few
 * keys in hex, a temporary folder, writing a file into it and loading a
 * configuration written there.
 */
#ifndef CONF_FIXTURE_H
#define CONF_FIXTURE_H

#include <sys/stat.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

#define HEX_A	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define HEX_B	"ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100"
#define HEX_C	"c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
#define HEX_D	"d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
#define HEX_E	"e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"

/* The test's folder (fixture_tmpdir makes it). */
static char tmpdir[PATH_MAX];

/* Make tmpdir, $TMPDIR/NAME.XXXXXX; exit 99 if it cannot. */
static inline void
fixture_tmpdir(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/%s.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", name);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		exit(99);
	}
}

/* Write text to name in tmpdir with mode; exit 99 if it cannot. */
static inline void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(text, 1, strlen(text), f) != strlen(text) ||
	    fclose(f) == EOF || chmod(path, mode) == -1) {
		perror(path);
		exit(99);
	}
}

/*
 * Write the configuration text to name in tmpdir (mode) and load it:
 * conf_load's answer, errors as it sets them.
 */
static inline struct conf *
fixture_load(const char *name, const char *text, mode_t mode,
    char **errors)
{
	char path[PATH_MAX + 64];

	write_file(name, text, mode);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return conf_load(path, errors);
}

#endif
