#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admission.h"
#include "budget.h"
#include "conf.h"
#include "control.h"
#include "crypto.h"
#include "export.h"
#include "handshake.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "notify.h"
#include "proto_netdisk.h"
#include "replay.h"
#include "workq.h"
#include "util.h"

#define SERVER_MAX_LISTENERS	64
#define SHUTDOWN_GRACE		30	/* seconds before stuck sessions are cut */
#define HANDSHAKE_GRACE_MS	2000	/* for hellos still on their way */
#define ACCEPT_BATCH		64	/* accepts per wakeup */
#define ACCEPT_PAUSE_MS		1000	/* after running out of descriptors */
#define AUTH_LOG_BURST		10
#define AUTH_LOG_INTERVAL	10	/* seconds */
/* Descriptors besides sessions: stdio, the log, workers, the resolver. */
#define FD_SPARE		32

struct listener {
	int fd;
	struct sockaddr_storage want;	/* the configured address, resolved */
	socklen_t wantlen;
	char name[SERVER_ADDRSTRLEN];	/* the bound address */
	const struct proto_ops *proto;	/* what its clients speak */
};

struct table_entry {
	struct export *export;
	size_t keyidx;
};

struct export_table {
	atomic_int refs;
	struct table_entry *entries;
	size_t nentries;
	struct hs_psk *psks;		/* the candidate keys */
	struct replay **replays;	/* of each key */
	size_t nkeys;
};

struct server {
	char *conf_path;
	time_t started;
	struct control *ctl;		/* the control socket, or NULL */
	/* Settings only a restart of the daemon applies. */
	char *fixed[4];			/* control_socket, user, group, pidfile */
	FILE *report;			/* a control client's copy of the errors */
	struct listener listeners[SERVER_MAX_LISTENERS];
	int nlisteners;
	struct workq *wq;
	struct budget *budget;		/* request payloads in memory */
	struct sess_host host;		/* what the sessions use of it */
	int quit;
	int64_t accept_resume;		/* monotonic ms; 0: accepting */

	pthread_mutex_t lock;		/* what follows */
	pthread_cond_t cond;		/* a session left */
	struct export_table *table;
	TAILQ_HEAD(, session) sessions;
	int nsessions;
	int nserved;			/* sessions past admission */
	struct admission *adm;		/* the others: handshakes */
	int nevicted;			/* handshakes cut off, still ending */
	int max_connections, hs_timeout;
	int max_handshakes, max_hs_per_addr;

	struct ratelim authlog, refusedlog, hslog;
};

static socklen_t
sockaddr_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in);
}

