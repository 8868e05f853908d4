/* SPDX-License-Identifier: ISC */
/*
 * netdisk.conf.  inih reads the file through conf_reader(), which counts
 * lines and follows section headers itself (inih passes neither the line
 * number nor section names longer than 49 bytes).  conf_handler() hands
 * each key to its parse function, which fills a fresh struct conf and
 * records every error; conf_validate() then checks what needs the whole
 * file.  All errors come back sorted by line as "FILE:LINE: message".
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ini.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "conf.h"
#include "key.h"
#include "uri.h"
#include "util.h"

#define CONF_FILE_MAX		(1024 * 1024)
#define CONF_SPACE		" \t\n\v\f\r"
#define CONF_LIST_SEP		", \t"
#define CONF_PIDFILE		"/run/netdiskd.pid"
#define CONF_MAX_CONNECTIONS	256
#define CONF_HANDSHAKE_TIMEOUT	10
#define CONF_MAX_HANDSHAKES	128
#define CONF_MAX_HANDSHAKES_PER_ADDRESS	32
/*
 * Request payloads in memory at once, all sessions together: 256 full
 * 1 MiB requests, plenty to keep a fast store busy, and a fixed figure
 * an administrator can plan with (8 sessions at their own 32 MiB cap).
 */
#define CONF_MAX_REQUEST_MEMORY	(256ULL * 1024 * 1024)
#define CONF_MAX_REQUEST_MEMORY_MAX	(1ULL << 40)

enum conf_section { SEC_NONE, SEC_GLOBAL, SEC_EXPORT, SEC_CLIENT, SEC_BAD };
#define CONF_CLIENT_SECTION	"client"	/* [client NAME] */
#define CONF_CLIENT_KEY_SUFFIX	".key"		/* clients_dir/NAME.key */
#define CONF_CLIENTS_MAX	100000
enum conf_lines { ONE_LINE, LIST_LINES, TEXT_LINES };

struct parser;

struct conf_key {
	const char *name;
	void (*parse)(struct parser *, const char *);
	enum conf_lines lines;		/* may indented lines continue it? */
};

struct conf_error {
	int line;
	size_t seq;
	char *msg;
};

/* A key file loaded, for the owner check once the user is known. */
struct conf_keyfile {
	int line;
	char *where;			/* "[global]" or "export \"NAME\"" */
	const char *what;		/* "keyfile" or "clients_dir" */
	char *path;
	uid_t owner;
};

struct parser {
	const char *file;		/* as given: errors name it so */
	char *dir;			/* absolute; relative paths start here */
	struct conf *conf;

	char *buf;			/* the whole file */
	size_t len, pos;
	int lineno;			/* of the line inih is working on */
	int cont;			/* it continues the previous key */
	int expect;			/* it must reach conf_handler() */
	int prev_key;			/* a key line since the section header */

	enum conf_section sec;
	char *secname;
	struct conf_export *export;	/* SEC_EXPORT */
	int client;			/* SEC_CLIENT: its index, -1: none */
	const struct conf_key *keys;	/* the section's keys */
	const struct conf_key *last;	/* the key indented lines continue */
	uint32_t seen;			/* keys given in this section */
	int seen_line[32];
	int key_line;			/* key or keyfile given here */
	const struct conf_key *list;	/* listen or allow given here */
	int list_line, list_count;
	int global_line;		/* of the first [global] */
	int global_key_line;		/* [global] has key or keyfile */
	int min_version_line;		/* [global] has min_version */
	struct conf_exports discard;	/* export sections in error */

	struct conf_error *errs;
	size_t nerrs;
	int nomem;

	mode_t mode;			/* of the file */
	struct conf_error *warns;	/* valid but risky */
	size_t nwarns;
	struct conf_keyfile *keyfiles;
	size_t nkeyfiles;
};

