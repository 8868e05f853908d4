/* SPDX-License-Identifier: ISC */
/*
 * netdisktab (tab.h).  One pass over the text, line by line: a line is
 * split into fields and each field has its own check.  Every error is
 * kept, so that one run names every bad line, and a table with any error
 * is refused as a whole.  Values in messages are quoted, shortened and
 * stripped of control characters.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "key.h"
#include "tab.h"
#include "util.h"

#define TAB_FILE_MAX	(1024 * 1024)
#define TAB_SPACE	" \t\r\v\f"
#define TAB_FIELDS	"(expected NAME URI KEYFILE [OPTIONS])"
#define TAB_NFIELDS	5		/* the four and one too many */
#define SHOW_MAX	64		/* characters of a value in a message */
#define SHOW_LEN	(4 * SHOW_MAX + 4)

struct parser {
	const char *file;
	FILE *err;			/* the messages (a memstream) */
	int nerrs;
	int lineno;
	const char *name;		/* the current line's NAME field */
	struct tab *tab;
	size_t cap;			/* of tab->entries */
	int nomem;
};

/*
 * An option: a flag, a number in min..max (a long at off in struct
 * tab_entry), a text (a server public key, a string at off) or a size
 * (the cache's, an int64_t at off).
 */
enum tab_kind { TAB_FLAG, TAB_NUM, TAB_TEXT, TAB_SIZE };

struct tab_option {
	const char *name;
	enum tab_kind kind;
	unsigned int flag;		/* TAB_FLAG's */
	size_t off;
	long min, max;			/* TAB_NUM's */
	const char *value;		/* the value's name in messages */
};

static const struct tab_option tab_options[] = {
	{ ND_ADD_CONNS, TAB_NUM, 0, offsetof(struct tab_entry, conns), 1,
	    ND_MAX_CONNS, "N" },
	{ ND_ADD_RO, TAB_FLAG, TAB_RO, 0, 0, 0, NULL },
	{ ND_ADD_DEAD_TIMEOUT, TAB_NUM, 0,
	    offsetof(struct tab_entry, dead_timeout), 0, ND_MAX_DEAD_TIMEOUT,
	    "S" },
	{ "noauto", TAB_FLAG, TAB_NOAUTO, 0, 0, 0, NULL },
	{ TAB_SERVER_KEY, TAB_TEXT, 0, offsetof(struct tab_entry, server_key),
	    0, 0, "KEY" },
	{ ND_ADD_CACHE, TAB_SIZE, 0, offsetof(struct tab_entry, cache), 0, 0,
	    "SIZE" },
};
#define TAB_NOPTIONS	(sizeof(tab_options) / sizeof(tab_options[0]))

static void entry_err(struct parser *, const char *, ...)
    __attribute__((format(printf, 2, 3)));
static void line_err(struct parser *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Messages. */

/*
 * s for a message: at most SHOW_MAX characters ("..." after), quotes,
 * backslashes and control characters as \xNN.
 */
static const char *
show(const char *s, char buf[SHOW_LEN])
{
	size_t i, n = 0;
	unsigned char c;

	for (i = 0; s[i] != '\0' && i < SHOW_MAX; i++) {
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\')
			n += (size_t)snprintf(buf + n, SHOW_LEN - n, "\\x%02x",
			    c);
		else
			buf[n++] = (char)c;
	}
	if (s[i] != '\0')
		n += strlcpy(buf + n, "...", SHOW_LEN - n);
	buf[n] = '\0';
	return buf;
}

static void
verr(struct parser *p, int entry, const char *fmt, va_list ap)
{
	char name[SHOW_LEN];

	fprintf(p->err, "%s:%d: ", p->file, p->lineno);
	if (entry)
		fprintf(p->err, "entry \"%s\": ", show(p->name, name));
	vfprintf(p->err, fmt, ap);
	fputc('\n', p->err);
	p->nerrs++;
}

/* "FILE:LINE: message" */
static void
line_err(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(p, 0, fmt, ap);
	va_end(ap);
}

/* "FILE:LINE: entry "NAME": message" */
static void
entry_err(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(p, 1, fmt, ap);
	va_end(ap);
}

/* Fields. */

int
tab_name_valid(const char *s)
{
	return nd_dev_name_valid(s);
}

int
tab_cache_parse(const char *s, uint64_t *out)
{
	uint64_t v;

	if (parse_size(s, &v) == -1 || !nd_cache_size_valid(v))
		return -1;
	*out = v;
	return 0;
}

const struct tab_entry *
tab_find(const struct tab *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nentries; i++)
		if (strcmp(t->entries[i].name, name) == 0)
			return &t->entries[i];
	return NULL;
}

