// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The frames that test and bench programs use to reach a switch's NAT uplink: an ARP request
 * from the first lease (10.0.2.15) for the host alias 10.0.2.2, which libslirp answers itself,
 * and the check for its reply. Shared by tests/helpers/swpeer.c and bench/switch-rtt.c.
 */
#ifndef UK_TEST_NAT_ARP_H
#define UK_TEST_NAT_ARP_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#define NAT_ARP_LEN 60 /* the request, padded to Ethernet's minimum */

static const uint8_t nat_alias[4] = {10, 0, 2, 2};

/* f (NAT_ARP_LEN bytes): a broadcast ARP request from src (10.0.2.15) for 10.0.2.2. */
static inline void nat_arp_request(uint8_t *f, const uint8_t src[6])
{
	static const uint8_t head[8] = {0, 1, 8, 0, 6, 4, 0, 1}; /* Ethernet, IPv4, request */
	static const uint8_t ip[4] = {10, 0, 2, 15};

	memset(f, 0, NAT_ARP_LEN);
	memset(f, 0xff, 6);
	memcpy(f + 6, src, 6);
	f[12] = 8, f[13] = 6;
	memcpy(f + 14, head, sizeof(head));
	memcpy(f + 22, src, 6);
	memcpy(f + 28, ip, 4);
	memcpy(f + 38, nat_alias, 4);
}

/* Whether the len bytes at f are an ARP reply about 10.0.2.2. */
static inline bool nat_arp_is_reply(const uint8_t *f, ssize_t len)
{
	return len >= 42 && f[12] == 8 && f[13] == 6 && f[21] == 2 && !memcmp(f + 28, nat_alias, 4);
}

#endif