static void conf_err(struct parser *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void sec_err(struct parser *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void sec_err_at(struct parser *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));
static void sec_verr(struct parser *, int, const char *, va_list)
    __attribute__((format(printf, 3, 0)));

/* Errors. */

static void
conf_verr(struct parser *p, int line, const char *fmt, va_list ap)
{
	struct conf_error *errs;
	char *msg;

	if (vasprintf(&msg, fmt, ap) == -1) {
		p->nomem = 1;
		return;
	}
	errs = reallocarray(p->errs, p->nerrs + 1, sizeof(*errs));
	if (errs == NULL) {
		free(msg);
		p->nomem = 1;
		return;
	}
	p->errs = errs;
	errs[p->nerrs].line = line;
	errs[p->nerrs].seq = p->nerrs;
	errs[p->nerrs++].msg = msg;
}

static void
conf_err(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_verr(p, line, fmt, ap);
	va_end(ap);
}

/* An error prefixed with the section it is in. */
static void
sec_verr(struct parser *p, int line, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (p->sec == SEC_GLOBAL)
		conf_err(p, line, "[global]: %s", msg);
	else if (p->sec == SEC_CLIENT)
		conf_err(p, line, "client \"%s\": %s", p->secname, msg);
	else
		conf_err(p, line, "export \"%s\": %s", p->secname, msg);
}

/* An error on the current line, prefixed with its section. */
static void
sec_err(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sec_verr(p, p->lineno, fmt, ap);
	va_end(ap);
}

static void
sec_err_at(struct parser *p, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sec_verr(p, line, fmt, ap);
	va_end(ap);
}

static int
err_cmp(const void *a, const void *b)
{
	const struct conf_error *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Messages as "FILE:LINE: message\n" lines, sorted by line. */
static char *
list_join(const char *file, struct conf_error *list, size_t n)
{
	char *out = NULL;
	size_t i, size = 0;
	FILE *f;

	qsort(list, n, sizeof(*list), err_cmp);
	if ((f = open_memstream(&out, &size)) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		fprintf(f, "%s:%d: %s\n", file, list[i].line, list[i].msg);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static char *
err_join(struct parser *p)
{
	if (p->nomem)
		conf_err(p, p->lineno, "out of memory");
	return list_join(p->file, p->errs, p->nerrs);
}

/* "[global]" or "export \"NAME\"": where the parser is. */
static char *
sec_where(struct parser *p)
{
	char *s;

	if (p->sec == SEC_GLOBAL)
		s = strdup("[global]");
	else if (asprintf(&s, "%s \"%s\"", p->sec == SEC_CLIENT ? "client" :
	    "export", p->secname) == -1)
		s = NULL;
	if (s == NULL)
		p->nomem = 1;
	return s;
}

/* A warning on line: the file is valid, but risky.  msg: malloc'd. */
static void
warn_add(struct parser *p, int line, char *msg)
{
	struct conf_error *w;

	if (msg == NULL ||
	    (w = reallocarray(p->warns, p->nwarns + 1, sizeof(*w))) == NULL) {
		p->nomem = 1;
		free(msg);
		return;
	}
	p->warns = w;
	w[p->nwarns].line = line;
	w[p->nwarns].seq = p->nwarns;
	w[p->nwarns++].msg = msg;
}

/* A warning on the current line, prefixed with its section. */
static void __attribute__((format(printf, 2, 3)))
sec_warn(struct parser *p, const char *fmt, ...)
{
	char msg[1024], *where, *line = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if ((where = sec_where(p)) != NULL &&
	    asprintf(&line, "%s: warning: %s", where, msg) == -1)
		line = NULL;
	free(where);
	warn_add(p, p->lineno, line);
}

/* A warning found by the validation, on line. */
static void __attribute__((format(printf, 3, 4)))
warn_at(struct parser *p, int line, const char *fmt, ...)
{
	char *msg = NULL, *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		msg = NULL;
	va_end(ap);
	if (msg != NULL && asprintf(&out, "warning: %s", msg) == -1)
		out = NULL;
	free(msg);
	warn_add(p, line, out);
}

/* Small helpers for the parse functions. */

static char *
conf_strdup(struct parser *p, const char *s)
{
	char *d;

	if ((d = strdup(s)) == NULL)
		p->nomem = 1;
	return d;
}

static void
conf_setstr(struct parser *p, char **field, const char *s)
{
	char *d;

	if ((d = conf_strdup(p, s)) == NULL)
		return;
	free(*field);
	*field = d;
}

/* dir/name, without doubling a slash. */
static char *
path_join(struct parser *p, const char *dir, const char *name)
{
	size_t dl = strlen(dir);
	char *s;

	if (asprintf(&s, "%s%s%s", dir, dl > 0 && dir[dl - 1] == '/' ? "" :
	    "/", name) == -1) {
		p->nomem = 1;
		return NULL;
	}
	return s;
}

/* A path value, made absolute against the config file's directory. */
static char *
conf_path(struct parser *p, const char *name, const char *value)
{
	if (value[0] == '\0') {
		sec_err(p, "%s is empty", name);
		return NULL;
	}
	if (value[0] == '/')
		return conf_strdup(p, value);
	return path_join(p, p->dir, value);
}

static void
conf_setpath(struct parser *p, char **field, const char *name,
    const char *value)
{
	char *path;

	if ((path = conf_path(p, name, value)) != NULL) {
		free(*field);
		*field = path;
	}
}

/* A whole number in min..max. */
static void
conf_int(struct parser *p, const char *name, const char *value, int min,
    int max, int *out)
{
	long long v;
	char *end;

	errno = 0;
	v = strtoll(value, &end, 10);
	if ((value[0] != '-' && (value[0] < '0' || value[0] > '9')) ||
	    *end != '\0')
		sec_err(p, "%s \"%s\" is not a number", name, value);
	else if (errno == ERANGE || v < min || v > max) {
		if (max == INT_MAX)
			sec_err(p, "%s \"%s\" is out of range (%d or more)",
			    name, value, min);
		else
			sec_err(p, "%s \"%s\" is out of range (%d-%d)", name,
			    value, min, max);
	} else
		*out = (int)v;
}

static void
conf_bool(struct parser *p, const char *name, const char *value, int *out)
{
	if (parse_bool(value, out) == -1)
		sec_err(p, "%s \"%s\" is not a boolean (use yes or no)", name,
		    value);
}

/* Calls add for every comma or space separated word of value. */
static void
conf_list(struct parser *p, const char *value,
    void (*add)(struct parser *, const char *))
{
	char *copy, *word, *save;

	if (!p->cont)
		p->list_line = p->lineno;
	if ((copy = conf_strdup(p, value)) == NULL)
		return;
	for (word = strtok_r(copy, CONF_LIST_SEP, &save); word != NULL;
	    word = strtok_r(NULL, CONF_LIST_SEP, &save)) {
		p->list_count++;
		add(p, word);
	}
	free(copy);
}

/* Keys: both sections. */

/* key and keyfile exclude each other. */
static int
key_conflict(struct parser *p, const char *name)
{
	if (p->key_line != 0) {
		sec_err(p, "%s: a key is already set on line %d (use key or "
		    "keyfile, not both)", name, p->key_line);
		return 1;
	}
	p->key_line = p->lineno;
	if (p->sec == SEC_GLOBAL)
		p->global_key_line = p->lineno;
	else if (p->sec == SEC_EXPORT)
		p->export->own_key = 1;	/* even if the key fails to load */
	return 0;
}

static void
key_set(struct parser *p, const uint8_t key[ND_KEY_LEN])
{
	struct conf_client *cl;

	if (p->sec == SEC_GLOBAL) {
		memcpy(p->conf->key, key, ND_KEY_LEN);
		p->conf->has_key = 1;
	} else if (p->sec == SEC_CLIENT) {
		if (p->client < 0)
			return;
		cl = &p->conf->clients[p->client];
		memcpy(cl->key, key, ND_KEY_LEN);
		cl->has_key = 1;
	} else {
		memcpy(p->export->key, key, ND_KEY_LEN);
		p->export->has_key = 1;
		p->export->own_key = 1;
	}
}

static void
opt_key(struct parser *p, const char *value)
{
	uint8_t key[ND_KEY_LEN];

	if (key_conflict(p, "key"))
		return;
	if (p->mode & (S_IRGRP | S_IROTH))
		sec_warn(p, "the key is written in the file, which group or "
		    "others can read (mode %04o): use keyfile, or chmod 600 %s",
		    (unsigned int)(p->mode & 07777), p->file);
	if (key_parse_hex(value, key) == -1)
		sec_err(p, "key is not a 256-bit key (expected 64 hex digits)");
	else
		key_set(p, key);
	explicit_bzero(key, sizeof(key));
}

/* Remember a key file's owner for keyfile_check; takes path. */
static void
keyfile_note(struct parser *p, const char *what, char *path, uid_t owner)
{
	struct conf_keyfile *k;

	k = reallocarray(p->keyfiles, p->nkeyfiles + 1, sizeof(*k));
	if (k == NULL) {
		p->nomem = 1;
		free(path);
		return;
	}
	p->keyfiles = k;
	k += p->nkeyfiles++;
	k->line = p->lineno;
	k->where = sec_where(p);
	k->what = what;
	k->path = path;
	k->owner = owner;
}

/*
 * The key file that setting what names (value) into key: its absolute
 * path (the caller's, for keyfile_note) and *owner, or NULL (reported).
 */
static char *
keyfile_load(struct parser *p, const char *what, const char *value,
    uint8_t key[ND_KEY_LEN], uid_t *owner)
{
	char err[PATH_MAX + 256];
	char *path;

	if ((path = conf_path(p, what, value)) == NULL)
		return NULL;
	if (key_load_file_owner(path, key, owner, err, sizeof(err)) == -1) {
		if (strcmp(what, "keyfile") == 0)
			sec_err(p, "%s", err);	/* "keyfile \"PATH\": ..." */
		else
			sec_err(p, "%s: %s", what, err);
		free(path);
		return NULL;
	}
	return path;
}

static void
opt_keyfile(struct parser *p, const char *value)
{
	uint8_t key[ND_KEY_LEN];
	char *path;
	uid_t owner;

	if (key_conflict(p, "keyfile"))
		return;
	if ((path = keyfile_load(p, "keyfile", value, key, &owner)) != NULL) {
		key_set(p, key);
		if (p->sec == SEC_CLIENT && p->client >= 0)
			conf_setstr(p, &p->conf->clients[p->client].keyfile,
			    path);
		keyfile_note(p, "keyfile", path, owner);
	}
	explicit_bzero(key, sizeof(key));
}

/* [global] server_key: the static X25519 private key of version 3. */
static void
opt_server_key(struct parser *p, const char *value)
{
	uint8_t key[ND_KEY_LEN];
	char *path;
	uid_t owner;

	if ((path = keyfile_load(p, "server_key", value, key, &owner)) !=
	    NULL) {
		memcpy(p->conf->server_key, key, ND_KEY_LEN);
		p->conf->has_server_key = 1;
		keyfile_note(p, "server_key", path, owner);
	}
	explicit_bzero(key, sizeof(key));
}

static void
opt_min_version(struct parser *p, const char *value)
{
	conf_int(p, "min_version", value, ND_VERSION_2, ND_VERSION_3,
	    &p->conf->min_version);
	p->min_version_line = p->lineno;
}

/* Client identities: [client NAME] and clients_dir. */

int
conf_client_name_valid(const char *name)
{
	size_t len;

	if (name == NULL || name[0] == '.' || name[0] == '-')
		return 0;
	len = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-");
	return len >= 1 && len <= CONF_CLIENT_NAME_MAX && name[len] == '\0';
}

#define CONF_CLIENT_NAME_RULE	"use 1 to 64 of A-Z a-z 0-9 . _ -, not " \
	"starting with \".\" or \"-\""

/* A new identity (its key still to be set): its index, or -1. */
static int
client_add(struct parser *p, const char *name)
{
	struct conf *c = p->conf;
	struct conf_client *v;

	if (c->nclients >= CONF_CLIENTS_MAX) {
		sec_err(p, "more than %d client identities", CONF_CLIENTS_MAX);
		return -1;
	}
	v = reallocarray(c->clients, (size_t)c->nclients + 1, sizeof(*v));
	if (v == NULL) {
		p->nomem = 1;
		return -1;
	}
	c->clients = v;
	v += c->nclients;
	memset(v, 0, sizeof(*v));
	strlcpy(v->name, name, sizeof(v->name));
	v->line = p->lineno;
	return c->nclients++;
}

/* DIR/NAME.key, a file of clients_dir: identity NAME. */
static void
clients_dir_entry(struct parser *p, const char *dir, const char *file)
{
	char err[PATH_MAX + 256], name[NAME_MAX + 1], *path;
	uint8_t key[ND_KEY_LEN];
	size_t len = strlen(file) - strlen(CONF_CLIENT_KEY_SUFFIX);
	uid_t owner;
	int i;

	memcpy(name, file, len);
	name[len] = '\0';
	if (!conf_client_name_valid(name)) {
		sec_err(p, "clients_dir \"%s\": \"%s\": \"%s\" is not a valid "
		    "client name (" CONF_CLIENT_NAME_RULE ")", dir, file, name);
		return;
	}
	if ((path = path_join(p, dir, file)) == NULL)
		return;
	if (key_load_file_owner(path, key, &owner, err, sizeof(err)) == -1)
		sec_err(p, "clients_dir \"%s\": %s", dir, err);
	else if ((i = client_add(p, name)) >= 0) {
		memcpy(p->conf->clients[i].key, key, ND_KEY_LEN);
		p->conf->clients[i].has_key = 1;
		p->conf->clients[i].keyfile = conf_strdup(p, path);
		keyfile_note(p, "keyfile", path, owner);
		path = NULL;
	}
	free(path);
	explicit_bzero(key, sizeof(key));
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAME.key files of dir (not starting with "."), sorted; -1: errno. */
static int
clients_dir_list(const char *dir, char ***names, size_t *n)
{
	size_t sl = strlen(CONF_CLIENT_KEY_SUFFIX), len;
	struct dirent *d;
	char **v;
	DIR *dp;

	*names = NULL;
	*n = 0;
	if ((dp = opendir(dir)) == NULL)
		return -1;
	while ((d = readdir(dp)) != NULL) {
		len = strlen(d->d_name);
		if (d->d_name[0] == '.' || len <= sl ||
		    strcmp(d->d_name + len - sl, CONF_CLIENT_KEY_SUFFIX) != 0)
			continue;
		if ((v = reallocarray(*names, *n + 1, sizeof(*v))) == NULL ||
		    (v[*n] = strdup(d->d_name)) == NULL) {
			*names = v != NULL ? v : *names;
			closedir(dp);
			errno = ENOMEM;
			return -1;
		}
		*names = v;
		(*n)++;
	}
	closedir(dp);
	if (*n > 0)
		qsort(*names, *n, sizeof(**names), str_cmp);
	return 0;
}

/* Who may change the directory may add or rename identities. */
static int
clients_dir_check(struct parser *p, const char *dir)
{
	struct stat st;
	char *copy;

	if (stat(dir, &st) == -1) {
		sec_err(p, "clients_dir \"%s\": %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		sec_err(p, "clients_dir \"%s\": not a directory", dir);
		return -1;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		sec_err(p, "clients_dir \"%s\": writable by group or others "
		    "(mode %04o; chmod 700)", dir,
		    (unsigned int)(st.st_mode & 07777));
		return -1;
	}
	if ((copy = conf_strdup(p, dir)) == NULL)
		return -1;
	keyfile_note(p, "clients_dir", copy, st.st_uid);
	return 0;
}

static void
opt_clients_dir(struct parser *p, const char *value)
{
	char *dir, **names;
	size_t i, n;

	if ((dir = conf_path(p, "clients_dir", value)) == NULL)
		return;
	if (clients_dir_check(p, dir) == -1) {
		free(dir);
		return;
	}
	if (clients_dir_list(dir, &names, &n) == -1)
		sec_err(p, "clients_dir \"%s\": %s", dir, strerror(errno));
	for (i = 0; i < n; i++) {
		clients_dir_entry(p, dir, names[i]);
		free(names[i]);
	}
	free(names);
	free(p->conf->clients_dir);
	p->conf->clients_dir = dir;
}

/* One word of an export's clients list: "*" or a name. */
static void
clients_add(struct parser *p, const char *word)
{
	struct conf_export *e = p->export;
	char **v;

	if (strcmp(word, "*") == 0) {
		e->clients_all = 1;
		return;
	}
	if (!conf_client_name_valid(word)) {
		sec_err(p, "clients: \"%s\" is not a valid client name ("
		    CONF_CLIENT_NAME_RULE ")", word);
		return;
	}
	v = reallocarray(e->client_names, (size_t)e->nclients + 1,
	    sizeof(*v));
	if (v == NULL || (v[e->nclients] = conf_strdup(p, word)) == NULL) {
		if (v != NULL)
			e->client_names = v;
		p->nomem = 1;
		return;
	}
	e->client_names = v;
	e->nclients++;
}

static void
opt_clients(struct parser *p, const char *value)
{
	if (!p->cont)
		p->export->clients_line = p->lineno;
	conf_list(p, value, clients_add);
}

/* Keys: [global]. */

/* "*", "*:PORT", "ADDR", "ADDR:PORT", "V6", "[V6]", "[V6]:PORT". */
static int
listen_parse(const char *s, struct conf_listen *l)
{
	const char *host = s, *port = NULL, *colon = strchr(s, ':');
	size_t hlen = strlen(s);
	uint8_t a[16];
	int af = AF_INET;

	if (s[0] == '[') {
		if ((colon = strchr(s, ']')) == NULL ||
		    (colon[1] != '\0' && colon[1] != ':'))
			return -1;
		host = s + 1;
		hlen = (size_t)(colon - host);
		port = colon[1] == ':' ? colon + 2 : NULL;
		af = AF_INET6;
	} else if (colon != NULL && strchr(colon + 1, ':') != NULL)
		af = AF_INET6;
	else if (colon != NULL) {
		hlen = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(l->host))
		return -1;
	memcpy(l->host, host, hlen);
	l->host[hlen] = '\0';
	if (port != NULL && uri_port_parse(port, strlen(port), l->port) == -1)
		return -1;
	if (af == AF_INET && strcmp(l->host, "*") == 0)
		l->host[0] = '\0';
	else if (inet_pton(af, l->host, a) != 1)
		return -1;
	return 0;
}

/* One address of the list key name, appended to *list. */
static void
listen_append(struct parser *p, const char *name, const char *word,
    struct conf_listen **list, int *n)
{
	struct conf_listen l, *v;

	memset(&l, 0, sizeof(l));
	if (listen_parse(word, &l) == -1) {
		sec_err(p, "%s \"%s\" is not an address (use ADDR, "
		    "ADDR:PORT, [IPV6]:PORT or *)", name, word);
		return;
	}
	if ((v = reallocarray(*list, (size_t)*n + 1, sizeof(*v))) == NULL) {
		p->nomem = 1;
		return;
	}
	*list = v;
	v[(*n)++] = l;
}

static void
listen_add(struct parser *p, const char *word)
{
	listen_append(p, "listen", word, &p->conf->listen, &p->conf->nlisten);
}

static void
opt_listen(struct parser *p, const char *value)
{
	conf_list(p, value, listen_add);
}

static void
nbd_listen_add(struct parser *p, const char *word)
{
	listen_append(p, "nbd_listen", word, &p->conf->nbd_listen,
	    &p->conf->nbd_nlisten);
}

static void
opt_nbd_listen(struct parser *p, const char *value)
{
	conf_list(p, value, nbd_listen_add);
}

static void
opt_port(struct parser *p, const char *value)
{
	if (uri_port_parse(value, strlen(value), p->conf->port) == -1)
		sec_err(p, "port \"%s\" is not a port number (use 1-65535)",
		    value);
}

static void
opt_user(struct parser *p, const char *value)
{
	if (getpwnam(value) == NULL)
		sec_err(p, "user \"%s\" does not exist", value);
	else
		conf_setstr(p, &p->conf->user, value);
}

static void
opt_group(struct parser *p, const char *value)
{
	if (getgrnam(value) == NULL)
		sec_err(p, "group \"%s\" does not exist", value);
	else
		conf_setstr(p, &p->conf->group, value);
}

static void
opt_max_connections(struct parser *p, const char *value)
{
	conf_int(p, "max_connections", value, 1, INT_MAX,
	    &p->conf->max_connections);
}

static void
opt_max_handshakes(struct parser *p, const char *value)
{
	conf_int(p, "max_handshakes", value, 1, INT_MAX,
	    &p->conf->max_handshakes);
}

static void
opt_max_handshakes_per_address(struct parser *p, const char *value)
{
	conf_int(p, "max_handshakes_per_address", value, 1, INT_MAX,
	    &p->conf->max_handshakes_per_address);
}

static void
opt_max_request_memory(struct parser *p, const char *value)
{
	uint64_t size;

	if (parse_size(value, &size) == -1)
		sec_err(p, "max_request_memory \"%s\" is not a size (use 64M, "
		    "1G)", value);
	else if (size < ND_MAX_PAYLOAD || size > CONF_MAX_REQUEST_MEMORY_MAX)
		sec_err(p, "max_request_memory \"%s\" is out of range "
		    "(1M-1T)", value);
	else
		p->conf->max_request_memory = size;
}

static void
opt_handshake_timeout(struct parser *p, const char *value)
{
	conf_int(p, "handshake_timeout", value, 1, 3600,
	    &p->conf->handshake_timeout);
}

static void
opt_log_level(struct parser *p, const char *value)
{
	static const struct {
		const char *name;
		int level;
	} levels[] = {
		{ "error", LOG_ERR }, { "warning", LOG_WARNING },
		{ "info", LOG_INFO }, { "debug", LOG_DEBUG },
	};
	size_t i;

	for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (strcmp(value, levels[i].name) == 0) {
			p->conf->log_level = levels[i].level;
			return;
		}
	}
	sec_err(p, "log_level \"%s\" is not a log level (use error, warning, "
	    "info or debug)", value);
}

static void
opt_pidfile(struct parser *p, const char *value)
{
	conf_setpath(p, &p->conf->pidfile, "pidfile", value);
}

static void
opt_control_socket(struct parser *p, const char *value)
{
	conf_setpath(p, &p->conf->control_socket, "control_socket", value);
}

static void
nbd_tls_path(struct parser *p, char **field, const char *name,
    const char *value)
{
	if (p->conf->nbd_tls_line == 0)
		p->conf->nbd_tls_line = p->lineno;
	conf_setpath(p, field, name, value);
}

static void
opt_nbd_tls_psk(struct parser *p, const char *value)
{
	nbd_tls_path(p, &p->conf->nbd_tls_psk, "nbd_tls_psk", value);
}

static void
opt_nbd_tls_cert(struct parser *p, const char *value)
{
	nbd_tls_path(p, &p->conf->nbd_tls_cert, "nbd_tls_cert", value);
}

static void
opt_nbd_tls_key(struct parser *p, const char *value)
{
	nbd_tls_path(p, &p->conf->nbd_tls_key, "nbd_tls_key", value);
}

static void
opt_nbd_tls_ca(struct parser *p, const char *value)
{
	nbd_tls_path(p, &p->conf->nbd_tls_ca, "nbd_tls_ca", value);
}

/* Keys: export sections. */

static void
opt_path(struct parser *p, const char *value)
{
	conf_setpath(p, &p->export->path, "path", value);
}

static void
opt_size(struct parser *p, const char *value)
{
	uint64_t size;

	if (parse_size(value, &size) == -1)
		sec_err(p, "size \"%s\" is not a size (use 512, 64M, 10G)",
		    value);
	else if (size == 0)
		sec_err(p, "size \"%s\" is zero (leave size out to use the "
		    "file's size)", value);
	else if (size % ND_MIN_BLOCK != 0)
		sec_err(p, "size \"%s\" is not a multiple of %d", value,
		    ND_MIN_BLOCK);
	else
		p->export->size = size;
}

static void
opt_readonly(struct parser *p, const char *value)
{
	conf_bool(p, "readonly", value, &p->export->readonly);
}

static void
opt_trim(struct parser *p, const char *value)
{
	conf_bool(p, "trim", value, &p->export->trim);
}

static void
opt_nbd(struct parser *p, const char *value)
{
	static const char *names[] = {
		[CONF_NBD_NO] = "no", [CONF_NBD_PLAIN] = "plain",
		[CONF_NBD_TLS] = "tls",
	};
	size_t i;

	p->export->nbd_line = p->lineno;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(value, names[i]) == 0) {
			p->export->nbd = (enum conf_nbd)i;
			return;
		}
	sec_err(p, "nbd \"%s\" is not a mode (use no, plain or tls)", value);
}

static void
opt_max_clients(struct parser *p, const char *value)
{
	conf_int(p, "max_clients", value, 0, INT_MAX,
	    &p->export->max_clients);
}

/* Overlay exports (docs/overlay.md). */

static void
opt_overlay_dir(struct parser *p, const char *value)
{
	conf_setpath(p, &p->export->overlay_dir, "overlay_dir", value);
	p->export->overlay_line = p->lineno;
}

/* One of two words: *out 0 for no, 1 for yes. */
static void
conf_either(struct parser *p, const char *name, const char *value,
    const char *no, const char *yes, const char *what, int *out)
{
	if (strcmp(value, no) == 0)
		*out = 0;
	else if (strcmp(value, yes) == 0)
		*out = 1;
	else
		sec_err(p, "%s \"%s\" is not %s (use %s or %s)", name, value,
		    what, no, yes);
}

static void
opt_overlay(struct parser *p, const char *value)
{
	conf_either(p, "overlay", value, "persistent", "ephemeral",
	    "an overlay mode", &p->export->overlay_ephemeral);
}

static void
opt_overlay_quota(struct parser *p, const char *value)
{
	uint64_t size;

	if (strcmp(value, "none") == 0)
		p->export->overlay_quota = 0;
	else if (parse_size(value, &size) == -1)
		sec_err(p, "overlay_quota \"%s\" is not a size (use 0 or "
		    "none, 512M, 10G)", value);
	else
		p->export->overlay_quota = size;
}

static void
opt_overlay_chunk(struct parser *p, const char *value)
{
	uint64_t size;

	if (parse_size(value, &size) == -1 || size < CONF_OVERLAY_CHUNK_MIN ||
	    size > CONF_OVERLAY_CHUNK_MAX || (size & (size - 1)) != 0)
		sec_err(p, "overlay_chunk \"%s\" is not a power of two from "
		    "4K to 8M", value);
	else
		p->export->overlay_chunk = (uint32_t)size;
}

static void
opt_base_generation(struct parser *p, const char *value)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (value[0] < '0' || value[0] > '9' || *end != '\0' ||
	    errno == ERANGE)
		sec_err(p, "base_generation \"%s\" is not a number", value);
	else
		p->export->base_generation = v;
}

static void
opt_base_changed(struct parser *p, const char *value)
{
	conf_either(p, "base_changed", value, "new", "refuse", "a policy",
	    &p->export->base_changed_refuse);
}

static void
opt_overlay_hold(struct parser *p, const char *value)
{
	conf_int(p, "overlay_hold", value, 0, 86400, &p->export->overlay_hold);
}

/* Text continues on indented lines, joined with one space. */
static void
opt_description(struct parser *p, const char *value)
{
	struct conf_export *e = p->export;
	char *s;

	if (!p->cont || e->description == NULL) {
		conf_setstr(p, &e->description, value);
		return;
	}
	if (asprintf(&s, "%s %s", e->description, value) == -1) {
		p->nomem = 1;
		return;
	}
	free(e->description);
	e->description = s;
}

/* Zero the bits past the prefix. */
static void
net_mask(uint8_t *addr, int len, int prefix)
{
	int i;

	for (i = 0; i < len; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			addr[i] = 0;
		else
			addr[i] &= (uint8_t)(0xff << (8 * (i + 1) - prefix));
	}
}

/* "ADDR" or "ADDR/PREFIX", IPv4 or IPv6. */
static int
net_parse(const char *s, struct conf_net *n)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	char addr[INET6_ADDRSTRLEN], *end;
	long prefix;
	int max;

	if (alen == 0 || alen >= sizeof(addr))
		return -1;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(n, 0, sizeof(*n));
	n->family = strchr(addr, ':') != NULL ? AF_INET6 : AF_INET;
	max = n->family == AF_INET ? 32 : 128;
	if (inet_pton(n->family, addr, n->addr) != 1)
		return -1;
	n->prefix = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3)
			return -1;
		prefix = strtol(slash + 1, &end, 10);
		if (*end != '\0' || prefix > max)
			return -1;
		n->prefix = (int)prefix;
	}
	net_mask(n->addr, max / 8, n->prefix);
	return 0;
}

