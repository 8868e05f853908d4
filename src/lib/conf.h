/* SPDX-License-Identifier: ISC */
/*
 * netdisk.conf: parsed with inih into a fresh struct conf, then validated
 * in one pass that reports every error as "FILE:LINE: message".
 */
#ifndef CONF_H
#define CONF_H

#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "netdisk_proto.h"

#define CONF_DEFAULT_PATH	"/etc/netdisk.conf"
#define CONF_CONTROL_SOCKET	"/run/netdisk/netdiskd.sock"
/* The NBD listener's default port (IANA's, as qemu and nbd-client use). */
#define CONF_NBD_PORT		"10809"

struct conf_listen {
	char host[256];			/* "" = wildcard */
	char port[8];
};

/* One allow-list entry: an address and a prefix length. */
struct conf_net {
	int family;			/* AF_INET or AF_INET6 */
	uint8_t addr[16];
	int prefix;
};

/*
 * A client identity: a name and a key of its own.  The server learns the
 * identity of a client only from the key that opened its hello.  Names:
 * 1 to CONF_CLIENT_NAME_MAX of A-Z a-z 0-9 . _ -, not starting with "."
 * or "-" (conf_client_name_valid): they may become file names.
 */
#define CONF_CLIENT_NAME_MAX	64

/* Seconds an overlay stays attached after its client's last session. */
#define CONF_OVERLAY_HOLD	60
/* overlay_chunk: a power of two in this range (overlay_map.h agrees). */
#define CONF_OVERLAY_CHUNK_MIN	4096
#define CONF_OVERLAY_CHUNK_MAX	(8 * 1024 * 1024)

struct conf_client {
	char name[CONF_CLIENT_NAME_MAX + 1];
	int line;			/* [client NAME], or clients_dir */
	char *keyfile;			/* absolute */
	int has_key;
	uint8_t key[ND_KEY_LEN];
};

/* How an export is offered to NBD clients (nbd = ...). */
enum conf_nbd {
	CONF_NBD_NO = 0,		/* not at all (the default) */
	CONF_NBD_PLAIN,			/* without TLS: trusted networks */
	CONF_NBD_TLS,			/* only after STARTTLS */
};

struct conf_export {
	TAILQ_ENTRY(conf_export) entry;
	char name[ND_NAME_MAX + 1];
	int line;			/* of the section header */
	char *path;
	uint64_t size;			/* 0: use the existing file's size */
	int readonly;
	/*
	 * The export's key: its own (key or keyfile in its section) or, when
	 * it has none, a copy of [global]'s.  conf_load sets it for every
	 * export; own_key tells which.
	 */
	int has_key;
	uint8_t key[ND_KEY_LEN];
	int own_key;
	struct conf_net *allow;		/* NULL: everybody */
	int nallow;
	int max_clients;		/* 0: unlimited */
	char *description;
	int trim;			/* default 1 */
	/*
	 * The client identities that may use it, besides the shared key:
	 * clients_all (clients = *), or the indices in conf->clients of the
	 * nclients names listed.  An export with clients does not take
	 * [global]'s key.  Not compared by conf_export_equal: a reload that
	 * changes only this list keeps the export (and its other clients).
	 */
	char **client_names;		/* as listed */
	int *clients;			/* their indices, once validated */
	int nclients;
	int clients_all;
	int clients_line;
	/*
	 * An overlay export (overlay_dir set): path is the read-only base,
	 * each client identity writes its own overlay, DIR/NAME.ovl
	 * (docs/overlay.md).  Only client identities may use it.
	 */
	char *overlay_dir;		/* NULL: a plain export */
	int overlay_line;		/* of overlay_dir */
	int overlay_ephemeral;		/* overlay = ephemeral */
	uint64_t overlay_quota;		/* bytes; 0: none */
	uint32_t overlay_chunk;		/* bytes; 0: the format's default */
	uint64_t base_generation;	/* recorded in the overlays */
	int base_changed_refuse;	/* base_changed = refuse */
	int overlay_hold;		/* seconds, default CONF_OVERLAY_HOLD */
	enum conf_nbd nbd;
	int nbd_line;			/* of nbd, 0: not given */
};
TAILQ_HEAD(conf_exports, conf_export);

struct conf {
	char *path;			/* the file, absolute (for reloads) */
	struct conf_listen *listen;	/* default: one wildcard entry on port */
	int nlisten;
	char port[8];			/* default port for listen entries */
	/* NBD listeners (nbd_listen); none unless given.  Port 10809. */
	struct conf_listen *nbd_listen;
	int nbd_nlisten;
	/*
	 * TLS for NBD clients (NULL: none): a PSK file of identity:hexkey
	 * lines, a server certificate and its key, a CA whose certificates
	 * clients must show.  Absolute paths.
	 */
	char *nbd_tls_psk, *nbd_tls_cert, *nbd_tls_key, *nbd_tls_ca;
	int nbd_tls_line;		/* of the first of them */
	int has_key;
	uint8_t key[ND_KEY_LEN];
	/*
	 * The server's static X25519 private key (server_key = FILE): with
	 * it netdiskd speaks protocol version 3 too (docs/protocol.md,
	 * section 4.4).  min_version 3 refuses version 2 hellos; it needs
	 * the key.
	 */
	int has_server_key;
	uint8_t server_key[ND_KEY_LEN];
	int min_version;		/* ND_VERSION_2 (default) or 3 */
	struct conf_client *clients;	/* sorted by name */
	int nclients;
	char *clients_dir;		/* NULL: none */
	char *user, *group;		/* NULL: stay as we are */
	int max_connections;		/* authenticated sessions, default 256 */
	int handshake_timeout;		/* seconds, default 10 */
	/* Connections not yet authenticated: in all and per address. */
	int max_handshakes;		/* default 128 */
	int max_handshakes_per_address;	/* default 32 */
	uint64_t max_request_memory;	/* bytes, default 256 MiB */
	int log_level;			/* LOG_ERR..LOG_DEBUG, default LOG_INFO */
	char *pidfile;			/* default /run/netdiskd.pid */
	char *control_socket;		/* default /run/netdisk/netdiskd.sock */
	struct conf_exports exports;
	/*
	 * NULL, or what is risky but valid, one "FILE:LINE: message\n"
	 * line each (an inline key in a file others can read).
	 */
	char *warnings;
};

/*
 * Load and validate.  On success returns the conf and *errors is NULL.
 * On failure returns NULL and *errors is a malloc'd string of one line
 * per error, each "FILE:LINE: message\n" (the caller frees it), sorted
 * by line; a file that cannot be read gives "FILE: strerror\n".  Relative
 * paths (path, keyfile, pidfile, control_socket) come back absolute,
 * resolved against the config file's directory.  Not thread-safe.
 */
struct conf *conf_load(const char *path, char **errors);
void conf_free(struct conf *);		/* wipes keys */

struct conf_export *conf_find_export(struct conf *, const char *name);
/* The index of the client identity called name in c->clients, or -1. */
int conf_find_client(const struct conf *, const char *name);
/* 1 if name may name a client identity (see struct conf_client). */
int conf_client_name_valid(const char *name);
/* 1 if client identity number i may use e. */
int conf_export_admits(const struct conf_export *e, int i);
/* 1 if the address (IPv4, IPv6 or IPv4-mapped IPv6) may connect. */
int conf_allowed(const struct conf_export *, const struct sockaddr *);
/* 1 if two exports' settings are the same (for reload). */
int conf_export_equal(const struct conf_export *, const struct conf_export *);

#endif
