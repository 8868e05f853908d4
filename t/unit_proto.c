/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for src/lib/request.c: the wire encoding of requests and replies
 * and the checks the server applies before touching the disk.
 */
#include "config.h"

#include <endian.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "netdisk_proto.h"
#include "request.h"
#include "tap.h"

#define SIZE	(1ULL << 30)		/* 1 GiB export */

static const struct request_limits rw_limits = {
	.size = SIZE,
	.min_block = ND_MIN_BLOCK,
	.max_payload = ND_MAX_PAYLOAD,
	.flags = ND_FLAG_FLUSH | ND_FLAG_FUA | ND_FLAG_TRIM |
	    ND_FLAG_WRITE_ZEROES | ND_FLAG_MULTI_CONN,
};

static struct request
mkreq(uint16_t type, uint16_t flags, uint64_t off, uint32_t len)
{
	struct request r = {
		.flags = flags, .type = type, .handle = 7,
		.offset = off, .length = len,
	};

	return r;
}

static uint32_t
check(uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
    const struct request_limits *l)
{
	struct request r = mkreq(type, flags, off, len);

	return request_check(&r, l);
}

static void
test_request_encoding(void)
{
	static const uint8_t want[32] = {
		0x6e, 0x64, 0x72, 0x71,			/* magic "ndrq" */
		0x00, 0x01,				/* flags: FUA */
		0x00, 0x01,				/* type: WRITE */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* handle */
		0x00, 0x00, 0x00, 0x12, 0x34, 0x56, 0x78, 0x00,	/* offset */
		0x00, 0x10, 0x00, 0x00,			/* length: 1 MiB */
		0x00, 0x00, 0x00, 0x00,			/* reserved */
	};
	struct request r = {
		.flags = ND_CMD_FLAG_FUA, .type = ND_CMD_WRITE,
		.handle = 0x0102030405060708ULL, .offset = 0x1234567800ULL,
		.length = 1U << 20,
	}, back;
	struct nd_request w;

	memset(&w, 0xa5, sizeof(w));
	request_encode(&r, &w);
	ok(memcmp(&w, want, sizeof(want)) == 0,
	    "request encodes to the exact big-endian bytes");
	memset(&back, 0, sizeof(back));
	ok(request_decode(&w, &back) == 0, "request decodes");
	ok(back.flags == r.flags && back.type == r.type &&
	    back.handle == r.handle && back.offset == r.offset &&
	    back.length == r.length, "request round trip keeps every field");

	memcpy(&w, want, sizeof(w));
	memset(&back, 0, sizeof(back));
	ok(request_decode(&w, &back) == 0 && back.handle == r.handle &&
	    back.offset == r.offset,
	    "hand-written request bytes decode to the same request");

	memcpy(&w, want, sizeof(w));
	((uint8_t *)&w)[3] ^= 0x01;
	ok(request_decode(&w, &back) == -1, "request with a bad magic is rejected");
	memcpy(&w, want, sizeof(w));
	((uint8_t *)&w)[0] = 0x70;
	ok(request_decode(&w, &back) == -1,
	    "request with the reply magic is rejected");
	memcpy(&w, want, sizeof(w));
	((uint8_t *)&w)[31] = 0x01;
	ok(request_decode(&w, &back) == -1,
	    "request with a non-zero reserved field is rejected");
	memcpy(&w, want, sizeof(w));
	((uint8_t *)&w)[28] = 0x80;
	ok(request_decode(&w, &back) == -1,
	    "request with a non-zero reserved high byte is rejected");
}

static void
test_reply_encoding(void)
{
	static const uint8_t want[16] = {
		0x6e, 0x64, 0x72, 0x70,			/* magic "ndrp" */
		0x00, 0x00, 0x00, 0x4b,			/* error: EOVERFLOW */
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10,	/* handle */
	};
	struct reply r = { .error = ND_EOVERFLOW, .handle = 0xfedcba9876543210ULL };
	struct reply back;
	struct nd_reply w;

	memset(&w, 0x5a, sizeof(w));
	reply_encode(&r, &w);
	ok(memcmp(&w, want, sizeof(want)) == 0,
	    "reply encodes to the exact big-endian bytes");
	memset(&back, 0, sizeof(back));
	ok(reply_decode(&w, &back) == 0 && back.error == ND_EOVERFLOW &&
	    back.handle == r.handle, "reply round trip keeps every field");
	memcpy(&w, want, sizeof(w));
	((uint8_t *)&w)[2] = 0x71;
	ok(reply_decode(&w, &back) == -1,
	    "reply with the request magic is rejected");
}

