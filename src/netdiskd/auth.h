/* SPDX-License-Identifier: ISC */
/*
 * Authentication state of the server.
 *
 * The key set: the candidate keys of the handshake, deduplicated, with
 * their early secrets and version 3 key ids (computed when the
 * configuration is loaded, wiped with the set), the replay cache of each
 * key (replay.h), and once sealed the key ring of the handshake: the key
 * ids' hash table and the server's static key (handshake.h).  A set is
 * reference counted: the export tables of a reload or restart share it,
 * and the caches of the keys they have in common are carried over.
 *
 * A key is shared (anonymous: [global]'s, an export's own) or the key of
 * one client identity (conf.h): whoever opens a hello with it is that
 * client.  Each key also has a credential number, which stays the same
 * across reloads while both the key and its identity do: a session
 * remembers it, and a reload that drops it disconnects the session.
 *
 * The log: "authentication failed", refused connections and closed
 * handshakes, each rate-limited, so that an attacker cannot flood the
 * log.
 */
#ifndef AUTH_H
#define AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "netdisk_proto.h"

struct hs_psk;
struct hs_keyring;
struct auth_keys;

/* An empty set with room for max keys, or NULL out of memory. */
struct auth_keys *auth_keys_new(size_t max);
struct auth_keys *auth_keys_ref(struct auth_keys *);
void auth_keys_put(struct auth_keys *);		/* NULL is fine */
/*
 * The index of key in ks, added if new (with its early secret and
 * replay cache taken from old if old has it, and its credential number
 * if old has it for the same identity; old may be NULL).  ident: the
 * identity it authenticates, NULL for a shared key.  SIZE_MAX with errno
 * EEXIST if ks has the key for another identity (or shared), ENOMEM if
 * the set is full or out of memory.
 */
size_t auth_keys_add(struct auth_keys *ks, const struct auth_keys *old,
    const uint8_t key[ND_KEY_LEN], const char *ident);
/* Key number idx: its identity (NULL: shared) and its credential. */
const char *auth_keys_identity(const struct auth_keys *, size_t idx,
    uint64_t *cred);
/* The index of the key with credential number cred, or SIZE_MAX. */
size_t auth_keys_find_cred(const struct auth_keys *, uint64_t cred);
/* The keys of the set, for the handshake: their number, psks set. */
size_t auth_keys_get(const struct auth_keys *, const struct hs_psk **psks);
/*
 * Once every key is added: build the key ring with the server's static
 * private key (NULL: none) and the lowest version to accept.  -1 with
 * errno EINVAL (min_version 3 without a key), ENOMEM, EBUSY (sealed).
 */
int auth_keys_seal(struct auth_keys *, const uint8_t *server_key,
    int min_version);
/* The key ring of a sealed set, NULL before. */
const struct hs_keyring *auth_keys_ring(const struct auth_keys *);
/*
 * 1 if key number idx authenticated a hello with this client ephemeral
 * key before; else remembers it.
 */
int auth_keys_replayed(const struct auth_keys *, size_t idx,
    const uint8_t eph[ND_KEY_LEN]);

struct auth_log;

struct auth_log *auth_log_new(void);
void auth_log_free(struct auth_log *);		/* NULL is fine */
/* "PEER: authentication failed: REASON", rate-limited. */
void auth_failed(struct auth_log *, const char *peer, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* "PEER: closed: WHY" of a connection that never completed a handshake. */
void auth_handshake_closed(struct auth_log *, const char *peer,
    const char *why);
/*
 * 1 if the caller may log one more refused connection (the caller
 * formats it: refusals come in floods, and a line not logged costs
 * nothing).
 */
int auth_refusal_pass(struct auth_log *);
/*
 * Log the summaries ("N more ... suppressed") whose window has ended;
 * *timeout (ms, -1: none) lowered to when the next one is due.
 */
void auth_log_flush(struct auth_log *, int *timeout);

#endif
