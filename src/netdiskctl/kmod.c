/* SPDX-License-Identifier: ISC */
/*
 * The kernel client's sysfs files (kmod.h): the add and remove files of
 * /sys/bus/netdisk/ and the attributes under /sys/block/netdiskN/.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "key.h"
#include "kmod.h"
#include "modload.h"
#include "netdisk_sysfs.h"
#include "util.h"
#include "warn.h"

#define SYSFS_DEFAULT	"/sys"
#define ADD_LINE_MAX	512
#define BUS_WAIT_SECONDS 5	/* for the add file once modprobe loaded us */
#define NOT_LOADED	"netdisk kernel module not loaded (modprobe netdisk)"
/* netdiskN/ under ND_SYSFS_BLOCK, and its folder of the module's attributes. */
#define DEV_DIR		ND_SYSFS_BLOCK "/" ND_SYSFS_NAME "%d"
#define ATTR_DIR	DEV_DIR "/" ND_SYSFS_NAME

static int sysfs_path(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* Paths under the sysfs root. */

/* $NETDISK_SYSFS, a test's tree, or NULL. */
static const char *
sysfs_test_root(void)
{
	const char *root = getenv("NETDISK_SYSFS");

	return root != NULL && *root != '\0' ? root : NULL;
}

static const char *
sysfs_root(void)
{
	return sysfs_test_root() != NULL ? sysfs_test_root() : SYSFS_DEFAULT;
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
 * The file name of netdiskN, in its folder of the module's attributes if
 * attr, trailing newline removed: 0, or -1 with errno.
 */
static int
read_dev_file(int index, int attr, const char *name, char *buf, size_t len)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, r;

	if (attr)
		r = sysfs_path(path, sizeof(path), ATTR_DIR "/%s", index, name);
	else
		r = sysfs_path(path, sizeof(path), DEV_DIR "/%s", index, name);
	if (r == -1)
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

int
kmod_attr(int index, const char *attr, char *buf, size_t len)
{
	return read_dev_file(index, 1, attr, buf, len);
}

int
kmod_set_attr(int index, const char *attr, const char *value)
{
	char path[PATH_MAX];
	ssize_t n;
	int fd, e = 0;

	if (sysfs_path(path, sizeof(path), ATTR_DIR "/%s", index, attr) == -1)
		return errno;
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return errno;
	n = write(fd, value, strlen(value));
	if (n == -1)
		e = errno;
	else if ((size_t)n != strlen(value))
		e = EIO;
	close(fd);
	return e;
}

int
kmod_index(const char *name)
{
	const char *p;
	long v;

	if (strncmp(name, ND_SYSFS_NAME, strlen(ND_SYSFS_NAME)) != 0)
		return -1;
	p = name + strlen(ND_SYSFS_NAME);
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != '\0') ||
	    strspn(p, "0123456789") != strlen(p) || strlen(p) > 9)
		return -1;
	v = strtol(p, NULL, 10);
	return (int)v;
}

int
kmod_present(int index)
{
	char path[PATH_MAX];

	if (sysfs_path(path, sizeof(path), ATTR_DIR, index) == -1)
		return 0;
	return access(path, F_OK) == 0;
}

/* The device list. */

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

