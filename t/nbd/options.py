# SPDX-License-Identifier: ISC
"""The NBD option haggling of netdiskd, through libnbd in opt mode:
NBD_OPT_LIST, NBD_OPT_INFO, NBD_OPT_LIST_META_CONTEXT, NBD_OPT_GO (also
after refusals on the same connection) and NBD_OPT_ABORT.

  options.py --port P --list NAME=DESC... --ro NAME --hidden NAME...
             --export NAME --size N

--list: every export the server should list (nbd != no), with its
description ("" if none); --ro: one of them, read-only; --hidden: exports
of the configuration that must not be visible over NBD (nbd = no, or no
nbd key); --export: a read-write export of N bytes.  Prints TAP-like
lines (nbdtap.py).
"""

import argparse
import errno
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nbd                                          # noqa: E402
from nbdtap import MiB, Tap                         # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--port", required=True)
p.add_argument("--list", nargs="+", required=True)
p.add_argument("--ro", required=True)
p.add_argument("--hidden", nargs="+", required=True)
p.add_argument("--export", required=True)
p.add_argument("--size", type=int, required=True)
a = p.parse_args()
listed = dict(x.split("=", 1) for x in a.list)

t = Tap()


def opt_handle(sr=True):
    h = nbd.NBD()
    h.set_opt_mode(True)
    h.set_request_structured_replies(sr)
    h.connect_tcp("127.0.0.1", str(a.port))
    return h


def description(h):
    try:
        return h.get_export_description()
    except nbd.Error:                   # none sent
        return None


def listing():
    h = opt_handle()
    t.ok("opt mode: the connection waits in negotiation",
         h.aio_is_negotiating())
    t.is_("... fixed newstyle", h.get_protocol(), "newstyle-fixed")
    t.ok("... structured replies negotiated",
         h.get_structured_replies_negotiated())
    got = {}
    n = t.succeeds("NBD_OPT_LIST", h.opt_list,
                   lambda name, desc: got.__setitem__(name, desc) or 0)
    t.is_("... lists the nbd exports with their descriptions", got, listed)
    t.is_("... and returns their number", n, len(listed))
    for name in a.hidden:
        t.ok("... not %s (nbd = no)" % name, name not in got)
    t.ok("... still negotiating after it", h.aio_is_negotiating())
    t.succeeds("NBD_OPT_ABORT", h.opt_abort)
    t.ok("... closes the connection", h.aio_is_closed())


def info():
    h = opt_handle()
    h.set_full_info(True)
    for name, desc in sorted(listed.items()):
        h.set_export_name(name)
        if t.succeeds("NBD_OPT_INFO %s" % name, h.opt_info) is None and \
                not h.aio_is_negotiating():
            return
        t.is_("... read-only flag of %s" % name, h.is_read_only(),
              name == a.ro)
        t.is_("... description of %s" % name, description(h), desc or None)
        t.is_("... canonical name", h.get_canonical_export_name(), name)
        t.is_("... block sizes 1/4096/32M (regular files)",
              [h.get_block_size(w) for w in (nbd.SIZE_MINIMUM,
                                             nbd.SIZE_PREFERRED,
                                             nbd.SIZE_MAXIMUM)],
              [1, 4096, 32 * MiB])
    h.set_export_name(a.export)
    h.opt_info()
    t.is_("NBD_OPT_INFO: size of %s" % a.export, h.get_size(), a.size)
    for what in ("flush", "fua", "trim", "zero", "fast_zero", "cache",
                 "multi_conn"):
        t.is_("... can_%s" % what, getattr(h, "can_" + what)(), True)
    for name in a.hidden + ["nosuch", ""]:
        h.set_export_name(name)
        t.errno_is("NBD_OPT_INFO %r: NBD_REP_ERR_UNKNOWN (ENOENT)" % name,
                   errno.ENOENT, h.opt_info)
    t.ok("... the connection is still negotiating", h.aio_is_negotiating())
    h.opt_abort()


def meta():
    h = opt_handle()
    h.set_export_name(a.export)
    for queries, want, what in (
            ([], ["base:allocation"], "no query: every context"),
            (["base:allocation"], ["base:allocation"], "base:allocation"),
            (["base:"], ["base:allocation"], "base: (wildcard)"),
            (["x-nosuch:thing"], [], "an unknown namespace: none"),
            (["base:nosuch"], [], "an unknown base: leaf: none")):
        h.clear_meta_contexts()
        for q in queries:
            h.add_meta_context(q)
        got = []
        n = t.succeeds("NBD_OPT_LIST_META_CONTEXT, %s" % what,
                       h.opt_list_meta_context,
                       lambda name: got.append(name) or 0)
        t.is_("... lists %r" % want, (n, sorted(got)), (len(want), want))
    h.opt_abort()


def go():
    h = opt_handle()
    h.add_meta_context(nbd.CONTEXT_BASE_ALLOCATION)
    for name in a.hidden[:1] + ["nosuch"]:
        h.set_export_name(name)
        t.errno_is("NBD_OPT_GO %r: NBD_REP_ERR_UNKNOWN (ENOENT)" % name,
                   errno.ENOENT, h.opt_go)
    t.ok("... still negotiating", h.aio_is_negotiating())
    h.set_export_name(a.ro)
    h.opt_info()
    t.is_("NBD_OPT_INFO of the read-only export first", h.is_read_only(),
          True)
    h.set_export_name(a.export)
    t.succeeds("then NBD_OPT_GO %s" % a.export, h.opt_go)
    t.ok("... enters transmission", h.aio_is_ready())
    t.is_("... its flags, not those of the INFO before", h.is_read_only(),
          False)
    t.is_("... its size", h.get_size(), a.size)
    t.ok("... base:allocation negotiated (SET_META_CONTEXT)",
         h.can_meta_context(nbd.CONTEXT_BASE_ALLOCATION))
    ext = []
    t.succeeds("... block status works",
               h.block_status, 4096, 0,
               lambda c, o, e, err: ext.extend(e) or 0)
    t.succeeds("... read works", h.pread, 4096, 0)
    h.shutdown()

    # GO straight to an export, the name set before connecting.
    h = nbd.NBD()
    h.set_export_name(a.ro)
    t.succeeds("set_export_name, then connect (GO) to %s" % a.ro,
               h.connect_tcp, "127.0.0.1", str(a.port))
    t.is_("... read-only", h.is_read_only(), True)
    h.shutdown()

    h = nbd.NBD()
    h.set_export_name("nosuch")
    t.errno_is("connect to an unknown export: ENOENT", errno.ENOENT,
               h.connect_tcp, "127.0.0.1", str(a.port))

    # Without structured replies, the haggling still works.
    h = opt_handle(sr=False)
    t.is_("opt mode without structured replies: not negotiated",
          h.get_structured_replies_negotiated(), False)
    got = {}
    h.opt_list(lambda name, desc: got.__setitem__(name, desc) or 0)
    t.is_("... NBD_OPT_LIST", got, listed)
    h.set_export_name(a.export)
    t.succeeds("... NBD_OPT_GO", h.opt_go)
    t.is_("... size", h.get_size(), a.size)
    h.shutdown()


t.group("NBD_OPT_LIST", listing)
t.group("NBD_OPT_INFO", info)
t.group("NBD_OPT_LIST_META_CONTEXT", meta)
t.group("NBD_OPT_GO", go)
t.exit()
