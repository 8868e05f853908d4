/* SPDX-License-Identifier: ISC */
/*
 * The status report (src/netdiskd/status.c) of a known state: the
 * clients of an export merged by client id (connections counted, the
 * oldest kept), then the text for people and the JSON for scripts,
 * compared whole: times in UTC, sizes in bytes and in binary units, a
 * failed export with its error, a client whose overlay failed, a path
 * that needs quoting in JSON.
 */
#include "config.h"

#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "tap.h"

#define T0	1796371200		/* 2026-12-04T08:00:00Z */
#define T_FAIL	1796373000		/* 2026-12-04T08:30:00Z */
#define T_OLD	1796372000		/* 2026-12-04T08:13:20Z */
#define T_NEW	1796374800		/* 2026-12-04T09:00:00Z */

#define ID1	"01010101010101010101010101010101"
#define ID2	"02020202020202020202020202020202"

static const char expect_text[] =
"netdiskd pid 1234, running since 2026-12-04T08:00:00Z, config "
    "/etc/netdisk.conf\n"
"listening on 127.0.0.1:26547 [::1]:26547\n"
"request memory: 1.0 MiB in use of 256.0 MiB (peak 2.0 MiB), 1 reader "
    "waiting\n"
"client identities: 2\n"
"export \"home\": /srv/home.img, 10737418240 bytes (10.0 GiB), read-write\n"
"  read: 3 requests, 12288 bytes; written: 1 requests, 65536 bytes; "
    "errors: 2\n"
"  failed since 2026-12-04T08:30:00Z: fsync: Input/output error (FLUSH "
    "and FUA writes fail until \"netdiskctl restart home\")\n"
"  client " ID1 " from 127.0.0.1, 2 connections, since "
    "2026-12-04T08:13:20Z\n"
"  client " ID2 " identity \"alice\" from ::1, 1 connection, since "
    "2026-12-04T09:00:00Z\n"
"    overlay /srv/ovl/alice.ovl failed since 2026-12-04T08:30:00Z: write: "
    "Input/output error (this client's FLUSH and FUA writes fail until "
    "it detaches)\n"
"    overlay: 196608 bytes allocated (192.0 KiB) of a 1.0 MiB quota\n"
"  client " ID2 " from ::1, 1 connection, since 2026-12-04T09:00:00Z\n"
"export \"ro\": /srv/a\"b.img, 512 bytes (512 B), read-only\n"
"  read: 0 requests, 0 bytes; written: 0 requests, 0 bytes; errors: 0\n"
"  no clients\n";

static const char expect_json[] =
"{\"pid\":1234,\"started\":\"2026-12-04T08:00:00Z\","
"\"config\":\"/etc/netdisk.conf\","
"\"listen\":[\"127.0.0.1:26547\",\"[::1]:26547\"],"
"\"request_memory\":{\"limit\":268435456,\"used\":1048576,"
"\"peak\":2097152,\"waiting\":1},\"identities\":2,"
"\"exports\":["
"{\"name\":\"home\",\"path\":\"/srv/home.img\",\"size\":10737418240,"
"\"readonly\":false,\"opened\":\"2026-12-04T08:00:00Z\","
"\"read_requests\":3,\"read_bytes\":12288,\"write_requests\":1,"
"\"write_bytes\":65536,\"errors\":2,"
"\"failed\":{\"errno\":5,\"error\":\"Input/output error\","
"\"operation\":\"fsync\",\"since\":\"2026-12-04T08:30:00Z\"},"
"\"clients\":["
"{\"client_id\":\"" ID1 "\",\"identity\":null,\"address\":\"127.0.0.1\","
"\"connections\":2,\"since\":\"2026-12-04T08:13:20Z\",\"failed\":null,"
"\"overlay\":null},"
"{\"client_id\":\"" ID2 "\",\"identity\":\"alice\",\"address\":\"::1\","
"\"connections\":1,\"since\":\"2026-12-04T09:00:00Z\","
"\"failed\":{\"errno\":5,\"error\":\"Input/output error\","
"\"operation\":\"write\",\"since\":\"2026-12-04T08:30:00Z\","
"\"overlay\":\"/srv/ovl/alice.ovl\"},"
"\"overlay\":{\"allocated\":196608,\"quota\":1048576}},"
"{\"client_id\":\"" ID2 "\",\"identity\":null,\"address\":\"::1\","
"\"connections\":1,\"since\":\"2026-12-04T09:00:00Z\",\"failed\":null,"
"\"overlay\":null}]},"
"{\"name\":\"ro\",\"path\":\"/srv/a\\\"b.img\",\"size\":512,"
"\"readonly\":true,\"opened\":\"2026-12-04T09:00:00Z\","
"\"read_requests\":0,\"read_bytes\":0,\"write_requests\":0,"
"\"write_bytes\":0,\"errors\":0,\"failed\":null,\"clients\":[]}]}\n";

