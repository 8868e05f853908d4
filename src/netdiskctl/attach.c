/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl attach, detach and list: the kernel client's (netdisk.ko)
 * devices, through its sysfs files (kmod.h).  attach -a, attach NAME and
 * detach -a work from the entries of netdisktab (tab.h); a device
 * attached from an entry keeps its name in the attribute "name".
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "client.h"
#include "cmd.h"
#include "crypto.h"
#include "key.h"
#include "kmod.h"
#include "netdisk_sysfs.h"
#include "tab.h"
#include "uri.h"
#include "util.h"
#include "warn.h"

struct attach {
	struct ctl_args args;		/* the key file: -k, or the entry's */
	long conns;			/* -1: the module's default */
	long dead_timeout;		/* -1: the module's default */
	int64_t cache;			/* -1: the module's default, or bytes */
	int ro;
	int all;			/* -a */
	const char *tabfile;		/* -t; NULL: TAB_DEFAULT_PATH */
	const char *name;		/* the table entry; NULL for a URI */
	struct nd_uri u;
	char peer[340];			/* "[NAME: ]host:port" for messages */
	uint8_t client_id[ND_CLIENT_ID_LEN];
	char client_hex[2 * ND_CLIENT_ID_LEN + 1];
	char server_pub[2 * ND_KEY_LEN + 1];	/* "": protocol version 2 */
};

/*
 * The table, or NULL with its errors printed ("FILE:LINE: message" lines)
 * and what was not done.
 */
static struct tab *
table_load(const char *path, const char *undone)
{
	struct tab *t;
	char *errors;

	if ((t = tab_load(path, &errors)) != NULL)
		return t;
	if (errors != NULL)
		fputs(errors, stderr);
	else
		ctl_warnx("%s: out of memory", path);
	free(errors);
	ctl_warnx("nothing %s", undone);
	return NULL;
}

/* attach */

/* --cache SIZE: as netdisktab's cache= (tab_cache_parse). */
static int
attach_cache_opt(struct attach *a, const char *arg)
{
	uint64_t v;

	if (tab_cache_parse(arg, &v) == -1) {
		ctl_warnx("--cache: \"%s\" is not 0 or a size from 1M to 1T "
		    "(use 64M, 1G)", arg);
		return CLIENT_ERR_USAGE;
	}
	a->cache = (int64_t)v;
	return CLIENT_OK;
}

static int
attach_opt(const struct ctl_cmd *cmd, struct attach *a, int ch, char **argv)
{
	switch (ch) {
	case 'a':
		a->all = 1;
		return CLIENT_OK;
	case 't':
		a->tabfile = optarg;
		return CLIENT_OK;
	case 'c':
		return ctl_parse_int("--conns", optarg, 1, ND_MAX_CONNS,
		    &a->conns) ? CLIENT_ERR_USAGE : CLIENT_OK;
	case 'd':
		return ctl_parse_int("--dead-timeout", optarg, 0,
		    ND_MAX_DEAD_TIMEOUT, &a->dead_timeout) ?
		    CLIENT_ERR_USAGE : CLIENT_OK;
	case 'r':
		a->ro = 1;
		return CLIENT_OK;
	case 'C':
		return attach_cache_opt(a, optarg);
	}
	return ctl_common_opt(cmd, ch, argv, &a->args);
}

/* "host:port" or "[v6]:port", after "NAME: " for a table entry. */
static void
attach_peer(struct attach *a)
{
	char host[300];

	if (strchr(a->u.host, ':') != NULL)
		snprintf(host, sizeof(host), "[%s]", a->u.host);
	else
		strlcpy(host, a->u.host, sizeof(host));
	snprintf(a->peer, sizeof(a->peer), "%s%s%s:%s",
	    a->name != NULL ? a->name : "", a->name != NULL ? ": " : "",
	    host, a->u.port);
}

/*
 * --server-key or $NETDISK_SERVER_KEY, for the add line's server_pub:
 * the device speaks protocol version 3 only.
 */
static int
attach_server_key(struct attach *a)
{
	uint8_t pub[ND_KEY_LEN];
	const uint8_t *p;
	int r;

	if ((r = ctl_load_server_key(&a->args, pub, &p)) != CLIENT_OK)
		return r;
	if (p != NULL)
		key_format_hex(pub, a->server_pub);
	return CLIENT_OK;
}

