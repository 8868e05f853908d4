/* SPDX-License-Identifier: ISC */
/*
 * storefault.so: an LD_PRELOAD shim that makes one backing file of
 * netdiskd stall or fail, for the tests of fencing and sticky I/O errors.
 *
 * STOREFAULT_FILE names the file, or several separated by colons; only
 * descriptors open on one of them (same device and inode) are affected.  STOREFAULT_DIR is a directory whose files
 * switch the faults on while they exist:
 *
 *   stall     pwrite, pwritev2, fallocate, fdatasync and fsync block until
 *             the file is removed; while one is blocked, the file
 *             "stalled" exists (tests wait for it)
 *   eio       the same calls fail with EIO
 *   enospc    pwrite, pwritev2 and fallocate fail with ENOSPC
 *   syncfail  the next fdatasync or fsync fails with EIO and removes the
 *             file: an error reported once, as Linux reports writeback
 *             errors
 *
 * Sanitizer builds need ASAN_OPTIONS=verify_asan_link_order=0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static atomic_int nstalled;

static int
ctl_exists(const char *name)
{
	const char *dir = getenv("STOREFAULT_DIR");
	char path[PATH_MAX];

	if (dir == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void
ctl_set(const char *name, int on)
{
	const char *dir = getenv("STOREFAULT_DIR");
	char path[PATH_MAX];
	int fd;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!on) {
		unlink(path);
		return;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) != -1)
		close(fd);
}

/* Is fd open on (one of) STOREFAULT_FILE? */
static int
targeted(int fd)
{
	const char *files = getenv("STOREFAULT_FILE"), *end;
	char file[PATH_MAX];
	struct stat a, b;

	if (files == NULL || fstat(fd, &a) == -1)
		return 0;
	for (; *files != '\0'; files = *end ? end + 1 : end) {
		if ((end = strchr(files, ':')) == NULL)
			end = files + strlen(files);
		snprintf(file, sizeof(file), "%.*s", (int)(end - files), files);
		if (stat(file, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino)
			return 1;
	}
	return 0;
}

static void
stall(void)
{
	struct timespec ts = { 0, 5 * 1000 * 1000 };

	if (!ctl_exists("stall"))
		return;
	if (atomic_fetch_add(&nstalled, 1) == 0)
		ctl_set("stalled", 1);
	while (ctl_exists("stall"))
		nanosleep(&ts, NULL);
	if (atomic_fetch_sub(&nstalled, 1) == 1)
		ctl_set("stalled", 0);
}

/* 0, or the errno a write-like call fails with. */
static int
write_fault(int fd, int nospc)
{
	if (!targeted(fd))
		return 0;
	stall();
	if (ctl_exists("eio"))
		return EIO;
	if (nospc && ctl_exists("enospc"))
		return ENOSPC;
	return 0;
}

static int
sync_fault(int fd)
{
	const char *dir = getenv("STOREFAULT_DIR");
	char path[PATH_MAX];
	int err;

	if ((err = write_fault(fd, 0)) != 0)
		return err;
	if (dir == NULL || !targeted(fd))
		return 0;
	snprintf(path, sizeof(path), "%s/syncfail", dir);
	return unlink(path) == 0 ? EIO : 0;	/* once */
}

#define REAL(name) \
	static __typeof__(name) *real; \
	if (real == NULL) \
		real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	REAL(pwrite);
	int err = write_fault(fd, 1);

	if (err) {
		errno = err;
		return -1;
	}
	return real(fd, buf, len, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off);
}

ssize_t
pwritev2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	REAL(pwritev2);
	int err = write_fault(fd, 1);

	if (err) {
		errno = err;
		return -1;
	}
	return real(fd, iov, n, off, flags);
}

ssize_t
pwritev64v2(int fd, const struct iovec *iov, int n, off_t off, int flags)
{
	return pwritev2(fd, iov, n, off, flags);
}

int
fallocate(int fd, int mode, off_t off, off_t len)
{
	REAL(fallocate);
	int err = write_fault(fd, 1);

	if (err) {
		errno = err;
		return -1;
	}
	return real(fd, mode, off, len);
}

int
fallocate64(int fd, int mode, off_t off, off_t len)
{
	return fallocate(fd, mode, off, len);
}

int
fdatasync(int fd)
{
	REAL(fdatasync);
	int err = sync_fault(fd);

	if (err) {
		errno = err;
		return -1;
	}
	return real(fd);
}

int
fsync(int fd)
{
	REAL(fsync);
	int err = sync_fault(fd);

	if (err) {
		errno = err;
		return -1;
	}
	return real(fd);
}
