# SPDX-License-Identifier: ISC
"""The NBD transmission phase of netdiskd, through libnbd: every command
and command flag, the transmission flags and block sizes, and the error
replies (with libnbd's own checks off, strict mode 0, so that the
requests reach the server as they are).

  commands.py --port P --export NAME --path FILE --size N --desc TEXT
              --ro NAME --ro-path FILE --holes yes|no

NAME is a read-write export (nbd = plain) of N bytes backed by FILE, a
sparse file (t/nbd-commands.sh: data in [1M, 2M) and [5M, 5.5M) only);
its regions from 8M on are this script's.  The read-only export ro is
backed by ro-path.  holes: the file system keeps holes (trim then reads
zeros).  Prints TAP-like lines (nbdtap.py).
"""

import argparse
import errno
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbd                                          # noqa: E402
from nbdtap import (MiB, Tap, allocated, allocation, connect,  # noqa: E402
                    file_map, file_read, random_bytes)

p = argparse.ArgumentParser()
p.add_argument("--port", required=True)
p.add_argument("--export", required=True)
p.add_argument("--path", required=True)
p.add_argument("--size", type=int, required=True)
p.add_argument("--desc", required=True)
p.add_argument("--ro", required=True)
p.add_argument("--ro-path", required=True)
p.add_argument("--ro-port")             # another server's (default: --port)
p.add_argument("--holes", choices=("yes", "no"), required=True)
a = p.parse_args()

t = Tap()
size = a.size
holes = a.holes == "yes"
HOLE_ZERO = nbd.STATE_HOLE | nbd.STATE_ZERO
ZERO = bytes(MiB)


def conn(**kw):
    return connect(a.port, a.export, **kw)


def file_is(desc, offset, data):
    t.ok(desc, file_read(a.path, offset, len(data)) == data,
         "the backing file differs at [%d, %d)" % (offset, offset + len(data)))


# ---------------------------------------------------------------- handshake

def negotiated():
    h = conn()
    t.is_("protocol is fixed newstyle", h.get_protocol(), "newstyle-fixed")
    t.ok("structured replies negotiated",
         h.get_structured_replies_negotiated())
    t.is_("export size", h.get_size(), size)
    t.is_("read-write export: not is_read_only", h.is_read_only(), False)
    for what in ("flush", "fua", "trim", "zero", "fast_zero", "cache",
                 "multi_conn"):
        t.is_("transmission flags: can_%s" % what,
              getattr(h, "can_" + what)(), True)
    t.is_("base:allocation negotiated",
          h.can_meta_context(nbd.CONTEXT_BASE_ALLOCATION), True)
    # A regular file takes any offset and length: minimum 1.
    for which, name, want in ((nbd.SIZE_MINIMUM, "minimum", 1),
                              (nbd.SIZE_PREFERRED, "preferred", 4096),
                              (nbd.SIZE_MAXIMUM, "maximum", 32 * MiB)):
        t.is_("block size: %s %d" % (name, want), h.get_block_size(which),
              want)
    h.shutdown()

    h = conn(full_info=True)
    t.is_("NBD_INFO_DESCRIPTION: the export's description",
          h.get_export_description(), a.desc)
    t.is_("NBD_INFO_NAME: the canonical name is the export's",
          h.get_canonical_export_name(), a.export)
    h.shutdown()


# ---------------------------------------------------------------- commands

def block_status(h):
    # Before anything writes to the file: its layout is the shell's.
    t.is_("block status of the first 8 MiB: holes 3, data 0, as the file",
          allocation(h, 0, 8 * MiB), file_map(a.path, 0, 8 * MiB))
    t.is_("block status of the whole export matches the file",
          allocation(h, 0, size), file_map(a.path, 0, size))
    t.is_("block status across a hole/data boundary (unaligned to extents)",
          allocation(h, MiB - 4096, 8192),
          [[MiB - 4096, 4096, HOLE_ZERO], [MiB, 4096, 0]])
    for off, want in ((0, HOLE_ZERO), (MiB, 0)):
        ext = []
        h.block_status(4 * MiB, off,
                       lambda c, o, e, err: ext.extend(e) or 0,
                       nbd.CMD_FLAG_REQ_ONE)
        t.ok("block status with REQ_ONE at %d: one extent, flags %d, "
             "not past the request or the extent" % (off, want),
             len(ext) == 2 and ext[1] == want and 0 < ext[0] <= MiB,
             "got %r" % ext)