/* -a or NAME: the table has the key file and the options. */
static int
attach_table_args(struct attach *a)
{
	if (a->args.keyfile == NULL && a->args.server_key == NULL &&
	    a->conns == -1 && a->dead_timeout == -1 && !a->ro &&
	    a->cache == -1)
		return CLIENT_OK;
	ctl_warnx("attach: -k, --server-key, --conns, --ro, --dead-timeout and "
	    "--cache go with a URI; a table entry has its own key file and "
	    "options");
	return CLIENT_ERR_USAGE;
}

static int
attach_parse(const struct ctl_cmd *cmd, struct attach *a, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS, CTL_SERVER_KEY_LONGOPT,
		{ "conns", required_argument, NULL, 'c' },
		{ "dead-timeout", required_argument, NULL, 'd' },
		{ "ro", no_argument, NULL, 'r' },
		{ "cache", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, r;

	while ((ch = getopt_long(argc, argv, CTL_COMMON_SHORTOPTS "at:",
	    longopts, NULL)) != -1)
		if ((r = attach_opt(cmd, a, ch, argv)) != CLIENT_OK)
			return r;
	if ((r = ctl_operands(cmd, argc, a->all ? 0 : 1)) != CLIENT_OK)
		return r;
	if (!a->all && strstr(argv[optind], "://") == NULL)
		a->name = argv[optind];
	if (a->all || a->name != NULL)
		return attach_table_args(a);
	if (a->tabfile != NULL) {
		ctl_warnx("attach: -t goes with -a or an entry NAME, not with "
		    "a URI");
		return CLIENT_ERR_USAGE;
	}
	if (uri_parse(argv[optind], &a->u) == -1 ||
	    a->u.scheme != URI_NETDISK) {
		ctl_warnx("\"%s\" is not a netdisk URI "
		    "(netdisk://HOST[:PORT]/EXPORT)%s", argv[optind],
		    a->u.scheme == URI_NBD ? ": netdisk.ko speaks netdisk's "
		    "protocol; for NBD use nbd-client" : "");
		return CLIENT_ERR_USAGE;
	}
	attach_peer(a);
	return attach_server_key(a);
}

/*
 * The module takes numeric addresses only: an IPv4 or IPv6 address for
 * ai, in host.  -1 for an address it cannot reach (an IPv6 scope).
 */
static int
numeric_host(const struct addrinfo *ai, char *host, size_t len)
{
	const struct sockaddr_in6 *sin6;

	if (ai->ai_family == AF_INET6) {
		sin6 = (const struct sockaddr_in6 *)(const void *)ai->ai_addr;
		if (sin6->sin6_scope_id != 0)
			return -1;
	} else if (ai->ai_family != AF_INET)
		return -1;
	if (getnameinfo(ai->ai_addr, ai->ai_addrlen, host, len, NULL, 0,
	    NI_NUMERICHOST) != 0)
		return -1;
	return 0;
}

/*
 * One attach through the add file, fd: 0, or an errno.  The line, key
 * included, goes to the kernel in a single write and is wiped at once.
 */
static int
attach_write(int fd, const struct attach *a, const char *addr,
    const uint8_t key[ND_KEY_LEN])
{
	struct kmod_add k = {
		.address = addr, .port = a->u.port, .export = a->u.export,
		.conns = a->conns, .dead_timeout = a->dead_timeout,
		.cache = a->cache, .ro = a->ro, .client_id = a->client_hex, .name = a->name,
		.server_pub = a->server_pub[0] != '\0' ? a->server_pub : NULL,
	};

	return kmod_add(fd, &k, key);
}

/* 1 for the errors after which another address of the host may work. */
static int
attach_try_next(int err)
{
	return err == ECONNREFUSED || err == ENETUNREACH ||
	    err == EHOSTUNREACH || err == ETIMEDOUT;
}

static int
attach_connect_fail(const struct attach *a, int err)
{
	switch (err) {
	case ECONNREFUSED:
		ctl_warnx("%s: connection refused", a->peer);
		break;
	case ETIMEDOUT:
		ctl_warnx("%s: server unreachable (timed out)", a->peer);
		break;
	default:
		ctl_warnx("%s: server unreachable (%s)", a->peer,
		    err == ENETUNREACH ? "network unreachable" :
		    "no route to host");
		break;
	}
	return CLIENT_ERR_CONNECT;
}

/* A failed write to the add file: the message and the exit code. */
static int
attach_fail(const struct attach *a, int err)
{
	const char *p = a->peer;

	switch (err) {
	case EKEYREJECTED:
		ctl_warnx("%s: authentication failed (wrong key or no such "
		    "export)", p);
		return CLIENT_ERR_AUTH;
	case EBUSY:
		ctl_warnx("%s: export busy (in use by another client)", p);
		return CLIENT_ERR_BUSY;
	case EACCES:
		ctl_warnx("%s: access denied (address not allowed)", p);
		return CLIENT_ERR_DENIED;
	case EUSERS:
		ctl_warnx("%s: too many clients", p);
		return CLIENT_ERR_DENIED;
	case ECONNREFUSED:
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ETIMEDOUT:
		return attach_connect_fail(a, err);
	case EPROTONOSUPPORT:
		ctl_warnx("%s: no common protocol version", p);
		return CLIENT_ERR_PROTO;
	case EBADMSG:
		ctl_warnx("%s: protocol error: server hello does not "
		    "authenticate", p);
		return CLIENT_ERR_PROTO;
	case EPROTO:
		ctl_warnx("%s: protocol error (see the kernel log)", p);
		return CLIENT_ERR_PROTO;
	case EINVAL:
		ctl_warnx("%s: attach options refused by the server or the "
		    "module (see the kernel log)", p);
		return CLIENT_ERR_PROTO;
	case EAGAIN:
		ctl_warnx("%s: export unavailable (cannot be opened or server "
		    "shutting down)", p);
		return CLIENT_ERR_IO;
	case ENAMETOOLONG:
		ctl_warnx("%s: attach line too long", p);
		return CLIENT_ERR_INTERNAL;
	}
	ctl_warnx("%s: attach failed: %s", p, strerror(err));
	return CLIENT_ERR_INTERNAL;
}

/*
 * Writes the attach line for each usable address of the host in turn
 * until one connects: 0, an errno, or -1 when none is usable.
 */
static int
attach_addrs(int fd, const struct attach *a, const struct addrinfo *res,
    const uint8_t key[ND_KEY_LEN])
{
	const struct addrinfo *ai;
	char host[NI_MAXHOST];
	int err = -1;

	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if (numeric_host(ai, host, sizeof(host)) == -1)
			continue;
		err = attach_write(fd, a, host, key);
		if (!attach_try_next(err))
			break;
	}
	return err;
}

