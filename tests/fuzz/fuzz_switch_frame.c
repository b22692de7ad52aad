// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for the switch's frame checks, with the parsed addresses fed into a small
 * learning table as the forwarding engine would, and read as the NAT uplink reads a guest's
 * frame (uk_swd_nat_opens_socket) and as it reads the DHCP ACKs libslirp sends
 * (uk_swd_dhcp_ack_parse). The first input byte picks the MTU (low 3 bits) and the
 * ingress port (high 5 bits); the rest is the frame. Every result is checked against an
 * independent reading of the bytes; a violated invariant aborts.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "../../lib/switch/engine-internal.h"
#include "../../lib/switch/swparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_switch_frame: invariant failed: %s (line %d)\n",     \
				#cond, __LINE__);                                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define NPORTS 32

static const unsigned mtus[8] = {0, 1, 46, 64, 576, 1500, 9000, UK_SW_MTU_MAX};

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* What uk_frame_parse must return, read the slow way. */
static int expected(const uint8_t *f, size_t len, unsigned mtu)
{
	if (len < 14)
		return -EINVAL;
	if (len > (size_t)mtu + 18)
		return -EMSGSIZE;
	if (f[6] & 1)
		return -EINVAL;
	if (be16(f + 12) == 0x8100 && (len < 18 || (be16(f + 14) & 0xfff) == 4095))
		return -EINVAL;
	return 0;
}

static void check_mac_text(const uint8_t mac[6])
{
	char s[18];
	uint8_t back[6];

	memset(s, 'x', sizeof(s));
	uk_mac_format(mac, s);
	CHECK(s[17] == '\0' && strlen(s) == 17);
	for (int i = 0; i < 17; i++)
		CHECK(i % 3 == 2 ? s[i] == ':'
				 : (s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'));
	CHECK(uk_mac_parse(s, back) == 0);
	CHECK(!memcmp(back, mac, 6));
}

/* The input read as text: anything uk_mac_parse accepts formats back to itself, in lowercase. */
static void check_mac_parse(const uint8_t *data, size_t size)
{
	char s[24], out[18];
	uint8_t mac[6];
	size_t n = UK_MIN(size, sizeof(s) - 1);

	memcpy(s, data, n);
	s[n] = '\0';
	if (uk_mac_parse(s, mac) < 0)
		return;
	CHECK(strlen(s) == 17);
	uk_mac_format(mac, out);
	CHECK(!strcasecmp(out, s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct uk_fdb *fdb;
	static uint64_t now = 1;
	struct uk_frame_info fi;
	const uint8_t *f;
	size_t len;
	unsigned mtu;
	int port, r, want;

	if (!fdb) {
		fdb = uk_fdb_new(16, 1000);
		CHECK(fdb);
	}
	check_mac_parse(data, size);
	if (size < 1)
		return 0;
	mtu = mtus[data[0] & 7];
	port = data[0] >> 3;
	f = data + 1;
	len = size - 1;

	/* the NAT's reading of what a guest sends it: only IPv4 may open a socket */
	if (uk_swd_nat_opens_socket(f, len))
		CHECK(len >= 34 && be16(f + 12) == 0x0800 && f[14] >> 4 == 4);
	/* ... and of the DHCP ACKs it sends: a unicast client MAC and a non-zero address */
	{
		uint8_t mac[6];
		struct in_addr a;

		if (uk_swd_dhcp_ack_parse(f, len, mac, &a) == 0)
			CHECK(len >= 14 + 20 + 8 + 240 && !(mac[0] & 1) && a.s_addr != 0);
	}

	r = uk_frame_parse(f, len, mtu, &fi);
	want = expected(f, len, mtu);
	CHECK(r == want);
	if (r < 0) {
		CHECK(!fi.dst && !fi.src);
		return 0;
	}
	CHECK(fi.dst == f && fi.src == f + 6);
	CHECK(!(fi.src[0] & 1));
	CHECK(fi.multicast == (f[0] & 1));
	CHECK(fi.broadcast == (memcmp(f, "\xff\xff\xff\xff\xff\xff", 6) == 0));
	CHECK(!fi.broadcast || fi.multicast);
	CHECK(fi.vlan <= UK_VLAN_MAX);
	if (be16(f + 12) == UK_ETH_P_8021Q) {
		CHECK(fi.vlan == (be16(f + 14) & 0xfff));
		CHECK(fi.ethertype == be16(f + 16));
	} else {
		CHECK(fi.vlan == UK_VLAN_NONE);
		CHECK(fi.ethertype == be16(f + 12));
	}
	check_mac_text(fi.src);
	check_mac_text(fi.dst);

	/* the engine's use: learn the source, look up the destination */
	now += f[len - 1] & 0x3f;
	r = uk_fdb_learn(fdb, fi.src, fi.vlan, port, now);
	CHECK(r == 0 || r == 1 || r == -ENOSPC);
	CHECK(uk_fdb_lookup(fdb, fi.src, fi.vlan, now) == port);
	if (!fi.multicast) {
		r = uk_fdb_lookup(fdb, fi.dst, fi.vlan, now);
		CHECK(r >= -1 && r < NPORTS);
	}
	CHECK(uk_fdb_count(fdb, now) <= 16);
	switch (f[len - 1] >> 6) {
	case 1:
		uk_fdb_forget_port(fdb, (port + 1) % NPORTS);
		CHECK(uk_fdb_lookup(fdb, fi.src, fi.vlan, now) == port);
		break;
	case 2:
		r = (int)uk_fdb_age(fdb, now);
		CHECK(r >= 0 && r <= 16);
		CHECK(uk_fdb_lookup(fdb, fi.src, fi.vlan, now) == port);
		break;
	case 3:
		uk_fdb_forget_port(fdb, port);
		CHECK(uk_fdb_lookup(fdb, fi.src, fi.vlan, now) == -1);
		break;
	}
	return 0;
}
