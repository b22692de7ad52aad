// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Frame checks: sizes around every limit (each frame in a heap buffer of exactly its length,
 * so ASan sees any read past it), tags, VIDs 0 and 4095, address flags, the group-bit
 * source. MAC text is tested with the util module (test_util.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"

static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_b[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
static const uint8_t mac_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t mac_mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

/*
 * A frame of len bytes on the heap: dst, src, then the tag (vid >= 0) and the ethertype,
 * as far as len allows; the rest 0xa5.
 */
static uint8_t *make_frame(size_t len, const uint8_t dst[6], const uint8_t src[6], int vid,
			   uint16_t type)
{
	uint8_t hdr[18], *f = malloc(len ? len : 1);
	size_t h = 0;

	assert_non_null(f);
	memcpy(hdr, dst, 6);
	memcpy(hdr + 6, src, 6);
	h = 12;
	if (vid >= 0) {
		hdr[h++] = UK_ETH_P_8021Q >> 8;
		hdr[h++] = UK_ETH_P_8021Q & 0xff;
		hdr[h++] = (uint8_t)(0xa0 | vid >> 8); /* PCP 5, DEI 0 */
		hdr[h++] = (uint8_t)vid;
	}
	hdr[h++] = (uint8_t)(type >> 8);
	hdr[h++] = (uint8_t)type;
	memset(f, 0xa5, len);
	memcpy(f, hdr, UK_MIN(h, len));
	return f;
}

static int parse(size_t len, unsigned mtu, const uint8_t dst[6], const uint8_t src[6], int vid,
		 uint16_t type, struct uk_frame_info *fi)
{
	uint8_t *f = make_frame(len, dst, src, vid, type);
	int r = uk_frame_parse(f, len, mtu, fi);

	if (r == 0) {
		assert_ptr_equal(fi->dst, f);
		assert_ptr_equal(fi->src, f + 6);
	}
	free(f);
	return r;
}

static void test_short(void **state)
{
	struct uk_frame_info fi;

	for (size_t len = 0; len < UK_ETH_HLEN; len++) {
		memset(&fi, 0x5a, sizeof(fi));
		assert_int_equal(parse(len, 1500, mac_a, mac_b, -1, 0x0800, &fi), -EINVAL);
		/* no stale pointers after an error */
		assert_null(fi.dst);
		assert_null(fi.src);
	}
	assert_int_equal(uk_frame_parse(NULL, 64, 1500, &fi), -EINVAL);
	/* exactly a header */
	assert_int_equal(parse(14, 1500, mac_a, mac_b, -1, 0x0806, &fi), 0);
	assert_int_equal(fi.vlan, UK_VLAN_NONE);
	assert_int_equal(fi.ethertype, 0x0806);
	/* a tag needs its 4 bytes: 14..17 bytes with 0x8100 are truncated */
	for (size_t len = 14; len < 18; len++)
		assert_int_equal(parse(len, 1500, mac_a, mac_b, 5, 0x0800, &fi), -EINVAL);
	assert_int_equal(parse(18, 1500, mac_a, mac_b, 5, 0x0800, &fi), 0);
	assert_int_equal(fi.vlan, 5);
	assert_int_equal(fi.ethertype, 0x0800);
}

static void test_sizes(void **state)
{
	static const unsigned mtus[] = {576, 1500, 9000, UK_SW_MTU_MAX};
	struct uk_frame_info fi;

	assert_int_equal(parse(1514, 1500, mac_a, mac_b, -1, 0x0800, &fi), 0);
	assert_int_equal(parse(1518, 1500, mac_a, mac_b, 100, 0x0800, &fi), 0);
	assert_int_equal(fi.vlan, 100);
	/* the limit is mtu + 18 with or without the tag (the header's contract) */
	assert_int_equal(parse(1518, 1500, mac_a, mac_b, -1, 0x0800, &fi), 0);
	assert_int_equal(parse(1519, 1500, mac_a, mac_b, -1, 0x0800, &fi), -EMSGSIZE);
	assert_int_equal(parse(1519, 1500, mac_a, mac_b, 100, 0x0800, &fi), -EMSGSIZE);
	for (size_t i = 0; i < UK_ARRAY_SIZE(mtus); i++) {
		size_t max = mtus[i] + 18;

		assert_int_equal(parse(max - 4, mtus[i], mac_a, mac_b, -1, 0x86dd, &fi), 0);
		assert_int_equal(parse(max, mtus[i], mac_a, mac_b, 7, 0x86dd, &fi), 0);
		assert_int_equal(fi.ethertype, 0x86dd);
		assert_int_equal(parse(max + 1, mtus[i], mac_a, mac_b, 7, 0x86dd, &fi), -EMSGSIZE);
	}
	/* a huge length does not wrap the limit */
	{
		uint8_t f[64];

		memcpy(f, mac_a, 6);
		memcpy(f + 6, mac_b, 6);
		assert_int_equal(uk_frame_parse(f, SIZE_MAX, UINT32_MAX, &fi), -EMSGSIZE);
		assert_int_equal(uk_frame_parse(f, SIZE_MAX, 1500, &fi), -EMSGSIZE);
	}
}

static void test_flags(void **state)
{
	struct uk_frame_info fi;

	{
		uint8_t *f = make_frame(60, mac_a, mac_b, -1, 0x0800);

		assert_int_equal(uk_frame_parse(f, 60, 1500, &fi), 0);
		assert_false(fi.broadcast);
		assert_false(fi.multicast);
		assert_memory_equal(fi.dst, mac_a, 6);
		assert_memory_equal(fi.src, mac_b, 6);
		free(f);
	}

	assert_int_equal(parse(60, 1500, mac_bcast, mac_b, -1, 0x0806, &fi), 0);
	assert_true(fi.broadcast);
	assert_true(fi.multicast);

	assert_int_equal(parse(60, 1500, mac_mcast, mac_b, 9, 0x0800, &fi), 0);
	assert_false(fi.broadcast);
	assert_true(fi.multicast);
	assert_int_equal(fi.vlan, 9);

	/* almost broadcast is multicast only */
	for (int b = 0; b < 6; b++) {
		uint8_t d[6];

		memcpy(d, mac_bcast, 6);
		d[b] ^= b ? 0x01 : 0x02; /* byte 0 keeps its group bit */
		assert_int_equal(parse(60, 1500, d, mac_b, -1, 0x0800, &fi), 0);
		assert_false(fi.broadcast);
		assert_true(fi.multicast);
	}
	/* a unicast dst with every other bit set */
	{
		uint8_t d[6] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff};

		assert_int_equal(parse(60, 1500, d, mac_b, -1, 0x0800, &fi), 0);
		assert_false(fi.multicast);
		assert_false(fi.broadcast);
	}
}

static void test_group_source(void **state)
{
	struct uk_frame_info fi;

	assert_int_equal(parse(60, 1500, mac_a, mac_bcast, -1, 0x0800, &fi), -EINVAL);
	assert_int_equal(parse(60, 1500, mac_a, mac_mcast, -1, 0x0800, &fi), -EINVAL);
	assert_int_equal(parse(60, 1500, mac_a, mac_mcast, 5, 0x0800, &fi), -EINVAL);
	/* the group bit alone is enough */
	{
		uint8_t s[6] = {0x03, 0, 0, 0, 0, 1};

		assert_int_equal(parse(60, 1500, mac_a, s, -1, 0x0800, &fi), -EINVAL);
		s[0] = 0x02;
		assert_int_equal(parse(60, 1500, mac_a, s, -1, 0x0800, &fi), 0);
	}
	/* an all-zero source is not a group address */
	{
		static const uint8_t zero[6];

		assert_int_equal(parse(60, 1500, mac_a, zero, -1, 0x0800, &fi), 0);
	}
}

static void test_vids(void **state)
{
	struct uk_frame_info fi;

	/* VID 0: priority-tagged, forwarded as untagged; the ethertype is the inner one */
	assert_int_equal(parse(64, 1500, mac_a, mac_b, 0, 0x0800, &fi), 0);
	assert_int_equal(fi.vlan, UK_VLAN_NONE);
	assert_int_equal(fi.ethertype, 0x0800);
	assert_int_equal(parse(64, 1500, mac_a, mac_b, 1, 0x0800, &fi), 0);
	assert_int_equal(fi.vlan, 1);
	assert_int_equal(parse(64, 1500, mac_a, mac_b, UK_VLAN_MAX, 0x0800, &fi), 0);
	assert_int_equal(fi.vlan, UK_VLAN_MAX);
	assert_int_equal(parse(64, 1500, mac_a, mac_b, 4095, 0x0800, &fi), -EINVAL);
	/* PCP and DEI do not leak into the VID */
	{
		uint8_t *f = make_frame(64, mac_a, mac_b, 42, 0x0800);

		f[14] = 0xf0; /* PCP 7, DEI 1, VID 42 */
		assert_int_equal(uk_frame_parse(f, 64, 1500, &fi), 0);
		assert_int_equal(fi.vlan, 42);
		f[14] = 0xff; /* VID 4095 again, whatever the priority */
		f[15] = 0xff;
		assert_int_equal(uk_frame_parse(f, 64, 1500, &fi), -EINVAL);
		free(f);
	}
	/* other ethertypes are not tags: QinQ's outer 0x88a8 is reported as it is */
	assert_int_equal(parse(64, 1500, mac_a, mac_b, -1, 0x88a8, &fi), 0);
	assert_int_equal(fi.vlan, UK_VLAN_NONE);
	assert_int_equal(fi.ethertype, 0x88a8);
	/* a stacked 0x8100 is the ethertype after the first tag */
	assert_int_equal(parse(64, 1500, mac_a, mac_b, 3, UK_ETH_P_8021Q, &fi), 0);
	assert_int_equal(fi.vlan, 3);
	assert_int_equal(fi.ethertype, UK_ETH_P_8021Q);
	/* an 802.3 length field is an ethertype value like any other */
	assert_int_equal(parse(64, 1500, mac_a, mac_b, -1, 46, &fi), 0);
	assert_int_equal(fi.ethertype, 46);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_short), cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_flags), cmocka_unit_test(test_group_source),
		cmocka_unit_test(test_vids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
