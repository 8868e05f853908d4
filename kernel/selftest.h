/* SPDX-License-Identifier: GPL-2.0-only */
/* selftest.c: the protocol test vectors against this module's code. */
#ifndef ND_SELFTEST_H
#define ND_SELFTEST_H

int nd_selftest(void);

#endif /* ND_SELFTEST_H */
