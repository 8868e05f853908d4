/* SPDX-License-Identifier: ISC */
/*
 * Handshakes in progress per source address: a hash table of counts.
 * An entry exists while its count is above zero, so the table holds at
 * most as many entries as handshakes are in progress, and a chain is
 * never longer than that however the addresses collide.
 */
#include "config.h"

#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admission.h"
#include "crypto.h"

#define ADM_BUCKETS	1024		/* a power of two */
#define ADM_KEY_LEN	9		/* family tag and up to 8 bytes */

struct adm_entry {
	struct adm_entry *next;
	uint8_t key[ADM_KEY_LEN];
	int count;
};

struct admission {
	struct adm_entry *buckets[ADM_BUCKETS];
	uint64_t seed;
	int total;
};

static const uint8_t v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

/* The part of the address that counts: IPv4 whole, IPv6 its /64. */
static void
adm_key(const struct sockaddr *sa, uint8_t key[ADM_KEY_LEN])
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const uint8_t *a6 = sin6->sin6_addr.s6_addr;

	memset(key, 0, ADM_KEY_LEN);
	if (sa->sa_family == AF_INET)
		memcpy(key + 1, &sin->sin_addr, 4);
	else if (sa->sa_family == AF_INET6 &&
	    memcmp(a6, v4mapped, sizeof(v4mapped)) == 0)
		memcpy(key + 1, a6 + 12, 4);
	else if (sa->sa_family == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, a6, 8);
	} else
		key[0] = 0xff;		/* other families share one count */
}

/* FNV-1a, seeded per process. */
static size_t
adm_hash(const struct admission *a, const uint8_t key[ADM_KEY_LEN])
{
	uint64_t h = 14695981039346656037ULL ^ a->seed;
	int i;

	for (i = 0; i < ADM_KEY_LEN; i++) {
		h ^= key[i];
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32)) & (ADM_BUCKETS - 1);
}

static struct adm_entry **
adm_find(const struct admission *a, const uint8_t key[ADM_KEY_LEN])
{
	struct adm_entry *const *p = &a->buckets[adm_hash(a, key)];

	while (*p != NULL && memcmp((*p)->key, key, ADM_KEY_LEN) != 0)
		p = &(*p)->next;
	return (struct adm_entry **)p;
}

struct admission *
admission_new(void)
{
	struct admission *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if (crypto_random(&a->seed, sizeof(a->seed)) == -1)
		a->seed = (uint64_t)(uintptr_t)a;
	return a;
}

void
admission_free(struct admission *a)
{
	struct adm_entry *e, *next;
	size_t i;

	if (a == NULL)
		return;
	for (i = 0; i < ADM_BUCKETS; i++)
		for (e = a->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free(e);
		}
	free(a);
}

enum admission_refusal
admission_enter(struct admission *a, const struct sockaddr *sa, int max,
    int per_addr)
{
	uint8_t key[ADM_KEY_LEN];
	struct adm_entry **p, *e;

	adm_key(sa, key);
	p = adm_find(a, key);
	if ((e = *p) != NULL && per_addr > 0 && e->count >= per_addr)
		return ADMIT_ADDRESS;
	if (max > 0 && a->total >= max)
		return ADMIT_TOTAL;
	if (e == NULL) {
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return ADMIT_NOMEM;
		memcpy(e->key, key, ADM_KEY_LEN);
		*p = e;
	}
	e->count++;
	a->total++;
	return ADMIT_OK;
}

void
admission_leave(struct admission *a, const struct sockaddr *sa)
{
	uint8_t key[ADM_KEY_LEN];
	struct adm_entry **p, *e;

	adm_key(sa, key);
	p = adm_find(a, key);
	if ((e = *p) == NULL)
		return;
	a->total--;
	if (--e->count > 0)
		return;
	*p = e->next;
	free(e);
}

int
admission_count(const struct admission *a, const struct sockaddr *sa)
{
	uint8_t key[ADM_KEY_LEN];
	struct adm_entry *e;

	adm_key(sa, key);
	e = *adm_find(a, key);
	return e != NULL ? e->count : 0;
}

int
admission_total(const struct admission *a)
{
	return a->total;
}
