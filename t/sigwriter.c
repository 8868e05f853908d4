/* SPDX-License-Identifier: ISC */
/*
 * sigwriter: O_DIRECT writes to a block device while caught signals keep
 * arriving, for t/kernel/signals.sh.
 *
 *   sigwriter [-j JOBS] [-b KIB] [-t SECONDS] [-u USEC] [-r FILE]
 *             DEVICE OFFSET_MIB SIZE_MIB
 *
 * JOBS processes (default 2) share the SIZE_MIB region at OFFSET_MIB of
 * DEVICE, each its own slice.  Each writes its slice pass after pass in
 * blocks of KIB (default 1024), every block stamped with its pass and
 * number, for SECONDS (default 10; the pass under way is finished), while
 * a timer raises SIGALRM every USEC microseconds (default 500).  SIGALRM
 * and SIGUSR1 have a handler (no SA_RESTART) that counts them; the program
 * leads its own process group, so "kill -USR1 -PID" reaches every job
 * (SIGUSR1 is ignored before the group exists, so an early one is
 * harmless).  With -r, FILE is created once every job has its handler
 * (within READY_SECS, else sigwriter fails): the sender of SIGUSR1 waits
 * for it.  A write cut short by a signal (EINTR) is counted and done
 * again.  Then
 * each job reads its slice back and checks the stamps of its last pass.
 * The end is one line:
 *   sigwriter: N writes, N signals, N interrupted, N errors, N bad blocks
 * Exit 0 if no write or read failed and every block holds what was last
 * written to it, 1 otherwise, 2 on a usage error.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB		(1024 * 1024)
#define MAX_JOBS	64
#define READY_SECS	30	/* for every job to catch signals */

struct counts {
	uint64_t writes, signals, eintr, errors, bad;
	int ready;		/* the job catches signals; __atomic_* */
};

static volatile sig_atomic_t nsignals;

static void
on_signal(int sig)
{
	(void)sig;
	nsignals++;
}

static void
usage(void)
{
	fprintf(stderr, "usage: sigwriter [-j JOBS] [-b KIB] [-t SECONDS] "
	    "[-u USEC] [-r FILE]\n"
	    "                 DEVICE OFFSET_MIB SIZE_MIB\n");
	exit(2);
}

static long
number(const char *what, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "sigwriter: %s \"%s\" is not a number from "
		    "%ld to %ld\n", what, s, min, max);
		exit(2);
	}
	return v;
}

/* The stamp of one block: a xorshift stream seeded by pass and block. */
static void
stamp(uint64_t *p, size_t words, uint64_t pass, uint64_t blk)
{
	uint64_t x = (pass << 32 | blk) * 0x9e3779b97f4a7c15ULL | 1;
	size_t i;

	for (i = 0; i < words; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = x;
	}
}

/* pwrite/pread all of len, again after EINTR; -1 on an error. */
static int
io_all(int fd, void *buf, size_t len, off_t off, int wr, struct counts *c)
{
	ssize_t n;

	for (;;) {
		n = wr ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
		if (n == (ssize_t)len)
			return 0;
		if (n == -1 && errno == EINTR) {
			c->eintr++;
			continue;
		}
		fprintf(stderr, "sigwriter: %s of %zu bytes at %jd: %s\n",
		    wr ? "write" : "read", len, (intmax_t)off,
		    n == -1 ? strerror(errno) : "short");
		c->errors++;
		return -1;
	}
}