static int
attach_resolve(const struct attach *a, struct addrinfo **res)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	int r;

	hints.ai_flags = AI_NUMERICSERV;
	if ((r = getaddrinfo(a->u.host, a->u.port, &hints, res)) != 0) {
		ctl_warnx("%s: cannot resolve: %s", a->peer, gai_strerror(r));
		return CLIENT_ERR_CONNECT;
	}
	return CLIENT_OK;
}

/*
 * The device the module made for our client id: "/dev/netdiskN", or
 * "NAME: attached /dev/netdiskN" for a table entry.
 */
static int
attach_report(const struct attach *a)
{
	int index;

	if ((index = kmod_find(ND_ATTR_CLIENT_ID, a->client_hex)) == -2)
		return CLIENT_ERR_INTERNAL;
	if (index == -1) {
		ctl_warnx("%s: attached, but no device has client id %s",
		    a->peer, a->client_hex);
		return CLIENT_ERR_INTERNAL;
	}
	if (a->name != NULL)
		printf("%s: attached ", a->name);
	printf("/dev/" ND_SYSFS_NAME "%d\n", index);
	if (fflush(stdout) == EOF) {
		ctl_warn("stdout");
		return CLIENT_ERR_IO;
	}
	return CLIENT_OK;
}

static int
attach_id(struct attach *a)
{
	size_t i;

	if (crypto_random(a->client_id, sizeof(a->client_id)) == -1) {
		ctl_warnx("cannot draw a random client id");
		return CLIENT_ERR_INTERNAL;
	}
	for (i = 0; i < sizeof(a->client_id); i++)
		snprintf(a->client_hex + 2 * i, 3, "%02x", a->client_id[i]);
	return CLIENT_OK;
}

