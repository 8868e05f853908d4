# SPDX-License-Identifier: ISC
"""The NBD protocol of netdiskd byte by byte, over plain sockets: what
libnbd does not let a client send or see.  Handshake flags, replies to
unknown and malformed options, NBD_OPT_LIST and NBD_OPT_INFO as sent,
NBD_OPT_EXPORT_NAME with and without the 124 zero bytes, commands the
server must refuse (unknown type, block status without a context, a
write whose payload must still be read), structured replies as sent,
pipelined requests, NBD_OPT_ABORT and NBD_CMD_DISC, and the exclusive
use of a read-write export by one address (a client bound to 127.0.0.2).

  raw.py --port P --export NAME --path FILE --size N --ro NAME
         --list NAME=DESC... --hidden NAME...

Numbers and layouts: doc/proto.md of the NBD project.  Prints TAP-like
lines (nbdtap.py).
"""

import argparse
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdtap import MiB, Tap, file_map, file_read     # noqa: E402

NBDMAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454F5054
REPLY_MAGIC = 0x3e889045565a9
REQUEST_MAGIC = 0x25609513
SIMPLE_MAGIC = 0x67446698
STRUCTURED_MAGIC = 0x668e33ef

OPT_EXPORT_NAME, OPT_ABORT, OPT_LIST, OPT_STARTTLS = 1, 2, 3, 5
OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY = 6, 7, 8
OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT = 9, 10
REP_ACK, REP_SERVER, REP_INFO, REP_META_CONTEXT = 1, 2, 3, 4
ERR = 1 << 31
REP_ERR_UNSUP, REP_ERR_POLICY, REP_ERR_INVALID = ERR + 1, ERR + 2, ERR + 3
REP_ERR_UNKNOWN = ERR + 6
INFO_EXPORT, INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE = 0, 1, 2, 3

CMD_READ, CMD_WRITE, CMD_DISC, CMD_FLUSH = 0, 1, 2, 3
CMD_BLOCK_STATUS = 7
REPLY_FLAG_DONE = 1
REPLY_TYPE_NONE, REPLY_TYPE_OFFSET_DATA, REPLY_TYPE_OFFSET_HOLE = 0, 1, 2
REPLY_TYPE_BLOCK_STATUS = 5

EPERM, EINVAL, ENOSPC = 1, 22, 28

F_HAS_FLAGS, F_READ_ONLY, F_SEND_FLUSH, F_SEND_FUA = 1, 2, 4, 8
F_SEND_TRIM, F_SEND_WRITE_ZEROES, F_SEND_DF = 32, 64, 128
F_CAN_MULTI_CONN, F_SEND_CACHE, F_SEND_FAST_ZERO = 256, 1024, 2048
RW_FLAGS = (F_HAS_FLAGS | F_SEND_FLUSH | F_SEND_FUA | F_SEND_TRIM |
            F_SEND_WRITE_ZEROES | F_CAN_MULTI_CONN | F_SEND_CACHE |
            F_SEND_FAST_ZERO)

p = argparse.ArgumentParser()
p.add_argument("--port", type=int, required=True)
p.add_argument("--export", required=True)
p.add_argument("--path", required=True)
p.add_argument("--size", type=int, required=True)
p.add_argument("--ro", required=True)
p.add_argument("--list", nargs="+", required=True)
p.add_argument("--hidden", nargs="+", required=True)
a = p.parse_args()
listed = dict(x.split("=", 1) for x in a.list)
t = Tap()


class Closed(Exception):
    pass


