# SPDX-License-Identifier: ISC
"""NBD over TLS with PSK identities, through libnbd (t/nbd-tls.sh).

  tls.py claim --port P --export NAME --other NAME --psk FILE
  tls.py hold --port P --export NAME --psk FILE --path FILE
              --ready FILE --go FILE
  tls.py cert --port P --export NAME --ca FILE --cert FILE --key FILE
              --who TEXT --want accepted|refused

claim: NAME is a read-write export (nbd = tls) nobody else uses and FILE
has the keys of alice and bob.  The exclusive write claim goes by the TLS
identity, not by the address (every client here is 127.0.0.1): alice
opens NAME over two connections at once (multi-conn), bob is refused it
meanwhile but may open OTHER; once alice left bob gets NAME, and then
alice is refused.

hold: alice opens NAME, reads it, creates the file --ready and waits for
--go (t/nbd-tls.sh reloads netdiskd with another key for alice meanwhile),
then reads again: the session kept its TLS keys over the reload.

cert: NBD_OPT_STARTTLS by hand, then a TLS handshake with Python's ssl
module (OpenSSL), which shows its client certificate whatever CAs the
server names (GnuTLS, under libnbd and qemu, shows none that is not
from them); accepted: then NBD_OPT_GO of NAME inside TLS succeeds.
Needs no libnbd.

Prints TAP-like lines (nbdtap.py).
"""

import argparse
import os
import socket
import ssl
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nbdtap import MiB, Tap, describe, file_read, nbd   # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("what", choices=("claim", "hold", "cert"))
p.add_argument("--port", required=True)
p.add_argument("--export", required=True)
p.add_argument("--other")
p.add_argument("--psk")
p.add_argument("--path")
p.add_argument("--ready")
p.add_argument("--go")
p.add_argument("--ca")
p.add_argument("--cert")
p.add_argument("--key")
p.add_argument("--who")
p.add_argument("--want", choices=("accepted", "refused"))
a = p.parse_args()

t = Tap()


def connect(user, name=None):
    """A handle of user's over TLS (required) to name, or nbd.Error."""
    h = nbd.NBD()
    h.set_tls(nbd.TLS_REQUIRE)
    h.set_tls_psk_file(a.psk)
    h.set_tls_username(user)
    h.set_export_name(name or a.export)
    h.connect_tcp("127.0.0.1", str(a.port))
    return h


def refused(desc, user, name=None):
    """user's GO of name fails, the server saying the export is busy (the
    server's message is in libnbd's debug output only)."""
    debug = []
    h = nbd.NBD()
    h.set_debug_callback(lambda ctx, msg: debug.append(msg))
    h.set_debug(True)
    h.set_tls(nbd.TLS_REQUIRE)
    h.set_tls_psk_file(a.psk)
    h.set_tls_username(user)
    h.set_export_name(name or a.export)
    try:
        h.connect_tcp("127.0.0.1", str(a.port))
    except nbd.Error as e:
        said = [m for m in debug if "export busy" in m]
        return t.ok(desc, said, "refused, but not as busy: %s" % describe(e),
                    *[m for m in debug if "error" in m])
    h.shutdown()
    return t.fail(desc, "the connection succeeded")


def close(*hs):
    for h in hs:
        h.shutdown()


def claim():
    a1 = t.succeeds("alice opens %s read-write over TLS" % a.export,
                    connect, "alice")
    a2 = t.succeeds("... and over a second connection (multi-conn)",
                    connect, "alice")
    if a1 is None or a2 is None:
        return
    t.ok("... both read-write and multi-conn",
         not a1.is_read_only() and a1.can_multi_conn() and
         not a2.is_read_only())
    data = os.urandom(64 * 1024)
    a1.pwrite(data, MiB)
    a1.flush()
    t.ok("... what one writes the other reads", a2.pread(len(data), MiB) ==
         data)
    refused("bob (the same address, another identity) is refused %s "
            "meanwhile: busy" % a.export, "bob")
    b = t.succeeds("... but bob may open %s" % a.other, connect, "bob",
                   a.other)
    if b is not None:
        close(b)
    a1.pread(512, 0)
    t.ok("alice's connections work on", a2.pread(512, 0) is not None)
    close(a1, a2)
    b = None
    for _ in range(20):
        try:
            b = connect("bob")
            break
        except nbd.Error:
            time.sleep(0.25)
    if not t.ok("once alice left, bob opens %s" % a.export, b is not None):
        return
    t.ok("... and reads what alice wrote", b.pread(len(data), MiB) == data)
    refused("... and now alice is refused: busy", "alice")
    close(b)


