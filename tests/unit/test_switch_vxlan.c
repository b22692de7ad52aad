// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * VXLAN ports (RFC 7348): the header codec (flags, VNI at its limits, reserved bits ignored,
 * the malformed ones), the addresses (ADDR[:PORT], IPv6 in brackets, the refusals), the
 * learning table's remote per MAC, and the engine's VXLAN port over real UDP sockets on the
 * loopback of a network namespace of the test's own: a flood from a remote reaches the local
 * port and no other remote, a frame for a MAC learned from one remote goes to it only, a
 * flood from the local port goes to each remote, and what comes with another VNI, a bad
 * header or from a stranger is dropped and counted.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "../../lib/switch/engine-internal.h"

/* ---------------------------------------------------------------- the header */
static void test_encode(void **state)
{
	uint8_t h[UK_VXLAN_HLEN];
	static const uint8_t want[UK_VXLAN_HLEN] = {0x08, 0, 0, 0, 0x12, 0x34, 0x56, 0};
	uint32_t vni = 0;

	uk_vxlan_encode(h, 0x123456);
	assert_memory_equal(h, want, sizeof(want));
	assert_int_equal(uk_vxlan_decode(h, sizeof(h), &vni), 0);
	assert_int_equal(vni, 0x123456);
	/* the limits of 24 bits */
	uk_vxlan_encode(h, 0);
	assert_int_equal(uk_vxlan_decode(h, sizeof(h), &vni), 0);
	assert_int_equal(vni, 0);
	uk_vxlan_encode(h, UK_VXLAN_VNI_MAX);
	assert_int_equal(uk_vxlan_decode(h, sizeof(h), &vni), 0);
	assert_int_equal(vni, UK_VXLAN_VNI_MAX);
	assert_int_equal(h[7], 0);
}

static void test_decode_reserved_ignored(void **state)
{
	/* every reserved bit set: ignored on receipt (RFC 7348, 5) */
	static const uint8_t h[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x2a, 0xff, 0xaa};
	uint32_t vni = 0;

	assert_int_equal(uk_vxlan_decode(h, sizeof(h), &vni), 0);
	assert_int_equal(vni, 42);
}

static void test_decode_malformed(void **state)
{
	uint8_t h[UK_VXLAN_HLEN];
	uint32_t vni = 7;

	uk_vxlan_encode(h, 42);
	for (size_t len = 0; len < UK_VXLAN_HLEN; len++) {
		uint8_t *b = malloc(len ? len : 1); /* exactly len bytes: ASan sees a read past */

		assert_non_null(b);
		memcpy(b, h, len);
		assert_int_equal(uk_vxlan_decode(b, len, &vni), -EINVAL);
		free(b);
	}
	h[0] = 0x00; /* no I flag */
	assert_int_equal(uk_vxlan_decode(h, sizeof(h), &vni), -EINVAL);
	h[0] = 0xf7; /* every flag but I */
	assert_int_equal(uk_vxlan_decode(h, sizeof(h), &vni), -EINVAL);
	assert_int_equal(vni, 7);
}

/* ---------------------------------------------------------------- addresses */
static void addr_is(const char *s, bool remote, const char *want)
{
	union uk_vxlan_addr a;
	struct uk_err err = {0};
	char out[64];

	assert_int_equal(uk_vxlan_addr_parse(s, remote, &a, &err), 0);
	uk_vxlan_addr_format(&a, out, sizeof(out));
	assert_string_equal(out, want);
}

static void addr_bad(const char *s, bool remote, const char *why)
{
	union uk_vxlan_addr a;
	struct uk_err err = {0};

	assert_int_equal(uk_vxlan_addr_parse(s, remote, &a, &err), -EINVAL);
	if (!strstr(err.msg, why))
		fail_msg("'%s': '%s' does not say '%s'", s, err.msg, why);
}