/* A new entry for a valid name, or NULL: a duplicate, or no memory. */
static struct tab_entry *
check_name(struct parser *p, const char *name)
{
	const struct tab_entry *dup;
	struct tab_entry *e, *v;

	if (!tab_name_valid(name)) {
		entry_err(p, "not a valid name (1 to %d characters of "
		    "A-Z a-z 0-9 . _ -)", TAB_NAME_MAX);
		return NULL;
	}
	if ((dup = tab_find(p->tab, name)) != NULL) {
		entry_err(p, "duplicate name (first at line %d)", dup->line);
		return NULL;
	}
	if (p->tab->nentries == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 16;
		v = reallocarray(p->tab->entries, p->cap, sizeof(*v));
		if (v == NULL) {
			p->nomem = 1;
			return NULL;
		}
		p->tab->entries = v;
	}
	e = &p->tab->entries[p->tab->nentries++];
	memset(e, 0, sizeof(*e));
	strlcpy(e->name, name, sizeof(e->name));
	e->conns = -1;
	e->dead_timeout = -1;
	e->cache = -1;
	e->line = p->lineno;
	return e;
}

static void
check_uri(struct parser *p, const char *s, struct nd_uri *u)
{
	char buf[SHOW_LEN];

	if (uri_parse(s, u) == -1 || u->scheme != URI_NETDISK)
		entry_err(p, "URI \"%s\" is not a netdisk URI "
		    "(netdisk://HOST[:PORT]/EXPORT)", show(s, buf));
}

static void
check_keyfile(struct parser *p, const char *s, struct tab_entry *e)
{
	char buf[SHOW_LEN];

	if (s[0] != '/')
		entry_err(p, "keyfile \"%s\" is not an absolute path",
		    show(s, buf));
	else if (e != NULL && (e->keyfile = strdup(s)) == NULL)
		p->nomem = 1;
}

/* Options. */

/* A decimal number in min..max, digits only; 0 or -1. */
static int
parse_num(const char *s, long min, long max, long *out)
{
	long v = 0;

	if (*s == '\0' || strspn(s, "0123456789") != strlen(s))
		return -1;
	for (; *s != '\0'; s++)
		if ((v = 10 * v + (*s - '0')) > max)
			return -1;
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

static const struct tab_option *
find_option(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < TAB_NOPTIONS; i++)
		if (strlen(tab_options[i].name) == len &&
		    strncmp(tab_options[i].name, s, len) == 0)
			return &tab_options[i];
	return NULL;
}

/*
 * server_key=KEY: 64 hexadecimal digits or the absolute path of a file
 * that holds them (read when attaching, as the key file is).
 */
static void
set_text(struct parser *p, const struct tab_option *o, const char *val,
    struct tab_entry *e)
{
	char buf[SHOW_LEN], **to = (char **)(void *)((char *)e + o->off);
	uint8_t pub[ND_KEY_LEN];

	if (key_parse_hex(val, pub) != 0 && val[0] != '/')
		entry_err(p, "%s \"%s\" is neither 64 hexadecimal digits nor "
		    "an absolute path", o->name, show(val, buf));
	else if ((*to = strdup(val)) == NULL)
		p->nomem = 1;
	explicit_bzero(pub, sizeof(pub));
}

/* cache=SIZE: 0 or ND_CACHE_MIN..ND_CACHE_MAX bytes. */
static void
set_size(struct parser *p, const struct tab_option *o, const char *val,
    struct tab_entry *e)
{
	char buf[SHOW_LEN];
	int64_t *to = (int64_t *)(void *)((char *)e + o->off);
	uint64_t v;

	if (tab_cache_parse(val, &v) == -1)
		entry_err(p, "%s \"%s\" is not 0 or a size from 1M to 1T "
		    "(use 64M, 1G)", o->name, show(val, buf));
	else
		*to = (int64_t)v;
}

/* The value of the option o (NULL for none) into e. */
static void
set_option(struct parser *p, const struct tab_option *o, const char *arg,
    const char *val, struct tab_entry *e)
{
	char buf[SHOW_LEN];
	long v;

	if (o->kind == TAB_FLAG && val != NULL)
		entry_err(p, "option \"%s\" takes no value: \"%s\"", o->name,
		    show(arg, buf));
	else if (o->kind == TAB_FLAG)
		e->flags |= o->flag;
	else if (val == NULL)
		entry_err(p, "option \"%s\" needs a value (%s=%s)", o->name,
		    o->name, o->value);
	else if (o->kind == TAB_TEXT)
		set_text(p, o, val, e);
	else if (o->kind == TAB_SIZE)
		set_size(p, o, val, e);
	else if (parse_num(val, o->min, o->max, &v) == -1)
		entry_err(p, "%s \"%s\" is not in %ld..%ld", o->name,
		    show(val, buf), o->min, o->max);
	else
		*(long *)(void *)((char *)e + o->off) = v;
}

/* One option of the list; seen has a bit for each option given. */
static void
parse_option(struct parser *p, const char *arg, unsigned int *seen,
    struct tab_entry *e)
{
	const struct tab_option *o;
	size_t len = strcspn(arg, "=");
	unsigned int bit;
	char buf[SHOW_LEN];

