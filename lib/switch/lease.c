// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Who has which address behind the NAT uplink, and the guests' forwards that follow it.
 *
 * The source is libslirp's own DHCP server: its ACKs are the only frames read here, and they
 * come from slirp (cb_send_packet), never from a guest. An ACK names the client's MAC and the
 * address given to it; the port is the one the switch learned that MAC on, from the request
 * the guest just sent. A guest's own frames (its ARP, its IPv4 source addresses) are never
 * taken for anyone's address: a guest can claim any address in them, slirp's lease is what
 * slirp will deliver to. The first port to hold a lease keeps it while it lives (a guest that
 * sends another's MAC cannot take that guest's lease from it), and a port's records go with
 * the port. A guest's static address (umlkit.ip=) comes from its launcher with the port.
 *
 * A guest's forward (--net switch:NAME,forward=tcp:8080:80) waits, its host port held by a
 * socket bound there (no other program can bind it meanwhile, and a connection is refused
 * rather than left hanging), until its guest's address is known; it is then added to slirp,
 * moved when the address changes, and removed with the port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "umlkit/util.h"
#include "nat-internal.h"

#define LEASE_MAX 64 /* slirp gives at most 16 */

struct lease {
	bool used;
	uint8_t mac[6];
	struct in_addr addr;
	int port;
	uint64_t at_ms; /* when its last ACK went out */
};

struct gfwd {
	struct nat_fwd f; /* gaddr: the address it was added with; 0 while waiting */
	bool added;
	int hold; /* the socket that holds its host port while it waits, or -1 */
	char error[160];
};

/* What a guest's port brought (add-port's "mac", "addr", "forwards"). */
struct gport {
	bool has_mac, has_static;
	uint8_t mac[6];
	struct in_addr addr; /* static */
	struct gfwd fwd[UK_SW_GUEST_FWDS];
	int nfwd;
};

struct nat_leases {
	struct nat *n;
	struct uk_switch *sw;
	int nat_port;
	struct lease lease[LEASE_MAX];
	struct gport *gp[UK_SW_MAX_PORTS];
	bool dirty;	    /* an address changed: settle the forwards */
	uint64_t conflicts; /* ACKs for a MAC whose lease another port holds */
};

/* ---- the DHCP ACK (pure) ---- */
#define BOOTP_MIN   240 /* the fixed part and the cookie */
#define DHCP_ACK    5
#define OPT_MSGTYPE 53

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* The DHCP message type in the options at o (len bytes), or -1. */
static int dhcp_type(const uint8_t *o, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t code = o[i];

		if (code == 0) { /* pad */
			i++;
			continue;
		}
		if (code == 255 || i + 1 >= len || i + 2 + o[i + 1] > len)
			return -1;
		if (code == OPT_MSGTYPE)
			return o[i + 1] == 1 ? o[i + 2] : -1;
		i += 2 + (size_t)o[i + 1];
	}
	return -1;
}

int uk_swd_dhcp_ack_parse(const uint8_t *f, size_t len, uint8_t mac[6], struct in_addr *yiaddr)
{
	size_t ihl, tot, ulen;
	const uint8_t *ip, *udp, *b;

	if (len < UK_ETH_HLEN + 20 || be16(f + 12) != 0x0800)
		return -EINVAL;
	ip = f + UK_ETH_HLEN;
	ihl = (size_t)(ip[0] & 0x0f) * 4;
	tot = be16(ip + 2);
	if (ip[0] >> 4 != 4 || ihl < 20 || tot < ihl + 8 || tot > len - UK_ETH_HLEN ||
	    ip[9] != IPPROTO_UDP || (be16(ip + 6) & 0x3fff)) /* a fragment: not read */
		return -EINVAL;
	udp = ip + ihl;
	ulen = be16(udp + 4);
	if (be16(udp) != 67 || be16(udp + 2) != 68 || ulen < 8 + BOOTP_MIN || ulen > tot - ihl)
		return -EINVAL;
	b = udp + 8;
	/* BOOTREPLY, Ethernet, 6-byte addresses, the DHCP cookie */
	if (b[0] != 2 || b[1] != 1 || b[2] != 6 || memcmp(b + 236, "\x63\x82\x53\x63", 4))
		return -EINVAL;
	if (dhcp_type(b + BOOTP_MIN, ulen - 8 - BOOTP_MIN) != DHCP_ACK)
		return -EINVAL;
	if ((b[28] & 1) || !memcmp(b + 28, "\0\0\0\0\0\0", 6) || !memcmp(b + 16, "\0\0\0\0", 4))
		return -EINVAL; /* a group or zero MAC, no address given */
	memcpy(mac, b + 28, 6);
	memcpy(&yiaddr->s_addr, b + 16, 4);
	return 0;
}