class Raw:
    """One connection, its handshake started: the server's greeting read
    (hflags), the client flags sent."""

    def __init__(self, cflags=3, src=None):
        self.s = socket.socket()
        self.s.settimeout(10)
        if src:
            self.s.bind((src, 0))
        self.s.connect(("127.0.0.1", a.port))
        magic, opt, self.hflags = struct.unpack(">QQH", self.recv(18))
        if (magic, opt) != (NBDMAGIC, IHAVEOPT):
            raise ValueError("greeting %x %x" % (magic, opt))
        self.s.sendall(struct.pack(">I", cflags))
        self.handle = 0

    def close(self):
        self.s.close()

    def recv(self, n):
        buf = b""
        while len(buf) < n:
            try:
                b = self.s.recv(n - len(buf))
            except ConnectionResetError:
                b = b""
            if not b:
                raise Closed("closed after %d of %d bytes" % (len(buf), n))
            buf += b
        return buf

    def closed(self, wait=5):
        """1 if the server closes the connection within wait seconds
        (sending nothing more), 0 if it does not, -1 if it sends data."""
        self.s.settimeout(wait)
        try:
            b = self.s.recv(1)
        except ConnectionResetError:
            return 1
        except socket.timeout:
            return 0
        finally:
            self.s.settimeout(10)
        return 1 if not b else -1

    # options

    def opt(self, opt, data=b""):
        self.s.sendall(struct.pack(">QII", IHAVEOPT, opt, len(data)) + data)

    def reply(self):
        magic, opt, typ, n = struct.unpack(">QIII", self.recv(20))
        if magic != REPLY_MAGIC:
            raise ValueError("option reply magic %x" % magic)
        return opt, typ, self.recv(n)

    def replies(self, opt):
        """The replies to opt up to the final one (an ACK or an error):
        [(type, data)], raising ValueError if one names another option."""
        out = []
        while True:
            o, typ, data = self.reply()
            if o != opt:
                raise ValueError("a reply to option %d for option %d" %
                                 (o, opt))
            out.append((typ, data))
            if typ == REP_ACK or typ & ERR:
                return out

    def go(self, name, opt=OPT_GO, infos=(INFO_BLOCK_SIZE,)):
        n = name.encode()
        self.opt(opt, struct.pack(">I", len(n)) + n +
                 struct.pack(">H", len(infos)) +
                 b"".join(struct.pack(">H", i) for i in infos))
        return self.replies(opt)

    # transmission

    def cmd(self, typ, off=0, length=0, flags=0, data=b""):
        self.handle += 1
        self.s.sendall(struct.pack(">IHHQQI", REQUEST_MAGIC, flags, typ,
                                   self.handle, off, length) + data)
        return self.handle

    def simple(self, payload=0):
        """A simple reply: (error, handle, payload of that many bytes if
        no error)."""
        magic, err, handle = struct.unpack(">IIQ", self.recv(16))
        if magic != SIMPLE_MAGIC:
            raise ValueError("simple reply magic %x" % magic)
        return err, handle, (self.recv(payload) if payload and not err
                             else b"")

    def chunk(self):
        """Any reply: ("simple", err, handle) or ("chunk", flags, type,
        handle, payload)."""
        magic, = struct.unpack(">I", self.recv(4))
        if magic == SIMPLE_MAGIC:
            err, handle = struct.unpack(">IQ", self.recv(12))
            return ("simple", err, handle)
        if magic != STRUCTURED_MAGIC:
            raise ValueError("reply magic %x" % magic)
        flags, typ, handle, n = struct.unpack(">HHQI", self.recv(16))
        return ("chunk", flags, typ, handle, self.recv(n))


def any_reply(r, handle):
    """The reply to handle, simple or structured (read to its last
    chunk), as (kind, error): kind "simple" or "structured", error that
    of the reply or of its first error chunk.  ValueError if a reply
    names another handle."""
    c = r.chunk()
    if c[0] == "simple":
        if c[2] != handle:
            raise ValueError("a reply to %d for %d" % (c[2], handle))
        return "simple", c[1]
    err = 0
    while True:
        if c[0] != "chunk" or c[3] != handle:
            raise ValueError("%r for handle %d" % (c, handle))
        if c[2] & 0x8000 and not err:
            err = struct.unpack(">I", c[4][:4])[0]
        if c[1] & REPLY_FLAG_DONE:
            return "structured", err
        c = r.chunk()


def info_items(replies):
    """{info type: payload} of the NBD_REP_INFO replies."""
    out = {}
    for typ, data in replies:
        if typ == REP_INFO:
            k, = struct.unpack(">H", data[:2])
            out.setdefault(k, []).append(data[2:])
    return out


