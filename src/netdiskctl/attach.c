/*
 * netdiskctl attach, detach and list: the kernel client (netdisk.ko)
 * through its control files, /sys/bus/netdisk/{add,remove}, and the
 * attributes under /sys/block/netdiskN/netdisk/.  attach -a, attach NAME
 * and detach -a work from the entries of netdisktab (tab.h); a device
 * attached from an entry keeps its name in the attribute "name".
 * $NETDISK_SYSFS replaces "/sys", so that a test can point these commands
 * at a directory tree of its own.
 */
#include "config.h"

#include <sys/socket.h>

#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "crypto.h"
#include "ctl.h"
#include "tab.h"
#include "key.h"
#include "netdisk_sysfs.h"
#include "uri.h"
#include "util.h"

#define SYSFS_DEFAULT	"/sys"
#define ADD_FILE	"bus/netdisk/add"
#define REMOVE_FILE	"bus/netdisk/remove"
#define DEV_PREFIX	"netdisk"
#define NAME_ATTR	DEV_PREFIX "/name"	/* the entry's name, or "" */
#define ATTR_MAX	256		/* longest attribute value we read */
#define ADD_LINE_MAX	512
#define NOT_LOADED	"netdisk kernel module not loaded (modprobe netdisk)"

struct attach {
	struct ctl_args args;		/* the key file: -k, or the entry's */
	long conns;			/* -1: the module's default */
	long dead_timeout;		/* -1: the module's default */
	int ro;
	int all;			/* -a */
	const char *tabfile;		/* -t; NULL: TAB_DEFAULT_PATH */
	const char *name;		/* the table entry; NULL for a URI */
	struct nd_uri u;
	char peer[340];			/* "[NAME: ]host:port" for messages */
	uint8_t client_id[ND_CLIENT_ID_LEN];
	char client_hex[2 * ND_CLIENT_ID_LEN + 1];
};

/* Paths under the sysfs root. */

static const char *
sysfs_root(void)
{
	const char *root = getenv("NETDISK_SYSFS");

	return root != NULL && *root != '\0' ? root : SYSFS_DEFAULT;
}

static int
sysfs_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n, m;

	n = snprintf(buf, len, "%s/", sysfs_root());
	if (n < 0 || (size_t)n >= len)
		return -1;
	va_start(ap, fmt);
	m = vsnprintf(buf + n, len - (size_t)n, fmt, ap);
	va_end(ap);
	if (m < 0 || (size_t)m >= len - (size_t)n) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * One attribute of a device, trailing newline removed: 0, or -1 with
 * errno (ENOENT once the device is gone).
 */
static int
read_attr(int index, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd;

	if (sysfs_path(path, sizeof(path), "block/" DEV_PREFIX "%d/%s", index,
	    name) == -1)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n == -1)
		return -1;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

/* "netdisk12" -> 12; -1 for anything else. */
static int
dev_name_index(const char *name)
{
	const char *p;
	long v;

	if (strncmp(name, DEV_PREFIX, strlen(DEV_PREFIX)) != 0)
		return -1;
	p = name + strlen(DEV_PREFIX);
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0') ||
	    strspn(p, "0123456789") != strlen(p) || strlen(p) > 9)
		return -1;
	v = strtol(p, NULL, 10);
	return (int)v;
}

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int
add_index(int **v, size_t *n, size_t *cap, int index)
{
	int *nv;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if ((nv = reallocarray(*v, *cap, sizeof(**v))) == NULL)
			return -1;
		*v = nv;
	}
	(*v)[(*n)++] = index;
	return 0;
}

/*
 * The indexes of the netdisk devices, sorted: 0 and a malloc'd array (NULL
 * when there are none), or -1 with a message printed.
 */
static int
list_indexes(int **out, size_t *count)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int index;

	*out = NULL;
	*count = 0;
	if (sysfs_path(path, sizeof(path), "block") == -1 ||
	    (d = opendir(path)) == NULL) {
		ctl_warn("%s/block", sysfs_root());
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((index = dev_name_index(de->d_name)) == -1)
			continue;
		if (add_index(out, count, &cap, index) == -1) {
			ctl_warn("device list");
			closedir(d);
			free(*out);
			return -1;
		}
	}
	closedir(d);
	if (*count > 0)
		qsort(*out, *count, sizeof(**out), cmp_int);
	return 0;
}