static void test_addresses(void **state)
{
	union uk_vxlan_addr a, b;

	addr_is("10.0.0.2", true, "10.0.0.2:4789");
	addr_is("10.0.0.2:8472", true, "10.0.0.2:8472");
	addr_is("fd00::2", true, "[fd00::2]:4789");
	addr_is("[fd00::2]", true, "[fd00::2]:4789");
	addr_is("[fd00::2]:65535", true, "[fd00::2]:65535");
	addr_is("0.0.0.0", false, "0.0.0.0:4789");
	addr_is("[::]:1", false, "[::]:1");
	addr_bad("", true, "not ADDR");
	addr_bad(":4789", true, "not ADDR");
	addr_bad("[fd00::2", true, "not ADDR");
	addr_bad("[fd00::2]x", true, "not ADDR");
	addr_bad("10.0.0.2:0", true, "port '0'");
	addr_bad("10.0.0.2:65536", true, "port '65536'");
	addr_bad("10.0.0.2:", true, "port ''");
	addr_bad("10.0.0.2:47x", true, "port '47x'");
	addr_bad("host.example", true, "not an IPv4 or IPv6 address");
	addr_bad("10.0.0.256", true, "not an IPv4 or IPv6 address");
	addr_bad("0.0.0.0", true, "not a unicast");
	addr_bad("255.255.255.255", true, "not a unicast");
	addr_bad("239.1.1.1", true, "not a unicast");
	addr_bad("ff02::1", true, "not a unicast");
	addr_bad("::", true, "not a unicast");
	/* the same host whatever the port; not across families */
	assert_int_equal(uk_vxlan_addr_parse("10.0.0.2:1", true, &a, NULL), 0);
	assert_int_equal(uk_vxlan_addr_parse("10.0.0.2:2", true, &b, NULL), 0);
	assert_true(uk_vxlan_same_host(&a, &b));
	assert_int_equal(uk_vxlan_addr_parse("10.0.0.3", true, &b, NULL), 0);
	assert_false(uk_vxlan_same_host(&a, &b));
	assert_int_equal(uk_vxlan_addr_parse("::ffff:10.0.0.2", true, &b, NULL), 0);
	assert_false(uk_vxlan_same_host(&a, &b));
}

static void test_check(void **state)
{
	struct uk_switch_vxlan v = {.vni = 42, .nremotes = 2};
	struct uk_err err = {0};

	strcpy(v.remotes[0], "10.0.0.2");
	strcpy(v.remotes[1], "10.0.0.3:8472");
	assert_int_equal(uk_switch_vxlan_check(&v, &err), 0);
	v.vni = UK_VXLAN_VNI_MAX + 1;
	assert_int_equal(uk_switch_vxlan_check(&v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "VNI 16777216 is outside 0..16777215"));
	v.vni = 42;
	strcpy(v.remotes[1], "10.0.0.2:8472");
	assert_int_equal(uk_switch_vxlan_check(&v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "remote 10.0.0.2:8472 is given twice"));
	strcpy(v.remotes[1], "fd00::3");
	assert_int_equal(uk_switch_vxlan_check(&v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "family"));
	v.nremotes = 0;
	assert_int_equal(uk_switch_vxlan_check(&v, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "1 to 16 remotes"));
}

/* ---------------------------------------------------------------- the learning table */
static const uint8_t mac_g[6] = {0x02, 0, 0, 0, 0, 0x01};  /* on the local port */
static const uint8_t mac_r1[6] = {0x02, 0, 0, 0, 1, 0x01}; /* behind remote 0 */
static const uint8_t mac_r2[6] = {0x02, 0, 0, 0, 2, 0x01}; /* behind remote 1 */
static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static void test_fdb_via(void **state)
{
	struct uk_fdb *t = uk_fdb_new(64, 1000);
	int via = 5;

	assert_non_null(t);
	assert_int_equal(uk_fdb_learn_via(t, mac_r1, 1, 3, 0, 10), 0);
	assert_int_equal(uk_fdb_lookup_via(t, mac_r1, 1, 10, &via), 3);
	assert_int_equal(via, 0);
	/* to another remote of the same port: a move */
	assert_int_equal(uk_fdb_learn_via(t, mac_r1, 1, 3, 1, 20), 1);
	assert_int_equal(uk_fdb_lookup_via(t, mac_r1, 1, 20, &via), 3);
	assert_int_equal(via, 1);
	/* learned without a remote: none */
	assert_int_equal(uk_fdb_learn(t, mac_r1, 1, 4, 30), 1);
	assert_int_equal(uk_fdb_lookup_via(t, mac_r1, 1, 30, &via), 4);
	assert_int_equal(via, -1);
	/* unknown and aged out: none either */
	assert_int_equal(uk_fdb_lookup_via(t, mac_r2, 1, 30, &via), -1);
	assert_int_equal(via, -1);
	assert_int_equal(uk_fdb_learn_via(t, mac_r2, 1, 3, 1, 40), 0);
	assert_int_equal(uk_fdb_lookup_via(t, mac_r2, 1, 2000, &via), -1);
	assert_int_equal(via, -1);
	uk_fdb_free(t);
}