void
server_addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (getnameinfo(sa, sockaddr_len(sa), host, sizeof(host), serv,
	    sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		snprintf(buf, len, "(unknown address)");
	else if (sa->sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%s", host, serv);
	else
		snprintf(buf, len, "%s:%s", host, serv);
}

/* Warnings of a reload or restart: logged, and told the control client. */
static void __attribute__((format(printf, 3, 0)))
srv_vwarn(struct server *srv, int error, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (error != 0)
		log_warnx("%s: %s", msg, strerror(error));
	else
		log_warnx("%s", msg);
	if (srv->report == NULL)
		return;
	if (error != 0)
		fprintf(srv->report, "%s: %s\n", msg, strerror(error));
	else
		fprintf(srv->report, "%s\n", msg);
}

static void __attribute__((format(printf, 2, 3)))
srv_warnx(struct server *srv, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	srv_vwarn(srv, 0, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
srv_warn(struct server *srv, const char *fmt, ...)
{
	int error = errno;
	va_list ap;

	va_start(ap, fmt);
	srv_vwarn(srv, error, fmt, ap);
	va_end(ap);
}

/* The export table. */

static struct export_table *
table_new(size_t nexports)
{
	struct export_table *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	atomic_init(&t->refs, 1);
	t->entries = calloc(nexports + 1, sizeof(*t->entries));
	t->psks = calloc(nexports + 1, sizeof(*t->psks));
	t->replays = calloc(nexports + 1, sizeof(*t->replays));
	if (t->entries == NULL || t->psks == NULL || t->replays == NULL) {
		server_table_put(t);
		return NULL;
	}
	return t;
}

void
server_table_put(struct export_table *t)
{
	size_t i;

	if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
		return;
	for (i = 0; i < t->nentries; i++)
		export_put(t->entries[i].export);
	for (i = 0; i < t->nkeys; i++)
		replay_put(t->replays[i]);
	if (t->psks != NULL)
		crypto_wipe(t->psks, t->nkeys * sizeof(*t->psks));
	free(t->replays);
	free(t->psks);
	free(t->entries);
	free(t);
}

struct export_table *
server_table_get(struct server *srv)
{
	struct export_table *t;

	pthread_mutex_lock(&srv->lock);
	t = srv->table;
	atomic_fetch_add(&t->refs, 1);
	pthread_mutex_unlock(&srv->lock);
	return t;
}

size_t
server_table_keys(const struct export_table *t, const struct hs_psk **psks)
{
	*psks = t->psks;
	return t->nkeys;
}

static struct table_entry *
table_lookup(const struct export_table *t, const char *name)
{
	size_t i;

	for (i = 0; t != NULL && i < t->nentries; i++)
		if (strcmp(t->entries[i].export->conf.name, name) == 0)
			return &t->entries[i];
	return NULL;
}

struct export *
server_table_find(const struct export_table *t, const char *name,
    size_t keyidx, const char **why)
{
	struct table_entry *te;

	if ((te = table_lookup(t, name)) == NULL) {
		*why = "unknown export";
		return NULL;
	}
	if (te->keyidx != keyidx) {
		*why = "key not valid for export";
		return NULL;
	}
	return export_ref(te->export);
}

static size_t
table_key_index(const struct export_table *t, const uint8_t key[ND_KEY_LEN])
{
	size_t i;

	for (i = 0; t != NULL && i < t->nkeys; i++)
		if (crypto_equal(t->psks[i].key, key, ND_KEY_LEN))
			return i;
	return SIZE_MAX;
}

/*
 * Index of key among the candidate keys, added if new with the early
 * secret and replay cache it has in old, if any; SIZE_MAX out of memory.
 */
static size_t
table_add_key(struct export_table *t, const struct export_table *old,
    const uint8_t key[ND_KEY_LEN])
{
	size_t i;

	if ((i = table_key_index(t, key)) != SIZE_MAX)
		return i;
	if ((i = table_key_index(old, key)) != SIZE_MAX) {
		t->replays[t->nkeys] = replay_ref(old->replays[i]);
		t->psks[t->nkeys] = old->psks[i];
		return t->nkeys++;
	}
	if ((t->replays[t->nkeys] = replay_new()) == NULL)
		return SIZE_MAX;
	hs_psk_init(&t->psks[t->nkeys], key);
	return t->nkeys++;
}

int
server_table_replayed(const struct export_table *t, size_t keyidx,
    const uint8_t eph[ND_KEY_LEN])
{
	return replay_seen(t->replays[keyidx], eph);
}

/* The running export if its settings are unchanged, else a new one. */
static struct export *
table_export(struct server *srv, const struct export_table *old,
    const struct conf_export *ce, const uint8_t *gkey, const uint8_t *key)
{
	struct table_entry *te = table_lookup(old, ce->name);
	struct export *prev = te != NULL ? te->export : NULL;
	struct export *e;
	char err[512];

	if (prev != NULL && conf_export_equal(&prev->conf, ce) &&
	    crypto_equal(prev->key, key, ND_KEY_LEN))
		return export_ref(prev);
	if ((e = export_open(ce, gkey, prev, err, sizeof(err))) == NULL) {
		srv_warnx(srv, "%s", err);
		return NULL;
	}
	log_info("export \"%s\": %s, %llu bytes%s", e->conf.name,
	    e->conf.path, (unsigned long long)e->size,
	    e->conf.readonly ? ", read-only" : "");
	return e;
}

static struct export_table *
table_build(struct server *srv, const struct conf *conf,
    const struct export_table *old)
{
	const uint8_t *gkey = conf->has_key ? conf->key : NULL, *key;
	struct conf_export *ce;
	struct export_table *t;
	struct table_entry *te;
	size_t n = 0;

	TAILQ_FOREACH(ce, &conf->exports, entry)
		n++;
	if ((t = table_new(n)) == NULL) {
		srv_warnx(srv, "out of memory");
		return NULL;
	}
	if (gkey != NULL && table_add_key(t, old, gkey) == SIZE_MAX)
		goto nomem;
	TAILQ_FOREACH(ce, &conf->exports, entry) {
		if ((key = ce->has_key ? ce->key : gkey) == NULL) {
			srv_warnx(srv, "export \"%s\": no key", ce->name);
			goto fail;
		}
		te = &t->entries[t->nentries];
		if ((te->export = table_export(srv, old, ce, gkey, key)) == NULL)
			goto fail;
		t->nentries++;
		if ((te->keyidx = table_add_key(t, old, key)) == SIZE_MAX)
			goto nomem;
	}
	return t;
nomem:
	srv_warnx(srv, "out of memory");
fail:
	server_table_put(t);
	return NULL;
}

/*
 * Mark the exports of old that new does not keep: why says what became
 * of those new still has ("reconfigured" or "restarted").
 */
static void
table_retire(const struct export_table *old, const struct export_table *new,
    const char *why)
{
	struct table_entry *te;
	struct export *e;
	size_t i;

	for (i = 0; old != NULL && i < old->nentries; i++) {
		e = old->entries[i].export;
		te = table_lookup(new, e->conf.name);
		if (te != NULL && te->export == e)
			continue;
		e->retired_why = te != NULL ? why : "removed";
		atomic_store(&e->retired, 1);
		log_info("export \"%s\": %s", e->conf.name, e->retired_why);
	}
}

/*
 * A copy of t in which the export called name is opened anew (its
 * clients' claims carried over).  NULL if it cannot be opened.
 */
static struct export_table *
table_reopen(struct server *srv, const struct export_table *t,
    const char *name)
{
	struct export_table *n;
	struct export *e;
	char err[512];
	size_t i;

	if ((n = table_new(t->nentries)) == NULL) {
		srv_warnx(srv, "out of memory");
		return NULL;
	}
	memcpy(n->psks, t->psks, t->nkeys * sizeof(*t->psks));
	for (; n->nkeys < t->nkeys; n->nkeys++)
		n->replays[n->nkeys] = replay_ref(t->replays[n->nkeys]);
	for (i = 0; i < t->nentries; i++, n->nentries++) {
		e = t->entries[i].export;
		n->entries[i].keyidx = t->entries[i].keyidx;
		if (strcmp(e->conf.name, name) != 0) {
			n->entries[i].export = export_ref(e);
			continue;
		}
		n->entries[i].export = export_open(&e->conf, e->key, e, err,
		    sizeof(err));
		if (n->entries[i].export == NULL) {
			srv_warnx(srv, "%s", err);
			server_table_put(n);
			return NULL;
		}
	}
	return n;
}

/* Listening sockets. */

static int
listen_find(const struct listener *set, int n, const struct sockaddr *sa,
    socklen_t len)
{
	int i;

	for (i = 0; i < n; i++)
		if (set[i].wantlen == len && memcmp(&set[i].want, sa, len) == 0)
			return i;
	return -1;
}

static int
listen_socket(const struct listener *l)
{
	const struct sockaddr *sa = (const struct sockaddr *)&l->want;
	int fd, on = 1, error;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (sa->sa_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1) ||
	    bind(fd, sa, l->wantlen) == -1 || listen(fd, SOMAXCONN) == -1) {
		error = errno;
		close(fd);
		errno = error;
		return -1;
	}
	return fd;
}

static int
listen_open(struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	server_addr_str((struct sockaddr *)&l->want, l->name, sizeof(l->name));
	if ((l->fd = listen_socket(l)) == -1)
		return -1;
	if (getsockname(l->fd, (struct sockaddr *)&ss, &len) == 0)
		server_addr_str((struct sockaddr *)&ss, l->name,
		    sizeof(l->name));
	log_info("listening on %s", l->name);
	return 0;
}

/* Add addr to set, reusing the socket of old if it has the address. */
static int
listen_add(struct server *srv, struct listener *set, int *n,
    const struct addrinfo *ai)
{
	struct listener *l = &set[*n];
	int i;

	if (listen_find(set, *n, ai->ai_addr, ai->ai_addrlen) != -1)
		return 0;		/* listed twice */
	if (*n == SERVER_MAX_LISTENERS) {
		srv_warnx(srv, "more than %d listen addresses",
		    SERVER_MAX_LISTENERS);
		errno = E2BIG;
		return -1;
	}
	memcpy(&l->want, ai->ai_addr, ai->ai_addrlen);
	l->wantlen = ai->ai_addrlen;
	i = listen_find(srv->listeners, srv->nlisteners, ai->ai_addr,
	    ai->ai_addrlen);
	if (i != -1)
		*l = srv->listeners[i];
	else if (listen_open(l) == -1) {
		srv_warn(srv, "cannot listen on %s", l->name);
		return -1;
	}
	l->proto = &proto_netdisk;
	(*n)++;
	return 0;
}

/*
 * Every address of one listen entry.  An address of a family the host
 * lacks is skipped, as long as another one of the entry can be opened.
 */
static int
listen_entry(struct server *srv, const struct conf_listen *cl,
    struct listener *set, int *n)
{
	struct addrinfo hints, *res, *ai;
	int error, opened = 0, failed = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	error = getaddrinfo(cl->host[0] ? cl->host : NULL, cl->port, &hints,
	    &res);
	if (error != 0) {
		srv_warnx(srv, "listen on %s port %s: %s", cl->host[0] ? cl->host :
		    "*", cl->port, gai_strerror(error));
		return -1;
	}
	for (ai = res; ai != NULL && !failed; ai = ai->ai_next) {
		if (listen_add(srv, set, n, ai) == 0)
			opened++;
		else if (errno != EAFNOSUPPORT && errno != EADDRNOTAVAIL)
			failed = 1;
	}
	freeaddrinfo(res);
	return failed || opened == 0 ? -1 : 0;
}

static int
listen_has_fd(const struct listener *set, int n, int fd)
{
	int i;

	for (i = 0; i < n; i++)
		if (set[i].fd == fd)
			return 1;
	return 0;
}

/* Close the sockets of a that b does not use. */
static void
listen_close_unused(const struct listener *a, int na,
    const struct listener *b, int nb, int verbose)
{
	int i;

	for (i = 0; i < na; i++) {
		if (listen_has_fd(b, nb, a[i].fd))
			continue;
		close(a[i].fd);
		if (verbose)
			log_info("no longer listening on %s", a[i].name);
	}
}

/* The listeners conf asks for, in set: 0, or -1 with nothing changed. */
static int
listen_build(struct server *srv, const struct conf *conf,
    struct listener *set, int *n)
{
	int i;

	*n = 0;
	for (i = 0; i < conf->nlisten; i++) {
		if (listen_entry(srv, &conf->listen[i], set, n) == -1) {
			listen_close_unused(set, *n, srv->listeners,
			    srv->nlisteners, 0);
			return -1;
		}
	}
	if (*n == 0) {
		srv_warnx(srv, "no address to listen on");
		return -1;
	}
	return 0;
}

static void
listen_commit(struct server *srv, const struct listener *set, int n)
{
	listen_close_unused(srv->listeners, srv->nlisteners, set, n, 1);
	memcpy(srv->listeners, set, n * sizeof(*set));
	srv->nlisteners = n;
}

/* Configuration: start-up, reload and restart of one export. */

/* Stop the sessions of exports that were retired. */
static void
server_stop_retired(struct server *srv)
{
	struct session *s;
	int n = 0;

	pthread_mutex_lock(&srv->lock);
	TAILQ_FOREACH(s, &srv->sessions, entry)
		n += session_retire(s);
	pthread_mutex_unlock(&srv->lock);
	if (n > 0)
		log_info("disconnecting %d session%s of retired exports", n,
		    n == 1 ? "" : "s");
}

/* Make t the export table; the exports it drops are retired. */
static void
server_swap(struct server *srv, struct export_table *t, const char *why)
{
	struct export_table *old;

	pthread_mutex_lock(&srv->lock);
	old = srv->table;
	srv->table = t;
	pthread_mutex_unlock(&srv->lock);
	table_retire(old, t, why);
	server_table_put(old);
	server_stop_retired(srv);
}

/*
 * Every session and handshake the caps allow must find a descriptor (the
 * handshakes twice: those cut off for newer ones may still be ending):
 * raise the soft limit as far as needed and allowed, else say so.  The
 * rest (exports, listeners) is counted in others.
 */
static void
server_check_nofile(const struct conf *conf, size_t others)
{
	struct rlimit rl;
	rlim_t need;

	need = (rlim_t)conf->max_connections +
	    2 * (rlim_t)conf->max_handshakes + others + CONTROL_MAX_CLIENTS +
	    FD_SPARE;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ?
	    rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur >= need)
		return;
	log_warnx("max_connections %d and max_handshakes %d need %llu file "
	    "descriptors, but the limit is %llu: connections are refused "
	    "while none is left (raise the limit, e.g. LimitNOFILE=)",
	    conf->max_connections, conf->max_handshakes,
	    (unsigned long long)need, (unsigned long long)rl.rlim_cur);
}
static void server_report_errors(struct server *, char *);

static int
server_apply(struct server *srv, const struct conf *conf)
{
	struct listener set[SERVER_MAX_LISTENERS];
	struct export_table *t;
	char *warnings;
	int n;

	if (conf->warnings != NULL &&
	    (warnings = strdup(conf->warnings)) != NULL) {
		server_report_errors(srv, warnings);
		free(warnings);
	}
	if ((t = table_build(srv, conf, srv->table)) == NULL)
		return -1;
	if (listen_build(srv, conf, set, &n) == -1) {
		server_table_put(t);
		return -1;
	}
	listen_commit(srv, set, n);
	pthread_mutex_lock(&srv->lock);
	srv->max_connections = conf->max_connections;
	srv->hs_timeout = conf->handshake_timeout;
	srv->max_handshakes = conf->max_handshakes;
	srv->max_hs_per_addr = conf->max_handshakes_per_address;
	pthread_mutex_unlock(&srv->lock);
	server_check_nofile(conf, t->nentries + (size_t)n);
	budget_set_limit(srv->budget, (size_t)conf->max_request_memory);
	server_swap(srv, t, "reconfigured");
	log_setlevel(conf->log_level);
	if (t->nentries == 0)
		log_warnx("no exports: add an export section to %s and reload",
		    srv->conf_path);
	return 0;
}

static const char *const fixed_keys[] = {
	"control_socket", "user", "group", "pidfile"
};

static void
server_fixed_values(const struct conf *conf, const char *v[4])
{
	v[0] = conf->control_socket;
	v[1] = conf->user;
	v[2] = conf->group;
	v[3] = conf->pidfile;
}

/* Remember the settings a reload cannot change: 0, or -1 out of memory. */
static int
server_fix(struct server *srv, const struct conf *conf)
{
	const char *v[4];
	int i;

	server_fixed_values(conf, v);
	for (i = 0; i < 4; i++)
		if (v[i] != NULL && (srv->fixed[i] = strdup(v[i])) == NULL)
			return -1;
	return 0;
}

/* Warn about changed settings that wait for a restart of netdiskd. */
static void
server_check_fixed(struct server *srv, const struct conf *conf)
{
	const char *v[4];
	int i;

	server_fixed_values(conf, v);
	for (i = 0; i < 4; i++) {
		if ((v[i] == NULL) == (srv->fixed[i] == NULL) &&
		    (v[i] == NULL || strcmp(v[i], srv->fixed[i]) == 0))
			continue;
		log_warnx("%s changed: takes effect when netdiskd restarts",
		    fixed_keys[i]);
		if (srv->report != NULL)
			fprintf(srv->report, "note: %s changed: takes effect "
			    "when netdiskd restarts\n", fixed_keys[i]);
	}
}

static void
server_report_errors(struct server *srv, char *errors)
{
	char *line, *next;

	for (line = errors; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		srv_warnx(srv, "%s", line);
	}
}

int
server_reload(struct server *srv, FILE *report)
{
	struct conf *conf;
	char *errors = NULL;
	int r = -1;

	srv->report = report;
	log_info("reloading %s", srv->conf_path);
	notify_reloading();
	if ((conf = conf_load(srv->conf_path, &errors)) == NULL) {
		server_report_errors(srv, errors);
		free(errors);
	} else if ((r = server_apply(srv, conf)) == 0) {
		server_check_fixed(srv, conf);
		log_info("configuration reloaded");
	}
	conf_free(conf);
	if (r == -1)
		log_warnx("reload failed: keeping the running configuration");
	notify_ready(srv->table->nentries);
	srv->report = NULL;
	return r;
}

int
server_restart_export(struct server *srv, const char *name, FILE *report)
{
	struct export_table *t;

	if (table_lookup(srv->table, name) == NULL) {
		errno = ENOENT;
		return -1;
	}
	srv->report = report;
	log_info("export \"%s\": restarting", name);
	t = table_reopen(srv, srv->table, name);
	srv->report = NULL;
	if (t == NULL) {
		errno = EIO;
		return -1;
	}
	export_clear_failure(table_lookup(t, name)->export);
	server_swap(srv, t, "restarted");
	return 0;
}

/* Status. */

static struct status_export *
status_lookup(struct status *st, const struct export_table *t,
    const struct export *e)
{
	size_t i;

	for (i = 0; i < t->nentries; i++)
		if (t->entries[i].export == e)
			return &st->exports[i];
	return NULL;
}

static void
status_fill_export(struct status_export *se, struct export *e)
{
	const struct export_stats *c = &e->stats;

	snprintf(se->name, sizeof(se->name), "%s", e->conf.name);
	se->path = e->conf.path;
	se->size = e->size;
	se->readonly = e->conf.readonly;
	se->opened = e->opened;
	se->read_requests = atomic_load(&c->read_requests);
	se->read_bytes = atomic_load(&c->read_bytes);
	se->write_requests = atomic_load(&c->write_requests);
	se->write_bytes = atomic_load(&c->write_bytes);
	se->errors = atomic_load(&c->errors);
	export_failure(e, &se->failure);
}

/* The clients of every current export.  0, or -1 out of memory. */
static int
status_sessions(struct server *srv, struct status *st)
{
	struct session_info si;
	struct status_export *se;
	struct session *s;
	int r = 0;

	pthread_mutex_lock(&srv->lock);
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (!session_info(s, &si) ||
		    (se = status_lookup(st, srv->table, si.export)) == NULL)
			continue;
		if (status_add_client(se, si.client_id, &si.addr,
		    si.since) == -1)
			r = -1;
	}
	pthread_mutex_unlock(&srv->lock);
	return r;
}

/*
 * A snapshot of the exports, their counters and their clients; the
 * strings point into the server's table, valid until the next reload or
 * restart (the control socket's caller prints it at once).
 */
int
server_status(struct server *srv, struct status *st)
{
	const struct export_table *t = srv->table;
	int i;

	memset(st, 0, sizeof(*st));
	st->pid = getpid();
	st->config = srv->conf_path;
	st->started = srv->started;
	budget_info(srv->budget, &st->memory);
	st->exports = calloc(t->nentries + 1, sizeof(*st->exports));
	st->listen = calloc(srv->nlisteners + 1, sizeof(*st->listen));
	if (st->exports == NULL || st->listen == NULL)
		goto fail;
	for (i = 0; i < srv->nlisteners; i++)
		snprintf(st->listen[i], sizeof(st->listen[i]), "%s",
		    srv->listeners[i].name);
	st->nlisten = srv->nlisteners;
	for (st->nexports = 0; (size_t)st->nexports < t->nentries;
	    st->nexports++)
		status_fill_export(&st->exports[st->nexports],
		    t->entries[st->nexports].export);
	if (status_sessions(srv, st) == 0)
		return 0;
fail:
	status_free(st);
	errno = ENOMEM;
	return -1;
}

struct server *
server_create(const struct conf *conf, const char *conf_path)
{
	struct server *srv;
	pthread_condattr_t ca;

	if ((srv = calloc(1, sizeof(*srv))) == NULL ||
	    (srv->conf_path = strdup(conf_path)) == NULL) {
		log_warnx("out of memory");
		free(srv);
		return NULL;
	}
	srv->started = time(NULL);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cond, &ca);
	pthread_condattr_destroy(&ca);
	TAILQ_INIT(&srv->sessions);
	ratelim_init(&srv->authlog, AUTH_LOG_BURST, AUTH_LOG_INTERVAL);
	ratelim_init(&srv->refusedlog, AUTH_LOG_BURST, AUTH_LOG_INTERVAL);
	ratelim_init(&srv->hslog, AUTH_LOG_BURST, AUTH_LOG_INTERVAL);
	if ((srv->adm = admission_new()) == NULL ||
	    (srv->budget = budget_new((size_t)conf->max_request_memory)) ==
	    NULL || server_fix(srv, conf) == -1) {
		log_warnx("out of memory");
		server_destroy(srv);
		return NULL;
	}
	if (server_apply(srv, conf) == -1) {
		server_destroy(srv);
		return NULL;
	}
	return srv;
}

