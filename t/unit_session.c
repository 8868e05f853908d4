/* SPDX-License-Identifier: ISC */
/*
 * The session engine (src/netdiskd/session.c) without a socket: a
 * scripted protocol (protocol.h) hands it requests and collects the
 * replies it sends, a fake server (struct sess_host) counts the calls.
 * The replies answer every request once, with the right error and data;
 * the writes land; the budget comes back whole; a handshake the claim
 * refuses ends through handshake_closed with no reply.
 */
#include "config.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "export.h"
#include "protocol.h"
#include "request.h"
#include "session.h"
#include "tap.h"
#include "workq.h"

#define BUDGET		(8U << 20)
#define FILL		0x5a

/* What the fake server saw. */
struct server {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int admitted, done, hs_closed;
	char hs_why[128];
};

/* The protocol's script and what it was sent. */
struct script {
	const struct request *reqs;
	int nreqs, next;
	uint32_t hs_status;		/* what the admission said */
	uint8_t out[64 * 1024];
	size_t outlen;
	int overflow;
};

static struct server srv = {
	PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, ""
};
static struct script sc;
static struct export *test_export;

/* Count one call of the host in *n (and keep why); wakes the test. */
static void
note(int *n, const char *why)
{
	pthread_mutex_lock(&srv.lock);
	(*n)++;
	if (why != NULL)
		snprintf(srv.hs_why, sizeof(srv.hs_why), "%s", why);
	pthread_cond_broadcast(&srv.cond);
	pthread_mutex_unlock(&srv.lock);
}

static uint32_t
fake_admit(struct server *s, struct session *sess)
{
	(void)sess;
	note(&s->admitted, NULL);
	return ND_HS_OK;
}

static void
fake_hs_closed(struct server *s, const char *peer, const char *why)
{
	(void)peer;
	note(&s->hs_closed, why);
}

static void
fake_done(struct server *s, struct session *sess)
{
	(void)sess;
	note(&s->done, NULL);
}

static void
fake_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	(void)sa;
	snprintf(buf, len, "test");
}

static const char *
script_handshake(struct session *s)
{
	uint8_t id[ND_CLIENT_ID_LEN] = { 1 };

	s->export = export_ref(test_export);
	if ((sc.hs_status = session_allowed(s)) == ND_HS_OK)
		sc.hs_status = session_admit(s, id, 0, 0);
	if (sc.hs_status != ND_HS_OK)
		return "refused by the script";
	s->limits.size = s->export->size;
	s->limits.min_block = ND_MIN_BLOCK;
	s->limits.max_payload = ND_MAX_PAYLOAD;
	s->limits.flags = s->export->flags;
	return NULL;
}

static const char *
script_read_request(struct session *s, struct request *q)
{
	session_flush(s);
	if (sc.next == sc.nreqs)
		return "script ended";
	*q = sc.reqs[sc.next++];
	return NULL;
}

static const char *
script_read_payload(struct session *s, void *buf, size_t len)
{
	(void)s;
	memset(buf, FILL, len);
	return NULL;
}

/* The reply, then what the engine says of the request and its data. */
struct script_hdr {
	struct reply rep;
	uint32_t datalen;
	uint16_t type;
};

static size_t
script_encode_reply(struct session *s, const struct request *q,
    const struct reply *rep, uint32_t datalen, void *hdr)
{
	struct script_hdr h = { *rep, datalen, q->type };

	(void)s;
	memcpy(hdr, &h, sizeof(h));
	return sizeof(h);
}

static int
script_send(struct session *s, const struct iovec *iov, int iovcnt)
{
	int i;

	(void)s;
	for (i = 0; i < iovcnt; i++) {
		if (sc.outlen + iov[i].iov_len > sizeof(sc.out)) {
			sc.overflow = 1;
			errno = ENOSPC;
			return -1;
		}
		memcpy(sc.out + sc.outlen, iov[i].iov_base, iov[i].iov_len);
		sc.outlen += iov[i].iov_len;
	}
	return 0;
}

static void
script_close(struct session *s)
{
	(void)s;
}

static const struct proto_ops script_proto = {
	.name = "script", .handshake = script_handshake,
	.read_request = script_read_request, .read_payload = script_read_payload,
	.encode_reply = script_encode_reply, .send = script_send,
	.close = script_close,
};

static const struct sess_host_ops fake_ops = {
	.admit = fake_admit, .handshake_closed = fake_hs_closed,
	.done = fake_done, .addr_str = fake_addr_str,
};

/* Run one session over the script until the engine lets it go. */
static void
run_session(const struct sess_host *host, const struct request *reqs,
    int n)
{
	struct sockaddr_in sin;
	struct session *s;
	int fd, done;

	memset(&sc, 0, sizeof(sc));
	sc.reqs = reqs;
	sc.nreqs = n;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = open("/dev/null", O_RDWR)) == -1 ||
	    (s = session_new(host, &script_proto, fd,
	    (struct sockaddr *)&sin, sizeof(sin), 5)) == NULL ||
	    session_start(s) == -1) {
		printf("Bail out! cannot start a session\n");
		exit(1);
	}
	pthread_mutex_lock(&srv.lock);
	done = srv.done;
	while (srv.done == done)
		pthread_cond_wait(&srv.cond, &srv.lock);
	pthread_mutex_unlock(&srv.lock);
}