/* READ and WRITE share the range and payload rules. */
static void
test_read_write(uint16_t type, const char *name)
{
	const struct request_limits *l = &rw_limits;
	uint32_t max = ND_MAX_PAYLOAD;

	ok(check(type, 0, 0, 512, l) == ND_OK, "%s 512 at 0 is valid", name);
	ok(check(type, 0, SIZE - max, max, l) == ND_OK,
	    "%s of max_payload ending at the end is valid", name);
	ok(check(type, 0, SIZE - 512, 512, l) == ND_OK,
	    "%s of the last block is valid", name);
	ok(check(type, 0, 100, 512, l) == ND_EINVAL,
	    "%s at an unaligned offset is EINVAL", name);
	ok(check(type, 0, 512, 100, l) == ND_EINVAL,
	    "%s of an unaligned length is EINVAL", name);
	ok(check(type, 0, 0, 0, l) == ND_EINVAL, "%s of length 0 is EINVAL", name);
	ok(check(type, 0, SIZE, 512, l) == ND_EOVERFLOW,
	    "%s at the end of the export is EOVERFLOW", name);
	ok(check(type, 0, SIZE - 512, 1024, l) == ND_EOVERFLOW,
	    "%s crossing the end of the export is EOVERFLOW", name);
	ok(check(type, 0, SIZE + 4096, 512, l) == ND_EOVERFLOW,
	    "%s beyond the end of the export is EOVERFLOW", name);
	ok(check(type, 0, UINT64_MAX - 511, 1024, l) == ND_EOVERFLOW,
	    "%s whose offset + length overflows uint64 is EOVERFLOW", name);
	ok(check(type, 0, UINT64_MAX, 512, l) == ND_EOVERFLOW,
	    "%s at offset UINT64_MAX is EOVERFLOW", name);
	ok(check(type, 0, 0, max + 1, l) == ND_EINVAL,
	    "%s of max_payload + 1 is EINVAL", name);
	ok(check(type, 0, 0, max + 512, l) == ND_EINVAL,
	    "%s of max_payload + 512 (aligned) is EINVAL", name);
	ok(check(type, 0, 0, UINT32_MAX, l) == ND_EINVAL,
	    "%s of length UINT32_MAX is EINVAL", name);
	ok(check(type, 0x8000, 0, 512, l) == ND_EINVAL,
	    "%s with an unknown flag bit is EINVAL", name);
	ok(check(type, 0x0002, 0, 512, l) == ND_EINVAL,
	    "%s with flag bit 1 is EINVAL", name);
}

static void
test_small_export(void)
{
	struct request_limits l = rw_limits;

	l.size = 8192;
	ok(check(ND_CMD_READ, 0, 0, 8192, &l) == ND_OK,
	    "READ of a whole 8 KiB export is valid");
	ok(check(ND_CMD_READ, 0, 0, 8704, &l) == ND_EOVERFLOW,
	    "READ longer than a small export is EOVERFLOW");
	ok(check(ND_CMD_TRIM, 0, 4096, 8192, &l) == ND_EOVERFLOW,
	    "TRIM crossing the end of a small export is EOVERFLOW");
	l.min_block = 4096;
	ok(check(ND_CMD_READ, 0, 512, 4096, &l) == ND_EINVAL,
	    "READ aligned to 512 but not to min_block 4096 is EINVAL");
	ok(check(ND_CMD_READ, 0, 4096, 4096, &l) == ND_OK,
	    "READ aligned to min_block 4096 is valid");
	l.min_block = 512;
	l.size = SIZE;
	l.max_payload = 65536;
	ok(check(ND_CMD_WRITE, 0, 0, 65536, &l) == ND_OK,
	    "WRITE of a smaller max_payload is valid");
	ok(check(ND_CMD_WRITE, 0, 0, 65536 + 512, &l) == ND_EINVAL,
	    "WRITE above a smaller max_payload is EINVAL");
}

static void
test_fua(void)
{
	const struct request_limits *l = &rw_limits;

	ok(check(ND_CMD_WRITE, ND_CMD_FLAG_FUA, 0, 512, l) == ND_OK,
	    "WRITE with FUA is valid");
	ok(check(ND_CMD_WRITE_ZEROES, ND_CMD_FLAG_FUA, 0, 512, l) == ND_OK,
	    "WRITE_ZEROES with FUA is valid");
	ok(check(ND_CMD_READ, ND_CMD_FLAG_FUA, 0, 512, l) == ND_EINVAL,
	    "READ with FUA is EINVAL");
	ok(check(ND_CMD_TRIM, ND_CMD_FLAG_FUA, 0, 512, l) == ND_EINVAL,
	    "TRIM with FUA is EINVAL");
	ok(check(ND_CMD_FLUSH, ND_CMD_FLAG_FUA, 0, 0, l) == ND_EINVAL,
	    "FLUSH with FUA is EINVAL");
}