def read_write(h, h2):
    data = random_bytes(64 * 1024)
    t.succeeds("write 64 KiB at 16M", h.pwrite, data, 16 * MiB)
    t.is_("... reads back", h.pread(len(data), 16 * MiB) == data, True)
    file_is("... is in the backing file", 16 * MiB, data)

    data = random_bytes(4096)
    t.succeeds("write with FUA", h.pwrite, data, 16 * MiB + 65536,
               nbd.CMD_FLAG_FUA)
    file_is("... is in the backing file", 16 * MiB + 65536, data)
    t.is_("... another connection (multi-conn) reads it",
          h2.pread(4096, 16 * MiB + 65536) == data, True)

    data = random_bytes(512)
    t.succeeds("write the last sector", h.pwrite, data, size - 512)
    t.is_("... reads back", h.pread(512, size - 512) == data, True)
    t.succeeds("flush", h.flush)
    # FUA "is valid for all commands": the server must accept it.
    t.succeeds("flush with FUA (valid for every command)", h.flush,
               nbd.CMD_FLAG_FUA)
    got = t.succeeds("read with FUA (valid for every command)", h.pread,
                     4096, 16 * MiB, nbd.CMD_FLAG_FUA)
    t.ok("... returns the data", got == file_read(a.path, 16 * MiB, 4096))
    t.succeeds("cache with FUA (valid for every command)", h.cache, 4096,
               16 * MiB, nbd.CMD_FLAG_FUA)
    t.succeeds("block status with FUA (valid for every command)",
               h.block_status, 4096, 16 * MiB, lambda c, o, e, err: 0,
               nbd.CMD_FLAG_FUA)

    got = t.succeeds("read 32 MiB (the maximum payload) at 0", h.pread,
                     32 * MiB, 0)
    t.ok("... returns the file's first 32 MiB",
         got is not None and hashlib.sha256(got).digest() ==
         hashlib.sha256(file_read(a.path, 0, 32 * MiB)).digest())
    data = random_bytes(32 * MiB)
    t.succeeds("write 32 MiB at 32M", h.pwrite, data, 32 * MiB)
    t.ok("... lands in the backing file",
         hashlib.sha256(file_read(a.path, 32 * MiB, 32 * MiB)).digest() ==
         hashlib.sha256(data).digest())

    # A structured read of holes and data: chunks tile the request.
    chunks, kinds = [], set()

    def chunk(buf, off, status, err):
        chunks.append((off, bytes(buf)))
        kinds.add(status)
        return 0
    t.succeeds("structured read of 4 MiB over holes and data",
               h.pread_structured, 4 * MiB, 0, chunk)
    chunks.sort()
    pos, whole = 0, b""
    for off, buf in chunks:
        if off != pos:
            break
        pos += len(buf)
        whole += buf
    t.ok("... its chunks cover the request once, in the file's bytes",
         pos == 4 * MiB and whole == file_read(a.path, 0, 4 * MiB),
         "chunks: %r" % [(o, len(b)) for o, b in chunks])
    t.ok("... with data/hole chunks only", kinds <= {nbd.READ_DATA,
                                                      nbd.READ_HOLE},
         "statuses %r" % kinds)

    t.succeeds("cache 1 MiB", h.cache, MiB, 0)
    t.succeeds("cache 32 MiB", h.cache, 32 * MiB, 0)


def trim(h):
    off = 20 * MiB
    h.pwrite(random_bytes(MiB), off)
    t.succeeds("trim 1 MiB of data", h.trim, MiB, off)
    if holes:
        t.ok("... reads back as zeros", h.pread(MiB, off) == ZERO)
        t.is_("... punched a hole in the backing file",
              file_map(a.path, off, MiB), [[off, MiB, HOLE_ZERO]])
        t.is_("... block status says hole,zero", allocation(h, off, MiB),
              [[off, MiB, HOLE_ZERO]])
    else:
        for d in ("reads back as zeros", "punched a hole",
                  "block status says hole,zero"):
            t.skip("... " + d, "the file system keeps no holes")
    h.pwrite(random_bytes(MiB), off + MiB)
    t.succeeds("trim with FUA", h.trim, MiB, off + MiB, nbd.CMD_FLAG_FUA)


