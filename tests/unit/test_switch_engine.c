// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The forwarding engine without a daemon: SEQPACKET socketpairs as ports (the test holds the
 * peers' ends). Learning (a unicast frame after learning goes to one port only), flooding of
 * broadcast, multicast and unknown unicast, no echo to the ingress port, 802.1Q access and
 * trunk ports, hub mode, a full peer (its frames dropped and counted, the others unaffected),
 * a dead peer (port_dead), frames too short, too long or with a group source dropped, empty
 * packets as EOF, removal, captures in pcap format, and the counters of all of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "umlkit/switch.h"
#include "umlkit/util.h"
#include "../../lib/switch/engine-internal.h"

#define MAXP 8

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[1] << 8 | p[0]);
}

struct rig {
	struct uk_switch *sw;
	int peer[MAXP]; /* the test's end of each port's socketpair */
	int id[MAXP];
	int n;
	int dead[MAXP * 4]; /* port_dead calls, in order */
	int ndead;
	int blocked_port; /* the last port_blocked call */
	bool blocked;
	int nblocked; /* port_blocked calls */
};

static void on_dead(void *ctx, int port)
{
	struct rig *r = ctx;

	if (r->ndead < (int)UK_ARRAY_SIZE(r->dead))
		r->dead[r->ndead++] = port;
}

static void on_blocked(void *ctx, int port, bool blocked)
{
	struct rig *r = ctx;

	r->blocked_port = port;
	r->blocked = blocked;
	r->nblocked++;
}

static struct rig *rig_new(unsigned mtu, bool hub)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct uk_switch_opts o = {
		.mtu = mtu, .hub = hub, .port_dead = on_dead, .port_blocked = on_blocked};
	struct uk_err err = {0};

	assert_non_null(r);
	o.ctx = r;
	r->sw = uk_switch_new(&o, &err);
	assert_non_null(r->sw);
	return r;
}

/* A port: returns its index in the rig. */
static int rig_port(struct rig *r, uint16_t vlan, bool trunk)
{
	struct uk_port_conf c = {.kind = UK_PORT_FD, .vlan = vlan, .trunk = trunk};
	struct uk_err err = {0};
	int sv[2];

	assert_true(r->n < MAXP);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
			 0);
	snprintf(c.peer, sizeof(c.peer), "test %d", r->n);
	r->id[r->n] = uk_switch_add_socket_port(r->sw, sv[1], &c, NULL, 0, &err);
	assert_true(r->id[r->n] >= 0);
	r->peer[r->n] = sv[0];
	return r->n++;
}

static void rig_free(struct rig *r)
{
	uk_switch_free(r->sw); /* closes the switch's ends */
	for (int i = 0; i < r->n; i++)
		if (r->peer[i] >= 0)
			close(r->peer[i]);
	free(r);
}

static const uint8_t BC[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t MC[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};

static void mac_of(int n, uint8_t mac[6])
{
	const uint8_t m[6] = {0x02, 0, 0, 0, 0, (uint8_t)n};

	memcpy(mac, m, 6);
}

/* A frame: dst, src (MAC number), an optional tag (vid > 0), len bytes in all. */
static size_t frame(uint8_t *f, const uint8_t dst[6], int src, int vid, size_t len)
{
	size_t h = 12;

	memset(f, 0xa5, len);
	memcpy(f, dst, 6);
	mac_of(src, f + 6);
	if (vid > 0) {
		put_be16(f + 12, UK_ETH_P_8021Q);
		put_be16(f + 14, (uint16_t)vid);
		h = 16;
	}
	put_be16(f + h, 0x88b5);
	f[len - 1] = (uint8_t)len; /* a marker at the end: tags moved nothing else */
	return len;
}

/* g is f with an 802.1Q tag of VLAN vid after the addresses. */
static void assert_tag(const uint8_t *g, const uint8_t *f, uint16_t vid)
{
	assert_memory_equal(g, f, 12);
	assert_int_equal(be16(g + 12), UK_ETH_P_8021Q);
	assert_int_equal(be16(g + 14), vid);
}

/* Port i sends f and the engine reads it. */
static void rig_send(struct rig *r, int i, const uint8_t *f, size_t len)
{
	assert_int_equal(send(r->peer[i], f, len, MSG_NOSIGNAL), (ssize_t)len);
	uk_switch_port_readable(r->sw, r->id[i]);
}

/* What port i's peer received (one frame): its length, or -1 when nothing. */
static ssize_t rig_recv(struct rig *r, int i, uint8_t *buf, size_t len)
{
	return recv(r->peer[i], buf, len, MSG_DONTWAIT);
}

static int rig_count(struct rig *r, int i)
{
	static uint8_t buf[UK_SW_MTU_MAX + 64];
	int n = 0;

	while (recv(r->peer[i], buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		n++;
	return n;
}

static struct uk_port_stats stats(struct rig *r, int i)
{
	struct uk_port_stats st;

	assert_int_equal(uk_switch_port_info(r->sw, r->id[i], NULL, &st), 0);
	return st;
}

/* ---------------------------------------------------------------- learning and flooding */
static void test_learning(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false), c = rig_port(r, 0, false);
	uint8_t f[1600], g[1600], mb[6], ma[6];
	size_t n;

	mac_of(1, ma);
	mac_of(2, mb);
	/* a to b, unknown: flooded to b and c, never back to a */
	n = frame(f, mb, 1, 0, 60);
	rig_send(r, a, f, n);
	assert_int_equal(rig_recv(r, b, g, sizeof(g)), 60);
	assert_memory_equal(f, g, 60);
	assert_int_equal(rig_recv(r, c, g, sizeof(g)), 60);
	assert_int_equal(rig_recv(r, a, g, sizeof(g)), -1);
	assert_int_equal(uk_fdb_lookup(uk_switch_fdb(r->sw), ma, 1, uk_switch_now_ms()), r->id[a]);
	/* b answers a: a is known, so only a gets it */
	n = frame(f, ma, 2, 0, 100);
	rig_send(r, b, f, n);
	assert_int_equal(rig_recv(r, a, g, sizeof(g)), 100);
	assert_memory_equal(f, g, 100);
	assert_int_equal(rig_recv(r, c, g, sizeof(g)), -1);
	assert_int_equal(rig_recv(r, b, g, sizeof(g)), -1);
	/* and now a to b goes to b only */
	for (int i = 0; i < 10; i++) {
		n = frame(f, mb, 1, 0, 64 + (size_t)i);
		rig_send(r, a, f, n);
	}
	assert_int_equal(rig_count(r, b), 10);
	assert_int_equal(rig_count(r, c), 0);
	assert_int_equal(rig_count(r, a), 0);
	/* counters */
	assert_int_equal(stats(r, a).rx_frames, 11);
	assert_int_equal(stats(r, a).tx_frames, 1);
	assert_int_equal(stats(r, a).tx_bytes, 100);
	assert_int_equal(stats(r, b).rx_frames, 1);
	assert_int_equal(stats(r, b).rx_bytes, 100);
	assert_int_equal(stats(r, b).tx_frames, 11);
	assert_int_equal(stats(r, c).tx_frames, 1);
	assert_int_equal(stats(r, c).rx_frames, 0);
	/* a MAC moves: b's MAC now speaks from c, and frames for it follow */
	n = frame(f, BC, 2, 0, 60);
	rig_send(r, c, f, n);
	assert_int_equal(rig_count(r, a), 1);
	assert_int_equal(rig_count(r, b), 1);
	n = frame(f, mb, 1, 0, 60);
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, c), 1);
	assert_int_equal(rig_count(r, b), 0);
	rig_free(r);
}

