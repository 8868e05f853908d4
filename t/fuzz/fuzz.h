/* SPDX-License-Identifier: ISC */
/*
 * Fuzz targets: the libFuzzer entry point every target defines, the
 * optional seed generator, and helpers shared by the targets
 * (fuzz_util.c): reading structured values from the input, checking
 * invariants, and the v2 key schedule recomputed from docs/protocol.md
 * with crypto.h alone, so that a target can seal fuzz bytes into
 * messages and records the code under test will decrypt.
 */
#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "handshake.h"

/* The target: called once per input; returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Seeds a target builds itself (optional; the driver runs them and
 * writes them out with --write-seeds).  emit copies the bytes.
 */
typedef void (*fuzz_emit_fn)(void *arg, const char *name, const void *buf,
    size_t len);
void fuzz_seeds(fuzz_emit_fn emit, void *arg);

/* An invariant of the code under test: print what broke and abort. */
#define FUZZ_CHECK(cond) do {						\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, #cond);			\
} while (0)
void fuzz_fail(const char *file, int line, const char *what)
    __attribute__((noreturn));

/* The input, read front to back; past its end every read gives zeros. */
struct fuzz_in {
	const uint8_t *p;
	size_t len;
};

uint8_t fuzz_u8(struct fuzz_in *);
uint16_t fuzz_u16(struct fuzz_in *);		/* big-endian */
uint32_t fuzz_u32(struct fuzz_in *);
uint64_t fuzz_u64(struct fuzz_in *);
/* Copies len bytes, zero-filled past the end; the count actually read. */
size_t fuzz_bytes(struct fuzz_in *, void *out, size_t len);

/* Output buffer for building seeds and byte streams. */
struct fuzz_buf {
	uint8_t *p;
	size_t len, cap;
};

void fuzz_put(struct fuzz_buf *, const void *, size_t);
void fuzz_put_u8(struct fuzz_buf *, uint8_t);
void fuzz_put_u16(struct fuzz_buf *, uint16_t);	/* big-endian */
void fuzz_put_u32(struct fuzz_buf *, uint32_t);
void fuzz_put_u64(struct fuzz_buf *, uint64_t);
void fuzz_buf_free(struct fuzz_buf *);

/*
 * Fixed key material.  FUZZ_NKEYS pre-shared keys (a server's candidate
 * list), and fixed X25519 private keys for a client and a server.
 */
#define FUZZ_NKEYS	3
extern const uint8_t fuzz_psk[FUZZ_NKEYS][ND_KEY_LEN];
extern const uint8_t fuzz_client_priv[ND_KEY_LEN];
extern const uint8_t fuzz_server_priv[ND_KEY_LEN];
/* The public key of fuzz_client_priv. */
const uint8_t *fuzz_client_pub(void);
/* A key in none of the lists. */
extern const uint8_t fuzz_other_psk[ND_KEY_LEN];

/* The key schedule (docs/protocol.md, "Key schedule"). */
void fuzz_expand_label(void *out, size_t outlen,
    const uint8_t secret[ND_HASH_LEN], const char *label, const void *ctx,
    size_t ctxlen);
/* t->secret = Expand-Label(secret, label, th); key and iv from it. */
void fuzz_traffic(struct hs_traffic *t, const uint8_t secret[ND_HASH_LEN],
    const char *label, const uint8_t th[ND_HASH_LEN]);
/* hs = Extract(Expand-Label(Extract(0, psk), "derived", ""), dh). */
void fuzz_handshake_secret(uint8_t hs[ND_HASH_LEN],
    const uint8_t psk[ND_KEY_LEN], const uint8_t dh[ND_KEY_LEN]);

/*
 * ClientHello = hdr || payload sealed under the "c hello" key of psk.
 * ServerHello = hdr || payload sealed under the "s hs" key of hs, with
 * the transcript ch.  Both take the header and the plaintext payload as
 * given, whatever they hold.
 */
void fuzz_seal_client_hello(uint8_t ch[ND_CLIENT_HELLO_LEN],
    const uint8_t psk[ND_KEY_LEN], const struct nd_hello_hdr *hdr,
    const struct nd_client_payload *pl);
void fuzz_seal_server_hello(uint8_t sh[ND_SERVER_HELLO_LEN],
    const uint8_t hs[ND_HASH_LEN], const uint8_t ch[ND_CLIENT_HELLO_LEN],
    const struct nd_hello_hdr *hdr, const struct nd_server_payload *pl);

/*
 * A seed's sealed-mode head: the mode byte, the key byte, the header and
 * a client payload in clear for export (client id c0 c1 .. cf).
 */
void fuzz_put_sealed(struct fuzz_buf *, uint8_t mode, uint8_t keysel,
    const struct nd_hello_hdr *, const char *export);

/* A hello header: magic, versions, length and an ephemeral key. */
void fuzz_hello_hdr(struct nd_hello_hdr *h, uint8_t vmin, uint8_t vmax,
    uint16_t len, const uint8_t eph[ND_KEY_LEN]);

#endif