/*
 * The key from -k or $NETDISK_KEYFILE, or the entry's key file; checked
 * and read the same way.
 */
static int
attach_key(const struct attach *a, uint8_t key[ND_KEY_LEN])
{
	char err[512];

	if (a->name == NULL)
		return ctl_load_key(&a->args, key);
	if (key_load_file(a->args.keyfile, key, err, sizeof(err)) == 0)
		return CLIENT_OK;
	crypto_wipe(key, ND_KEY_LEN);
	ctl_warnx("%s: %s", a->name, err);
	return CLIENT_ERR_USAGE;
}

/* Resolves, loads the key, and attaches; the key is wiped on every path. */
static int
attach_run(struct attach *a)
{
	uint8_t key[ND_KEY_LEN];
	struct addrinfo *res;
	int fd, r, err;

	if ((r = attach_id(a)) != CLIENT_OK)
		return r;
	if ((fd = kmod_add_open()) == -1)
		return CLIENT_ERR_INTERNAL;
	if ((r = attach_resolve(a, &res)) != CLIENT_OK) {
		close(fd);
		return r;
	}
	if ((r = attach_key(a, key)) == CLIENT_OK) {
		err = attach_addrs(fd, a, res, key);
		crypto_wipe(key, sizeof(key));
		if (err == -1) {
			ctl_warnx("%s: no IPv4 or global IPv6 address (the "
			    "kernel module takes no IPv6 scope)", a->peer);
			r = CLIENT_ERR_CONNECT;
		} else if (err != 0)
			r = attach_fail(a, err);
	}
	freeaddrinfo(res);
	close(fd);
	return r == CLIENT_OK ? attach_report(a) : r;
}

static void
attach_init(struct attach *a)
{
	memset(a, 0, sizeof(*a));
	a->conns = -1;
	a->dead_timeout = -1;
	a->cache = -1;
}

/* One entry, unless a device has its name already. */
static int
attach_entry(const struct tab_entry *e)
{
	struct attach a;
	int index, r;

	if ((index = kmod_find(ND_ATTR_NAME, e->name)) == -2)
		return CLIENT_ERR_INTERNAL;
	if (index >= 0) {
		printf("%s: already attached as /dev/" ND_SYSFS_NAME "%d\n",
		    e->name, index);
		return fflush(stdout) == EOF ? CLIENT_ERR_IO : CLIENT_OK;
	}
	attach_init(&a);
	a.name = e->name;
	a.u = e->uri;
	a.args.keyfile = e->keyfile;
	a.conns = e->conns;
	a.dead_timeout = e->dead_timeout;
	a.cache = e->cache;
	a.ro = (e->flags & TAB_RO) != 0;
	attach_peer(&a);
	/* The entry's own server key only, not $NETDISK_SERVER_KEY's. */
	a.args.server_key = e->server_key;
	if (e->server_key != NULL && (r = attach_server_key(&a)) != CLIENT_OK)
		return r;
	return attach_run(&a);
}

/* Every entry but the noauto ones; the first failure's exit code. */
static int
attach_all(const struct tab *t)
{
	size_t i;
	int r = CLIENT_OK, er;

	for (i = 0; i < t->nentries; i++) {
		if (t->entries[i].flags & TAB_NOAUTO)
			continue;
		er = attach_entry(&t->entries[i]);
		if (r == CLIENT_OK)
			r = er;
	}
	return r;
}

/* The number of entries attach -a attaches. */
static size_t
tab_auto_entries(const struct tab *t)
{
	size_t i, n = 0;

	for (i = 0; i < t->nentries; i++)
		n += !(t->entries[i].flags & TAB_NOAUTO);
	return n;
}

/*
 * attach -a, or attach NAME.  A table with nothing to attach succeeds
 * without the module: the boot service of a fresh install must not fail.
 */