int uk_switch_guest_forward_check(const char *spec, struct uk_err *err)
{
	struct nat_fwd f;

	return uk_swd_nat_forward_parse(spec, NAT_FWD_GUEST, &f, err);
}

/* ---- the table ---- */
struct nat_leases *uk_nat_leases_new(struct nat *n, struct uk_switch *sw, int nat_port)
{
	struct nat_leases *l = calloc(1, sizeof(*l));

	if (l) {
		l->n = n;
		l->sw = sw;
		l->nat_port = nat_port;
	}
	return l;
}

static void gport_free(struct gport *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->nfwd; i++)
		if (g->fwd[i].hold >= 0)
			close(g->fwd[i].hold);
	free(g);
}

void uk_nat_leases_free(struct nat_leases *l)
{
	if (!l)
		return;
	for (int p = 0; p < UK_SW_MAX_PORTS; p++)
		gport_free(l->gp[p]);
	free(l);
}

static struct lease *lease_of_mac(struct nat_leases *l, const uint8_t mac[6])
{
	for (int i = 0; i < LEASE_MAX; i++)
		if (l->lease[i].used && !memcmp(l->lease[i].mac, mac, 6))
			return &l->lease[i];
	return NULL;
}

/* A free record, or the oldest one. */
static struct lease *lease_slot(struct nat_leases *l)
{
	struct lease *old = &l->lease[0];

	for (int i = 0; i < LEASE_MAX; i++) {
		if (!l->lease[i].used)
			return &l->lease[i];
		if (l->lease[i].at_ms < old->at_ms)
			old = &l->lease[i];
	}
	return old;
}

void uk_nat_leases_snoop(struct nat_leases *l, const void *frame, size_t len)
{
	struct uk_port_conf nc;
	struct in_addr addr;
	struct lease *e;
	uint8_t mac[6];
	uint64_t now = uk_switch_now_ms();
	int port;

	if (!l || uk_swd_dhcp_ack_parse(frame, len, mac, &addr) < 0 ||
	    uk_switch_port_info(l->sw, l->nat_port, &nc, NULL) < 0)
		return;
	port = uk_fdb_lookup(uk_switch_fdb(l->sw), mac, nc.vlan, now);
	if (port < 0 || port == l->nat_port)
		return;
	e = lease_of_mac(l, mac);
	if (e && e->port != port) {
		l->conflicts++;
		return;
	}
	/* slirp gives an address to one MAC at a time: a record of it for another is stale */
	for (int i = 0; i < LEASE_MAX; i++)
		if (l->lease[i].used && l->lease[i].addr.s_addr == addr.s_addr && &l->lease[i] != e)
			l->lease[i].used = false;
	if (!e) {
		e = lease_slot(l);
		*e = (struct lease){.used = true, .port = port};
		memcpy(e->mac, mac, 6);
	}
	e->addr = addr;
	e->at_ms = now;
	l->dirty = true;
}

/* The address port's forwards go to: its static one, else the lease of its own MAC (when it
 * was given one), else its newest lease; 0 when none is known. */
static struct in_addr port_addr(const struct nat_leases *l, int port, const char **source)
{
	const struct gport *g = l->gp[port];
	const struct lease *best = NULL;

	*source = "static";
	if (g && g->has_static)
		return g->addr;
	*source = "dhcp";
	for (int i = 0; i < LEASE_MAX; i++) {
		const struct lease *e = &l->lease[i];

		if (!e->used || e->port != port)
			continue;
		if (g && g->has_mac && !memcmp(e->mac, g->mac, 6))
			return e->addr;
		if (!best || e->at_ms > best->at_ms)
			best = e;
	}
	*source = NULL;
	return best ? best->addr : (struct in_addr){0};
}