static void
allow_add(struct parser *p, const char *word)
{
	struct conf_export *e = p->export;
	struct conf_net n, *v;

	if (net_parse(word, &n) == -1) {
		sec_err(p, "allow \"%s\" is not an address or network (use "
		    "e.g. 192.0.2.7, 10.0.0.0/8, 2001:db8::/32)", word);
		return;
	}
	if ((v = reallocarray(e->allow, e->nallow + 1, sizeof(*v))) == NULL) {
		p->nomem = 1;
		return;
	}
	e->allow = v;
	v[e->nallow++] = n;
}

static void
opt_allow(struct parser *p, const char *value)
{
	conf_list(p, value, allow_add);
}

static const struct conf_key global_keys[] = {
	{ "listen",		opt_listen,		LIST_LINES },
	{ "nbd_listen",		opt_nbd_listen,		LIST_LINES },
	{ "nbd_tls_psk",	opt_nbd_tls_psk,	ONE_LINE },
	{ "nbd_tls_cert",	opt_nbd_tls_cert,	ONE_LINE },
	{ "nbd_tls_key",	opt_nbd_tls_key,	ONE_LINE },
	{ "nbd_tls_ca",		opt_nbd_tls_ca,		ONE_LINE },
	{ "port",		opt_port,		ONE_LINE },
	{ "key",		opt_key,		ONE_LINE },
	{ "keyfile",		opt_keyfile,		ONE_LINE },
	{ "server_key",		opt_server_key,		ONE_LINE },
	{ "min_version",	opt_min_version,	ONE_LINE },
	{ "user",		opt_user,		ONE_LINE },
	{ "group",		opt_group,		ONE_LINE },
	{ "max_connections",	opt_max_connections,	ONE_LINE },
	{ "handshake_timeout",	opt_handshake_timeout, ONE_LINE },
	{ "max_handshakes",	opt_max_handshakes,	ONE_LINE },
	{ "max_handshakes_per_address", opt_max_handshakes_per_address,
	    ONE_LINE },
	{ "max_request_memory",	opt_max_request_memory,	ONE_LINE },
	{ "log_level",		opt_log_level,	ONE_LINE },
	{ "pidfile",		opt_pidfile,		ONE_LINE },
	{ "control_socket",	opt_control_socket,	ONE_LINE },
	{ "clients_dir",	opt_clients_dir,	ONE_LINE },
	{ NULL,			NULL,			ONE_LINE }
};

