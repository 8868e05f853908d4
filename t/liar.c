/* SPDX-License-Identifier: ISC */
/*
 * liar - a netdisk server that completes the handshake announcing block
 * sizes and a max payload of its choosing, then serves nothing
 *
 *   t/liar KEYFILE PORT EXPORT PATH SIZE MIN_BLOCK PREF_BLOCK MAX_PAYLOAD
 *
 * Listens on 127.0.0.1:PORT and answers every ClientHello under the key
 * in KEYFILE with ND_HS_OK and export EXPORT's identity (its name and the
 * real path of PATH, as netdiskd computes it), SIZE bytes, flush, FUA,
 * trim, write zeroes and multi-connection, and the given block sizes and
 * max payload.  After the ClientFinished it holds the connection without
 * answering any request.  Prints "listening" once and "announced N" per
 * handshake on stdout, line buffered.  The kernel tests
 * (t/kernel/guest-trickle.sh) run it in the guest in place of netdiskd,
 * to see what netdisk.ko does when a reconnect announces other values.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "handshake.h"
#include "key.h"

static uint8_t psk[ND_KEY_LEN];
static struct hs_export_info info;

static int
read_all(int fd, uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, buf, len)) <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

/* One handshake: 0 once the client's Finished checked out. */
static int
handshake(int fd)
{
	uint8_t ch[ND_CLIENT_HELLO_LEN], sh[ND_SERVER_HELLO_LEN];
	uint8_t cf[ND_CLIENT_FINISHED_LEN];
	const uint8_t (*keys)[ND_KEY_LEN] = &psk;
	struct hs_request req;
	struct hs_state st;
	struct hs_keys k;
	int rv = -1;

	memset(&st, 0, sizeof(st));
	if (read_all(fd, ch, sizeof(ch)) == 0 &&
	    hs_server_open_hello(&st, ch, keys, 1, &req) == 0 &&
	    hs_server_hello(&st, &info, 0, sh) == 0 &&
	    write_all(fd, sh, sizeof(sh)) == 0 &&
	    read_all(fd, cf, sizeof(cf)) == 0 &&
	    hs_server_finish(&st, cf, &k) == 0)
		rv = 0;
	hs_state_clear(&st);
	hs_keys_clear(&k);
	return rv;
}

static void
serve(int fd)
{
	char buf[4096];

	if (handshake(fd) == -1) {
		fprintf(stderr, "liar: handshake failed\n");
		return;
	}
	printf("announced min_block %u pref_block %u max_payload %u\n",
	    info.min_block, info.pref_block, info.max_payload);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

/* export_id as netdiskd's export_make_id computes it. */
static int
make_id(const char *name, const char *path)
{
	static const char label[] = "netdisk export id";
	static const uint8_t nul;
	uint8_t hash[32];
	struct crypto_vec v[4];
	char *real;

	if ((real = realpath(path, NULL)) == NULL) {
		fprintf(stderr, "liar: %s: %s\n", path, strerror(errno));
		return -1;
	}
	v[0] = (struct crypto_vec){ label, strlen(label) };
	v[1] = (struct crypto_vec){ name, strlen(name) };
	v[2] = (struct crypto_vec){ &nul, 1 };
	v[3] = (struct crypto_vec){ real, strlen(real) };
	crypto_sha256v(hash, v, 4);
	memcpy(info.export_id, hash, ND_EXPORT_ID_LEN);
	free(real);
	return 0;
}

static int
listen_on(int port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd, one = 1;

	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 64) == -1) {
		fprintf(stderr, "liar: 127.0.0.1:%d: %s\n", port,
		    strerror(errno));
		exit(1);
	}
	return fd;
}

static unsigned long long
number(const char *what, const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "liar: %s \"%s\" is not a number\n", what, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	char err[256];
	int lfd, fd;

	if (argc != 9) {
		fprintf(stderr, "usage: liar KEYFILE PORT EXPORT PATH SIZE "
		    "MIN_BLOCK PREF_BLOCK MAX_PAYLOAD\n");
		return 2;
	}
	if (key_load_file(argv[1], psk, err, sizeof(err)) == -1) {
		fprintf(stderr, "liar: %s\n", err);
		return 1;
	}
	info.status = ND_HS_OK;
	info.flags = ND_FLAG_FLUSH | ND_FLAG_FUA | ND_FLAG_TRIM |
	    ND_FLAG_WRITE_ZEROES | ND_FLAG_MULTI_CONN;
	info.size = number("SIZE", argv[5]);
	info.min_block = number("MIN_BLOCK", argv[6]);
	info.pref_block = number("PREF_BLOCK", argv[7]);
	info.max_payload = number("MAX_PAYLOAD", argv[8]);
	if (make_id(argv[3], argv[4]) == -1)
		return 1;
	signal(SIGCHLD, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	lfd = listen_on((int)number("PORT", argv[2]));
	printf("listening\n");
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR)
				continue;
			perror("liar: accept");
			return 1;
		}
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(lfd);
			serve(fd);
			_exit(0);
		}
		close(fd);
	}
}
