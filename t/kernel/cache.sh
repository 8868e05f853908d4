#!/bin/bash
# SPDX-License-Identifier: ISC
# cache.sh - netdisk.ko's client cache (cache=SIZE) in a guest of each
# kernel series: bad values refused with their messages; a read-only
# export read twice with O_DIRECT (the second pass all hits, netdiskd
# sees no read); LRU eviction; the shrinker (drop_caches); a netdiskd
# restart drops the cache; an exclusive read-write export: the client's
# own writes (whole blocks, 512 bytes), trims and zeroes are read back
# new, never stale (sha256 against the server's file); a read-only
# session of a writable export: the cache disabled, the reason shown.
# The checks are in guest-cache.sh; lib.sh boots the guests.

here=$(cd "$(dirname "$0")" && pwd)
: "${top_srcdir:=$(cd "$here/../.." && pwd)}"
# shellcheck source=../functions.sh
. "$top_srcdir/t/functions.sh"
# shellcheck source=lib.sh
. "$here/lib.sh"

kt_start blkdiscard
# util-linux's blkdiscard (-z: BLKZEROOUT), not busybox's
kt_run_all guest-cache.sh 240 -- \
    "$(command -v blkdiscard)=/usr/bin/blkdiscard-ul"
kt_end