static void test_flooding(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false), c = rig_port(r, 0, false);
	uint8_t f[1600], mb[6];
	size_t n;

	/* everyone is known */
	for (int i = 0; i < 3; i++) {
		n = frame(f, BC, i + 1, 0, 60);
		rig_send(r, i, f, n);
	}
	for (int i = 0; i < 3; i++)
		assert_int_equal(rig_count(r, i), 2); /* the others' broadcasts, not its own */
	/* broadcast and multicast go to every other port even when the sender is known */
	n = frame(f, BC, 1, 0, 60);
	rig_send(r, a, f, n);
	n = frame(f, MC, 1, 0, 60);
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, a), 0);
	assert_int_equal(rig_count(r, b), 2);
	assert_int_equal(rig_count(r, c), 2);
	/* unknown unicast is flooded */
	mac_of(9, mb);
	n = frame(f, mb, 1, 0, 60);
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, a), 0);
	assert_int_equal(rig_count(r, b), 1);
	assert_int_equal(rig_count(r, c), 1);
	/* a frame for a MAC behind its own ingress port goes nowhere (no echo, no flood) */
	n = frame(f, BC, 7, 0, 60);
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, b), 1);
	assert_int_equal(rig_count(r, c), 1);
	mac_of(7, mb);
	n = frame(f, mb, 1, 0, 60);
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, a), 0);
	assert_int_equal(rig_count(r, b), 0);
	assert_int_equal(rig_count(r, c), 0);
	/* a removed port's MACs are forgotten: frames for them are flooded again */
	mac_of(2, mb);
	uk_switch_remove_port(r->sw, r->id[b]);
	assert_int_equal(uk_fdb_lookup(uk_switch_fdb(r->sw), mb, 1, uk_switch_now_ms()), -1);
	n = frame(f, mb, 1, 0, 60);
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, c), 1);
	assert_int_equal(uk_switch_port_info(r->sw, r->id[b], NULL, NULL), -ENOENT);
	{
		int ids[UK_SW_MAX_PORTS];

		assert_int_equal(uk_switch_ports(r->sw, ids, UK_SW_MAX_PORTS), 2);
		assert_int_equal(ids[0], r->id[a]);
		assert_int_equal(ids[1], r->id[c]);
	}
	rig_free(r);
}

/* ---------------------------------------------------------------- VLANs */
static void test_vlans(void **state)
{
	struct rig *r = rig_new(0, false);
	int x = rig_port(r, 10, false), y = rig_port(r, 10, false), z = rig_port(r, 20, false);
	int t = rig_port(r, 0, true);	 /* a trunk, native VLAN 1 */
	int u = rig_port(r, 1, false);	 /* an access port of VLAN 1 */
	int t10 = rig_port(r, 10, true); /* a trunk whose native VLAN is 10 */
	uint8_t f[1600], g[1600];
	size_t n;

	/* untagged from an access port of VLAN 10: untagged to y, tagged to the trunk t,
	 * untagged to t10 (10 is its native VLAN), nothing to z (20) or u (1) */
	n = frame(f, BC, 1, 0, 100);
	rig_send(r, x, f, n);
	assert_int_equal(rig_recv(r, y, g, sizeof(g)), 100);
	assert_memory_equal(f, g, 100);
	assert_int_equal(rig_recv(r, t, g, sizeof(g)), 104);
	assert_tag(g, f, 10);
	assert_memory_equal(g + 16, f + 12, 88);
	assert_int_equal(rig_recv(r, t10, g, sizeof(g)), 100);
	assert_memory_equal(f, g, 100);
	assert_int_equal(rig_count(r, z), 0);
	assert_int_equal(rig_count(r, u), 0);
	/* tagged 20 from the trunk: stripped to z only; t10 carries it tagged */
	n = frame(f, BC, 2, 20, 104);
	rig_send(r, t, f, n);
	assert_int_equal(rig_recv(r, z, g, sizeof(g)), 100);
	assert_memory_equal(g, f, 12);
	assert_memory_equal(g + 12, f + 16, 88);
	assert_int_equal(rig_recv(r, t10, g, sizeof(g)), 104);
	assert_memory_equal(f, g, 104);
	assert_int_equal(rig_count(r, x), 0);
	assert_int_equal(rig_count(r, y), 0);
	assert_int_equal(rig_count(r, u), 0);
	/* untagged from the trunk: its native VLAN 1, so u only (t10 gets it tagged 1) */
	n = frame(f, BC, 2, 0, 60);
	rig_send(r, t, f, n);
	assert_int_equal(rig_recv(r, u, g, sizeof(g)), 60);
	assert_int_equal(rig_recv(r, t10, g, sizeof(g)), 64);
	assert_int_equal(be16(g + 14), 1);
	assert_int_equal(rig_count(r, x) + rig_count(r, y) + rig_count(r, z), 0);
	/* an access port drops frames tagged with another VLAN, and counts them */
	n = frame(f, BC, 1, 20, 64);
	rig_send(r, x, f, n);
	assert_int_equal(stats(r, x).rx_drops, 1);
	for (int i = 0; i < r->n; i++)
		assert_int_equal(rig_count(r, i), 0);
	/* ... but takes its own VLAN's tag, which access ports never see */
	n = frame(f, BC, 1, 10, 64);
	rig_send(r, x, f, n);
	assert_int_equal(rig_recv(r, y, g, sizeof(g)), 60);
	assert_int_equal(rig_recv(r, t, g, sizeof(g)), 64);
	assert_int_equal(rig_recv(r, t10, g, sizeof(g)), 60);
	assert_int_equal(stats(r, x).rx_drops, 1);
	/* learning is per VLAN: MAC 1 is known in VLAN 10, not in 20 */
	{
		uint8_t m1[6];

		mac_of(1, m1);
		assert_int_equal(uk_fdb_lookup(uk_switch_fdb(r->sw), m1, 10, uk_switch_now_ms()),
				 r->id[x]);
		assert_int_equal(uk_fdb_lookup(uk_switch_fdb(r->sw), m1, 20, uk_switch_now_ms()),
				 -1);
		/* a unicast for MAC 1 in VLAN 20 is flooded in VLAN 20, never sent to x */
		n = frame(f, m1, 3, 20, 64);
		rig_send(r, t, f, n);
		assert_int_equal(rig_count(r, x), 0);
		assert_int_equal(rig_count(r, z), 1);
	}
	/* a VLAN outside 1..4094 is refused for a port */
	{
		struct uk_port_conf c = {.kind = UK_PORT_FD, .vlan = 4095};
		struct uk_err err = {0};

		assert_int_equal(uk_switch_add_socket_port(r->sw, -1, &c, NULL, 0, &err), -EINVAL);
	}
	rig_free(r);
}

