// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Frame checks: pure, no I/O, no allocation. uk_frame_parse runs once per frame on the
 * switch's hot path, so it reads only the 14 or 18 header bytes.
 */
#include <errno.h>
#include <string.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"

#define VID_MASK    0x0fff
#define VID_INVALID 0x0fff /* 4095: reserved by 802.1Q */

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * The size limit does not depend on the tag: mtu + 14 + 4 bytes are accepted tagged or not
 * (the header's contract; a stricter switch would refuse an untagged frame over mtu + 14).
 * fi is zeroed first, so after an error it holds no stale pointers.
 */
int uk_frame_parse(const void *frame, size_t len, unsigned mtu, struct uk_frame_info *fi)
{
	const uint8_t *p = frame;
	uint16_t type;

	memset(fi, 0, sizeof(*fi));
	if (!p || len < UK_ETH_HLEN)
		return -EINVAL;
	if (len > (size_t)mtu + UK_ETH_HLEN + UK_VLAN_HLEN)
		return -EMSGSIZE;
	if (p[6] & 1) /* a group address is never a source */
		return -EINVAL;
	type = get_be16(p + 12);
	if (type == UK_ETH_P_8021Q) {
		uint16_t vid;

		if (len < UK_ETH_HLEN + UK_VLAN_HLEN)
			return -EINVAL;
		vid = get_be16(p + 14) & VID_MASK;
		if (vid == VID_INVALID)
			return -EINVAL;
		fi->vlan = vid; /* VID 0: priority-tagged, that is UK_VLAN_NONE */
		fi->tagged = true;
		type = get_be16(p + 16);
	}
	fi->dst = p;
	fi->src = p + 6;
	fi->ethertype = type;
	fi->multicast = p[0] & 1;
	fi->broadcast = (p[0] & p[1] & p[2] & p[3] & p[4] & p[5]) == 0xff;
	return 0;
}