static const struct conf_key export_keys[] = {
	{ "path",		opt_path,		ONE_LINE },
	{ "size",		opt_size,		ONE_LINE },
	{ "readonly",		opt_readonly,		ONE_LINE },
	{ "key",		opt_key,		ONE_LINE },
	{ "keyfile",		opt_keyfile,		ONE_LINE },
	{ "allow",		opt_allow,		LIST_LINES },
	{ "max_clients",	opt_max_clients,	ONE_LINE },
	{ "description",	opt_description,	TEXT_LINES },
	{ "trim",		opt_trim,		ONE_LINE },
	{ "clients",		opt_clients,		LIST_LINES },
	{ "overlay_dir",	opt_overlay_dir,	ONE_LINE },
	{ "overlay",		opt_overlay,		ONE_LINE },
	{ "overlay_quota",	opt_overlay_quota,	ONE_LINE },
	{ "overlay_chunk",	opt_overlay_chunk,	ONE_LINE },
	{ "base_generation",	opt_base_generation,	ONE_LINE },
	{ "base_changed",	opt_base_changed,	ONE_LINE },
	{ "overlay_hold",	opt_overlay_hold,	ONE_LINE },
	{ "nbd",		opt_nbd,		ONE_LINE },
	{ NULL,			NULL,			ONE_LINE }
};

