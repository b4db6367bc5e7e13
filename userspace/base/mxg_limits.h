/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The bounds every subsystem shares: names, reply templates, how many of
 * each configured thing. Kept here, at the bottom, so that the pure
 * modules (smtp/, state/, dns/) can size their buffers without including
 * the configuration.
 */
#ifndef MXG_LIMITS_H
#define MXG_LIMITS_H

#define MXG_NAME_MAX 254       /* a domain or host name, no trailing dot, + NUL */
#define MXG_REPLY_TEXT_MAX 400 /* template; the expanded reply stays < 512 */
#define MXG_MAX_SELF 16
#define MXG_MAX_INTERFACES 16
#define MXG_MAX_ADDRESSES 64
/* this host's own addresses kept to tell a local client (getifaddrs) */
#define MXG_MAX_HOST_ADDRESSES 256
/* Served domains and passed clients at once; the kernel's maps are sized
 * to the same (gate/gate_kern.h checks). */
#define MXG_MAX_DOMAINS 1000000
#define MXG_MAX_PASSES 16384
/* The port the gate steers and the prober connects to. */
#define MXG_SMTP_PORT 25
/* the largest `quorum`: edges that must see a primary up (docs/fleet.md) */
#define MXG_QUORUM_MAX 32

#endif
