/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The switch: frame checks and the MAC learning table (pure), the forwarding engine and its
 * ports (fd, bess, legacy daemon, tap, nat), the control protocol and the daemon.
 *
 * Facts: shared/spec/uml-interfaces.md sections 4 (transports, the daemon protocol), 5.4
 * (uml_switch) and 8 (fd links).
 */
#ifndef UMLKIT_SWITCH_H
#define UMLKIT_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "umlkit/err.h"

#define UK_ETH_HLEN       14
#define UK_VLAN_HLEN      4
#define UK_ETH_P_8021Q    0x8100
#define UK_SW_MTU_DEFAULT 1500
#define UK_SW_MTU_MAX     65500
#define UK_SW_MAX_PORTS   512
#define UK_SW_AGING_S     300 /* as 802.1D */
#define UK_VLAN_NONE      0   /* untagged */
#define UK_VLAN_MAX       4094

/* ---- frames (pure) ---- */
struct uk_frame_info {
	const uint8_t *dst, *src;
	uint16_t vlan;      /* 802.1Q VID, UK_VLAN_NONE when untagged */
	uint16_t ethertype; /* after the tag, if any */
	bool broadcast;     /* ff:ff:ff:ff:ff:ff */
	bool multicast;     /* group bit set (broadcast included) */
};
/*
 * Check one frame of len bytes: at least 14 bytes (-EINVAL), at most mtu + 14 + 4
 * (-EMSGSIZE: the VLAN tag may come on top of a full MTU), a source that is not a group
 * address (-EINVAL), a VID of 4095 (-EINVAL). Fills fi.
 */
int uk_frame_parse(const void *frame, size_t len, unsigned mtu, struct uk_frame_info *fi);

/* ---- the MAC learning table (pure: the caller gives the time) ---- */
struct uk_fdb;
struct uk_fdb_entry {
	uint8_t mac[6];
	uint16_t vlan;
	int port;
	uint64_t seen_ms;
};
/* capacity: entries (rounded up to a power of two); aging_ms: 0 never ages. NULL: ENOMEM. */
struct uk_fdb *uk_fdb_new(unsigned capacity, uint64_t aging_ms);
void uk_fdb_free(struct uk_fdb *t);
/*
 * Learn that mac (in vlan) was seen on port at now_ms. Returns 0 (new or refreshed),
 * 1 (moved from another port), or -ENOSPC when the table is full (the oldest entry of the
 * probe sequence is then replaced, so it still learns; -ENOSPC only counts it).
 */
int uk_fdb_learn(struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, int port,
		 uint64_t now_ms);
/* The port mac (in vlan) was last seen on, or -1 when unknown or aged out. */
int uk_fdb_lookup(const struct uk_fdb *t, const uint8_t mac[6], uint16_t vlan, uint64_t now_ms);
/* Forget every entry of a port (it went away). */
void uk_fdb_forget_port(struct uk_fdb *t, int port);
/* Drop entries older than the aging time. Returns how many were dropped. */
unsigned uk_fdb_age(struct uk_fdb *t, uint64_t now_ms);
/* Every live entry, in no particular order; cb returning non-zero stops the walk. */
int uk_fdb_foreach(const struct uk_fdb *t, uint64_t now_ms,
		   int (*cb)(void *ctx, const struct uk_fdb_entry *e), void *ctx);
unsigned uk_fdb_count(const struct uk_fdb *t, uint64_t now_ms);

/* ---- MAC text ---- */
int uk_mac_parse(const char *s, uint8_t mac[6]);
void uk_mac_format(const uint8_t mac[6], char out[18]);

#endif