/* Two tags on an access port's frame are refused: a trunk whose native VLAN is the port's
 * would strip the first and the next switch would take the frame into the second's VLAN. A
 * priority tag (VID 0) is the port's VLAN: replaced on a trunk, stripped on an access port. */
static void test_tags(void **state)
{
	struct rig *r = rig_new(0, false);
	int x = rig_port(r, 1, false), t = rig_port(r, 0, true), z = rig_port(r, 20, false);
	int p10 = rig_port(r, 10, false), y10 = rig_port(r, 10, false);
	uint8_t f[256], g[256];
	static const uint16_t inner[] = {UK_ETH_P_8021Q, UK_ETH_P_8021AD};

	(void)state;
	for (size_t i = 0; i < UK_ARRAY_SIZE(inner); i++) {
		frame(f, BC, 1, 1, 100);    /* tagged with x's own VLAN 1 ... */
		put_be16(f + 16, inner[i]); /* ... and a second tag, for VLAN 20 */
		put_be16(f + 18, 20);
		rig_send(r, x, f, 100);
		assert_int_equal(stats(r, x).rx_drops, i + 1);
		for (int k = 0; k < r->n; k++)
			assert_int_equal(rig_count(r, k), 0);
	}
	/* priority-tagged from an access port of VLAN 10: one tag, VID 10, on the trunk */
	frame(f, BC, 2, 0, 100);
	memmove(f + 16, f + 12, 84);
	put_be16(f + 12, UK_ETH_P_8021Q);
	put_be16(f + 14, 0);
	rig_send(r, p10, f, 100);
	assert_int_equal(rig_recv(r, t, g, sizeof(g)), 100);
	assert_tag(g, f, 10);
	assert_memory_equal(g + 16, f + 16, 84);
	assert_int_equal(rig_recv(r, y10, g, sizeof(g)), 96);
	assert_memory_equal(g + 12, f + 16, 84);
	assert_int_equal(rig_count(r, x) + rig_count(r, z), 0);
	rig_free(r);
}

/* A failed uk_switch_new leaves the caller's descriptors alone (fd 0 among them). */
static void test_new_fails_cleanly(void **state)
{
	struct uk_switch_opts o = {.fdb_size = 0x80000000u}; /* more than the table allows */
	struct uk_err err = {0};

	(void)state;
	if (fcntl(0, F_GETFD) < 0)
		assert_int_equal(open("/dev/null", O_RDONLY), 0);
	assert_null(uk_switch_new(&o, &err));
	assert_true(fcntl(0, F_GETFD) >= 0);
}

/* ---------------------------------------------------------------- hub */
static void test_hub(void **state)
{
	struct rig *r = rig_new(0, true);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false), c = rig_port(r, 0, false);
	uint8_t f[1600], ma[6], mb[6];
	size_t n;

	mac_of(1, ma);
	mac_of(2, mb);
	n = frame(f, BC, 1, 0, 60);
	rig_send(r, a, f, n);
	n = frame(f, BC, 2, 0, 60);
	rig_send(r, b, f, n);
	rig_count(r, a);
	rig_count(r, b);
	rig_count(r, c);
	/* a switch would send a's unicast to b only; a hub floods it */
	for (int i = 0; i < 5; i++) {
		n = frame(f, mb, 1, 0, 60);
		rig_send(r, a, f, n);
		n = frame(f, ma, 2, 0, 60);
		rig_send(r, b, f, n);
	}
	assert_int_equal(rig_count(r, a), 5);
	assert_int_equal(rig_count(r, b), 5);
	assert_int_equal(rig_count(r, c), 10);
	assert_int_equal(uk_fdb_count(uk_switch_fdb(r->sw), uk_switch_now_ms()), 0);
	assert_int_equal(stats(r, c).tx_frames, 12);
	rig_free(r);
}

/* ---------------------------------------------------------------- slow and dead peers */
static void test_full_peer(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false), c = rig_port(r, 0, false);
	uint8_t f[1600];
	int got_c = 0, sent = 2000;
	size_t n = frame(f, BC, 1, 0, 1000);

	/* b never reads: its queue fills, the switch drops for it and goes on */
	for (int i = 0; i < sent; i++) {
		rig_send(r, a, f, n);
		got_c += rig_count(r, c);
	}
	assert_int_equal(got_c, sent);
	assert_int_equal(stats(r, c).tx_frames, sent);
	assert_int_equal(stats(r, c).tx_drops, 0);
	assert_true(stats(r, b).tx_drops > 0);
	assert_int_equal(stats(r, b).tx_frames + stats(r, b).tx_drops, sent);
	assert_int_equal(rig_count(r, b), stats(r, b).tx_frames);
	assert_int_equal(stats(r, a).rx_frames, sent);
	assert_int_equal(r->ndead, 0); /* slow is not dead */
	/* once b reads again it gets frames again */
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, b), 1);
	rig_free(r);
}

