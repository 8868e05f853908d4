/* SPDX-License-Identifier: ISC */
/*
 * cpustall: nothing else runs on the machine for a while, as when the host
 * of a virtual machine pauses it or starves it of CPU, for
 * t/kernel/requeue.sh (a client that did not run is not a server that did
 * not answer).
 *
 *   cpustall SECONDS
 *
 * One SCHED_FIFO spinner per CPU the process may run on, for SECONDS
 * (the process waits until each runs);
 * kernel threads, work items and every other task wait, while timers and
 * interrupts go on and time passes.  For that while the kernel's limits on
 * real-time tasks are off: kernel.sched_rt_runtime_us is -1 and each CPU's
 * fair server (/sys/kernel/debug/sched/fair_server, Linux 6.12) has no
 * runtime; both are put back at the end.  One line at the end:
 *   cpustall: N CPUs for SECS s
 * Exit 0, 1 on a failure (named on stderr), 2 on a usage error.
 */
#define _GNU_SOURCE
#include "config.h"

#include <errno.h>
#include <glob.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RT_RUNTIME	"/proc/sys/kernel/sched_rt_runtime_us"
#define FAIR_SERVERS	"/sys/kernel/debug/sched/fair_server/cpu*/runtime"
#define MAX_SECONDS	60
#define PRIO_SPIN	10
#define PRIO_MAIN	20	/* above the spinners: it still runs */

/* A setting changed for the stall, and its value before. */
struct knob {
	char *path;
	char old[64];
};

static struct knob *knobs;
static size_t nknobs;

static void usage(void)
{
	fprintf(stderr, "usage: cpustall SECONDS\n");
	exit(2);
}

static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	int ok;

	if (!f)
		return -1;
	ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_line(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -1;
	err = fputs(value, f) < 0;
	err |= fclose(f) != 0;
	return err ? -1 : 0;
}

/* Set path to value, remembering what it was; 0 or -1 (named). */
static int knob_set(const char *path, const char *value)
{
	struct knob *k;

	knobs = realloc(knobs, (nknobs + 1) * sizeof(*knobs));
	if (!knobs) {
		perror("cpustall");
		exit(1);
	}
	k = &knobs[nknobs];
	if (read_line(path, k->old, sizeof(k->old)) != 0) {
		fprintf(stderr, "cpustall: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (write_line(path, value) != 0) {
		fprintf(stderr, "cpustall: cannot write %s to %s: %s\n", value,
		    path, strerror(errno));
		return -1;
	}
	k->path = strdup(path);
	if (!k->path) {
		perror("cpustall");
		exit(1);
	}
	nknobs++;
	return 0;
}

/* Put every knob back, the last set first. */
static int knobs_restore(void)
{
	int err = 0;

	while (nknobs > 0) {
		struct knob *k = &knobs[--nknobs];

		if (write_line(k->path, k->old) != 0) {
			fprintf(stderr, "cpustall: cannot put %s back to %s: %s\n",
			    k->path, k->old, strerror(errno));
			err = -1;
		}
		free(k->path);
	}
	return err;
}

static int knobs_off(void)
{
	glob_t g;
	size_t i;
	int err = 0;

	if (knob_set(RT_RUNTIME, "-1") != 0)
		return -1;
	if (glob(FAIR_SERVERS, 0, NULL, &g) != 0)
		return 0;	/* no fair server: before 6.12, or no debugfs */
	for (i = 0; i < g.gl_pathc && err == 0; i++)
		err = knob_set(g.gl_pathv[i], "0");
	globfree(&g);
	return err;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int set_fifo(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return sched_setscheduler(0, SCHED_FIFO, &sp);
}

/* A spinner on cpu until end; tells ready once it runs there. */
static void spin(int cpu, double end, int ready)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0 ||
	    set_fifo(PRIO_SPIN) != 0) {
		fprintf(stderr, "cpustall: CPU %d: %s\n", cpu, strerror(errno));
		_exit(1);
	}
	if (write(ready, "r", 1) != 1)
		_exit(1);
	while (now() < end)
		;	/* clock_gettime: a call, never optimized out */
	_exit(0);
}

int main(int argc, char **argv)
{
	cpu_set_t cpus;
	int fds[2], cpu, ncpus = 0, st, failed = 0;
	double secs, end;
	char *p, c;
	pid_t pid;

	if (argc != 2)
		usage();
	secs = strtod(argv[1], &p);
	if (*p != '\0' || !(secs > 0 && secs <= MAX_SECONDS)) {
		fprintf(stderr, "cpustall: SECONDS must be above 0 and at most %d: %s\n",
		    MAX_SECONDS, argv[1]);
		exit(2);
	}
	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0 || pipe(fds) != 0) {
		perror("cpustall");
		exit(1);
	}
	if (knobs_off() != 0) {
		knobs_restore();
		exit(1);
	}
	if (set_fifo(PRIO_MAIN) != 0) {
		perror("cpustall: SCHED_FIFO");
		knobs_restore();
		exit(1);
	}
	end = now() + secs;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &cpus))
			continue;
		pid = fork();
		if (pid < 0) {
			perror("cpustall: fork");
			failed = 1;
			break;
		}
		if (pid == 0)
			spin(cpu, end, fds[1]);
		ncpus++;
	}
	close(fds[1]);
	for (cpu = 0; cpu < ncpus; cpu++) {
		if (read(fds[0], &c, 1) != 1) {
			fprintf(stderr, "cpustall: a spinner did not start\n");
			failed = 1;
			break;
		}
	}
	while ((pid = wait(&st)) > 0 || (pid < 0 && errno == EINTR))
		if (pid > 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			failed = 1;
	if (knobs_restore() != 0)
		failed = 1;
	printf("cpustall: %d CPUs for %g s\n", ncpus, secs);
	return failed;
}
