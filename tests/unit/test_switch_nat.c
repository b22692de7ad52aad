// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NAT uplink's reading of the guests' frames: which ones may make libslirp open a host
 * socket (and so are dropped while the NAT is short of fds); its reading of the DHCP ACKs
 * libslirp sends (whose lease is whose); the forms of a forward spec. Each frame sits in a
 * heap buffer of exactly its length, so ASan sees any read past it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "umlkit/util.h"
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

/* ---- DHCP ACKs ---- */
#define BOOTP 240
static void put16(uint8_t *p, size_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A DHCP reply from slirp (10.0.2.2:67 to 255.255.255.255:68) to MAC 52:54:00:12:34:56,
 * giving 10.0.2.15, with options opts[0..olen) after the cookie; its length in *len. */
static uint8_t *dhcp_reply(const uint8_t *opts, size_t olen, size_t *len)
{
	size_t ulen = 8 + BOOTP + olen, tot = 20 + ulen;
	uint8_t *f = calloc(1, ETH + tot);
	uint8_t *ip = f + ETH, *udp = ip + 20, *b = udp + 8;

	assert_non_null(f);
	memset(f, 0xff, 6);
	memcpy(f + 6, "\x52\x55\x0a\x00\x02\x02\x08\x00", 8); /* slirp's MAC, IPv4 */
	put16(ip, 0x4500);
	put16(ip + 2, tot);
	put16(ip + 8, 64 << 8 | PROTO_UDP);
	memcpy(ip + 12, "\x0a\x00\x02\x02\xff\xff\xff\xff", 8);
	put16(udp, 67);
	put16(udp + 2, 68);
	put16(udp + 4, ulen);
	memcpy(b, "\x02\x01\x06", 3); /* BOOTREPLY, Ethernet, 6-byte addresses */
	memcpy(b + 16, "\x0a\x00\x02\x0f", 4);
	memcpy(b + 28, "\x52\x54\x00\x12\x34\x56", 6);
	memcpy(b + 236, "\x63\x82\x53\x63", 4);
	if (olen)
		memcpy(b + BOOTP, opts, olen);
	*len = ETH + tot;
	return f;
}

static int ack(const uint8_t *opts, size_t olen, void (*change)(uint8_t *f), uint8_t mac[6],
	       struct in_addr *a)
{
	size_t len;
	uint8_t *f = dhcp_reply(opts, olen, &len);
	int r;

	if (change)
		change(f);
	r = uk_swd_dhcp_ack_parse(f, len, mac, a);
	free(f);
	return r;
}

static const uint8_t ack_opts[] = {53, 1, 5, 54, 4, 10, 0, 2, 2, 255};

static void test_dhcp_ack(void **state)
{
	static const uint8_t padded[] = {0, 0, 1, 4, 255, 255, 255, 0, 53, 1, 5, 255};
	uint8_t mac[6];
	struct in_addr a;
	char text[INET_ADDRSTRLEN];

	(void)state;
	assert_int_equal(ack(ack_opts, sizeof(ack_opts), NULL, mac, &a), 0);
	assert_memory_equal(mac, "\x52\x54\x00\x12\x34\x56", 6);
	assert_string_equal(inet_ntop(AF_INET, &a, text, sizeof(text)), "10.0.2.15");
	/* the type after pads and another option */
	assert_int_equal(ack(padded, sizeof(padded), NULL, mac, &a), 0);
}

static void ip_options(uint8_t *f)
{
	f[ETH] = 0x46; /* says 24 bytes of header: the UDP header is then misplaced */
}
static void fragment(uint8_t *f)
{
	f[ETH + 6] = 0x20; /* more fragments */
}
static void to_server(uint8_t *f)
{
	f[ETH + 20 + 3] = 67;
}
static void request(uint8_t *f)
{
	f[ETH + 28] = 1; /* BOOTREQUEST: a guest's */
}
static void no_cookie(uint8_t *f)
{
	f[ETH + 28 + 236] = 0;
}
static void group_mac(uint8_t *f)
{
	f[ETH + 28 + 28] = 0x01;
}
static void no_address(uint8_t *f)
{
	memset(f + ETH + 28 + 16, 0, 4);
}
static void arp(uint8_t *f)
{
	f[13] = 0x06;
}
static void udp_too_long(uint8_t *f)
{
	f[ETH + 20 + 4] = 0x10; /* 4 KiB */
}

static void test_dhcp_not_ack(void **state)
{
	static const uint8_t offer[] = {53, 1, 2, 255};
	static const uint8_t nak[] = {53, 1, 6, 255};
	static const uint8_t none[] = {1, 4, 255, 255, 255, 0, 255};
	static const uint8_t past_end[] = {1, 200, 53, 1, 5};
	static const uint8_t bad_len[] = {53, 2, 5, 5, 255};
	void (*changes[])(uint8_t *) = {ip_options, fragment,	to_server, request,	no_cookie,
					group_mac,  no_address, arp,	   udp_too_long};
	uint8_t mac[6];
	struct in_addr a;
	size_t len;
	uint8_t *f, *cut;

	(void)state;
	assert_int_equal(ack(offer, sizeof(offer), NULL, mac, &a), -EINVAL);
	assert_int_equal(ack(nak, sizeof(nak), NULL, mac, &a), -EINVAL);
	assert_int_equal(ack(none, sizeof(none), NULL, mac, &a), -EINVAL);
	assert_int_equal(ack(past_end, sizeof(past_end), NULL, mac, &a), -EINVAL);
	assert_int_equal(ack(bad_len, sizeof(bad_len), NULL, mac, &a), -EINVAL);
	assert_int_equal(ack(NULL, 0, NULL, mac, &a), -EINVAL);
	for (size_t i = 0; i < UK_ARRAY_SIZE(changes); i++)
		assert_int_equal(ack(ack_opts, sizeof(ack_opts), changes[i], mac, &a), -EINVAL);
	/* every cut short of the whole frame, each in a buffer of its length */
	f = dhcp_reply(ack_opts, sizeof(ack_opts), &len);
	for (size_t n = 0; n < len; n++) {
		cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, f, n);
		assert_int_equal(uk_swd_dhcp_ack_parse(cut, n, mac, &a), -EINVAL);
		free(cut);
	}
	free(f);
}