static void test_dead_peer(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false), c = rig_port(r, 0, false);
	int d = rig_port(r, 0, false);
	uint8_t f[1600];
	size_t n = frame(f, BC, 1, 0, 60);

	/* b's peer closes: reading b's socket sees EOF */
	close(r->peer[b]);
	r->peer[b] = -1;
	uk_switch_port_readable(r->sw, r->id[b]);
	assert_int_equal(r->ndead, 1);
	assert_int_equal(r->dead[0], r->id[b]);
	/* c's peer closes: sending to it fails, it is reported once, the others still get it */
	close(r->peer[c]);
	r->peer[c] = -1;
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, d), 1);
	assert_int_equal(r->ndead, 2);
	assert_int_equal(r->dead[1], r->id[c]);
	assert_int_equal(stats(r, c).tx_drops, 1);
	rig_send(r, a, f, n);
	assert_int_equal(rig_count(r, d), 1);
	assert_int_equal(r->ndead, 2); /* a dead port is reported once */
	/* until their owner removes them, what the dead ports are sent is dropped and counted */
	assert_int_equal(stats(r, b).tx_drops, 2);
	assert_int_equal(stats(r, c).tx_drops, 2);
	/* an empty packet is a SEQPACKET peer's EOF */
	assert_int_equal(send(r->peer[d], f, 0, 0), 0);
	uk_switch_port_readable(r->sw, r->id[d]);
	assert_int_equal(r->ndead, 3);
	assert_int_equal(r->dead[2], r->id[d]);
	/* the owner removes them; the switch goes on with a */
	uk_switch_remove_port(r->sw, r->id[b]);
	uk_switch_remove_port(r->sw, r->id[c]);
	uk_switch_remove_port(r->sw, r->id[d]);
	uk_switch_remove_port(r->sw, r->id[d]); /* twice is harmless */
	uk_switch_remove_port(r->sw, -1);
	uk_switch_remove_port(r->sw, UK_SW_MAX_PORTS);
	rig_send(r, a, f, n);
	assert_int_equal(stats(r, a).rx_frames, 3);
	rig_free(r);
}

/* ---------------------------------------------------------------- a full learning table */
static void test_fdb_full(void **state)
{
	struct rig *r = calloc(1, sizeof(*r));
	struct uk_switch_opts o = {.fdb_size = 16, .port_dead = on_dead, .ctx = r};
	struct uk_err err = {0};
	uint8_t f[60];
	int a, b;

	(void)state;
	assert_non_null(r);
	r->sw = uk_switch_new(&o, &err);
	assert_non_null(r->sw);
	a = rig_port(r, 0, false);
	b = rig_port(r, 0, false);
	/* 16 addresses fill the 16 entries; each one more takes a live entry's place */
	for (int i = 0; i < 20; i++) {
		frame(f, BC, 0, 0, sizeof(f));
		f[10] = (uint8_t)(i >> 8);
		f[11] = (uint8_t)i;
		rig_send(r, a, f, sizeof(f));
		assert_int_equal(uk_switch_fdb_evicted(r->sw), (uint64_t)(i < 16 ? 0 : i - 15));
	}
	/* a known address again is no eviction */
	rig_send(r, a, f, sizeof(f));
	assert_int_equal(uk_switch_fdb_evicted(r->sw), 4);
	assert_int_equal(rig_count(r, b), 21);
	rig_free(r);
}

/* ---------------------------------------------------------------- bad frames */
static void test_bad_frames(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false);
	static uint8_t f[10000];
	uint8_t g[3];
	uint64_t drops = 0;

	frame(f, BC, 1, 0, sizeof(f));
	for (size_t len = 1; len < UK_ETH_HLEN; len++) { /* too short */
		rig_send(r, a, f, len);
		drops++;
	}
	rig_send(r, a, f, 1500 + 18 + 1); /* one byte longer than the MTU and a tag allow */
	rig_send(r, a, f, 1500 + 19 + 1000);
	rig_send(r, a, f, sizeof(f));
	drops += 3;
	frame(f, BC, 1, 4095, 64); /* VID 4095 */
	rig_send(r, a, f, 64);
	drops++;
	frame(f, BC, 1, 0, 64); /* a group address as source */
	f[6] |= 1;
	rig_send(r, a, f, 64);
	drops++;
	assert_int_equal(stats(r, a).rx_drops, drops);
	assert_int_equal(stats(r, a).rx_frames, 0);
	assert_int_equal(rig_recv(r, b, g, sizeof(g)), -1);
	assert_int_equal(uk_fdb_count(uk_switch_fdb(r->sw), uk_switch_now_ms()), 0);
	/* the largest frames that fit pass: 14 bytes, MTU + 18 untagged and tagged */
	frame(f, BC, 1, 0, 1518);
	rig_send(r, a, f, 14);
	rig_send(r, a, f, 1518);
	frame(f, BC, 1, 1, 1518);
	rig_send(r, a, f, 1518);
	assert_int_equal(stats(r, a).rx_frames, 3);
	assert_int_equal(rig_count(r, b), 3);
	assert_int_equal(r->ndead, 0);
	rig_free(r);

	/* a switch with MTU 9000 takes 9018 bytes, not 9019 */
	r = rig_new(9000, false);
	a = rig_port(r, 0, false);
	b = rig_port(r, 0, false);
	frame(f, BC, 1, 0, 9019);
	rig_send(r, a, f, 9018);
	rig_send(r, a, f, 9019);
	assert_int_equal(stats(r, a).rx_frames, 1);
	assert_int_equal(stats(r, a).rx_drops, 1);
	{
		static uint8_t h[10000];

		assert_int_equal(rig_recv(r, b, h, sizeof(h)), 9018);
		assert_memory_equal(f, h, 9018);
	}
	rig_free(r);
}

static void test_bad_options(void **state)
{
	struct uk_switch_opts o = {.mtu = 67};
	struct uk_err err = {0};

	assert_null(uk_switch_new(&o, &err));
	assert_int_equal(err.code, EINVAL);
	assert_non_null(strstr(err.msg, "MTU 67"));
	o.mtu = UK_SW_MTU_MAX + 1;
	assert_null(uk_switch_new(&o, NULL));
	o.mtu = UK_SW_MTU_MAX;
	uk_switch_free(uk_switch_new(&o, NULL));
	uk_switch_free(NULL);
}

/* ---------------------------------------------------------------- captures */
static int tmpfd(void)
{
	char path[] = "/tmp/uk-capture.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);

	assert_true(fd >= 0);
	unlink(path);
	return fd;
}

/* feed: ROUNDS rounds STEP us apart, FRAMES frames each; returns the last pause */
static uint32_t feed(struct uk_switch_load *l, uint64_t *t, uint64_t *f, int rounds, uint64_t step,
		     unsigned frames, uint32_t max_us)
{
	uint32_t p = 0;

	for (int i = 0; i < rounds; i++, *t += step)
		p = uk_switch_pause(l, *t, *f += frames, max_us);
	return p;
}

/* Interrupt moderation: a pause only under load, as long as 16 frames take at that rate
 * (at most the longest pause, 4000 us here), and none for traffic that a pause cannot batch. */
