// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NAT uplink's reading of the guests' frames: which ones may make libslirp open a host
 * socket (and so are dropped while the NAT is short of fds). Each frame sits in a heap
 * buffer of exactly its length, so ASan sees any read past it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/switch/swparse.h"

#define ETH	   14
#define PROTO_ICMP 1
#define PROTO_TCP  6
#define PROTO_UDP  17

/* An IPv4 frame of len bytes (IHL ihl words) with protocol proto and fragment offset frag;
 * the transport header, as far as len allows, from l4[0..l4len). The rest is 0. */
static uint8_t *ip_frame(size_t len, unsigned ihl, uint8_t proto, unsigned frag, const uint8_t *l4,
			 size_t l4len)
{
	uint8_t *f = calloc(1, len ? len : 1);
	size_t at = ETH + (size_t)ihl * 4;

	assert_non_null(f);
	if (len >= 14) {
		f[12] = 0x08;
		f[13] = 0x00;
	}
	if (len > 14)
		f[14] = (uint8_t)(0x40 | ihl);
	if (len > 21) {
		f[20] = (uint8_t)(frag >> 8);
		f[21] = (uint8_t)frag;
	}
	if (len > 23)
		f[23] = proto;
	for (size_t i = 0; i < l4len && at + i < len; i++)
		f[at + i] = l4[i];
	return f;
}

static bool opens(size_t len, unsigned ihl, uint8_t proto, unsigned frag, const uint8_t *l4,
		  size_t l4len)
{
	uint8_t *f = ip_frame(len, ihl, proto, frag, l4, l4len);
	bool r = uk_swd_nat_opens_socket(f, len);

	free(f);
	return r;
}

/* a TCP header with these flags (byte 13) */
static void tcp_flags(uint8_t h[20], uint8_t flags)
{
	memset(h, 0, 20);
	h[1] = 80;
	h[12] = 0x50;
	h[13] = flags;
}

static void test_tcp(void **state)
{
	uint8_t h[20];

	(void)state;
	tcp_flags(h, 0x02);
	assert_true(opens(ETH + 20 + 20, 5, PROTO_TCP, 0, h, 20));  /* SYN: a connection out */
	assert_true(opens(ETH + 24 + 20, 6, PROTO_TCP, 0, h, 20));  /* after IP options */
	assert_true(opens(ETH + 20 + 14, 5, PROTO_TCP, 0, h, 20));  /* just reaching the flags */
	assert_false(opens(ETH + 20 + 13, 5, PROTO_TCP, 0, h, 20)); /* cut before them */
	assert_false(opens(ETH + 24 + 13, 6, PROTO_TCP, 0, h, 20)); /* options: cut before */
	tcp_flags(h, 0x12);
	assert_false(opens(ETH + 20 + 20, 5, PROTO_TCP, 0, h, 20)); /* SYN+ACK: an answer */
	tcp_flags(h, 0x10);
	assert_false(opens(ETH + 20 + 20, 5, PROTO_TCP, 0, h, 20)); /* ACK */
	tcp_flags(h, 0x18);
	assert_false(opens(ETH + 20 + 40, 5, PROTO_TCP, 0, h, 20)); /* data */
	tcp_flags(h, 0x02);
	assert_false(opens(ETH + 20 + 20, 5, PROTO_TCP, 0x0004, h, 20)); /* a later fragment */
}

static void test_udp(void **state)
{
	uint8_t dns[8] = {0x80, 0x00, 0, 53, 0, 8, 0, 0};
	uint8_t dhcp[8] = {0, 68, 0, 67, 0, 8, 0, 0};
	uint8_t dhcp_hi[8] = {0, 68, 1, 67, 0, 8, 0, 0};

	(void)state;
	assert_true(opens(ETH + 20 + 8, 5, PROTO_UDP, 0, dns, 8));
	assert_true(opens(ETH + 20 + 4, 5, PROTO_UDP, 0, dns, 8));	 /* ports only */
	assert_false(opens(ETH + 20 + 3, 5, PROTO_UDP, 0, dns, 8));	 /* not even those */
	assert_false(opens(ETH + 20 + 8, 5, PROTO_UDP, 0, dhcp, 8));	 /* DHCP: slirp's own */
	assert_true(opens(ETH + 20 + 8, 5, PROTO_UDP, 0, dhcp_hi, 8));	 /* port 323, not 67 */
	assert_true(opens(ETH + 20 + 8, 5, PROTO_UDP, 0x2000, dns, 8));	 /* first of several */
	assert_true(opens(ETH + 20 + 8, 5, PROTO_UDP, 0x00b9, dhcp, 8)); /* later: no ports */
}

static void test_icmp(void **state)
{
	uint8_t echo[8] = {8, 0}, reply[8] = {0, 0}, unreach[8] = {3, 3};

	(void)state;
	assert_true(opens(ETH + 20 + 8, 5, PROTO_ICMP, 0, echo, 8));
	assert_false(opens(ETH + 20, 5, PROTO_ICMP, 0, echo, 8)); /* no ICMP header */
	assert_false(opens(ETH + 20 + 8, 5, PROTO_ICMP, 0, reply, 8));
	assert_false(opens(ETH + 20 + 8, 5, PROTO_ICMP, 0, unreach, 8));
	assert_true(opens(ETH + 20 + 8, 5, PROTO_ICMP, 0x0010, reply, 8)); /* later fragment */
}

static void test_others(void **state)
{
	uint8_t h[20];
	uint8_t *f;

	(void)state;
	tcp_flags(h, 0x02);
	assert_false(opens(ETH + 20 + 8, 5, 47, 0, h, 20));    /* GRE */
	assert_false(opens(ETH + 19, 5, PROTO_UDP, 0, h, 20)); /* shorter than an IP header */
	assert_false(opens(0, 5, PROTO_UDP, 0, h, 20));
	f = ip_frame(ETH + 20 + 20, 5, PROTO_TCP, 0, h, 20);
	f[14] = 0x65; /* IPv6's version with IPv4's type */
	assert_false(uk_swd_nat_opens_socket(f, ETH + 20 + 20));
	f[14] = 0x45;
	f[12] = 0x86;
	f[13] = 0xdd; /* IPv6 */
	assert_false(uk_swd_nat_opens_socket(f, ETH + 20 + 20));
	f[12] = 0x08;
	f[13] = 0x06; /* ARP */
	assert_false(uk_swd_nat_opens_socket(f, ETH + 20 + 20));
	f[13] = 0x00;
	assert_true(uk_swd_nat_opens_socket(f, ETH + 20 + 20)); /* the same bytes as IPv4 */
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
