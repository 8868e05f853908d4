/* SPDX-License-Identifier: ISC */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "crypto.h"
#include "export.h"
#include "handshake.h"
#include "log.h"
#include "replay.h"
#include "util.h"

#define AUTH_LOG_BURST		10
#define AUTH_LOG_INTERVAL	10	/* seconds */

struct auth_keys {
	atomic_int refs;
	struct hs_psk *psks;
	struct replay **replays;	/* of each key */
	char **idents;			/* of each key: its identity, or NULL */
	uint64_t *creds;		/* of each key: its credential number */
	size_t n, max;
	struct hs_keyring *ring;	/* once sealed */
};

/* Credential numbers: one per (key, identity), kept across reloads. */
static atomic_uint_fast64_t auth_cred_next = 1;

struct auth_keys *
auth_keys_new(size_t max)
{
	struct auth_keys *ks;

	if ((ks = calloc(1, sizeof(*ks))) == NULL)
		return NULL;
	atomic_init(&ks->refs, 1);
	ks->max = max;
	ks->psks = calloc(max + 1, sizeof(*ks->psks));
	ks->replays = calloc(max + 1, sizeof(*ks->replays));
	ks->idents = calloc(max + 1, sizeof(*ks->idents));
	ks->creds = calloc(max + 1, sizeof(*ks->creds));
	if (ks->psks == NULL || ks->replays == NULL || ks->idents == NULL ||
	    ks->creds == NULL) {
		auth_keys_put(ks);
		return NULL;
	}
	return ks;
}

struct auth_keys *
auth_keys_ref(struct auth_keys *ks)
{
	atomic_fetch_add(&ks->refs, 1);
	return ks;
}

void
auth_keys_put(struct auth_keys *ks)
{
	size_t i;

	if (ks == NULL || atomic_fetch_sub(&ks->refs, 1) != 1)
		return;
	for (i = 0; i < ks->n; i++) {
		replay_put(ks->replays[i]);
		free(ks->idents[i]);
	}
	hs_keyring_free(ks->ring);
	if (ks->psks != NULL)
		crypto_wipe(ks->psks, ks->n * sizeof(*ks->psks));
	free(ks->idents);
	free(ks->creds);
	free(ks->replays);
	free(ks->psks);
	free(ks);
}

static size_t
auth_keys_index(const struct auth_keys *ks, const uint8_t key[ND_KEY_LEN])
{
	size_t i;

	for (i = 0; ks != NULL && i < ks->n; i++)
		if (crypto_equal(ks->psks[i].key, key, ND_KEY_LEN))
			return i;
	return SIZE_MAX;
}

/* Entry n of ks: key, with what old knew of it (i: its index there). */
static int
auth_keys_fill(struct auth_keys *ks, const struct auth_keys *old, size_t i,
    const uint8_t key[ND_KEY_LEN], const char *ident)
{
	size_t n = ks->n;

	if (ident != NULL && (ks->idents[n] = strdup(ident)) == NULL)
		return -1;
	if (i != SIZE_MAX) {
		ks->replays[n] = replay_ref(old->replays[i]);
		ks->psks[n] = old->psks[i];
	} else if ((ks->replays[n] = replay_new()) != NULL)
		hs_psk_init(&ks->psks[n], key);
	else {
		free(ks->idents[n]);
		ks->idents[n] = NULL;
		return -1;
	}
	if (i != SIZE_MAX && str_same(old->idents[i], ident))
		ks->creds[n] = old->creds[i];
	else
		ks->creds[n] = atomic_fetch_add(&auth_cred_next, 1);
	return 0;
}

size_t
auth_keys_add(struct auth_keys *ks, const struct auth_keys *old,
    const uint8_t key[ND_KEY_LEN], const char *ident)
{
	size_t i;

	if ((i = auth_keys_index(ks, key)) != SIZE_MAX) {
		if (str_same(ks->idents[i], ident))
			return i;
		errno = EEXIST;
		return SIZE_MAX;
	}
	errno = ENOMEM;
	if (ks->n == ks->max ||
	    auth_keys_fill(ks, old, auth_keys_index(old, key), key, ident) == -1)
		return SIZE_MAX;
	return ks->n++;
}

const char *
auth_keys_identity(const struct auth_keys *ks, size_t idx, uint64_t *cred)
{
	*cred = ks->creds[idx];
	return ks->idents[idx];
}

size_t
auth_keys_find_cred(const struct auth_keys *ks, uint64_t cred)
{
	size_t i;

	for (i = 0; i < ks->n; i++)
		if (ks->creds[i] == cred)
			return i;
	return SIZE_MAX;
}

size_t
auth_keys_get(const struct auth_keys *ks, const struct hs_psk **psks)
{
	*psks = ks->psks;
	return ks->n;
}

int
auth_keys_seal(struct auth_keys *ks, const uint8_t *server_key,
    int min_version)
{
	if (ks->ring != NULL) {
		errno = EBUSY;
		return -1;
	}
	ks->ring = hs_keyring_new(ks->psks, ks->n, server_key,
	    (uint8_t)min_version);
	return ks->ring != NULL ? 0 : -1;
}

const struct hs_keyring *
auth_keys_ring(const struct auth_keys *ks)
{
	return ks->ring;
}

int
auth_keys_replayed(const struct auth_keys *ks, size_t idx,
    const uint8_t eph[ND_KEY_LEN])
{
	return replay_seen(ks->replays[idx], eph);
}

/* The log. */

struct auth_log {
	struct ratelim failed, refused, closed;
};

struct auth_log *
auth_log_new(void)
{
	struct auth_log *al;

	if ((al = calloc(1, sizeof(*al))) == NULL)
		return NULL;
	ratelim_init(&al->failed, AUTH_LOG_BURST, AUTH_LOG_INTERVAL);
	ratelim_init(&al->refused, AUTH_LOG_BURST, AUTH_LOG_INTERVAL);
	ratelim_init(&al->closed, AUTH_LOG_BURST, AUTH_LOG_INTERVAL);
	return al;
}

void
auth_log_free(struct auth_log *al)
{
	if (al == NULL)
		return;
	ratelim_destroy(&al->closed);
	ratelim_destroy(&al->refused);
	ratelim_destroy(&al->failed);
	free(al);
}

void
auth_failed(struct auth_log *al, const char *peer, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!ratelim_pass(&al->failed, "authentication failures"))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("%s: authentication failed: %s", peer, msg);
}

void
auth_handshake_closed(struct auth_log *al, const char *peer, const char *why)
{
	if (ratelim_pass(&al->closed, "closed handshakes"))
		log_info("%s: closed: %s", peer, why);
}

int
auth_refusal_pass(struct auth_log *al)
{
	return ratelim_pass(&al->refused, "refused connections");
}

/* Lower *timeout to ms, if ms is a time (not -1). */
static void
auth_lower(int *timeout, int ms)
{
	if (ms >= 0 && (*timeout < 0 || ms < *timeout))
		*timeout = ms;
}

void
auth_log_flush(struct auth_log *al, int *timeout)
{
	auth_lower(timeout, ratelim_flush(&al->failed,
	    "authentication failures"));
	auth_lower(timeout, ratelim_flush(&al->refused,
	    "refused connections"));
	auth_lower(timeout, ratelim_flush(&al->closed, "closed handshakes"));
}