	if ((o = find_option(arg, len)) == NULL) {
		entry_err(p, "unknown option \"%s\" (use conns=N, ro, "
		    "dead_timeout=S, noauto, server_key=KEY or cache=SIZE)",
		    show(arg, buf));
		return;
	}
	bit = 1U << (o - tab_options);
	if (*seen & bit) {
		entry_err(p, "option \"%s\" given twice", o->name);
		return;
	}
	*seen |= bit;
	set_option(p, o, arg, arg[len] == '=' ? arg + len + 1 : NULL, e);
}

/* "-" or a comma-separated list; e is NULL for an entry in error. */
static void
parse_options(struct parser *p, const char *field, struct tab_entry *e)
{
	char list[TAB_LINE_MAX + 1], buf[SHOW_LEN], *s = list, *arg;
	struct tab_entry scratch;
	unsigned int seen = 0;
	int empty = 0;

	if (strcmp(field, "-") == 0)
		return;
	if (e == NULL) {
		memset(&scratch, 0, sizeof(scratch));
		e = &scratch;		/* the checks still run */
	}
	strlcpy(list, field, sizeof(list));
	while ((arg = strsep(&s, ",")) != NULL) {
		if (*arg == '\0')
			empty = 1;
		else
			parse_option(p, arg, &seen, e);
	}
	if (empty)
		entry_err(p, "empty option in \"%s\"", show(field, buf));
	if (e == &scratch)
		free(scratch.server_key);
}

/* Lines. */

/* The next whitespace-separated field of *s, or NULL. */
static char *
next_field(char **s)
{
	char *f = *s + strspn(*s, TAB_SPACE);
	size_t len = strcspn(f, TAB_SPACE);

	if (*f == '\0')
		return NULL;
	*s = f + len;
	if (**s != '\0')
		*(*s)++ = '\0';
	return f;
}

static void
parse_entry(struct parser *p, char *field[], int n)
{
	struct tab_entry *e;
	struct nd_uri u;
	char buf[SHOW_LEN];

	p->name = field[0];
	e = check_name(p, field[0]);
	if (n < 2)
		entry_err(p, "missing URI and KEYFILE " TAB_FIELDS);
	else
		check_uri(p, field[1], e != NULL ? &e->uri : &u);
	if (n == 2)
		entry_err(p, "missing KEYFILE " TAB_FIELDS);
	else if (n > 2)
		check_keyfile(p, field[2], e);
	if (n > 3)
		parse_options(p, field[3], e);
	if (n > 4)
		entry_err(p, "unexpected field \"%s\" after the options "
		    TAB_FIELDS, show(field[4], buf));
}

/* One line, without its newline; a "#" field starts a comment. */
static void
parse_line(struct parser *p, const char *text, size_t len)
{
	char line[TAB_LINE_MAX + 1], *field[TAB_NFIELDS], *s = line, *f;
	int n = 0;

	p->lineno++;
	if (memchr(text, '\0', len) != NULL) {
		line_err(p, "line contains a NUL byte");
		return;
	}
	if (len > TAB_LINE_MAX) {
		line_err(p, "line is too long (at most %d characters)",
		    TAB_LINE_MAX);
		return;
	}
	memcpy(line, text, len);
	line[len] = '\0';
	while (n < TAB_NFIELDS && (f = next_field(&s)) != NULL &&
	    f[0] != '#')
		field[n++] = f;
	if (n > 0)
		parse_entry(p, field, n);
}

struct tab *
tab_parse(const char *file, const char *text, size_t len, char **errors)
{
	struct parser p = { .file = file };
	const char *nl, *end = text + len;
	size_t size = 0;
	int rc;

	*errors = NULL;
	if ((p.tab = calloc(1, sizeof(*p.tab))) == NULL ||
	    (p.err = open_memstream(errors, &size)) == NULL) {
		free(p.tab);
		errno = ENOMEM;
		return NULL;
	}
	while (text < end && !p.nomem) {
		if ((nl = memchr(text, '\n', (size_t)(end - text))) == NULL)
			nl = end;
		parse_line(&p, text, (size_t)(nl - text));
		text = nl + 1;
	}
	if (p.nomem)
		line_err(&p, "out of memory");
	if ((rc = fclose(p.err)) == 0 && p.nerrs == 0) {
		free(*errors);
		*errors = NULL;
		return p.tab;
	}
	tab_free(p.tab);
	if (rc != 0) {
		free(*errors);
		*errors = NULL;
		errno = ENOMEM;
	}
	return NULL;
}

struct tab *
tab_load(const char *path, char **errors)
{
	struct tab *t = NULL;
	char *buf;
	size_t len;

	*errors = NULL;
	if (file_read_all(path, TAB_FILE_MAX, &buf, &len) == 0)
		t = tab_parse(path, buf, len, errors);
	else if (asprintf(errors, "%s: %s\n", path, strerror(errno)) == -1)
		*errors = NULL;
	free(buf);
	return t;
}

void
tab_free(struct tab *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->nentries; i++) {
		free(t->entries[i].keyfile);
		free(t->entries[i].server_key);
	}
	free(t->entries);
	free(t);
}