def kind(typ):
    return {REP_ACK: "ACK", REP_ERR_UNSUP: "ERR_UNSUP",
            REP_ERR_POLICY: "ERR_POLICY", REP_ERR_INVALID: "ERR_INVALID",
            REP_ERR_UNKNOWN: "ERR_UNKNOWN"}.get(typ, "0x%x" % typ)


def finals(replies):
    return kind(replies[-1][0]) if replies else "none"


# ---------------------------------------------------------------- options

def options():
    r = Raw()
    t.is_("handshake flags: FIXED_NEWSTYLE|NO_ZEROES only", r.hflags, 3)

    r.opt(0x7e)
    t.is_("an unknown option: NBD_REP_ERR_UNSUP", finals(r.replies(0x7e)),
          "ERR_UNSUP")
    r.opt(OPT_LIST, b"x")
    t.is_("NBD_OPT_LIST with data: NBD_REP_ERR_INVALID",
          finals(r.replies(OPT_LIST)), "ERR_INVALID")
    r.opt(OPT_STARTTLS)
    t.ok("NBD_OPT_STARTTLS without TLS exports: NBD_REP_ERR_POLICY or "
         "ERR_UNSUP", finals(r.replies(OPT_STARTTLS)) in ("ERR_POLICY",
                                                          "ERR_UNSUP"))
    r.opt(OPT_SET_META_CONTEXT, struct.pack(">I", len(a.export)) +
          a.export.encode() + struct.pack(">II", 15, 15) + b"base:allocation")
    t.is_("NBD_OPT_SET_META_CONTEXT before structured replies: "
          "NBD_REP_ERR_INVALID", finals(r.replies(OPT_SET_META_CONTEXT)),
          "ERR_INVALID")

    r.opt(OPT_LIST)
    reps = r.replies(OPT_LIST)
    got, bad = {}, []
    for typ, data in reps[:-1]:
        n, = struct.unpack(">I", data[:4])
        if typ != REP_SERVER or n > len(data) - 4:
            bad.append((typ, data))
            continue
        got[data[4:4 + n].decode()] = data[4 + n:].decode()
    t.ok("NBD_OPT_LIST: NBD_REP_SERVER replies, then NBD_REP_ACK",
         not bad and reps[-1][0] == REP_ACK, "bad: %r" % bad,
         "final: %s" % finals(reps))
    t.is_("... the nbd exports, each with its description", got, listed)

    reps = r.go(a.export, OPT_INFO, (INFO_NAME, INFO_DESCRIPTION,
                                    INFO_BLOCK_SIZE))
    items = info_items(reps)
    t.is_("NBD_OPT_INFO %s: ends with NBD_REP_ACK" % a.export, finals(reps),
          "ACK")
    t.ok("... each information once",
         all(len(v) == 1 for v in items.values()), "%r" % items)
    exp = items.get(INFO_EXPORT, [b""])[0]
    t.is_("... NBD_INFO_EXPORT: the size and the transmission flags "
          "(no SEND_DF without structured replies)",
          struct.unpack(">QH", exp) if len(exp) == 10 else exp,
          (a.size, RW_FLAGS))
    t.is_("... NBD_INFO_BLOCK_SIZE: 1 (a regular file), 4096, 32 MiB",
          [struct.unpack(">III", x) for x in items.get(INFO_BLOCK_SIZE, [])],
          [(1, 4096, 32 * MiB)])
    t.ok("... NBD_INFO_NAME: the name, if sent",
         items.get(INFO_NAME, [a.export.encode()]) == [a.export.encode()])
    t.is_("... NBD_INFO_DESCRIPTION: the description",
          items.get(INFO_DESCRIPTION), [listed[a.export].encode()])

    reps = r.go(a.ro, OPT_INFO)
    exp = info_items(reps).get(INFO_EXPORT, [b"\0" * 10])[0]
    flags = struct.unpack(">QH", exp)[1] if len(exp) == 10 else 0
    t.is_("NBD_OPT_INFO %s: READ_ONLY and HAS_FLAGS set" % a.ro,
          (finals(reps), flags & (F_READ_ONLY | F_HAS_FLAGS)),
          ("ACK", F_READ_ONLY | F_HAS_FLAGS))
    for name in a.hidden + ["nosuch"]:
        reps = r.go(name, OPT_INFO)
        t.is_("NBD_OPT_INFO %s: only NBD_REP_ERR_UNKNOWN" % name,
              [kind(x[0]) for x in reps], ["ERR_UNKNOWN"])
    r.opt(OPT_INFO, struct.pack(">I", 200) + b"disk")
    t.is_("NBD_OPT_INFO with a name longer than the option: "
          "NBD_REP_ERR_INVALID", finals(r.replies(OPT_INFO)),
          "ERR_INVALID")
    r.opt(OPT_STRUCTURED_REPLY, b"x")
    t.is_("NBD_OPT_STRUCTURED_REPLY with data: NBD_REP_ERR_INVALID",
          finals(r.replies(OPT_STRUCTURED_REPLY)), "ERR_INVALID")
    t.is_("... the haggling goes on after the errors",
          finals(r.go(a.export, OPT_INFO)), "ACK")
    r.opt(OPT_ABORT)
    t.is_("NBD_OPT_ABORT: NBD_REP_ACK", finals(r.replies(OPT_ABORT)), "ACK")
    t.is_("... then the server closes the connection", r.closed(), 1)
    r.close()

    r = Raw(cflags=3 | 0x80)
    t.is_("unknown client flags: the server drops the connection",
          r.closed(), 1)
    r.close()