void
server_set_control(struct server *srv, struct control *ctl)
{
	srv->ctl = ctl;
}

void
server_destroy(struct server *srv)
{
	int i;

	if (srv == NULL)
		return;
	workq_destroy(srv->wq);
	listen_close_unused(srv->listeners, srv->nlisteners, NULL, 0, 0);
	server_table_put(srv->table);
	ratelim_destroy(&srv->hslog);
	budget_free(srv->budget);
	ratelim_destroy(&srv->refusedlog);
	ratelim_destroy(&srv->authlog);
	admission_free(srv->adm);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	for (i = 0; i < 4; i++)
		free(srv->fixed[i]);
	free(srv->conf_path);
	free(srv);
}

/* What the sessions share. */

void
server_handshake_closed(struct server *srv, const char *peer,
    const char *why)
{
	if (ratelim_pass(&srv->hslog, "closed handshakes"))
		log_info("%s: closed: %s", peer, why);
}

void
server_auth_failed(struct server *srv, const char *peer, const char *fmt,
    ...)
{
	char msg[1024];
	va_list ap;

	if (!ratelim_pass(&srv->authlog, "authentication failures"))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: authentication failed: %s", peer, msg);
}

/* Called locked: the session no longer counts as a handshake. */
static void
server_handshake_left(struct server *srv, struct session *s)
{
	admission_leave(srv->adm, (const struct sockaddr *)&s->peer_addr);
}

