/* SPDX-License-Identifier: ISC */
/*
 * modprobe for netdisk.ko (modload.h).  Nothing of our environment
 * reaches modprobe (MODPROBE_OPTIONS would add options to it), nor any
 * descriptor but standard error; it runs under a deadline.  A dry run
 * first (modprobe -n) tells "not installed" from "failed to load".
 */
#include "config.h"

#include <sys/utsname.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "modload.h"
#include "netdisk_sysfs.h"
#include "util.h"
#include "warn.h"

#define REAP_SECONDS	5	/* for modprobe to exit once killed */
#define POLL_MS		10

#define MODLOAD_EXEC_FAILED	127	/* the child's status: execve failed */

/* The child: a clean process image of modprobe. */
static void __attribute__((noreturn))
modload_child(char *const argv[])
{
	static char *const envp[] = {
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL
	};
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGPIPE, SIG_DFL);	/* main() ignores it: exec keeps that */
	if ((fd = open("/dev/null", O_RDONLY)) == -1 ||
	    dup2(fd, STDIN_FILENO) == -1)
		_exit(MODLOAD_EXEC_FAILED);
	(void)dup2(STDERR_FILENO, STDOUT_FILENO);
	closefrom(STDERR_FILENO + 1);
	if (chdir("/") == -1)
		_exit(MODLOAD_EXEC_FAILED);
	execve(MODLOAD_MODPROBE, argv, envp);
	_exit(MODLOAD_EXEC_FAILED);
}

/* Polls pid until deadline (mono_ms): 0 and its status, 1 if still running. */
static int
modload_wait(pid_t pid, int64_t deadline, int *status)
{
	const struct timespec poll = { 0, POLL_MS * 1000000L };
	pid_t r;

	for (;;) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return 0;
		if (r == -1 && errno != EINTR)
			return -1;
		if (mono_ms() >= deadline)
			return 1;
		nanosleep(&poll, NULL);
	}
}

/* Kills pid at the deadline, waits a little for it, says so. */
static void
modload_kill(pid_t pid, const char *what)
{
	int status;

	kill(pid, SIGKILL);
	if (modload_wait(pid, mono_ms() + REAP_SECONDS * 1000, &status) == 0)
		ctl_warnx("%s did not end within %d s: killed", what,
		    MODLOAD_SECONDS);
	else
		ctl_warnx("%s did not end within %d s, nor when killed "
		    "(process %ld left)", what, MODLOAD_SECONDS, (long)pid);
}

/*
 * Runs modprobe with argv until deadline: its exit status, or -1 with a
 * message (it could not be run, died of a signal or was killed).
 */
static int
modload_run(char *const argv[], const char *what, int64_t deadline)
{
	pid_t pid;
	int status, r;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		ctl_warn("%s: fork", what);
		return -1;
	}
	if (pid == 0)
		modload_child(argv);
	if ((r = modload_wait(pid, deadline, &status)) == 1) {
		modload_kill(pid, what);
		return -1;
	}
	if (r == -1) {
		ctl_warn("%s: waitpid", what);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		ctl_warnx("%s: killed by signal %d", what, WTERMSIG(status));
		return -1;
	}
	if (WEXITSTATUS(status) == MODLOAD_EXEC_FAILED) {
		ctl_warnx("%s: cannot run " MODLOAD_MODPROBE, what);
		return -1;
	}
	return WEXITSTATUS(status);
}

static void
modload_not_installed(void)
{
	struct utsname u;

	if (uname(&u) == -1)
		strlcpy(u.release, "(uname failed)", sizeof(u.release));
	ctl_warnx(ND_SYSFS_NAME ".ko is not installed for the running kernel, "
	    "%s: install the netdisk-dkms package, or run \"make -C kernel "
	    "install\" in the source tree", u.release);
}

int
modload_netdisk(void)
{
	static char *const dry[] = {
		"modprobe", "-q", "-n", ND_SYSFS_NAME, NULL
	};
	static char *const load[] = { "modprobe", ND_SYSFS_NAME, NULL };
	int64_t deadline;
	int r;

	if (geteuid() != 0) {
		ctl_warnx("netdisk kernel module not loaded, and only root can "
		    "load it: run netdiskctl attach as root");
		return -1;
	}
	if (access(MODLOAD_MODPROBE, X_OK) == -1) {
		ctl_warn("netdisk kernel module not loaded, and cannot be "
		    "loaded: " MODLOAD_MODPROBE);
		return -1;
	}
	deadline = mono_ms() + MODLOAD_SECONDS * 1000;
	if ((r = modload_run(dry, "modprobe -n netdisk", deadline)) == -1)
		return -1;
	if (r != 0) {
		modload_not_installed();
		return -1;
	}
	if ((r = modload_run(load, "modprobe netdisk", deadline)) == -1)
		return -1;
	if (r != 0) {
		ctl_warnx("modprobe netdisk failed (exit status %d): see its "
		    "message above and the kernel log", r);
		return -1;
	}
	return 0;
}
