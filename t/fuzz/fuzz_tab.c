/* SPDX-License-Identifier: ISC */
/*
 * netdisktab (tab_parse): the input is the whole table.  What it accepts
 * is checked against tab.h's promises, written back as a table and parsed
 * again to the same entries; what it refuses must come back as
 * "FILE:LINE: message" lines in line order, without control characters.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tab.h"
#include "util.h"
#include "fuzz.h"

#define TAB_FILE	"fuzz.tab"
#define TAB_INPUT_MAX	(64 * 1024)	/* duplicates are searched linearly */

/* Every line "FILE:LINE: message\n", LINE positive and not decreasing. */
static void
check_errors(const char *errors)
{
	const char *p = errors, *nl, *c;
	size_t plen = strlen(TAB_FILE);
	long line, prev = 0;
	char *end;

	FUZZ_CHECK(*p != '\0');
	for (; *p != '\0'; p = nl + 1) {
		FUZZ_CHECK((nl = strchr(p, '\n')) != NULL);
		FUZZ_CHECK(strncmp(p, TAB_FILE ":", plen + 1) == 0);
		line = strtol(p + plen + 1, &end, 10);
		FUZZ_CHECK(line > 0 && line >= prev);
		FUZZ_CHECK(end[0] == ':' && end[1] == ' ' && end + 2 < nl);
		for (c = p; c < nl; c++)
			FUZZ_CHECK((unsigned char)*c >= 0x20 && *c != 0x7f);
		prev = line;
	}
}

static void
check_entry(const struct tab *t, const struct tab_entry *e, int prev_line)
{
	FUZZ_CHECK(tab_name_valid(e->name));
	FUZZ_CHECK(tab_find(t, e->name) == e);
	FUZZ_CHECK(e->line > prev_line);
	FUZZ_CHECK(e->keyfile != NULL && e->keyfile[0] == '/');
	FUZZ_CHECK(strcspn(e->keyfile, " \t\r\v\f\n") == strlen(e->keyfile));
	FUZZ_CHECK(e->uri.host[0] != '\0' && name_valid(e->uri.export));
	FUZZ_CHECK(e->conns == -1 ||
	    (e->conns >= 1 && e->conns <= ND_MAX_CONNS));
	FUZZ_CHECK(e->dead_timeout == -1 ||
	    (e->dead_timeout >= 0 && e->dead_timeout <= ND_MAX_DEAD_TIMEOUT));
	FUZZ_CHECK((e->flags & ~TAB_FLAGS_ALL) == 0);
}

/* e as a table line, every option spelt out. */
static void
print_entry(FILE *f, const struct tab_entry *e)
{
	fprintf(f, "%s netdisk://", e->name);
	fprintf(f, strchr(e->uri.host, ':') != NULL ? "[%s]" : "%s",
	    e->uri.host);
	fprintf(f, ":%s/%s %s ", e->uri.port, e->uri.export, e->keyfile);
	fprintf(f, "conns=%ld,dead_timeout=%ld", e->conns == -1 ? 1 : e->conns,
	    e->dead_timeout == -1 ? 0 : e->dead_timeout);
	fprintf(f, "%s%s\n", e->flags & TAB_RO ? ",ro" : "",
	    e->flags & TAB_NOAUTO ? ",noauto" : "");
}

static int
same_entry(const struct tab_entry *a, const struct tab_entry *b)
{
	return strcmp(a->name, b->name) == 0 &&
	    strcmp(a->uri.host, b->uri.host) == 0 &&
	    strcmp(a->uri.port, b->uri.port) == 0 &&
	    strcmp(a->uri.export, b->uri.export) == 0 &&
	    strcmp(a->keyfile, b->keyfile) == 0 && a->flags == b->flags &&
	    (a->conns == -1 ? 1 : a->conns) == b->conns &&
	    (a->dead_timeout == -1 ? 0 : a->dead_timeout) == b->dead_timeout;
}

/* Written back and parsed again: the same entries. */
static void
check_again(const struct tab *t)
{
	struct tab *u;
	char *text = NULL, *errors;
	size_t len = 0, i;
	FILE *f;

	/* Spelt out, a line with a keyfile that long may not fit. */
	for (i = 0; i < t->nentries; i++)
		if (strlen(t->entries[i].keyfile) > TAB_LINE_MAX - 512)
			return;
	FUZZ_CHECK((f = open_memstream(&text, &len)) != NULL);
	for (i = 0; i < t->nentries; i++)
		print_entry(f, &t->entries[i]);
	FUZZ_CHECK(fclose(f) == 0);
	u = tab_parse(TAB_FILE, text, len, &errors);
	FUZZ_CHECK(u != NULL && errors == NULL);
	FUZZ_CHECK(u->nentries == t->nentries);
	for (i = 0; i < t->nentries; i++)
		FUZZ_CHECK(same_entry(&t->entries[i], &u->entries[i]));
	tab_free(u);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tab *t;
	char *errors = NULL;
	size_t i;
	int prev = 0;

	if (size > TAB_INPUT_MAX)
		return 0;
	t = tab_parse(TAB_FILE, (const char *)data, size, &errors);
	FUZZ_CHECK((t == NULL) != (errors == NULL));
	if (t == NULL) {
		check_errors(errors);
		free(errors);
		return 0;
	}
	for (i = 0; i < t->nentries; i++) {
		check_entry(t, &t->entries[i], prev);
		prev = t->entries[i].line;
	}
	check_again(t);
	tab_free(t);
	return 0;
}
