/* SPDX-License-Identifier: ISC */
/*
 * idleconns: holds COUNT authenticated netdisk sessions open and idle,
 * for measuring what an idle client costs a server (make bench: netdiskd's
 * memory per idle connection).
 *
 *   idleconns -k KEYFILE -n COUNT URI
 *
 * Each session is a client of its own (a random client id), connected one
 * after another through the whole handshake.  Once all are up it prints
 * "idleconns: COUNT sessions open" and waits until its standard input
 * ends; then it disconnects them.  Exits 0, or 1 (with a message) if a
 * session could not be opened, 2 on a usage error.
 */
#include "config.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "key.h"
#include "uri.h"

#define IDLE_MAX	100000

static void
usage(void)
{
	fprintf(stderr, "usage: idleconns -k KEYFILE -n COUNT URI\n");
	exit(2);
}

/* Room for count sockets besides the standard ones. */
static int
raise_nofile(long count)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (rl.rlim_cur >= (rlim_t)count + 16)
		return 0;
	rl.rlim_cur = (rlim_t)count + 16;
	if (rl.rlim_max < rl.rlim_cur)
		rl.rlim_max = rl.rlim_cur;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* Opens count sessions into c: how many. */
static long
open_all(struct client *c, long count, const struct nd_uri *u,
    struct client_opts *o)
{
	char err[512];
	long i;

	for (i = 0; i < count; i++) {
		crypto_random(o->client_id, sizeof(o->client_id));
		if (client_connect(&c[i], u, o, err, sizeof(err)) !=
		    CLIENT_OK) {
			fprintf(stderr, "idleconns: session %ld: %s\n", i + 1,
			    err);
			break;
		}
	}
	return i;
}

int
main(int argc, char **argv)
{
	struct client_opts o;
	struct client *c;
	struct nd_uri u;
	uint8_t key[ND_KEY_LEN];
	const char *keyfile = NULL;
	char err[256], *end, buf[64];
	long count = 0, n, i;
	int ch;

	while ((ch = getopt(argc, argv, "k:n:")) != -1) {
		switch (ch) {
		case 'k':
			keyfile = optarg;
			break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end != '\0' || count < 1 || count > IDLE_MAX)
				usage();
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || keyfile == NULL || count == 0 ||
	    uri_parse(argv[optind], &u) == -1)
		usage();
	if (key_load_file(keyfile, key, err, sizeof(err)) == -1) {
		fprintf(stderr, "idleconns: %s\n", err);
		return 1;
	}
	if (raise_nofile(count) == -1) {
		fprintf(stderr, "idleconns: cannot open %ld files\n", count);
		return 1;
	}
	if ((c = calloc((size_t)count, sizeof(*c))) == NULL) {
		fprintf(stderr, "idleconns: out of memory\n");
		return 1;
	}
	memset(&o, 0, sizeof(o));
	o.key = key;
	n = open_all(c, count, &u, &o);
	crypto_wipe(key, sizeof(key));
	if (n == count) {
		printf("idleconns: %ld sessions open\n", n);
		fflush(stdout);
		while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
			;
	}
	for (i = 0; i < n; i++)
		client_close(&c[i]);
	free(c);
	return n == count ? 0 : 1;
}