def hold():
    h = connect("alice")
    want = file_read(a.path, 0, MiB)
    t.ok("alice's held session reads %s" % a.export, h.pread(MiB, 0) == want)
    with open(a.ready, "w"):
        pass
    deadline = time.monotonic() + 30
    while not os.path.exists(a.go) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not t.ok("... (told to go on)", os.path.exists(a.go)):
        return
    t.ok("... reads on after the reload that changed alice's key",
         h.pread(MiB, 0) == want)
    data = os.urandom(4096)
    h.pwrite(data, 2 * MiB)
    h.flush()
    t.ok("... and writes", file_read(a.path, 2 * MiB, 4096) == data)
    close(h)


# ---------------------------------------------------------------- cert

NBDMAGIC = 0x4e42444d41474943
IHAVEOPT = 0x49484156454F5054
REPLY_MAGIC = 0x3e889045565a9
OPT_ABORT, OPT_STARTTLS, OPT_GO = 2, 5, 7
REP_ACK = 1
REQUEST_MAGIC, CMD_DISC = 0x25609513, 2


def recv(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += b
    return buf


def opt(s, option, data=b""):
    """Send an option, return the type of its final reply."""
    s.sendall(struct.pack(">QII", IHAVEOPT, option, len(data)) + data)
    while True:
        magic, o, typ, n = struct.unpack(">QIII", recv(s, 20))
        if magic != REPLY_MAGIC or o != option:
            raise ValueError("reply magic %x to option %d" % (magic, o))
        recv(s, n)
        if typ == REP_ACK or typ & 0x80000000:
            return typ


def cert():
    s = socket.create_connection(("127.0.0.1", int(a.port)), timeout=10)
    magic, o, _ = struct.unpack(">QQH", recv(s, 18))
    if (magic, o) != (NBDMAGIC, IHAVEOPT):
        raise ValueError("greeting %x %x" % (magic, o))
    s.sendall(struct.pack(">I", 3))     # FIXED_NEWSTYLE | NO_ZEROES
    if not t.is_("%s: NBD_OPT_STARTTLS is acknowledged" % a.who,
                 opt(s, OPT_STARTTLS), REP_ACK):
        return
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(a.ca)
    ctx.load_cert_chain(a.cert, a.key)
    try:
        tls = ctx.wrap_socket(s, server_hostname="127.0.0.1")
        # TLS 1.2: the server's verdict comes with its Finished, before
        # the handshake returns; read one reply to be sure.
        got = opt(tls, OPT_GO, struct.pack(">I", len(a.export)) +
                  a.export.encode() + struct.pack(">H", 0))
    except (ssl.SSLError, EOFError, OSError) as e:
        t.ok("%s: refused in the TLS handshake" % a.who,
             a.want == "refused", "%s: %s" % (type(e).__name__, e))
        s.close()
        return
    if t.ok("%s: the TLS handshake succeeds" % a.who, a.want == "accepted",
            "the server accepted it (%s)" % tls.version()):
        t.is_("... and NBD_OPT_GO %s inside TLS" % a.export, got, REP_ACK)
        tls.sendall(struct.pack(">IHHQQI", REQUEST_MAGIC, 0, CMD_DISC, 1, 0,
                                0))
    tls.close()


t.group(a.what, {"claim": claim, "hold": hold, "cert": cert}[a.what])
t.exit()