static const struct conf_key client_keys[] = {
	{ "keyfile",		opt_keyfile,		ONE_LINE },
	{ NULL,			NULL,			ONE_LINE }
};

/* Sections. */

/* The list key given last (listen, nbd_listen, allow, clients) is over. */
static void
list_end(struct parser *p)
{
	if (p->list != NULL && p->list_count == 0)
		sec_err_at(p, p->list_line, "%s lists no %s", p->list->name,
		    p->list->parse == opt_clients ? "client identities" :
		    "addresses");
	p->list = NULL;
	p->list_count = 0;
}

/* What must hold once a section has been read. */
static void
section_end(struct parser *p)
{
	list_end(p);
	if (p->sec == SEC_CLIENT && p->client >= 0 && p->key_line == 0)
		sec_err_at(p, p->conf->clients[p->client].line,
		    "keyfile is required");
	p->sec = SEC_NONE;
	p->client = -1;
	p->last = NULL;
	p->seen = 0;
	p->key_line = 0;
}

static void
global_begin(struct parser *p)
{
	if (p->global_line != 0)
		conf_err(p, p->lineno, "[global]: duplicate section (first at "
		    "line %d)", p->global_line);
	else
		p->global_line = p->lineno;
	p->sec = SEC_GLOBAL;
	p->keys = global_keys;
}

static void
export_begin(struct parser *p, const char *name)
{
	struct conf_export *e, *old;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		p->nomem = 1;
		p->sec = SEC_BAD;
		return;
	}
	strlcpy(e->name, name, sizeof(e->name));
	e->line = p->lineno;
	e->trim = 1;
	e->overlay_hold = CONF_OVERLAY_HOLD;
	old = conf_find_export(p->conf, name);
	if (!name_valid(name))
		conf_err(p, p->lineno, "export \"%s\": not a valid export name "
		    "(use 1 to %d of A-Z a-z 0-9 . _ -, not starting with \".\")",
		    name, ND_NAME_MAX);
	else if (old != NULL)
		conf_err(p, p->lineno, "export \"%s\": duplicate section "
		    "(first at line %d)", name, old->line);
	if (!name_valid(name) || old != NULL)
		TAILQ_INSERT_TAIL(&p->discard, e, entry);
	else
		TAILQ_INSERT_TAIL(&p->conf->exports, e, entry);
	p->sec = SEC_EXPORT;
	p->export = e;
	p->keys = export_keys;
}

/* [client NAME]: name is what follows "client" and blanks. */
static void
client_begin(struct parser *p, const char *name)
{
	p->sec = SEC_CLIENT;
	p->keys = client_keys;
	p->client = -1;
	if (!conf_client_name_valid(name))
		sec_err(p, "not a valid client name (" CONF_CLIENT_NAME_RULE
		    ")");
	else
		p->client = client_add(p, name);
}

/* "client NAME": NAME, else NULL. */
static const char *
client_section_name(const char *name)
{
	size_t n = strlen(CONF_CLIENT_SECTION);

	if (strncmp(name, CONF_CLIENT_SECTION, n) != 0 ||
	    (name[n] != ' ' && name[n] != '\t'))
		return NULL;
	return name + n + strspn(name + n, " \t");
}

static void
section_begin(struct parser *p, const char *name)
{
	const char *client = client_section_name(name);

	section_end(p);
	p->prev_key = 0;
	free(p->secname);
	if ((p->secname = conf_strdup(p, client != NULL ? client : name)) ==
	    NULL) {
		p->sec = SEC_BAD;
		return;
	}
	if (strcmp(name, "global") == 0)
		global_begin(p);
	else if (client != NULL)
		client_begin(p, client);
	else
		export_begin(p, name);
}

/*
 * A "[name]" line, as inih reads it: the name runs to the first "]" that
 * comes before an inline comment (" ;").
 */
static void
section_line(struct parser *p, const char *s)
{
	const char *end, *rest;
	char *name;
	int space = 0;

	for (end = s + 1; *end != '\0' && *end != ']'; end++) {
		if (space && *end == ';')
			break;
		space = strchr(CONF_SPACE, *end) != NULL;
	}
	if (*end != ']') {
		section_end(p);
		p->sec = SEC_BAD;
		conf_err(p, p->lineno, "section header has no closing \"]\"");
		return;
	}
	rest = end + 1 + strspn(end + 1, CONF_SPACE);
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		conf_err(p, p->lineno, "text after the section header");
	if ((name = strndup(s + 1, (size_t)(end - s - 1))) == NULL) {
		p->nomem = 1;
		return;
	}
	section_begin(p, name);
	free(name);
}

/* Keys and continuation lines, from inih. */