static int
attach_table(const struct attach *a)
{
	const char *path = a->tabfile != NULL ? a->tabfile : TAB_DEFAULT_PATH;
	const struct tab_entry *e = NULL;
	struct tab *t;
	int r, fd;

	if ((t = table_load(path, "attached")) == NULL)
		return CLIENT_ERR_CONFIG;
	if (a->name != NULL && (e = tab_find(t, a->name)) == NULL) {
		ctl_warnx("%s: no entry \"%s\"", path, a->name);
		r = CLIENT_ERR_USAGE;
	} else if (e == NULL && tab_auto_entries(t) == 0)
		r = CLIENT_OK;
	else if ((fd = kmod_add_open()) == -1)
		r = CLIENT_ERR_INTERNAL;	/* not once per entry */
	else {
		close(fd);
		r = e != NULL ? attach_entry(e) : attach_all(t);
	}
	tab_free(t);
	return r;
}

static int
ctl_attach(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct attach a;
	int r;

	attach_init(&a);
	if ((r = attach_parse(cmd, &a, argc, argv)) != CLIENT_OK)
		return r;
	if (a.all || a.name != NULL)
		return attach_table(&a);
	return attach_run(&a);
}

/* detach */

/* "/dev/netdisk0", "netdisk0" or "0" -> 0; -1 for anything else. */
static int
dev_arg_index(const char *arg)
{
	char resolved[PATH_MAX], num[32];
	const char *name = arg, *slash;

	if (arg[0] == '/' && realpath(arg, resolved) != NULL)
		name = resolved;	/* a symlink such as /dev/disk/by-... */
	if ((slash = strrchr(name, '/')) != NULL) {
		if (strncmp(name, "/dev/", 5) != 0 || slash != name + 4)
			return -1;
		name = slash + 1;
	} else if (name[0] >= '0' && name[0] <= '9') {
		snprintf(num, sizeof(num), ND_SYSFS_NAME "%.20s", name);
		name = num;
	}
	return kmod_index(name);
}

/* DEVICE: its index, or -1 with a message. */
static int
dev_arg_attached(const char *arg)
{
	int index;

	if ((index = dev_arg_index(arg)) == -1) {
		ctl_warnx("\"%s\" is not a netdisk device (use /dev/netdisk0, "
		    "netdisk0 or 0)", arg);
		return -1;
	}
	if (!kmod_present(index)) {
		ctl_warnx("/dev/" ND_SYSFS_NAME "%d: not attached", index);
		return -1;
	}
	return index;
}

/*
 * Detach netdiskN; label names it in messages (the device, or the
 * table's entry).
 */
static int
detach_write(int index, int force, const char *label)
{
	int fd, err;

	if ((fd = kmod_remove_open()) == -1)
		return CLIENT_ERR_INTERNAL;
	err = kmod_remove(fd, index, force);
	close(fd);
	switch (err) {
	case 0:
		return CLIENT_OK;
	case ENODEV:
		ctl_warnx("%s: not attached", label);
		return CLIENT_ERR_USAGE;
	case EBUSY:
		ctl_warnx("%s: in use (a mounted file system, swap or another "
		    "device on it), not detached; unmount it first, or "
		    "detach --force", label);
		return CLIENT_ERR_BUSY;
	default:
		errno = err;
		ctl_warn("%s: detach", label);
		return CLIENT_ERR_INTERNAL;
	}
}

/*
 * detach -a: every device whose name is that of an entry.  One in use
 * is left attached (exit status 5) and the others are detached.
 */
static int
detach_table(const char *path, int force)
{
	char name[KMOD_ATTR_MAX], label[KMOD_ATTR_MAX + 32];
	struct tab *t;
	size_t i, n;
	int *v, r = CLIENT_OK, er;

	if ((t = table_load(path, "detached")) == NULL)
		return CLIENT_ERR_CONFIG;
	if (kmod_list(&v, &n) == -1) {
		tab_free(t);
		return CLIENT_ERR_INTERNAL;
	}
	for (i = 0; i < n; i++) {
		if (kmod_attr(v[i], ND_ATTR_NAME, name, sizeof(name)) == -1 ||
		    tab_find(t, name) == NULL)
			continue;
		snprintf(label, sizeof(label), "%s: /dev/" ND_SYSFS_NAME "%d",
		    name, v[i]);
		if ((er = detach_write(v[i], force, label)) == CLIENT_OK)
			printf("%s: detached /dev/" ND_SYSFS_NAME "%d\n", name,
			    v[i]);
		else if (r == CLIENT_OK)
			r = er;
	}
	free(v);
	tab_free(t);
	if (fflush(stdout) == EOF && r == CLIENT_OK)
		r = CLIENT_ERR_IO;
	return r;
}