/* ---- forward specs ---- */
static void fwd_ok(const char *spec, int form, bool udp, const char *haddr, unsigned hport,
		   const char *gaddr, unsigned gport)
{
	struct nat_fwd f;
	struct uk_err err = {0};
	char h[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];

	if (uk_swd_nat_forward_parse(spec, form, &f, &err) != 0)
		fail_msg("%s: refused: %s", spec, err.msg);
	assert_int_equal(f.udp, udp);
	assert_string_equal(inet_ntop(AF_INET, &f.haddr, h, sizeof(h)), haddr);
	assert_int_equal(f.hport, hport);
	assert_int_equal(f.has_guest, gport != 0);
	assert_int_equal(f.gport, gport);
	assert_string_equal(inet_ntop(AF_INET, &f.gaddr, g, sizeof(g)), gaddr);
	assert_int_equal(f.owner, -1);
}

static void fwd_bad(const char *spec, int form, const char *want)
{
	struct nat_fwd f;
	struct uk_err err = {0};

	assert_int_equal(uk_swd_nat_forward_parse(spec, form, &f, &err), -EINVAL);
	if (!strstr(err.msg, want))
		fail_msg("%s: message '%s' lacks '%s'", spec, err.msg, want);
}

static void test_forward_forms(void **state)
{
	(void)state;
	fwd_ok("tcp:8080:10.0.2.15:80", NAT_FWD_FULL, false, "127.0.0.1", 8080, "10.0.2.15", 80);
	fwd_ok("udp:0.0.0.0:53:10.0.2.16:53", NAT_FWD_FULL, true, "0.0.0.0", 53, "10.0.2.16", 53);
	fwd_ok("tcp:8080", NAT_FWD_KEY, false, "127.0.0.1", 8080, "0.0.0.0", 0);
	fwd_ok("tcp:127.0.0.2:8080", NAT_FWD_KEY, false, "127.0.0.2", 8080, "0.0.0.0", 0);
	/* a guest's: the guest's address is not given */
	fwd_ok("tcp:8080:80", NAT_FWD_GUEST, false, "127.0.0.1", 8080, "0.0.0.0", 80);
	fwd_ok("udp:0.0.0.0:5353:53", NAT_FWD_GUEST, true, "0.0.0.0", 5353, "0.0.0.0", 53);
	fwd_bad("tcp:8080", NAT_FWD_GUEST, "expected tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT");
	fwd_bad("tcp:8080:10.0.2.15:80", NAT_FWD_GUEST, "a guest's forward takes no guest address");
	fwd_bad("tcp:127.0.0.1:8080:10.0.2.15:80", NAT_FWD_GUEST, "expected tcp|udp:[HOSTADDR:]");
	fwd_bad("tcp:8080:0", NAT_FWD_GUEST, "guest port '0' is not a number from 1 to 65535");
	fwd_bad("tcp:8080:65536", NAT_FWD_GUEST, "guest port '65536'");
	fwd_bad("tcp:x:80", NAT_FWD_GUEST, "host port 'x'");
	fwd_bad("tcp:localhost:8080:80", NAT_FWD_GUEST, "host address 'localhost' is not an IPv4");
	fwd_bad("tcp:224.0.0.1:8080:80", NAT_FWD_GUEST, "cannot take connections");
	fwd_bad("sctp:8080:80", NAT_FWD_GUEST, "protocol 'sctp' is not tcp or udp");
	fwd_bad("tcp::80", NAT_FWD_GUEST, "field 2 of 3 is empty");
	fwd_bad("", NAT_FWD_GUEST, "empty; expected tcp|udp:[HOSTADDR:]HOSTPORT:GUESTPORT");
	/* the other forms as they were */
	fwd_bad("tcp:8080:80", NAT_FWD_FULL, "expected tcp|udp:[HOSTADDR:]HOSTPORT:GUESTADDR");
	fwd_bad("tcp:1.2.3.4:8080:10.0.2.15:80:1", NAT_FWD_KEY, "expected");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dhcp_ack),      cmocka_unit_test(test_dhcp_not_ack),
		cmocka_unit_test(test_forward_forms), cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_udp),	      cmocka_unit_test(test_icmp),
		cmocka_unit_test(test_others),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
