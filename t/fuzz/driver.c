/* SPDX-License-Identifier: ISC */
/*
 * A main() for the fuzz targets when libFuzzer is not there (gcc builds,
 * make check).  It runs LLVMFuzzerTestOneInput over every seed, then over
 * a bounded number of deterministic mutations of them, and speaks TAP:
 *
 *   fuzz_NAME [-n ITERATIONS] [-s SEED] [--no-plan] [FILE|DIR ...]
 *   fuzz_NAME --write-seeds DIR
 *
 * The seeds are the files given (a directory: each regular file in it,
 * sorted), by default $top_srcdir/t/fuzz/corpus/NAME, and the inputs the
 * target builds itself (fuzz_seeds, if it has one).  ITERATIONS defaults
 * to $FUZZ_ITERATIONS or 2000.  An input that crashes, trips a sanitizer
 * or runs longer than $FUZZ_TIMEOUT seconds (default 60) is saved as
 * $FUZZ_CRASH_DIR/crash-NAME (default: the current directory) before the
 * program dies; run the program on that file to reproduce.
 * --write-seeds writes the target's own seeds into DIR, one file each.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

#define DEFAULT_ITERATIONS	2000
#define DEFAULT_SEED		0x6e646973ULL	/* "ndis" */
#define DEFAULT_TIMEOUT		60
#define FILE_MAX		(1024 * 1024)
#define MUTANT_MAX		(64 * 1024)

/*
 * Sanitizer runtimes: ASan calls the death callback before it exits; gcc
 * links UBSan as a runtime of its own, which ignores that callback, so
 * UBSan is told to abort, and the SIGABRT handler saves the input.  Both
 * print stacks.
 */
void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));
const char *__ubsan_default_options(void);

const char *
__ubsan_default_options(void)
{
	return "abort_on_error=1:print_stacktrace=1";
}
void fuzz_seeds(fuzz_emit_fn, void *) __attribute__((weak));

struct seed {
	uint8_t *p;
	size_t len;
};

struct pool {
	struct seed *v;
	size_t n;
};

static const char *name;
static int tap_n, tap_failed, tap_plan = 1;

/* The input running now, for the crash handlers. */
static const uint8_t *cur_p;
static size_t cur_len;
static char cur_what[PATH_MAX + 64];
static char crash_path[PATH_MAX];
static volatile sig_atomic_t crashed;

static void
tap(int good, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
tap(int good, const char *fmt, ...)
{
	va_list ap;

	printf("%s", good ? "ok" : "not ok");
	if (tap_plan)
		printf(" %d", tap_n + 1);
	printf(" - %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	tap_n++;
	if (!good)
		tap_failed++;
}

/* Crashes: save the input (async-signal-safe calls only). */

static void
say(const char *s)
{
	ssize_t rv = write(STDERR_FILENO, s, strlen(s));

	(void)rv;
}

static void
save_input(void)
{
	size_t off = 0;
	ssize_t n;
	int fd;

	if (crashed || cur_p == NULL)
		return;
	crashed = 1;
	fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	while (fd != -1 && off < cur_len &&
	    (n = write(fd, cur_p + off, cur_len - off)) > 0)
		off += (size_t)n;
	if (fd != -1)
		close(fd);
	say("# ");
	say(name);
	say(": ");
	say(cur_what);
	say(fd != -1 ? " failed; input saved in " : " failed; cannot write ");
	say(crash_path);
	say("\n");
}

static void
on_signal(int sig)
{
	if (sig == SIGALRM)
		say("# timeout\n");
	save_input();
	if (sig == SIGALRM)
		abort();
	raise(sig);		/* SA_RESETHAND: the default action now */
}

/*
 * A sanitizer runtime reports faults itself and then calls save_input;
 * its handlers for them stay in place.
 */
static void
crash_setup(void)
{
	static const int sigs[] = { SIGABRT, SIGALRM, SIGSEGV, SIGBUS, SIGFPE,
	    SIGILL };
	const char *dir = getenv("FUZZ_CRASH_DIR");
	int sanitizer = __sanitizer_set_death_callback != NULL;
	struct sigaction sa;
	size_t i;

	snprintf(crash_path, sizeof(crash_path), "%s/crash-%s",
	    dir != NULL && *dir != '\0' ? dir : ".", name);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < (sanitizer ? 2 : sizeof(sigs) / sizeof(sigs[0])); i++)
		sigaction(sigs[i], &sa, NULL);
	if (sanitizer)
		__sanitizer_set_death_callback(save_input);
}

static unsigned int
timeout_secs(void)
{
	const char *s = getenv("FUZZ_TIMEOUT");
	long v;

	if (s == NULL || (v = strtol(s, NULL, 10)) <= 0 || v > 86400)
		return DEFAULT_TIMEOUT;
	return (unsigned int)v;
}

/* Runs one input from a buffer of exactly its size. */
static void
run(const uint8_t *p, size_t len)
{
	uint8_t *copy;

	if ((copy = malloc(len > 0 ? len : 1)) == NULL) {
		perror("malloc");
		exit(99);
	}
	if (len > 0)
		memcpy(copy, p, len);
	cur_p = copy;
	cur_len = len;
	alarm(timeout_secs());
	LLVMFuzzerTestOneInput(copy, len);
	alarm(0);
	cur_p = NULL;
	free(copy);
}

/* Seeds. */

static void
pool_add(struct pool *pl, const void *p, size_t len)
{
	struct seed *v;

	if ((v = reallocarray(pl->v, pl->n + 1, sizeof(*v))) == NULL ||
	    (v[pl->n].p = malloc(len > 0 ? len : 1)) == NULL) {
		perror("malloc");
		exit(99);
	}
	pl->v = v;
	if (len > 0)
		memcpy(v[pl->n].p, p, len);
	v[pl->n++].len = len;
}

static void
pool_free(struct pool *pl)
{
	size_t i;

	for (i = 0; i < pl->n; i++)
		free(pl->v[i].p);
	free(pl->v);
}

/* A whole file: 0, or -1 with a message. */
static int
read_file(const char *path, struct pool *pl)
{
	uint8_t *buf;
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(FILE_MAX)) == NULL) {
		close(fd);
		return -1;
	}
	while (len < FILE_MAX &&
	    (n = read(fd, buf + len, FILE_MAX - len)) > 0)
		len += (size_t)n;
	close(fd);
	pool_add(pl, buf, len);
	free(buf);
	return 0;
}

