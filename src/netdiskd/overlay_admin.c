/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#define LIBBSD_OPENBSD_VIS	/* strnvis(dst, src, size, flags) */
#include <vis.h>

#include "control_proto.h"
#include "export.h"
#include "exports.h"
#include "log.h"
#include "overlay_admin.h"
#include "overlay_commit.h"
#include "overlays.h"
#include "session.h"
#include "sockio.h"
#include "store_file.h"
#include "store_overlay.h"
#include "util.h"

#define OVADM_DAYS_MAX	36500

struct ovadm {
	const struct ovadm_host_ops *ops;
	void *arg;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* a request ended */
	int running;			/* under lock */
	atomic_int stop;
};

/* One request: its words, its export, and where its answer goes. */
struct ovadm_req {
	struct ovadm *adm;
	int fd;
	char line[CONTROL_LINE_MAX];
	const char *verb;
	int json, force;
	const char *export, *client, *arg;	/* arg: DAYS or FILE */
	struct export_table *table;
	struct export *e;
	FILE *body;
	char dir[PATH_MAX];		/* the export's overlay_dir */
	int64_t last_progress;		/* mono_ms(), of a commit */
};

/* One overlay file of an export, for list and prune. */
struct ovadm_file {
	char name[NAME_MAX + 1];
	char client[CONF_CLIENT_NAME_MAX + 1];
	int kept;			/* set aside by base_changed = new */
	struct stat st;
	int ok;				/* info read */
	struct overlay_info info;
	char err[256];
	struct overlays_usage use;
	char addr[NI_MAXHOST];		/* of its first session */
};

/* Names and numbers. */

static int
ovadm_stamp(const char *s)
{
	size_t n = strspn(s, "0123456789TZ");

	if (n != 16 || s[8] != 'T' || s[15] != 'Z')
		return 0;
	s += n;
	if (*s == '\0')
		return 1;
	return *s == '.' && s[1] != '\0' && strspn(s + 1, "0123456789") ==
	    strlen(s + 1);
}

int
ovadm_file_name(const char *file, char *client, size_t len, int *kept)
{
	const char *p = NULL, *q;
	size_t n;

	for (q = file; (q = strstr(q, ".ovl")) != NULL; q++)
		if (q[4] == '\0' || (q[4] == '.' && ovadm_stamp(q + 5)))
			p = q;
	if (p == NULL || (n = (size_t)(p - file)) >= len)
		return -1;
	memcpy(client, file, n);
	client[n] = '\0';
	*kept = p[4] != '\0';
	return conf_client_name_valid(client) ? 0 : -1;
}

int
ovadm_days(const char *s, int64_t *seconds)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || *s == '-' || *s == '+' ||
	    v < 0 || v > OVADM_DAYS_MAX)
		return -1;
	*seconds = (int64_t)v * 86400;
	return 0;
}

static void
ovadm_time(int64_t sec, char *buf, size_t len)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "unknown");
}

/* Answers. */

static void
ovadm_error(struct ovadm_req *r, FILE *out, const char *kind,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
ovadm_error(struct ovadm_req *r, FILE *out, const char *kind,
    const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "%s %s\n", CONTROL_ERR, kind);
	va_start(ap, fmt);
	vfprintf(r->body, fmt, ap);
	va_end(ap);
	fputc('\n', r->body);
}

