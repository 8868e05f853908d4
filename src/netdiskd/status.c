/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"
#include "util.h"

static struct status_client *
status_find_client(struct status_export *e, const uint8_t *id,
    const char *identity)
{
	int i;

	for (i = 0; i < e->nclients; i++)
		if (memcmp(e->clients[i].id, id, ND_CLIENT_ID_LEN) == 0 &&
		    strcmp(e->clients[i].identity, identity) == 0)
			return &e->clients[i];
	return NULL;
}

int
status_add_client(struct status_export *e, const uint8_t *id,
    const char *identity, const struct sockaddr_storage *addr, time_t since)
{
	struct status_client *c, *n;

	if ((c = status_find_client(e, id, identity)) != NULL) {
		c->connections++;
		if (since < c->since)
			c->since = since;
		return 0;
	}
	if (e->nclients == e->cap) {
		n = reallocarray(e->clients, e->cap ? 2 * e->cap : 4,
		    sizeof(*n));
		if (n == NULL)
			return -1;
		e->clients = n;
		e->cap = e->cap ? 2 * e->cap : 4;
	}
	c = &e->clients[e->nclients++];
	memcpy(c->id, id, ND_CLIENT_ID_LEN);
	snprintf(c->identity, sizeof(c->identity), "%s", identity);
	c->addr = *addr;
	c->connections = 1;
	c->since = since;
	c->overlay = 0;
	c->ovl_allocated = c->ovl_quota = 0;
	memset(&c->failure, 0, sizeof(c->failure));
	c->ovl_file[0] = '\0';
	return 0;
}

int
status_client_failed(struct status_export *e, const uint8_t *id,
    const char *identity, const struct health_state *failure,
    const char *overlay)
{
	struct status_client *c;

	if ((c = status_find_client(e, id, identity)) == NULL)
		return -1;
	c->failure = *failure;
	snprintf(c->ovl_file, sizeof(c->ovl_file), "%s", overlay);
	return 0;
}

void
status_client_overlay(struct status_export *e, const uint8_t *id,
    const char *identity, uint64_t allocated, uint64_t quota)
{
	struct status_client *c;

	if ((c = status_find_client(e, id, identity)) == NULL)
		return;
	c->overlay = 1;
	c->ovl_allocated = allocated;
	c->ovl_quota = quota;
}

void
status_free(struct status *st)
{
	int i;

	for (i = 0; i < st->nexports; i++)
		free(st->exports[i].clients);
	free(st->exports);
	free(st->listen);
	memset(st, 0, sizeof(*st));
}

/* Formatting helpers. */

static void
status_host(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	socklen_t sl = ss->ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

	if (getnameinfo((const struct sockaddr *)ss, sl, buf, len, NULL, 0,
	    NI_NUMERICHOST) != 0)
		snprintf(buf, len, "unknown");
}

static void
status_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "unknown");
}