static void
catch_signals(long usec)
{
	struct sigaction sa;
	struct itimerval it;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	it.it_interval.tv_sec = usec / 1000000;
	it.it_interval.tv_usec = usec % 1000000;
	it.it_value = it.it_interval;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* One job: passes over [off, off + len) until the deadline, then check. */
static void
job(int fd, off_t off, off_t len, size_t bs, time_t secs, long usec,
    struct counts *c)
{
	size_t words = bs / sizeof(uint64_t);
	uint64_t *buf, *want, pass, blk, nblk = (uint64_t)len / bs;
	time_t end = time(NULL) + secs;

	if (posix_memalign((void **)&buf, 4096, bs) ||
	    posix_memalign((void **)&want, 4096, bs)) {
		fprintf(stderr, "sigwriter: out of memory\n");
		c->errors++;
		return;
	}
	catch_signals(usec);
	__atomic_store_n(&c->ready, 1, __ATOMIC_RELEASE);
	for (pass = 1; c->errors == 0; pass++) {
		for (blk = 0; blk < nblk && c->errors == 0; blk++) {
			stamp(buf, words, pass, blk);
			if (io_all(fd, buf, bs, off + (off_t)(blk * bs), 1, c) == 0)
				c->writes++;
		}
		if (time(NULL) >= end)
			break;
	}
	for (blk = 0; blk < nblk && c->errors == 0; blk++) {
		if (io_all(fd, buf, bs, off + (off_t)(blk * bs), 0, c) == -1)
			break;
		stamp(want, words, pass, blk);
		if (memcmp(buf, want, bs) != 0) {
			fprintf(stderr, "sigwriter: block at %jd does not hold "
			    "pass %" PRIu64 "\n",
			    (intmax_t)(off + (off_t)(blk * bs)), pass);
			c->bad++;
		}
	}
	c->signals = (uint64_t)nsignals;
	free(buf);
	free(want);
}

/*
 * Create file once every job catches signals: 0, or -1 (said why) if
 * they do not within READY_SECS or the file cannot be made.
 */
static int
tell_ready(const char *file, struct counts *c, long jobs)
{
	struct timespec ms = { 0, 1000 * 1000 };
	long i, waited;
	int fd;

	for (waited = 0; waited < READY_SECS * 1000L; waited++) {
		for (i = 0; i < jobs; i++)
			if (!__atomic_load_n(&c[i].ready, __ATOMIC_ACQUIRE) &&
			    c[i].errors == 0)
				break;
		if (i == jobs)
			break;
		nanosleep(&ms, NULL);
	}
	if (waited == READY_SECS * 1000L) {
		fprintf(stderr, "sigwriter: the jobs do not catch signals "
		    "after %d s\n", READY_SECS);
		return -1;
	}
	if ((fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) == -1) {
		fprintf(stderr, "sigwriter: %s: %s\n", file, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int
main(int argc, char **argv)
{
	long jobs = 2, kib = 1024, secs = 10, usec = 500, i;
	const char *ready = NULL;
	off_t off, size, slice;
	struct counts *c, sum = { 0 };
	int fd, opt, st, failed = 0;

	while ((opt = getopt(argc, argv, "j:b:t:u:r:")) != -1) {
		switch (opt) {
		case 'j': jobs = number("-j", optarg, 1, MAX_JOBS); break;
		case 'b': kib = number("-b", optarg, 4, 4096); break;
		case 't': secs = number("-t", optarg, 0, 86400); break;
		case 'u': usec = number("-u", optarg, 10, 10000000); break;
		case 'r': ready = optarg; break;
		default: usage();
		}
	}
	if (argc - optind != 3 || kib % 4)
		usage();
	off = (off_t)number("OFFSET_MIB", argv[optind + 1], 0, 1 << 20) * MIB;
	size = (off_t)number("SIZE_MIB", argv[optind + 2], 1, 1 << 20) * MIB;
	slice = size / jobs / (kib * 1024) * (kib * 1024);
	if (slice == 0) {
		fprintf(stderr, "sigwriter: %jd MiB is too small for %ld jobs "
		    "of %ld KiB blocks\n", (intmax_t)(size / MIB), jobs, kib);
		return 2;
	}
	if ((fd = open(argv[optind], O_RDWR | O_DIRECT)) == -1) {
		fprintf(stderr, "sigwriter: %s: %s\n", argv[optind],
		    strerror(errno));
		return 1;
	}
	c = mmap(NULL, sizeof(*c) * jobs, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED) {
		fprintf(stderr, "sigwriter: mmap: %s\n", strerror(errno));
		return 1;
	}
	memset(c, 0, sizeof(*c) * jobs);
	signal(SIGUSR1, SIG_IGN);	/* the parent only waits */
	setpgid(0, 0);
	for (i = 0; i < jobs; i++) {
		switch (fork()) {
		case -1:
			fprintf(stderr, "sigwriter: fork: %s\n", strerror(errno));
			c[i].errors++;
			break;
		case 0:
			job(fd, off + i * slice, slice, (size_t)kib * 1024,
			    secs, usec, &c[i]);
			_exit(0);
		}
	}
	if (ready != NULL && tell_ready(ready, c, jobs) == -1)
		failed++;
	for (;;) {
		if (wait(&st) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	for (i = 0; i < jobs; i++) {
		sum.writes += c[i].writes;
		sum.signals += c[i].signals;
		sum.eintr += c[i].eintr;
		sum.errors += c[i].errors;
		sum.bad += c[i].bad;
	}
	printf("sigwriter: %" PRIu64 " writes, %" PRIu64 " signals, %" PRIu64
	    " interrupted, %" PRIu64 " errors, %" PRIu64 " bad blocks\n",
	    sum.writes, sum.signals, sum.eintr, sum.errors + failed, sum.bad);
	return sum.errors || failed || sum.bad || sum.writes == 0 ? 1 : 0;
}