/* Add (or move) forward w to addr. */
static void fwd_settle(struct nat_leases *l, struct gfwd *w, struct in_addr addr)
{
	struct uk_err err = {0};
	struct nat_fwd f = w->f;
	char spec[128];

	if (w->added && w->f.gaddr.s_addr == addr.s_addr)
		return;
	if (w->added)
		uk_nat_fwd_uninstall(l->n, &w->f);
	w->added = false;
	if (w->hold >= 0) { /* let go of the host port for slirp to take it */
		close(w->hold);
		w->hold = -1;
	}
	f.gaddr = addr;
	uk_nat_fwd_format(&f, spec, sizeof(spec));
	if (uk_nat_fwd_install(l->n, spec, &f, &err) < 0) {
		snprintf(w->error, sizeof(w->error), "%.*s", (int)sizeof(w->error) - 1, err.msg);
		w->f.gaddr.s_addr = 0;
		return;
	}
	w->f = f;
	w->added = true;
	w->error[0] = '\0';
}

void uk_nat_leases_settle(struct nat_leases *l)
{
	if (!l || !l->dirty)
		return;
	l->dirty = false;
	for (int p = 0; p < UK_SW_MAX_PORTS; p++) {
		struct gport *g = l->gp[p];
		const char *src;
		struct in_addr a;

		if (!g || !g->nfwd)
			continue;
		a = port_addr(l, p, &src);
		if (!a.s_addr)
			continue;
		for (int i = 0; i < g->nfwd; i++)
			fwd_settle(l, &g->fwd[i], a);
	}
}

int uk_nat_leases_holder(const struct nat_leases *l, const struct nat_fwd *f)
{
	if (!l)
		return -1;
	for (int p = 0; p < UK_SW_MAX_PORTS; p++) {
		const struct gport *g = l->gp[p];

		for (int i = 0; g && i < g->nfwd; i++) {
			const struct nat_fwd *o = &g->fwd[i].f;

			if (o->udp == f->udp && o->haddr.s_addr == f->haddr.s_addr &&
			    o->hport == f->hport)
				return p;
		}
	}
	return -1;
}

/* Hold f's host port: a socket bound there, not listening (without SO_REUSEADDR: no other
 * socket can bind it, and a connection is refused). Its fd, or -errno. */
static int hold_port(const struct nat_fwd *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(f->hport)};
	int s = socket(AF_INET, (f->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	int e;

	if (s < 0)
		return -errno;
	a.sin_addr = f->haddr;
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) == 0)
		return s;
	e = errno;
	close(s);
	return -e;
}

/* One of add-port's "forwards" for guest g of port. */
static int add_forward(struct nat_leases *l, struct gport *g, int port, const char *guest,
		       const char *spec, struct uk_err *err)
{
	struct gfwd *w = &g->fwd[g->nfwd];
	char h[INET_ADDRSTRLEN], text[128];
	int r, k;

	if (g->nfwd == UK_SW_GUEST_FWDS)
		return uk_err_set(err, E2BIG, "guest '%s': at most %d forwards a link", guest,
				  UK_SW_GUEST_FWDS);
	*w = (struct gfwd){.hold = -1};
	r = uk_swd_nat_forward_parse(spec, NAT_FWD_GUEST, &w->f, err);
	if (r < 0)
		return uk_err_prefix(err, r, "guest '%s': ", guest);
	w->f.owner = port;
	k = uk_nat_fwd_find(l->n, &w->f);
	for (int i = 0; i < g->nfwd; i++) /* twice in one link's */
		if (g->fwd[i].f.udp == w->f.udp && g->fwd[i].f.haddr.s_addr == w->f.haddr.s_addr &&
		    g->fwd[i].f.hport == w->f.hport)
			k = i;
	if (k >= 0 || uk_nat_leases_holder(l, &w->f) >= 0) {
		uk_nat_fwd_format(&w->f, text, sizeof(text));
		return uk_err_set(err, EEXIST,
				  "guest '%s': forward '%s': %s:%s:%u is forwarded already%s",
				  guest, spec, w->f.udp ? "udp" : "tcp",
				  inet_ntop(AF_INET, &w->f.haddr, h, sizeof(h)), w->f.hport,
				  k >= 0 ? "" : " (to another guest)");
	}
	w->hold = hold_port(&w->f);
	if (w->hold < 0)
		return uk_err_sys(err, -w->hold,
				  "guest '%s': forward '%s': cannot listen on %s %s:%u", guest,
				  spec, w->f.udp ? "udp" : "tcp",
				  inet_ntop(AF_INET, &w->f.haddr, h, sizeof(h)), w->f.hport);
	g->nfwd++;
	return 0;
}