static void test_moderation(void **state)
{
	struct uk_switch_load l = {0};
	uint64_t t = 1000000, f = 0;
	int paused = 0, rounds = 0;

	(void)state;
	/* a ping every 200 ms, with its reply 0.4 ms later: never a pause */
	for (int i = 0; i < 20; i++, t += 200000) {
		assert_int_equal(uk_switch_pause(&l, t, ++f, 4000), 0);
		assert_int_equal(uk_switch_pause(&l, t + 400, ++f, 4000), 0);
	}
	/* a stream of 20 frames per ms (2 every 0.1 ms): from the first whole window (8 ms, twice
	 * the longest pause) on, the pause is the time 16 frames take, 800 us */
	feed(&l, &t, &f, 81, 100, 2, 4000);
	assert_int_equal(feed(&l, &t, &f, 200, 100, 2, 4000), 800);
	/* 4.5 frames per ms (9 every 2 ms): 16 frames take 3555 us */
	feed(&l, &t, &f, 5, 2000, 9, 4000);
	assert_int_equal(feed(&l, &t, &f, 20, 2000, 9, 4000), 3555);
	/* 1.5 frames per ms: 16 would take 10.7 ms; the pause stops at the longest, 4000 us */
	feed(&l, &t, &f, 5, 2000, 3, 4000);
	assert_int_equal(feed(&l, &t, &f, 20, 2000, 3, 4000), 4000);
	/* exactly the loaded rate, 1 frame per ms (2 every 2 ms), is loaded; half of it is not */
	feed(&l, &t, &f, 5, 2000, 2, 4000);
	assert_int_equal(feed(&l, &t, &f, 20, 2000, 2, 4000), 4000);
	feed(&l, &t, &f, 5, 2000, 1, 4000);
	assert_int_equal(feed(&l, &t, &f, 20, 2000, 1, 4000), 0);
	/* loaded again (once the backoff that the rounds of 1 frame after a pause started is
	 * over: 8 windows, 64 ms), then a long silence: the first round after it (a burst as
	 * big as the last window's) pauses no more, since the silence counts in the rate */
	assert_int_equal(feed(&l, &t, &f, 1000, 100, 2, 4000), 800);
	t += 5000000;
	assert_int_equal(uk_switch_pause(&l, t, f += 160, 4000), 0);
	/* no longest pause, no pause, whatever the load */
	assert_int_equal(feed(&l, &t, &f, 200, 100, 20, 0), 0);

	/* request and response, one at a time, a frame a round: 2 frames per ms unpaused, but
	 * a pause only delays the next one. After a window whose pauses gathered 1 frame each,
	 * no pause for 8 windows; it tries again after them, and each futile try in a row
	 * doubles the wait, up to 64 windows (512 ms), so pauses stay rare. */
	struct uk_switch_load pp = {0};
	uint32_t p = 0, backoffs[8];
	int nb = 0;
	t = 1000000;
	for (int i = 0; i < 6000; i++, rounds++) {
		uint32_t was = p;

		p = uk_switch_pause(&pp, t, ++f, 4000);
		paused += p > 0;
		if (was > 0 &&
		    p == 0) { /* a backoff starts: at least 8 whole windows of no pause */
			if (nb < 8)
				backoffs[nb++] = pp.backoff;
			for (int k = 0; k < 8 * 16 - 1; k++, rounds++, t += 500)
				assert_int_equal(uk_switch_pause(&pp, t + 500, ++f, 4000), 0);
		}
		t += p ? p : 500;
	}
	assert_true(nb >= 5);
	assert_int_equal(backoffs[0], 8);
	assert_int_equal(backoffs[1], 16);
	assert_int_equal(backoffs[2], 32);
	assert_int_equal(backoffs[3], 64);
	assert_int_equal(backoffs[4], 64);
	assert_true(paused > 0);
	assert_true(paused * 50 < rounds);
	/* pauses that pay (a stream) end the doubling: the next futile try waits 8 again */
	feed(&pp, &t, &f, 8000, 100, 2, 4000); /* 800 ms: past the longest backoff */
	assert_int_equal(pp.futile_tries, 0);

	/* the same pace as a stream (2 frames each round, also after a pause) keeps pausing: its
	 * pauses gather 2 frames, never futile, so it never backs off (the rate a window sees
	 * drops while it pauses, so a window of pauses and one without take turns) */
	struct uk_switch_load st = {0};
	int st_paused = 0;
	t = 1000000;
	p = 0;
	for (int i = 0; i < 400; i++) {
		p = uk_switch_pause(&st, t, f += 2, 4000);
		st_paused += p == 4000;
		assert_int_equal(st.backoff, 0);
		t += p ? p : 1000;
	}
	assert_true(st_paused >= 40);

	/* a longest pause of 10 ms stretches the window to 20 ms: the rate of a 4 ms window is
	 * not judged yet, a 20 ms one is */
	struct uk_switch_load m = {0};
	uint64_t t2 = 1000000, f2 = 0;
	assert_int_equal(uk_switch_pause(&m, t2, f2, 10000), 0); /* the window starts */
	t2 += 100;
	assert_int_equal(feed(&m, &t2, &f2, 40, 100, 1, 10000), 0);	/* 4 ms at 10 per ms */
	assert_int_equal(feed(&m, &t2, &f2, 160, 100, 1, 10000), 1600); /* 200 frames in 20 ms */
	/* a window with no frames at all: no pause (and no division by zero) */
	assert_int_equal(feed(&m, &t2, &f2, 2, 30000, 0, 10000), 0);
	/* the caller's pause_frames: 3 frames at 20 per ms take 150 us */
	struct uk_switch_load g = {.pause_frames = 3};
	t2 = 1000000;
	feed(&g, &t2, &f2, 81, 100, 2, 4000);
	assert_int_equal(feed(&g, &t2, &f2, 200, 100, 2, 4000), 150);
}

/* A switch with legacy daemon ports on the shared datagram socket (10 frames of queue for
 * all of them) pauses for fewer frames, as long as it has any. */
static void test_pause_frames(void **state)
{
	struct rig *r = rig_new(0, false);
	struct uk_port_conf c = {.kind = UK_PORT_DAEMON};
	struct sockaddr_un a = {.sun_family = AF_UNIX, .sun_path = "\0pf-a"};
	struct sockaddr_un b = {.sun_family = AF_UNIX, .sun_path = "\0pf-b"};
	struct uk_err err = {0};
	int sv[2], pa, pb;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
	rig_port(r, 0, false);
	assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES);
	pa = uk_switch_add_socket_port(r->sw, sv[0], &c, &a, sizeof(a), &err);
	pb = uk_switch_add_socket_port(r->sw, sv[0], &c, &b, sizeof(b), &err);
	assert_true(pa >= 0 && pb >= 0);
	assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES_SHARED);
	uk_switch_remove_port(r->sw, pa);
	assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES_SHARED);
	uk_switch_remove_port(r->sw, pb);
	assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES);
	rig_free(r);
	close(sv[0]);
	close(sv[1]);
}

