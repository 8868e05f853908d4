/* SPDX-License-Identifier: ISC */
/*
 * netdiskd: serves the exports of netdisk.conf to netdisk clients.
 * main() only wires the parts together and unwinds in reverse order.
 */
#include "config.h"

#include <sys/signalfd.h>

#include <errno.h>
#include <grp.h>
#include <libutil.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "control.h"
#include "log.h"
#include "server.h"
#include "tls.h"

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: %s [-fhn] [-c file]\n", getprogname());
	exit(status);
}

/* Print every error of a configuration that does not load. */
static struct conf *
load_conf(const char *path)
{
	struct conf *conf;
	char *errors = NULL;

	if ((conf = conf_load(path, &errors)) == NULL) {
		fputs(errors != NULL ? errors : "cannot load configuration\n",
		    stderr);
		free(errors);
	}
	return conf;
}

/* Absolute, so that a reload works after daemon() changed directory. */
static char *
conf_abspath(const char *path)
{
	char *abs;

	if ((abs = realpath(path, NULL)) == NULL &&
	    (abs = strdup(path)) == NULL)
		fatal("strdup");
	return abs;
}

/* The user and group netdiskd runs as, looked up before anything starts. */
struct creds {
	int change;
	char *user;			/* NULL: keep the user */
	uid_t uid;			/* (uid_t)-1: keep */
	gid_t gid;			/* (gid_t)-1: keep */
};

static void
creds_lookup(const struct conf *conf, struct creds *cr)
{
	struct passwd *pw = NULL;
	struct group *gr;

	memset(cr, 0, sizeof(*cr));
	cr->uid = (uid_t)-1;
	cr->gid = (gid_t)-1;
	if (conf->user == NULL && conf->group == NULL)
		return;
	cr->change = 1;
	if (conf->user != NULL) {
		if ((pw = getpwnam(conf->user)) == NULL)
			fatalx("user \"%s\" does not exist", conf->user);
		cr->user = conf->user;
		cr->uid = pw->pw_uid;
		cr->gid = pw->pw_gid;
	}
	if (conf->group != NULL) {
		if ((gr = getgrnam(conf->group)) == NULL)
			fatalx("group \"%s\" does not exist", conf->group);
		cr->gid = gr->gr_gid;
	}
}

static void
drop_privileges(const struct creds *cr)
{
	gid_t gid = cr->gid;

	if (!cr->change)
		return;
	if (cr->user != NULL ? initgroups(cr->user, gid) == -1 :
	    setgroups(1, &gid) == -1)
		fatal("cannot set the supplementary groups");
	if (setresgid(gid, gid, gid) == -1)
		fatal("cannot change group to %u", (unsigned)gid);
	if (cr->user != NULL &&
	    setresuid(cr->uid, cr->uid, cr->uid) == -1)
		fatal("cannot change user to %s", cr->user);
	if (cr->user != NULL && cr->uid != 0 && setuid(0) != -1)
		fatalx("still able to regain root after dropping privileges");
	log_debug("running as %s:%u", cr->user ? cr->user : "(same)",
	    (unsigned)gid);
}

/* The pidfile, taken before anything else: it also refuses a second daemon. */
static struct pidfh *
pidfile_take(const struct conf *conf)
{
	struct pidfh *pfh;
	pid_t other;

	pfh = pidfile_open(conf->pidfile, 0644, &other);
	if (pfh == NULL && errno == EEXIST)
		fatalx("already running as pid %d (%s)", (int)other,
		    conf->pidfile);
	if (pfh == NULL)
		fatal("pidfile %s", conf->pidfile);
	return pfh;
}

static void
daemonize(struct pidfh *pfh, const struct conf *conf)
{
	if (daemon(0, 0) == -1)
		fatal("daemon");
	log_init(0, LOG_DAEMON);
	if (pidfile_write(pfh) == -1)
		log_warn("pidfile %s", conf->pidfile);
}

/* SIGTERM, SIGINT and SIGHUP go to a signalfd the server polls. */
static void
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, set, NULL) == -1)
		fatal("sigprocmask");
	signal(SIGPIPE, SIG_IGN);
}

static int
run(struct conf *conf, const char *conf_path, int foreground)
{
	struct server *srv;
	struct pidfh *pfh = NULL;
	struct creds cr;
	sigset_t set;
	struct control *ctl;
	int sigfd, r;

	log_init(1, LOG_DAEMON);
	log_procname(getprogname());
	log_setlevel(conf->log_level);
	block_signals(&set);
	creds_lookup(conf, &cr);
	if (!foreground)
		pfh = pidfile_take(conf);
	if ((ctl = control_open(conf->control_socket, cr.uid, cr.gid)) == NULL ||
	    (srv = server_create(conf, conf_path)) == NULL) {
		control_close(ctl);
		if (pfh != NULL)
			pidfile_remove(pfh);
		fatalx("cannot start");
	}
	server_set_control(srv, ctl);
	if (!foreground)
		daemonize(pfh, conf);
	drop_privileges(&cr);
	if ((sigfd = signalfd(-1, &set, SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	r = server_run(srv, sigfd);
	close(sigfd);
	server_destroy(srv);
	control_close(ctl);
	if (pfh != NULL)
		pidfile_remove(pfh);
	log_info("exiting");
	return r == 0 ? 0 : 1;
}

/* -n: what the configuration names is readable too (the TLS files). */
static int
check_conf(const struct conf *conf)
{
	struct tls_creds *tls;
	char err[512];

	if ((tls = tls_creds_load(conf, err, sizeof(err))) == NULL &&
	    err[0] != '\0') {
		fprintf(stderr, "%s: %s\n", getprogname(), err);
		return 1;
	}
	tls_creds_put(tls);
	if (conf->warnings != NULL)
		fputs(conf->warnings, stderr);
	printf("configuration OK\n");
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = CONF_DEFAULT_PATH;
	struct conf *conf;
	char *abspath;
	int ch, foreground = 0, check = 0, status;

	while ((ch = getopt(argc, argv, "c:fhn")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			foreground = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'h':
			usage(0);
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	abspath = conf_abspath(path);
	if ((conf = load_conf(path)) == NULL)
		status = 1;
	else if (check)
		status = check_conf(conf);
	else
		status = run(conf, abspath, foreground);
	conf_free(conf);
	free(abspath);
	return status;
}