/* add-port's "mac" and "addr" for guest g. */
static int add_addresses(struct nat_leases *l, struct gport *g, json_t *req, const char *guest,
			 struct uk_err *err)
{
	const char *mac = json_string_value(json_object_get(req, "mac"));
	const char *addr = json_string_value(json_object_get(req, "addr"));
	char what[96];

	if (mac && (uk_mac_parse(mac, g->mac) < 0 || (g->mac[0] & 1)))
		return uk_err_set(err, EINVAL, "guest '%s': '%.20s' is not a unicast MAC", guest,
				  mac);
	g->has_mac = mac != NULL;
	if (!addr)
		return 0;
	if (inet_pton(AF_INET, addr, &g->addr) != 1)
		return uk_err_set(err, EINVAL, "guest '%s': '%.20s' is not an IPv4 address", guest,
				  addr);
	g->has_static = true;
	if (!g->nfwd) /* an address off the network is the guest's business, unless forwarded to */
		return 0;
	snprintf(what, sizeof(what), "guest '%s'", guest);
	return uk_nat_guest_addr_check(l->n, what, g->addr, err);
}

int uk_nat_leases_port_added(struct nat_leases *l, int port, json_t *req, struct uk_err *err)
{
	json_t *fw = json_object_get(req, "forwards"), *v;
	struct uk_port_conf c;
	struct gport *g;
	size_t i;
	int r = 0;

	if (!l || port < 0 || port >= UK_SW_MAX_PORTS ||
	    uk_switch_port_info(l->sw, port, &c, NULL) < 0 || !c.guest[0])
		return 0;
	if (!json_object_get(req, "mac") && !json_object_get(req, "addr") && !json_array_size(fw))
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return uk_err_set(err, ENOMEM, "out of memory");
	json_array_foreach(fw, i, v)
	{
		r = json_is_string(v)
			    ? add_forward(l, g, port, c.guest, json_string_value(v), err)
			    : uk_err_set(err, EINVAL, "add-port: a forward is not a string");
		if (r < 0)
			break;
	}
	if (r == 0)
		r = add_addresses(l, g, req, c.guest, err);
	if (r < 0) {
		gport_free(g);
		return r;
	}
	gport_free(l->gp[port]);
	l->gp[port] = g;
	l->dirty = true;
	uk_nat_leases_settle(l); /* a static address: its forwards at once */
	for (int k = 0; k < g->nfwd; k++)
		if (g->fwd[k].error[0]) { /* refused by slirp: the guest does not start */
			r = uk_err_set(err, EADDRINUSE, "guest '%s': %s", c.guest, g->fwd[k].error);
			uk_nat_leases_port_removed(l, port);
			return r;
		}
	return 0;
}

void uk_nat_leases_port_removed(struct nat_leases *l, int port)
{
	struct gport *g;

	if (!l || port < 0 || port >= UK_SW_MAX_PORTS)
		return;
	for (int i = 0; i < LEASE_MAX; i++)
		if (l->lease[i].used && l->lease[i].port == port)
			l->lease[i].used = false;
	g = l->gp[port];
	l->gp[port] = NULL;
	for (int i = 0; g && i < g->nfwd; i++)
		if (g->fwd[i].added)
			uk_nat_fwd_uninstall(l->n, &g->fwd[i].f);
	gport_free(g);
}