/* A datagram socket bound to a fresh abstract address (all 110 bytes, as UML binds). */
static int dgram_bound(struct sockaddr_un *a, int n)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "own-%d-%d", (int)getpid(), n);
	assert_int_equal(bind(fd, (struct sockaddr *)a, sizeof(*a)), 0);
	return fd;
}

/* The counters of engine port id (not a rig index). */
static struct uk_port_stats port_stats(struct rig *r, int id)
{
	struct uk_port_stats st;

	assert_int_equal(uk_switch_port_info(r->sw, id, NULL, &st), 0);
	return st;
}

/* A legacy guest's port with a data socket of its own, as the legacy module makes it: the
 * guest's socket *g (bound at n), ours *s (bound at n + 1, connected to the guest's; the
 * engine owns it), at *sa. Returns the port. */
static int legacy_port(struct rig *r, int n, int *g, int *s, struct sockaddr_un *sa)
{
	struct uk_port_conf c = {.kind = UK_PORT_DAEMON};
	struct uk_err err = {0};
	struct sockaddr_un ga;
	int id;

	*g = dgram_bound(&ga, n);
	*s = dgram_bound(sa, n + 1);
	assert_int_equal(connect(*s, (struct sockaddr *)&ga, sizeof(ga)), 0);
	id = uk_switch_add_socket_port(r->sw, *s, &c, NULL, 0, &err);
	assert_true(id >= 0);
	return id;
}

/* A legacy guest with a data socket of its own (connected to the guest's): the engine owns
 * and polls it, sends without an address, and takes an empty datagram for a runt frame, not
 * for an end. The guest's frames to it do not count against the datagram queue limit. */
static void test_daemon_own_socket(void **state)
{
	struct rig *r = rig_new(0, false);
	struct uk_port_conf c = {.kind = UK_PORT_DAEMON};
	struct uk_err err = {0};
	struct sockaddr_un sa;
	uint8_t f[128], buf[256];
	int a = rig_port(r, 0, false), g, s, id = legacy_port(r, 0, &g, &s, &sa);

	(void)state;
	assert_int_equal(uk_switch_port_fd(r->sw, id), s);
	assert_int_equal(uk_switch_port_socket(r->sw, id), s);
	assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES_DGRAM);
	{
		/* a guest on the shared socket beside it: the shorter pause of the shared queue */
		struct sockaddr_un x = {.sun_family = AF_UNIX, .sun_path = "\0own-x"};
		int sh = uk_switch_add_socket_port(r->sw, s, &c, &x, sizeof(x), &err);

		assert_true(sh >= 0);
		assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES_SHARED);
		uk_switch_remove_port(r->sw, sh);
		assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES_DGRAM);
	}
	/* more frames than net.unix.max_dgram_qlen (10 by default), none refused */
	frame(f, BC, 7, 0, 60);
	for (int i = 0; i < 20; i++)
		assert_int_equal(sendto(g, f, 60, 0, (struct sockaddr *)&sa, sizeof(sa)), 60);
	uk_switch_port_readable(r->sw, id);
	assert_int_equal(rig_count(r, a), 20);
	assert_int_equal(stats(r, a).tx_frames, 20);
	/* to the learned guest: sent on the connected socket, no address needed */
	mac_of(7, buf);
	frame(f, buf, 1, 0, 64);
	rig_send(r, a, f, 64);
	assert_int_equal(recv(g, buf, sizeof(buf), MSG_DONTWAIT), 64);
	assert_int_equal(buf[63], 64);
	/* an empty datagram: a runt, dropped and counted; the port lives */
	assert_int_equal(sendto(g, f, 0, 0, (struct sockaddr *)&sa, sizeof(sa)), 0);
	uk_switch_port_readable(r->sw, id);
	assert_int_equal(r->ndead, 0);
	assert_int_equal(uk_switch_port_info(r->sw, id, NULL, NULL), 0);
	assert_int_equal(port_stats(r, id).rx_frames, 20);
	assert_int_equal(port_stats(r, id).rx_drops, 1);
	/* the engine owns the socket: removing the port closes it */
	uk_switch_remove_port(r->sw, id);
	assert_int_equal(fcntl(s, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
	assert_int_equal(uk_switch_pause_frames(r->sw), UK_SW_PAUSE_FRAMES);
	close(g);
	rig_free(r);
}

/* On the shared data socket a sender is known by its address: one without (unbound) is
 * nobody's, not that of a guest with a socket of its own (whose port has no address). */
static void test_daemon_unnamed_sender(void **state)
{
	struct rig *r = rig_new(0, false);
	struct sockaddr_un da, sa;
	uint8_t f[128];
	int a = rig_port(r, 0, false), g, s, id = legacy_port(r, 20, &g, &s, &sa);
	int data = dgram_bound(&da, 22);
	int anon = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	(void)state;
	assert_true(anon >= 0);
	frame(f, BC, 9, 0, 60);
	assert_int_equal(sendto(anon, f, 60, 0, (struct sockaddr *)&da, sizeof(da)), 60);
	uk_switch_daemon_readable(r->sw, data);
	assert_int_equal(uk_switch_stray_frames(r->sw), 1);
	assert_int_equal(port_stats(r, id).rx_frames, 0);
	assert_int_equal(rig_count(r, a), 0);
	close(anon);
	close(data);
	close(g);
	rig_free(r);
}

/* How many datagrams an AF_UNIX socket queues from senders it is not connected to. */
static int dgram_qlen(void)
{
	FILE *f = fopen("/proc/sys/net/unix/max_dgram_qlen", "r");
	int n = 10;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 10;
		fclose(f);
	}
	return n;
}

/* Frames to a legacy guest whose 10-datagram queue is full wait in the port's backlog, in
 * order, and go out as the guest reads; only what overflows the backlog is dropped. */