static int
not_hidden(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* A file, or every regular file of a directory: the count, or -1. */
static int
read_path(const char *path, struct pool *pl)
{
	char sub[PATH_MAX];
	struct dirent **ents;
	struct stat st;
	int i, n, count = 0;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return read_file(path, pl) == 0 ? 1 : -1;
	if ((n = scandir(path, &ents, not_hidden, alphasort)) == -1) {
		fprintf(stderr, "# %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
		if (stat(sub, &st) == 0 && S_ISREG(st.st_mode) &&
		    read_file(sub, pl) == 0)
			count++;
		free(ents[i]);
	}
	free(ents);
	return count;
}

static void
emit_pool(void *arg, const char *seedname, const void *buf, size_t len)
{
	(void)seedname;
	pool_add(arg, buf, len);
}

static void
emit_file(void *arg, const char *seedname, const void *buf, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", (const char *)arg, seedname);
	if ((f = fopen(path, "wb")) == NULL ||
	    fwrite(buf, 1, len, f) != len || fclose(f) == EOF) {
		perror(path);
		exit(1);
	}
}

/* Runs every seed from from on: the count. */
static size_t
run_pool(const struct pool *pl, size_t from, const char *what)
{
	size_t i;

	for (i = from; i < pl->n; i++) {
		snprintf(cur_what, sizeof(cur_what), "%s %zu", what, i - from);
		run(pl->v[i].p, pl->v[i].len);
	}
	return pl->n - from;
}

/* Mutations: a deterministic generator (splitmix64). */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t
rng_below(size_t n)
{
	return n > 0 ? (size_t)(rng() % n) : 0;
}

static const uint32_t interesting[] = {
	0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x200, 0x1000, 0x4000, 0x4001,
	0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff,
};

/* Overwrites n bytes at off with a big-endian interesting value. */
static void
put_interesting(uint8_t *p, size_t len)
{
	uint32_t v = interesting[rng_below(sizeof(interesting) /
	    sizeof(interesting[0]))];
	size_t n = (size_t)1 << rng_below(3), off, i;

	if (len < n)
		return;
	off = rng_below(len - n + 1);
	for (i = 0; i < n; i++)
		p[off + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* One mutation of p (len bytes, room for MUTANT_MAX); the new length. */
static size_t
mutate_once(uint8_t *p, size_t len, const struct pool *pl)
{
	const struct seed *o;
	size_t off, n, src;

	switch (rng_below(len > 0 ? 10 : 2)) {
	case 0:		/* insert random bytes */
		n = 1 + rng_below(8);
		if (len + n > MUTANT_MAX)
			return len;
		off = rng_below(len + 1);
		memmove(p + off + n, p + off, len - off);
		for (src = 0; src < n; src++)
			p[off + src] = (uint8_t)rng();
		return len + n;
	case 1:		/* splice a piece of another seed in */
		o = &pl->v[rng_below(pl->n)];
		if (o->len == 0)
			return len;
		src = rng_below(o->len);
		n = 1 + rng_below(o->len - src);
		off = rng_below(len + 1);
		if (off + n > MUTANT_MAX)
			n = MUTANT_MAX - off;
		memcpy(p + off, o->p + src, n);
		return off + n > len ? off + n : len;
	case 2:		/* flip a bit */
		p[rng_below(len)] ^= (uint8_t)(1u << rng_below(8));
		return len;
	case 3:		/* a random byte */
		p[rng_below(len)] = (uint8_t)rng();
		return len;
	case 4:		/* add or subtract a little */
		off = rng_below(len);
		p[off] = (uint8_t)(p[off] + rng_below(33) - 16);
		return len;
	case 5:		/* an interesting value */
		put_interesting(p, len);
		return len;
	case 6:		/* delete a range */
		off = rng_below(len);
		n = 1 + rng_below(len - off < 16 ? len - off : 16);
		memmove(p + off, p + off + n, len - off - n);
		return len - n;
	case 7:		/* copy a range over another place */
		src = rng_below(len);
		n = 1 + rng_below(len - src);
		off = rng_below(len - n + 1);
		memmove(p + off, p + src, n);
		return len;
	case 8:		/* truncate */
		return rng_below(len);
	default:	/* duplicate a range */
		src = rng_below(len);
		n = 1 + rng_below(len - src < 64 ? len - src : 64);
		if (len + n > MUTANT_MAX)
			return len;
		memmove(p + src + n, p + src, len - src);
		return len + n;
	}
}

static size_t
mutate(uint8_t *p, const struct pool *pl)
{
	const struct seed *s = &pl->v[rng_below(pl->n)];
	size_t len = s->len < MUTANT_MAX ? s->len : MUTANT_MAX;
	int i, rounds = 1 + (int)rng_below(4);

	memcpy(p, s->p, len);
	for (i = 0; i < rounds; i++)
		len = mutate_once(p, len, pl);
	return len;
}

static void
run_mutations(const struct pool *pl, long iterations, uint64_t seed)
{
	uint8_t *buf;
	size_t len;
	long i;

	if ((buf = malloc(MUTANT_MAX)) == NULL) {
		perror("malloc");
		exit(99);
	}
	rng_state = seed;
	for (i = 0; i < iterations; i++) {
		len = mutate(buf, pl);
		snprintf(cur_what, sizeof(cur_what), "mutation %ld (seed %#llx)",
		    i, (unsigned long long)seed);
		run(buf, len);
	}
	free(buf);
}

/* Command line and phases. */

static void
usage(void)
{
	fprintf(stderr, "usage: %s [-n ITERATIONS] [-s SEED] [--no-plan] "
	    "[FILE|DIR ...]\n       %s --write-seeds DIR\n", name, name);
	exit(2);
}

static long
default_iterations(void)
{
	const char *s = getenv("FUZZ_ITERATIONS");

	return s != NULL && *s != '\0' ? strtol(s, NULL, 0) :
	    DEFAULT_ITERATIONS;
}

/* The seed files: each argument, or the target's corpus directory. */
static void
phase_files(struct pool *pl, char **paths, int npaths)
{
	const char *top = getenv("top_srcdir");
	char dir[PATH_MAX];
	size_t before = pl->n;
	int i, n, bad = 0;

	if (npaths == 0) {
		snprintf(dir, sizeof(dir), "%s/t/fuzz/corpus/%s",
		    top != NULL && *top != '\0' ? top : ".", name);
		paths = (char *[]){ dir };
		npaths = 1;
	}
	for (i = 0; i < npaths; i++)
		if ((n = read_path(paths[i], pl)) < 0)
			bad = 1;
	run_pool(pl, before, "seed file");
	tap(!bad && pl->n > before, "%zu seed files from %s%s", pl->n - before,
	    paths[0], npaths > 1 ? " ..." : "");
}

static void
phase_builtin(struct pool *pl)
{
	size_t before = pl->n;

	if (fuzz_seeds != NULL)
		fuzz_seeds(emit_pool, pl);
	run_pool(pl, before, "built-in seed");
	tap(1, "%zu built-in seeds", pl->n - before);
}

static void
phase_mutations(struct pool *pl, long iterations, uint64_t seed)
{
	struct timespec t0, t1;

	if (pl->n == 0)
		pool_add(pl, "", 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_mutations(pl, iterations, seed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tap(1, "%ld mutations of %zu seeds (seed %#llx, %.2f s)", iterations,
	    pl->n, (unsigned long long)seed, (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
}

static int
write_seeds(const char *dir)
{
	if (fuzz_seeds == NULL) {
		fprintf(stderr, "%s: this target builds no seeds\n", name);
		return 1;
	}
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	fuzz_seeds(emit_file, (void *)dir);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "no-plan", no_argument, NULL, 'P' },
		{ "write-seeds", required_argument, NULL, 'W' },
		{ NULL, 0, NULL, 0 },
	};
	struct pool pl = { NULL, 0 };
	long iterations = default_iterations();
	uint64_t seed = DEFAULT_SEED;
	int ch;

	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	while ((ch = getopt_long(argc, argv, "n:s:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			iterations = strtol(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'P':
			tap_plan = 0;
			break;
		case 'W':
			return write_seeds(optarg);
		default:
			usage();
		}
	}
	if (iterations < 0)
		usage();
	crash_setup();
	if (tap_plan)
		printf("1..3\n");
	phase_files(&pl, argv + optind, argc - optind);
	phase_builtin(&pl);
	phase_mutations(&pl, iterations, seed);
	pool_free(&pl);
	return tap_failed ? 1 : 0;
}