/* The device whose name is name: its index, -1 if none, -2 on error. */
static int
find_named(const char *name)
{
	char got[ATTR_MAX];
	size_t i, n;
	int *v, found = -1;

	if (list_indexes(&v, &n) == -1)
		return -2;
	for (i = 0; i < n && found == -1; i++)
		if (read_attr(v[i], NAME_ATTR, got, sizeof(got)) == 0 &&
		    strcmp(got, name) == 0)
			found = v[i];
	free(v);
	return found;
}

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

/* -a or NAME: the table has the key file and the options. */
static int
attach_table_args(struct attach *a)
{
	if (a->args.keyfile == NULL && a->conns == -1 &&
	    a->dead_timeout == -1 && !a->ro)
		return CLIENT_OK;
	ctl_warnx("attach: -k, --conns, --ro and --dead-timeout go with a "
	    "URI; a table entry has its own key file and options");
	return CLIENT_ERR_USAGE;
}

static int
attach_parse(const struct ctl_cmd *cmd, struct attach *a, int argc,
    char **argv)
{
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS,
		{ "conns", required_argument, NULL, 'c' },
		{ "dead-timeout", required_argument, NULL, 'd' },
		{ "ro", no_argument, NULL, 'r' },
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
	if (uri_parse(argv[optind], &a->u) == -1) {
		ctl_warnx("\"%s\" is not a netdisk URI "
		    "(netdisk://HOST[:PORT]/EXPORT)", argv[optind]);
		return CLIENT_ERR_USAGE;
	}
	attach_peer(a);
	return CLIENT_OK;
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
 * The line for /sys/bus/netdisk/add.  The caller wipes it: it holds the
 * key.  0, or -1 if it does not fit.
 */
static int
add_line(const struct attach *a, const char *addr,
    const uint8_t key[ND_KEY_LEN], char *line, size_t len)
{
	char hex[2 * ND_KEY_LEN + 1], conns[32] = "", dead[32] = "";
	char name[TAB_NAME_MAX + 8] = "";
	int n;

	if (a->name != NULL)
		snprintf(name, sizeof(name), " name=%s", a->name);
	if (a->conns != -1)
		snprintf(conns, sizeof(conns), " conns=%ld", a->conns);
	if (a->dead_timeout != -1)
		snprintf(dead, sizeof(dead), " dead_timeout=%ld",
		    a->dead_timeout);
	key_format_hex(key, hex);
	n = snprintf(line, len, "address=%s port=%s export=%s key=%s%s ro=%d"
	    "%s client_id=%s%s\n", addr, a->u.port, a->u.export, hex, conns,
	    a->ro, dead, a->client_hex, name);
	crypto_wipe(hex, sizeof(hex));
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Open the module's control file (ADD_FILE or REMOVE_FILE) for writing:
 * the descriptor, or -1 with a message ("not loaded" when it is missing).
 */
static int
open_bus_file(const char *file)
{
	char path[PATH_MAX];
	int fd;

	if (sysfs_path(path, sizeof(path), "%s", file) == -1) {
		ctl_warn("%s/%s", sysfs_root(), file);
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			ctl_warnx(NOT_LOADED);
		else
			ctl_warn("%s", path);
	}
	return fd;
}

/*
 * One attach through the add file: 0, or an errno.  The line, key
 * included, goes to the kernel in a single write and is wiped at once.
 */
static int
attach_write(int fd, const struct attach *a, const char *addr,
    const uint8_t key[ND_KEY_LEN])
{
	char line[ADD_LINE_MAX];
	ssize_t n;
	size_t len;
	int err = 0;

	if (add_line(a, addr, key, line, sizeof(line)) == -1) {
		crypto_wipe(line, sizeof(line));
		return ENAMETOOLONG;
	}
	len = strlen(line);
	n = write(fd, line, len);
	if (n == -1)
		err = errno;
	else if ((size_t)n != len)
		err = EIO;
	crypto_wipe(line, sizeof(line));
	return err;
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
	char id[ATTR_MAX];
	size_t i, n;
	int *v, r = CLIENT_ERR_INTERNAL;

	if (list_indexes(&v, &n) == -1)
		return CLIENT_ERR_INTERNAL;
	for (i = 0; i < n; i++) {
		if (read_attr(v[i], DEV_PREFIX "/client_id", id,
		    sizeof(id)) == 0 && strcmp(id, a->client_hex) == 0) {
			if (a->name != NULL)
				printf("%s: attached ", a->name);
			printf("/dev/" DEV_PREFIX "%d\n", v[i]);
			r = CLIENT_OK;
			break;
		}
	}
	free(v);
	if (r != CLIENT_OK)
		ctl_warnx("%s: attached, but no device has client id %s",
		    a->peer, a->client_hex);
	else if (fflush(stdout) == EOF) {
		ctl_warn("stdout");
		r = CLIENT_ERR_IO;
	}
	return r;
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
	if ((fd = open_bus_file(ADD_FILE)) == -1)
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
}

/* One entry, unless a device has its name already. */
static int
attach_entry(const struct tab_entry *e)
{
	struct attach a;
	int index;

	if ((index = find_named(e->name)) == -2)
		return CLIENT_ERR_INTERNAL;
	if (index >= 0) {
		printf("%s: already attached as /dev/" DEV_PREFIX "%d\n",
		    e->name, index);
		return fflush(stdout) == EOF ? CLIENT_ERR_IO : CLIENT_OK;
	}
	attach_init(&a);
	a.name = e->name;
	a.u = e->uri;
	a.args.keyfile = e->keyfile;
	a.conns = e->conns;
	a.dead_timeout = e->dead_timeout;
	a.ro = (e->flags & TAB_RO) != 0;
	attach_peer(&a);
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
	else if ((fd = open_bus_file(ADD_FILE)) == -1)
		r = CLIENT_ERR_INTERNAL;	/* not once per entry */
	else {
		close(fd);
		r = e != NULL ? attach_entry(e) : attach_all(t);
	}
	tab_free(t);
	return r;
}

int
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
		snprintf(num, sizeof(num), DEV_PREFIX "%.20s", name);
		name = num;
	}
	return dev_name_index(name);
}