static void
test_flush_disconnect(void)
{
	const struct request_limits *l = &rw_limits;

	ok(check(ND_CMD_FLUSH, 0, 0, 0, l) == ND_OK, "FLUSH 0/0 is valid");
	ok(check(ND_CMD_FLUSH, 0, 512, 0, l) == ND_EINVAL,
	    "FLUSH with a non-zero offset is EINVAL");
	ok(check(ND_CMD_FLUSH, 0, 0, 512, l) == ND_EINVAL,
	    "FLUSH with a non-zero length is EINVAL");
	ok(check(ND_CMD_DISCONNECT, 0, 0, 0, l) == ND_OK,
	    "DISCONNECT 0/0 is valid");
	ok(check(ND_CMD_DISCONNECT, 0, 0, 512, l) == ND_EINVAL,
	    "DISCONNECT with a non-zero length is EINVAL");
	ok(check(ND_CMD_DISCONNECT, 0x4000, 0, 0, l) == ND_EINVAL,
	    "DISCONNECT with an unknown flag bit is EINVAL");
}

static void
test_trim_zeroes(void)
{
	const struct request_limits *l = &rw_limits;
	uint16_t cmds[] = { ND_CMD_TRIM, ND_CMD_WRITE_ZEROES };
	size_t i;

	for (i = 0; i < 2; i++) {
		uint16_t t = cmds[i];
		const char *n = request_cmd_name(t);

		ok(check(t, 0, 0, 512, l) == ND_OK, "%s 512 at 0 is valid", n);
		ok(check(t, 0, 0, SIZE, l) == ND_OK,
		    "%s of the whole export (beyond max_payload) is valid", n);
		ok(check(t, 0, 0, 0, l) == ND_EINVAL, "%s of length 0 is EINVAL", n);
		ok(check(t, 0, 1, 512, l) == ND_EINVAL,
		    "%s at an unaligned offset is EINVAL", n);
		ok(check(t, 0, 0, 513, l) == ND_EINVAL,
		    "%s of an unaligned length is EINVAL", n);
		ok(check(t, 0, SIZE - 512, 1024, l) == ND_EOVERFLOW,
		    "%s crossing the end is EOVERFLOW", n);
		ok(check(t, 0, UINT64_MAX - 511, 4096, l) == ND_EOVERFLOW,
		    "%s whose offset + length overflows uint64 is EOVERFLOW", n);
		ok(check(t, 0x0100, 0, 512, l) == ND_EINVAL,
		    "%s with an unknown flag bit is EINVAL", n);
	}
}

static void
test_read_only(void)
{
	struct request_limits l = rw_limits;

	l.flags |= ND_FLAG_READ_ONLY;
	ok(check(ND_CMD_WRITE, 0, 0, 512, &l) == ND_EPERM,
	    "WRITE on a read-only export is EPERM");
	ok(check(ND_CMD_WRITE, ND_CMD_FLAG_FUA, 0, 512, &l) == ND_EPERM,
	    "WRITE with FUA on a read-only export is EPERM");
	ok(check(ND_CMD_TRIM, 0, 0, 512, &l) == ND_EPERM,
	    "TRIM on a read-only export is EPERM");
	ok(check(ND_CMD_WRITE_ZEROES, 0, 0, 512, &l) == ND_EPERM,
	    "WRITE_ZEROES on a read-only export is EPERM");
	ok(check(ND_CMD_READ, 0, 0, 512, &l) == ND_OK,
	    "READ on a read-only export is valid");
	ok(check(ND_CMD_FLUSH, 0, 0, 0, &l) == ND_OK,
	    "FLUSH on a read-only export is valid");
}

static void
test_unsupported(void)
{
	struct request_limits l = rw_limits;

	l.flags = 0;
	ok(check(ND_CMD_TRIM, 0, 0, 512, &l) == ND_ENOTSUP,
	    "TRIM on an export without the trim flag is ENOTSUP");
	ok(check(ND_CMD_WRITE_ZEROES, 0, 0, 512, &l) == ND_ENOTSUP,
	    "WRITE_ZEROES on an export without the flag is ENOTSUP");
	ok(check(ND_CMD_FLUSH, 0, 0, 0, &l) == ND_ENOTSUP,
	    "FLUSH on an export without the flush flag is ENOTSUP");
	ok(check(ND_CMD_READ, 0, 0, 512, &l) == ND_OK,
	    "READ needs no export flag");
	ok(check(ND_CMD_WRITE, 0, 0, 512, &l) == ND_OK,
	    "WRITE needs no export flag");
}