def zero(h):
    base = 24 * MiB
    h.pwrite(random_bytes(MiB), base)
    t.succeeds("write zeroes over data", h.zero, MiB, base)
    t.ok("... reads back as zeros", h.pread(MiB, base) == ZERO)
    file_is("... zeros in the backing file", base, ZERO)

    h.pwrite(random_bytes(MiB), base + MiB)
    t.succeeds("write zeroes with FUA", h.zero, MiB, base + MiB,
               nbd.CMD_FLAG_FUA)
    file_is("... zeros in the backing file", base + MiB, ZERO)

    h.pwrite(random_bytes(MiB), base + 2 * MiB)
    t.succeeds("write zeroes with NO_HOLE over data", h.zero, MiB,
               base + 2 * MiB, nbd.CMD_FLAG_NO_HOLE)
    file_is("... zeros in the backing file", base + 2 * MiB, ZERO)

    off = 30 * MiB                      # never written: a hole
    before = allocated(a.path)
    t.succeeds("write zeroes with NO_HOLE over a hole", h.zero, MiB, off,
               nbd.CMD_FLAG_NO_HOLE)
    t.ok("... reads back as zeros", h.pread(MiB, off) == ZERO)
    if holes:
        grew = allocated(a.path) - before
        t.ok("... allocates the range in the backing file (NO_HOLE)",
             grew >= MiB, "the file grew by %d bytes" % grew)
    else:
        t.skip("... allocates the range in the backing file",
               "the file system keeps no holes")

    # FAST_ZERO: succeed (zeros) or fail at once with ENOTSUP, leaving
    # the data alone.
    if not h.can_fast_zero():
        for what in ("FAST_ZERO", "FAST_ZERO|NO_HOLE",
                     "FAST_ZERO over a hole"):
            t.skip("write zeroes with " + what, "SEND_FAST_ZERO not set")
        return
    for off, flags, what in (
            (base + 3 * MiB, nbd.CMD_FLAG_FAST_ZERO, "FAST_ZERO"),
            (base + 4 * MiB, nbd.CMD_FLAG_FAST_ZERO | nbd.CMD_FLAG_NO_HOLE,
             "FAST_ZERO|NO_HOLE"),
            (31 * MiB, nbd.CMD_FLAG_FAST_ZERO, "FAST_ZERO over a hole")):
        data = random_bytes(MiB) if off != 31 * MiB else ZERO
        h.pwrite(data, off)
        if off == 31 * MiB and holes:
            h.trim(MiB, off)
        try:
            h.zero(MiB, off, flags)
            st = 0
        except nbd.Error as e:
            st = e.errnum
        if st == 0:
            t.ok("write zeroes with %s succeeds: zeros" % what,
                 h.pread(MiB, off) == ZERO)
        else:
            t.ok("write zeroes with %s fails with ENOTSUP, data unchanged"
                 % what, st == errno.ENOTSUP and h.pread(MiB, off) == data,
                 "error %d" % st)


def unaligned(h):
    """A regular file's export takes any offset and length (minimum 1)."""
    base = 20 * MiB
    data = random_bytes(8192)
    h.pwrite(data, base)
    want = bytearray(data)
    t.is_("read at an unaligned offset", h.pread(512, base + 100),
          bytes(want[100:612]))
    t.is_("read of an unaligned length", h.pread(100, base), bytes(want[:100]))
    piece = random_bytes(100)
    h.pwrite(piece, base + 7)
    want[7:107] = piece
    t.is_("write of an unaligned length at an unaligned offset: the file "
          "has it", file_read(a.path, base, 8192), bytes(want))
    h.zero(300, base + 1000)
    want[1000:1300] = bytes(300)
    h.trim(100, base + 2000)	# advisory: reads back the data or zeros
    got = file_read(a.path, base, 8192)
    t.is_("write zeroes unaligned: those bytes only", got[:2000],
          bytes(want[:2000]))
    t.ok("trim unaligned: those bytes only (zeros or the data)",
         got[2100:] == bytes(want[2100:]) and
         got[2000:2100] in (bytes(want[2000:2100]), bytes(100)))
    t.succeeds("cache unaligned", h.cache, 100, base + 1)
    ents = []
    h.block_status(100, base + 1, lambda c, o, e, err: ents.extend(e))
    t.ok("block status unaligned: one extent or more, the first from the "
         "offset", len(ents) >= 2 and ents[0] > 0, repr(ents[:4]))