/* ---------------------------------------------------------------- the engine's port */
struct net {
	struct uk_switch *sw;
	int local;	    /* the test's end of the switch's fd port */
	int fdport, vxport; /* their ids */
	int r[2];	    /* the remotes' sockets: 127.0.0.2:4789 and 127.0.0.3:4790 */
	int stranger;	    /* 127.0.0.4 */
};

/* A private network namespace (as root, or through a user namespace) with lo up. */
static bool own_netns(void)
{
	struct ifreq ifr = {0};
	int s;

	if (unshare(CLONE_NEWNET) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0)
		return false;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	strcpy(ifr.ifr_name, "lo");
	assert_int_equal(ioctl(s, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	assert_int_equal(ioctl(s, SIOCSIFFLAGS, &ifr), 0);
	close(s);
	return true;
}

static int udp_at(const char *addr, unsigned port)
{
	union uk_vxlan_addr a = {.in = {.sin_family = AF_INET, .sin_port = htons(port)}};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(s >= 0);
	assert_int_equal(inet_pton(AF_INET, addr, &a.in.sin_addr), 1);
	assert_int_equal(bind(s, &a.sa, sizeof(a.in)), 0);
	return s;
}

static int setup_net(void **state)
{
	struct uk_switch_opts o = {0};
	struct uk_port_conf c = {.kind = UK_PORT_FD, .peer = "test"};
	struct uk_vxlan_conf vx = {.vni = 42, .nremotes = 2};
	struct net *n = calloc(1, sizeof(*n));
	int sv[2];

	if (!own_netns()) {
		free(n);
		if (getenv("UK_TESTS_MUST_RUN") && !strcmp(getenv("UK_TESTS_MUST_RUN"), "1"))
			fail_msg("no network namespace of our own (root or user namespaces)");
		skip();
	}
	assert_non_null(n);
	n->sw = uk_switch_new(&o, NULL);
	assert_non_null(n->sw);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
			 0);
	n->local = sv[0];
	n->fdport = uk_switch_add_socket_port(n->sw, sv[1], &c, NULL, 0, NULL);
	assert_true(n->fdport >= 0);
	n->r[0] = udp_at("127.0.0.2", 4789);
	n->r[1] = udp_at("127.0.0.3", 4790);
	n->stranger = udp_at("127.0.0.4", 4789);
	assert_int_equal(uk_vxlan_addr_parse("127.0.0.2", true, &vx.remotes[0], NULL), 0);
	assert_int_equal(uk_vxlan_addr_parse("127.0.0.3:4790", true, &vx.remotes[1], NULL), 0);
	c.kind = UK_PORT_VXLAN;
	n->vxport = uk_switch_add_vxlan_port(n->sw, udp_at("127.0.0.1", 4789), &c, &vx, NULL);
	assert_true(n->vxport >= 0);
	*state = n;
	return 0;
}

static int teardown_net(void **state)
{
	struct net *n = *state;

	if (!n)
		return 0;
	uk_switch_free(n->sw);
	close(n->local);
	close(n->r[0]);
	close(n->r[1]);
	close(n->stranger);
	free(n);
	return 0;
}

/* A 60-byte frame dst <- src, its payload's first byte tag. */
static void frame(uint8_t f[60], const uint8_t dst[6], const uint8_t src[6], uint8_t tag)
{
	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	f[14] = tag;
}

/* Send frame f from socket s to the switch's VXLAN port behind a header of vni (flags:
 * the first header byte). */
static void vx_send(struct net *n, int s, uint32_t vni, uint8_t flags, const uint8_t *f, size_t len)
{
	union uk_vxlan_addr to;
	uint8_t d[UK_VXLAN_HLEN + 60];

	assert_int_equal(uk_vxlan_addr_parse("127.0.0.1", true, &to, NULL), 0);
	uk_vxlan_encode(d, vni);
	d[0] = flags;
	memcpy(d + UK_VXLAN_HLEN, f, len);
	assert_int_equal(sendto(s, d, UK_VXLAN_HLEN + len, 0, &to.sa, sizeof(to.in)),
			 (ssize_t)(UK_VXLAN_HLEN + len));
	uk_switch_port_readable(n->sw, n->vxport);
}

/* Three bytes of a header from s. */
static void vx_short(struct net *n, int s)
{
	union uk_vxlan_addr to;

	assert_int_equal(uk_vxlan_addr_parse("127.0.0.1", true, &to, NULL), 0);
	assert_int_equal(sendto(s, "\x08\x00\x00", 3, 0, &to.sa, sizeof(to.in)), 3);
	uk_switch_port_readable(n->sw, n->vxport);
}

/* What a remote's socket holds now: the tag of the one frame with VNI 42 from the switch's
 * 127.0.0.1:4789, or -1 when nothing came. */
static int remote_got(int s)
{
	uint8_t d[200];
	union uk_vxlan_addr from;
	socklen_t fl = sizeof(from);
	ssize_t len = recvfrom(s, d, sizeof(d), MSG_DONTWAIT, &from.sa, &fl);
	uint32_t vni;

	if (len < 0)
		return -1;
	assert_int_equal(len, UK_VXLAN_HLEN + 60);
	assert_int_equal(ntohs(from.in.sin_port), 4789);
	assert_int_equal(uk_vxlan_decode(d, (size_t)len, &vni), 0);
	assert_int_equal(vni, 42);
	assert_int_equal(d[0], UK_VXLAN_FLAG_I);
	assert_int_equal(recv(s, d, sizeof(d), MSG_DONTWAIT), -1); /* one, no more */
	return d[UK_VXLAN_HLEN + 14];
}

static int local_got(struct net *n)
{
	uint8_t f[200];
	ssize_t len = recv(n->local, f, sizeof(f), MSG_DONTWAIT);

	if (len < 0)
		return -1;
	assert_int_equal(len, 60);
	return f[14];
}

static void local_send(struct net *n, const uint8_t *dst, uint8_t tag)
{
	uint8_t f[60];

	frame(f, dst, mac_g, tag);
	assert_int_equal(send(n->local, f, sizeof(f), 0), 60);
	uk_switch_port_readable(n->sw, n->fdport);
}

static void test_flood_from_remote(void **state)
{
	struct net *n = *state;
	struct uk_vxlan_stats st;
	uint8_t f[60];
	int via;

	frame(f, bcast, mac_r1, 1);
	vx_send(n, n->r[0], 42, UK_VXLAN_FLAG_I, f, sizeof(f));
	assert_int_equal(local_got(n), 1);
	assert_int_equal(remote_got(n->r[1]), -1); /* never from one remote to another */
	assert_int_equal(remote_got(n->r[0]), -1);
	assert_int_equal(
		uk_fdb_lookup_via(uk_switch_fdb(n->sw), mac_r1, 1, uk_switch_now_ms(), &via),
		n->vxport);
	assert_int_equal(via, 0);
	assert_int_equal(uk_switch_vxlan_info(n->sw, n->vxport, NULL, &st), 0);
	assert_int_equal(st.rx_frames[0], 1);
}

static void test_unicast_to_its_remote(void **state)
{
	struct net *n = *state;
	struct uk_vxlan_stats st;
	uint8_t f[60];

	frame(f, bcast, mac_r1, 1);
	vx_send(n, n->r[0], 42, UK_VXLAN_FLAG_I, f, sizeof(f));
	frame(f, bcast, mac_r2, 2);
	vx_send(n, n->r[1], 42, UK_VXLAN_FLAG_I, f, sizeof(f));
	assert_int_equal(local_got(n), 1);
	assert_int_equal(local_got(n), 2);
	local_send(n, mac_r1, 11);
	assert_int_equal(remote_got(n->r[0]), 11);
	assert_int_equal(remote_got(n->r[1]), -1);
	local_send(n, mac_r2, 12);
	assert_int_equal(remote_got(n->r[1]), 12);
	assert_int_equal(remote_got(n->r[0]), -1);
	/* r1's MAC moves behind the other remote: its frames follow */
	frame(f, mac_g, mac_r1, 3);
	vx_send(n, n->r[1], 42, UK_VXLAN_FLAG_I, f, sizeof(f));
	assert_int_equal(local_got(n), 3);
	local_send(n, mac_r1, 13);
	assert_int_equal(remote_got(n->r[1]), 13);
	assert_int_equal(remote_got(n->r[0]), -1);
	assert_int_equal(uk_switch_vxlan_info(n->sw, n->vxport, NULL, &st), 0);
	assert_int_equal(st.tx_frames[0], 1);
	assert_int_equal(st.tx_frames[1], 2);
}

static void test_flood_to_each_remote(void **state)
{
	struct net *n = *state;
	struct uk_port_stats ps;

	local_send(n, bcast, 21);
	assert_int_equal(remote_got(n->r[0]), 21);
	assert_int_equal(remote_got(n->r[1]), 21);
	/* an unknown unicast MAC is flooded too */
	local_send(n, mac_r2, 22);
	assert_int_equal(remote_got(n->r[0]), 22);
	assert_int_equal(remote_got(n->r[1]), 22);
	assert_int_equal(uk_switch_port_info(n->sw, n->vxport, NULL, &ps), 0);
	assert_int_equal(ps.tx_frames, 4);
	assert_int_equal(ps.tx_bytes, 4 * 60);
}

/* A flood of a full batch from the local port: twice the batch's datagrams, none lost. */
static void test_flood_burst(void **state)
{
	struct net *n = *state;
	uint8_t f[60];

	for (int i = 0; i < UK_SW_BATCH; i++) {
		frame(f, bcast, mac_g, (uint8_t)i);
		assert_int_equal(send(n->local, f, sizeof(f), 0), 60);
	}
	uk_switch_port_readable(n->sw, n->fdport);
	for (int i = 0; i < UK_SW_BATCH; i++) {
		uint8_t d[200];

		for (int r = 0; r < 2; r++) {
			assert_int_equal(recv(n->r[r], d, sizeof(d), MSG_DONTWAIT),
					 UK_VXLAN_HLEN + 60);
			assert_int_equal(d[UK_VXLAN_HLEN + 14], i);
		}
	}
}

static void test_drops(void **state)
{
	struct net *n = *state;
	struct uk_vxlan_stats st;
	struct uk_port_stats ps;
	uint8_t f[60];

	frame(f, bcast, mac_r1, 1);
	vx_send(n, n->r[0], 43, UK_VXLAN_FLAG_I, f, sizeof(f)); /* another VNI */
	vx_send(n, n->r[0], 42, 0x00, f, sizeof(f));		/* no I flag */
	vx_send(n, n->r[0], 42, UK_VXLAN_FLAG_I, f, 0);		/* a header, no frame */
	vx_send(n, n->stranger, 42, UK_VXLAN_FLAG_I, f, sizeof(f));
	vx_short(n, n->r[0]); /* shorter than a header */
	assert_int_equal(local_got(n), -1);
	assert_int_equal(remote_got(n->r[1]), -1);
	assert_int_equal(uk_switch_vxlan_info(n->sw, n->vxport, NULL, &st), 0);
	assert_int_equal(st.wrong_vni, 1);
	assert_int_equal(st.bad_header, 2);
	assert_int_equal(st.strangers, 1);
	assert_int_equal(uk_switch_port_info(n->sw, n->vxport, NULL, &ps), 0);
	assert_int_equal(ps.rx_drops, 5); /* and the empty frame, too short for Ethernet */
	assert_int_equal(ps.rx_frames, 0);
	assert_int_equal(uk_fdb_count(uk_switch_fdb(n->sw), uk_switch_now_ms()), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_decode_reserved_ignored),
		cmocka_unit_test(test_decode_malformed),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_fdb_via),
		cmocka_unit_test_setup_teardown(test_flood_from_remote, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_unicast_to_its_remote, setup_net,
						teardown_net),
		cmocka_unit_test_setup_teardown(test_flood_to_each_remote, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_flood_burst, setup_net, teardown_net),
		cmocka_unit_test_setup_teardown(test_drops, setup_net, teardown_net),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