uint32_t
server_session_admit(struct server *srv, struct session *s)
{
	int max, evicted;

	pthread_mutex_lock(&srv->lock);
	max = srv->max_connections;
	if (!(evicted = s->evicted) && srv->nserved < max) {
		server_handshake_left(srv, s);
		s->admitted = 1;
		srv->nserved++;
	}
	pthread_mutex_unlock(&srv->lock);
	if (s->admitted)
		return ND_HS_OK;
	if (evicted)
		return ND_HS_UNAVAILABLE;	/* its socket is shut down */
	if (ratelim_pass(&srv->refusedlog, "refused connections"))
		log_warnx("%s: too many connections (max_connections %d)",
		    s->peer, max);
	return ND_HS_TOO_MANY;
}

struct budget *
server_budget(struct server *srv)
{
	return srv->budget;
}

void
server_session_done(struct server *srv, struct session *s)
{
	pthread_mutex_lock(&srv->lock);
	if (s->admitted)
		srv->nserved--;
	else if (s->evicted)
		srv->nevicted--;
	else
		server_handshake_left(srv, s);
	TAILQ_REMOVE(&srv->sessions, s, entry);
	srv->nsessions--;
	pthread_cond_broadcast(&srv->cond);
	pthread_mutex_unlock(&srv->lock);
}