# ---------------------------------------------------------------- structured

def structured():
    r = Raw()
    r.opt(OPT_STRUCTURED_REPLY)
    t.is_("NBD_OPT_STRUCTURED_REPLY: NBD_REP_ACK",
          finals(r.replies(OPT_STRUCTURED_REPLY)), "ACK")
    name = a.export.encode()
    r.opt(OPT_LIST_META_CONTEXT, struct.pack(">I", len(name)) + name +
          struct.pack(">I", 0))
    reps = r.replies(OPT_LIST_META_CONTEXT)
    t.is_("NBD_OPT_LIST_META_CONTEXT, no query: base:allocation",
          [(kind(x[0]) if x[0] != REP_META_CONTEXT else x[1][4:])
           for x in reps], [b"base:allocation", "ACK"])
    r.opt(OPT_SET_META_CONTEXT, struct.pack(">I", len(name)) + name +
          struct.pack(">II", 2, 14) + b"x-nosuch:thing" +
          struct.pack(">I", 15) + b"base:allocation")
    reps = r.replies(OPT_SET_META_CONTEXT)
    ctx = [x[1] for x in reps if x[0] == REP_META_CONTEXT]
    t.ok("NBD_OPT_SET_META_CONTEXT: base:allocation selected, the "
         "unknown namespace ignored",
         finals(reps) == "ACK" and len(ctx) == 1 and
         ctx[0][4:] == b"base:allocation", "%r" % reps)
    ctx_id = struct.unpack(">I", ctx[0][:4])[0] if ctx else 0
    reps = r.go(a.export)
    exp = info_items(reps).get(INFO_EXPORT, [b"\0" * 10])[0]
    flags = struct.unpack(">QH", exp)[1] if len(exp) == 10 else 0
    t.is_("NBD_OPT_GO: NBD_REP_ACK, the flags of %s" % a.export,
          (finals(reps), flags & ~F_SEND_DF), ("ACK", RW_FLAGS))

    h = r.cmd(CMD_BLOCK_STATUS, MiB - 4096, 8192)
    c = r.chunk()
    ok = (c[0] == "chunk" and c[2] == REPLY_TYPE_BLOCK_STATUS and
          c[3] == h and len(c[4]) >= 12 and (len(c[4]) - 4) % 8 == 0)
    desc = []
    if ok:
        desc = [struct.unpack(">II", c[4][i:i + 8])
                for i in range(4, len(c[4]), 8)]
        ok = struct.unpack(">I", c[4][:4])[0] == ctx_id
    if ok and not c[1] & REPLY_FLAG_DONE:
        ok = r.chunk()[1:3] == (REPLY_FLAG_DONE, REPLY_TYPE_NONE)
    t.ok("NBD_CMD_BLOCK_STATUS: one block status chunk, the context id",
         ok, "%r" % (c,))
    clipped, left = [], 8192
    for n, f in desc:
        if left > 0:
            clipped.append((min(n, left), f))
            left -= n
    t.is_("... its descriptors: as the file (4 KiB hole,zero then data)",
          clipped, [(n, f) for _, n, f in
                    file_map(a.path, MiB - 4096, 8192)])

    h = r.cmd(CMD_READ, MiB - 4096, 8192)
    data, err, done = bytearray(8192), 0, False
    covered = 0
    while not done:
        c = r.chunk()
        if c[0] != "chunk" or c[3] != h:
            err = -1
            break
        done = c[1] & REPLY_FLAG_DONE
        if c[2] == REPLY_TYPE_OFFSET_DATA:
            off, = struct.unpack(">Q", c[4][:8])
            off -= MiB - 4096
            data[off:off + len(c[4]) - 8] = c[4][8:]
            covered += len(c[4]) - 8
        elif c[2] == REPLY_TYPE_OFFSET_HOLE:
            off, n = struct.unpack(">QI", c[4])
            covered += n
        elif c[2] != REPLY_TYPE_NONE:
            err = -1
    t.ok("NBD_CMD_READ: structured data/hole chunks of the file's bytes",
         err == 0 and covered == 8192 and
         bytes(data) == file_read(a.path, MiB - 4096, 8192))

    h = r.cmd(CMD_READ, a.size - 512, 1024)
    t.is_("NBD_CMD_READ across the end: a structured error chunk, EINVAL",
          any_reply(r, h), ("structured", EINVAL))

    # Pipelined: eight reads sent at once, eight replies, by handle.
    hs = [r.cmd(CMD_READ, i * 65536, 65536) for i in range(8)]
    seen = {}
    for _ in range(8):
        data, h, done = b"", None, False
        while not done:
            c = r.chunk()
            h = c[3]
            done = c[1] & REPLY_FLAG_DONE
            if c[2] == REPLY_TYPE_OFFSET_DATA:
                data += c[4][8:]
            elif c[2] == REPLY_TYPE_OFFSET_HOLE:
                data += bytes(struct.unpack(">QI", c[4])[1])
        seen[h] = data
    t.ok("eight pipelined reads: a reply for each handle, its data",
         sorted(seen) == hs and
         all(seen[hs[i]] == file_read(a.path, i * 65536, 65536)
             for i in range(8)))

    r.cmd(CMD_DISC)
    t.is_("NBD_CMD_DISC: no reply, the server closes the connection",
          r.closed(), 1)
    r.close()

    # Structured replies but no metadata context selected.
    r = Raw()
    r.opt(OPT_STRUCTURED_REPLY)
    r.replies(OPT_STRUCTURED_REPLY)
    r.go(a.export)
    h = r.cmd(CMD_BLOCK_STATUS, 0, 4096)
    t.is_("NBD_CMD_BLOCK_STATUS without NBD_OPT_SET_META_CONTEXT: EINVAL",
          any_reply(r, h)[1], EINVAL)
    h = r.cmd(CMD_READ, 0, 4096)
    t.is_("... the next request is answered", any_reply(r, h),
          ("structured", 0))
    r.close()