static char *addr_text(struct in_addr a, char out[INET_ADDRSTRLEN])
{
	return (char *)inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

static json_t *lease_json(const struct lease *e, uint64_t now, bool with_port,
			  const struct uk_port_conf *c)
{
	char mac[18], a[INET_ADDRSTRLEN];
	json_t *j = json_object();

	uk_mac_format(e->mac, mac);
	json_object_set_new(j, "mac", json_string(mac));
	json_object_set_new(j, "ipv4", json_string(addr_text(e->addr, a)));
	if (with_port) {
		json_object_set_new(j, "port", json_integer(e->port));
		json_object_set_new(j, "guest", c->guest[0] ? json_string(c->guest) : json_null());
		json_object_set_new(j, "net", c->guest[0] ? json_integer(c->net) : json_null());
	}
	json_object_set_new(j, "age_s", json_integer((json_int_t)((now - e->at_ms) / 1000)));
	return j;
}

static json_t *gfwd_json(const struct gfwd *w)
{
	struct nat_fwd key = w->f;
	char spec[128], a[INET_ADDRSTRLEN];
	json_t *j = json_object();

	key.gaddr.s_addr = 0;
	uk_nat_fwd_format(&key, spec, sizeof(spec));
	json_object_set_new(j, "spec", json_string(spec));
	json_object_set_new(j, "proto", json_string(w->f.udp ? "udp" : "tcp"));
	json_object_set_new(j, "host_addr", json_string(addr_text(w->f.haddr, a)));
	json_object_set_new(j, "host_port", json_integer(w->f.hport));
	json_object_set_new(j, "guest_port", json_integer(w->f.gport));
	json_object_set_new(j, "state", json_string(w->added ? "added" : "waiting"));
	json_object_set_new(j, "guest_addr",
			    w->added ? json_string(addr_text(w->f.gaddr, a)) : json_null());
	if (w->error[0])
		json_object_set_new(j, "error", json_string(w->error));
	return j;
}

void uk_nat_leases_port_json(struct nat_leases *l, int port, json_t *j)
{
	uint64_t now = uk_switch_now_ms();
	json_t *leases = json_array(), *fw;
	char a[INET_ADDRSTRLEN];
	const char *src;
	struct in_addr addr;

	if (!l || port < 0 || port >= UK_SW_MAX_PORTS || port == l->nat_port) {
		json_decref(leases);
		return;
	}
	for (int i = 0; i < LEASE_MAX; i++)
		if (l->lease[i].used && l->lease[i].port == port)
			json_array_append_new(leases, lease_json(&l->lease[i], now, false, NULL));
	addr = port_addr(l, port, &src);
	json_object_set_new(j, "ipv4", addr.s_addr ? json_string(addr_text(addr, a)) : json_null());
	json_object_set_new(j, "ipv4_prefix",
			    addr.s_addr && !strcmp(src, "dhcp") ? json_integer(uk_nat_prefix(l->n))
								: json_null());
	json_object_set_new(j, "ipv4_source", src ? json_string(src) : json_null());
	json_object_set_new(j, "leases", leases);
	fw = json_array();
	for (int i = 0; l->gp[port] && i < l->gp[port]->nfwd; i++)
		json_array_append_new(fw, gfwd_json(&l->gp[port]->fwd[i]));
	json_object_set_new(j, "forwards", fw);
}

void uk_nat_leases_json(struct nat_leases *l, json_t *reply)
{
	uint64_t now = uk_switch_now_ms();
	json_t *leases = json_array(), *fw = json_array();

	for (int i = 0; l && i < LEASE_MAX; i++) {
		struct uk_port_conf c = {0};

		if (!l->lease[i].used)
			continue;
		uk_switch_port_info(l->sw, l->lease[i].port, &c, NULL);
		json_array_append_new(leases, lease_json(&l->lease[i], now, true, &c));
	}
	for (int p = 0; l && p < UK_SW_MAX_PORTS; p++) {
		struct uk_port_conf c = {0};

		if (!l->gp[p])
			continue;
		uk_switch_port_info(l->sw, p, &c, NULL);
		for (int i = 0; i < l->gp[p]->nfwd; i++) {
			json_t *j = gfwd_json(&l->gp[p]->fwd[i]);

			json_object_set_new(j, "port", json_integer(p));
			json_object_set_new(j, "guest", json_string(c.guest));
			json_object_set_new(j, "net", json_integer(c.net));
			json_array_append_new(fw, j);
		}
	}
	json_object_set_new(reply, "leases", leases);
	json_object_set_new(reply, "guest_forwards", fw);
	json_object_set_new(reply, "lease_conflicts",
			    json_integer(l ? (json_int_t)l->conflicts : 0));
}