/* What the sessions use of the server (session.h). */
static const struct sess_host_ops server_sess_ops = {
	.table_get = server_table_get, .table_put = server_table_put,
	.table_keys = server_table_keys, .table_find = server_table_find,
	.table_replayed = server_table_replayed,
	.auth_failed = server_auth_failed, .admit = server_session_admit,
	.handshake_closed = server_handshake_closed,
	.done = server_session_done, .addr_str = server_addr_str,
};

/* Accepting. */

static void
server_log_refusal(const char *peer, enum admission_refusal why, int cap)
{
	switch (why) {
	case ADMIT_TOTAL:
		log_warnx("%s: connection refused: too many handshakes in "
		    "progress (max_handshakes %d)", peer, cap);
		break;
	case ADMIT_ADDRESS:
		log_warnx("%s: connection refused: too many handshakes from "
		    "this address (max_handshakes_per_address %d)", peer, cap);
		break;
	default:
		log_warnx("%s: connection refused: out of memory", peer);
	}
}

/*
 * Called locked: the oldest handshake of the address with the most
 * handshakes in progress, and that number in *most; NULL if none.
 */
static struct session *
server_busiest_handshake(struct server *srv, int *most)
{
	struct session *s, *victim = NULL;
	int n;

	*most = 0;
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (s->admitted || s->evicted)
			continue;
		n = admission_count(srv->adm,
		    (const struct sockaddr *)&s->peer_addr);
		if (n > *most) {
			*most = n;
			victim = s;
		}
	}
	return victim;
}

