# SPDX-License-Identifier: ISC
"""nbdtap - what the NBD test scripts in t/nbd share.

The scripts print one line per check, "ok - DESC" or "not ok - DESC",
diagnostics on "# " lines after it; t/nbd-commands.sh numbers them as TAP
lines (nbd_py).  A script exits 0 if it ran to its end, whatever its
checks gave; an exception in a group of checks fails that group and the
script goes on with the next one.

Errors are libnbd's: nbd.Error.errnum is the errno libnbd made of the
server's reply (the NBD error numbers are errno values: EPERM 1, EIO 5,
EINVAL 22, ENOSPC 28, EOVERFLOW 75, ENOTSUP 95; an option refused with
NBD_REP_ERR_UNKNOWN gives ENOENT).
"""

import errno
import os
import sys
import traceback

try:
    import nbd
except ImportError:             # raw.py runs without libnbd
    nbd = None

MiB = 1048576


class Tap:
    def __init__(self):
        self.failed = 0

    def _line(self, ok, desc, diag=()):
        desc = desc.replace("#", "No.")
        print(("ok - " if ok else "not ok - ") + desc)
        if not ok:
            self.failed += 1
            for d in diag:
                for line in str(d).splitlines():
                    print("# " + line)
        sys.stdout.flush()
        return ok

    def ok(self, desc, cond, *diag):
        return self._line(bool(cond), desc, diag)

    def is_(self, desc, got, want):
        return self._line(got == want, desc,
                          ("got:      %r" % (got,), "expected: %r" % (want,)))

    def skip(self, desc, reason):
        print("ok - %s # SKIP %s" % (desc.replace("#", "No."), reason))
        sys.stdout.flush()

    def fail(self, desc, *diag):
        return self._line(False, desc, diag)

    def errno_is(self, desc, want, fn, *args):
        """fn(*args) raises nbd.Error whose errnum is want (an errno or a
        tuple of them)."""
        if isinstance(want, int):
            want = (want,)
        wanted = "/".join(ename(w) for w in want)
        try:
            fn(*args)
        except nbd.Error as e:
            return self.ok(desc, e.errnum in want,
                           "expected %s, got %s: %s" %
                           (wanted, ename(e.errnum), e.string))
        return self.fail(desc, "expected %s, but it succeeded" % wanted)

    def succeeds(self, desc, fn, *args):
        """fn(*args) returns (its value is returned; None if it raised)."""
        try:
            r = fn(*args)
        except Exception as e:          # nbd.Error or a bug in the script
            self.fail(desc, "raised %s" % describe(e))
            return None
        self.ok(desc, True)
        return r

    def group(self, name, fn, *args):
        """Run a group of checks; an unexpected exception fails it."""
        try:
            fn(*args)
        except Exception as e:
            self.fail("%s: the checks ran to their end" % name,
                      "raised %s" % describe(e), traceback.format_exc())

    def exit(self):
        sys.stdout.flush()
        sys.exit(0)


def ename(n):
    if n is None:
        return "None"
    return "%s (%d)" % (errno.errorcode.get(n, "?"), n)


def describe(e):
    if nbd is not None and isinstance(e, nbd.Error):
        return "nbd.Error %s: %s" % (ename(e.errnum), e.string)
    return "%s: %s" % (type(e).__name__, e)


# ---------------------------------------------------------------- libnbd

def connect(port, name, host="127.0.0.1", sr=True, meta=True, strict=False,
            full_info=False):
    """A libnbd handle connected to export name (NBD_OPT_GO).  sr: ask for
    structured replies; meta: ask for base:allocation; strict: keep
    libnbd's own checks of requests (off: requests go to the server as
    they are, so that the server's errors are tested)."""
    h = nbd.NBD()
    h.set_export_name(name)
    h.set_request_structured_replies(sr)
    if meta:
        h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    h.set_full_info(full_info)
    h.connect_tcp(host, str(port))
    if not strict:
        h.set_strict_mode(0)
    return h


def allocation(h, offset, length, flags=0):
    """The base:allocation map of [offset, offset + length) from
    NBD_CMD_BLOCK_STATUS as merged [start, length, flags] lists; several
    requests if the server answers short.  Raises ValueError if a reply
    is malformed (no descriptor, a zero length)."""
    out = []
    pos, end = offset, offset + length
    got, bad = [], []

    def cb(ctx, off, entries, err):
        if ctx != nbd.CONTEXT_BASE_ALLOCATION:
            bad.append("an unasked context %r" % ctx)
        elif off != pos:
            bad.append("extents at %d for a request at %d" % (off, pos))
        else:
            got.extend(entries)
        return 0

    while pos < end:
        del got[:]
        h.block_status(end - pos, pos, cb, flags)
        if bad or not got or len(got) % 2:
            raise ValueError("block status at %d: %r %r" % (pos, got, bad))
        for i in range(0, len(got), 2):
            n, f = got[i], got[i + 1]
            if n == 0:
                raise ValueError("a zero-length extent at %d" % pos)
            n = min(n, end - pos)
            add_extent(out, pos, n, f)
            pos += n
            if pos >= end:
                break
    return out


def add_extent(out, start, n, flags):
    if out and out[-1][2] == flags and out[-1][0] + out[-1][1] == start:
        out[-1][1] += n
    else:
        out.append([start, n, flags])


# ---------------------------------------------------------------- files

def file_map(path, offset, length):
    """What base:allocation should say of [offset, offset + length) of a
    sparse file: holes (SEEK_HOLE) as 3 (NBD_STATE_HOLE|NBD_STATE_ZERO),
    data as 0, merged like allocation()."""
    out = []
    end = offset + length
    fd = os.open(path, os.O_RDONLY)
    try:
        pos = offset
        while pos < end:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError as e:
                if e.errno != errno.ENXIO:
                    raise
                data = end
            data = min(data, end)
            if data > pos:
                add_extent(out, pos, data - pos, 3)
                pos = data
                continue
            hole = min(os.lseek(fd, pos, os.SEEK_HOLE), end)
            add_extent(out, pos, hole - pos, 0)
            pos = hole
    finally:
        os.close(fd)
    return out


def file_read(path, offset, length):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(length)


def allocated(path):
    """Bytes allocated to path."""
    return os.stat(path).st_blocks * 512


def random_bytes(n):
    return os.urandom(n)
