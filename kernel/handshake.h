/* SPDX-License-Identifier: GPL-2.0-only */
/* handshake.c: the v2 and v3 client handshakes and key schedule, no I/O. */
#ifndef ND_HANDSHAKE_H
#define ND_HANDSHAKE_H

#include <linux/types.h>

#include "crypto.h"
#include "netdisk_proto.h"

struct nd_traffic {
	u8 secret[ND_HASH_LEN];
	u8 key[ND_KEY_LEN];
	u8 iv[ND_IV_LEN];
};

struct nd_keys {
	struct nd_traffic c2s;
	struct nd_traffic s2c;
};

/* What the server announced, host byte order. */
struct nd_export_info {
	u32 status;
	u32 flags;
	u64 size;
	u32 min_block;
	u32 pref_block;
	u32 max_payload;
	u8 export_id[ND_EXPORT_ID_LEN];
};

/*
 * One handshake; nd_hs_alloc it (the messages are crypto scatterlists).
 * A connection keeps its own from attach to detach: a reconnect allocates
 * nothing.
 */
struct nd_hs {
	u8 ch[ND_CLIENT_HELLO_MAX] __aligned(8);	/* wire bytes, ch_len */
	u8 sh[ND_SERVER_HELLO_LEN] __aligned(8);	/* wire bytes */
	u8 sh_plain[ND_SERVER_HELLO_LEN] __aligned(8);
	u8 cf[ND_CLIENT_FINISHED_LEN];
	u8 psk_secret[ND_HASH_LEN];	/* early (v2) or pe (v3) */
	u8 eph_priv[ND_KEY_LEN];
	u8 hs_secret[ND_HASH_LEN];
	u16 ch_len;			/* of the hello's version */
	u8 version;			/* offered: ND_VERSION_2 or _3 */
	u8 srv_version_min;
	u8 srv_version_max;
	struct nd_aead aead;	/* last: nd_hs_wipe keeps it */
};

int nd_hs_client_hello(struct nd_hs *hs, const u8 psk[ND_KEY_LEN],
		       const u8 *server_pub,
		       const u8 client_id[ND_CLIENT_ID_LEN], u32 options,
		       u16 conn, const char *name, unsigned int name_len,
		       bool preset_eph);
int nd_hs_check_server_hdr(struct nd_hs *hs);
int nd_hs_client_finish(struct nd_hs *hs, struct nd_export_info *info,
			struct nd_keys *keys);
int nd_traffic_derive(struct nd_traffic *t);
int nd_traffic_update(struct nd_traffic *t);
void nd_hs_wipe(struct nd_hs *hs);
struct nd_hs *nd_hs_alloc(void);
void nd_hs_free(struct nd_hs *hs);

#endif /* ND_HANDSHAKE_H */