static const struct conf_key *
key_find(const struct conf_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static void
conf_key(struct parser *p, const char *name, const char *value)
{
	const struct conf_key *k;
	int i;

	p->last = NULL;
	if (name[0] == '\0') {
		conf_err(p, p->lineno, "missing key name before \"=\"");
		return;
	}
	if (p->sec == SEC_NONE) {
		conf_err(p, p->lineno, "key \"%s\" is outside a section (put it "
		    "under [global] or an export section)", name);
		return;
	}
	if (p->sec == SEC_BAD)
		return;
	if ((k = key_find(p->keys, name)) == NULL) {
		sec_err(p, "unknown key \"%s\"", name);
		return;
	}
	i = (int)(k - p->keys);
	if (p->seen & (1U << i)) {
		sec_err(p, "duplicate key \"%s\" (first at line %d)", name,
		    p->seen_line[i]);
		return;
	}
	p->seen |= 1U << i;
	p->seen_line[i] = p->lineno;
	p->last = k;
	if (k->lines == LIST_LINES) {
		list_end(p);
		p->list = k;
	}
	k->parse(p, value);
}

/* inih leaves inline comments in continuation lines: drop them. */
static void
strip_comment(char *s)
{
	char *c;

	for (c = s; (c = strchr(c, ';')) != NULL; c++) {
		if (c > s && strchr(CONF_SPACE, c[-1]) != NULL) {
			*c = '\0';
			break;
		}
	}
	c = s + strlen(s);
	while (c > s && strchr(CONF_SPACE, c[-1]) != NULL)
		*--c = '\0';
}

static void
conf_continue(struct parser *p, const char *value)
{
	const struct conf_key *k = p->last;
	char *copy;

	if (p->sec == SEC_NONE || p->sec == SEC_BAD)
		return;
	if (k == NULL) {	/* the key line was in error */
		if (value[0] == '[' || strchr(value, '=') != NULL)
			sec_err(p, "indented line continues the key above "
			    "(do not indent keys or sections)");
		return;
	}
	if (k->lines == ONE_LINE) {
		sec_err(p, "indented line continues \"%s\", which takes one "
		    "line (do not indent keys or sections)", k->name);
		return;
	}
	if (k->lines == LIST_LINES && strchr(value, '=') != NULL) {
		sec_err(p, "indented line continues \"%s\" (do not indent "
		    "keys or sections)", k->name);
		return;
	}
	if ((copy = conf_strdup(p, value)) == NULL)
		return;
	strip_comment(copy);
	if (copy[0] != '\0')
		k->parse(p, copy);
	free(copy);
}

static int
conf_handler(void *arg, const char *section, const char *name,
    const char *value)
{
	struct parser *p = arg;

	(void)section;		/* inih truncates it; p->secname is whole */
	p->expect = 0;
	if (p->cont)
		conf_continue(p, value);
	else {
		p->prev_key = name[0] != '\0';
		conf_key(p, name, value);
	}
	return 1;
}

/* Reading lines for inih. */

/* A line inih was to pass on but did not: it has no "=". */
static void
reader_check(struct parser *p)
{
	if (p->expect)
		conf_err(p, p->lineno, "expected \"key = value\", a [section] "
		    "or a comment");
	p->expect = 0;
}

/* Classify a line before inih sees it, as inih will. */
static void
reader_line(struct parser *p, const char *line)
{
	const char *s = line, *start;

	if (p->lineno == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;
	start = s + strspn(s, CONF_SPACE);
	p->cont = 0;
	if (*start == '\0' || *start == ';' || *start == '#')
		return;
	if (start > s && p->prev_key)
		p->cont = p->expect = 1;
	else if (*start == '[')
		section_line(p, start);
	else
		p->expect = 1;
}

/* inih's fgets(): one line of the file per call, counted. */
static char *
conf_reader(char *str, int num, void *arg)
{
	struct parser *p = arg;
	const char *line = p->buf + p->pos, *nl;
	size_t len;

	reader_check(p);
	if (p->pos >= p->len) {
		explicit_bzero(str, (size_t)num);	/* keys passed here */
		return NULL;
	}
	nl = memchr(line, '\n', p->len - p->pos);
	len = nl != NULL ? (size_t)(nl - line) + 1 : p->len - p->pos;
	p->pos += len;
	p->lineno++;
	if (memchr(line, '\0', len) != NULL)
		conf_err(p, p->lineno, "line contains a NUL byte");
	else if (len + 1 > (size_t)num)
		conf_err(p, p->lineno, "line is too long (at most %d "
		    "characters)", num - 2);
	else {
		memcpy(str, line, len);
		str[len] = '\0';
		reader_line(p, str);
		return str;
	}
	p->cont = 0;
	strlcpy(str, "\n", (size_t)num);	/* inih skips it as blank */
	return str;
}

/* Validation: what needs the whole file. */

/*
 * What a path names: its device and inode (a block device: the device
 * itself), or for a file still to be created its directory's and its
 * name.  Two exports on one file are found whatever the names they use.
 */
struct file_id {
	int known;
	dev_t dev;
	ino_t ino;
	char *name;			/* a file to be created: its name */
};

static void
file_id_get(const char *path, struct file_id *id)
{
	struct stat st;
	char *copy;

	memset(id, 0, sizeof(*id));
	if (path == NULL)
		return;
	if (stat(path, &st) == 0) {
		id->known = 1;
		id->dev = S_ISBLK(st.st_mode) ? st.st_rdev : st.st_dev;
		id->ino = S_ISBLK(st.st_mode) ? 0 : st.st_ino;
		return;
	}
	if (errno != ENOENT || (copy = strdup(path)) == NULL)
		return;
	if (stat(dirname(copy), &st) == 0 &&
	    (id->name = strdup(strrchr(path, '/') + 1)) != NULL) {
		id->known = 1;
		id->dev = st.st_dev;
		id->ino = st.st_ino;
	}
	free(copy);
}

static int
file_id_same(const struct file_id *a, const struct file_id *b)
{
	if (!a->known || !b->known || a->dev != b->dev || a->ino != b->ino)
		return 0;
	if (a->name == NULL || b->name == NULL)
		return a->name == b->name;
	return strcmp(a->name, b->name) == 0;
}

/* The same file as an earlier export that may write it too? */
static void
validate_path(struct parser *p, struct conf_export *e, struct file_id *ids,
    int i)
{
	struct conf_export *f;
	int j = -1;

	if (e->path == NULL || e->readonly || e->overlay_dir != NULL)
		return;
	TAILQ_FOREACH(f, &p->conf->exports, entry) {
		if (f == e)
			return;
		j++;
		if (f->path == NULL || f->readonly || f->overlay_dir != NULL ||
		    (strcmp(e->path, f->path) != 0 &&
		    !file_id_same(&ids[i], &ids[j])))
			continue;
		if (strcmp(e->path, f->path) == 0)
			conf_err(p, e->line, "export \"%s\": path \"%s\" is "
			    "also writable through export \"%s\"", e->name,
			    e->path, f->name);
		else
			conf_err(p, e->line, "export \"%s\": path \"%s\" is "
			    "also writable through export \"%s\" (as \"%s\")",
			    e->name, e->path, f->name, f->path);
		return;
	}
}

static int key_equal(const uint8_t *, const uint8_t *);

static int
client_cmp(const void *a, const void *b)
{
	const struct conf_client *x = a, *y = b;
	int d = strcmp(x->name, y->name);

	return d != 0 ? d : x->line - y->line;
}

/* Sorted by name; the same name twice is an error. */
static void
validate_client_names(struct parser *p)
{
	struct conf *c = p->conf;
	struct conf_client *a, *b;
	int i;

	if (c->nclients > 1)
		qsort(c->clients, (size_t)c->nclients, sizeof(*c->clients),
		    client_cmp);
	for (i = 1; i < c->nclients; i++) {
		a = &c->clients[i - 1];
		b = &c->clients[i];
		if (strcmp(a->name, b->name) == 0)
			conf_err(p, b->line, "client \"%s\": defined twice "
			    "(keyfile \"%s\"; first at line %d, keyfile \"%s\")",
			    b->name, b->keyfile ? b->keyfile : "",
			    a->line, a->keyfile ? a->keyfile : "");
	}
}

/* A key of the file: a client's (client >= 0) or a shared one. */
struct key_use {
	const uint8_t *key;
	int client;
	int line;
	const char *name;		/* the export's; NULL: [global] */
};

static int
key_use_cmp(const void *a, const void *b)
{
	const struct key_use *x = a, *y = b;
	int d = memcmp(x->key, y->key, ND_KEY_LEN);

	return d != 0 ? d : x->line - y->line;
}

/* u (a client's key) is also o's. */
static void
key_use_clash(struct parser *p, const struct key_use *u,
    const struct key_use *o)
{
	const struct conf_client *cl = &p->conf->clients[u->client];
	char other[256];

	if (o->client >= 0)
		snprintf(other, sizeof(other), "client \"%s\" (line %d)",
		    p->conf->clients[o->client].name, o->line);
	else if (o->name == NULL)
		snprintf(other, sizeof(other), "[global]'s key (line %d)",
		    o->line);
	else
		snprintf(other, sizeof(other), "export \"%s\"'s key (line %d)",
		    o->name, o->line);
	conf_err(p, u->line, "client \"%s\": keyfile \"%s\": the same key as "
	    "%s: the key decides who the client is, so each client needs a "
	    "key of its own", cl->name, cl->keyfile ? cl->keyfile : "", other);
}

/*
 * In each run of equal keys (sorted by line), every later client's key
 * clashes with the first; the first, if a client's, with a shared key.
 */
static void
validate_key_runs(struct parser *p, struct key_use *u, size_t n)
{
	size_t i, j, k;
	int first;

	qsort(u, n, sizeof(*u), key_use_cmp);
	for (i = 0; i < n; i = j) {
		first = u[i].client >= 0;
		for (j = i + 1; j < n && key_equal(u[i].key, u[j].key); j++)
			;
		for (k = i + 1; k < j; k++) {
			if (u[k].client >= 0)
				key_use_clash(p, &u[k], &u[i]);
			else if (first) {
				key_use_clash(p, &u[i], &u[k]);
				first = 0;
			}
		}
	}
}

/*
 * A client's key is its own: no other client's, no shared key
 * ([global]'s or an export's own).
 */
static void
validate_client_keys(struct parser *p)
{
	struct conf *c = p->conf;
	struct conf_export *e;
	struct key_use *u;
	size_t n = 0;
	int i;

	if (c->nclients == 0)
		return;
	TAILQ_FOREACH(e, &c->exports, entry)
		n++;
	if ((u = calloc(n + (size_t)c->nclients + 1, sizeof(*u))) == NULL) {
		p->nomem = 1;
		return;
	}
	n = 0;
	for (i = 0; i < c->nclients; i++)
		if (c->clients[i].has_key)
			u[n++] = (struct key_use){ c->clients[i].key, i,
			    c->clients[i].line, NULL };
	if (c->has_key)
		u[n++] = (struct key_use){ c->key, -1, p->global_key_line,
		    NULL };
	TAILQ_FOREACH(e, &c->exports, entry)
		if (e->own_key && e->has_key)
			u[n++] = (struct key_use){ e->key, -1, e->line, e->name };
	validate_key_runs(p, u, n);
	explicit_bzero(u, n * sizeof(*u));
	free(u);
}

/* The names of e's clients list as indices in conf->clients. */
static void
validate_export_clients(struct parser *p, struct conf_export *e)
{
	int i;

	if (e->nclients == 0)
		return;
	if ((e->clients = calloc((size_t)e->nclients, sizeof(int))) == NULL) {
		p->nomem = 1;
		return;
	}
	for (i = 0; i < e->nclients; i++)
		if ((e->clients[i] = conf_find_client(p->conf,
		    e->client_names[i])) < 0)
			conf_err(p, e->clients_line, "export \"%s\": clients: no "
			    "client identity \"%s\" (add a [client %s] section "
			    "or %s.key in clients_dir)", e->name,
			    e->client_names[i], e->client_names[i],
			    e->client_names[i]);
}

/* What an overlay export (overlay_dir) needs. */
static void
validate_overlay(struct parser *p, struct conf_export *e)
{
	if (e->overlay_dir == NULL)
		return;
	if (e->readonly)
		conf_err(p, e->overlay_line, "export \"%s\": overlay_dir and "
		    "readonly: an overlay export is written (its base never "
		    "is); remove one", e->name);
	if (e->size != 0)
		conf_err(p, e->overlay_line, "export \"%s\": overlay_dir and "
		    "size: an overlay export has its base's size; remove "
		    "size", e->name);
	if (e->nclients == 0 && !e->clients_all)
		conf_err(p, e->overlay_line, "export \"%s\": overlay_dir "
		    "needs clients: each client identity has its own overlay "
		    "(list them in clients)", e->name);
	if (e->own_key)
		conf_err(p, e->overlay_line, "export \"%s\": overlay_dir and "
		    "a key of its own: a shared key names no client, so it "
		    "cannot have an overlay; remove key or keyfile", e->name);
}

/* Two exports in one overlay_dir would open one NAME.ovl twice. */
static void
validate_overlay_dirs(struct parser *p)
{
	struct conf_export *e, *f;

	TAILQ_FOREACH(e, &p->conf->exports, entry) {
		if (e->overlay_dir == NULL)
			continue;
		for (f = TAILQ_FIRST(&p->conf->exports); f != e;
		    f = TAILQ_NEXT(f, entry))
			if (f->overlay_dir != NULL &&
			    strcmp(f->overlay_dir, e->overlay_dir) == 0) {
				conf_err(p, e->overlay_line, "export \"%s\": "
				    "overlay_dir \"%s\" is also export \"%s\"'s "
				    "(each overlay export needs its own)",
				    e->name, e->overlay_dir, f->name);
				break;
			}
	}
}

/* Overlay settings without overlay_dir would be ignored. */
static void
validate_overlay_keys(struct parser *p, struct conf_export *e)
{
	if (e->overlay_dir != NULL)
		return;
	if (e->overlay_ephemeral || e->overlay_quota != 0 ||
	    e->overlay_chunk != 0 || e->base_generation != 0 ||
	    e->base_changed_refuse || e->overlay_hold != CONF_OVERLAY_HOLD)
		conf_err(p, e->line, "export \"%s\": overlay settings "
		    "(overlay, overlay_quota, overlay_chunk, base_generation, "
		    "base_changed, overlay_hold) without overlay_dir", e->name);
}

static void
validate_export(struct parser *p, struct conf_export *e)
{
	struct conf *c = p->conf;
	int clients = e->nclients > 0 || e->clients_all;

	if (e->path == NULL)
		conf_err(p, e->line, "export \"%s\": path is required",
		    e->name);
	validate_export_clients(p, e);
	validate_overlay(p, e);
	validate_overlay_keys(p, e);
	if (e->clients_all && c->nclients == 0 && !e->own_key)
		conf_err(p, e->clients_line, "export \"%s\": clients \"*\", "
		    "but no client identity is defined and the export has no "
		    "key of its own: nobody could use it", e->name);
	/* A key that failed to load has been reported already. */
	if (clients)
		;	/* [global]'s key is not valid for it */
	else if (!e->own_key && c->has_key) {
		memcpy(e->key, c->key, ND_KEY_LEN);
		e->has_key = 1;
	} else if (!e->own_key && p->global_key_line == 0)
		conf_err(p, e->line, "export \"%s\": no key (set key or "
		    "keyfile here or in [global])", e->name);
}

static void
validate_paths(struct parser *p)
{
	struct conf_export *e;
	struct file_id *ids;
	int i, n = 0;

	TAILQ_FOREACH(e, &p->conf->exports, entry)
		n++;
	if ((ids = calloc(n + 1, sizeof(*ids))) == NULL) {
		p->nomem = 1;
		return;
	}
	i = 0;
	TAILQ_FOREACH(e, &p->conf->exports, entry)
		file_id_get(e->path, &ids[i++]);
	i = 0;
	TAILQ_FOREACH(e, &p->conf->exports, entry)
		validate_path(p, e, ids, i++);
	for (i = 0; i < n; i++)
		free(ids[i].name);
	free(ids);
}

/* "nobody (uid 65534)", or "uid 12345" for a uid without a name. */
static void
uid_desc(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s (uid %u)", pw->pw_name, (unsigned)uid);
	else
		snprintf(buf, len, "uid %u", (unsigned)uid);
}

/*
 * Key files belong to root or to the user netdiskd runs as (user, or
 * whoever runs it): anyone else who owns one could change the key.
 */
static void
validate_keyfiles(struct parser *p)
{
	struct conf_keyfile *k;
	struct passwd *pw = NULL;
	char owner[64], self[64];
	uid_t uid = geteuid();
	size_t i;

	if (p->conf->user != NULL && (pw = getpwnam(p->conf->user)) != NULL)
		uid = pw->pw_uid;
	if (pw != NULL)
		snprintf(self, sizeof(self), "%s", p->conf->user);
	else if ((pw = getpwuid(uid)) != NULL)
		snprintf(self, sizeof(self), "%s", pw->pw_name);
	else
		snprintf(self, sizeof(self), "uid %u", (unsigned)uid);
	for (i = 0; i < p->nkeyfiles; i++) {
		k = &p->keyfiles[i];
		if (k->owner == 0 || k->owner == uid)
			continue;
		uid_desc(k->owner, owner, sizeof(owner));
		conf_err(p, k->line, "%s: %s \"%s\": owned by %s, not by "
		    "root or netdiskd's user (%s)", k->where ? k->where : "",
		    k->what, k->path, owner, self);
	}
}

/* A listen entry's address is a loopback address ("" is the wildcard). */
static int
listen_is_loopback(const struct conf_listen *l)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, l->host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, l->host, &a6) == 1 &&
	    IN6_IS_ADDR_LOOPBACK(&a6);
}