static int
detach_parse(const struct ctl_cmd *cmd, int argc, char **argv, int *all,
    int *force, const char **tabfile)
{
	struct ctl_args args = { NULL };
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS,
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":haft:", longopts, NULL)) !=
	    -1) {
		if (ch == 'a')
			*all = 1;
		else if (ch == 'f')
			*force = 1;
		else if (ch == 't')
			*tabfile = optarg;
		else if ((r = ctl_common_opt(cmd, ch, argv, &args)) != 0)
			return r;
	}
	if ((r = ctl_operands(cmd, argc, *all ? 0 : 1)) != CLIENT_OK)
		return r;
	if (!*all && *tabfile != NULL) {
		ctl_warnx("detach: -t goes with -a");
		return CLIENT_ERR_USAGE;
	}
	return CLIENT_OK;
}

static int
ctl_detach(const struct ctl_cmd *cmd, int argc, char **argv)
{
	char label[32];
	const char *tabfile = NULL;
	int r, index, all = 0, force = 0;

	if ((r = detach_parse(cmd, argc, argv, &all, &force, &tabfile)) !=
	    CLIENT_OK)
		return r;
	if (all)
		return detach_table(tabfile != NULL ? tabfile :
		    TAB_DEFAULT_PATH, force);
	if ((index = dev_arg_attached(argv[optind])) == -1)
		return CLIENT_ERR_USAGE;
	snprintf(label, sizeof(label), "/dev/" ND_SYSFS_NAME "%d", index);
	return detach_write(index, force, label);
}

/* scale */

static const char *
scale_error(int err)
{
	switch (err) {
	case EINVAL:
		return "refused by netdisk.ko (more than 1 connection needs "
		    "a server that allows it; the kernel log says why)";
	case ETIMEDOUT:
		return "timed out (the connections kept their requests or "
		    "the server did not answer; see dmesg)";
	case ENODEV:
		return "the device died or is being detached";
	default:
		return strerror(err);
	}
}

static int
ctl_scale(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct ctl_args args = { NULL };
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	char val[32];
	long n;
	int ch, r, index, err;

	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1)
		if ((r = ctl_common_opt(cmd, ch, argv, &args)) != 0)
			return r;
	if ((r = ctl_operands(cmd, argc, 2)) != CLIENT_OK)
		return r;
	if (ctl_parse_int("connections", argv[optind + 1], 1, ND_MAX_CONNS,
	    &n) == -1)
		return CLIENT_ERR_USAGE;
	if ((index = dev_arg_attached(argv[optind])) == -1)
		return CLIENT_ERR_USAGE;
	snprintf(val, sizeof(val), "%ld", n);
	if ((err = kmod_set_attr(index, ND_ATTR_CONNECTIONS, val)) != 0) {
		ctl_warnx("/dev/" ND_SYSFS_NAME "%d: scale to %ld: %s", index,
		    n, scale_error(err));
		return err == EINVAL ? CLIENT_ERR_USAGE : CLIENT_ERR_IO;
	}
	return CLIENT_OK;
}

/* list */

/* A decimal attribute as a JSON number, null if it is not one. */
static void
json_number(const char *s)
{
	uint64_t v;

	if (kmod_u64(s, &v) == 0)
		printf("%" PRIu64, v);
	else
		printf("null");
}

/* The client cache as an object, null from a module without one. */
static void
list_json_cache(const struct kmod_dev *d)
{
	const struct kmod_cache *c = &d->cache;

	if (c->state[0] == '\0') {
		printf("null");
		return;
	}
	printf("{\"state\":");
	json_string(stdout, c->state);
	printf(",\"reason\":");
	json_string(stdout, c->reason);
	printf(",\"size\":");
	json_number(c->size);
	printf(",\"used\":");
	json_number(c->used);
	printf(",\"hits\":");
	json_number(c->hits);
	printf(",\"misses\":");
	json_number(c->misses);
	printf(",\"evictions\":");
	json_number(c->evictions);
	printf(",\"invalidations\":");
	json_number(c->invalidations);
	printf("}");
}