static void
test_unknown_command(void)
{
	const struct request_limits *l = &rw_limits;

	ok(check(6, 0, 0, 512, l) == ND_EINVAL, "command 6 is EINVAL");
	ok(check(0xffff, 0, 0, 512, l) == ND_EINVAL, "command 0xffff is EINVAL");
	ok(strcmp(request_cmd_name(ND_CMD_WRITE_ZEROES), "WRITE_ZEROES") == 0,
	    "command names: WRITE_ZEROES");
	ok(strcmp(request_cmd_name(ND_CMD_READ), "READ") == 0,
	    "command names: READ");
	ok(request_cmd_name(6) != NULL && request_cmd_name(0xffff) != NULL,
	    "command names: unknown commands still have a name");
}

static void
test_has_payload(void)
{
	const struct request_limits *l = &rw_limits;
	struct request r;

	r = mkreq(ND_CMD_WRITE, 0, 0, 4096);
	ok(request_has_payload(&r, l) == 1, "WRITE 4096 carries a payload");
	r = mkreq(ND_CMD_WRITE, 0, 100, 100);
	ok(request_has_payload(&r, l) == 1,
	    "unaligned WRITE still carries a payload to skip");
	r = mkreq(ND_CMD_WRITE, 0, SIZE * 2, 512);
	ok(request_has_payload(&r, l) == 1,
	    "out-of-range WRITE still carries a payload to skip");
	r = mkreq(ND_CMD_WRITE, 0, 0, ND_MAX_PAYLOAD);
	ok(request_has_payload(&r, l) == 1,
	    "WRITE of max_payload carries a payload");
	r = mkreq(ND_CMD_WRITE, 0, 0, ND_MAX_PAYLOAD + 512);
	ok(request_has_payload(&r, l) == 0,
	    "WRITE above max_payload: payload is not read");
	r = mkreq(ND_CMD_READ, 0, 0, 4096);
	ok(request_has_payload(&r, l) == 0, "READ carries no payload");
	r = mkreq(ND_CMD_TRIM, 0, 0, 4096);
	ok(request_has_payload(&r, l) == 0, "TRIM carries no payload");
	r = mkreq(ND_CMD_WRITE_ZEROES, 0, 0, 4096);
	ok(request_has_payload(&r, l) == 0, "WRITE_ZEROES carries no payload");
	r = mkreq(ND_CMD_FLUSH, 0, 0, 0);
	ok(request_has_payload(&r, l) == 0, "FLUSH carries no payload");
	r = mkreq(99, 0, 0, 4096);
	ok(request_has_payload(&r, l) == 0, "unknown command carries no payload");
}

/*
 * Block status (docs/protocol.md, section 9.1): the byte vectors of the
 * document, exactly.
 */