static void test_daemon_backlog(void **state)
{
	struct rig *r = rig_new(0, false);
	struct sockaddr_un sa;
	uint8_t f[1600], buf[1600], dst[6];
	int a = rig_port(r, 0, false), g, s, id = legacy_port(r, 2, &g, &s, &sa);
	int q, got = 0, sent = dgram_qlen() + 30, spins = 0;

	(void)state;
	/* the switch learns the guest (MAC 7) */
	frame(f, BC, 7, 0, 60);
	assert_int_equal(sendto(g, f, 60, 0, (struct sockaddr *)&sa, sizeof(sa)), 60);
	uk_switch_port_readable(r->sw, id);
	rig_count(r, a);
	mac_of(7, dst);
	/* a burst the guest does not read yet: its queue takes q, the rest waits */
	for (int i = 0; i < sent; i++) {
		frame(f, dst, 1, 0, 1000);
		put_be16(f + 20, (uint16_t)i);
		rig_send(r, a, f, 1000);
	}
	q = (int)port_stats(r, id).tx_frames;
	assert_true(q >= 1 && q < sent);
	assert_int_equal(port_stats(r, id).tx_drops, 0);
	assert_true(r->blocked);
	assert_int_equal(r->blocked_port, id);
	assert_int_equal(r->nblocked, 1);
	assert_int_equal(port_stats(r, id).held, sent - q);
	/* as the guest reads, the owner says the socket is writable: all of it, in order */
	while (got < sent && spins++ < 1000) {
		ssize_t n = recv(g, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			uk_switch_port_writable(r->sw, id);
			continue;
		}
		assert_int_equal(n, 1000);
		assert_int_equal(be16(buf + 20), got);
		got++;
	}
	assert_int_equal(got, sent);
	assert_int_equal(port_stats(r, id).tx_frames, sent);
	assert_int_equal(port_stats(r, id).tx_drops, 0);
	assert_int_equal(port_stats(r, id).held, 0);
	assert_false(r->blocked);
	assert_int_equal(r->nblocked, 2);
	/* more than the queue and the backlog hold: the newest are dropped and counted */
	sent = q + UK_SW_BACKLOG + 25;
	for (int i = 0; i < sent; i++) {
		frame(f, dst, 1, 0, 1000);
		put_be16(f + 20, (uint16_t)i);
		rig_send(r, a, f, 1000);
	}
	assert_int_equal(port_stats(r, id).tx_drops, 25);
	assert_int_equal(port_stats(r, id).held, UK_SW_BACKLOG);
	for (got = 0, spins = 0; spins < 1000; spins++) {
		ssize_t n = recv(g, buf, sizeof(buf), MSG_DONTWAIT);

		if (n < 0) {
			if (!r->blocked)
				break;
			uk_switch_port_writable(r->sw, id);
			continue;
		}
		assert_int_equal(be16(buf + 20), got);
		got++;
	}
	assert_int_equal(got, q + UK_SW_BACKLOG);
	/* a port removed with frames held back counts them as dropped (no leak: ASan) */
	for (int i = 0; i < q + 5; i++)
		rig_send(r, a, f, 1000);
	assert_true(r->blocked);
	uk_switch_remove_port(r->sw, id);
	close(g);
	rig_free(r);
}

/* Which inputs a pause leaves waiting: the slow ones, up to an eighth of the frames. */
static void test_quiet(void **state)
{
	/* an 8 ms window: a transfer (60 frames) and its acknowledgements (30), two pings
	 * (2 frames each), a port that sent nothing, a control socket (no frames) */
	const uint64_t c1[] = {60, 2, 30, 0, 2, 0};
	/* sixteen ports of 3 frames each (48): an eighth is 6, two of them */
	uint64_t c2[16];
	/* below the rate, but more than an eighth of the frames: 7 of 8 + 7 = 15 (budget 1) */
	const uint64_t c3[] = {7, 8};
	int order[16];
	bool q[16], b[16];

	(void)state;
	uk_switch_quiet(c1, NULL, 6, 96, 8000, order, q, b);
	assert_true(b[0] && !b[1] && b[2] && !b[3] && !b[4] && !b[5]);
	assert_false(q[0]);
	assert_true(q[1]);
	assert_false(q[2]);
	assert_true(q[3]);
	assert_true(q[4]);
	assert_true(q[5]);
	/* the same counts in a 1 ms window: 2 frames a ms is not slow, only the silent ones */
	uk_switch_quiet(c1, NULL, 6, 96, 1000, order, q, NULL);
	assert_true(!q[0] && !q[1] && !q[2] && q[3] && !q[4] && q[5]);
	for (int i = 0; i < 16; i++)
		c2[i] = 3;
	uk_switch_quiet(c2, NULL, 16, 48, 8000, order, q, NULL);
	{
		int n = 0;

		for (int i = 0; i < 16; i++)
			n += q[i];
		assert_int_equal(n, 2);
	}
	uk_switch_quiet(c3, NULL, 2, 15, 8000, order, q, NULL);
	assert_false(q[0]);
	assert_false(q[1]);
	/* the NAT's frames count in the total, though no watch brought them: 8 of 64 is an
	 * eighth */
	uk_switch_quiet(c3, NULL, 2, 64, 8000, order, q, NULL);
	assert_true(q[0]);
	assert_false(q[1]);
	/* nothing at all */
	uk_switch_quiet(c3, NULL, 0, 0, 8000, order, q, NULL);
	/* answers: the acknowledgements (now 6 of 96: below the rate, within an eighth) went to
	 * the transfer's port, all of them; a ping's went there once of 2 (not more than half) */
	{
		const uint64_t c4[] = {60, 2, 6, 0, 2, 0}, a4[] = {0, 1, 6, 0, 0, 0};

		uk_switch_quiet(c4, NULL, 6, 96, 8000, order, q, NULL);
		assert_true(!q[0] && q[1] && q[2] && q[3] && q[4] && q[5]);
		uk_switch_quiet(c4, a4, 6, 96, 8000, order, q, b);
		assert_true(!q[0] && q[1] && !q[2] && q[3] && q[4] && q[5]);
		/* only the transfer brings the load: the acknowledgements are paced as answers,
		 * and what answers them in turn is not kept paced by them */
		assert_true(b[0] && !b[1] && !b[2] && !b[3] && !b[4] && !b[5]);
	}
}

/* A port's frames that went to a port that brings the load are counted: unicast only, while
 * it does. */
