/* SPDX-License-Identifier: ISC */
/*
 * netdiskctl overlay list, reset, prune and commit: the administration of
 * an overlay export's client overlays, asked of a running netdiskd over
 * its control socket (control_proto.h; docs/overlay.md).
 */
#ifndef CTL_OVERLAY_H
#define CTL_OVERLAY_H

#include "cmd.h"

/* overlay (one entry per action, for the usage); a NULL name ends it. */
extern const struct ctl_cmd ctl_overlay_cmds[];

#endif
