/* SPDX-License-Identifier: ISC */
/* The extents a store reports (store_extents), collected for a test. */
#ifndef EXTENT_LIST_H
#define EXTENT_LIST_H

#include <stdint.h>

#include "store.h"

#define EXTENT_LIST_MAX	64

struct extent_list {
	uint64_t off[EXTENT_LIST_MAX], len[EXTENT_LIST_MAX];
	int data[EXTENT_LIST_MAX];
	int n;
};

/* A store_extent_fn: adds one extent to the list; stops when it is full. */
static inline int
extent_add(void *arg, uint64_t off, uint64_t len, int data)
{
	struct extent_list *l = arg;

	if (l->n == EXTENT_LIST_MAX)
		return 1;
	l->off[l->n] = off;
	l->len[l->n] = len;
	l->data[l->n++] = data;
	return 0;
}

#endif