static const struct request *
find(const struct request *reqs, int n, uint64_t handle)
{
	int i;

	for (i = 0; i < n; i++)
		if (reqs[i].handle == handle)
			return &reqs[i];
	return NULL;
}

/*
 * The replies in sc.out, the error of each in errs[handle]: their number,
 * or -1 if one is twice there, of no request, or says the wrong type or
 * data length.
 */
static int
parse_replies(const struct request *reqs, int n, int64_t *errs,
    int *data_ok)
{
	const struct request *q;
	struct script_hdr h;
	size_t pos = 0, i;
	int count = 0;

	*data_ok = 1;
	while (pos + sizeof(h) <= sc.outlen) {
		memcpy(&h, sc.out + pos, sizeof(h));
		pos += sizeof(h);
		if ((q = find(reqs, n, h.rep.handle)) == NULL ||
		    errs[h.rep.handle] != -1 || h.type != q->type)
			return -1;
		errs[h.rep.handle] = h.rep.error;
		count++;
		if (q->type != ND_CMD_READ || h.rep.error != ND_OK) {
			if (h.datalen != 0)
				return -1;
			continue;
		}
		if (h.datalen != q->length)
			return -1;
		for (i = 0; i < q->length; i++)
			if (pos + i >= sc.outlen || sc.out[pos + i] != FILL)
				*data_ok = 0;
		pos += q->length;
	}
	return pos == sc.outlen ? count : -1;
}

static void
test_serve(const struct sess_host *host, const char *path)
{
	static const struct request reqs[] = {
		{ 0, ND_CMD_WRITE, 1, 0, 4096 },	/* inline */
		{ 0, ND_CMD_READ, 2, 0, 4096 },		/* reads it back */
		{ ND_CMD_FLAG_FUA, ND_CMD_WRITE, 3, 8192, 512 }, /* a worker */
		{ 0, ND_CMD_FLUSH, 4, 0, 0 },
		{ 0, ND_CMD_READ, 5, 1U << 20, 4096 },	/* past the end */
		{ 0, ND_CMD_READ, 6, 0, 512 },
		{ 0, ND_CMD_DISCONNECT, 7, 0, 0 },
	};
	int64_t errs[8];
	uint8_t buf[4096];
	int count, data_ok, fd, i, same;

	for (i = 0; i < 8; i++)
		errs[i] = -1;
	run_session(host, reqs, 7);
	count = parse_replies(reqs, 7, errs, &data_ok);
	ok(srv.admitted == 1 && srv.hs_closed == 0,
	    "the session was admitted once and its handshake succeeded");
	ok(count == 6 && !sc.overflow,
	    "one reply to each request but the DISCONNECT (%d)", count);
	ok(errs[1] == ND_OK && errs[2] == ND_OK && errs[3] == ND_OK &&
	    errs[4] == ND_OK && errs[6] == ND_OK,
	    "WRITE, READ, FUA WRITE, FLUSH, READ answer ND_OK");
	ok(errs[5] == ND_EOVERFLOW, "a READ past the end answers ND_EOVERFLOW");
	ok(data_ok, "the READs return what was written");
	same = (fd = open(path, O_RDONLY)) != -1 &&
	    pread(fd, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf);
	for (i = 0; same && i < (int)sizeof(buf); i++)
		same = buf[i] == FILL;
	if (fd != -1)
		close(fd);
	ok(same, "the WRITE landed in the file");
	ok(budget_try(host->budget, BUDGET) == 0,
	    "the whole memory budget came back");
	budget_give(host->budget, BUDGET);
}

static void
test_refused(const struct sess_host *host)
{
	static const struct request reqs[] = {
		{ 0, ND_CMD_READ, 1, 0, 4096 },
	};
	uint8_t holder[ND_CLIENT_ID_LEN], other[ND_CLIENT_ID_LEN] = { 2 };

	if (export_claim(test_export, other, 0, holder) != ND_HS_OK) {
		printf("Bail out! cannot claim the export\n");
		exit(1);
	}
	run_session(host, reqs, 1);
	export_release(test_export, other, 0);
	ok(sc.hs_status == ND_HS_BUSY,
	    "another client's claim makes the admission say busy");
	ok(srv.hs_closed == 1 && strcmp(srv.hs_why,
	    "refused by the script") == 0,
	    "the failed handshake is closed through the host: %s", srv.hs_why);
	ok(sc.outlen == 0 && sc.next == 0,
	    "no request read, no reply sent");
}

int
main(void)
{
	static uint8_t key[ND_KEY_LEN];
	char path[] = "/tmp/unit_session.XXXXXX", err[512];
	struct conf_export ce = { .path = path, .size = 1 << 20 };
	struct sess_host host = { &srv, &fake_ops, NULL, NULL };
	int fd;

	if ((fd = mkstemp(path)) == -1) {
		printf("Bail out! mkstemp: %s\n", strerror(errno));
		return 1;
	}
	close(fd);
	strcpy(ce.name, "session");
	if ((test_export = export_open(&ce, key, NULL, err,
	    sizeof(err))) == NULL) {
		printf("Bail out! %s\n", err);
		return 1;
	}
	host.wq = workq_create(2);
	host.budget = budget_new(BUDGET);
	if (host.wq == NULL || host.budget == NULL) {
		printf("Bail out! out of memory\n");
		return 1;
	}
	test_serve(&host, path);
	test_refused(&host);
	workq_destroy(host.wq);
	budget_free(host.budget);
	export_put(test_export);
	unlink(path);
	return done_testing();
}