/*
 * nbd_listen without a port: 10809.  An export offered over NBD needs a
 * listener, and a client identity or an overlay it cannot have (NBD
 * names no client); without TLS, beyond loopback, it is a warning.
 */
static void
validate_nbd(struct parser *p)
{
	struct conf *c = p->conf;
	struct conf_export *e;
	int i, open = 0;

	for (i = 0; i < c->nbd_nlisten; i++) {
		if (c->nbd_listen[i].port[0] == '\0')
			strlcpy(c->nbd_listen[i].port, CONF_NBD_PORT,
			    sizeof(c->nbd_listen[i].port));
		if (!listen_is_loopback(&c->nbd_listen[i]))
			open = 1;
	}
	TAILQ_FOREACH(e, &c->exports, entry) {
		if (e->nbd == CONF_NBD_NO)
			continue;
		if (c->nbd_nlisten == 0)
			conf_err(p, e->nbd_line, "export \"%s\": nbd = %s, but "
			    "[global] has no nbd_listen (add e.g. nbd_listen = "
			    "127.0.0.1)", e->name, e->nbd == CONF_NBD_TLS ?
			    "tls" : "plain");
		if (e->overlay_dir != NULL)
			conf_err(p, e->nbd_line, "export \"%s\": nbd and "
			    "overlay_dir: each overlay belongs to a client "
			    "identity, which an NBD client does not have; "
			    "remove nbd", e->name);
		if (e->nbd == CONF_NBD_TLS && c->nbd_tls_psk == NULL &&
		    c->nbd_tls_cert == NULL)
			conf_err(p, e->nbd_line, "export \"%s\": nbd = tls, "
			    "but [global] has neither nbd_tls_psk nor "
			    "nbd_tls_cert", e->name);
		if (e->nbd == CONF_NBD_PLAIN && open)
			warn_at(p, e->nbd_line, "export \"%s\": nbd = plain "
			    "on an nbd_listen address beyond loopback: "
			    "anyone who reaches it reads%s the export, "
			    "unencrypted and without a key", e->name,
			    e->readonly ? "" : " and writes");
	}
}

/* The TLS keys of [global] that go together. */
static void
validate_nbd_tls(struct parser *p)
{
	const struct conf *c = p->conf;

	if ((c->nbd_tls_cert == NULL) != (c->nbd_tls_key == NULL))
		conf_err(p, c->nbd_tls_line, "[global]: nbd_tls_cert and "
		    "nbd_tls_key go together (the certificate and its "
		    "private key)");
	if (c->nbd_tls_ca != NULL && c->nbd_tls_cert == NULL)
		conf_err(p, c->nbd_tls_line, "[global]: nbd_tls_ca needs "
		    "nbd_tls_cert (clients check the server's certificate "
		    "before they show theirs)");
	if (c->nbd_tls_line != 0 && c->nbd_nlisten == 0)
		conf_err(p, c->nbd_tls_line, "[global]: nbd_tls_* without "
		    "nbd_listen: no NBD client would use them");
}

/* No listen key: the wildcard address.  No port: [global]'s. */
static void
validate_listen(struct parser *p)
{
	struct conf *c = p->conf;
	int i;

	if (c->nlisten == 0) {
		if ((c->listen = calloc(1, sizeof(*c->listen))) == NULL) {
			p->nomem = 1;
			return;
		}
		c->nlisten = 1;
	}
	for (i = 0; i < c->nlisten; i++)
		if (c->listen[i].port[0] == '\0')
			strlcpy(c->listen[i].port, c->port,
			    sizeof(c->listen[i].port));
}

static void
conf_validate(struct parser *p)
{
	struct conf_export *e;

	validate_client_names(p);
	TAILQ_FOREACH(e, &p->conf->exports, entry)
		validate_export(p, e);
	validate_client_keys(p);
	validate_paths(p);
	validate_overlay_dirs(p);
	validate_keyfiles(p);
	validate_listen(p);
	validate_nbd(p);
	validate_nbd_tls(p);
	if (p->conf->min_version > ND_VERSION_2 && !p->conf->has_server_key)
		conf_err(p, p->min_version_line, "[global]: min_version %d "
		    "needs server_key (version 3 clients authenticate the "
		    "server's static key)", p->conf->min_version);
}

/* Loading. */

static struct conf *
conf_new(void)
{
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	TAILQ_INIT(&c->exports);
	snprintf(c->port, sizeof(c->port), "%d", ND_DEFAULT_PORT);
	c->max_connections = CONF_MAX_CONNECTIONS;
	c->handshake_timeout = CONF_HANDSHAKE_TIMEOUT;
	c->min_version = ND_VERSION_2;
	c->max_handshakes = CONF_MAX_HANDSHAKES;
	c->max_handshakes_per_address = CONF_MAX_HANDSHAKES_PER_ADDRESS;
	c->max_request_memory = CONF_MAX_REQUEST_MEMORY;
	c->log_level = LOG_INFO;
	c->pidfile = strdup(CONF_PIDFILE);
	c->control_socket = strdup(CONF_CONTROL_SOCKET);
	if (c->pidfile == NULL || c->control_socket == NULL) {
		conf_free(c);
		return NULL;
	}
	return c;
}