/* Split the line into its words (the last, a commit's FILE, may hold spaces). */
static int
ovadm_parse(struct ovadm_req *r)
{
	char *p = r->line, *w[4];
	int n, want;

	r->verb = strsep(&p, " ");
	while (p != NULL && strncmp(p, "--", 2) == 0) {
		w[0] = strsep(&p, " ");
		if (strcmp(w[0], "--json") == 0 &&
		    strcmp(r->verb, "list") == 0)
			r->json = 1;
		else if (strcmp(w[0], "--force") == 0 &&
		    strcmp(r->verb, "reset") == 0)
			r->force = 1;
		else
			return -1;
	}
	if (strcmp(r->verb, "list") == 0)
		want = 1;
	else if (strcmp(r->verb, "reset") == 0 ||
	    strcmp(r->verb, "prune") == 0)
		want = 2;
	else if (strcmp(r->verb, "commit") == 0)
		want = 3;
	else
		return -1;
	for (n = 0; n < want && p != NULL; n++)
		w[n] = n == 2 ? p : strsep(&p, " ");
	if (n < want || (p != NULL && want < 3) || *w[n - 1] == '\0')
		return -1;
	r->export = w[0];
	if (strcmp(r->verb, "prune") == 0)
		r->arg = w[1];
	else if (want > 1)
		r->client = w[1];
	if (want == 3)
		r->arg = w[2];
	return 0;
}

/*
 * The export and its overlay folder: 0, or -1 with the error answered.
 */
static int
ovadm_export(struct ovadm_req *r, FILE *out)
{
	r->table = r->adm->ops->table(r->adm->arg);
	if ((r->e = exports_lookup(r->table, r->export)) == NULL) {
		ovadm_error(r, out, CONTROL_ERR_NO_EXPORT,
		    "no export \"%s\"", r->export);
		return -1;
	}
	if (r->e->overlays == NULL || r->e->conf.overlay_dir == NULL) {
		ovadm_error(r, out, CONTROL_ERR_NO_OVERLAY, "export \"%s\" is "
		    "not an overlay export (it has no overlay_dir)", r->export);
		return -1;
	}
	snprintf(r->dir, sizeof(r->dir), "%s", r->e->conf.overlay_dir);
	if (r->client != NULL && !conf_client_name_valid(r->client)) {
		ovadm_error(r, out, CONTROL_ERR_NO_OVERLAY, "\"%s\" is not a "
		    "client name", r->client);
		return -1;
	}
	return 0;
}

/* Sessions. */

struct ovadm_visit {
	const struct overlays *set;
	struct ovadm_file *files;
	size_t n;
	const char *client;		/* for a kick */
	int kicked;
};

static struct ovadm_file *
ovadm_find(struct ovadm_visit *v, const char *client)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (!v->files[i].kept && strcmp(v->files[i].client, client) == 0)
			return &v->files[i];
	return NULL;
}