# ---------------------------------------------------------------- export name

def export_name():
    for cflags, zeros in ((3, 0), (1, 124)):
        r = Raw(cflags)
        r.opt(OPT_EXPORT_NAME, a.export.encode())
        size, flags = struct.unpack(">QH", r.recv(10))
        t.is_("NBD_OPT_EXPORT_NAME (client flags %d): size and flags" %
              cflags, (size, flags & ~F_SEND_DF), (a.size, RW_FLAGS))
        if zeros:
            t.is_("... then 124 zero bytes (no NO_ZEROES)", r.recv(zeros),
                  bytes(zeros))
        h = r.cmd(CMD_READ, MiB, 4096)
        err, hh, data = r.simple(4096)
        t.ok("... a read: a simple reply, the file's bytes",
             (err, hh) == (0, h) and data == file_read(a.path, MiB, 4096))
        if cflags == 3:
            transmission_errors(r)
        r.cmd(CMD_DISC)
        t.is_("... NBD_CMD_DISC closes the connection", r.closed(), 1)
        r.close()

    for name in a.hidden[:1] + ["nosuch"]:
        r = Raw()
        r.opt(OPT_EXPORT_NAME, name.encode())
        t.is_("NBD_OPT_EXPORT_NAME %s: the server closes the connection" %
              name, r.closed(), 1)
        r.close()