/* The config file's directory, absolute. */
static char *
conf_dir(struct parser *p, const char *path)
{
	char cwd[PATH_MAX], *copy, *dir, *res;

	if ((copy = conf_strdup(p, path)) == NULL)
		return NULL;
	dir = dirname(copy);
	if (dir[0] == '/')
		res = conf_strdup(p, dir);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		res = NULL;
	else if (strcmp(dir, ".") == 0)
		res = conf_strdup(p, cwd);
	else
		res = path_join(p, cwd, dir);
	free(copy);
	return res;
}

static char *
conf_open_error(const char *path, int code)
{
	char *s;

	if (asprintf(&s, "%s: %s\n", path, strerror(code)) == -1)
		return NULL;
	return s;
}

static int
parser_init(struct parser *p, const char *path, char **errors)
{
	const char *base = strrchr(path, '/');
	struct stat st;
	int rc;

	memset(p, 0, sizeof(*p));
	p->file = path;
	TAILQ_INIT(&p->discard);
	rc = file_read_all(path, CONF_FILE_MAX, &p->buf, &p->len);
	if (rc == 0 && stat(path, &st) == 0)
		p->mode = st.st_mode;
	if (rc == 0) {
		errno = ENOMEM;
		if ((p->conf = conf_new()) == NULL ||
		    (p->dir = conf_dir(p, path)) == NULL ||
		    (p->conf->path = path_join(p, p->dir,
		    base != NULL ? base + 1 : path)) == NULL)
			rc = -1;
	}
	if (rc == -1)
		*errors = conf_open_error(path, errno);
	return rc;
}

static void
export_free(struct conf_export *e)
{
	int i;

	for (i = 0; i < e->nclients; i++)
		free(e->client_names[i]);
	free(e->client_names);
	free(e->clients);
	explicit_bzero(e->key, sizeof(e->key));
	free(e->path);
	free(e->overlay_dir);
	free(e->allow);
	free(e->description);
	free(e);
}

static void
parser_free(struct parser *p)
{
	struct conf_export *e;
	size_t i;

	while ((e = TAILQ_FIRST(&p->discard)) != NULL) {
		TAILQ_REMOVE(&p->discard, e, entry);
		export_free(e);
	}
	for (i = 0; i < p->nerrs; i++)
		free(p->errs[i].msg);
	free(p->errs);
	for (i = 0; i < p->nwarns; i++)
		free(p->warns[i].msg);
	free(p->warns);
	for (i = 0; i < p->nkeyfiles; i++) {
		free(p->keyfiles[i].where);
		free(p->keyfiles[i].path);
	}
	free(p->keyfiles);
	if (p->buf != NULL)
		explicit_bzero(p->buf, p->len);
	free(p->buf);
	free(p->secname);
	free(p->dir);
}

struct conf *
conf_load(const char *path, char **errors)
{
	struct parser p;
	struct conf *c;

	*errors = NULL;
	if (parser_init(&p, path, errors) == -1) {
		conf_free(p.conf);
		parser_free(&p);
		return NULL;
	}
	if (ini_parse_stream(conf_reader, &p, conf_handler, &p) < 0)
		p.nomem = 1;
	section_end(&p);
	conf_validate(&p);
	c = p.conf;
	if (p.nwarns > 0 && !p.nomem &&
	    (c->warnings = list_join(p.file, p.warns, p.nwarns)) == NULL)
		p.nomem = 1;
	if (p.nerrs > 0 || p.nomem) {
		*errors = err_join(&p);
		conf_free(c);
		c = NULL;
	}
	parser_free(&p);
	return c;
}

void
conf_free(struct conf *c)
{
	struct conf_export *e;
	int i;

	if (c == NULL)
		return;
	while ((e = TAILQ_FIRST(&c->exports)) != NULL) {
		TAILQ_REMOVE(&c->exports, e, entry);
		export_free(e);
	}
	explicit_bzero(c->key, sizeof(c->key));
	explicit_bzero(c->server_key, sizeof(c->server_key));
	for (i = 0; i < c->nclients; i++)
		free(c->clients[i].keyfile);
	if (c->clients != NULL)
		explicit_bzero(c->clients, (size_t)c->nclients *
		    sizeof(*c->clients));
	free(c->clients);
	free(c->clients_dir);
	free(c->path);
	free(c->listen);
	free(c->nbd_listen);
	free(c->user);
	free(c->group);
	free(c->pidfile);
	free(c->control_socket);
	free(c->nbd_tls_psk);
	free(c->nbd_tls_cert);
	free(c->nbd_tls_key);
	free(c->nbd_tls_ca);
	free(c->warnings);
	free(c);
}

/* Queries. */

int
conf_find_client(const struct conf *c, const char *name)
{
	int lo = 0, hi = c->nclients - 1, mid, d;

	while (lo <= hi) {
		mid = lo + (hi - lo) / 2;
		if ((d = strcmp(name, c->clients[mid].name)) == 0)
			return mid;
		if (d < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

int
conf_export_admits(const struct conf_export *e, int i)
{
	int k;

	if (e->clients_all)
		return 1;
	for (k = 0; e->clients != NULL && k < e->nclients; k++)
		if (e->clients[k] == i)
			return 1;
	return 0;
}

struct conf_export *
conf_find_export(struct conf *c, const char *name)
{
	struct conf_export *e;

	TAILQ_FOREACH(e, &c->exports, entry)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static int
net_match(const struct conf_net *n, const uint8_t *addr)
{
	int bytes = n->prefix / 8, bits = n->prefix % 8;

	if (memcmp(n->addr, addr, (size_t)bytes) != 0)
		return 0;
	return bits == 0 ||
	    ((n->addr[bytes] ^ addr[bytes]) & (0xff << (8 - bits)) & 0xff) == 0;
}

/*
 * The peer as an IPv6 address, IPv4 ones mapped (::ffff:a.b.c.d); *v4 is
 * set to the IPv4 address inside, if there is one.  -1: not IP.
 */
static int
peer_addr(const struct sockaddr *sa, uint8_t a6[16], const uint8_t **v4)
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;

	if (sa->sa_family == AF_INET) {
		memcpy(&sin, sa, sizeof(sin));
		memcpy(a6, v4mapped, sizeof(v4mapped));
		memcpy(a6 + 12, &sin.sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(&sin6, sa, sizeof(sin6));
		memcpy(a6, sin6.sin6_addr.s6_addr, 16);
	} else
		return -1;
	*v4 = memcmp(a6, v4mapped, sizeof(v4mapped)) == 0 ? a6 + 12 : NULL;
	return 0;
}

int
conf_allowed(const struct conf_export *e, const struct sockaddr *sa)
{
	uint8_t a6[16];
	const uint8_t *a4;
	int i;

	if (e->nallow == 0)
		return 1;
	if (peer_addr(sa, a6, &a4) == -1)
		return 0;
	for (i = 0; i < e->nallow; i++) {
		if (e->allow[i].family == AF_INET && a4 != NULL &&
		    net_match(&e->allow[i], a4))
			return 1;
		if (e->allow[i].family == AF_INET6 &&
		    net_match(&e->allow[i], a6))
			return 1;
	}
	return 0;
}

/* Constant time in the contents. */
static int
key_equal(const uint8_t *a, const uint8_t *b)
{
	volatile uint8_t d = 0;
	size_t i;

	for (i = 0; i < ND_KEY_LEN; i++)
		d |= a[i] ^ b[i];
	return d == 0;
}

static int
allow_equal(const struct conf_export *a, const struct conf_export *b)
{
	int i;

	if (a->nallow != b->nallow)
		return 0;
	for (i = 0; i < a->nallow; i++)
		if (a->allow[i].family != b->allow[i].family ||
		    a->allow[i].prefix != b->allow[i].prefix ||
		    memcmp(a->allow[i].addr, b->allow[i].addr, 16) != 0)
			return 0;
	return 1;
}

static int
conf_overlay_equal(const struct conf_export *a, const struct conf_export *b)
{
	return str_same(a->overlay_dir, b->overlay_dir) &&
	    a->overlay_ephemeral == b->overlay_ephemeral &&
	    a->overlay_quota == b->overlay_quota &&
	    a->overlay_chunk == b->overlay_chunk &&
	    a->base_generation == b->base_generation &&
	    a->base_changed_refuse == b->base_changed_refuse &&
	    a->overlay_hold == b->overlay_hold;
}

int
conf_export_equal(const struct conf_export *a, const struct conf_export *b)
{
	int keys = key_equal(a->key, b->key);

	return keys && a->has_key == b->has_key && a->own_key == b->own_key &&
	    strcmp(a->name, b->name) == 0 && str_same(a->path, b->path) &&
	    a->size == b->size && a->readonly == b->readonly &&
	    allow_equal(a, b) && a->max_clients == b->max_clients &&
	    str_same(a->description, b->description) && a->trim == b->trim &&
	    a->nbd == b->nbd && conf_overlay_equal(a, b);
}
