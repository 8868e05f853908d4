/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
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
#include "auth.h"
#include "budget.h"
#include "conf.h"
#include "control.h"
#include "export.h"
#include "exports.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "overlay_admin.h"
#include "overlays.h"
#include "proto_nbd.h"
#include "proto_netdisk.h"
#include "report.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "tls.h"
#include "workq.h"

#define SHUTDOWN_GRACE		30	/* seconds before stuck sessions are cut */
#define HANDSHAKE_GRACE_MS	2000	/* for hellos still on their way */
#define ACCEPT_BATCH		64	/* accepts per wakeup */
/* Descriptors besides sessions: stdio, the log, workers, the resolver. */
#define FD_SPARE		32
/* The settings only a restart of the daemon applies. */
#define SERVER_NFIXED		4
/* At exit, for overlay requests to give up (a commit between blocks). */
#define SERVER_ADM_WAIT_MS	5000

struct server {
	char *conf_path;
	time_t started;
	struct control *ctl;		/* the control socket, or NULL */
	struct ovadm *ovadm;		/* its overlay requests */
	/* control_socket, user, group, pidfile: fixed until a restart */
	char *fixed[SERVER_NFIXED];
	struct listeners listeners;
	struct workq *wq;
	struct budget *budget;		/* request payloads in memory */
	struct auth_log *authlog;
	struct sess_host host;		/* what the sessions use of it */
	int quit;

	pthread_mutex_t lock;		/* what follows */
	pthread_cond_t cond;		/* a session left */
	struct export_table *table;
	struct tls_creds *tls;		/* for NBD clients, or NULL */
	TAILQ_HEAD(, session) sessions;
	int nsessions;
	int nserved;			/* sessions past admission */
	struct admission *adm;		/* the others: handshakes */
	int nevicted;			/* handshakes cut off, still ending */
	int max_connections, hs_timeout;
	int max_handshakes, max_hs_per_addr;
};

/* A reference to the current export table (exports_put gives it back). */
static struct export_table *
server_table_get(struct server *srv)
{
	struct export_table *t;

	pthread_mutex_lock(&srv->lock);
	t = exports_ref(srv->table);
	pthread_mutex_unlock(&srv->lock);
	return t;
}

/* Configuration: start-up, reload and restart of one export. */

/*
 * Called locked: 1 if s is the session of a client identity that the
 * current table no longer lets use its export (its key was removed or
 * changed, or the export no longer lists it).
 */
static int
server_revoked_locked(struct server *srv, struct session *s)
{
	struct session_info si;

	if (!session_info(s, &si) || si.identity[0] == '\0')
		return 0;
	return !exports_admits(srv->table, si.export, si.cred);
}

static int
server_revoked(struct server *srv, struct session *s)
{
	int r;

	pthread_mutex_lock(&srv->lock);
	r = server_revoked_locked(srv, s);
	pthread_mutex_unlock(&srv->lock);
	return r;
}

/*
 * Stop the sessions of exports that were retired, and those of client
 * identities that lost their access.
 */