static void
test_block_status_vectors(void)
{
	static const uint8_t opt_word[4] = { 0x00, 0x00, 0x00, 0x03 };
	static const uint8_t req[32] = {
		0x6e, 0x64, 0x72, 0x71,			/* magic "ndrq" */
		0x00, 0x00,				/* flags */
		0x00, 0x06,				/* type: BLOCK_STATUS */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* handle */
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* offset */
		0x04, 0x00, 0x00, 0x00,			/* length: 64 MiB */
		0x00, 0x00, 0x00, 0x00,			/* reserved */
	};
	static const uint8_t rep[36] = {
		0x6e, 0x64, 0x72, 0x70,			/* magic "ndrp" */
		0x00, 0x00, 0x00, 0x00,			/* error: OK */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* handle */
		0x00, 0x00, 0x00, 0x02,			/* count */
		0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,	/* 1 MiB data */
		0x03, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,	/* 63 MiB hole */
	};
	struct nd_client_payload p;
	struct request r = {
		.type = ND_CMD_BLOCK_STATUS, .handle = 0x0102030405060708ULL,
		.offset = 0, .length = 64U << 20,
	};
	struct reply rp = { .error = ND_OK, .handle = 0x0102030405060708ULL };
	struct nd_request w;
	struct extent e[2];
	uint8_t hdr[ND_EXTENTS_HDR_LEN];

	memset(&p, 0, sizeof(p));
	p.options = htobe32(ND_OPT_READ_ONLY | ND_OPT_BLOCK_STATUS);
	ok(memcmp((uint8_t *)&p + offsetof(struct nd_client_payload, options),
	    opt_word, 4) == 0 && offsetof(struct nd_client_payload, options) ==
	    16, "vector: options READ_ONLY | BLOCK_STATUS = 00 00 00 03 at 16");
	request_encode(&r, &w);
	ok(memcmp(&w, req, sizeof(req)) == 0,
	    "vector: BLOCK_STATUS request of 64 MiB at 0");
	r.flags = ND_CMD_FLAG_REQ_ONE;
	request_encode(&r, &w);
	ok(((uint8_t *)&w)[4] == 0 && ((uint8_t *)&w)[5] == 2,
	    "vector: ND_CMD_FLAG_REQ_ONE is 00 02");
	ok(reply_extents_hdr(&rp, 2, hdr) == 20 &&
	    memcmp(hdr, rep, 20) == 0, "vector: reply header and count 2");
	ok(reply_extents_decode(rep + 20, 2, 64U << 20, 0, e) == 0 &&
	    e[0].length == 1U << 20 && e[0].flags == 0 &&
	    e[1].length == 63U << 20 &&
	    e[1].flags == (ND_EXTENT_HOLE | ND_EXTENT_ZERO),
	    "vector: 1 MiB of data, then a 63 MiB hole that reads as zeroes");
	ok(reply_extents_decode(rep + 20, 2, 64U << 20, 1, e) == -1,
	    "two extents after REQ_ONE: refused");
	ok(reply_extents_decode(rep + 20, 1, 1U << 20, 1, e) == 0,
	    "one extent after REQ_ONE: fine");
	ok(reply_extents_decode(rep + 20, 2, (64U << 20) - 512, 0, e) == -1,
	    "extents beyond the length asked: refused");
	ok(reply_extents_decode(rep + 20, 0, 64U << 20, 0, e) == -1 &&
	    reply_extents_decode(rep + 20, ND_EXTENTS_MAX + 1, 64U << 20, 0,
	    e) == -1, "a count of 0 or above ND_EXTENTS_MAX: refused");
	memcpy(hdr, rep + 20, 8);
	hdr[7] = 4;
	ok(reply_extents_decode(hdr, 1, 64U << 20, 0, e) == -1,
	    "an unknown extent flag: refused");
	memset(hdr, 0, 8);
	ok(reply_extents_decode(hdr, 1, 64U << 20, 0, e) == -1,
	    "an extent of length 0: refused");
}

/* The engine's BLOCK_STATUS, which a netdisk session maps its own onto. */
static void
test_block_status_check(void)
{
	struct request_limits l = rw_limits;

	ok(check(REQ_CMD_BLOCK_STATUS, 0, 0, 4096, &l) == ND_ENOTSUP,
	    "BLOCK_STATUS without REQ_CAN_BLOCK_STATUS is ENOTSUP");
	l.flags |= REQ_CAN_BLOCK_STATUS;
	ok(check(REQ_CMD_BLOCK_STATUS, 0, 0, (uint32_t)(SIZE / 2), &l) ==
	    ND_OK, "BLOCK_STATUS beyond max_payload is valid");
	ok(check(REQ_CMD_BLOCK_STATUS, REQ_FLAG_REQ_ONE, 0, 4096, &l) == ND_OK,
	    "BLOCK_STATUS with REQ_ONE is valid");
	ok(check(REQ_CMD_BLOCK_STATUS, ND_CMD_FLAG_FUA, 0, 4096, &l) ==
	    ND_EINVAL, "BLOCK_STATUS with FUA is EINVAL");
	ok(check(ND_CMD_READ, REQ_FLAG_REQ_ONE, 0, 4096, &l) == ND_EINVAL,
	    "READ with REQ_ONE is EINVAL");
	ok(check(REQ_CMD_BLOCK_STATUS, 0, SIZE, 512, &l) == ND_EOVERFLOW,
	    "BLOCK_STATUS beyond the end is EOVERFLOW");
	l.flags |= ND_FLAG_READ_ONLY;
	ok(check(REQ_CMD_BLOCK_STATUS, 0, 0, 4096, &l) == ND_OK,
	    "BLOCK_STATUS on a read-only session is valid");
}

int
main(void)
{
	test_request_encoding();
	test_reply_encoding();
	test_read_write(ND_CMD_READ, "READ");
	test_read_write(ND_CMD_WRITE, "WRITE");
	test_small_export();
	test_fua();
	test_flush_disconnect();
	test_trim_zeroes();
	test_read_only();
	test_unsupported();
	test_unknown_command();
	test_has_payload();
	test_block_status_vectors();
	test_block_status_check();
	return done_testing();
}