int
kmod_list(int **out, size_t *count)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t cap = 0;
	DIR *d;
	int index;

	*out = NULL;
	*count = 0;
	if (sysfs_path(path, sizeof(path), ND_SYSFS_BLOCK) == -1 ||
	    (d = opendir(path)) == NULL) {
		ctl_warn("%s/" ND_SYSFS_BLOCK, sysfs_root());
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((index = kmod_index(de->d_name)) == -1)
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

int
kmod_find(const char *attr, const char *value)
{
	char got[KMOD_ATTR_MAX];
	size_t i, n;
	int *v, found = -1;

	if (kmod_list(&v, &n) == -1)
		return -2;
	for (i = 0; i < n && found == -1; i++)
		if (kmod_attr(v[i], attr, got, sizeof(got)) == 0 &&
		    strcmp(got, value) == 0)
			found = v[i];
	free(v);
	return found;
}

/* A device for list. */

int
kmod_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* The cache's attributes; all "" from a module without a cache. */
static void
kmod_cache_read(int index, struct kmod_cache *c)
{
	static const struct {
		const char *name;
		size_t off;
	} files[] = {
		{ ND_ATTR_CACHE_STATE, offsetof(struct kmod_cache, state) },
		{ ND_ATTR_CACHE_REASON, offsetof(struct kmod_cache, reason) },
		{ ND_ATTR_CACHE_SIZE, offsetof(struct kmod_cache, size) },
		{ ND_ATTR_CACHE_USED, offsetof(struct kmod_cache, used) },
		{ ND_ATTR_CACHE_HITS, offsetof(struct kmod_cache, hits) },
		{ ND_ATTR_CACHE_MISSES, offsetof(struct kmod_cache, misses) },
		{ ND_ATTR_CACHE_EVICTIONS,
		    offsetof(struct kmod_cache, evictions) },
		{ ND_ATTR_CACHE_INVALIDATIONS,
		    offsetof(struct kmod_cache, invalidations) },
	};
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (kmod_attr(index, files[i].name, (char *)c + files[i].off,
		    KMOD_ATTR_MAX) == -1) {
			memset(c, 0, sizeof(*c));
			return;
		}
}

int
kmod_dev_read(int index, struct kmod_dev *d)
{
	static const struct {
		int attr;		/* in the module's folder */
		const char *name;
		size_t off;
	} files[] = {
		{ 1, ND_ATTR_SERVER, offsetof(struct kmod_dev, server) },
		{ 1, ND_ATTR_EXPORT, offsetof(struct kmod_dev, export) },
		{ 1, ND_ATTR_STATE, offsetof(struct kmod_dev, state) },
		{ 1, ND_ATTR_CONNECTIONS, offsetof(struct kmod_dev, conns) },
		{ 1, ND_ATTR_RECONNECTS,
		    offsetof(struct kmod_dev, reconnects) },
		{ 0, "size", offsetof(struct kmod_dev, sectors) },
	};
	uint64_t sectors;
	size_t i;

	memset(d, 0, sizeof(*d));
	d->index = index;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (read_dev_file(index, files[i].attr, files[i].name,
		    (char *)d + files[i].off, KMOD_ATTR_MAX) == 0)
			continue;
		if (errno == ENOENT || errno == ENODEV)
			return 1;
		ctl_warn("%s/" DEV_DIR "/%s%s", sysfs_root(), index,
		    files[i].attr ? ND_SYSFS_NAME "/" : "", files[i].name);
		return -1;
	}
	if (kmod_attr(index, ND_ATTR_NAME, d->name, sizeof(d->name)) == -1)
		d->name[0] = '\0';
	kmod_cache_read(index, &d->cache);
	if (kmod_u64(d->sectors, &sectors) == 0 && sectors <= UINT64_MAX / 512)
		d->size = sectors * 512;
	return 0;
}

/* The add and remove files. */

/* Opens the bus file for writing, its path in path: fd, or -1 with errno. */
static int
bus_open(const char *file, char *path, size_t len)
{
	if (sysfs_path(path, len, "%s", file) == -1)
		return -1;
	return open(path, O_WRONLY | O_CLOEXEC);
}

/* Opens the bus file for writing, or -1 with a message. */
static int
open_bus_file(const char *file)
{
	char path[PATH_MAX];
	int fd;

	if ((fd = bus_open(file, path, sizeof(path))) != -1)
		return fd;
	if (errno == ENOENT)
		ctl_warnx(NOT_LOADED);
	else
		ctl_warn("%s/%s", sysfs_root(), file);
	return -1;
}

/* Polls for path to appear for BUS_WAIT_SECONDS: 0, or -1. */
static int
bus_wait(const char *path)
{
	const struct timespec poll = { 0, 20 * 1000000L };
	int64_t deadline = mono_ms() + BUS_WAIT_SECONDS * 1000;

	while (access(path, F_OK) == -1) {
		if (mono_ms() >= deadline)
			return -1;
		nanosleep(&poll, NULL);
	}
	return 0;
}

