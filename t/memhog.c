/* SPDX-License-Identifier: ISC */
/*
 * memhog: more anonymous memory than the machine has, every page written
 * and checked, for t/kernel/swap.sh (swap on a netdisk device).
 *
 *   memhog [-p PASSES] SIZE_MIB
 *
 * Maps SIZE_MIB of private anonymous memory and writes every 64-bit word
 * of it with a value of its page, its place in the page and the pass.
 * Each later pass (PASSES in all, default 3, at least 2) goes through the
 * memory again, checks every word of every page against what the pass
 * before wrote, and writes the values of its own pass, so that the pages
 * go out to swap and come back once more; the last pass only checks.
 * The pages are touched in order, so that with too little RAM most of
 * them have been swapped out when a pass comes back to them.  One line
 * per pass, then the end:
 *   memhog: pass N: write|check+write|check, SECS s
 *   memhog: SIZE MiB, N passes, N bad pages
 * with the first few bad pages named (page, word, value, expected).
 * Exit 0 if every page held what was written, 1 otherwise, 2 on a usage
 * error, 3 if the memory cannot be mapped.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_MIB		(1024 * 1024)	/* 1 TiB */
#define REPORT_BAD	5

static size_t page_size;
static uint64_t bad_pages;

static void usage(void)
{
	fprintf(stderr, "usage: memhog [-p PASSES] SIZE_MIB\n");
	exit(2);
}

/* The value of word w of page p in pass n. */
static uint64_t word_of(uint64_t p, size_t w, unsigned int n)
{
	return (uint64_t)n << 56 ^ p << 16 ^ w ^ UINT64_C(0x5a5a000000000000);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Page p against pass n; reports the first bad word of the page. */
static void check_page(const uint64_t *page, uint64_t p, unsigned int n)
{
	size_t w, words = page_size / sizeof(*page);

	for (w = 0; w < words; w++) {
		if (page[w] == word_of(p, w, n))
			continue;
		if (bad_pages < REPORT_BAD)
			printf("memhog: page %" PRIu64 " word %zu: %016" PRIx64
			    ", expected %016" PRIx64 "\n", p, w, page[w],
			    word_of(p, w, n));
		bad_pages++;
		return;
	}
}

static void write_page(uint64_t *page, uint64_t p, unsigned int n)
{
	size_t w, words = page_size / sizeof(*page);

	for (w = 0; w < words; w++)
		page[w] = word_of(p, w, n);
}

/* Pass n: check what pass n - 1 wrote (n > 0), write pass n's (write). */
static void pass(unsigned char *mem, uint64_t pages, unsigned int n,
    int write)
{
	double t0 = now();
	uint64_t p;

	for (p = 0; p < pages; p++) {
		uint64_t *page = (uint64_t *)(mem + p * page_size);

		if (n > 0)
			check_page(page, p, n - 1);
		if (write)
			write_page(page, p, n);
	}
	printf("memhog: pass %u: %s, %.1f s\n", n,
	    n == 0 ? "write" : write ? "check+write" : "check", now() - t0);
	fflush(stdout);
}

static unsigned long number(const char *s, unsigned long min,
    unsigned long max)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	unsigned long mib, passes = 3;
	unsigned char *mem;
	uint64_t pages;
	unsigned int n;
	int c;

	while ((c = getopt(argc, argv, "p:")) != -1) {
		if (c == 'p')
			passes = number(optarg, 2, 1000);
		else
			usage();
	}
	if (argc - optind != 1)
		usage();
	mib = number(argv[optind], 1, MAX_MIB);
	page_size = (size_t)sysconf(_SC_PAGESIZE);
	pages = (uint64_t)mib * 1048576 / page_size;
	mem = mmap(NULL, (size_t)mib * 1048576, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fprintf(stderr, "memhog: mmap of %lu MiB: %s\n", mib,
		    strerror(errno));
		return 3;
	}
	for (n = 0; n < passes; n++)
		pass(mem, pages, n, n + 1 < passes);
	printf("memhog: %lu MiB, %lu passes, %" PRIu64 " bad pages\n", mib,
	    passes, bad_pages);
	return bad_pages ? 1 : 0;
}
