// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libFuzzer target for VXLAN's pure part (lib/switch/vxlan.c): the input as a datagram's
 * header (uk_vxlan_decode) and as the text of a port's address (uk_vxlan_addr_parse, as a
 * remote and as a local address). Each result is checked against an independent reading of
 * the bytes: a header decodes when it is 8 bytes or more with the I flag, to the VNI at
 * bytes 4-6, and encodes back to itself but for the reserved bits; an address that parses
 * formats to text that parses to the same address, a remote is never unspecified or
 * multicast. A violated invariant aborts.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "../../lib/switch/swparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_switch_vxlan: invariant failed: %s (line %d)\n",     \
				#cond, __LINE__);                                                  \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

static void check_header(const uint8_t *data, size_t size)
{
	uint32_t vni = 0xffffffff;
	uint8_t h[UK_VXLAN_HLEN];
	int r = uk_vxlan_decode(data, size, &vni);

	if (size < UK_VXLAN_HLEN || !(data[0] & UK_VXLAN_FLAG_I)) {
		CHECK(r < 0 && vni == 0xffffffff);
		return;
	}
	CHECK(r == 0);
	CHECK(vni == ((uint32_t)data[4] << 16 | (uint32_t)data[5] << 8 | data[6]));
	CHECK(vni <= UK_VXLAN_VNI_MAX);
	uk_vxlan_encode(h, vni);
	CHECK(h[0] == UK_VXLAN_FLAG_I && !h[1] && !h[2] && !h[3] && !h[7]);
	CHECK(!memcmp(h + 4, data + 4, 3));
}

static void check_addr(const char *s, bool remote)
{
	union uk_vxlan_addr a, b;
	struct uk_err err = {0};
	char text[64];

	if (uk_vxlan_addr_parse(s, remote, &a, &err) < 0) {
		CHECK(err.code != 0 && err.msg[0]);
		return;
	}
	CHECK(a.sa.sa_family == AF_INET || a.sa.sa_family == AF_INET6);
	CHECK((a.sa.sa_family == AF_INET ? a.in.sin_port : a.in6.sin6_port) != 0);
	if (remote && a.sa.sa_family == AF_INET)
		CHECK(a.in.sin_addr.s_addr != 0 && (ntohl(a.in.sin_addr.s_addr) >> 28) != 0xe);
	if (remote && a.sa.sa_family == AF_INET6)
		CHECK(!IN6_IS_ADDR_UNSPECIFIED(&a.in6.sin6_addr) &&
		      !IN6_IS_ADDR_MULTICAST(&a.in6.sin6_addr));
	uk_vxlan_addr_format(&a, text, sizeof(text));
	CHECK(uk_vxlan_addr_parse(text, remote, &b, NULL) == 0);
	CHECK(uk_vxlan_addr_len(&a) == uk_vxlan_addr_len(&b));
	CHECK(!memcmp(&a, &b, uk_vxlan_addr_len(&a)));
	CHECK(uk_vxlan_same_host(&a, &b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[80];
	size_t n = UK_MIN(size, sizeof(s) - 1);

	check_header(data, size);
	memcpy(s, data, n);
	s[n] = '\0';
	check_addr(s, true);
	check_addr(s, false);
	return 0;
}