static void test_to_loaded(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false), c = rig_port(r, 0, false);
	uint8_t f[1600], ma[6], mb[6];
	size_t n;

	(void)state;
	mac_of(1, ma);
	mac_of(2, mb);
	n = frame(f, ma, 2, 0, 60); /* b to a, unknown yet: flooded */
	rig_send(r, b, f, n);
	n = frame(f, mb, 1, 0, 60); /* a to b: known, not paced */
	rig_send(r, a, f, n);
	assert_int_equal(uk_switch_port_to_loaded(r->sw, r->id[b]), 0);
	assert_int_equal(uk_switch_port_to_loaded(r->sw, r->id[a]), 0);
	uk_switch_port_set_loads(r->sw, r->id[a], true);
	n = frame(f, ma, 2, 0, 60); /* b to a, which brings the load now: counted, twice */
	rig_send(r, b, f, n);
	rig_send(r, b, f, n);
	n = frame(f, BC, 3, 0, 60); /* c's broadcast reaches a too: not an answer */
	rig_send(r, c, f, n);
	assert_int_equal(uk_switch_port_to_loaded(r->sw, r->id[b]), 2);
	assert_int_equal(uk_switch_port_to_loaded(r->sw, r->id[c]), 0);
	uk_switch_port_set_loads(r->sw, r->id[a], false);
	n = frame(f, ma, 2, 0, 60);
	rig_send(r, b, f, n);
	assert_int_equal(uk_switch_port_to_loaded(r->sw, r->id[b]), 2);
	assert_int_equal(rig_count(r, a), 5);
	/* no such port */
	uk_switch_port_set_loads(r->sw, -1, true);
	uk_switch_port_set_loads(r->sw, UK_SW_MAX_PORTS, true);
	assert_int_equal(uk_switch_port_to_loaded(r->sw, UK_SW_MAX_PORTS), 0);
	rig_free(r);
}

static void test_capture(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, true);
	uint8_t f[1600], h[4096];
	struct uk_err err = {0};
	size_t n1, n2;
	int fd = tmpfd();

	assert_int_equal(uk_switch_capture_start(r->sw, -1, dup(fd), &err), 0);
	n1 = frame(f, BC, 1, 0, 60);
	rig_send(r, a, f, n1);
	n2 = frame(f + 100, BC, 2, 7, 90); /* tagged, as received on the trunk */
	rig_send(r, b, f + 100, n2);
	rig_send(r, a, f, 5); /* dropped frames are not captured */
	uk_switch_capture_stop(r->sw);
	rig_send(r, a, f, n1); /* nor frames after the stop */
	assert_int_equal(pread(fd, h, sizeof(h), 0), 24 + 16 + 60 + 16 + 90);
	/* the header: magic, version 2.4, zone 0, sigfigs 0, snaplen, LINKTYPE_ETHERNET */
	assert_int_equal(uk_get_le32(h), 0xa1b2c3d4);
	assert_int_equal(le16(h + 4), 2);
	assert_int_equal(le16(h + 6), 4);
	assert_int_equal(uk_get_le32(h + 8), 0);
	assert_int_equal(uk_get_le32(h + 12), 0);
	assert_int_equal(uk_get_le32(h + 16), 1518);
	assert_int_equal(uk_get_le32(h + 20), 1);
	/* records: seconds, microseconds, captured and original length, the frame as received */
	assert_true(uk_get_le32(h + 24) > 1600000000u);
	assert_true(uk_get_le32(h + 28) < 1000000u);
	assert_int_equal(uk_get_le32(h + 32), 60);
	assert_int_equal(uk_get_le32(h + 36), 60);
	assert_memory_equal(h + 40, f, 60);
	assert_int_equal(uk_get_le32(h + 100 + 8), 90);
	assert_int_equal(uk_get_le32(h + 100 + 12), 90);
	assert_memory_equal(h + 116, f + 100, 90);
	close(fd);

	/* one port only */
	fd = tmpfd();
	assert_int_equal(uk_switch_capture_start(r->sw, r->id[b], dup(fd), &err), 0);
	rig_send(r, a, f, n1);
	rig_send(r, b, f + 100, n2);
	assert_int_equal(pread(fd, h, sizeof(h), 0), 24 + 16 + 90);
	assert_int_equal(uk_get_le32(h + 32), 90);
	/* removing the captured port ends the capture */
	uk_switch_remove_port(r->sw, r->id[b]);
	rig_send(r, a, f, n1);
	assert_int_equal(pread(fd, h, sizeof(h), 0), 24 + 16 + 90);
	close(fd);

	/* a capture file that cannot be written is refused */
	{
		int p[2];

		assert_int_equal(pipe2(p, O_CLOEXEC), 0);
		close(p[0]);
		signal(SIGPIPE, SIG_IGN);
		assert_true(uk_switch_capture_start(r->sw, -1, p[1], &err) < 0);
		assert_int_equal(err.code, EPIPE);
		rig_send(r, a, f, n1); /* and forwarding goes on */
		assert_int_equal(stats(r, a).rx_frames, 5);
	}
	rig_free(r);
}

static void on_alarm(int sig)
{
	(void)sig;
	_exit(3); /* a hang is a failure */
}

/* A capture into a pipe nobody reads never stalls the switch: what does not fit is lost and
 * counted, and the pipe holds whole records only. */
static void test_capture_full_pipe(void **state)
{
	struct rig *r = rig_new(0, false);
	int a = rig_port(r, 0, false), b = rig_port(r, 0, false);
	static uint8_t f[1514], h[1 << 20];
	struct uk_err err = {0};
	int p[2], frames = 200, got = 0;
	ssize_t n;
	size_t off = 24;

	(void)state;
	signal(SIGALRM, on_alarm);
	alarm(20);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(uk_switch_capture_start(r->sw, -1, p[1], &err), 0);
	frame(f, BC, 1, 0, sizeof(f));
	for (int i = 0; i < frames; i++) {
		rig_send(r, a, f, sizeof(f));
		got += rig_count(r, b);
	}
	alarm(0);
	assert_int_equal(got, frames);
	assert_true(uk_switch_capture_drops(r->sw) > 0);
	n = read(p[0], h, sizeof(h));
	assert_true(n > 24);
	while (off + 16 <= (size_t)n)
		off += 16 + uk_get_le32(h + off + 8);
	assert_int_equal(off, (size_t)n); /* no record cut short */
	assert_int_equal((off - 24) / (16 + sizeof(f)) + uk_switch_capture_drops(r->sw),
			 (uint64_t)frames);
	close(p[0]);
	rig_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_learning),
		cmocka_unit_test(test_flooding),
		cmocka_unit_test(test_vlans),
		cmocka_unit_test(test_hub),
		cmocka_unit_test(test_full_peer),
		cmocka_unit_test(test_dead_peer),
		cmocka_unit_test(test_fdb_full),
		cmocka_unit_test(test_bad_frames),
		cmocka_unit_test(test_bad_options),
		cmocka_unit_test(test_capture),
		cmocka_unit_test(test_capture_full_pipe),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_new_fails_cleanly),
		cmocka_unit_test(test_daemon_unnamed_sender),
		cmocka_unit_test(test_moderation),
		cmocka_unit_test(test_pause_frames),
		cmocka_unit_test(test_quiet),
		cmocka_unit_test(test_to_loaded),
		cmocka_unit_test(test_daemon_own_socket),
		cmocka_unit_test(test_daemon_backlog),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