/*
 * Called locked, all handshakes taken: make room for a connection from
 * sa by cutting off the oldest handshake of the address with the most
 * of them, if that address has more than sa's.  An attacker who keeps
 * the budget full from a few addresses thus cannot keep out a client
 * from another, and one with many addresses must open connections
 * faster than a client completes its handshake.  1 if one was cut off;
 * 0 if not, or if as many as the budget are still ending.
 */
static int
server_evict(struct server *srv, const struct sockaddr *sa)
{
	struct session *s;
	int most;

	if (srv->nevicted >= srv->max_handshakes ||
	    (s = server_busiest_handshake(srv, &most)) == NULL ||
	    most <= admission_count(srv->adm, sa))
		return 0;
	s->evicted = 1;
	srv->nevicted++;
	admission_leave(srv->adm, (const struct sockaddr *)&s->peer_addr);
	shutdown(s->fd, SHUT_RDWR);
	return 1;
}

/* Called locked: a session for a connection the caps admit, or NULL. */
static struct session *
server_admit_new(struct server *srv, const struct proto_ops *proto, int fd,
    const struct sockaddr *sa, socklen_t len, enum admission_refusal *why)
{
	struct session *s;

	*why = admission_enter(srv->adm, sa, srv->max_handshakes,
	    srv->max_hs_per_addr);
	if (*why == ADMIT_TOTAL && server_evict(srv, sa))
		*why = admission_enter(srv->adm, sa, srv->max_handshakes,
		    srv->max_hs_per_addr);
	if (*why != ADMIT_OK)
		return NULL;
	if ((s = session_new(&srv->host, proto, fd, sa, len,
	    srv->hs_timeout)) == NULL) {
		admission_leave(srv->adm, sa);
		*why = ADMIT_NOMEM;
		return NULL;
	}
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	srv->nsessions++;
	return s;
}