/*
 * The add file is missing: netdisk.ko is loaded (modload.h), unless
 * $NETDISK_SYSFS names a tree of a test's own.  Then opens it: fd, or -1
 * with a message.
 */
static int
add_load_open(const char *path)
{
	int fd;

	if (sysfs_test_root() != NULL) {
		ctl_warnx("netdisk kernel module not loaded (%s missing; with "
		    "NETDISK_SYSFS set, attach does not load it)", path);
		return -1;
	}
	if (modload_netdisk() == -1)
		return -1;
	if (bus_wait(path) == -1) {
		ctl_warnx("modprobe netdisk succeeded, but %s did not appear "
		    "within %d s", path, BUS_WAIT_SECONDS);
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		ctl_warn("%s", path);
	return fd;
}

int
kmod_add_open(void)
{
	char path[PATH_MAX];
	int fd;

	if ((fd = bus_open(ND_SYSFS_ADD, path, sizeof(path))) != -1)
		return fd;
	if (errno == ENOENT)
		return add_load_open(path);
	ctl_warn("%s/" ND_SYSFS_ADD, sysfs_root());
	return -1;
}

int
kmod_remove_open(void)
{
	return open_bus_file(ND_SYSFS_REMOVE);
}

/*
 * The add line.  The caller wipes it: it holds the key.  0, or -1 if it
 * does not fit.
 */
static int
add_line(const struct kmod_add *a, const uint8_t key[ND_KEY_LEN],
    char *line, size_t len)
{
	char hex[2 * ND_KEY_LEN + 1], conns[32] = "", dead[32] = "";
	char cache[48] = "";
	char name[ND_DEV_NAME_MAX + sizeof(" " ND_ADD_NAME "=")] = "";
	char spub[2 * ND_KEY_LEN + sizeof(" " ND_ADD_SERVER_PUB "=")] = "";
	int n;

	if (a->name != NULL)
		snprintf(name, sizeof(name), " " ND_ADD_NAME "=%s", a->name);
	if (a->server_pub != NULL)
		snprintf(spub, sizeof(spub), " " ND_ADD_SERVER_PUB "=%s",
		    a->server_pub);
	if (a->conns != -1)
		snprintf(conns, sizeof(conns), " " ND_ADD_CONNS "=%ld",
		    a->conns);
	if (a->dead_timeout != -1)
		snprintf(dead, sizeof(dead), " " ND_ADD_DEAD_TIMEOUT "=%ld",
		    a->dead_timeout);
	if (a->cache != -1)
		snprintf(cache, sizeof(cache), " " ND_ADD_CACHE "=%" PRId64,
		    a->cache);
	key_format_hex(key, hex);
	n = snprintf(line, len, ND_ADD_ADDRESS "=%s " ND_ADD_PORT "=%s "
	    ND_ADD_EXPORT "=%s " ND_ADD_KEY "=%s%s " ND_ADD_RO "=%d%s "
	    ND_ADD_CLIENT_ID "=%s%s%s%s\n", a->address, a->port, a->export,
	    hex, conns, a->ro, dead, a->client_id, name, spub, cache);
	crypto_wipe(hex, sizeof(hex));
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int
kmod_add(int fd, const struct kmod_add *a, const uint8_t key[ND_KEY_LEN])
{
	char line[ADD_LINE_MAX];
	ssize_t n;
	size_t len;
	int err = 0;

	if (add_line(a, key, line, sizeof(line)) == -1) {
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

int
kmod_remove(int fd, int index, int force)
{
	char name[32 + sizeof(ND_REMOVE_FORCE)];

	snprintf(name, sizeof(name), ND_SYSFS_NAME "%d%s", index,
	    force ? " " ND_REMOVE_FORCE : "");
	return write(fd, name, strlen(name)) == -1 ? errno : 0;
}