static const char *
status_human(uint64_t bytes, char *buf, size_t len)
{
	static const char *units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

/* Text. */

/* "WHAT failed since TIME: OP: ERROR (UNTIL)", if hs is a failure. */
static void
status_text_failed(FILE *f, const struct health_state *hs, const char *what,
    const char *until)
{
	char since[32];

	if (hs->error == 0)
		return;
	status_time(hs->since, since, sizeof(since));
	fprintf(f, "%s failed since %s: %s: %s (%s)\n", what, since, hs->op,
	    strerror(hs->error), until);
}

static void
status_text_failure(FILE *f, const struct status_export *e)
{
	char until[ND_NAME_MAX + 64];

	snprintf(until, sizeof(until), "FLUSH and FUA writes fail until "
	    "\"netdiskctl restart %s\"", e->name);
	status_text_failed(f, &e->failure, " ", until);
}

static void
status_text_client_failure(FILE *f, const struct status_client *c)
{
	char what[PATH_MAX + 16];

	snprintf(what, sizeof(what), "    overlay %s", c->ovl_file);
	status_text_failed(f, &c->failure, what, "this client's FLUSH and "
	    "FUA writes fail until it detaches");
}

static void
status_text_overlay(FILE *f, const struct status_client *c)
{
	char human[32], quota[32];

	if (!c->overlay)
		return;
	fprintf(f, "    overlay: %llu bytes allocated (%s)",
	    (unsigned long long)c->ovl_allocated,
	    status_human(c->ovl_allocated, human, sizeof(human)));
	if (c->ovl_quota > 0)
		fprintf(f, " of a %s quota", status_human(c->ovl_quota, quota,
		    sizeof(quota)));
	fprintf(f, "\n");
}

static void
status_text_export(FILE *f, const struct status_export *e)
{
	char human[32], hex[2 * ND_CLIENT_ID_LEN + 1], host[NI_MAXHOST];
	char since[32];
	int i;

	fprintf(f, "export \"%s\": %s, %llu bytes (%s), %s\n", e->name,
	    e->path, (unsigned long long)e->size,
	    status_human(e->size, human, sizeof(human)),
	    e->readonly ? "read-only" : "read-write");
	fprintf(f, "  read: %llu requests, %llu bytes; written: %llu "
	    "requests, %llu bytes; errors: %llu\n",
	    (unsigned long long)e->read_requests,
	    (unsigned long long)e->read_bytes,
	    (unsigned long long)e->write_requests,
	    (unsigned long long)e->write_bytes,
	    (unsigned long long)e->errors);
	status_text_failure(f, e);
	if (e->nclients == 0)
		fprintf(f, "  no clients\n");
	for (i = 0; i < e->nclients; i++) {
		hex_format(e->clients[i].id, ND_CLIENT_ID_LEN, hex);
		status_host(&e->clients[i].addr, host, sizeof(host));
		status_time(e->clients[i].since, since, sizeof(since));
		fprintf(f, "  client %s", hex);
		if (e->clients[i].identity[0] != '\0')
			fprintf(f, " identity \"%s\"", e->clients[i].identity);
		fprintf(f, " from %s, %d connection%s, since %s\n",
		    host, e->clients[i].connections,
		    e->clients[i].connections == 1 ? "" : "s", since);
		status_text_client_failure(f, &e->clients[i]);
		status_text_overlay(f, &e->clients[i]);
	}
}

static void
status_text_memory(FILE *f, const struct budget_info *m)
{
	char used[32], limit[32], peak[32];

	fprintf(f, "request memory: %s in use of %s (peak %s), %u reader%s "
	    "waiting\n", status_human(m->used, used, sizeof(used)),
	    status_human(m->limit, limit, sizeof(limit)),
	    status_human(m->peak, peak, sizeof(peak)), m->waiting,
	    m->waiting == 1 ? "" : "s");
}

void
status_text(FILE *f, const struct status *st)
{
	char started[32];
	int i;

	status_time(st->started, started, sizeof(started));
	fprintf(f, "netdiskd pid %d, running since %s, config %s\n",
	    (int)st->pid, started, st->config);
	fprintf(f, "listening on");
	for (i = 0; i < st->nlisten; i++)
		fprintf(f, " %s", st->listen[i]);
	fprintf(f, "\n");
	status_text_memory(f, &st->memory);
	if (st->identities > 0)
		fprintf(f, "client identities: %zu\n", st->identities);
	for (i = 0; i < st->nexports; i++)
		status_text_export(f, &st->exports[i]);
}

/* JSON. */

/* A failure (null if none), with the overlay file if not NULL. */
static void
status_json_failure(FILE *f, const struct health_state *hs,
    const char *overlay)
{
	char since[32];

	if (hs->error == 0) {
		fprintf(f, "null");
		return;
	}
	status_time(hs->since, since, sizeof(since));
	fprintf(f, "{\"errno\":%d,\"error\":", hs->error);
	json_string(f, strerror(hs->error));
	fprintf(f, ",\"operation\":");
	json_string(f, hs->op);
	fprintf(f, ",\"since\":\"%s\"", since);
	if (overlay != NULL) {
		fprintf(f, ",\"overlay\":");
		json_string(f, overlay);
	}
	fputc('}', f);
}

static void
status_json_client(FILE *f, const struct status_client *c)
{
	char hex[2 * ND_CLIENT_ID_LEN + 1], host[NI_MAXHOST], since[32];

	hex_format(c->id, ND_CLIENT_ID_LEN, hex);
	status_host(&c->addr, host, sizeof(host));
	status_time(c->since, since, sizeof(since));
	fprintf(f, "{\"client_id\":\"%s\",\"identity\":", hex);
	if (c->identity[0] != '\0')
		json_string(f, c->identity);
	else
		fprintf(f, "null");
	fprintf(f, ",\"address\":");
	json_string(f, host);
	fprintf(f, ",\"connections\":%d,\"since\":\"%s\",\"failed\":",
	    c->connections, since);
	status_json_failure(f, &c->failure, c->ovl_file);
	if (c->overlay)
		fprintf(f, ",\"overlay\":{\"allocated\":%llu,\"quota\":%llu}",
		    (unsigned long long)c->ovl_allocated,
		    (unsigned long long)c->ovl_quota);
	else
		fprintf(f, ",\"overlay\":null");
	fputc('}', f);
}

static void
status_json_export(FILE *f, const struct status_export *e)
{
	char opened[32];
	int i;

	status_time(e->opened, opened, sizeof(opened));
	fprintf(f, "{\"name\":");
	json_string(f, e->name);
	fprintf(f, ",\"path\":");
	json_string(f, e->path);
	fprintf(f, ",\"size\":%llu,\"readonly\":%s,\"opened\":\"%s\","
	    "\"read_requests\":%llu,\"read_bytes\":%llu,"
	    "\"write_requests\":%llu,\"write_bytes\":%llu,\"errors\":%llu,"
	    "\"failed\":", (unsigned long long)e->size,
	    e->readonly ? "true" : "false", opened,
	    (unsigned long long)e->read_requests,
	    (unsigned long long)e->read_bytes,
	    (unsigned long long)e->write_requests,
	    (unsigned long long)e->write_bytes,
	    (unsigned long long)e->errors);
	status_json_failure(f, &e->failure, NULL);
	fprintf(f, ",\"clients\":[");
	for (i = 0; i < e->nclients; i++) {
		if (i > 0)
			fputc(',', f);
		status_json_client(f, &e->clients[i]);
	}
	fprintf(f, "]}");
}

void
status_json(FILE *f, const struct status *st)
{
	char started[32];
	int i;

	status_time(st->started, started, sizeof(started));
	fprintf(f, "{\"pid\":%d,\"started\":\"%s\",\"config\":", (int)st->pid,
	    started);
	json_string(f, st->config);
	fprintf(f, ",\"listen\":[");
	for (i = 0; i < st->nlisten; i++) {
		if (i > 0)
			fputc(',', f);
		json_string(f, st->listen[i]);
	}
	fprintf(f, "],\"request_memory\":{\"limit\":%zu,\"used\":%zu,"
	    "\"peak\":%zu,\"waiting\":%u}", st->memory.limit, st->memory.used,
	    st->memory.peak, st->memory.waiting);
	fprintf(f, ",\"identities\":%zu", st->identities);
	fprintf(f, ",\"exports\":[");
	for (i = 0; i < st->nexports; i++) {
		if (i > 0)
			fputc(',', f);
		status_json_export(f, &st->exports[i]);
	}
	fprintf(f, "]}\n");
}