def errors(h):
    before = file_read(a.path, 0, 8192)
    last = file_read(a.path, size - 4096, 4096)
    E = errno.EINVAL
    cb = (lambda c, o, e, err: 0)
    for desc, want, fn, args in (
            ("read across the end", E, h.pread, (1024, size - 512)),
            ("read at the end", E, h.pread, (512, size)),
            ("read at 2^64 - 512 (offset + length wraps)", E, h.pread,
             (1024, 2 ** 64 - 512)),
            ("trim across the end", E, h.trim, (1024, size - 512)),
            ("cache across the end", E, h.cache, (1024, size - 512)),
            ("block status past the end", E, h.block_status,
             (1024, size, cb)),
            ("write across the end", errno.ENOSPC, h.pwrite,
             (b"y" * 1024, size - 512)),
            ("write at 2^64 - 512 (offset + length wraps)", errno.ENOSPC,
             h.pwrite, (b"y" * 1024, 2 ** 64 - 512)),
            ("write zeroes across the end", errno.ENOSPC, h.zero,
             (1024, size - 512))):
        t.errno_is("%s: %s" % (desc, errno.errorcode[want]), want, fn, *args)
    t.is_("... the backing file did not grow", os.path.getsize(a.path), size)
    t.ok("... nor change at its end",
         file_read(a.path, size - 4096, 4096) == last)

    before = file_read(a.path, 0, 4096)
    for desc, fn, args in (
            ("read with REQ_ONE (a flag of block status)", h.pread,
             (512, 0, nbd.CMD_FLAG_REQ_ONE)),
            ("read with an unknown flag (1 << 10)", h.pread,
             (512, 0, 1 << 10)),
            ("write with NO_HOLE (a flag of write zeroes)", h.pwrite,
             (b"z" * 4096, 0, nbd.CMD_FLAG_NO_HOLE)),
            ("write with FAST_ZERO", h.pwrite,
             (b"z" * 4096, 0, nbd.CMD_FLAG_FAST_ZERO)),
            ("trim with NO_HOLE", h.trim, (4096, 0, nbd.CMD_FLAG_NO_HOLE))):
        t.errno_is(desc + ": EINVAL", E, fn, *args)
    t.ok("... the data is unchanged", file_read(a.path, 0, 4096) == before)
    if h.can_df():
        t.succeeds("read with DF (SEND_DF advertised)", h.pread, 65536, 0,
                   nbd.CMD_FLAG_DF)
    else:
        t.errno_is("read with DF, SEND_DF not advertised: EINVAL", E,
                   h.pread, 65536, 0, nbd.CMD_FLAG_DF)

    # Zero-length requests: unspecified, but no disconnection.
    for fn, args in ((h.pread, (0, 0)), (h.pwrite, (b"", 0)),
                     (h.trim, (0, 0)), (h.zero, (0, 0)), (h.cache, (0, 0))):
        try:
            fn(*args)
        except nbd.Error:
            pass
    t.ok("zero-length requests leave the connection working",
         h.pread(4096, 0) == file_read(a.path, 0, 4096))

    # Longer than the maximum payload, for commands without a payload:
    # done, or EINVAL/EOVERFLOW, without a disconnection.
    for name, fn, flags in (("write zeroes", h.zero, 0),
                            ("trim", h.trim, 0)):
        try:
            fn(40 * MiB, 8 * MiB, flags)
            st = 0
        except nbd.Error as e:
            st = e.errnum
        ok = st in (0, errno.EINVAL, errno.EOVERFLOW)
        if st == 0 and name == "write zeroes":
            ok = h.pread(MiB, 47 * MiB) == ZERO
        t.ok("%s of 40 MiB (over the maximum payload): done or "
             "EINVAL/EOVERFLOW" % name, ok, "error %d" % st)
    t.ok("the connection still works after all these errors",
         h.pread(4096, 16 * MiB) == file_read(a.path, 16 * MiB, 4096))


def simple_replies():
    h = conn(sr=False)
    t.is_("without structured replies: not negotiated",
          h.get_structured_replies_negotiated(), False)
    t.is_("... no base:allocation either",
          h.can_meta_context(nbd.CONTEXT_BASE_ALLOCATION), False)
    t.is_("... block sizes still come (NBD_INFO_BLOCK_SIZE)",
          h.get_block_size(nbd.SIZE_MINIMUM), 1)
    t.ok("... read returns the file's bytes",
         h.pread(MiB, MiB) == file_read(a.path, MiB, MiB))
    t.errno_is("... read across the end: EINVAL", errno.EINVAL, h.pread,
               1024, size - 512)
    t.is_("... unaligned read", h.pread(512, 1), file_read(a.path, 1, 512))
    t.ok("... then a read is still in step (no payload after the errors)",
         h.pread(8192, MiB - 4096) == file_read(a.path, MiB - 4096, 8192))
    data = random_bytes(8192)
    t.succeeds("... write and flush", lambda: (h.pwrite(data, 18 * MiB),
                                               h.flush()))
    file_is("... the write is in the backing file", 18 * MiB, data)
    t.errno_is("... write across the end: ENOSPC", errno.ENOSPC, h.pwrite,
               b"w" * 1024, size - 512)
    t.ok("... the connection still works",
         h.pread(8192, 18 * MiB) == data)
    h.shutdown()