static void
list_json(const struct kmod_dev *d, int first)
{
	printf("%s{\"device\":\"/dev/" ND_SYSFS_NAME "%d\",\"server\":",
	    first ? "" : ",", d->index);
	json_string(stdout, d->server);
	printf(",\"export\":");
	json_string(stdout, d->export);
	printf(",\"state\":");
	json_string(stdout, d->state);
	printf(",\"connections\":");
	json_number(d->conns);
	printf(",\"size\":%" PRIu64 ",\"reconnects\":", d->size);
	json_number(d->reconnects);
	printf(",\"name\":");
	if (d->name[0] != '\0')
		json_string(stdout, d->name);
	else
		printf("null");
	printf(",\"cache\":");
	list_json_cache(d);
	printf("}");
}

/* " cache=STATE" unless it is off, and its figures when it is on. */
static void
list_text_cache(const struct kmod_cache *c)
{
	if (c->state[0] == '\0' || strcmp(c->state, ND_CACHE_OFF) == 0)
		return;
	printf(" cache=%s", c->state);
	if (strcmp(c->state, ND_CACHE_ON) != 0)
		return;
	printf(" cache_size=%s cache_used=%s cache_hits=%s cache_misses=%s "
	    "cache_evictions=%s cache_invalidations=%s", c->size, c->used,
	    c->hits, c->misses, c->evictions, c->invalidations);
}

static void
list_text(const struct kmod_dev *d)
{
	printf("/dev/" ND_SYSFS_NAME "%d server=%s export=%s state=%s "
	    "connections=%s size=%" PRIu64 " reconnects=%s", d->index,
	    d->server, d->export, d->state, d->conns, d->size, d->reconnects);
	list_text_cache(&d->cache);
	printf("%s%s\n", d->name[0] != '\0' ? " name=" : "", d->name);
}

static int
list_print(const int *v, size_t n, int json)
{
	struct kmod_dev d;
	size_t i;
	int r = CLIENT_OK, shown = 0, st;

	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		if ((st = kmod_dev_read(v[i], &d)) == 1)
			continue;
		if (st == -1) {
			r = CLIENT_ERR_INTERNAL;
			continue;
		}
		if (json)
			list_json(&d, !shown);
		else
			list_text(&d);
		shown++;
	}
	if (json)
		printf("]\n");
	if (fflush(stdout) == EOF) {
		ctl_warn("stdout");
		r = CLIENT_ERR_IO;
	}
	return r;
}

static int
ctl_list(const struct ctl_cmd *cmd, int argc, char **argv)
{
	struct ctl_args args = { NULL };
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS,
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	int ch, r, json = 0, *v;
	size_t n;

	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		if (ch == 'j')
			json = 1;
		else if ((r = ctl_common_opt(cmd, ch, argv, &args)) != 0)
			return r;
	}
	if ((r = ctl_operands(cmd, argc, 0)) != CLIENT_OK)
		return r;
	if (kmod_list(&v, &n) == -1)
		return CLIENT_ERR_INTERNAL;
	r = list_print(v, n, json);
	free(v);
	return r;
}

const struct ctl_cmd ctl_attach_cmds[] = {
	/* attach and detach have more forms, one a line. */
	{ "attach", ctl_attach, "[-k KEYFILE] [--server-key KEY] [--conns N] "
	    "[--ro] [--dead-timeout SECONDS] [--cache SIZE] URI\n"
	    "       netdiskctl attach -a [-t TABFILE]\n"
	    "       netdiskctl attach [-t TABFILE] NAME" },
	{ "detach", ctl_detach, "[-f] DEVICE\n"
	    "       netdiskctl detach -a [-f] [-t TABFILE]" },
	{ "scale", ctl_scale, "DEVICE N" },
	{ "list", ctl_list, "[--json]" },
	{ NULL, NULL, NULL }
};