static void
server_stop_retired(struct server *srv)
{
	struct session *s;
	int n = 0, r = 0;

	pthread_mutex_lock(&srv->lock);
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (session_retire(s))
			n++;
		else if (server_revoked_locked(srv, s)) {
			log_info("%s: client \"%s\": access revoked: "
			    "disconnecting", s->peer, s->identity);
			session_revoke(s);
			r++;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	if (n > 0)
		log_info("disconnecting %d session%s of retired exports", n,
		    n == 1 ? "" : "s");
	if (r > 0)
		log_info("disconnecting %d session%s of revoked clients", r,
		    r == 1 ? "" : "s");
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
	exports_retire(old, t, why);
	exports_put(old);
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

/* The caps and limits of conf. */
static void
server_set_limits(struct server *srv, const struct conf *conf)
{
	pthread_mutex_lock(&srv->lock);
	srv->max_connections = conf->max_connections;
	srv->hs_timeout = conf->handshake_timeout;
	srv->max_handshakes = conf->max_handshakes;
	srv->max_hs_per_addr = conf->max_handshakes_per_address;
	pthread_mutex_unlock(&srv->lock);
	budget_set_limit(srv->budget, (size_t)conf->max_request_memory);
}

/* Make tls the credentials of new TLS sessions (those running keep theirs). */
static void
server_swap_tls(struct server *srv, struct tls_creds *tls)
{
	struct tls_creds *old;

	pthread_mutex_lock(&srv->lock);
	old = srv->tls;
	srv->tls = tls;
	pthread_mutex_unlock(&srv->lock);
	tls_creds_put(old);
}

/* A reference to the TLS credentials, or NULL if there are none. */
static struct tls_creds *
server_tls_get(struct server *srv)
{
	struct tls_creds *tls = NULL;

	pthread_mutex_lock(&srv->lock);
	if (srv->tls != NULL)
		tls = tls_creds_ref(srv->tls);
	pthread_mutex_unlock(&srv->lock);
	return tls;
}

/* Swap conf in (exports, then listeners), or change nothing: 0 or -1. */
static int
server_apply(struct server *srv, const struct conf *conf,
    struct report *report)
{
	struct listeners set;
	struct export_table *t;
	struct tls_creds *tls;
	char *warnings, err[512];

	if (conf->warnings != NULL &&
	    (warnings = strdup(conf->warnings)) != NULL) {
		report_lines(report, warnings);
		free(warnings);
	}
	if ((tls = tls_creds_load(conf, err, sizeof(err))) == NULL &&
	    err[0] != '\0') {
		report_warnx(report, "%s", err);
		return -1;
	}
	if ((t = exports_build(conf, srv->table, report)) == NULL) {
		tls_creds_put(tls);
		return -1;
	}
	if (listen_build(&srv->listeners, conf, &set, report) == -1) {
		exports_put(t);
		tls_creds_put(tls);
		return -1;
	}
	listen_commit(&srv->listeners, &set);
	server_swap_tls(srv, tls);
	server_set_limits(srv, conf);
	server_check_nofile(conf, exports_count(t) + (size_t)set.n);
	server_swap(srv, t, "reconfigured");
	log_setlevel(conf->log_level);
	if (exports_count(t) == 0)
		log_warnx("no exports: add an export section to %s and reload",
		    srv->conf_path);
	return 0;
}

static const char *const fixed_keys[SERVER_NFIXED] = {
	"control_socket", "user", "group", "pidfile"
};

static void
server_fixed_values(const struct conf *conf, const char *v[SERVER_NFIXED])
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
	const char *v[SERVER_NFIXED];
	int i;

	server_fixed_values(conf, v);
	for (i = 0; i < SERVER_NFIXED; i++)
		if (v[i] != NULL && (srv->fixed[i] = strdup(v[i])) == NULL)
			return -1;
	return 0;
}

/* Note the changed settings that wait for a restart of netdiskd. */
static void
server_check_fixed(struct server *srv, const struct conf *conf,
    struct report *report)
{
	const char *v[SERVER_NFIXED];
	char msg[128];
	int i;

	server_fixed_values(conf, v);
	for (i = 0; i < SERVER_NFIXED; i++) {
		if ((v[i] == NULL) == (srv->fixed[i] == NULL) &&
		    (v[i] == NULL || strcmp(v[i], srv->fixed[i]) == 0))
			continue;
		snprintf(msg, sizeof(msg), "%s changed: takes effect when "
		    "netdiskd restarts", fixed_keys[i]);
		report_note(report, msg);
	}
}

int
server_reload(struct server *srv, FILE *out)
{
	struct report report;
	struct conf *conf;
	char *errors = NULL;
	int r = -1;

	report_init(&report, out);
	log_info("reloading %s", srv->conf_path);
	notify_reloading();
	if ((conf = conf_load(srv->conf_path, &errors)) == NULL) {
		report_lines(&report, errors);
		free(errors);
	} else if ((r = server_apply(srv, conf, &report)) == 0) {
		server_check_fixed(srv, conf, &report);
		log_info("configuration reloaded");
	}
	conf_free(conf);
	if (r == -1)
		log_warnx("reload failed: keeping the running configuration");
	notify_ready(exports_count(srv->table));
	return r;
}

int
server_restart_export(struct server *srv, const char *name, FILE *out)
{
	struct report report;
	struct export_table *t;

	if (exports_lookup(srv->table, name) == NULL) {
		errno = ENOENT;
		return -1;
	}
	report_init(&report, out);
	log_info("export \"%s\": restarting", name);
	if ((t = exports_reopen(srv->table, name, &report)) == NULL)
		return -1;
	server_swap(srv, t, "restarted");
	return 0;
}

/* Status. */

/* An overlay client's usage of its overlay. */
static void
server_status_overlay(struct status_export *e, const struct session_info *si)
{
	struct overlays_usage u;

	if (si->export->overlays != NULL && si->identity[0] != '\0' &&
	    overlays_usage(si->export->overlays, si->identity, &u))
		status_client_overlay(e, si->client_id, si->identity,
		    u.allocated, u.quota);
}

/* The clients of every current export.  0, or -1 out of memory. */
static int
server_status_sessions(struct server *srv, struct status *st)
{
	struct session_info si;
	struct session *s;
	size_t i, n = exports_count(srv->table);
	int r = 0;

	pthread_mutex_lock(&srv->lock);
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (!session_info(s, &si))
			continue;
		for (i = 0; i < n; i++)
			if (exports_at(srv->table, i) == si.export)
				break;
		if (i == n)
			continue;
		if (status_add_client(&st->exports[i], si.client_id,
		    si.identity, &si.addr, si.since) == -1) {
			r = -1;
			continue;
		}
		server_status_overlay(&st->exports[i], &si);
		if (si.failure.error != 0)
			status_client_failed(&st->exports[i], si.client_id,
			    si.identity, &si.failure, si.overlay);
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
	const struct listeners *ls = &srv->listeners;
	int i;

	memset(st, 0, sizeof(*st));
	st->pid = getpid();
	st->config = srv->conf_path;
	st->started = srv->started;
	budget_info(srv->budget, &st->memory);
	st->listen = calloc(ls->n + 1, sizeof(*st->listen));
	if (st->listen == NULL || exports_status(srv->table, st) == -1)
		goto fail;
	st->identities = exports_identities(srv->table);
	for (i = 0; i < ls->n; i++)
		snprintf(st->listen[i], sizeof(st->listen[i]), "%s",
		    ls->l[i].name);
	st->nlisten = ls->n;
	if (server_status_sessions(srv, st) == 0)
		return 0;
fail:
	status_free(st);
	errno = ENOMEM;
	return -1;
}

static int
server_ctl_status(void *arg, struct status *st)
{
	return server_status(arg, st);
}

static int
server_ctl_reload(void *arg, FILE *report)
{
	return server_reload(arg, report);
}

static int
server_ctl_restart(void *arg, const char *name, FILE *report)
{
	return server_restart_export(arg, name, report);
}

static int
server_ctl_overlay(void *arg, int fd, const char *request)
{
	struct server *srv = arg;

	return ovadm_start(srv->ovadm, fd, request);
}

static const struct control_ops server_control_ops = {
	.status = server_ctl_status,
	.reload = server_ctl_reload,
	.restart = server_ctl_restart,
	.overlay = server_ctl_overlay,
};

/* What the overlay requests use of the server (overlay_admin.h). */

static struct export_table *
server_adm_table(void *arg)
{
	return server_table_get(arg);
}

static void
server_adm_sessions(void *arg, void (*fn)(void *, struct session *),
    void *fnarg)
{
	struct server *srv = arg;
	struct session *s;

	pthread_mutex_lock(&srv->lock);
	TAILQ_FOREACH(s, &srv->sessions, entry)
		fn(fnarg, s);
	pthread_mutex_unlock(&srv->lock);
}

static const struct ovadm_host_ops server_adm_ops = {
	.table = server_adm_table,
	.sessions = server_adm_sessions,
};

/* Start and end. */

static struct server *
server_alloc(const struct conf *conf, const char *conf_path)
{
	struct server *srv;
	pthread_condattr_t ca;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return NULL;
	srv->started = time(NULL);
	pthread_mutex_init(&srv->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cond, &ca);
	pthread_condattr_destroy(&ca);
	TAILQ_INIT(&srv->sessions);
	if ((srv->conf_path = strdup(conf_path)) == NULL ||
	    (srv->authlog = auth_log_new()) == NULL ||
	    (srv->adm = admission_new()) == NULL ||
	    (srv->budget = budget_new((size_t)conf->max_request_memory)) ==
	    NULL || (srv->ovadm = ovadm_new(&server_adm_ops, srv)) == NULL ||
	    server_fix(srv, conf) == -1) {
		server_destroy(srv);
		return NULL;
	}
	return srv;
}

struct server *
server_create(const struct conf *conf, const char *conf_path)
{
	struct server *srv;

	if ((srv = server_alloc(conf, conf_path)) == NULL) {
		log_warnx("out of memory");
		return NULL;
	}
	if (server_apply(srv, conf, NULL) == -1) {
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
	ovadm_free(srv->ovadm, SERVER_ADM_WAIT_MS);
	workq_destroy(srv->wq);
	listen_close(&srv->listeners);
	exports_put(srv->table);
	tls_creds_put(srv->tls);
	budget_free(srv->budget);
	admission_free(srv->adm);
	auth_log_free(srv->authlog);
	pthread_cond_destroy(&srv->cond);
	pthread_mutex_destroy(&srv->lock);
	for (i = 0; i < SERVER_NFIXED; i++)
		free(srv->fixed[i]);
	free(srv->conf_path);
	free(srv);
}

/* What the sessions use of the server (struct sess_host, session.h). */

static void
server_auth_failed(struct server *srv, const char *peer, const char *fmt,
    ...)
{
	va_list ap;

	va_start(ap, fmt);
	auth_vfailed(srv->authlog, peer, fmt, ap);
	va_end(ap);
}

static void
server_handshake_closed(struct server *srv, const char *peer, const char *why)
{
	auth_handshake_closed(srv->authlog, peer, why);
}

/* Called locked: the session no longer counts as a handshake. */
static void
server_handshake_left(struct server *srv, struct session *s)
{
	admission_leave(srv->adm, (const struct sockaddr *)&s->peer_addr);
}

/*
 * The session's hello authenticated: it stops counting against the
 * handshake caps and takes one of max_connections.  ND_HS_OK, or
 * ND_HS_TOO_MANY (logged, rate-limited) if they are all taken.
 */
static uint32_t
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
	if (auth_refusal_pass(srv->authlog))
		log_warnx("%s: too many connections (max_connections %d)",
		    s->peer, max);
	return ND_HS_TOO_MANY;
}

/*
 * Take back an admission whose claim was refused, for a protocol whose
 * negotiation goes on (NBD): the session counts as a handshake again.
 * -1 if the handshake caps have no room for it now; then it counts as
 * one cut off, and must end.
 */
static int
server_session_unadmit(struct server *srv, struct session *s)
{
	int r = 0;

	pthread_mutex_lock(&srv->lock);
	if (s->admitted) {
		s->admitted = 0;
		srv->nserved--;
		if (admission_enter(srv->adm,
		    (const struct sockaddr *)&s->peer_addr, srv->max_handshakes,
		    srv->max_hs_per_addr) != ADMIT_OK) {
			s->evicted = 1;
			srv->nevicted++;
			r = -1;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return r;
}

/* The session's last call into the server: it leaves the session list. */
static void
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

/* Export i of t, no reference taken; NULL past the last. */
static struct export *
server_table_at(const struct export_table *t, size_t i)
{
	return i < exports_count(t) ? exports_at(t, i) : NULL;
}

static const struct sess_host_ops server_sess_ops = {
	.table_get = server_table_get, .table_put = exports_put,
	.table_keyring = exports_keyring, .table_find = exports_find,
	.table_at = server_table_at, .tls_get = server_tls_get,
	.table_replayed = exports_replayed, .table_identity = exports_identity,
	.revoked = server_revoked,
	.auth_failed = server_auth_failed, .admit = server_session_admit,
	.unadmit = server_session_unadmit,
	.handshake_closed = server_handshake_closed,
	.done = server_session_done, .addr_str = listen_addr_str,
};

/* Accepting. */

/* The protocol of the connections a listener accepts. */
static const struct proto_ops *
server_proto(enum listen_proto proto)
{
	switch (proto) {
	case LISTEN_PROTO_NBD:
		return &proto_nbd;
	case LISTEN_PROTO_NETDISK:
		break;
	}
	return &proto_netdisk;
}

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
	char peer[LISTEN_ADDRSTRLEN];
	int cap;

	pthread_mutex_lock(&srv->lock);
	s = server_admit_new(srv, proto, fd, sa, len, &why);
	cap = why == ADMIT_TOTAL ? srv->max_handshakes : srv->max_hs_per_addr;
	pthread_mutex_unlock(&srv->lock);
	if (s != NULL)
		return s;
	if (!auth_refusal_pass(srv->authlog))
		return NULL;
	listen_addr_str(sa, peer, sizeof(peer));
	server_log_refusal(peer, why, cap);
	return NULL;
}

/* A connection accepted on l (listen.h). */
static void
server_accepted(void *arg, const struct listener *l, int fd,
    const struct sockaddr *sa, socklen_t len)
{
	struct server *srv = arg;
	struct session *s;

	s = server_add_session(srv, server_proto(l->proto), fd, sa, len);
	if (s == NULL) {
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

/* The loop. */

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

/*
 * Close the overlays whose hold is over, and have the poll's timeout
 * (ms, -1: none) end by the next one due.
 */
static void
server_expire(struct server *srv, int *timeout)
{
	size_t i;
	int next;

	for (i = 0; i < exports_count(srv->table); i++) {
		next = export_expire(exports_at(srv->table, i));
		if (next >= 0 && (*timeout < 0 || next < *timeout))
			*timeout = next;
	}
}

static void
server_poll(struct server *srv, int sigfd)
{
	struct pollfd pfd[2 + CONTROL_MAX_CLIENTS + LISTEN_MAX];
	int i, k = 0, n, timeout;

	pfd[0].fd = sigfd;
	pfd[0].events = POLLIN;
	pfd[0].revents = 0;
	n = 1 + listen_pollfds(&srv->listeners, pfd + 1, &timeout);
	if (srv->ctl != NULL)
		k = control_pollfds(srv->ctl, pfd + n, &timeout);
	auth_log_flush(srv->authlog, &timeout);
	server_expire(srv, &timeout);
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
			listen_accept(&srv->listeners, i - 1, ACCEPT_BATCH,
			    server_accepted, srv);
	if (k > 0)
		control_events(srv->ctl, &server_control_ops, srv, pfd + n, k);
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

	for (i = 0; i < srv->listeners.n; i++)
		listen_accept(&srv->listeners, i, SOMAXCONN, server_accepted,
		    srv);
	listen_close(&srv->listeners);
}

static void
server_sync_exports(struct server *srv)
{
	struct export *e;
	size_t i;

	for (i = 0; i < exports_count(srv->table); i++) {
		e = exports_at(srv->table, i);
		if (!e->conf.readonly && e->overlays == NULL &&
		    export_flush(e, NULL) == ND_OK)
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
	notify_ready(exports_count(srv->table));
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