def transmission_errors(r):
    """Errors in simple replies; after each one a read is still in step
    (a write's payload was read even though the write failed)."""
    def in_step(desc):
        h = r.cmd(CMD_READ, 0, 4096)
        err, hh, data = r.simple(4096)
        t.ok("... %s: the next read is in step" % desc,
             (err, hh) == (0, h) and data == file_read(a.path, 0, 4096))

    before = file_read(a.path, 0, 4096)
    for desc, typ, flags, off, n, payload, want in (
            ("an unknown command (0x42)", 0x42, 0, 0, 4096, b"", EINVAL),
            ("block status without a context", CMD_BLOCK_STATUS, 0, 0, 4096,
             b"", EINVAL),
            ("a write of 100 bytes with an unknown flag (1 << 10)",
             CMD_WRITE, 1 << 10, 0, 100, b"u" * 100, EINVAL),
            ("a write across the end", CMD_WRITE, 0, a.size - 512, 4096,
             b"v" * 4096, ENOSPC),
            ("a flush with a length", CMD_FLUSH, 0, 0, 4096, b"", None)):
        h = r.cmd(typ, off, n, flags, payload)
        got = any_reply(r, h)
        if want is None:
            t.is_("%s: a simple reply" % desc, got[0], "simple")
        else:
            t.is_("%s: a simple reply, error %d" % (desc, want), got,
                  ("simple", want))
        in_step(desc)
    t.ok("... nothing was written", file_read(a.path, 0, 4096) == before)


# ---------------------------------------------------------------- exclusive

def exclusive():
    def go(src, name):
        r = Raw(src=src)
        reps = r.go(name)
        return r, finals(reps)

    r1, st = go("127.0.0.1", a.export)
    t.is_("127.0.0.1 opens %s read-write" % a.export, st, "ACK")
    r1b, st = go("127.0.0.1", a.export)
    t.is_("... and a second connection from 127.0.0.1 (multi-conn)", st,
          "ACK")
    r2, st = go("127.0.0.2", a.export)
    t.ok("127.0.0.2 is refused %s meanwhile (an error reply to GO)" %
         a.export, st != "ACK", "got %s" % st)
    if st != "ACK":
        try:
            st = finals(r2.go(a.ro))
        except Closed:
            st = "the server closed the connection"
        t.is_("... a refusal that lets the haggling go on (GO %s then)" %
              a.ro, st, "ACK")
    else:
        t.fail("... a refusal that lets the haggling go on", "no refusal")
    r2.close()
    r3, st = go("127.0.0.2", a.ro)
    t.is_("... 127.0.0.2 may open the read-only %s" % a.ro, st, "ACK")
    r3.cmd(CMD_DISC)
    for r in (r1, r1b):
        r.cmd(CMD_DISC)
        r.closed()
        r.close()
    st = None
    for _ in range(20):
        r2, st = go("127.0.0.2", a.export)
        if st == "ACK":
            break
        r2.close()
        time.sleep(0.5)
    t.is_("once 127.0.0.1 disconnected, 127.0.0.2 opens %s" % a.export, st,
          "ACK")
    r1, st = go("127.0.0.1", a.export)
    t.ok("... and now 127.0.0.1 is refused", st != "ACK", "got %s" % st)
    r1.close()
    r2.cmd(CMD_DISC)
    r2.closed()
    r2.close()


def can_bind(addr):
    s = socket.socket()
    try:
        s.bind((addr, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


t.group("options", options)
t.group("structured replies", structured)
t.group("NBD_OPT_EXPORT_NAME", export_name)
if can_bind("127.0.0.2"):
    t.group("exclusive access", exclusive)
else:
    t.skip("exclusive access from 127.0.0.2", "cannot bind 127.0.0.2")
t.exit()