/*
 * A new session, or NULL with the reason logged (rate-limited): the
 * connection is closed at once, before it costs a thread.
 */
static struct session *
server_add_session(struct server *srv, const struct proto_ops *proto, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	enum admission_refusal why;
	struct session *s;
	char peer[SERVER_ADDRSTRLEN];
	int cap;

	pthread_mutex_lock(&srv->lock);
	s = server_admit_new(srv, proto, fd, sa, len, &why);
	cap = why == ADMIT_TOTAL ? srv->max_handshakes : srv->max_hs_per_addr;
	pthread_mutex_unlock(&srv->lock);
	if (s != NULL)
		return s;
	if (!ratelim_pass(&srv->refusedlog, "refused connections"))
		return NULL;
	server_addr_str(sa, peer, sizeof(peer));
	server_log_refusal(peer, why, cap);
	return NULL;
}

static void
server_new_session(struct server *srv, const struct proto_ops *proto, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	struct session *s;

	if ((s = server_add_session(srv, proto, fd, sa, len)) == NULL) {
		close(fd);
		return;
	}
	log_debug("%s: connection accepted", s->peer);
	if (session_start(s) == -1) {
		log_warn("%s: closed: cannot start a thread", s->peer);
		server_session_done(srv, s);
		close(fd);
		session_free(s);
	}
}

/* 0 to go on accepting, -1 to stop for now. */
static int
server_accept_error(struct server *srv, const struct listener *l)
{
	switch (errno) {
	case EINTR:
	case ECONNABORTED:
	case EPROTO:
	case EPERM:
		return 0;
	case EAGAIN:
#if EAGAIN != EWOULDBLOCK
	case EWOULDBLOCK:
#endif
		return -1;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		srv->accept_resume = mono_ms() + ACCEPT_PAUSE_MS;
		break;
	}
	log_warn("accept on %s", l->name);
	return -1;
}

static void
server_accept(struct server *srv, const struct listener *l, int max)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, i;

	for (i = 0; i < max; i++) {
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd != -1)
			server_new_session(srv, l->proto, fd,
			    (struct sockaddr *)&ss, len);
		else if (server_accept_error(srv, l) == -1)
			return;
	}
}

/* The loop. */

