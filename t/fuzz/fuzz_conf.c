/* SPDX-License-Identifier: ISC */
/*
 * netdisk.conf (conf_load): the input is the whole file.  It is written
 * to a memfd and loaded through /proc/self/fd, so relative paths in it
 * resolve against /proc/self/fd.  Everything conf_load returns is
 * checked against conf.h's promises and freed.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "util.h"
#include "fuzz.h"

/* conf_load refuses files of 1 MiB and more, with an error of its own. */
#define CONF_INPUT_MAX	(256 * 1024)

static int conf_fd = -1;
static char conf_path[64];

static void
conf_file(const uint8_t *data, size_t size)
{
	if (conf_fd == -1) {
		if ((conf_fd = memfd_create("fuzz.conf", MFD_CLOEXEC)) == -1) {
			perror("memfd_create");
			abort();
		}
		snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d",
		    conf_fd);
	}
	if (ftruncate(conf_fd, 0) == -1 ||
	    (size > 0 && pwrite(conf_fd, data, size, 0) != (ssize_t)size)) {
		perror("memfd");
		abort();
	}
}

/* Every line "FILE:LINE: message\n", LINE a positive number. */
static void
check_errors(const char *errors)
{
	const char *p = errors, *nl;
	size_t plen = strlen(conf_path);
	char *end;

	FUZZ_CHECK(*p != '\0');
	for (; *p != '\0'; p = nl + 1) {
		FUZZ_CHECK((nl = strchr(p, '\n')) != NULL);
		FUZZ_CHECK(strncmp(p, conf_path, plen) == 0 && p[plen] == ':');
		FUZZ_CHECK(strtol(p + plen + 1, &end, 10) > 0);
		FUZZ_CHECK(end[0] == ':' && end[1] == ' ' && end < nl);
	}
}

static void
check_export(struct conf *c, struct conf_export *e)
{
	struct sockaddr_in v4 = { .sin_family = AF_INET };
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6 };
	int a4, a6;

	v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	v6.sin6_addr = in6addr_loopback;

	FUZZ_CHECK(name_valid(e->name));
	FUZZ_CHECK(conf_find_export(c, e->name) == e);
	FUZZ_CHECK(e->path != NULL && e->path[0] == '/');
	FUZZ_CHECK(e->has_key);
	FUZZ_CHECK(e->size % ND_MIN_BLOCK == 0);
	FUZZ_CHECK(e->nallow >= 0 && (e->nallow == 0) == (e->allow == NULL));
	FUZZ_CHECK(e->max_clients >= 0);
	FUZZ_CHECK(conf_export_equal(e, e));
	a4 = conf_allowed(e, (const struct sockaddr *)&v4);
	a6 = conf_allowed(e, (const struct sockaddr *)&v6);
	FUZZ_CHECK(a4 == 0 || a4 == 1);
	FUZZ_CHECK(a6 == 0 || a6 == 1);
	if (e->nallow == 0)
		FUZZ_CHECK(a4 && a6);
}

static void
check_conf(struct conf *c)
{
	struct conf_export *e;
	int i;

	FUZZ_CHECK(c->path != NULL && c->path[0] == '/');
	FUZZ_CHECK(c->nlisten >= 1 && c->listen != NULL);
	for (i = 0; i < c->nlisten; i++)
		FUZZ_CHECK(c->listen[i].port[0] != '\0');
	FUZZ_CHECK(c->max_connections >= 1);
	FUZZ_CHECK(c->handshake_timeout >= 1 && c->handshake_timeout <= 3600);
	FUZZ_CHECK(c->pidfile != NULL && c->pidfile[0] == '/');
	FUZZ_CHECK(c->control_socket != NULL && c->control_socket[0] == '/');
	TAILQ_FOREACH(e, &c->exports, entry)
		check_export(c, e);	/* none is fine: a reload adds them */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf *c;
	char *errors = NULL;

	if (size > CONF_INPUT_MAX)
		return 0;
	conf_file(data, size);
	c = conf_load(conf_path, &errors);
	FUZZ_CHECK((c == NULL) != (errors == NULL));
	if (c != NULL)
		check_conf(c);
	else
		check_errors(errors);
	conf_free(c);
	free(errors);
	return 0;
}