static int
detach_write(int index)
{
	char name[32];
	ssize_t n;
	int fd, err;

	if ((fd = open_bus_file(REMOVE_FILE)) == -1)
		return CLIENT_ERR_INTERNAL;
	snprintf(name, sizeof(name), DEV_PREFIX "%d", index);
	n = write(fd, name, strlen(name));
	err = errno;
	close(fd);
	if (n != -1)
		return CLIENT_OK;
	if (err == ENODEV) {
		ctl_warnx("/dev/%s: not attached", name);
		return CLIENT_ERR_USAGE;
	}
	errno = err;
	ctl_warn("/dev/%s: detach", name);
	return CLIENT_ERR_INTERNAL;
}

/* 1 if netdiskN is there: its folder with the module's attributes. */
static int
dev_present(int index)
{
	char path[PATH_MAX];

	if (sysfs_path(path, sizeof(path), "block/" DEV_PREFIX "%d/"
	    DEV_PREFIX, index) == -1)
		return 0;
	return access(path, F_OK) == 0;
}

/* detach -a: every device whose name is that of an entry. */
static int
detach_table(const char *path)
{
	char name[ATTR_MAX];
	struct tab *t;
	size_t i, n;
	int *v, r = CLIENT_OK, er;

	if ((t = table_load(path, "detached")) == NULL)
		return CLIENT_ERR_CONFIG;
	if (list_indexes(&v, &n) == -1) {
		tab_free(t);
		return CLIENT_ERR_INTERNAL;
	}
	for (i = 0; i < n; i++) {
		if (read_attr(v[i], NAME_ATTR, name, sizeof(name)) == -1 ||
		    tab_find(t, name) == NULL)
			continue;
		if ((er = detach_write(v[i])) == CLIENT_OK)
			printf("%s: detached /dev/" DEV_PREFIX "%d\n", name,
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
    const char **tabfile)
{
	struct ctl_args args = { NULL };
	static const struct option longopts[] = {
		CTL_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	int ch, r;

	while ((ch = getopt_long(argc, argv, ":hat:", longopts, NULL)) != -1) {
		if (ch == 'a')
			*all = 1;
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

int
ctl_detach(const struct ctl_cmd *cmd, int argc, char **argv)
{
	const char *tabfile = NULL;
	int r, index, all = 0;

	if ((r = detach_parse(cmd, argc, argv, &all, &tabfile)) != CLIENT_OK)
		return r;
	if (all)
		return detach_table(tabfile != NULL ? tabfile :
		    TAB_DEFAULT_PATH);
	if ((index = dev_arg_index(argv[optind])) == -1) {
		ctl_warnx("\"%s\" is not a netdisk device (use /dev/netdisk0, "
		    "netdisk0 or 0)", argv[optind]);
		return CLIENT_ERR_USAGE;
	}
	if (!dev_present(index)) {
		ctl_warnx("/dev/" DEV_PREFIX "%d: not attached", index);
		return CLIENT_ERR_USAGE;
	}
	return detach_write(index);
}

/* list */

struct dev_info {
	int index;
	char server[ATTR_MAX], export[ATTR_MAX], state[ATTR_MAX];
	char conns[ATTR_MAX], reconnects[ATTR_MAX], sectors[ATTR_MAX];
	char name[ATTR_MAX];		/* "": none, or a module without names */
	uint64_t size;
};

/* A decimal attribute; -1 if it is not one. */
static int
attr_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* 0; 1 if the device went away meanwhile; -1 (message printed). */
static int
dev_read(int index, struct dev_info *d)
{
	static const struct {
		const char *name;
		size_t off;
	} attrs[] = {
		{ DEV_PREFIX "/server", offsetof(struct dev_info, server) },
		{ DEV_PREFIX "/export", offsetof(struct dev_info, export) },
		{ DEV_PREFIX "/state", offsetof(struct dev_info, state) },
		{ DEV_PREFIX "/connections", offsetof(struct dev_info, conns) },
		{ DEV_PREFIX "/reconnects",
		    offsetof(struct dev_info, reconnects) },
		{ "size", offsetof(struct dev_info, sectors) },
	};
	uint64_t sectors;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->index = index;
	for (i = 0; i < sizeof(attrs) / sizeof(attrs[0]); i++) {
		if (read_attr(index, attrs[i].name, (char *)d + attrs[i].off,
		    ATTR_MAX) == 0)
			continue;
		if (errno == ENOENT || errno == ENODEV)
			return 1;
		ctl_warn("%s/block/" DEV_PREFIX "%d/%s", sysfs_root(), index,
		    attrs[i].name);
		return -1;
	}
	if (read_attr(index, NAME_ATTR, d->name, sizeof(d->name)) == -1)
		d->name[0] = '\0';
	if (attr_u64(d->sectors, &sectors) == 0 && sectors <= UINT64_MAX / 512)
		d->size = sectors * 512;
	return 0;
}

/* A decimal attribute as a JSON number, null if it is not one. */
static void
json_number(const char *s)
{
	uint64_t v;

	if (attr_u64(s, &v) == 0)
		printf("%" PRIu64, v);
	else
		printf("null");
}

static void
list_json(const struct dev_info *d, int first)
{
	printf("%s{\"device\":\"/dev/" DEV_PREFIX "%d\",\"server\":",
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
	printf("}");
}

static void
list_text(const struct dev_info *d)
{
	printf("/dev/" DEV_PREFIX "%d server=%s export=%s state=%s "
	    "connections=%s size=%" PRIu64 " reconnects=%s%s%s\n", d->index,
	    d->server, d->export, d->state, d->conns, d->size, d->reconnects,
	    d->name[0] != '\0' ? " name=" : "", d->name);
}

static int
list_print(const int *v, size_t n, int json)
{
	struct dev_info d;
	size_t i;
	int r = CLIENT_OK, shown = 0, st;

	if (json)
		printf("[");
	for (i = 0; i < n; i++) {
		if ((st = dev_read(v[i], &d)) == 1)
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

int
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
	if (list_indexes(&v, &n) == -1)
		return CLIENT_ERR_INTERNAL;
	r = list_print(v, n, json);
	free(v);
	return r;
}