static int
min_timeout(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

static void
server_signal(struct server *srv, int sigfd)
{
	struct signalfd_siginfo si;
	ssize_t n;

	n = read(sigfd, &si, sizeof(si));
	if (n != (ssize_t)sizeof(si)) {
		if (n == -1 && errno != EINTR && errno != EAGAIN)
			fatal("read signalfd");
		return;
	}
	if (si.ssi_signo == SIGHUP) {
		server_reload(srv, NULL);
		return;
	}
	log_info("received SIG%s: shutting down",
	    sigabbrev_np((int)si.ssi_signo));
	srv->quit = 1;
}

/* Listeners to poll: none while accepting is paused; *timeout until it resumes. */
static int
server_pollfds(struct server *srv, struct pollfd *pfd, int *timeout)
{
	int64_t now;
	int i;

	*timeout = -1;
	if (srv->accept_resume != 0) {
		if ((now = mono_ms()) < srv->accept_resume) {
			*timeout = (int)(srv->accept_resume - now);
			return 0;
		}
		srv->accept_resume = 0;
	}
	for (i = 0; i < srv->nlisteners; i++) {
		pfd[i].fd = srv->listeners[i].fd;
		pfd[i].events = POLLIN;
		pfd[i].revents = 0;
	}
	return srv->nlisteners;
}

static void
server_poll(struct server *srv, int sigfd)
{
	struct pollfd pfd[2 + CONTROL_MAX_CLIENTS + SERVER_MAX_LISTENERS];
	int i, k = 0, n, timeout;

	pfd[0].fd = sigfd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	n = 1 + server_pollfds(srv, pfd + 1, &timeout);
	if (srv->ctl != NULL)
		k = control_pollfds(srv->ctl, pfd + n, &timeout);
	timeout = min_timeout(timeout, ratelim_flush(&srv->authlog,
	    "authentication failures"));
	timeout = min_timeout(timeout, ratelim_flush(&srv->refusedlog,
	    "refused connections"));
	timeout = min_timeout(timeout, ratelim_flush(&srv->hslog,
	    "closed handshakes"));
	if (poll(pfd, n + k, timeout) == -1) {
		if (errno != EINTR)
			fatal("poll");
		return;
	}
	if (pfd[0].revents & POLLIN) {
		server_signal(srv, sigfd);
		return;		/* a reload may have changed the listeners */
	}
	for (i = 1; i < n; i++)
		if (pfd[i].revents & (POLLIN | POLLERR | POLLHUP))
			server_accept(srv, &srv->listeners[i - 1],
			    ACCEPT_BATCH);
	if (k > 0)
		control_events(srv->ctl, srv, pfd + n, k);
}

/* Called locked: wait until no session is left or the deadline passes. */
static void
server_wait_sessions(struct server *srv, const struct timespec *deadline)
{
	while (srv->nsessions > 0) {
		if (deadline == NULL)
			pthread_cond_wait(&srv->cond, &srv->lock);
		else if (pthread_cond_timedwait(&srv->cond, &srv->lock,
		    deadline) == ETIMEDOUT)
			return;
	}
}

static void
server_deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Tell every session to stop (now: also the handshakes), then wait. */
static void
server_stop_all(struct server *srv, int now, int ms)
{
	struct session *s;
	struct timespec deadline;

	server_deadline(&deadline, ms);
	TAILQ_FOREACH(s, &srv->sessions, entry)
		session_stop(s, now);
	server_wait_sessions(srv, &deadline);
}

/*
 * Sessions stop reading requests and finish the ones in flight; clients
 * in the middle of a handshake get "unavailable" if their hello arrives
 * soon.  Sessions whose clients do not read their replies are cut off.
 */
static void
server_stop_sessions(struct server *srv)
{
	struct session *s;

	pthread_mutex_lock(&srv->lock);
	server_stop_all(srv, 0, HANDSHAKE_GRACE_MS);
	server_stop_all(srv, 1, SHUTDOWN_GRACE * 1000);
	if (srv->nsessions > 0) {
		log_warnx("%d sessions still busy after %d seconds: cutting "
		    "them off", srv->nsessions, SHUTDOWN_GRACE);
		TAILQ_FOREACH(s, &srv->sessions, entry)
			session_abort(s);
		server_wait_sessions(srv, NULL);
	}
	pthread_mutex_unlock(&srv->lock);
}

/*
 * Close the listeners.  The connections already in their backlog are
 * accepted first: their sessions answer "unavailable" instead of a reset.
 */
static void
server_stop_listening(struct server *srv)
{
	int i;

	for (i = 0; i < srv->nlisteners; i++)
		server_accept(srv, &srv->listeners[i], SOMAXCONN);
	listen_close_unused(srv->listeners, srv->nlisteners, NULL, 0, 0);
	srv->nlisteners = 0;
}

static void
server_sync_exports(struct server *srv)
{
	struct export *e;
	size_t i;

	for (i = 0; i < srv->table->nentries; i++) {
		e = srv->table->entries[i].export;
		if (!e->conf.readonly && export_flush(e) == ND_OK)
			log_debug("export \"%s\": synced", e->conf.name);
	}
}

int
server_run(struct server *srv, int sigfd)
{
	if ((srv->wq = workq_create(0)) == NULL)
		return -1;
	srv->host.srv = srv;
	srv->host.ops = &server_sess_ops;
	srv->host.wq = srv->wq;
	srv->host.budget = srv->budget;
	notify_ready(srv->table->nentries);
	while (!srv->quit)
		server_poll(srv, sigfd);
	notify_stopping();
	server_stop_listening(srv);
	server_stop_sessions(srv);
	workq_destroy(srv->wq);
	srv->wq = NULL;
	server_sync_exports(srv);
	return 0;
}