/* The address of each identity's first session, for list. */
static void
ovadm_visit_addr(void *arg, struct session *s)
{
	struct ovadm_visit *v = arg;
	struct session_info si;
	struct ovadm_file *f;
	socklen_t sl;

	if (!session_info(s, &si) || si.export->overlays != v->set ||
	    (f = ovadm_find(v, si.identity)) == NULL || f->addr[0] != '\0')
		return;
	sl = si.addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
	if (getnameinfo((struct sockaddr *)&si.addr, sl, f->addr,
	    sizeof(f->addr), NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(f->addr, sizeof(f->addr), "unknown");
}

/* Disconnect every session of one identity, for reset --force. */
static void
ovadm_visit_kick(void *arg, struct session *s)
{
	struct ovadm_visit *v = arg;
	struct session_info si;

	if (!session_info(s, &si) || si.export->overlays != v->set ||
	    strcmp(si.identity, v->client) != 0)
		return;
	session_disconnect(s, "its overlay is reset (netdiskctl overlay "
	    "reset --force)");
	v->kicked++;
}

/* The overlay files. */

static int
ovadm_file_cmp(const void *a, const void *b)
{
	const struct ovadm_file *x = a, *y = b;
	int c = strcmp(x->client, y->client);

	if (c != 0)
		return c;
	return x->kept != y->kept ? x->kept - y->kept :
	    strcmp(x->name, y->name);
}

static void
ovadm_file_info(struct ovadm_req *r, struct ovadm_file *f)
{
	char path[PATH_MAX + NAME_MAX + 2];

	snprintf(path, sizeof(path), "%s/%s", r->dir, f->name);
	if (stat(path, &f->st) == -1) {
		snprintf(f->err, sizeof(f->err), "%s", strerror(errno));
		return;
	}
	f->ok = overlay_info(path, &f->info, f->err, sizeof(f->err)) == 0;
	if (!f->kept && overlays_usage(r->e->overlays, f->client, &f->use) &&
	    f->ok)
		f->info.allocated = f->use.allocated;	/* not yet flushed */
}

/* The overlay files of the export, sorted: 0, or -1 (errno). */
static int
ovadm_files(struct ovadm_req *r, struct ovadm_file **files, size_t *n)
{
	struct ovadm_file *v = NULL, *nv;
	struct dirent *d;
	size_t len = 0, cap = 0;
	DIR *dir;
	int kept;
	char client[CONF_CLIENT_NAME_MAX + 1];

	if ((dir = opendir(r->dir)) == NULL)
		return -1;
	while ((d = readdir(dir)) != NULL) {
		if (ovadm_file_name(d->d_name, client, sizeof(client),
		    &kept) == -1)
			continue;
		if (len == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				closedir(dir);
				errno = ENOMEM;
				return -1;
			}
			v = nv;
		}
		memset(&v[len], 0, sizeof(v[len]));
		snprintf(v[len].name, sizeof(v[len].name), "%s", d->d_name);
		memcpy(v[len].client, client, sizeof(client));
		v[len++].kept = kept;
	}
	closedir(dir);
	if (len > 0)
		qsort(v, len, sizeof(*v), ovadm_file_cmp);
	*files = v;
	*n = len;
	return 0;
}

/* The files with their information and sessions: 0, or -1 answered. */
static int
ovadm_scan(struct ovadm_req *r, FILE *out, struct ovadm_file **files,
    size_t *n)
{
	struct ovadm_visit v = { 0 };
	size_t i;

	if (ovadm_files(r, files, n) == -1) {
		ovadm_error(r, out, CONTROL_ERR_FAILED, "export \"%s\": "
		    "overlay_dir %s: %s", r->export, r->dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < *n; i++)
		ovadm_file_info(r, &(*files)[i]);
	v.set = r->e->overlays;
	v.files = *files;
	v.n = *n;
	r->adm->ops->sessions(r->adm->arg, ovadm_visit_addr, &v);
	return 0;
}

/* Whether the overlay was made on the export's base as it is now. */
static const char *
ovadm_base(struct ovadm_req *r, const struct ovadm_file *f)
{
	struct ovl_base now;
	char why[128];

	if (!f->ok)
		return "unknown";
	if (overlay_base_stat(r->e->conf.path, r->e->conf.base_generation,
	    &now) == -1)
		return "unknown";
	return f->info.hdr.size == now.size &&
	    ovl_base_same(&f->info.hdr.base, &now, why, sizeof(why)) ?
	    "current" : "old";
}

/* list */

static void
ovadm_list_text(struct ovadm_req *r, const struct ovadm_file *f)
{
	char seen[32], created[32];

	fprintf(r->body, "%s%s: ", f->client, f->kept ? " (kept, old base)" :
	    "");
	if (f->use.sessions > 0)
		fprintf(r->body, "attached, %d session%s from %s", f->use.sessions,
		    f->use.sessions == 1 ? "" : "s",
		    f->addr[0] ? f->addr : "unknown");
	else {
		ovadm_time(f->st.st_mtim.tv_sec, seen, sizeof(seen));
		fprintf(r->body, "%slast seen %s", f->use.open ? "held, " : "",
		    seen);
	}
	if (!f->ok) {
		fprintf(r->body, "; cannot be read: %s; file %s/%s\n", f->err,
		    r->dir, f->name);
		return;
	}
	ovadm_time(f->info.hdr.created_ns / 1000000000, created,
	    sizeof(created));
	fprintf(r->body, "; %" PRIu64 " bytes allocated (%" PRIu64 " on disk) "
	    "of %" PRIu64 "; base generation %" PRIu64 " (%s); created %s; "
	    "file %s/%s\n", f->info.allocated, f->info.disk_bytes,
	    f->info.hdr.size, f->info.hdr.base.generation, ovadm_base(r, f),
	    created, r->dir, f->name);
}

static void
ovadm_list_json(struct ovadm_req *r, const struct ovadm_file *f)
{
	char seen[32], created[32], path[PATH_MAX + NAME_MAX + 2];

	snprintf(path, sizeof(path), "%s/%s", r->dir, f->name);
	ovadm_time(f->st.st_mtim.tv_sec, seen, sizeof(seen));
	fprintf(r->body, "{\"client\":");
	json_string(r->body, f->client);
	fprintf(r->body, ",\"file\":");
	json_string(r->body, path);
	fprintf(r->body, ",\"kept\":%s,\"attached\":%s,\"sessions\":%d,"
	    "\"held\":%s,\"address\":", f->kept ? "true" : "false",
	    f->use.sessions > 0 ? "true" : "false", f->use.sessions,
	    f->use.open && f->use.sessions == 0 ? "true" : "false");
	if (f->addr[0] != '\0')
		json_string(r->body, f->addr);
	else
		fprintf(r->body, "null");
	fprintf(r->body, ",\"last_seen\":\"%s\",\"last_seen_epoch\":%lld",
	    seen, (long long)f->st.st_mtim.tv_sec);
	if (!f->ok) {
		fprintf(r->body, ",\"error\":");
		json_string(r->body, f->err);
		fprintf(r->body, "}");
		return;
	}
	ovadm_time(f->info.hdr.created_ns / 1000000000, created,
	    sizeof(created));
	fprintf(r->body, ",\"error\":null,\"size\":%" PRIu64 ",\"allocated\":%"
	    PRIu64 ",\"disk_bytes\":%" PRIu64 ",\"chunk\":%" PRIu32
	    ",\"quota\":%" PRIu64 ",\"base_generation\":%" PRIu64
	    ",\"base\":\"%s\",\"created\":\"%s\"}", f->info.hdr.size,
	    f->info.allocated, f->info.disk_bytes, f->info.hdr.chunk,
	    r->e->conf.overlay_quota, f->info.hdr.base.generation,
	    ovadm_base(r, f), created);
}

static void
ovadm_list(struct ovadm_req *r, FILE *out)
{
	struct ovadm_file *files;
	size_t i, n;

	if (ovadm_scan(r, out, &files, &n) == -1)
		return;
	fprintf(out, "%s\n", CONTROL_OK);
	if (r->json) {
		fprintf(r->body, "{\"export\":");
		json_string(r->body, r->export);
		fprintf(r->body, ",\"overlay_dir\":");
		json_string(r->body, r->dir);
		fprintf(r->body, ",\"base\":");
		json_string(r->body, r->e->conf.path);
		fprintf(r->body, ",\"base_generation\":%" PRIu64 ",\"overlays\":[",
		    r->e->conf.base_generation);
	} else if (n == 0)
		fprintf(r->body, "export \"%s\": no overlays in %s\n",
		    r->export, r->dir);
	for (i = 0; i < n; i++) {
		if (r->json && i > 0)
			fputc(',', r->body);
		if (r->json)
			ovadm_list_json(r, &files[i]);
		else
			ovadm_list_text(r, &files[i]);
	}
	if (r->json)
		fprintf(r->body, "]}\n");
	free(files);
}

/* reset */

/*
 * Keep attaches of r->client out (and with force, disconnect its
 * sessions and wait for them): its attachment, or NULL with the error
 * answered.
 */
static struct overlay_att *
ovadm_take(struct ovadm_req *r, FILE *out, int force, const char *what)
{
	struct ovadm_visit v = { .set = r->e->overlays, .client = r->client };
	struct overlay_att *a;
	int64_t deadline = mono_ms() + OVADM_KICK_MS;
	int n;

	if ((a = overlays_admin_get(r->e->overlays, r->client)) == NULL) {
		ovadm_error(r, out, CONTROL_ERR_FAILED, "out of memory");
		return NULL;
	}
	if ((n = overlays_admin_begin(a, force)) == -1) {
		n = overlays_admin_sessions(a);
		if (errno == EBUSY)
			ovadm_error(r, out, CONTROL_ERR_BUSY, "export \"%s\": "
			    "client \"%s\" is attached (%d session%s): %s",
			    r->export, r->client, n, n == 1 ? "" : "s", what);
		else
			ovadm_error(r, out, CONTROL_ERR_BUSY, "export \"%s\": "
			    "client \"%s\": another netdiskctl overlay request "
			    "is at work on it", r->export, r->client);
		overlays_admin_end(r->e->overlays, a);
		return NULL;
	}
	if (n > 0)
		r->adm->ops->sessions(r->adm->arg, ovadm_visit_kick, &v);
	while (overlays_admin_sessions(a) > 0 && mono_ms() < deadline)
		usleep(20000);
	if ((n = overlays_admin_sessions(a)) > 0) {
		ovadm_error(r, out, CONTROL_ERR_FAILED, "export \"%s\": client "
		    "\"%s\": %d session%s still attached after %d s", r->export,
		    r->client, n, n == 1 ? "" : "s", OVADM_KICK_MS / 1000);
		overlays_admin_end(r->e->overlays, a);
		return NULL;
	}
	if (v.kicked > 0)
		log_info("export \"%s\": client \"%s\": %d session%s "
		    "disconnected for a reset", r->export, r->client, v.kicked,
		    v.kicked == 1 ? "" : "s");
	return a;
}

/* The path of r->client's overlay. */
static void
ovadm_path(struct ovadm_req *r, char *path, size_t len)
{
	snprintf(path, len, "%s/%s.ovl", r->dir, r->client);
}

static void
ovadm_reset(struct ovadm_req *r, FILE *out)
{
	struct overlay_att *a;
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	int open;

	if ((a = ovadm_take(r, out, r->force, "stop it first, or use "
	    "--force to disconnect it")) == NULL)
		return;
	ovadm_path(r, path, sizeof(path));
	open = overlays_admin_store(a) != NULL;
	if (!open && lstat(path, &st) == -1) {
		ovadm_error(r, out, CONTROL_ERR_NO_OVERLAY, "export \"%s\": "
		    "client \"%s\" has no overlay (%s: %s)", r->export,
		    r->client, path, strerror(errno));
		goto out;
	}
	overlays_admin_close(r->e->overlays, a);	/* ephemeral: removed */
	if ((unlink(path) == -1 && errno != ENOENT) ||
	    overlay_sync_dir(path) == -1) {
		ovadm_error(r, out, CONTROL_ERR_FAILED, "export \"%s\": "
		    "client \"%s\": cannot remove %s: %s", r->export,
		    r->client, path, strerror(errno));
		goto out;
	}
	log_info("export \"%s\": client \"%s\": overlay %s reset", r->export,
	    r->client, path);
	fprintf(out, "%s\n", CONTROL_OK);
	fprintf(r->body, "export \"%s\": client \"%s\": overlay %s removed; "
	    "its next attach starts clean\n", r->export, r->client, path);
out:
	overlays_admin_end(r->e->overlays, a);
}

/* prune */

/*
 * Remove one file not seen since before cutoff: 1 if it went, 0 if it
 * stays (attached meanwhile), -1 on failure (answered in body).
 */
static int
ovadm_prune_one(struct ovadm_req *r, const struct ovadm_file *f,
    int64_t cutoff)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct overlay_att *a = NULL;
	struct stat st;
	int r2 = 1;

	snprintf(path, sizeof(path), "%s/%s", r->dir, f->name);
	if (!f->kept) {
		if ((a = overlays_admin_get(r->e->overlays, f->client)) ==
		    NULL || overlays_admin_begin(a, 0) == -1) {
			if (a != NULL)
				overlays_admin_end(r->e->overlays, a);
			return 0;
		}
		overlays_admin_close(r->e->overlays, a);
	}
	/* seen since the scan (a session came and went): it stays */
	if (lstat(path, &st) == 0 && st.st_mtim.tv_sec >= cutoff)
		r2 = 0;
	else if (unlink(path) == -1 && errno != ENOENT) {
		fprintf(r->body, "cannot remove %s: %s\n", path,
		    strerror(errno));
		r2 = -1;
	}
	if (a != NULL)
		overlays_admin_end(r->e->overlays, a);
	return r2;
}

static void
ovadm_prune(struct ovadm_req *r, FILE *out)
{
	struct ovadm_file *files;
	int64_t age, cutoff;
	size_t i, n, gone = 0, failed = 0;
	char seen[32];
	int k;

	if (ovadm_days(r->arg, &age) == -1) {
		ovadm_error(r, out, CONTROL_ERR_REQUEST, "--older-than \"%s\" "
		    "is not a number of days (0 to %d)", r->arg, OVADM_DAYS_MAX);
		return;
	}
	if (ovadm_scan(r, out, &files, &n) == -1)
		return;
	cutoff = (int64_t)time(NULL) - age;
	for (i = 0; i < n; i++) {
		if (files[i].use.sessions > 0 ||
		    files[i].st.st_mtim.tv_sec >= cutoff ||
		    (k = ovadm_prune_one(r, &files[i], cutoff)) == 0)
			continue;
		if (k == -1) {
			failed++;
			continue;
		}
		gone++;
		ovadm_time(files[i].st.st_mtim.tv_sec, seen, sizeof(seen));
		log_info("export \"%s\": client \"%s\": overlay %s/%s pruned "
		    "(last seen %s)", r->export, files[i].client, r->dir,
		    files[i].name, seen);
		fprintf(r->body, "removed %s/%s (client \"%s\"%s, last seen %s, "
		    "%" PRIu64 " bytes on disk)\n", r->dir, files[i].name,
		    files[i].client, files[i].kept ? ", kept on an old base" :
		    "", seen, (uint64_t)files[i].st.st_blocks * 512);
	}
	free(files);
	if (gone > 0)
		(void)overlay_sync_dir(r->dir);
	fprintf(r->body, "export \"%s\": %zu overlay%s removed\n", r->export,
	    gone, gone == 1 ? "" : "s");
	fprintf(out, "%s\n", failed ? CONTROL_ERR " " CONTROL_ERR_FAILED :
	    CONTROL_OK);
}

/* commit */

/*
 * The store to copy: the held attachment's (flushed), else the overlay
 * opened read-only on the export's base; *own says the caller closes it.
 * NULL with err filled (errno ENOENT: no overlay).
 */
static struct store *
ovadm_commit_store(struct ovadm_req *r, struct overlay_att *a, int *own,
    char *err, size_t errlen)
{
	struct overlay_params op = { .flags = 0 };
	struct store_params p = { .path = r->e->conf.path,
	    .align = ND_MIN_BLOCK, .readonly = 1 };
	char path[PATH_MAX + NAME_MAX + 2];
	struct store_fault f;
	struct store *s;

	*own = 0;
	if ((s = overlays_admin_store(a)) != NULL) {
		if (store_flush(s, &f) == 0)
			return s;
		snprintf(err, errlen, "flushing the overlay: %s",
		    strerror(f.error));
		return NULL;
	}
	ovadm_path(r, path, sizeof(path));
	if (access(path, F_OK) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (overlay_base_stat(r->e->conf.path, r->e->conf.base_generation,
	    &op.base) == -1) {
		snprintf(err, errlen, "%s: %s", r->e->conf.path,
		    strerror(errno));
		return NULL;
	}
	if ((s = store_open(&store_file_ops, &p, NULL, err, errlen)) == NULL)
		return NULL;
	p.path = path;
	p.kind = &op;
	if ((s = store_open(&store_overlay_ops, &p, s, err, errlen)) != NULL)
		*own = 1;
	return s;
}

static int
ovadm_progress(void *arg, uint64_t done, uint64_t total)
{
	struct ovadm_req *r = arg;
	char line[64];
	int n;

	if (atomic_load(&r->adm->stop))
		return -1;
	if (done > 0 && mono_ms() - r->last_progress < OVADM_PROGRESS_MS)
		return 0;	/* the first line at once: the client learns the size */
	r->last_progress = mono_ms();
	n = snprintf(line, sizeof(line), "%s %" PRIu64 " %" PRIu64 "\n",
	    CONTROL_PROGRESS, done, total);
	return sock_write_full(r->fd, line, (size_t)n);	/* gone: give up */
}

static void
ovadm_commit(struct ovadm_req *r, FILE *out)
{
	struct overlay_att *a;
	struct store *s;
	char err[2 * PATH_MAX + 512];
	int own, rc;

	if (r->arg[0] != '/') {
		ovadm_error(r, out, CONTROL_ERR_REQUEST, "\"%s\": the image "
		    "file must be an absolute path", r->arg);
		return;
	}
	if (access(r->arg, F_OK) == 0) {
		ovadm_error(r, out, CONTROL_ERR_EXISTS, "%s exists: the image "
		    "is written to a new file only", r->arg);
		return;
	}
	if ((a = ovadm_take(r, out, 0, "shut the client down first: the "
	    "image must be what it wrote")) == NULL)
		return;
	if ((s = ovadm_commit_store(r, a, &own, err, sizeof(err))) == NULL) {
		ovadm_error(r, out, errno == ENOENT ? CONTROL_ERR_NO_OVERLAY :
		    CONTROL_ERR_FAILED, "export \"%s\": client \"%s\": %s",
		    r->export, r->client, err);
		overlays_admin_end(r->e->overlays, a);
		return;
	}
	log_info("export \"%s\": client \"%s\": committing to %s", r->export,
	    r->client, r->arg);
	r->last_progress = mono_ms();
	rc = commit_image(s, r->arg, ovadm_progress, r, err, sizeof(err));
	if (rc == 0) {
		fprintf(out, "%s\n", CONTROL_OK);
		fprintf(r->body, "export \"%s\": client \"%s\": %" PRIu64
		    " bytes committed to %s\n", r->export, r->client, s->size,
		    r->arg);
		log_info("export \"%s\": client \"%s\": committed to %s",
		    r->export, r->client, r->arg);
	} else {
		ovadm_error(r, out, errno == EEXIST ? CONTROL_ERR_EXISTS :
		    CONTROL_ERR_FAILED, "export \"%s\": client \"%s\": "
		    "commit failed: %s", r->export, r->client, err);
		log_warnx("export \"%s\": client \"%s\": commit to %s failed: "
		    "%s", r->export, r->client, r->arg, err);
	}
	if (own)
		store_close(s);
	overlays_admin_end(r->e->overlays, a);
}

/* The request's thread. */

static void
ovadm_dispatch(struct ovadm_req *r, FILE *out)
{
	char vis[4 * CONTROL_LINE_MAX + 1];

	strnvis(vis, r->line, sizeof(vis), VIS_SAFE | VIS_OCTAL | VIS_CSTYLE |
	    VIS_DQ);
	if (ovadm_parse(r) == -1) {
		ovadm_error(r, out, CONTROL_ERR_REQUEST, "unknown request "
		    "\"overlay %s\"", vis);
		return;
	}
	if (ovadm_export(r, out) == -1)
		return;
	if (strcmp(r->verb, "list") == 0)
		ovadm_list(r, out);
	else if (strcmp(r->verb, "reset") == 0)
		ovadm_reset(r, out);
	else if (strcmp(r->verb, "prune") == 0)
		ovadm_prune(r, out);
	else
		ovadm_commit(r, out);
}

static void
ovadm_answer(struct ovadm_req *r)
{
	char *head = NULL, *text = NULL;
	size_t headlen = 0, textlen = 0;
	FILE *out;

	if ((out = open_memstream(&head, &headlen)) == NULL ||
	    (r->body = open_memstream(&text, &textlen)) == NULL) {
		if (out != NULL)
			fclose(out);
		free(head);
		log_warn("control: overlay");
		return;
	}
	ovadm_dispatch(r, out);
	if ((fclose(out) | fclose(r->body)) == 0 &&
	    (sock_write_full(r->fd, head, headlen) == -1 ||
	    sock_write_full(r->fd, text, textlen) == -1))
		log_debug("control: cannot send the answer: %s",
		    strerror(errno));
	free(head);
	free(text);
}

static void *
ovadm_thread(void *arg)
{
	struct ovadm_req *r = arg;
	struct ovadm *adm = r->adm;

	ovadm_answer(r);
	close(r->fd);
	exports_put(r->table);
	free(r);
	pthread_mutex_lock(&adm->lock);
	adm->running--;
	pthread_cond_broadcast(&adm->cond);
	pthread_mutex_unlock(&adm->lock);
	return NULL;
}

struct ovadm *
ovadm_new(const struct ovadm_host_ops *ops, void *arg)
{
	struct ovadm *adm;
	pthread_condattr_t ca;

	if ((adm = calloc(1, sizeof(*adm))) == NULL)
		return NULL;
	adm->ops = ops;
	adm->arg = arg;
	pthread_mutex_init(&adm->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&adm->cond, &ca);
	pthread_condattr_destroy(&ca);
	return adm;
}

/* A copy of fd, blocking, with a deadline on each write. */
static int
ovadm_fd(int fd)
{
	struct timeval tv = { .tv_sec = OVADM_SEND_TIMEOUT };
	int c;

	if ((c = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1)
		return -1;
	if (fcntl(c, F_SETFL, 0) == -1 || setsockopt(c, SOL_SOCKET,
	    SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		close(c);
		return -1;
	}
	return c;
}

static int
ovadm_spawn(struct ovadm_req *r)
{
	pthread_attr_t attr;
	pthread_t t;
	int e;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, ovadm_thread, r);
	pthread_attr_destroy(&attr);
	return e;
}

int
ovadm_start(struct ovadm *adm, int fd, const char *request)
{
	struct ovadm_req *r;
	int e;

	pthread_mutex_lock(&adm->lock);
	if (adm->running >= OVADM_MAX || atomic_load(&adm->stop)) {
		pthread_mutex_unlock(&adm->lock);
		errno = EAGAIN;
		return -1;
	}
	adm->running++;
	pthread_mutex_unlock(&adm->lock);
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->fd = ovadm_fd(fd)) ==
	    -1) {
		e = errno;
		goto fail;
	}
	r->adm = adm;
	snprintf(r->line, sizeof(r->line), "%s", request);
	if ((e = ovadm_spawn(r)) == 0)
		return 0;
	close(r->fd);
fail:
	free(r);
	pthread_mutex_lock(&adm->lock);
	adm->running--;
	pthread_mutex_unlock(&adm->lock);
	errno = e;
	return -1;
}

void
ovadm_free(struct ovadm *adm, int wait_ms)
{
	struct timespec ts;
	int left;

	if (adm == NULL)
		return;
	atomic_store(&adm->stop, 1);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&adm->lock);
	while (adm->running > 0 &&
	    pthread_cond_timedwait(&adm->cond, &adm->lock, &ts) == 0)
		;
	left = adm->running;
	pthread_mutex_unlock(&adm->lock);
	if (left > 0) {	/* they still use adm: leave it to them */
		log_warnx("control: %d overlay request%s still running at exit",
		    left, left == 1 ? "" : "s");
		return;
	}
	pthread_cond_destroy(&adm->cond);
	pthread_mutex_destroy(&adm->lock);
	free(adm);
}