def readonly():
    before = file_read(a.ro_path, 0, os.path.getsize(a.ro_path))
    h = connect(a.ro_port or a.port, a.ro)
    rsize = h.get_size()
    t.is_("read-only export: is_read_only", h.is_read_only(), True)
    t.is_("... its size is its file's", rsize, len(before))
    t.ok("... reads return the file", h.pread(rsize, 0) == before)
    t.errno_is("... write: EPERM", errno.EPERM, h.pwrite, b"r" * 4096, 0)
    t.errno_is("... write with FUA: EPERM", errno.EPERM, h.pwrite,
               b"r" * 4096, 0, nbd.CMD_FLAG_FUA)
    t.errno_is("... trim: EPERM", errno.EPERM, h.trim, 4096, 0)
    t.errno_is("... write zeroes: EPERM", errno.EPERM, h.zero, 4096, 0)
    if h.can_fast_zero():
        t.errno_is("... write zeroes with FAST_ZERO: EPERM", errno.EPERM,
                   h.zero, 4096, 0, nbd.CMD_FLAG_FAST_ZERO)
    else:
        t.skip("... write zeroes with FAST_ZERO: EPERM",
               "SEND_FAST_ZERO not set")
    if h.can_flush():
        t.succeeds("... flush (advertised) succeeds", h.flush)
    else:
        t.skip("... flush succeeds", "SEND_FLUSH not advertised")
    t.succeeds("... cache succeeds", h.cache, 4096, 0)
    t.is_("... block status matches its file", allocation(h, 0, rsize),
          file_map(a.ro_path, 0, rsize))
    t.ok("... the backing file is unchanged",
         file_read(a.ro_path, 0, len(before)) == before)
    h.shutdown()


def multi_conn():
    hs = []
    for i in range(3):
        hs.append(t.succeeds("multi-conn: connection %d of 3 from this "
                             "address" % (i + 1), conn))
    if None in hs:
        return
    data = random_bytes(65536)
    hs[0].pwrite(data, 17 * MiB, nbd.CMD_FLAG_FUA)
    t.ok("... a FUA write on one is read by another",
         hs[1].pread(65536, 17 * MiB) == data)
    data = random_bytes(65536)
    hs[1].pwrite(data, 17 * MiB)
    hs[1].flush()
    t.ok("... a write and flush on one is read by the third",
         hs[2].pread(65536, 17 * MiB) == data)
    for h in hs:
        h.shutdown()


def disconnect():
    h = conn()
    done, bufs = {}, []
    base, n = 40 * MiB, 16
    for i in range(n):
        buf = random_bytes(256 * 1024)
        bufs.append(buf)

        def cb(err, i=i):
            done[i] = err.value
            return 1
        h.aio_pwrite(buf, base + i * len(buf), completion=cb)
    t.ok("%d writes in flight" % n, h.aio_in_flight() > 0)
    t.succeeds("disconnect (NBD_CMD_DISC) with them in flight", h.shutdown)
    t.is_("... the server answered every one of them, without error",
          sorted(done.items()), [(i, 0) for i in range(n)])
    t.ok("... and they are all in the backing file",
         file_read(a.path, base, n * 256 * 1024) == b"".join(bufs))
    t.ok("... the connection is closed", h.aio_is_closed())


h = conn()
h2 = conn()
t.group("handshake", negotiated)
t.group("block status", block_status, h)
t.group("read and write", read_write, h, h2)
t.group("trim", trim, h)
t.group("write zeroes", zero, h)
t.group("unaligned requests", unaligned, h)
t.group("errors", errors, h)
t.group("simple replies", simple_replies)
t.group("read-only", readonly)
t.group("multi-conn", multi_conn)
t.group("disconnect", disconnect)
for x in (h, h2):
    try:
        x.shutdown()
    except nbd.Error as e:
        t.fail("the first connections shut down cleanly", str(e))
t.exit()