static struct sockaddr_storage
addr(int family, const char *text)
{
	struct sockaddr_storage ss;

	memset(&ss, 0, sizeof(ss));
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		inet_pton(AF_INET, text,
		    &((struct sockaddr_in *)&ss)->sin_addr);
	else
		inet_pton(AF_INET6, text,
		    &((struct sockaddr_in6 *)&ss)->sin6_addr);
	return ss;
}

static void
fill_home(struct status_export *e)
{
	snprintf(e->name, sizeof(e->name), "home");
	e->path = "/srv/home.img";
	e->size = 10ULL << 30;
	e->opened = T0;
	e->read_requests = 3;
	e->read_bytes = 12288;
	e->write_requests = 1;
	e->write_bytes = 65536;
	e->errors = 2;
	e->failure.error = EIO;
	e->failure.op = "fsync";
	e->failure.since = T_FAIL;
}

static void
fill_ro(struct status_export *e)
{
	snprintf(e->name, sizeof(e->name), "ro");
	e->path = "/srv/a\"b.img";
	e->size = 512;
	e->readonly = 1;
	e->opened = T_NEW;
}

/* Three connections of two client ids, the first id's newest first. */
static void
test_clients(struct status_export *e)
{
	struct sockaddr_storage v4 = addr(AF_INET, "127.0.0.1");
	struct sockaddr_storage v6 = addr(AF_INET6, "::1");
	uint8_t id1[ND_CLIENT_ID_LEN], id2[ND_CLIENT_ID_LEN];
	struct health_state fail = { EIO, "write", T_FAIL };
	int r = 0;

	memset(id1, 1, sizeof(id1));
	memset(id2, 2, sizeof(id2));
	r |= status_add_client(e, id1, "", &v4, T_NEW);
	r |= status_add_client(e, id2, "alice", &v6, T_NEW);
	r |= status_add_client(e, id1, "", &v6, T_OLD);
	r |= status_add_client(e, id2, "", &v6, T_NEW);
	status_client_overlay(e, id2, "alice", 196608, 1048576);
	ok(r == 0 && e->nclients == 3, "two client ids, one of them also as "
	    "identity alice: three clients (%d)", e->nclients);
	ok(e->clients[0].connections == 2 && e->clients[0].since == T_OLD,
	    "the first has 2 connections, since the older one");
	ok(e->clients[0].addr.ss_family == AF_INET,
	    "... and the address of its first connection");
	ok(e->clients[1].connections == 1 &&
	    strcmp(e->clients[1].identity, "alice") == 0,
	    "the second, alice, has 1 connection");
	ok(status_client_failed(e, id2, "alice", &fail,
	    "/srv/ovl/alice.ovl") == 0 && e->clients[1].failure.error == EIO &&
	    e->clients[2].failure.error == 0,
	    "alice's overlay failed: hers, not her client id's other entry");
	ok(status_client_failed(e, id1, "alice", &fail, "x") == -1,
	    "a client not in the export: -1");
}

/* Print st with fn into a string (the caller frees it). */
static char *
print(void (*fn)(FILE *, const struct status *), const struct status *st)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if ((f = open_memstream(&text, &len)) == NULL)
		exit(99);
	fn(f, st);
	fclose(f);
	return text;
}

static void
compare(const char *what, const char *got, const char *want)
{
	if (!ok(strcmp(got, want) == 0, "%s report", what))
		printf("# got:\n%s# want:\n%s", got, want);
}

int
main(void)
{
	static char listen[2][64] = { "127.0.0.1:26547", "[::1]:26547" };
	struct status st;
	char *text;

	memset(&st, 0, sizeof(st));
	st.pid = 1234;
	st.config = "/etc/netdisk.conf";
	st.started = T0;
	st.listen = calloc(2, sizeof(*st.listen));
	st.exports = calloc(2, sizeof(*st.exports));
	if (st.listen == NULL || st.exports == NULL)
		return 99;
	memcpy(st.listen, listen, sizeof(listen));
	st.nlisten = 2;
	st.memory.limit = 256 << 20;
	st.memory.used = 1 << 20;
	st.memory.peak = 2 << 20;
	st.memory.waiting = 1;
	st.identities = 2;
	fill_home(&st.exports[0]);
	fill_ro(&st.exports[1]);
	st.nexports = 2;
	test_clients(&st.exports[0]);
	compare("text", text = print(status_text, &st), expect_text);
	free(text);
	compare("JSON", text = print(status_json, &st), expect_json);
	free(text);
	status_free(&st);
	ok(st.exports == NULL && st.nexports == 0 && st.listen == NULL,
	    "status_free empties the snapshot");
	return done_testing();
}
